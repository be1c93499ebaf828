"""The programme metrics counted per lawyer and district year, kept at commit
(``core.progress_tally``): a programme's page lists its lawyers, most first, from these
rows instead of counting a province's year of done tasks per lawyer (400 ms a metric).
Filled from the existing tasks.

The index of a metric's done tasks by when (its programme, task type, status and
completion time), holding the town, village and subject a distinct metric counts by and the lawyer, so
a metric's year is counted from the index alone (its weekly trend: 300–1,400 ms at province
from the table, 80–450 ms from this index, on a busy machine). It replaces the index of
programme and status, its first two columns."""
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
    db.execute_sql('CREATE INDEX IF NOT EXISTS task_metric_done ON task (program, task_type, '
                   'status, completed_at, town_id, village_id, subject, assignee_id)')
    db.execute_sql('DROP INDEX IF EXISTS task_program_status')
    from core import progress_tally
    progress_tally.rebuild_lawyers()


def down(migrator, db):
    db.execute_sql('CREATE INDEX IF NOT EXISTS task_program_status ON task (program, status)')
    db.execute_sql('DROP INDEX IF EXISTS task_metric_done')
    db.execute_sql("DELETE FROM town_tally_shape WHERE figure LIKE 'lawyers:%'")
    db.execute_sql('DROP TABLE IF EXISTS lawyer_tally')
