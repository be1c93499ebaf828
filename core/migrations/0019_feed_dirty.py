"""Feeds re-rendered only when they changed: the feeds marked dirty with a change, and when
the hourly catch-up last looked for events crossing a window edge (``core.feeds``)."""
from peewee import *

from core.clock import now_utc


def up(migrator, db):
    class FeedDirty(Model):
        key = CharField(unique=True)
        marked_at = DateTimeField(default=now_utc)
        class Meta:
            database = db
            table_name = 'feed_dirty'

    class FeedWindowCheck(Model):
        checked_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'feed_window_check'

    db.create_tables([FeedDirty, FeedWindowCheck])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS feed_window_check')
    db.execute_sql('DROP TABLE IF EXISTS feed_dirty')
