"""Publishing the feeds at scale (``python -m bench.publish``; part of ``make bench``), on the
generated world of ``JIEDUI_BENCH_SCALE``:

- one event changed, its feeds republished as the job does (``mark_dirty`` then
  ``publish_dirty``: its lawyer's, village's, town's and the district's feed) against
  rendering its lawyer's feed;
- the hourly job (``catch_up``) an hour later with nothing changed but the clock (only the
  feeds whose window crossed an event are rendered) against rendering one lawyer's feed;
- rendering a lawyer's feed (its VEVENT texts serialised already, and afresh) against the
  bare SQL of its events;
- the district feed's size, and the largest town feed's.

Before (``bench.baseline`` on main): one change 1.6 s CPU on the demo, 15.7 s at 10x; the
hourly republish of every feed 6.1 s (demo), 66 s at 10x.
"""
import datetime as dt
import os
import sys
import tempfile
import time

os.environ.setdefault("JIEDUI_INSTANCE", tempfile.mkdtemp(prefix="jiedui-bench-"))
os.environ.setdefault("JIEDUI_SECRET_KEY", "bench")

from bench import generate  # noqa: E402
from bench.harness import Row, Timing, database_name, print_table, scale, timed  # noqa: E402

ROUNDS = {"tiny": 20, "district": 20, "10x": 10, "50x": 5, "province": 3}


def _once(seconds: float) -> Timing:
    return Timing(seconds, 0.0)


def main() -> int:
    from core import clock, feeds
    from core.db import db, migrate, open_database
    from core.models import Event, FeedSnapshot
    size = scale()
    rounds = ROUNDS.get(size, 5)
    started = time.perf_counter()
    url = generate.prepare(size)
    print(f"world {size} ready in {time.perf_counter() - started:.1f} s: {url}", flush=True)
    open_database(url)
    migrate()
    db.connect(reuse_if_open=True)
    rows, notes = [], []
    real_now = clock.now_utc
    try:
        # the first catch-up publishes every feed worth keeping fresh (published or with a
        # token): the steady state the hourly job keeps after
        wall, cpu = time.perf_counter(), time.process_time()
        first = feeds.catch_up()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        notes.append(f"first publication of all {len(first)} feeds: {wall:.1f} s wall, "
                     f"{cpu:.1f} s CPU ({cpu / max(len(first), 1) * 1000:.1f} ms CPU a feed)")

        event = (Event.select().where((Event.starts_at > clock.now_utc() + dt.timedelta(days=1))
                                      & (Event.kind == "session")
                                      & Event.lawyer.is_null(False))
                 .order_by(Event.starts_at, Event.id).first())
        lawyer_key = f"lawyer:{event.lawyer_id}"
        for key in feeds.keys_for_events([event.id]):
            feeds.publish(key)  # every feed of the event is published (has a snapshot)

        def bare():
            now = clock.now_utc()
            return list(Event.select(Event.id, Event.uid, Event.starts_at, Event.ends_at,
                                     Event.status, Event.sequence)
                        .where(feeds._shown(now) & (Event.lawyer == event.lawyer_id)).tuples())
        render = timed(lambda: feeds.render_feed(lawyer_key), rounds=rounds)

        marked = []

        def change():  # a service's change: SEQUENCE bumped, then the reaction and the job
            Event.update(sequence=Event.sequence + 1, updated_at=clock.now_utc()).where(
                Event.id == event.id).execute()
            marked.append(len(feeds.mark_dirty([event.id])))
            feeds.publish_dirty()
        cpu = time.process_time()
        changed = timed(change, rounds=rounds)
        cpu = (time.process_time() - cpu) / (rounds + 1)
        rows.append(Row("one event changed: its feeds republished vs its lawyer's render",
                        render, changed))
        notes.append(f"one change: {marked[-1]} feeds re-rendered, {cpu * 1000:.0f} ms CPU")

        hours = [0]
        rendered = []

        def an_hour_later():
            hours[0] += 1
            moved = real_now() + dt.timedelta(hours=hours[0])
            clock.now_utc = lambda: moved
            try:
                rendered.append(len(feeds.catch_up(now=moved)))
            finally:
                clock.now_utc = real_now
        cpu = time.process_time()
        hourly = timed(an_hour_later, rounds=rounds)
        cpu = (time.process_time() - cpu) / (rounds + 1)
        rows.append(Row("the hourly job, nothing changed but the clock, vs one lawyer render",
                        render, hourly))
        notes.append(f"hourly catch-up: {min(rendered)}–{max(rendered)} feeds rendered an hour "
                     f"(windows crossing events), {cpu * 1000:.0f} ms CPU")

        rows.append(Row("lawyer feed render (VEVENT texts shared) vs its bare SQL",
                        timed(bare, rounds=rounds), render))

        def cold():
            feeds._blocks.clear()
            return feeds.render_feed(lawyer_key)
        rows.append(Row("lawyer feed render (VEVENT texts afresh) vs its bare SQL",
                        timed(bare, rounds=rounds), timed(cold, rounds=rounds)))

        district = bytes(feeds.publish("district").body)
        biggest = max(((len(bytes(body)), key) for key, body in FeedSnapshot.select(
            FeedSnapshot.key, FeedSnapshot.body).tuples()), default=(0, ""))
        notes.append(f"district feed: {len(district) / 1024:.0f} KiB, "
                     f"{district.count(b'BEGIN:VEVENT')} events; the largest feed: "
                     f"{biggest[1]} {biggest[0] / 1024:.0f} KiB")
    finally:
        clock.now_utc = real_now
        db.close()
        generate.discard(url)
    print_table(rows, f"publishing the feeds ({database_name(url)})", notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
