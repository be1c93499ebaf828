"""The work systems: case files, attachments, major matters, notifications, return visits, ratings."""
from peewee import *


def up(migrator, db):
    class Lawyer(Model):
        class Meta:
            database = db
            table_name = 'lawyer'

    class Pairing(Model):
        class Meta:
            database = db
            table_name = 'pairing'

    class Task(Model):
        class Meta:
            database = db
            table_name = 'task'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Village(Model):
        class Meta:
            database = db
            table_name = 'village'

    class WorkLog(Model):
        class Meta:
            database = db
            table_name = 'work_log'

    class CaseFile(Model):
        number = CharField(unique=True)
        year = IntegerField()
        title = CharField()
        village = ForeignKeyField(Village, null=True, on_delete='SET NULL')
        lawyer = ForeignKeyField(Lawyer, on_delete='RESTRICT')
        category = CharField(default='')
        opened_on = DateField()
        closed_on = DateField(null=True)
        status = CharField(default='open')
        summary = TextField(default='')
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'case_file'
    db.create_tables([CaseFile])

    class Attachment(Model):
        case = ForeignKeyField(CaseFile, on_delete='CASCADE')
        filename = CharField()
        sha256 = CharField(index=True)
        size = IntegerField()
        mime = CharField()
        uploaded_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        uploaded_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'attachment'
    db.create_tables([Attachment])

    class Notification(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField()
        title = CharField()
        body = TextField(default='')
        link = CharField(default='')
        dedupe_key = CharField(unique=True, null=True)
        created_at = DateTimeField()
        read_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'notification'
    db.create_tables([Notification])

    class Delivery(Model):
        notification = ForeignKeyField(Notification, on_delete='CASCADE')
        channel = CharField()
        status = CharField(index=True, default='pending')
        attempts = IntegerField(default=0)
        last_error = TextField(default='')
        next_attempt_at = DateTimeField()
        sent_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'delivery'
    db.create_tables([Delivery])

    class MajorMatter(Model):
        category = CharField()
        title = CharField()
        description = TextField(default='')
        lawyer = ForeignKeyField(Lawyer, on_delete='RESTRICT')
        village = ForeignKeyField(Village, null=True, on_delete='SET NULL')
        work_log = ForeignKeyField(WorkLog, null=True, on_delete='SET NULL')
        task = ForeignKeyField(Task, null=True, on_delete='SET NULL')
        occurred_at = DateTimeField()
        reported_at = DateTimeField()
        deadline_at = DateTimeField()
        late = BooleanField(default=False)
        status = CharField(index=True, default='reported')
        acknowledged_at = DateTimeField(null=True)
        acknowledged_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        resolution = TextField(default='')
        closed_at = DateTimeField(null=True)
        escalation_level = IntegerField(default=0)
        escalated_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'major_matter'
    db.create_tables([MajorMatter])

    class MatterNote(Model):
        matter = ForeignKeyField(MajorMatter, on_delete='CASCADE')
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        at = DateTimeField()
        text = TextField()
        class Meta:
            database = db
            table_name = 'matter_note'
    db.create_tables([MatterNote])

    class Rating(Model):
        pairing = ForeignKeyField(Pairing, on_delete='CASCADE')
        period = CharField()
        device_hash = CharField()
        score = IntegerField()
        comment = TextField(default='')
        created_at = DateTimeField()
        followed_up = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'rating'
            indexes = ((('pairing', 'period', 'device_hash'), True),)
    db.create_tables([Rating])

    class ReturnVisit(Model):
        pairing = ForeignKeyField(Pairing, on_delete='CASCADE')
        period = CharField()
        assignee = ForeignKeyField(User, null=True, on_delete='SET NULL')
        due_on = DateField()
        status = CharField(default='open')
        contact = CharField(default='')
        satisfaction = IntegerField(null=True)
        comments = TextField(default='')
        done_at = DateTimeField(null=True)
        done_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'return_visit'
            indexes = ((('pairing', 'period'), True),)
    db.create_tables([ReturnVisit])

    # a work-log entry may belong to a case file (一案一档)
    migrator.migrate(
        migrator.add_column('work_log', 'case_id', IntegerField(null=True)),
        migrator.add_index('work_log', ('case_id',), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index('work_log', 'work_log_case_id'),
                     migrator.drop_column('work_log', 'case_id'))
    migrator.migrate(migrator.drop_table('return_visit'))
    migrator.migrate(migrator.drop_table('rating'))
    migrator.migrate(migrator.drop_table('matter_note'))
    migrator.migrate(migrator.drop_table('major_matter'))
    migrator.migrate(migrator.drop_table('delivery'))
    migrator.migrate(migrator.drop_table('notification'))
    migrator.migrate(migrator.drop_table('attachment'))
    migrator.migrate(migrator.drop_table('case_file'))
