"""Serving at the floor: a feed is a token lookup and the stored bytes (no session, no Flask
request, a 304 that reads no body), on pooled connections; ``jiedui serve`` runs gunicorn
with the repository's configuration and keeps connections alive."""
import http.client
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core import feeds
from core.db import close_quietly, db, is_pooled, open_database
from core.users import create_user
from tests.factories import PASSWORD
from tests.feed_helpers import add_event, at, calendar_district, local_day
from tests.processes import free_port, start, stop, wait_for_url

ROOT = Path(__file__).resolve().parent.parent
# A feed's bytes selected: the column itself, not its LENGTH (which reads only the size).
BODY_READ = re.compile(r'(?<!LENGTH\()"t\d+"\."body(_gzip)?"', re.I)


@pytest.fixture
def cal(district):
    return calendar_district(district)


@pytest.fixture
def raw_token(cal, district):
    _token, raw = feeds.create_token(None, district.users.lawyer, "iPhone")
    return raw


@pytest.fixture
def sql_log(caplog):
    """The SQL peewee sends while the block runs (a prepared statement's EXECUTE shown as
    the query it runs)."""
    def statements():
        return [_prepared_text(record.getMessage()) for record in caplog.records
                if record.name == "peewee" and "PREPARE jiedui_feed_" not in record.getMessage()]
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        yield statements


def _prepared_text(message: str) -> str:
    name = re.search(r"^\('EXECUTE (jiedui_feed_\d+)", message)
    return feeds._CompiledQuery.texts[name[1]] if name else message


def _feed_sql(statements) -> list[str]:
    return [sql for sql in statements() if "feed_snapshot" in sql]


# --- the answer ------------------------------------------------------------------------------

