"""Work records that can be corrected and shown: a category on every work-log entry (which
of the lawyer's ten duties in the plan, 四.1–10) and photos on work-log entries.

Existing entries get the category their kind says: a held session or publicity event is
legal publicity and consultation (四.2); an entry a completed task wrote takes the duty of
its programme, for the programmes Jiedui shipped with when this migration was written (a
programme's plugin declares its duty from now on, ``TaskType.duty``). The others — services
logged by hand, tasks of other programmes — stay without one, shown as 未分类 until their
author or a coordinator chooses one."""
from peewee import *

from core.clock import now_utc

# The duty of each shipped programme's work, as their plugins now declare it.
PROGRAMME_DUTIES = {
    "family_visits": "mediation", "legal_aid": "legal_aid", "key_populations": "publicity",
    "rural_enterprises": "other", "village_surveys": "demands",
    "school_trainings": "publicity", "village_rules": "rules",
    "legal_understanders": "publicity", "classic_cases": "publicity",
    "publicity_videos": "publicity",
}
HELD_KINDS = ("session", "publicity")


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class WorkLog(Model):
        class Meta:
            database = db
            table_name = 'work_log'

    class WorkLogPhoto(Model):
        entry = ForeignKeyField(WorkLog, on_delete='CASCADE')
        path = CharField()
        thumb = CharField()
        sha256 = CharField(index=True)
        size = IntegerField()
        width = IntegerField()
        height = IntegerField()
        uploaded_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        uploaded_at = DateTimeField(default=now_utc)

        class Meta:
            database = db
            table_name = 'work_log_photo'

    db.create_tables([WorkLogPhoto])
    migrator.migrate(migrator.add_column('work_log', 'category', CharField(null=True)),
                     migrator.add_index('work_log', ('category',), False))

    db.execute_sql(
        "UPDATE work_log SET category = 'publicity' WHERE task_id IS NULL AND event_id IN "
        "(SELECT id FROM event WHERE kind IN (%s))" % ", ".join(f"'{kind}'" for kind in HELD_KINDS))
    for program, duty in PROGRAMME_DUTIES.items():
        db.execute_sql(
            "UPDATE work_log SET category = %s WHERE category IS NULL AND task_id IN "
            "(SELECT id FROM task WHERE program = %s)" % (f"'{duty}'", f"'{program}'"))


def down(migrator, db):
    migrator.migrate(migrator.drop_index('work_log', 'work_log_category'),
                     migrator.drop_column('work_log', 'category'),
                     migrator.drop_table('work_log_photo'))
