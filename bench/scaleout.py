"""Scale-out: several consumers on one Redis queue (``python -m bench.scaleout``).

- A batch of jobs run by two ``jiedui worker`` processes against the same batch run by one:
  the ratio is what a second consumer buys (0.5 when they share the work evenly). The
  jobs wait (``core.jobs.whoami`` with a pause, like a job waiting on the database or a
  mail server), so the figure is about sharing the queue, not about this machine's cores.
- The scheduler's look at the periodic jobs each minute, with the per-minute claim that
  keeps them to one per tick however many consumers run, against huey's own (no claim).

Redis: ``JIEDUI_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/13``; the queue named
"jiedui" in it is emptied before and after). The workers' database is a temporary SQLite
file (the jobs measured do not touch it).
"""
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from huey.consumer import Scheduler

from bench.harness import Row, print_table, timed
from core.config import load_settings
from core.jobs import whoami
from core.queue import OncePerTickScheduler, make_huey

REDIS_URL = os.environ.get("JIEDUI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
JIEDUI = str(Path(sys.executable).parent / "jiedui")
JOBS, PAUSE, ROUNDS = 32, 0.05, 3


def _settings(instance: Path):
    return load_settings({"JIEDUI_INSTANCE": str(instance), "JIEDUI_SECRET_KEY": "bench",
                          "JIEDUI_QUEUE_URL": REDIS_URL})


def _workers(instance: Path, count: int) -> list[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIEDUI_")}
    started = []
    for number in range(count):
        env.update(JIEDUI_INSTANCE=str(instance / f"w{number}"), JIEDUI_QUEUE_URL=REDIS_URL,
                   JIEDUI_SECRET_KEY="bench",
                   JIEDUI_DATABASE_URL=f"sqlite:///{instance / 'bench.db'}")
        started.append(subprocess.Popen([JIEDUI, "worker", "--workers", "1", "--no-periodic"],
                                        env=dict(env), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
    return started


def _batch(remote) -> None:
    results = [remote(PAUSE) for _ in range(JOBS)]
    for result in results:
        result.get(blocking=True, timeout=120)


def _consumers_timing(instance: Path, remote, count: int):
    processes = _workers(instance, count)
    try:
        remote(0.0).get(blocking=True, timeout=120)  # every worker up (the first answers)
        time.sleep(2)
        return timed(lambda: _batch(remote), rounds=ROUNDS, warmup=1)
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            process.wait(timeout=60)


def _scheduler_timing(huey, scheduler_class):
    scheduler = scheduler_class(huey, threading.Event(), 1, True)
    minutes = iter(range(10**6))
    start = dt.datetime(2026, 1, 1)

    def look():  # a new minute each time: each look queues the due jobs, as every minute
        scheduler.enqueue_periodic_tasks(start + dt.timedelta(minutes=next(minutes)))
    try:
        return timed(look, rounds=200)
    finally:
        huey.flush()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jiedui-bench-scaleout-") as folder:
        instance = Path(folder)
        huey = make_huey(_settings(instance))
        huey.flush()
        remote = huey.task()(whoami)
        try:
            one = _consumers_timing(instance, remote, 1)
            two = _consumers_timing(instance, remote, 2)
        finally:
            huey.flush()
        periodic = make_huey(_settings(instance))
        for name in ("every_minute", "deliveries", "escalations"):
            periodic.periodic_task(lambda timestamp: True, name=name)(lambda: None)
        plain = _scheduler_timing(periodic, Scheduler)
        claimed = _scheduler_timing(periodic, OncePerTickScheduler)
    print_table([
        Row(f"{JOBS} jobs of {PAUSE * 1000:.0f} ms on 2 consumers (baseline: 1 consumer)",
            one, two),
        Row("the scheduler's minute, claim per periodic job (baseline: huey's)",
            plain, claimed),
    ], "scale-out: consumers sharing a Redis queue")


if __name__ == "__main__":
    main()
