"""Logins by invitation: a one-time link (its token kept hashed) that lets a new user choose
their own password, and the lawyer's e-mail address the invitation can be sent to."""
from peewee import *

from core.clock import now_utc


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class LoginInvitation(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        token_hash = CharField(unique=True)
        created_at = DateTimeField(default=now_utc)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        expires_at = DateTimeField(index=True)
        used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'login_invitation'

    db.create_tables([LoginInvitation])
    migrator.migrate(migrator.add_column('lawyer', 'email', CharField(default='')))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('lawyer', 'email'),
                     migrator.drop_table('login_invitation'))
