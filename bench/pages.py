"""Pages that stay fast at scale: each coordinator page against its bare SQL and against the
login page, with its size.

``python -m bench.pages`` on the generated world (``bench.generate.prepare``) of
``JIEDUI_BENCH_SCALE`` (district, 10x, 50x, province), in SQLite or, with
``JIEDUI_BENCH_DATABASE_URL``, PostgreSQL; ``JIEDUI_BENCH_ROUNDS`` rounds each (10);
``JIEDUI_BENCH_PAGES`` the paths to measure, separated by commas (every page of ``PAGES``
by default); ``JIEDUI_BENCH_SLOWEST=N`` prints each page's N slowest statements (where a
page's time goes).

The bare SQL of a page is the statements the page itself ran (recorded during one request:
the session, the user, the page's queries), executed alone on the same connection and
fetched to the last row — what the page would cost if rendering were free. The ratio is
the page's overhead over its own queries; the size says what it sends.
"""
import os
import sys
import tempfile
import time

os.environ.setdefault("JIEDUI_INSTANCE", tempfile.mkdtemp(prefix="jiedui-bench-pages-"))
os.environ.setdefault("JIEDUI_SECRET_KEY", "bench")

from bench.harness import Row, print_table, scale, timed  # noqa: E402

ROUNDS = int(os.environ.get("JIEDUI_BENCH_ROUNDS", "10"))
SLOWEST = int(os.environ.get("JIEDUI_BENCH_SLOWEST", "0"))

PAGES = (
    ("/home", "coordinator desk"),
    ("/coverage", "coverage"),
    ("/villages/", "villages list"),
    ("/lawyers/", "lawyers list"),
    ("/tasks/", "tasks list (with its filter)"),
    ("/calendar/quota", "quota page"),
    ("/calendar/quota?behind=1", "quota page, only behind pace"),
    ("/assessment/behind", "pairings behind pace"),
    ("/calendar/", "district month"),
    ("/programmes/", "programmes at a glance"),
    ("/programmes/family_visits", "one programme"),
    ("/programmes/rural_enterprises", "the programme of most tasks"),
    ("/programmes/charts", "programme charts"),
    ("/programmes/charts/towns", "towns compared (table)"),
)


def chosen_pages() -> tuple:
    """``PAGES``, or those ``JIEDUI_BENCH_PAGES`` names (a path not in PAGES is measured
    under its own path)."""
    wanted = [p.strip() for p in os.environ.get("JIEDUI_BENCH_PAGES", "").split(",") if p.strip()]
    if not wanted:
        return PAGES
    names = dict(PAGES)
    return tuple((path, names.get(path, path)) for path in wanted)


def _world() -> tuple[str, str, str]:
    """The database URL of the generated world of the scale (a writable copy: the pages
    write sessions), its district coordinator's login and password."""
    from bench import generate
    url = generate.prepare(scale(), writable=True)
    generate.open_world(url)
    from core.db import db, migrate
    with db.connection_context():
        started = time.perf_counter()
        applied = migrate()  # this branch's indexes on the cached world's copy
        print(f"migrated {applied} in {time.perf_counter() - started:.1f} s", file=sys.stderr,
              flush=True)
    return url, generate.COORDINATOR, generate.PASSWORD


class Recorder:
    """The statements the database runs while ``on``."""

    def __init__(self, database):
        self.database = database
        self.statements: list[tuple[str, tuple]] = []
        self.on = False
        original = database.execute_sql

        def execute_sql(sql, params=None, *args, **kwargs):
            if self.on:
                self.statements.append((sql, tuple(params or ())))
            return original(sql, params, *args, **kwargs)
        database.execute_sql = execute_sql
        self.original = original

    def record(self, fn):
        self.statements, self.on = [], True
        try:
            fn()
        finally:
            self.on = False
        return list(self.statements)

    def replay(self, statements):
        """Run ``statements`` alone, fetching every row (reads only: writes are skipped)."""
        def run():
            for sql, params in _reads(statements):
                self.original(sql, params).fetchall()
        return run

    def slowest(self, statements, count: int) -> list[tuple[float, str]]:
        """The ``count`` slowest reads of ``statements`` (ms, the SQL's start), run once."""
        times = []
        for sql, params in _reads(statements):
            started = time.perf_counter()
            self.original(sql, params).fetchall()
            times.append(((time.perf_counter() - started) * 1000, " ".join(sql.split())[:160]))
        return sorted(times, reverse=True)[:count]


def _reads(statements):
    # a compound query starts "(SELECT" on PostgreSQL (peewee parenthesises its parts there,
    # not on SQLite)
    return [(sql, params) for sql, params in statements
            if sql.lstrip(" (").upper().startswith(("SELECT", "WITH"))]


def main() -> int:
    from bench import generate
    url, username, password = _world()
    os.environ["JIEDUI_DATABASE_URL"] = url
    from core.db import db
    from web import create_app
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    answer = client.post("/login", data={"username": username, "password": password})
    assert answer.status_code in (302, 303), answer.status_code
    recorder = Recorder(db.obj)
    login_client = app.test_client()
    login_page = timed(lambda: login_client.get("/login"), rounds=ROUNDS)
    rows, sizes = [], []
    for path, name in chosen_pages():
        response = client.get(path)
        if response.status_code != 200:
            print(f"{path}: {response.status_code}, left out")
            continue
        statements = recorder.record(lambda: client.get(path))
        with app.app_context(), db.connection_context():
            bare = timed(recorder.replay(statements), rounds=ROUNDS)
            for ms, sql in recorder.slowest(statements, SLOWEST):
                print(f"  {path}: {ms:7.1f} ms  {sql}", file=sys.stderr, flush=True)
        page = timed(lambda: client.get(path), rounds=ROUNDS)
        size = len(response.data) / 1024
        rows.append(Row(f"{name} {path} ({len(statements)} q, {size:.0f} KiB) vs bare SQL",
                        bare, page))
        rows.append(Row(f"{name} {path} vs the login page", login_page, page))
        sizes.append((path, size))
        print(f"measured {path}: {page.median * 1000:.0f} ms, {size:.0f} KiB", file=sys.stderr,
              flush=True)
    print_table(rows, "pages: each against its own SQL and the login page")
    generate.discard(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
