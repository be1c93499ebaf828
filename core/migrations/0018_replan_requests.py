"""Re-plan requests: the villages whose pairings changed wait for one re-plan of them all
(``core.jobs.request_replan``)."""
from peewee import *

from core.clock import now_utc


def up(migrator, db):
    class Village(Model):
        class Meta:
            database = db
            table_name = 'village'

    class ReplanRequest(Model):
        village = ForeignKeyField(Village, on_delete='CASCADE')
        year = IntegerField()
        requested_at = DateTimeField(default=now_utc)
        class Meta:
            database = db
            table_name = 'replan_request'

    db.create_tables([ReplanRequest])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS replan_request')
