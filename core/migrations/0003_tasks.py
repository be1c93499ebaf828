"""Programme work: tasks, the work log, the audit log, programme targets."""
from peewee import *


def up(migrator, db):
    class Event(Model):
        class Meta:
            database = db
            table_name = 'event'

    class Lawyer(Model):
        class Meta:
            database = db
            table_name = 'lawyer'

    class Town(Model):
        class Meta:
            database = db
            table_name = 'town'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Village(Model):
        class Meta:
            database = db
            table_name = 'village'

    class AuditLog(Model):
        at = DateTimeField(index=True)
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        username = CharField(default='')
        action = CharField()
        object_type = CharField(default='')
        object_id = CharField(default='')
        detail = JSONField(default=dict)
        address = CharField(default='')
        class Meta:
            database = db
            table_name = 'audit_log'
    db.create_tables([AuditLog])

    class ProgramTarget(Model):
        metric = CharField()
        year = IntegerField()
        target = IntegerField()
        class Meta:
            database = db
            table_name = 'program_target'
            indexes = ((('metric', 'year'), True),)
    db.create_tables([ProgramTarget])

    class Task(Model):
        program = CharField(index=True)
        task_type = CharField()
        level = CharField(default='village')
        village = ForeignKeyField(Village, null=True, on_delete='CASCADE')
        town = ForeignKeyField(Town, null=True, on_delete='CASCADE')
        assignee = ForeignKeyField(Lawyer, null=True, on_delete='SET NULL')
        assigned_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        title = CharField(default='')
        due_on = DateField(index=True, null=True)
        event = ForeignKeyField(Event, null=True, on_delete='SET NULL')
        status = CharField(index=True, default='open')
        data = JSONField(default=dict)
        subject = CharField(null=True)
        schedule_key = CharField(unique=True, null=True)
        completed_at = DateTimeField(null=True)
        completed_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        cancel_reason = TextField(default='')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'task'
            indexes = ((('program', 'status'), False), (('assignee', 'status'), False))
    db.create_tables([Task])

    class WorkLog(Model):
        lawyer = ForeignKeyField(Lawyer, on_delete='CASCADE')
        village = ForeignKeyField(Village, null=True, on_delete='SET NULL')
        occurred_at = DateTimeField(index=True)
        duration_minutes = IntegerField(default=0)
        mode = CharField(default='onsite')
        content = TextField()
        result = TextField(default='')
        task = ForeignKeyField(Task, null=True, on_delete='SET NULL')
        event = ForeignKeyField(Event, null=True, on_delete='SET NULL')
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'work_log'
    db.create_tables([WorkLog])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('work_log'))
    migrator.migrate(migrator.drop_table('task'))
    migrator.migrate(migrator.drop_table('program_target'))
    migrator.migrate(migrator.drop_table('audit_log'))
