"""The database busy or briefly unavailable: a clear 503 and nothing half done.

SQLite: another connection holds the write lock (``BEGIN IMMEDIATE``); a write waits for
the busy timeout (``JIEDUI_DB_BUSY_TIMEOUT_MS``) and then answers 503 having written
nothing, or succeeds when the lock goes in time; the CLI prints one line.
PostgreSQL: our backends are ended with ``pg_terminate_backend`` (what a restart does to
them); the next request reconnects, and a request whose connection dies mid-transaction
answers 503 with its transaction rolled back."""
import os
import sqlite3
import threading
import time

import pytest

from core.db import db, open_database
from core.models import AuditLog, Pairing
from tests.cli_support import run_jiedui
from web.access import public

PG_URL = os.environ.get("JIEDUI_TEST_DATABASE_URL")
HX = {"HX-Request": "true"}
BUSY_MS = 300
END_FORM = {"end-ended_on": "2026-06-30", "end-reason": "律师调离"}


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch):
    """Set before the database is opened: a busy database gives up after 0.3 s."""
    monkeypatch.setenv("JIEDUI_DB_BUSY_TIMEOUT_MS", str(BUSY_MS))


@pytest.fixture
def coordinator(district, client, login):
    client.set_cookie("lang", "en")
    return login(district.users.coordinator)


def pairing_state(pairing_id: int):
    """What ending a pairing writes: the pairing row and its audit entry."""
    return (Pairing.get_by_id(pairing_id).status,
            AuditLog.select().where(AuditLog.action == "pairing.end").count())


# --- SQLite: another writer holds the lock ----------------------------------------------------

sqlite_only = pytest.mark.skipif(PG_URL is not None, reason="SQLite's write lock")
postgres_only = pytest.mark.skipif(PG_URL is None, reason="needs PostgreSQL")


@pytest.fixture
def other_writer(database):
    """A second connection to the same file, as another process would hold it."""
    connection = sqlite3.connect(db.obj.database, isolation_level=None,
                                 check_same_thread=False)
    yield connection
    if connection.in_transaction:
        connection.execute("ROLLBACK")
    connection.close()


@sqlite_only
def test_a_write_to_a_locked_database_answers_503_and_writes_nothing(district, coordinator,
                                                                     other_writer):
    pairing = district.pairings[0]
    other_writer.execute("BEGIN IMMEDIATE")
    started = time.monotonic()

    response = coordinator.post(f"/pairings/{pairing.id}/end", data=END_FORM, headers=HX)

    waited = time.monotonic() - started
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "The database is busy, please try again later" in html
    assert "Nothing was changed." in html and "<html" not in html
    assert response.headers["HX-Retarget"] == "#alerts"  # the form stays to send again
    assert response.headers["Retry-After"] == "5"
    assert waited >= BUSY_MS / 1000  # it waited for the lock before giving up
    other_writer.execute("ROLLBACK")
    assert pairing_state(pairing.id) == ("active", 0)
    # the same request, once the lock is gone, goes through
    again = coordinator.post(f"/pairings/{pairing.id}/end", data=END_FORM, headers=HX)
    assert again.status_code == 200
    assert pairing_state(pairing.id) == ("ended", 1)


@sqlite_only
def test_the_full_page_says_so_too(district, coordinator, other_writer):
    other_writer.execute("BEGIN IMMEDIATE")
    response = coordinator.post(f"/pairings/{district.pairings[0].id}/end", data=END_FORM)
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "<html" in html
    assert "The database is busy, please try again later" in html


@sqlite_only
def test_a_lock_released_within_the_timeout_only_makes_the_request_wait(district, coordinator,
                                                                        other_writer):
    open_database(f"sqlite:///{db.obj.database}", busy_timeout_ms=5000)
    pairing = district.pairings[0]
    other_writer.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(0.5, lambda: other_writer.execute("ROLLBACK"))
    started = time.monotonic()
    releaser.start()

    response = coordinator.post(f"/pairings/{pairing.id}/end", data=END_FORM, headers=HX)

    releaser.join()
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.45
    assert pairing_state(pairing.id) == ("ended", 1)


