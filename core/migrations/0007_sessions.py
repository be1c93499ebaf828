"""Sessions on the server: one row per login on one device, so logging out ends that
session wherever its cookie was copied to, and idle or old sessions end. The rows replace
the user's session version ("log out everywhere" deletes them). A login failure can be
cleared by an administrator (unlock) and stays recorded."""
from peewee import *

from core.clock import now_utc


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class UserSession(Model):
        user = ForeignKeyField(User, backref='sessions', on_delete='CASCADE')
        key_hash = CharField(unique=True)
        created_at = DateTimeField(default=now_utc)
        last_seen_at = DateTimeField(index=True, default=now_utc)
        address = CharField(default='')
        class Meta:
            database = db
            table_name = 'user_session'
    db.create_tables([UserSession])

    migrator.migrate(
        migrator.add_column('login_attempt', 'cleared', BooleanField(default=False)),
        migrator.drop_column('user', 'session_version'),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.add_column('user', 'session_version', IntegerField(default=0)),
        migrator.drop_column('login_attempt', 'cleared'),
        migrator.drop_table('user_session'),
    )
