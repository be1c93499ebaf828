"""Serving: a lawyer's feed against the constant-response floor, the 304 against the 200, and
50 concurrent users, under ``jiedui run``'s server (werkzeug, threaded, ``RequestHandler``)
and ``jiedui serve``'s (gunicorn with the repository's ``gunicorn.conf.py``).

``python -m bench.serve`` (district: the demo district in a temporary instance; set
``JIEDUI_BENCH_DATABASE_URL`` for PostgreSQL — an empty database, or one holding the demo).

- **The floor** is a WSGI route in front of the same app, served by the same server, that
  answers the lawyer's feed bytes from memory with the same headers: what any answer of
  those bytes costs on that server. The feed answer is measured against it (keep-alive
  client, ``FEED_GETS`` GETs, median and spread), and the 304 against the 200 and against
  **the 304 floor**: the same route's constant 304 (sent ``If-None-Match``: the feed's
  headers without a body), what this server needs to answer any request at all.
- **The load**: ``CLIENTS`` clients at once for ``LOAD_SECONDS``: people (coordinators,
  town coordinators, lawyers, village users, leaders) who log in once and then open a page
  of their navigation every 1–3 s, like a person reading it, and phones polling a lawyer's,
  a coordinator's or a village's feed every 2–5 s with its ETag. Each client keeps its
  connection (``requests.Session``). Reported: requests/s, p50, p95, p99 and errors (any
  answer ≥ 400 or a failed connection); logins are timed apart (a session lasts days).
  ``JIEDUI_BENCH_LOAD_SECONDS=0`` skips it (the single-client figures only).

The load generator runs on the same 2 cores as the server: its own CPU is part of what
the figures show.
"""
import http.client
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.harness import Row, Timing, print_table, scale
from tests.processes import free_port, start, stop, wait_for_url

ROOT = Path(__file__).resolve().parent.parent
FEED_GETS = int(os.environ.get("JIEDUI_BENCH_FEED_GETS", "500"))
CLIENTS = int(os.environ.get("JIEDUI_BENCH_CLIENTS", "50"))
LOAD_SECONDS = float(os.environ.get("JIEDUI_BENCH_LOAD_SECONDS", "45"))
PHONES = CLIENTS // 5  # a fifth of the clients are calendars polling their feed
PEOPLE = ("coordinator", "town coordinator", "lawyer", "lawyer", "village", "village",
          "leader", "firm head")
FLOOR_PATH = "/_bench/floor.ics"
SKIP_LINK = re.compile(r"static|logout|/lang/|export|\.xlsx|\.docx|\.ics|download|/new|"
                       r"/edit|/delete|/revoke|#", re.I)


# --- the app the servers run: Jiedui with the floor in front ------------------------------------

def floor_app():
    """The app ``jiedui run`` and ``jiedui serve`` build, with ``FLOOR_PATH`` in front: the
    bytes and headers of the feeds named by ``JIEDUI_BENCH_FLOOR_KEYS`` (``?n`` picks one),
    from memory."""
    from core.models import FeedSnapshot
    from web import SECURITY_HEADERS, create_app
    from web.feeds import CALENDAR_TYPE, PRIVATE_CACHE
    app = create_app()
    inner = app.wsgi_app
    held = {}

    def floor(environ, start_response):
        if environ.get("PATH_INFO") != FLOOR_PATH:
            return inner(environ, start_response)
        number = int(environ.get("QUERY_STRING") or 0)
        if number not in held:
            from core.db import db
            key = os.environ["JIEDUI_BENCH_FLOOR_KEYS"].split(",")[number]
            with db.connection_context():
                snapshot = FeedSnapshot.get(FeedSnapshot.key == key)
            body = bytes(snapshot.body)
            held[number] = (body, [
                ("ETag", snapshot.etag), ("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT"),
                ("Cache-Control", PRIVATE_CACHE), ("Vary", "Accept-Encoding"),
                ("Content-Type", CALENDAR_TYPE), ("Content-Length", str(len(body))),
                *SECURITY_HEADERS])
        body, headers = held[number]
        if environ.get("HTTP_IF_NONE_MATCH"):  # the constant 304: the feed's own headers
            start_response("304 Not Modified", [
                (name, value) for name, value in headers
                if name not in ("Content-Type", "Content-Length")])
            return [b""]
        start_response("200 OK", list(headers))
        return [body]

    app.wsgi_app = floor
    return app


def _werkzeug(port: int) -> None:
    """``jiedui run``'s web server (without its job consumer) on ``port``."""
    from werkzeug.serving import make_server

    from web.serve import RequestHandler
    server = make_server("127.0.0.1", port, floor_app(), threaded=True,
                         request_handler=RequestHandler)
    server.serve_forever()


