"""The database: one proxy, initialised from a URL, schema kept by migrations.

SQLite (the default) runs in WAL mode with foreign keys on and a busy timeout, so
the web server and the job consumer can share one file. PostgreSQL is selected by
a ``postgresql://`` URL.
"""
from contextlib import contextmanager
from pathlib import Path

from peewee import DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect as connect_url
from playhouse.migrations import Runner

db = DatabaseProxy()

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "synchronous": "normal",
}


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def open_database(url: str):
    """Connect ``db`` to the database at ``url`` and return the concrete database."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("sqlite:"):
        database = connect_url(url, pragmas=SQLITE_PRAGMAS, timeout=10)
    else:
        database = connect_url(url)
    db.initialize(database)
    return database


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def migrate() -> list[str]:
    """Apply pending migrations; returns the names applied (none when up to date)."""
    with db.connection_context():
        return Runner(db.obj, directory=str(MIGRATIONS_DIR)).up()


def pending_migrations() -> list[str]:
    with db.connection_context():
        return [m.name for m in Runner(db.obj, directory=str(MIGRATIONS_DIR)).status()
                if m.applied is None and m.path]


@contextmanager
def transaction():
    """``db.atomic()`` whose plugin events wait for the commit and are dropped on rollback,
    so plugins never hear of a change that did not happen. Nests (inner blocks are
    savepoints; their events go out when the outermost block commits)."""
    from core.plugins import deferred_notifications  # core.plugins needs no database
    with deferred_notifications(), db.atomic():
        yield
