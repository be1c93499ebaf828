"""The database: one proxy, initialised from a URL, schema kept by migrations.

SQLite (the default) runs in WAL mode with foreign keys on and a busy timeout, so
the web server and the job consumer can share one file. PostgreSQL is selected by
a ``postgresql://`` URL (driver psycopg2) or ``psycopg3://`` (psycopg 3); add ``+pool``
to the scheme (``postgresql+pool://``, ``psycopg3+pool://``) to keep closed connections
in a pool (peewee's: ``?max_connections=20&stale_timeout=300``) instead of opening one per
request and job. The web process (``web.create_app``) opens its database ``pooled``: SQLite
and PostgreSQL alike keep a closed connection for the next request, so a request pays
neither the connect nor SQLite's setup statements (a fifth of a feed's cost); each thread
takes its own connection from the pool, and a process forked after (gunicorn's workers:
``preload_app`` stays off) opens its own.
"""
import fcntl
import threading
from contextlib import contextmanager
from pathlib import Path

from peewee import DatabaseProxy, InterfaceError, Model, OperationalError, SqliteDatabase
from playhouse.db_url import connect as connect_url
from playhouse.db_url import register_database
from playhouse.pool import PooledDatabase, PooledPostgresqlDatabase
from playhouse.postgres_ext import PooledPsycopg3Database
from playhouse.migrations import Runner

from core.config import get_settings, private_file

db = DatabaseProxy()

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
}  # and busy_timeout: JIEDUI_DB_BUSY_TIMEOUT_MS (core.config.db_busy_timeout_ms)

# What the driver raises when the database cannot be reached or is locked: the web answers
# 503 (web._init_error_pages), the CLI prints one line — when ``is_unavailable`` says so.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
# sqlite3 raises OperationalError for a locked database and for a bad query alike; only
# these are the database being unavailable (a bad query is a bug: it must stay a 500).
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o")