# --- the data --------------------------------------------------------------------------------

def _prepare(instance: Path) -> dict:
    """The demo district in ``instance`` (or the bench database), a feed token for the
    demo lawyer, coordinator and town coordinator, their feeds published."""
    from core import feeds
    from core.app import setup
    from core.config import load_settings
    from core.db import db
    from core.demo import DEMO_LOGINS, has_data, load_demo
    from core.models import User, Village
    setup(load_settings(), run_migrations=True)
    db.connect(reuse_if_open=True)
    if not has_data():
        started = time.perf_counter()
        load_demo()
        print(f"demo district loaded in {time.perf_counter() - started:.1f} s")
    tokens = {}
    for role in ("lawyer", "coordinator", "town coordinator"):
        user = User.get(User.username == DEMO_LOGINS[role][0])
        _token, raw = feeds.create_token(None, user, f"bench {time.time_ns()}")
        tokens[role] = raw
        feeds.snapshot_for(feeds.feed_key_for(user))
    villages = [v.code for v in Village.select(Village.code).order_by(Village.id).limit(40)]
    for code in villages:
        feeds.snapshot_for(f"village:{code}")
    feeds_measured = []  # (who, key, bytes): the lawyer's feed and the coordinator's
    for role in ("lawyer", "coordinator"):
        user = User.get(User.username == DEMO_LOGINS[role][0])
        key = feeds.feed_key_for(user)
        feeds_measured.append((role, key, len(feeds.snapshot_for(key).body)))
    db.close()
    return {"tokens": tokens, "villages": villages, "measured": feeds_measured,
            "logins": DEMO_LOGINS}


# --- servers ---------------------------------------------------------------------------------

def _start(kind: str, env: dict, port: int):
    if kind == "run":
        command = [sys.executable, "-c", f"from bench.serve import _werkzeug; _werkzeug({port})"]
    else:
        command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                   "bench.serve:floor_app()"]
        env = dict(env, JIEDUI_BIND=f"127.0.0.1:{port}")
    process = start(command, env, Path(env["JIEDUI_INSTANCE"]) / f"{kind}.log", cwd=ROOT,
                    start_new_session=True)
    wait_for_url(f"http://127.0.0.1:{port}/login", 120, process)
    return process


# --- one client, one request at a time ----------------------------------------------------------

def _interleaved(port: int, requests: list[tuple[str, dict]], rounds: int):
    """``rounds`` rounds of the ``requests`` (path, headers), one after the other in each
    round, each on its own kept-alive connection (reopened when the server closes it): a
    shared machine's slow moments fall on all of them alike. Their medians and spreads."""
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                   for _ in requests]
    samples = [[] for _ in requests]

    def once(i):
        path, headers = requests[i]
        connections[i].request("GET", path, headers=headers)
        response = connections[i].getresponse()
        response.read()
        return response.status

    for _ in range(20):  # warm-up
        for i in range(len(requests)):
            once(i)
    statuses = [0] * len(requests)
    for _ in range(rounds):
        for i in range(len(requests)):
            started = time.perf_counter()
            statuses[i] = once(i)
            samples[i].append(time.perf_counter() - started)
    for connection in connections:
        connection.close()
    timings = []
    for i, taken in enumerate(samples):
        quartiles = statistics.quantiles(taken, n=4)
        timings.append(Timing(statistics.median(taken), quartiles[2] - quartiles[0]))
    return timings, statuses


def _single(kind: str, port: int, data: dict) -> list[Row]:
    rows = []
    for number, (role, key, size) in enumerate(data["measured"]):
        feed = f"/feeds/{data['tokens'][role]}.ics"
        etag = _etag(port, feed)
        (floor, floor_304, full, unchanged), statuses = _interleaved(
            port, [(f"{FLOOR_PATH}?{number}", {}),
                   (f"{FLOOR_PATH}?{number}", {"If-None-Match": etag}), (feed, {}),
                   (feed, {"If-None-Match": etag})], FEED_GETS)
        assert statuses == [200, 304, 200, 304], statuses
        who = f"{role}'s feed ({key}, {size / 1024:.0f} KiB)"
        identity, gzip, unchanged_bytes = _wire_bytes(port, feed)
        print(f"jiedui {kind}: {who} bytes on the wire (status line, headers, body): 200 "
              f"{identity}, 200 gzip {gzip}, 304 {unchanged_bytes} = "
              f"{unchanged_bytes / gzip:.2f} of the gzip 200", flush=True)
        rows += [Row(f"jiedui {kind}: {who} GET vs the constant floor", floor, full),
                 Row(f"jiedui {kind}: {who} 304 vs its 200", full, unchanged),
                 Row(f"jiedui {kind}: {who} 304 vs a constant 304", floor_304, unchanged),
                 Row(f"jiedui {kind}: constant 304 vs constant 200 ({key})", floor, floor_304)]
    return rows


