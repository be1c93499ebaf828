"""A real job consumer (``jiedui worker``) killed with SIGKILL in the middle of planning
or publishing, then started again: no duplicate events, no run "running" for ever, no
lock left behind, no half-written feed. The test process and the consumers share the
test database (SQLite file or PostgreSQL) and a queue: Redis when ``JIEDUI_TEST_REDIS_URL``
is set (the PostgreSQL pass), else a SQLite queue file."""
import hashlib
import os
import signal
from contextlib import ExitStack

import pytest
from icalendar import Calendar

from core import clock, jobs, queue
from core.config import get_settings
from core.db import db
from core.demo import load_demo
from core.feeds import publish
from core.models import Event, FeedSnapshot, Lawyer, PlanRun, Shortfall, Town
from core.planner import plan_year
from core.queue import huey
from tests.consumer_support import TEST_REDIS_URL, redis_database, start_worker, wait_for
from tests.processes import stop

pytestmark = pytest.mark.slow
PG_URL = os.environ.get("JIEDUI_TEST_DATABASE_URL")


@pytest.fixture
def demo(database):
    load_demo(plan=False)  # committed: the consumers read it from their own connections
    return clock.today().year


@pytest.fixture
def real_queue(demo, monkeypatch):
    """huey as in production: jobs go to the queue (Redis, or the queue file), a consumer
    process runs them."""
    with ExitStack() as held:
        if TEST_REDIS_URL:
            held.enter_context(redis_database(TEST_REDIS_URL))
            monkeypatch.setenv("JIEDUI_QUEUE_URL", TEST_REDIS_URL)
        huey.immediate = False
        queue.configure(get_settings())  # the queue the consumers read
        huey.storage.flush_all()
        yield huey
        huey.storage.flush_all()
        huey.immediate = True


@pytest.fixture
def consumers(tmp_path, real_queue):
    started = []

    def start():
        url = PG_URL or f"sqlite:///{db.obj.database}"
        env = dict(os.environ, JIEDUI_INSTANCE=str(tmp_path / "consumer"),
                   JIEDUI_DATABASE_URL=url, JIEDUI_QUEUE_URL=get_settings().queue_url,
                   JIEDUI_SECRET_KEY="k", PYTHONUNBUFFERED="1")
        env.pop("JIEDUI_TEST_DATABASE_URL", None)
        process = start_worker(tmp_path / f"consumer-{len(started)}.log", env,
                               "--workers", "2", "--no-periodic")
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process, 30, signal.SIGTERM)


def fresh(run_id: int) -> PlanRun:
    db.close()  # a new connection: a new snapshot of what the consumer committed
    db.connect()
    return PlanRun.get_by_id(run_id)


def kill(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def plan_keys() -> list[str]:
    return [key for (key,) in Event.select(Event.plan_key)
            .where(Event.plan_key.is_null(False)).order_by(Event.plan_key).tuples()]


def killed_midway(demo, consumers, attempts: int = 3) -> PlanRun:
    """A planning run whose consumer was killed while it ran (what the planning page's
    button starts). The demo's 131 villages plan in about a second: on a busy machine the
    run can finish before the kill, and then it is started again (a second planning of
    the year checks every village again)."""
    for _attempt in range(attempts):
        first = consumers()
        run = jobs.start_plan_run(demo)
        wait_for(lambda: (lambda now: now.done >= 20 or now.status in ("done", "failed"))(
            fresh(run.id)), what="planning progress")
        kill(first)
        stranded = fresh(run.id)
        if stranded.status == "running":
            return stranded
    raise AssertionError(f"the planning finished before its consumer could be killed, "
                         f"{attempts} times")


def test_planning_killed_midway_is_finished_by_the_next_run_without_duplicates(
        demo, consumers):
    killed = killed_midway(demo, consumers)
    assert killed.done >= 20  # killed while it ran: its villages written so far stay
    assert 0 < Event.select().count()

    second = consumers()  # a new consumer marks the stranded run as interrupted as it starts
    interrupted = wait_for(lambda: (lambda run: run.status == "failed" and run)(
        fresh(killed.id)), what="the stranded run to be marked failed")
    assert interrupted.summary["interrupted"] is True
    assert "job consumer stopped" in interrupted.summary["error"]
    again = jobs.start_plan_run(demo)  # the user plans again; the killed lock is gone
    done = wait_for(lambda: (lambda run: run.status in ("done", "failed") and run)(
        fresh(again.id)), timeout=120, what="the second planning")
    assert done.status == "done", done.summary

    keys = plan_keys()
    assert len(keys) == len(set(keys))  # nothing planned twice
    assert PlanRun.select().where(PlanRun.status == "running").count() == 0
    # The same data planned from scratch gives the same events (the consumer stopped first:
    # what it still runs after the run — feeds, the killed run's leftover jobs — would
    # otherwise write events while they are deleted here).
    stop(second, 30, signal.SIGTERM)
    Shortfall.delete().execute()
    Event.delete().execute()
    plan_year(demo)
    assert plan_keys() == keys


def test_publishing_killed_midway_leaves_whole_feeds_and_the_rerun_publishes_the_rest(
        demo, consumers):
    plan_year(demo)
    keys = (["district"] + [f"town:{code}" for (code,) in Town.select(Town.code).tuples()]
            + [f"lawyer:{lawyer_id}" for (lawyer_id,) in Lawyer.select(Lawyer.id).tuples()])
    a_year_ago = clock.now_utc().replace(year=demo - 1)
    old = {}

    def republished():
        db.close()
        db.connect()
        return sum(1 for key, etag in FeedSnapshot.select(FeedSnapshot.key, FeedSnapshot.etag)
                   .tuples() if etag != old[key])

    # The hourly job publishes the demo's feeds in about a second: on a busy machine it can
    # finish before the kill, and then the feeds are made old again and it runs again.
    for _attempt in range(3):
        for key in keys:  # published a year ago: every feed has changed since
            publish(key, now=a_year_ago)
        old.update(FeedSnapshot.select(FeedSnapshot.key, FeedSnapshot.etag).tuples())
        huey.storage.flush_all()  # the planning's own publish jobs: not this test's
        first = consumers()
        jobs.republish_all_feeds()  # the hourly job
        wait_for(lambda: republished() >= 5, what="some feeds republished")
        kill(first)
        if republished() < len(keys):
            break  # killed midway
    else:
        raise AssertionError("the feeds were all published before the consumer was killed")

    for snapshot in FeedSnapshot.select():  # each feed is whole: the old one or the new
        body = bytes(snapshot.body)
        assert snapshot.etag == f'"{hashlib.sha256(body).hexdigest()}"'
        assert Calendar.from_ical(body).get("PRODID")
    consumers()
    jobs.republish_all_feeds()
    wait_for(lambda: republished() == len(keys), timeout=120, what="every feed republished")
    assert FeedSnapshot.select().count() == len(keys)
    for snapshot in FeedSnapshot.select():
        body = bytes(snapshot.body)
        assert snapshot.etag == f'"{hashlib.sha256(body).hexdigest()}"'
        Calendar.from_ical(body)

