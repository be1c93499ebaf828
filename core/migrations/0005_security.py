"""Security and reliability: login attempts, problems reported to administrators, and a
session version per user ("log out everywhere")."""
from peewee import *

from core.clock import now_utc


def up(migrator, db):
    class LoginAttempt(Model):
        at = DateTimeField(index=True, default=now_utc)
        username = CharField(index=True)
        address = CharField(index=True, default='')
        succeeded = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'login_attempt'
    db.create_tables([LoginAttempt])

    class Problem(Model):
        key = CharField(unique=True)
        source = CharField()
        summary = CharField()
        detail = TextField(default='')
        first_at = DateTimeField(default=now_utc)
        last_at = DateTimeField(index=True, default=now_utc)
        count = IntegerField(default=1)
        resolved_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'problem'
    db.create_tables([Problem])

    migrator.migrate(migrator.add_column('user', 'session_version', IntegerField(default=0)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('user', 'session_version'))
    migrator.migrate(migrator.drop_table('problem'))
    migrator.migrate(migrator.drop_table('login_attempt'))
