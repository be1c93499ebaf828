"""Figures counted per town and district month, kept at commit (``core.town_tally``): the
programme metrics' done tasks (``core.progress_tally``) and the on-site sessions planned
and held (``core.session_tally``). The desk, the charts and the programmes read the kept
rows instead of a year's tasks and sessions. ``task_town_done`` finds a town's done tasks
by when (a town counted again after one of its tasks changed). Filled from the existing
tasks and events."""
from peewee import *


def up(migrator, db):
    class TownTally(Model):
        figure = CharField()
        year = IntegerField()
        town_id = IntegerField()
        month = IntegerField()
        value = IntegerField()

        class Meta:
            database = db
            table_name = 'town_tally'
            indexes = ((('year', 'town_id', 'figure', 'month'), True),
                       (('year', 'month', 'figure', 'town_id'), False),
                       (('town_id', 'year'), False))

    class TownTallyShape(Model):
        figure = CharField(unique=True)
        shape = TextField()

        class Meta:
            database = db
            table_name = 'town_tally_shape'

    db.create_tables([TownTally, TownTallyShape])
    db.execute_sql('CREATE INDEX IF NOT EXISTS task_town_done ON task '
                   '(town_id, status, completed_at)')
    from core import progress_tally, session_tally, town_tally
    town_tally.rebuild(progress_tally.PROGRESS)  # the towns only: 0028 counts the lawyers
    session_tally.rebuild()


def down(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS task_town_done')
    db.execute_sql('DROP TABLE IF EXISTS town_tally_shape')
    db.execute_sql('DROP TABLE IF EXISTS town_tally')
