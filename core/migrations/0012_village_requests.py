"""What a village asks of its lawyer: invitations to its activities (五.5; accepted, an
event of the new kind "activity" in the lawyer's calendar), residents' demands passed on
(四.7) and the village's word on whether a past session took place."""
from peewee import *

from core.clock import now_utc


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Village(Model):
        class Meta:
            database = db
            table_name = 'village'

    class Lawyer(Model):
        class Meta:
            database = db
            table_name = 'lawyer'

    class Event(Model):
        class Meta:
            database = db
            table_name = 'event'

    class Invitation(Model):
        village = ForeignKeyField(Village, on_delete='CASCADE')
        kind = CharField(default='activity')
        title = CharField()
        description = TextField(default='')
        place = CharField(default='')
        day = DateField(index=True)
        starts_at = DateTimeField()
        ends_at = DateTimeField()
        status = CharField(default='pending', index=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(default=now_utc)
        lawyer = ForeignKeyField(Lawyer, null=True, on_delete='SET NULL')
        answered_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        answered_at = DateTimeField(null=True)
        reason = TextField(default='')
        event = ForeignKeyField(Event, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'invitation'

    class ResidentDemand(Model):
        village = ForeignKeyField(Village, on_delete='CASCADE')
        category = CharField()
        text = TextField()
        contact_name = CharField(default='')
        contact_phone = CharField(default='')
        status = CharField(default='open', index=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(default=now_utc, index=True)
        answer = TextField(default='')
        lawyer = ForeignKeyField(Lawyer, null=True, on_delete='SET NULL')
        answered_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        answered_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'resident_demand'

    class SessionConfirmation(Model):
        event = ForeignKeyField(Event, unique=True, on_delete='CASCADE')
        village = ForeignKeyField(Village, on_delete='CASCADE')
        verdict = CharField(index=True)
        reason = TextField(default='')
        by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        at = DateTimeField(default=now_utc)
        class Meta:
            database = db
            table_name = 'session_confirmation'

    db.create_tables([Invitation, ResidentDemand, SessionConfirmation])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('session_confirmation'),
                     migrator.drop_table('resident_demand'),
                     migrator.drop_table('invitation'))
