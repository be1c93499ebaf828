"""Real job consumers for the tests: `jiedui worker` processes on the test's database
(its SQLite file, or PostgreSQL on the PostgreSQL pass) and a queue shared with the test.

The queue is Redis when ``JIEDUI_TEST_REDIS_URL`` is set (the Makefile's PostgreSQL pass
sets it; the SQLite pass leaves it unset) and the tests' own db 15 otherwise for the tests
that need Redis whatever the pass; the tests that only need *a* queue use a SQLite queue
file then."""
import fcntl
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.processes import start

JIEDUI = str(Path(sys.executable).parent / "jiedui")
TEST_REDIS_URL = os.environ.get("JIEDUI_TEST_REDIS_URL")  # set: the consumers' queue is Redis
REDIS_URL = TEST_REDIS_URL or "redis://127.0.0.1:6379/15"


@contextmanager
def redis_database(url: str = REDIS_URL):
    """A client of the tests' Redis database, emptied before and after, held alone for the
    block: a test using it in another process (``pytest -n``, another pass of the suite on
    the same database) waits. Skips the test (fails it with ``JIEDUI_REQUIRE_SERVICES``)
    when Redis does not answer."""
    import redis
    name = re.sub(r"[^A-Za-z0-9]+", "-", url)
    with open(Path(tempfile.gettempdir()) / f"jiedui-test-{name}.lock", "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            try:
                client.ping()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                if os.environ.get("JIEDUI_REQUIRE_SERVICES"):
                    pytest.fail(f"Redis is not answering on {url} and "
                                "JIEDUI_REQUIRE_SERVICES is set")
                pytest.skip(f"Redis is not answering on {url}")
            client.flushdb()
            yield client
            client.flushdb()
        finally:
            client.close()
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def consumer_env(instance: Path, database_url: str, queue_url: str, **more) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("JIEDUI_DATABASE_URL", "JIEDUI_TEST_DATABASE_URL")}
    env.update(JIEDUI_INSTANCE=str(instance), JIEDUI_DATABASE_URL=database_url,
               JIEDUI_QUEUE_URL=queue_url, JIEDUI_SECRET_KEY="consumer-test-key",
               PYTHONUNBUFFERED="1", **more)
    return env


def start_worker(log_path: Path, env: dict, *options: str) -> subprocess.Popen:
    """``jiedui worker`` with ``options``, its output in ``log_path``."""
    return start([JIEDUI, "worker", *options], env, log_path)


def wait_for(condition, timeout=60, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
