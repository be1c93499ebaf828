"""What an attacker must not do, and what the server must not give away (docs/security.md):
redirects only to this site, no 500 from a control character in a path, owner-only files,
feed tokens out of the access log, no version banner, disabled users' feeds gone for good,
no caching of personal pages, a bounded request size, one charset, and notice copies that a
bad message cannot blame on the mail server."""
import datetime as dt
import io
import logging
import stat
import threading
import urllib.request

import pytest

from core import cases, feeds
from core.config import load_settings, private_file, private_folder
from core.models import AuditLog, Delivery, FeedToken, MajorMatter, Notification, Problem
from core.users import disable_user, enable_user
from tests.mail_support import smtp_sink  # noqa: F401 (a fixture)

# ``next`` as an attacker writes it in a link (URL-encoded): a TAB, CR/LF, a backslash, a NUL.
EVIL = ["/%09/evil.example/phish", "//evil.example/phish", "/%5Cevil.example/phish",
        "%5C%5Cevil.example", "https://evil.example/", "javascript:alert(1)",
        "/%0d%0aSet-Cookie:%20x=1", "/%0aevil", "evil", "http:/evil.example",
        "/%00/evil.example", "%2F%2Fevil.example"]


# --- redirects ---------------------------------------------------------------------------------

@pytest.mark.parametrize("target", EVIL)
def test_the_language_switch_never_redirects_off_the_site(client, database, target):
    response = client.get(f"/lang/en?next={target}")
    if "%00" in target:  # a NUL in a field is refused outright
        assert response.status_code == 400
        return
    assert response.status_code == 302
    assert response.headers["Location"] == "/"  # the home page, nothing else


@pytest.mark.parametrize("target", EVIL)
def test_the_login_never_redirects_off_the_site(client, district, target):
    response = client.post(f"/login?next={target}",
                           data={"username": "coord", "password": "test-pass-123"})
    if "%00" in target:
        assert response.status_code == 400
        return
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_path_on_this_site_is_kept(client, district):
    response = client.get("/lang/zh_CN", query_string={"next": "/calendar/?month=2026-05"})
    assert response.headers["Location"] == "/calendar/?month=2026-05"


# --- no 500 from a path ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v/a%00b/calendar.ics", "/pairings/village/a%00b/panel",
                                  "/v/a%00b", "/villages/a%01b", "/feeds/%00.ics",
                                  "/v/a%7fb/card"])
def test_a_control_character_in_a_path_is_not_found_not_a_500(client, district, login, path):
    login(district.users.coordinator)
    assert client.get(path).status_code == 404


# --- files ----------------------------------------------------------------------------------

def test_the_instance_folder_and_databases_are_their_owners_only(tmp_path):
    from core.db import open_database
    from core.queue import make_huey
    instance = tmp_path / "new-instance"
    settings = load_settings({"JIEDUI_INSTANCE": str(instance), "JIEDUI_SECRET_KEY": "x"})
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    database = open_database(settings.database_url)
    database.connect()
    database.execute_sql("CREATE TABLE t (x)")
    database.close()
    make_huey(settings)
    for name in ("jiedui.db", "queue.db"):
        assert stat.S_IMODE((instance / name).stat().st_mode) == 0o600, name
    for name in ("jiedui.db-wal", "jiedui.db-shm"):  # SQLite copies the database's mode
        if (instance / name).exists():
            assert stat.S_IMODE((instance / name).stat().st_mode) == 0o600, name


def test_existing_files_keep_their_mode(tmp_path):
    folder = tmp_path / "kept"
    folder.mkdir(mode=0o755)
    (folder / "db").write_bytes(b"")
    (folder / "db").chmod(0o640)
    private_folder(folder)
    private_file(folder / "db")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "db").stat().st_mode) == 0o640


# --- the server: access log and banner -----------------------------------------------------

