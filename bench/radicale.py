"""A lawyer's feed from Jiedui against Radicale serving the same events
(``python -m bench.radicale``; part of ``make bench``).

On the generated world of ``JIEDUI_BENCH_SCALE`` the busiest lawyer's feed is published;
its events are written into a Radicale filesystem collection as Radicale stores them (one
item a VEVENT, each with the VTIMEZONE), and Radicale is started on loopback with no
authentication. Jiedui runs as ``jiedui run`` (the werkzeug server) on the same world. Both
are fetched over real HTTP by one keep-alive client (``http.client``; it reconnects when a
server closes the connection): ``GET /feeds/<token>.ics`` against Radicale's
``GET /bench/lawyer/`` (the whole calendar as one .ics), 200 GETs each after a warm-up,
and the conditional GET (``If-None-Match``: 304) of each.
"""
import http.client
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("JIEDUI_INSTANCE", tempfile.mkdtemp(prefix="jiedui-bench-"))
os.environ.setdefault("JIEDUI_SECRET_KEY", "bench")

from bench import generate  # noqa: E402
from bench.harness import Row, print_table, scale, timed  # noqa: E402
from tests.e2e.conftest import running_server, server_environment  # noqa: E402
from tests.processes import free_port, start, stop, wait_for_url  # noqa: E402

GETS = 200


def busiest_lawyer() -> tuple[str, int]:
    """The login and lawyer id of the lawyer with the most events."""
    from peewee import fn

    from core.models import Event, User
    lawyer_id, _count = (Event.select(Event.lawyer, fn.COUNT(Event.id))
                         .where(Event.lawyer.is_null(False)).group_by(Event.lawyer)
                         .order_by(fn.COUNT(Event.id).desc(), Event.lawyer).tuples().first())
    return User.get(User.lawyer == lawyer_id).username, lawyer_id


def split_calendar(body: bytes) -> tuple[bytes, list[bytes]]:
    """(the calendar's head up to and with its VTIMEZONEs, [each VEVENT])."""
    text = body.decode()
    first = text.index("BEGIN:VEVENT")
    head = text[:first]
    events = re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", text, re.S)
    return head.encode(), [event.encode() for event in events]


def radicale_collection(folder: Path, body: bytes) -> int:
    """Write the feed's events as Radicale's filesystem storage keeps a calendar:
    collection-root/<user>/<calendar>/ with its props and one .ics item a VEVENT."""
    head, events = split_calendar(body)
    calendar = folder / "collection-root" / "bench" / "lawyer"
    calendar.mkdir(parents=True)
    (folder / "collection-root" / "bench" / ".Radicale.props").write_text("{}")
    (calendar / ".Radicale.props").write_text(
        '{"tag": "VCALENDAR", "D:displayname": "lawyer"}')
    for n, event in enumerate(events):
        uid = re.search(rb"\r\nUID:([^\r\n]+)", b"\r\n" + event).group(1).decode()
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", uid)
        (calendar / f"{name}.ics").write_bytes(head + event + b"END:VCALENDAR\r\n")
    return len(events)


@contextmanager
def radicale(folder: Path):
    port = free_port()
    rights = folder / "rights"  # anyone reads (no authentication on loopback)
    rights.write_text("[read]\nuser: .*\ncollection: .*\npermissions: RrWw\n")
    process = start(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
         "--storage-filesystem-folder", str(folder), "--auth-type", "none",
         "--rights-type", "from_file",
         "--rights-file", str(rights), "--web-type", "none", "--logging-level", "warning"],
        None, folder / "radicale.log")
    try:
        wait_for_url(f"http://127.0.0.1:{port}/", 60, process)
        yield port
    finally:
        stop(process, 15)


class Client:
    """One keep-alive connection; counts the times the server closed it."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.closed = self.requests = 0

    def get(self, path: str, headers=None) -> tuple[int, bytes, dict]:
        self.connection.request("GET", path, headers=headers or {})
        answer = self.connection.getresponse()
        body = answer.read()
        self.requests += 1
        if answer.will_close:
            self.closed += 1
        return answer.status, body, dict(answer.getheaders())


def main() -> int:
    from core.db import db
    from core.feeds import publish
    size = scale()
    url = generate.prepare(size)
    generate.open_world(url)
    folder = Path(tempfile.mkdtemp(prefix="jiedui-bench-radicale-"))
    try:
        with db.connection_context():
            username, lawyer_id = busiest_lawyer()
            body = bytes(publish(f"lawyer:{lawyer_id}").body)
        events = radicale_collection(folder, body)
        instance = folder / "instance"
        instance.mkdir()
        env, port = server_environment(instance)
        env.update(JIEDUI_DATABASE_URL=url, JIEDUI_SECRET_KEY="bench")
        feed_path = f"/feeds/{generate.feed_token(username)}.ics"
        with radicale(folder) as radicale_port, running_server(instance, env, port):
            theirs, ours = Client(radicale_port), Client(port)
            status, their_body, their_headers = theirs.get("/bench/lawyer/")
            assert status == 200 and their_body.count(b"BEGIN:VEVENT") == events, status
            status, our_body, our_headers = ours.get(feed_path)
            assert status == 200 and our_body.count(b"BEGIN:VEVENT") == events, status
            rows = [Row(f"lawyer feed GET ({events} events, {len(our_body) // 1024} KiB): "
                        "Jiedui vs Radicale",
                        timed(lambda: theirs.get("/bench/lawyer/"), rounds=GETS),
                        timed(lambda: ours.get(feed_path), rounds=GETS))]
            their_etag, our_etag = their_headers.get("ETag"), our_headers.get("ETag")
            if their_etag and our_etag:
                assert ours.get(feed_path, {"If-None-Match": our_etag})[0] == 304
                rows.append(Row("the same, conditional (304): Jiedui vs Radicale",
                                timed(lambda: theirs.get("/bench/lawyer/",
                                                         {"If-None-Match": their_etag}),
                                      rounds=GETS),
                                timed(lambda: ours.get(feed_path, {"If-None-Match": our_etag}),
                                      rounds=GETS)))
        database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print_table(rows, f"a lawyer's feed: Jiedui (jiedui run, {database}) vs Radicale")
        print(f"  connections the server closed: Radicale {theirs.closed} of {theirs.requests} "
              f"requests, Jiedui {ours.closed} of {ours.requests}")
        print(f"  Radicale's body {len(their_body) // 1024} KiB, Jiedui's {len(our_body) // 1024} KiB")
    finally:
        db.close()
        generate.discard(url)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
