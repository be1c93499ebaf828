"""Unlocking: a login failure can be cleared by an administrator, and stays recorded."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('login_attempt', 'cleared', BooleanField(default=False)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('login_attempt', 'cleared'),
    )
