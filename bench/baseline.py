"""The costs of issue 15's table that grow with the district, measured on the generated
world of ``JIEDUI_BENCH_SCALE`` (``python -m bench.baseline``; part of ``make bench``).

Run on main before the province-scale work, these are the "before" figures; the areas'
own modules (bench.planner, bench.publish, bench.serve, bench.pages) give the "after".
Each is a ratio against a baseline measured in the same run:

- plan a year (the next one, from scratch, in a process of its own: wall, CPU and peak RSS)
  against reading this year's events;
- re-plan one village against reading that village's events;
- one event changed, its feeds republished (the job's work) against rendering its lawyer's
  feed alone;
- the hourly republish of every feed against the bare SQL of every feed's events;
- the coordinator's home page, the quota page, the district's month and the task list
  against the login page; and the bytes of the task filter's village and lawyer lists.

What would take more than a few minutes at a scale (``SKIP``) is left out and said so.
"""
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("JIEDUI_INSTANCE", tempfile.mkdtemp(prefix="jiedui-bench-"))
os.environ.setdefault("JIEDUI_SECRET_KEY", "bench")

from bench import generate  # noqa: E402
from bench.harness import Row, Timing, database_name, print_table, scale, timed  # noqa: E402

# What the code before issue 15 cannot do in a few minutes at a scale (see the table).
SKIP = {
    "50x": {"change", "hourly"},
    "province": {"change", "hourly", "replan"},
}
SLOW = 20.0  # seconds: a page this slow is timed once
ROUNDS = {"tiny": 30, "district": 30, "10x": 10, "50x": 5, "province": 3}


def _once(seconds: float) -> Timing:
    return Timing(seconds, 0.0)


def plan_a_year(url: str, year: int) -> dict:
    """Plan ``year`` in a process of its own: its wall and CPU seconds and peak RSS."""
    done = subprocess.run([sys.executable, "-m", "bench.baseline", "--plan", url, str(year)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _plan_child(url: str, year: int) -> None:
    from core.db import db
    from core.planner import plan_year
    generate.open_world(url)
    with db.connection_context():
        wall, cpu = time.perf_counter(), time.process_time()
        summary = plan_year(year)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": peak, "created": summary["created"]}))


def _select_bytes(html: str, name: str) -> int:
    found = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    return len(found.group(0).encode()) if found else 0


def main() -> int:
    from core import clock
    from core.db import db
    from core.models import Event, Village
    size = scale()
    skip, rounds = SKIP.get(size, set()), ROUNDS.get(size, 5)
    started = time.perf_counter()
    url = generate.prepare(size)
    print(f"world {size} ready in {time.perf_counter() - started:.1f} s: {url}", flush=True)
    generate.open_world(url)
    db.connect(reuse_if_open=True)
    year = clock.today().year
    rows, notes = [], []
    try:
        from web import create_app
        app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
        client = app.test_client()
        client.post("/login", data={"username": generate.COORDINATOR,
                                    "password": generate.PASSWORD})
        pages = {"/home": "coordinator home page", "/calendar/quota": "quota page",
                 "/calendar/": "district month calendar", "/tasks/": "task list"}
        first = {}
        for path in pages:  # each page's first GET: its bytes, and the warm-up
            started_at = time.perf_counter()
            answer = client.get(path)
            first[path] = time.perf_counter() - started_at
            assert answer.status_code == 200, (path, answer.status_code)
            notes.append(f"{path}: {len(answer.data) / 1024:.0f} KiB")
            if path == "/tasks/":
                html = answer.get_data(as_text=True)
                notes.append(f"task filter lists: villages {_select_bytes(html, 'village') / 1024:.0f} "
                             f"KiB, lawyers {_select_bytes(html, 'lawyer') / 1024:.0f} KiB")
        login = timed(lambda: client.get("/login"), rounds=rounds)
        for path, name in pages.items():
            # a page that takes more than SLOW seconds is timed once (its first GET)
            measured = (_once(first[path]) if first[path] > SLOW
                        else timed(lambda: client.get(path), rounds=rounds, warmup=0))
            rows.append(Row(f"{name} {path} vs the login page", login, measured))

        # an event still to come (a change to it is published), and its village
        event = (Event.select().where((Event.starts_at > clock.now_utc())
                                      & (Event.kind == "session"))
                 .order_by(Event.starts_at, Event.id).first())
        village = Village.get_by_id(event.village_id)
        if "replan" not in skip:
            from core.planner import plan_year
            base = timed(lambda: list(Event.select().where(Event.village == village.id)),
                         rounds=rounds)
            rows.append(Row("re-plan one village vs reading its events", base,
                            timed(lambda: plan_year(year, villages=[village.id]),
                                  rounds=3, warmup=0)))
        else:
            notes.append("re-plan one village: skipped at this scale")

        from core.feeds import all_feed_keys, publish_all, publish_events, render_feed
        if "change" not in skip:
            base = timed(lambda: render_feed(f"lawyer:{event.lawyer_id}"), rounds=3)
            rows.append(Row("one event changed: its feeds republished vs its lawyer's render",
                            base, timed(lambda: publish_events([event.id]), rounds=3,
                                        warmup=1)))
        else:
            notes.append("one event changed, its feeds republished: skipped at this scale")

        if "hourly" not in skip:
            keys = sorted(all_feed_keys())

            def bare():
                for key in keys:
                    kind, _, value = key.partition(":")
                    query = Event.select(Event.id, Event.uid, Event.starts_at, Event.ends_at,
                                         Event.title, Event.status).join(Village)
                    if kind == "lawyer":
                        query = query.where(Event.lawyer == int(value))
                    elif kind == "town":
                        query = query.switch(Village).join_from(Village, Village.town.rel_model) \
                            .where(Village.town.rel_model.code == value)
                    elif kind == "village":
                        query = query.where(Village.code == value)
                    list(query.tuples())
            base = timed(bare, rounds=1)
            wall, cpu = time.perf_counter(), time.process_time()
            publish_all()  # the first publishes every feed: the hourly job's steady state after
            first = time.perf_counter() - wall
            wall, cpu = time.perf_counter(), time.process_time()
            publish_all()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rows.append(Row(f"hourly republish of all {len(keys)} feeds vs their bare SQL",
                            base, _once(wall)))
            notes.append(f"hourly republish: {cpu:.1f} s CPU ({cpu / len(keys) * 1000:.0f} ms a "
                         f"feed); the first publish of them all {first:.1f} s")
        else:
            notes.append("hourly republish of every feed: skipped at this scale")

        read_year = timed(lambda: list(Event.select().where(
            Event.plan_key.contains(f":{year}:")).tuples()), rounds=3)
        db.close()
        planned = plan_a_year(url, year + 1)
        rows.append(Row(f"plan a year ({planned['created']} events) vs reading this year's",
                        read_year, _once(planned["wall"])))
        notes.append(f"plan a year: {planned['wall']:.1f} s wall, {planned['cpu']:.1f} s CPU, "
                     f"peak RSS {planned['rss_mb']:.0f} MB")
    finally:
        db.close()
        generate.discard(url)
    print_table(rows, f"before: the costs that grow with the district ({database_name(url)})", notes)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--plan":
        _plan_child(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    sys.exit(main())
