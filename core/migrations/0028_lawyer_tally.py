"""The programme metrics counted per lawyer and district year, kept at commit
(``core.progress_tally``): a programme's page lists its lawyers, most first, from these
rows instead of counting a province's year of done tasks per lawyer (400 ms a metric).
Filled from the existing tasks.

The index of a programme's tasks by status grows the completion time, so a programme's
done tasks of some weeks or of a year (its weekly trend) are found by range; without it,
SQLite walked every town's done tasks of the year (1.5 s at province)."""
from peewee import *


def up(migrator, db):
    class LawyerTally(Model):
        figure = CharField()
        year = IntegerField()
        lawyer_id = IntegerField()
        value = IntegerField()

        class Meta:
            database = db
            table_name = 'lawyer_tally'
            indexes = ((('figure', 'year', 'lawyer_id'), True),
                       (('lawyer_id', 'year'), False))

    db.create_tables([LawyerTally])
    db.execute_sql('CREATE INDEX IF NOT EXISTS task_program_status_completed_at ON task '
                   '(program, status, completed_at)')
    db.execute_sql('DROP INDEX IF EXISTS task_program_status')
    from core import progress_tally
    progress_tally.rebuild_lawyers()


def down(migrator, db):
    db.execute_sql('CREATE INDEX IF NOT EXISTS task_program_status ON task (program, status)')
    db.execute_sql('DROP INDEX IF EXISTS task_program_status_completed_at')
    db.execute_sql("DELETE FROM town_tally_shape WHERE figure LIKE 'lawyers:%'")
    db.execute_sql('DROP TABLE IF EXISTS lawyer_tally')
