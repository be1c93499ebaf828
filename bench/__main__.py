"""Benchmarks: `make bench` (or `python -m bench`). Each compares against a baseline in the
same run and reports the ratio, because absolute times on a shared machine are noise.

Uses a temporary instance with the demo district; set JIEDUI_BENCH_DATABASE_URL to run
against PostgreSQL instead of SQLite.
"""
import os
import statistics
import sys
import tempfile
import time

os.environ["JIEDUI_INSTANCE"] = tempfile.mkdtemp(prefix="jiedui-bench-")
os.environ.setdefault("JIEDUI_SECRET_KEY", "bench")

from core.db import db, migrate, open_database  # noqa: E402
from core.models import ALL_MODELS, Lawyer, User, Village  # noqa: E402

ROUNDS = 30


def timed(fn, rounds=ROUNDS) -> float:
    """Median seconds of ``rounds`` calls, after one warm-up call."""
    fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


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
    measured = timed(lambda: client.get("/"))
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


def main():
    url = os.environ.get("JIEDUI_BENCH_DATABASE_URL")
    database = open_database(url or f"sqlite:///{os.environ['JIEDUI_INSTANCE']}/bench.db")
    if url:
        with db.connection_context():
            database.drop_tables(ALL_MODELS, cascade=True)
            database.execute_sql("DROP TABLE IF EXISTS schema_migration")
    migrate()
    from core import users
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
    for path in ("/", "/lawyers/"):  # measure the real pages, not a redirect to the login
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

    print(f"{'benchmark':<58} {'baseline ms':>11} {'measured ms':>11} {'ratio':>7}")
    for name, baseline, measured in results:
        print(f"{name:<58} {baseline * 1000:>11.2f} {measured * 1000:>11.2f} "
              f"{measured / baseline:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