@pytest.fixture
def served(app):
    """The app on a real loopback server with ``jiedui run``'s request handler."""
    from werkzeug.serving import make_server

    from web.serve import RequestHandler
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=RequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_feed_tokens_stay_out_of_the_access_log_and_no_version_is_named(district, served,
                                                                         caplog):
    _token, raw = feeds.create_token(None, district.users.lawyer, "iPhone")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        with urllib.request.urlopen(f"{served}/feeds/{raw}.ics") as response:
            assert response.status == 200
            server = response.headers["Server"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/feeds/" in logged and raw not in logged and "redacted" in logged
    assert server == "Jiedui"  # not Werkzeug/3.x Python/3.11


def test_gunicorns_access_log_keeps_no_token_either():
    pytest.importorskip("gunicorn")
    from types import SimpleNamespace

    from web.serve import GunicornLogger
    logger = GunicornLogger(SimpleNamespace(
        errorlog="-", loglevel="info", accesslog=None, syslog=False, logconfig=None,
        logconfig_dict={}, logconfig_json=None, capture_output=False, disable_redirect_access_to_syslog=False,
        access_log_format='%(h)s "%(r)s" %(s)s', user=0, group=0, umask=0, syslog_addr=None,
        syslog_prefix=None, syslog_facility="user", statsd_host=None, dogstatsd_tags="",
        statsd_prefix=""))
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/feeds/SeCrEtToKeN.ics?x=1",
               "PATH_INFO": "/feeds/SeCrEtToKeN.ics", "QUERY_STRING": "x=1",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1"}
    response = SimpleNamespace(status="200 OK", headers=[], sent=10, response_length=10)
    request = SimpleNamespace(headers=[])
    atoms = logger.atoms(response, request, environ, dt.timedelta(seconds=0.01))
    assert "SeCrEtToKeN" not in atoms["r"] and "SeCrEtToKeN" not in atoms["U"]


# --- disabled users, caching, request size, charset ------------------------------------------

def test_disabling_a_user_revokes_their_feed_addresses_for_good(client, district):
    _token, raw = feeds.create_token(None, district.users.lawyer, "iPhone")
    assert client.get(f"/feeds/{raw}.ics").status_code == 200
    disable_user(None, district.users.lawyer)
    enable_user(None, district.users.lawyer)  # back at work: old addresses stay dead
    assert client.get(f"/feeds/{raw}.ics").status_code == 404
    assert FeedToken.get().revoked_at is not None
    entry = AuditLog.get(AuditLog.action == "user.disable")
    assert entry.detail == {"feed_tokens_revoked": 1}


def test_pages_with_personal_data_are_not_cached(client, district, login):
    login(district.users.coordinator)
    for path in ("/", "/calendar/", "/tasks/", "/admin/users"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")


def test_a_huge_anonymous_body_is_refused_before_it_is_read(client, database):
    body = b"x" * (60 * 1024 * 1024)
    response = client.post("/login", data=body, content_type="application/octet-stream")
    assert response.status_code == 413


def test_a_text_attachment_names_its_charset_once(client, district, login):
    case = cases.open_case(None, title="土地纠纷", lawyer=district.lawyers[0],
                           village=district.villages[0])
    attachment = cases.attach_file(None, case, "记录.txt", io.BytesIO("会议记录\n".encode()))
    login(district.users.coordinator)
    response = client.get(f"/records/attachments/{attachment.id}")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


# --- notice copies ---------------------------------------------------------------------------

def test_a_copy_that_cannot_be_written_is_reported_against_its_notice_not_the_server(
        district, smtp_sink, monkeypatch):
    from core.notify import send_deliveries
    monkeypatch.setenv("JIEDUI_SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.server_address[1]}")
    monkeypatch.setenv("JIEDUI_MAIL_TO", "office@example.org")
    notification = Notification.create(user=district.users.coordinator, kind="matter.reported",
                                       title="集体上访")
    Delivery.create(notification=notification, channel="email",
                    address="duty@example.org\r\nBcc: someone@example.org")  # written past checks
    assert send_deliveries() == {"sent": 0, "retry": 0, "failed": 1}  # no retry can help
    assert Delivery.get().status == "failed" and smtp_sink.messages == []
    [problem] = list(Problem.select())
    assert problem.key == "notification:message:matter.reported"
    assert "notification:email" not in problem.key


def test_a_major_matter_title_is_one_line(district):
    from core.matters import report_matter
    from tests.planning_support import utc
    matter = report_matter(district.users.lawyer, category="collective",
                           village=district.villages[0], title="集体上访\r\n第二行",
                           occurred_at=utc(2026, 3, 2, 9), now=utc(2026, 3, 2, 10))
    assert MajorMatter.get_by_id(matter.id).title == "集体上访 第二行"
