"""Sign-in at a session (签到): a lawyer's sign-in and sign-out at an on-site session or a
publicity event, with the phone's position when given and photos (``core.signins``); and
events recorded as held after their day are marked as recorded late.

Events recorded before this migration are not marked late: nobody knows when they were."""
from peewee import *

from core.clock import now_utc


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Lawyer(Model):
        class Meta:
            database = db
            table_name = 'lawyer'

    class Event(Model):
        class Meta:
            database = db
            table_name = 'event'

    class SignIn(Model):
        event = ForeignKeyField(Event, unique=True, on_delete='CASCADE')
        lawyer = ForeignKeyField(Lawyer, on_delete='RESTRICT')
        signed_in_at = DateTimeField()
        signed_out_at = DateTimeField(null=True)
        latitude = DoubleField(null=True)
        longitude = DoubleField(null=True)
        accuracy_m = IntegerField(null=True)
        content = TextField(default='')
        residents_served = IntegerField(null=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')

        class Meta:
            database = db
            table_name = 'sign_in'

    class SignInPhoto(Model):
        signin = ForeignKeyField(SignIn, on_delete='CASCADE')
        path = CharField()
        sha256 = CharField()
        size = IntegerField()
        uploaded_at = DateTimeField(default=now_utc)

        class Meta:
            database = db
            table_name = 'sign_in_photo'

    db.create_tables([SignIn, SignInPhoto])
    migrator.migrate(migrator.add_column('event', 'held_late', BooleanField(default=False)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('event', 'held_late'),
                     migrator.drop_table('sign_in_photo'),
                     migrator.drop_table('sign_in'))