def is_unavailable(error: Exception) -> bool:
    """Whether ``error`` says the database is busy or unreachable (try again later), as
    opposed to a query the database refused."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    if is_sqlite():
        message = str(error).lower()
        return any(sign in message for sign in _SQLITE_UNAVAILABLE)
    return True  # the PostgreSQL driver's OperationalError: the connection or the server


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


# A pooled web process keeps every connection its threads gave back, each replaced after
# POOL_STALE_SECONDS. No cap: the server's threads bound how many are in use at once
# (gunicorn: JIEDUI_WEB_THREADS per worker; PostgreSQL then needs workers × threads, plus
# the consumers'); a cap below them would fail requests that only had to wait.
POOL_MAX_CONNECTIONS = 0
POOL_STALE_SECONDS = 300


class _Unpinged:
    """A PostgreSQL pool that hands out a pooled connection without asking the server
    first: peewee's sends ``SELECT 1`` on every checkout, a round trip per request (a feed
    poll's only other one is its query). The web's pages check their connection once
    anyway (``connect_alive``); the feeds' fast path lets a dead one fail its query, and
    the page behind it answers. A connection whose state the driver knows to be lost, or
    left in a transaction, is still not handed out as it is."""

    def _is_closed(self, conn):
        if conn.closed:
            return True
        status = self._adapter.txn_status(conn)
        if status == self._adapter.txn_unknown:
            return True
        if status != self._adapter.txn_idle:  # never left so (check-in rolls back)
            return self._adapter.is_connection_closed(conn)
        return False


class UnpingedPooledPostgresqlDatabase(_Unpinged, PooledPostgresqlDatabase):
    pass


class UnpingedPooledPsycopg3Database(_Unpinged, PooledPsycopg3Database):
    pass


register_database(UnpingedPooledPostgresqlDatabase, "postgres+pool", "postgresql+pool")
register_database(UnpingedPooledPsycopg3Database, "psycopg3+pool")


def open_database(url: str, busy_timeout_ms: int | None = None, *, pooled: bool = False):
    """Connect ``db`` to the database at ``url`` and return the concrete database.
    ``busy_timeout_ms`` (SQLite): how long a write waits for another writer; default
    ``JIEDUI_DB_BUSY_TIMEOUT_MS``. ``pooled``: keep closed connections for the next use
    (``+pool`` in the URL's scheme does the same)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    scheme, _, rest = url.partition(":")
    if pooled and not scheme.endswith("+pool") and not url.startswith("sqlite:///:memory:"):
        url = f"{scheme}+pool:{rest}"
        scheme = f"{scheme}+pool"
    pool = ({"max_connections": POOL_MAX_CONNECTIONS, "stale_timeout": POOL_STALE_SECONDS}
            if pooled else {})
    if url.startswith("sqlite"):
        if url.startswith(("sqlite:///", "sqlite+pool:///")):
            private_file(url.split(":///", 1)[1])  # owner-only, like the backups
        if busy_timeout_ms is None:
            busy_timeout_ms = get_settings().db_busy_timeout_ms
        if scheme.endswith("+pool"):  # a pooled connection serves one thread, then another
            pool["check_same_thread"] = False
        else:  # (pooled, ``timeout`` would be the wait for a free connection; the pragma
            pool["timeout"] = busy_timeout_ms / 1000  # sets the busy timeout either way)
        database = connect_url(url, pragmas={**SQLITE_PRAGMAS, "busy_timeout": busy_timeout_ms},
                               **pool)
    else:
        database = connect_url(url, **pool)
    db.initialize(database)
    return database


def is_pooled() -> bool:
    return isinstance(db.obj, PooledDatabase)


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def connect_alive() -> None:
    """Open the connection, or make sure the one already open still answers: a server that
    restarted (or ended our session) leaves a dead connection, which is replaced here
    rather than failing the next request or job. Never inside a transaction. A
    PostgreSQL connection from the pool is checked the same way (it may have waited there
    through a restart); a pooled SQLite file cannot go away."""
    if db.is_closed():
        db.connect()
        if not is_pooled() or is_sqlite():
            return  # a new connection, or a SQLite file: alive
    if db.in_transaction():
        return
    try:
        db.execute_sql("SELECT 1")
    except UNAVAILABLE_ERRORS:
        close_quietly()
        db.connect(reuse_if_open=True)


def close_quietly() -> None:
    """Close the connection even when it is dead or its transaction failed (its changes are
    rolled back: the server ended the transaction, or SQLite rolls back on close)."""
    try:
        if not db.is_closed():
            db.close()  # pooled: back to the pool, unless it is dead (then closed)
    except Exception:  # noqa: BLE001 — a dead connection may refuse even to close
        # peewee keeps the connection as open: forget it, so the next use opens a new one
        if is_pooled():
            db.obj._in_use.pop(db.obj.conn_key(db.obj._state.conn), None)
        db.obj._state.reset()


@contextmanager
def connection():
    """Use the open connection, or open one for the block and close it after: a consumer
    thread has none between jobs, while the web process and huey's immediate mode (tests)
    keep theirs open."""
    opened = db.is_closed()
    if opened:
        db.connect()
    try:
        yield
    finally:
        if opened and not db.is_closed():
            db.close()


# One process migrates at a time: a session advisory lock (PostgreSQL) under this key.
PG_MIGRATION_KEY = 0x6A696567  # "jieg" (core.locks' planning lock is "jied")


@contextmanager
def migration_lock():
    """Hold the schema's migration lock for the block, waiting while another process holds
    it (it is migrating: once it is done, nothing is left to migrate). PostgreSQL: a
    session advisory lock on the open connection, released by the server if the process
    dies; SQLite: ``flock`` on a file next to the database (the kernel releases it)."""
    if is_sqlite():
        path = str(db.obj.database or "")
        if path in ("", ":memory:") or path.startswith("file:"):
            yield  # one process's own database
            return
        with open(Path(path).with_name(Path(path).name + ".migration-lock"), "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    db.execute_sql("SELECT pg_advisory_lock(%s)", (PG_MIGRATION_KEY,))
    try:
        yield
    finally:
        try:
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (PG_MIGRATION_KEY,))
        except Exception:  # noqa: BLE001 — the connection died: the server released it
            pass


def migrate() -> list[str]:
    """Apply pending migrations; returns the names applied (none when up to date). Every
    process of the service migrates as it starts: several starting at once after an
    upgrade (the web and the consumers of several hosts) take turns (``migration_lock``),
    and the later ones find nothing left to do."""
    with db.connection_context(), migration_lock():
        return Runner(db.obj, directory=str(MIGRATIONS_DIR)).up()


def pending_migrations() -> list[str]:
    with db.connection_context():
        return [m.name for m in Runner(db.obj, directory=str(MIGRATIONS_DIR)).status()
                if m.applied is None and m.path]


# --- transactions and what waits for their commit --------------------------------------------

class _Block:
    """What one ``transaction()`` block holds for after its commit: items collected per key
    (``collect_until_commit``), flushed in the order the keys first came."""

    def __init__(self):
        self.collected: dict[str, tuple] = {}  # key -> (flush, [items])

    def add(self, key: str, item, flush) -> None:
        self.collected.setdefault(key, (flush, []))[1].append(item)

    def merge_into(self, outer: "_Block") -> None:
        for key, (flush, items) in self.collected.items():
            outer.collected.setdefault(key, (flush, []))[1].extend(items)

    def flush(self) -> None:
        for flush, items in self.collected.values():
            flush(items)


_blocks = threading.local()


def _stack() -> list:
    if not hasattr(_blocks, "stack"):
        _blocks.stack = []
    return _blocks.stack


@contextmanager
def transaction():
    """``db.atomic()`` whose reactions wait for the commit: what the block hands to
    ``after_commit`` or ``collect_until_commit`` runs once the outermost block has
    committed, and is dropped with a block that rolls back — so plugins, feeds and
    notifications never hear of a change that did not happen. Nests (inner blocks are
    savepoints; what they hold waits for the outermost commit)."""
    # SQLite: BEGIN IMMEDIATE takes the write lock first, so a busy database waits for the
    # busy timeout and then fails before anything is written (a deferred BEGIN can fail at
    # once, mid-transaction, when another writer committed since it read).
    atomic = db.atomic(lock_type="IMMEDIATE") if is_sqlite() else db.atomic()
    stack = _stack()
    block = _Block()
    stack.append(block)
    try:
        with atomic:
            yield
    finally:
        stack.pop()
    if stack:  # committed into the outer block: its commit decides
        block.merge_into(stack[-1])
    else:
        block.flush()


def in_transaction() -> bool:
    """Inside a ``transaction()`` block (whose reactions wait for its commit)."""
    return bool(_stack())


def collect_until_commit(key: str, item, flush) -> None:
    """Hold ``item`` until the outermost ``transaction()`` commits, then call
    ``flush(items)`` once with every item collected under ``key`` in it, in order (never,
    if it rolls back). Outside a transaction: ``flush([item])`` at once."""
    stack = _stack()
    if stack:
        stack[-1].add(key, item, flush)
    else:
        flush([item])


def hold_until_commit(key: int) -> None:
    """Inside a ``transaction()``: wait for any other transaction that holds ``key`` (a
    fixed number naming what is kept), and hold it until this one ends — so two keepers of
    the same kept figures never count from different states and write over each other.
    PostgreSQL: a transaction's advisory lock. SQLite: nothing to do, as its write
    transactions (BEGIN IMMEDIATE) already run one at a time."""
    if not is_sqlite():
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def after_commit(callback) -> None:
    """Run ``callback()`` once the outermost ``transaction()`` commits (now, outside one)."""
    collect_until_commit(f"after_commit:{id(callback)}", callback,
                         lambda callbacks: [each() for each in callbacks])