def test_a_feed_answers_its_stored_bytes_and_a_304_reads_no_body(client, raw_token, sql_log,
                                                                 caplog):
    first = client.get(f"/feeds/{raw_token}.ics")  # published on this first fetch
    assert first.status_code == 200
    snapshot = feeds.snapshot_for(key_of(raw_token))
    assert first.data == bytes(snapshot.body)
    assert first.headers["Content-Length"] == str(len(first.data))

    caplog.clear()
    again = client.get(f"/feeds/{raw_token}.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    read = _feed_sql(sql_log)
    assert read and not any(BODY_READ.search(sql) for sql in read), read

    caplog.clear()
    plain = client.get(f"/feeds/{raw_token}.ics")
    assert plain.status_code == 200 and plain.data == first.data
    assert len(_feed_sql(sql_log)) == 2  # the validators, then the bytes (remembered)
    caplog.clear()
    again = client.get(f"/feeds/{raw_token}.ics")
    assert again.status_code == 200 and again.data == first.data
    read = _feed_sql(sql_log)
    assert len(read) == 1 and not BODY_READ.search(read[0])  # the bytes from memory


def test_a_feed_published_again_is_never_answered_from_the_remembered_bytes(
        client, raw_token, cal):
    before = client.get(f"/feeds/{raw_token}.ics")
    assert client.get(f"/feeds/{raw_token}.ics").data == before.data  # remembered
    key = key_of(raw_token)
    add_event(cal.pairing, start=at(local_day(5), 9), title="新的坐班")
    feeds.publish(key)
    after = client.get(f"/feeds/{raw_token}.ics")
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.data == bytes(feeds.snapshot_for(key).body) != before.data


def test_a_poll_reads_its_token_and_its_feed_in_one_query(client, raw_token, sql_log, caplog):
    plain = client.get(f"/feeds/{raw_token}.ics")  # published on this first fetch
    zipped = client.get(f"/feeds/{raw_token}.ics", headers={"Accept-Encoding": "gzip"})
    for headers in ({}, {"Accept-Encoding": "gzip"}):  # the bytes remembered by the process
        client.get(f"/feeds/{raw_token}.ics", headers=headers)
    for headers, status in (({}, 200), ({"If-None-Match": plain.headers["ETag"]}, 304),
                            ({"Accept-Encoding": "gzip"}, 200),
                            ({"Accept-Encoding": "gzip",
                              "If-None-Match": zipped.headers["ETag"]}, 304)):
        caplog.clear()
        assert client.get(f"/feeds/{raw_token}.ics", headers=headers).status_code == status
        statements = sql_log()
        assert len(statements) == 1, statements
        assert 'FROM "feed_token"' in statements[0] and "feed_snapshot" in statements[0]


def test_the_polls_feed_key_is_the_rules_for_every_kind_of_user(district, cal):
    """The one query's SQL finds the feed ``feed_key_for`` names, for each kind of user."""
    users = district.users
    village_coordinator = create_user("coord-v1", PASSWORD, "coordinator",
                                      village=district.villages[0])
    for user in (users.lawyer, users.coordinator, users.town_coordinator, users.admin,
                 village_coordinator):
        _token, raw = feeds.create_token(None, user, "iPhone")
        key = feeds.feed_key_for(user)
        feeds.publish(key)
        token, polled_key, stored = feeds.polled_feed(raw)
        assert token.user.id == user.id and polled_key == key
        assert feeds.stored_content(stored) == bytes(feeds.snapshot_for(key).body)


def key_of(raw: str) -> str:
    return feeds.feed_key_for(feeds.find_token(raw).user)


def test_gzip_is_the_stored_copy_and_its_304_reads_no_body_either(client, raw_token, sql_log,
                                                                  caplog):
    zipped = client.get(f"/feeds/{raw_token}.ics", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    snapshot = feeds.snapshot_for(key_of(raw_token))
    assert zipped.data == bytes(snapshot.body_gzip)
    assert zipped.headers["ETag"] == feeds.gzip_etag(snapshot.etag)
    caplog.clear()
    again = client.get(f"/feeds/{raw_token}.ics", headers={
        "Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304
    assert not any(BODY_READ.search(sql) for sql in _feed_sql(sql_log))
    # a client that asks for the plain bytes with the gzip copy's tag gets them in full
    plain = client.get(f"/feeds/{raw_token}.ics", headers={"If-None-Match": zipped.headers["ETag"]})
    assert plain.status_code == 200 and plain.data == bytes(snapshot.body)


def test_a_polling_client_costs_one_token_read_and_no_write(client, raw_token, sql_log,
                                                            caplog):
    client.get(f"/feeds/{raw_token}.ics", headers={"User-Agent": "iOS/17"})
    caplog.clear()
    client.get(f"/feeds/{raw_token}.ics", headers={"User-Agent": "iOS/17"})
    statements = sql_log()
    token_reads = [sql for sql in statements if 'FROM "feed_token"' in sql]
    assert len(token_reads) == 1 and " JOIN " in token_reads[0]  # the user comes along
    assert not any(sql.startswith(("UPDATE", "INSERT", "DELETE")) for sql in statements)


def test_the_feed_does_no_session_or_request_work(app, client, raw_token, cal):
    client.get(f"/feeds/{raw_token}.ics")
    client.get(f"/v/{cal.village.code}/calendar.ics")  # both published
    seen = []
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(1))
    token = client.get(f"/feeds/{raw_token}.ics")
    village = client.get(f"/v/{cal.village.code}/calendar.ics")
    assert token.status_code == village.status_code == 200
    assert seen == []  # answered before Flask
    for response in (token, village):
        assert "Set-Cookie" not in response.headers
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert client.get("/login").status_code == 200 and seen == [1]  # pages still do


def test_head_answers_the_headers_alone(client, raw_token):
    full = client.get(f"/feeds/{raw_token}.ics")
    head = client.head(f"/feeds/{raw_token}.ics")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == full.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(full.data))


def test_a_revoked_token_is_404_at_once(client, district, cal):
    token, raw = feeds.create_token(None, district.users.lawyer, "iPhone")
    assert client.get(f"/feeds/{raw}.ics").status_code == 200
    feeds.revoke_token(None, token)
    gone = client.get(f"/feeds/{raw}.ics")
    assert gone.status_code == 404 and gone.data == b"Not found\n"
    assert gone.headers["X-Content-Type-Options"] == "nosniff"


def test_a_post_to_a_feed_is_not_allowed(client, raw_token):
    assert client.post(f"/feeds/{raw_token}.ics").status_code == 405


# --- pooled connections ----------------------------------------------------------------------

@pytest.fixture
def pooled(database):
    """The test's database opened as the web process opens it (pooled)."""
    if os.environ.get("JIEDUI_TEST_DATABASE_URL"):
        url = os.environ["JIEDUI_TEST_DATABASE_URL"]
    else:
        url = f"sqlite:///{db.obj.database}"
    close_quietly()
    opened = open_database(url, pooled=True)
    yield opened
    close_quietly()
    opened.close_all()
    open_database(url)
    db.connect(reuse_if_open=True)


def _loopback(app):
    from werkzeug.serving import make_server

    from web.serve import RequestHandler
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=RequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_threads_share_the_pool_and_keep_its_connections(app, raw_token, pooled):
    assert is_pooled()
    server = _loopback(app)
    port = server.server_port

    def fetch(_):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        answers = []
        for _ in range(5):
            connection.request("GET", f"/feeds/{raw_token}.ics")
            response = connection.getresponse()
            answers.append((response.status, len(response.read())))
        connection.close()
        return answers

    try:
        with ThreadPoolExecutor(8) as pool:
            answers = [a for each in pool.map(fetch, range(8)) for a in each]
    finally:
        server.shutdown()
        server.server_close()
    assert {status for status, _ in answers} == {200} and len(answers) == 40
    assert len({size for _, size in answers}) == 1
    kept = len(pooled._connections)
    assert 1 <= kept <= 8  # connections were returned to the pool, not closed


# --- keep-alive ------------------------------------------------------------------------------

def _two_requests_on_one_connection(host: str, port: int, paths) -> list[int]:
    connection = http.client.HTTPConnection(host, port, timeout=20)
    statuses, sockets = [], []
    for path in paths:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
        assert response.version == 11 and not response.will_close
        sockets.append(connection.sock.getsockname())
    connection.close()
    assert len(set(sockets)) == 1  # the same connection, its local port unchanged
    return statuses


def _database_url() -> str:
    return os.environ.get("JIEDUI_TEST_DATABASE_URL") or f"sqlite:///{db.obj.database}"


def _server_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIEDUI_")}
    env.update(JIEDUI_INSTANCE=str(tmp_path / "instance"), PYTHONPATH=str(ROOT),
               JIEDUI_DATABASE_URL=_database_url(), JIEDUI_SECRET_KEY="test-secret", **extra)
    return env


@pytest.mark.slow
def test_jiedui_serve_runs_gunicorn_with_keep_alive(tmp_path, raw_token, cal):
    close_quietly()  # the server process reads what this test wrote
    port = free_port()
    env = _server_env(tmp_path, JIEDUI_BIND=f"127.0.0.1:{port}", JIEDUI_WEB_WORKERS="1",
                      JIEDUI_WEB_THREADS="2")
    process = start([sys.executable, "-m", "web.cli", "serve"], env, tmp_path / "serve.log",
                    cwd=ROOT)
    try:
        wait_for_url(f"http://127.0.0.1:{port}/login", 90, process)
        statuses = _two_requests_on_one_connection(
            "127.0.0.1", port, [f"/feeds/{raw_token}.ics", f"/feeds/{raw_token}.ics",
                                f"/v/{cal.village.code}/calendar.ics", "/login"])
        assert statuses == [200, 200, 200, 200]
    finally:
        stop(process, 30, signal.SIGTERM)
    logged = (tmp_path / "serve.log").read_text()
    assert "gthread" in logged and raw_token not in logged  # the access log is redacted
    db.connect(reuse_if_open=True)


@pytest.mark.slow
def test_the_gunicorn_configuration_loads(tmp_path, database):
    close_quietly()
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", "-c",
                             str(ROOT / "gunicorn.conf.py")], env=_server_env(tmp_path),
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    db.connect(reuse_if_open=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_options_follow_the_settings():
    from core.config import ConfigError, serve_settings
    from web.serve import gunicorn_options
    options = gunicorn_options(serve_settings({"JIEDUI_BIND": "0.0.0.0:9000",
                                               "JIEDUI_WEB_WORKERS": "3",
                                               "JIEDUI_WEB_THREADS": "4"}))
    assert options["bind"] == ["0.0.0.0:9000"]
    assert (options["workers"], options["threads"]) == (3, 4)
    assert options["worker_class"] == "gthread" and options["keepalive"] > 0
    assert options["preload_app"] is False
    assert serve_settings({}).workers == (os.cpu_count() or 1)
    with pytest.raises(ConfigError):
        serve_settings({"JIEDUI_WEB_THREADS": "zero"})


@pytest.mark.skipif(not os.environ.get("JIEDUI_TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_a_poll_on_a_pooled_connection_sends_the_server_one_statement(client, raw_token, pooled):
    """No liveness check (``SELECT 1``), reset or setup statement when a request takes its
    connection from the pool: the poll's prepared query is all the server hears."""
    import psycopg2.extensions
    sent = []

    class Cursor(psycopg2.extensions.cursor):
        def execute(self, sql, params=None):
            sent.append(sql)
            return super().execute(sql, params)

    class Connection(psycopg2.extensions.connection):
        def cursor(self, *args, **kwargs):
            kwargs.setdefault("cursor_factory", Cursor)
            return super().cursor(*args, **kwargs)

    close_quietly()
    pooled.close_idle()
    pooled.connect_params["connection_factory"] = Connection
    first = client.get(f"/feeds/{raw_token}.ics")  # its connection goes back to the pool
    for headers in ({}, {"If-None-Match": first.headers["ETag"]}):
        client.get(f"/feeds/{raw_token}.ics", headers=headers)  # PREPAREs its query, once
        sent.clear()
        assert client.get(f"/feeds/{raw_token}.ics", headers=headers).status_code in (200, 304)
        assert len(sent) == 1 and "jiedui_feed_" in sent[0], sent  # the prepared poll


@pytest.mark.skipif(not os.environ.get("JIEDUI_TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_a_pooled_connection_the_server_ended_is_replaced_before_the_request(
        client, raw_token, pooled):
    import psycopg2
    assert client.get(f"/feeds/{raw_token}.ics").status_code == 200  # back in the pool
    db.connect()
    (pid,) = db.execute_sql("SELECT pg_backend_pid()").fetchone()
    db.close()  # the pool keeps it, idle
    killer = psycopg2.connect(os.environ["JIEDUI_TEST_DATABASE_URL"])
    killer.autocommit = True
    with killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    killer.close()
    time.sleep(0.2)
    assert client.get(f"/feeds/{raw_token}.ics").status_code == 200
    assert client.get("/login").status_code == 200
