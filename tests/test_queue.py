"""The job queue: huey from JIEDUI_QUEUE_URL, and a real `jiedui worker` running a job
enqueued from another process, on SQLite and on Redis."""
import os
import signal
from pathlib import Path

import pytest
from huey import RedisHuey, SqliteHuey

from core.config import load_settings
from core.jobs import ping
from core.queue import make_huey
from tests.consumer_support import JIEDUI, REDIS_URL, redis_database
from tests.processes import log_of, start, stop

# REDIS_URL: db 15, the tests' own, flushed before and after (the PostgreSQL pass, which
# `make test` runs alongside the SQLite one, uses its own: JIEDUI_TEST_REDIS_URL)


def settings_for(instance: Path, queue_url: str | None = None):
    environ = {"JIEDUI_INSTANCE": str(instance), "JIEDUI_SECRET_KEY": "queue-test-key"}
    if queue_url:
        environ["JIEDUI_QUEUE_URL"] = queue_url
    return load_settings(environ)


def test_make_huey_picks_sqlite_by_default_and_redis_by_url(tmp_path):
    default = make_huey(settings_for(tmp_path))
    assert isinstance(default, SqliteHuey)
    assert default.storage.filename == str(tmp_path / "queue.db")
    assert isinstance(make_huey(settings_for(tmp_path, f"sqlite:///{tmp_path}/q.db")), SqliteHuey)
    assert isinstance(make_huey(settings_for(tmp_path, REDIS_URL)), RedisHuey)


def test_make_huey_refuses_an_unknown_queue_url(tmp_path):
    with pytest.raises(ValueError, match="JIEDUI_QUEUE_URL"):
        make_huey(settings_for(tmp_path, "amqp://127.0.0.1/"))


def run_ping_through_a_worker(instance: Path, queue_url: str) -> str:
    """Start `jiedui worker`, enqueue ``ping`` from here through a huey of our own on the
    same queue (tasks are addressed by name: core.jobs.ping), wait for the result."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("JIEDUI_DATABASE_URL", "JIEDUI_TEST_DATABASE_URL")}
    env.update(JIEDUI_INSTANCE=str(instance), JIEDUI_QUEUE_URL=queue_url,
               JIEDUI_SECRET_KEY="queue-test-key")
    worker = start([JIEDUI, "worker", "--workers", "1"], env, instance / "worker.log",
                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        remote_ping = make_huey(settings_for(instance, queue_url)).task()(ping)
        result = remote_ping("through-the-queue").get(blocking=True, timeout=30)
    finally:
        code = stop(worker, 15)  # Ctrl-C, graceful: finish the running job, then exit
        output = log_of(worker)
        if code == -signal.SIGKILL:
            pytest.fail(f"jiedui worker did not stop on Ctrl-C:\n{output}")
    assert code == 0, output
    assert "core.jobs.ping" in output  # the worker logs what it runs
    return result


def test_a_sqlite_queue_worker_runs_a_job_from_another_process(tmp_path):
    assert run_ping_through_a_worker(tmp_path, f"sqlite:///{tmp_path}/queue.db") == \
        "through-the-queue"


@pytest.fixture
def redis_db15():
    with redis_database(REDIS_URL) as client:
        yield client


@pytest.mark.services
def test_a_redis_queue_worker_runs_a_job_from_another_process(tmp_path, redis_db15):
    assert run_ping_through_a_worker(tmp_path, REDIS_URL) == "through-the-queue"


@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_a_background_replan_waits_behind_jobs_queued_after_it(tmp_path, queue, request):
    """A bulk change queues one re-plan per village; a ping (or a notification) queued
    after them is still taken first."""
    from core.jobs import replan_village
    from core.queue import huey
    if queue == "redis":
        request.getfixturevalue("redis_db15")
    url = f"sqlite:///{tmp_path}/q.db" if queue == "sqlite" else REDIS_URL
    other = make_huey(settings_for(tmp_path, url))
    other.flush()
    try:
        for task in [replan_village.s(v, [2026]) for v in (1, 2, 3)] + [ping.s("first")]:
            other.storage.enqueue(huey.serialize_task(task), task.priority)
        # written and read with the app's own registry, as its producers and consumers do
        order = [huey.deserialize_task(other.storage.dequeue()).name for _ in range(4)]
    finally:
        other.flush()
    assert order == ["ping"] + ["replan_village"] * 3


@pytest.mark.services
def test_redis_keeps_what_a_job_returned_for_a_day_not_for_ever(tmp_path, redis_db15):
    """The jobs of a province return something thousands of times a day; Redis holds it
    all in memory, so a result nobody collected expires."""
    from core.queue import RESULT_KEEP_SECONDS
    storage = make_huey(settings_for(tmp_path, REDIS_URL)).storage
    storage.put_data("a-job-id", b"what it returned", is_result=True)
    assert 0 < redis_db15.ttl(storage.result_key("a-job-id")) <= RESULT_KEEP_SECONDS
    assert storage.peek_data("a-job-id") == b"what it returned"