@sqlite_only
def test_the_cli_on_a_locked_database_prints_one_line_and_writes_nothing(tmp_path):
    instance = tmp_path / "cli"

    def jiedui(*args):
        return run_jiedui(instance, *args, JIEDUI_DB_BUSY_TIMEOUT_MS=str(BUSY_MS))
    assert jiedui("init").returncode == 0
    blocker = sqlite3.connect(instance / "jiedui.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        done = jiedui("user", "add", "--username", "u1", "--password", "secret1234",
                      "--role", "admin")
    finally:
        blocker.execute("ROLLBACK")
    assert done.returncode == 1
    assert done.stderr.strip() == ("Error: The database is busy or unavailable (database is "
                                   "locked); try again later.")
    assert blocker.execute('SELECT count(*) FROM "user"').fetchone() == (0,)
    blocker.close()


# --- PostgreSQL: our connections end (a restart) ---------------------------------------------

@pytest.fixture
def killer(database):
    """A second connection, as the server's administrator would use."""
    import psycopg2
    connection = psycopg2.connect(PG_URL)
    connection.autocommit = True
    yield connection
    connection.close()


def backend_pid() -> int:
    return db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


@postgres_only
def test_the_request_after_our_connection_was_ended_reconnects(district, coordinator, killer):
    coordinator.get("/")  # logged in; the test's connection is open again below
    db.connect(reuse_if_open=True)
    pid = backend_pid()
    with killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)

    response = coordinator.get("/villages/")

    assert response.status_code == 200
    db.connect(reuse_if_open=True)
    assert backend_pid() != pid


@postgres_only
def test_a_connection_ended_mid_transaction_answers_503_and_rolls_back(district, coordinator,
                                                                       killer):
    pairing = district.pairings[0]
    answer = {}
    with killer.cursor() as cursor:
        # The request's UPDATE of the pairing goes through; its audit INSERT then waits.
        cursor.execute("BEGIN; LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
        request = threading.Thread(target=lambda: answer.update(response=coordinator.post(
            f"/pairings/{pairing.id}/end", data=END_FORM, headers=HX)))
        request.start()
        waiting = None
        for _ in range(100):
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh look inside BEGIN
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                           " AND wait_event_type = 'Lock' AND query ILIKE 'INSERT%%audit_log%%'")
            waiting = cursor.fetchone()
            if waiting:
                break
            time.sleep(0.05)
        cursor.execute("SELECT pid, state, wait_event_type, wait_event, left(query, 100) FROM pg_stat_activity WHERE datname = current_database()")
        assert waiting, "the request never reached its audit INSERT"
        cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND granted AND "
                       "relation = 'pairing'::regclass AND mode = 'RowExclusiveLock'", waiting)
        assert cursor.fetchone() == (1,)  # it has updated the pairing, uncommitted
        cursor.execute("SELECT pg_terminate_backend(%s)", waiting)
        cursor.execute("ROLLBACK")
        request.join(timeout=30)

    response = answer["response"]
    assert response.status_code == 503
    assert "The database is busy, please try again later" in response.get_data(as_text=True)
    assert pairing_state(pairing.id) == ("active", 0)  # the UPDATE was rolled back too
    assert coordinator.post(f"/pairings/{pairing.id}/end", data=END_FORM,
                            headers=HX).status_code == 200
    assert pairing_state(pairing.id) == ("ended", 1)


def test_a_busy_timeout_setting_that_is_not_a_number_is_refused():
    from core.config import ConfigError, db_busy_timeout_ms
    assert db_busy_timeout_ms({}) == 10_000
    assert db_busy_timeout_ms({"JIEDUI_DB_BUSY_TIMEOUT_MS": "2500"}) == 2500
    with pytest.raises(ConfigError, match="JIEDUI_DB_BUSY_TIMEOUT_MS"):
        db_busy_timeout_ms({"JIEDUI_DB_BUSY_TIMEOUT_MS": "soon"})



# --- a query the database refuses is a bug, not an outage -------------------------------------

def test_a_refused_query_is_not_taken_for_a_busy_database(database):
    from peewee import OperationalError, ProgrammingError

    from core.db import is_unavailable
    with pytest.raises((OperationalError, ProgrammingError)) as refused:
        with db.atomic():
            db.execute_sql("SELECT no_such_column FROM no_such_table")
    assert not is_unavailable(refused.value)
    if not PG_URL:
        assert is_unavailable(OperationalError("database is locked"))


def test_a_bug_in_a_query_is_a_500_not_a_503(district, app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as in production, not raise

    @app.route("/broken-query")
    @public
    def broken_query():
        db.execute_sql("SELECT no_such_column FROM no_such_table")

    assert app.test_client().get("/broken-query").status_code == 500
