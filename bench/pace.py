"""Who is behind pace, from the kept figures (``core.pace_tally``): the desk, the list and
its counts against the reference way (every village's quota worked out, every held event
counted: ``core.assessment._pairings`` and ``_held_events``, what ``behind_pace`` did before
the figures were kept), and what keeping them costs (one village's refresh after a change,
the hourly repair of everything).

``python -m bench.pace`` on the generated world of ``JIEDUI_BENCH_SCALE`` (a writable copy,
migrated: the migration fills the table; its time is printed); ``JIEDUI_BENCH_ROUNDS``
rounds each (5). The reference runs once (tens of seconds at province).
"""
import datetime as dt
import os
import sys
import tempfile
import time

os.environ.setdefault("JIEDUI_INSTANCE", tempfile.mkdtemp(prefix="jiedui-bench-pace-"))
os.environ.setdefault("JIEDUI_SECRET_KEY", "bench")

from bench.harness import Row, Timing, print_table, timed  # noqa: E402

ROUNDS = int(os.environ.get("JIEDUI_BENCH_ROUNDS", "5"))


def reference(year: int, today: dt.date, user) -> int:
    """How many pairings are behind, the slow way (the product's old path)."""
    from core import clock
    from core.assessment import Figures, _count_events, _held_events, _pairings
    from core.config import get_settings
    from core.pace import quota_due, term_share
    owned = _pairings(year, user, active_only=True)
    until = clock.utc_from_local(today + dt.timedelta(days=1), dt.time())
    held = {pairing_id: Figures() for pairing_id in owned}
    for pairing_id, events in _held_events(year, list(owned), until).items():
        _count_events(held[pairing_id], events, get_settings().min_session_hours)
    behind = 0
    for pairing_id, (pairing, quota) in owned.items():
        share = term_share(pairing.term_start, pairing.term_end, year, today)
        figures = held[pairing_id]
        behind += (figures.sessions_held < quota_due(quota.sessions, share)
                   or figures.publicity_held < quota_due(quota.publicity, share))
    return behind


def main() -> int:
    from bench import generate
    from bench.harness import scale
    url = generate.prepare(scale(), writable=True)
    generate.open_world(url)
    from core import assessment, clock, desk, pace_tally
    from core.db import db, migrate
    from core.models import Pairing, User
    try:
        with db.connection_context():
            started = time.perf_counter()
            applied = migrate()
            print(f"migrated {applied} in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr, flush=True)
            user = User.get(User.username == generate.COORDINATOR)
            now = clock.now_utc()
            today, year = clock.local_date(now), clock.local_date(now).year
            started = time.perf_counter()
            slow = reference(year, today, user)
            slow_timing = Timing(time.perf_counter() - started, 0.0)
            kept = assessment.count_behind(year, today, user)
            assert kept == slow, (kept, slow)
            village = Pairing.select(Pairing.village).first().village_id
            rows = [
                Row("behind pace counted: kept figures vs every pairing worked out",
                    slow_timing, timed(lambda: assessment.count_behind(year, today, user),
                                       rounds=ROUNDS)),
                Row("the desk's groups (behind_counts) vs the reference", slow_timing,
                    timed(lambda: assessment.behind_counts(year, today, user), rounds=ROUNDS)),
                Row("the five most behind vs the reference", slow_timing,
                    timed(lambda: assessment.behind_pace(year, today, user, most_behind=5),
                          rounds=ROUNDS)),
                Row("a page of 50 behind vs the reference", slow_timing,
                    timed(lambda: assessment.behind_pace(year, today, user, offset=1000,
                                                         limit=50), rounds=ROUNDS)),
                Row("the whole desk (core.desk.desk) vs the reference", slow_timing,
                    timed(lambda: desk.desk(user, now), rounds=ROUNDS)),
                Row("one village's refresh (after a change) vs the reference", slow_timing,
                    timed(lambda: pace_tally.refresh(village_ids=[village]), rounds=ROUNDS)),
                Row("the hourly repair (nothing to repair) vs the reference", slow_timing,
                    timed(pace_tally.rebuild, rounds=1, warmup=0)),
            ]
            print_table(rows, "behind pace from the kept figures",
                        notes=[f"{kept} pairings behind pace on {today} (both ways)"])
    finally:
        generate.discard(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
