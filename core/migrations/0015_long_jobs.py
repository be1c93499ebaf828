"""Long work as queued jobs (core.longwork): an export of many rows, an import or a report
runs in the job consumer with its progress recorded, and its file is downloaded from the
job's page."""
from peewee import *

from core.clock import now_utc


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class LongJob(Model):
        kind = CharField()
        params = JSONField(default=dict)
        key = CharField(index=True)
        user = ForeignKeyField(User, on_delete='CASCADE')
        locale = CharField(default='zh_CN')
        address = CharField(default='')
        status = CharField(default='queued', index=True)
        done = IntegerField(default=0)
        total = IntegerField(default=0)
        message = TextField(default='')
        result_path = CharField(default='')
        filename = CharField(default='')
        url = CharField(default='')
        created_at = DateTimeField(default=now_utc, index=True)
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'long_job'
    db.create_tables([LongJob])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('long_job'))