def _wire_bytes(port: int, path: str) -> tuple[int, int, int]:
    """The bytes a phone receives for the feed at ``path``: its 200 as is, its 200 gzipped
    (what calendar apps ask for), and the 304 of the gzipped one (what a poll costs while
    nothing changed): what the 304 saves a phone on its network, where the server's own
    time is the smaller part."""
    def received(headers: dict) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        head = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + 2 + sum(
            len(name) + len(value) + 4 for name, value in response.getheaders())
        return head + len(body), response.getheader("ETag")
    identity, _ = received({})
    gzip, etag = received({"Accept-Encoding": "gzip"})
    unchanged, _ = received({"Accept-Encoding": "gzip", "If-None-Match": etag})
    return identity, gzip, unchanged


def _etag(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.getheader("ETag")


# --- the load --------------------------------------------------------------------------------

def _session(number: int):
    """A client of its own address (behind the proxy: ``JIEDUI_TRUSTED_PROXIES=1``, as in
    production, so the login throttle sees each client), keeping its connection alive and
    sending a GET again once when the server had just closed the kept connection (what
    browsers and calendar apps do)."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
    session = requests.Session()
    session.headers["X-Forwarded-For"] = f"10.{number // 250}.{number % 250}.{1 + number % 7}"
    retry = Retry(total=1, connect=1, read=1, status=0, allowed_methods={"GET"},
                  raise_on_status=False)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


class Load:
    def __init__(self, port: int, data: dict, seconds: float):
        self.base = f"http://127.0.0.1:{port}"
        self.data = data
        self.until = 0.0
        self.seconds = seconds
        self.lock = threading.Lock()
        self.latencies: list[tuple[str, float]] = []  # (what, seconds)
        self.logins: list[float] = []
        self.errors: list[str] = []
        self.logged_in = threading.Event()

    def _timed(self, session, method, url, **kwargs):
        started = time.perf_counter()
        try:
            response = session.request(method, self.base + url, timeout=30, **kwargs)
            failed = f"{response.status_code} {url}" if response.status_code >= 400 else ""
        except Exception as error:  # noqa: BLE001 — a failed connection is an error to count
            response, failed = None, f"{type(error).__name__} {url}"
        elapsed = time.perf_counter() - started
        return response, elapsed, failed

    def _record(self, elapsed, failed, login=False, what=""):
        if not login and not self.logged_in.is_set():
            return
        with self.lock:
            if login:
                self.logins.append(elapsed)
            else:
                self.latencies.append((what, elapsed))
            if failed:
                self.errors.append(failed)

    def person(self, number: int) -> None:
        role = PEOPLE[number % len(PEOPLE)]
        username, password = self.data["logins"][role]
        rng = random.Random(number)
        with _session(number) as session:
            page, elapsed, failed = self._timed(session, "GET", "/login")
            self._record(elapsed, failed, login=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text if page else "")
            home, elapsed, failed = self._timed(
                session, "POST", "/login", data={"username": username, "password": password,
                                                 "csrf_token": token[1] if token else ""})
            self._record(elapsed, failed, login=True)
            links = sorted({href for href in re.findall(r'href="(/[^"]*)"', home.text if home
                                                          else "")
                            if not SKIP_LINK.search(href)})[:15] or ["/"]
            self.logged_in.wait()  # everyone has logged in: the measured window starts
            time.sleep(rng.uniform(0, 3))
            while time.monotonic() < self.until:
                time.sleep(rng.uniform(1, 3))  # reading the page
                link = rng.choice(links)
                _r, elapsed, failed = self._timed(session, "GET", link)
                self._record(elapsed, failed, what=_page_name(link))

    def phone(self, number: int) -> None:
        rng = random.Random(1000 + number)
        tokens, villages = self.data["tokens"], self.data["villages"]
        choices = [f"/feeds/{raw}.ics" for raw in tokens.values()] + [
            f"/v/{code}/calendar.ics" for code in villages]
        url = choices[number % len(choices)]
        etag = None
        self.logged_in.wait()
        time.sleep(rng.uniform(0, 5))
        with _session(CLIENTS + number) as session:
            while time.monotonic() < self.until:
                headers = {"If-None-Match": etag} if etag else {}
                response, elapsed, failed = self._timed(session, "GET", url, headers=headers)
                self._record(elapsed, failed, what="feed")
                if response is not None and response.status_code == 200:
                    etag = response.headers.get("ETag")
                time.sleep(rng.uniform(2, 5))

    def run(self) -> dict:
        people = [threading.Thread(target=self.person, args=(n,))
                  for n in range(CLIENTS - PHONES)]
        phones = [threading.Thread(target=self.phone, args=(n,)) for n in range(PHONES)]
        for thread in people + phones:
            thread.start()
        while len(self.logins) < 2 * len(people) and any(t.is_alive() for t in people):
            time.sleep(0.1)  # logins first (a session lasts days): timed apart
        started = time.monotonic()
        self.until = started + self.seconds
        self.logged_in.set()
        for thread in people + phones:
            thread.join()
        took = time.monotonic() - started
        every = sorted(seconds for _what, seconds in self.latencies)
        pages = sorted(seconds for what, seconds in self.latencies if what != "feed")
        polls = sorted(seconds for what, seconds in self.latencies if what == "feed")
        by_page = {}
        for what, seconds in self.latencies:
            if what != "feed":
                by_page.setdefault(what, []).append(seconds)
        slowest = sorted(((statistics.median(times), what, len(times))
                          for what, times in by_page.items()), reverse=True)[:5]
        return {"requests": len(every), "rate": len(every) / took, **_cuts("", every),
                **_cuts("pages_", pages), **_cuts("feeds_", polls),
                "errors": len(self.errors), "slowest": slowest,
                "login_p50": statistics.median(self.logins) if self.logins else 0,
                "error_kinds": sorted(set(self.errors))[:5]}


def _cuts(prefix: str, ordered: list[float]) -> dict:
    if len(ordered) < 2:
        return {f"{prefix}p50": 0, f"{prefix}p95": 0, f"{prefix}p99": 0}
    cut = statistics.quantiles(ordered, n=100)
    return {f"{prefix}p50": cut[49], f"{prefix}p95": cut[94], f"{prefix}p99": cut[98]}


def _page_name(link: str) -> str:
    """A page's address without its own codes and numbers (``/villages/<code>``)."""
    path = link.split("?")[0]
    return re.sub(r"/[0-9][0-9-]*(?=/|$)", "/<n>", path)


# --- main ------------------------------------------------------------------------------------

def main() -> None:
    if scale() != "district":
        print(f"(scale {scale()}: serving is measured on the demo district; the feed's size, "
              "not the district's, sets its cost)")
    instance = Path(tempfile.mkdtemp(prefix="jiedui-bench-serve-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIEDUI_")}
    env.update(JIEDUI_INSTANCE=str(instance), JIEDUI_SECRET_KEY="bench",
               JIEDUI_TRUSTED_PROXIES="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if os.environ.get("JIEDUI_BENCH_DATABASE_URL"):
        env["JIEDUI_DATABASE_URL"] = os.environ["JIEDUI_BENCH_DATABASE_URL"]
    os.environ.update({k: v for k, v in env.items() if k.startswith("JIEDUI_")})
    data = _prepare(instance)
    env["JIEDUI_BENCH_FLOOR_KEYS"] = ",".join(key for _role, key, _size in data["measured"])
    rows, loads = [], {}
    for kind in ("run", "serve"):
        port = free_port()
        process = _start(kind, env, port)
        try:
            rows += _single(kind, port, data)
            if LOAD_SECONDS > 0:  # 0: the single-client figures only
                loads[kind] = Load(port, data, LOAD_SECONDS).run()
        finally:
            stop(process, 30, signal.SIGTERM)
    database = "PostgreSQL" if os.environ.get("JIEDUI_BENCH_DATABASE_URL") else "SQLite"
    print_table(rows, f"serving ({database}, {os.cpu_count()} cores)")
    if not loads:
        return
    print(f"\n{CLIENTS} clients ({CLIENTS - PHONES} people browsing, 1–3 s between pages; "
          f"{PHONES} phones polling a feed every 2–5 s), {LOAD_SECONDS:.0f} s each:")
    print(f"{'server':<16} {'requests':>9} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>7} {'login p50 ms':>13}")
    for kind, load in loads.items():
        print(f"{'jiedui ' + kind:<16} {load['requests']:>9} {load['rate']:>7.1f} "
              f"{load['p50'] * 1000:>8.1f} {load['p95'] * 1000:>8.1f} {load['p99'] * 1000:>8.1f} "
              f"{load['errors']:>7} {load['login_p50'] * 1000:>13.0f}")
        print(f"  pages p50/p95 {load['pages_p50'] * 1000:.0f}/{load['pages_p95'] * 1000:.0f} ms; "
              f"feed polls p50/p95 {load['feeds_p50'] * 1000:.1f}/{load['feeds_p95'] * 1000:.1f} ms")
        print("  slowest pages (median ms, requests): " + ", ".join(
            f"{what} {median * 1000:.0f} ({count})" for median, what, count in load["slowest"]))
        if load["error_kinds"]:
            print(f"  errors: {', '.join(load['error_kinds'])}")


if __name__ == "__main__":
    main()
