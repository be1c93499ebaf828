"""Benchmarks: `make bench` (or `python -m bench`). Each compares against a baseline in the
same run and reports the ratio, because absolute times on a shared machine are noise.

First the foundation's benchmarks below (a temporary instance with the demo district; set
JIEDUI_BENCH_DATABASE_URL to run against PostgreSQL instead of SQLite), then every area's
module of ``AREAS`` that exists (``bench/<area>.py``, each run as ``python -m bench.<area>``
in a process of its own, on the generated world of ``JIEDUI_BENCH_SCALE``:
``make bench SCALE=province``). ``python -m bench planner serve`` runs only those areas.
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["JIEDUI_INSTANCE"] = tempfile.mkdtemp(prefix="jiedui-bench-")
os.environ.setdefault("JIEDUI_SECRET_KEY", "bench")

from bench.harness import Row, print_table, scale, timed  # noqa: E402
from core.db import db, migrate, open_database  # noqa: E402
from core.models import ALL_MODELS, Lawyer, User, Village  # noqa: E402

# The areas' modules, in the order they run; those not (yet) written are skipped.
AREAS = ("baseline", "planner", "publish", "serve", "pages", "pace", "scaleout", "radicale")


def naive_coverage(user):
    """The obvious loop a view might write: one query per village for its lawyer and firm."""
    from core.access import village_filter
    from core.pairings import active_pairing
    rows = []
    for village in Village.select().where(village_filter(user)).order_by(Village.code):
        pairing = active_pairing(village)
        lawyer = pairing.lawyer if pairing else None
        rows.append((village.town.name, village.name, lawyer and lawyer.name,
                     lawyer and lawyer.firm.name))
    return rows


def bench_coverage(coordinator):
    from core.coverage import coverage
    baseline = timed(lambda: naive_coverage(coordinator))
    measured = timed(lambda: coverage(coordinator))
    return "coverage(): one query vs a query per village", baseline, measured


def bench_coverage_page(client):
    baseline = timed(lambda: client.get("/login"))
    measured = timed(lambda: client.get("/coverage"))
    return "coverage page (131 villages) vs the login page", baseline, measured


def bench_lawyer_list(client):
    baseline = timed(lambda: client.get("/login"))
    measured = timed(lambda: client.get("/lawyers/"))
    return "lawyer list (25 of 45, with counts) vs the login page", baseline, measured


def bench_feed_render(lawyer_user):
    """The demo lawyer's feed (a year of sessions and tasks), with the VTIMEZONE built
    afresh each time (the baseline: icalendar's add_missing_timezones) and from the cache."""
    from core.feeds import _timezone, feed_key_for, render_feed
    key = feed_key_for(lawyer_user)

    def uncached():
        _timezone.cache_clear()
        return render_feed(key)
    baseline = timed(uncached)
    measured = timed(lambda: render_feed(key))
    return "lawyer feed render: cached VTIMEZONE vs built each time", baseline, measured


def bench_feeds_of_a_change():
    """Which feeds one moved event must republish: the hand-over rows (EventHandover, one
    indexed query) against the earlier way, which read every stored lawyer feed for the
    event's UID (a cost that grows with the district)."""
    import re

    from core.feeds import keys_for_events, publish_keys
    from core.models import Event, FeedSnapshot, Lawyer, Town, Village
    publish_keys([f"lawyer:{lawyer.id}" for lawyer in Lawyer.select()])  # as in a district
    event = Event.select().where(Event.kind == "session").order_by(Event.id).first()

    def scanning():  # the earlier keys_for_events
        found = list(Event.select(Event.id, Event.uid, Event.kind, Event.lawyer, Village.code,
                                  Town.code.alias("town_code"))
                     .join(Village).join(Town).where(Event.id.in_([event.id])).objects())
        keys = {"district"} | {f"town:{e.town_code}" for e in found}
        keys |= {f"lawyer:{e.lawyer_id}" for e in found} | {f"village:{e.code}" for e in found}
        wanted = {e.uid.encode() for e in found}
        for key, body in (FeedSnapshot.select(FeedSnapshot.key, FeedSnapshot.body)
                          .where(FeedSnapshot.key.startswith("lawyer:")).tuples()):
            if set(re.findall(rb"\r\nUID:([^\r\n]*)", bytes(body))) & wanted:
                keys.add(key)
        return keys
    assert scanning() == keys_for_events([event.id])  # the same feeds, found two ways
    baseline = timed(scanning, rounds=10)
    measured = timed(lambda: keys_for_events([event.id]))
    return "feeds of one changed event: hand-overs vs scanning feeds", baseline, measured


def bench_publish_lawyer_feed(lawyer_user):
    """Publishing a lawyer's feed as the job does (the shown-content pass that bumps changed
    events, the render, the gzip copy) against rendering it alone."""
    from core.feeds import feed_key_for, publish, render_feed
    key = feed_key_for(lawyer_user)
    baseline = timed(lambda: render_feed(key))
    measured = timed(lambda: publish(key))
    return "lawyer feed publish (shown pass, gzip) vs render alone", baseline, measured


def foundation() -> None:
    url = os.environ.get("JIEDUI_BENCH_DATABASE_URL")
    database = open_database(url or f"sqlite:///{os.environ['JIEDUI_INSTANCE']}/bench.db")
    if url:
        with db.connection_context():
            database.drop_tables(ALL_MODELS, cascade=True)
            database.execute_sql("DROP TABLE IF EXISTS schema_migration")
    migrate()
    from core import queue, users
    from core.config import get_settings
    queue.configure(get_settings())  # jobs are queued (in the instance), not run
    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    from core.demo import DEMO_LOGINS, load_demo
    started = time.perf_counter()
    with db.connection_context():
        load_demo()
    print(f"demo district loaded in {time.perf_counter() - started:.2f} s "
          f"({'PostgreSQL' if url else 'SQLite'})")

    from web import create_app
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    username, password = DEMO_LOGINS["coordinator"]
    client.post("/login", data={"username": username, "password": password})
    for path in ("/coverage", "/lawyers/"):  # the real pages, not a redirect to the login
        assert client.get(path).status_code == 200, path
    with db.connection_context():
        coordinator = User.get(User.username == username)
        results = [bench_coverage(coordinator)]
        assert Lawyer.select().count() > 25
        lawyer_user = User.get(User.username == DEMO_LOGINS["lawyer"][0])
        results.append(bench_feed_render(lawyer_user))
        results.append(bench_publish_lawyer_feed(lawyer_user))
        results.append(bench_feeds_of_a_change())
    results += [bench_coverage_page(client), bench_lawyer_list(client)]
    print_table([Row(name, baseline, measured) for name, baseline, measured in results],
                "foundation (the demo district)")


def areas(wanted=()) -> list[str]:
    here = Path(__file__).resolve().parent
    return [area for area in AREAS if (here / f"{area}.py").exists()
            and (not wanted or area in wanted)]


def main(argv=None) -> int:
    wanted = tuple(sys.argv[1:] if argv is None else argv)
    if not wanted:
        foundation()
    failed = []
    for area in areas(wanted):
        print(f"\n== bench.{area} (scale {scale()})", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", f"bench.{area}"],
                              env=dict(os.environ, JIEDUI_BENCH_SCALE=scale()))
        print(f"(bench.{area}: {time.perf_counter() - started:.0f} s)", flush=True)
        if done.returncode:
            failed.append(area)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
