"""Planning at scale (issue 15, "Planning that scales"): ``python -m bench.planner``.

On a generated world (``bench.generate.prepare``: this year planned, pairings running into
the next two years) it measures, in one run:

- planning next year (no event of it yet: what the December job does), wall and CPU, and
  the process's peak memory, against a bulk read of the events it made (every event of the
  year as the planner's model rows: the floor of anything that touches them all);
- planning that year again, nothing changed (every event checked, none written);
- re-planning one village (what a pairing change asks) against planning the year: it
  reads only that village's events and its lawyer's;
- renewing every village's term in one transaction (the burst an import or a renewal
  makes: one re-plan request per village) and then the one coalesced re-plan job, against
  planning the year.

``--quick``: only the planning of next year and the re-plan of one village (a province's
renewal of 26,000 terms through the service takes long). Scale from ``JIEDUI_BENCH_SCALE`` (district | 10x | 50x | province), the database from
``JIEDUI_BENCH_DATABASE_URL`` (a temporary SQLite copy when unset). Feeds and notices are
queued as jobs (a real SQLite queue, not run here): their costs are core.feeds' benchmarks.
"""
import datetime as dt
import os
import resource
import sys
import tempfile
import time

from bench.harness import Row, Timing, print_table, scale, timed


def _once(fn) -> tuple[Timing, float, object]:
    """(wall Timing, CPU seconds, result) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return (Timing(time.perf_counter() - wall, 0.0), time.process_time() - cpu, result)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    from bench.generate import discard, prepare
    started = time.perf_counter()
    url = prepare(scale(), writable=True)
    prepared = time.perf_counter() - started
    instance = tempfile.mkdtemp(prefix="jiedui-bench-planner-")
    os.environ.update(JIEDUI_INSTANCE=instance, JIEDUI_DATABASE_URL=url,
                      JIEDUI_QUEUE_URL=f"sqlite:///{instance}/queue.db",
                      JIEDUI_SECRET_KEY=os.environ.get("JIEDUI_SECRET_KEY", "bench"))
    from core import clock, jobs
    from core.app import setup
    from core.config import load_settings
    from core.db import db, transaction
    from core.models import Event, Pairing, ReplanRequest, Village
    from core.pairings import update_pairing
    from core.planner import plan_year

    setup(load_settings(), run_migrations=True)  # the world may predate a migration
    rows, notes = [], []
    try:
        with db.connection_context():
            year = clock.today().year + 1
            villages = Village.select().count()
            rss_before = _peak_mb()
            wall, cpu, summary = _once(lambda: plan_year(year))
            rss = _peak_mb()
            read = timed(lambda: list(Event.select().where(
                Event.plan_key.contains(f":{year}:"))), rounds=3, warmup=0)
            rows.append(Row(f"plan {year} ({villages} villages, {summary['created']} events) "
                            f"vs reading them", read, wall))
            notes.append(f"plan {year}: wall {wall.median:.1f} s, CPU {cpu:.1f} s, peak RSS "
                         f"{rss:.0f} MB (before {rss_before:.0f} MB), "
                         f"{len(summary['shortfalls'])} shortfalls")
            print(f"-- (so far) {notes[-1]}", file=sys.stderr, flush=True)
            one = Village.select().order_by(Village.code).offset(villages // 2).get()
            single = timed(lambda: plan_year(year, villages=[one.id]), rounds=5)
            rows.append(Row("re-plan one village vs plan the year", wall, single))
            if quick:
                return _report(rows, notes, prepared, db)
            again_wall, again_cpu, again = _once(lambda: plan_year(year))
            rows.append(Row(f"plan {year} again, nothing changed ({again['unchanged']} "
                            f"unchanged) vs reading them", read, again_wall))
            notes.append(f"plan {year} again: wall {again_wall.median:.1f} s, "
                         f"CPU {again_cpu:.1f} s")

            pairings = list(Pairing.select().where(Pairing.status == "active"))
            renew_wall, renew_cpu, _ = _once(lambda: _renew(pairings, update_pairing,
                                                            transaction))
            waiting = ReplanRequest.select().count()
            job_wall, job_cpu, done = _once(lambda: jobs.replan_requested.call_local())
            rows.append(Row(f"renew every term ({len(pairings)} changes) vs plan the year",
                            wall, renew_wall))
            rows.append(Row(f"…its coalesced re-plan ({waiting} requests, {len(done)} "
                            f"passes) vs plan the year", wall, job_wall))
            notes.append(f"renewal: the changes {renew_wall.median:.1f} s wall "
                         f"({renew_cpu:.1f} s CPU); the re-plan job {job_wall.median:.1f} s wall "
                         f"({job_cpu:.1f} s CPU); requests left {ReplanRequest.select().count()}")
    finally:
        db.close()
        discard(url)
    return _report(rows, notes, prepared, db)


def _report(rows, notes, prepared, db) -> int:
    print_table(rows, "planning")
    print(f"-- {db.obj.__class__.__name__}, world prepared in {prepared:.0f} s")
    for note in notes:
        print(f"-- {note}", flush=True)
    return 0


def _renew(pairings, update_pairing, transaction) -> None:
    """Every active pairing's term one year longer, in one transaction (an import)."""
    with transaction():
        for pairing in pairings:
            end = pairing.term_end
            update_pairing(None, pairing, term_start=pairing.term_start,
                           term_end=end.replace(year=end.year + 1) if not (
                               end.month == 2 and end.day == 29) else end + dt.timedelta(365))


if __name__ == "__main__":
    sys.exit(main())
