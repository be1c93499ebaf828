"""The job queue: one huey instance, its storage configured by the composition root.

``huey`` exists from import on, so that ``core.jobs`` can register its tasks, but it holds
no storage until ``configure(settings)`` (``core.app.setup``) gives it one from
``JIEDUI_QUEUE_URL``: ``sqlite:///path`` (the default, in the instance folder) for one
machine, ``redis://host:port/db`` for several consumers on several hosts (with job
priorities). Importing this module creates no file. The consumer is ``jiedui worker``.

Several consumers may share one queue (Redis, or the SQLite file on one machine): huey
hands each queued job to one of them, and ``Consumer`` here makes their schedulers agree
that a periodic job is queued once per minute (``claim_tick``), however many run.
"""
import datetime as dt
import logging
from urllib.parse import urlparse

from huey import Huey, PriorityRedisExpireHuey, SqliteHuey
from huey.consumer import Consumer as HueyConsumer
from huey.consumer import Scheduler
from huey.storage import (BaseStorage, PriorityRedisExpireStorage, RedisStorage,
                          SqliteStorage)

from core.config import Settings, private_file

NAME = "jiedui"
# What a job returns is kept for whoever asks (a test, `ping`); nobody asks later than this.
# On Redis it then expires: the feeds' and deliveries' jobs of a province return something
# thousands of times a day, and Redis keeps everything in memory.
RESULT_KEEP_SECONDS = 24 * 3600


class UnconfiguredStorage(BaseStorage):
    """Before ``configure``: any use says what is missing (the tests run huey in
    immediate mode, on memory)."""

    def __init__(self, name=NAME, **kwargs):
        super().__init__(name)

    def __getattribute__(self, attribute):
        if attribute in ("name", "__init__", "__class__", "__getattribute__"):
            return object.__getattribute__(self, attribute)
        raise RuntimeError("the job queue is not configured: call core.app.setup() first")


huey = Huey(NAME, utc=True, storage_class=UnconfiguredStorage)


def storage_for(settings: Settings) -> tuple[type, dict]:
    """The storage class and its arguments for ``JIEDUI_QUEUE_URL``."""
    url = settings.queue_url
    if settings.queue_is_redis:  # job priorities (Redis >= 5); results kept a day
        return PriorityRedisExpireStorage, {"url": url, "expire_time": RESULT_KEEP_SECONDS}
    if url.startswith("sqlite:///"):
        path = private_file(url[len("sqlite:///"):])  # owner-only, like the database
        return SqliteStorage, {"filename": str(path)}
    raise ValueError(f"JIEDUI_QUEUE_URL must be sqlite:///PATH or redis://HOST, not "
                     f"{urlparse(url).scheme or url!r}")


def configure(settings: Settings) -> Huey:
    """Give ``huey`` the storage ``settings`` name (in immediate mode it keeps memory)."""
    huey.storage_class, huey.storage_kwargs = storage_for(settings)
    huey.storage = huey.create_storage()
    return huey


def make_huey(settings: Settings) -> Huey:
    """A separate huey on ``settings``' queue (a process that looks at a queue from
    outside, such as a test of a real consumer)."""
    storage_class, kwargs = storage_for(settings)
    kind = {SqliteStorage: SqliteHuey,
            PriorityRedisExpireStorage: PriorityRedisExpireHuey}[storage_class]
    return kind(NAME, utc=True, **kwargs)


# --- periodic jobs: once per tick, however many consumers run -------------------------------
# Every consumer started without --no-periodic runs huey's scheduler, which queues each due
# periodic job once a minute: two consumers would queue "every minute" jobs twice and the
# nightly planning of next year twice. The scheduler here first claims (job, minute) in the
# queue's own storage, which every consumer of the queue shares; the one that claims it
# queues the job, the others leave it.

TICK_PREFIX = "periodic-tick:"
TICK_KEEP = dt.timedelta(hours=1)  # a claim outlives any clock skew between hosts

log = logging.getLogger("huey.consumer.Scheduler")


def tick_of(timestamp: dt.datetime) -> str:
    """The minute a periodic check belongs to (huey's timestamps are UTC)."""
    return timestamp.strftime("%Y-%m-%dT%H:%M")


def claim_tick(storage: BaseStorage, task_name: str, tick: str) -> bool:
    """Whether this caller is the first to claim periodic job ``task_name`` for minute
    ``tick`` on ``storage`` (atomic: Redis SET NX with an expiry, SQLite huey's unique
    key-value row; claims older than ``TICK_KEEP`` are dropped)."""
    key = f"{TICK_PREFIX}{tick}:{task_name}"
    if isinstance(storage, RedisStorage):
        return bool(storage.conn.set(f"huey.{storage.name}.{key}", b"1", nx=True,
                                     ex=int(TICK_KEEP.total_seconds())))
    claimed = storage.put_if_empty(key, b"1")
    if claimed and isinstance(storage, SqliteStorage):
        old = tick_of(dt.datetime.strptime(tick, "%Y-%m-%dT%H:%M") - TICK_KEEP)
        with storage.db(commit=True) as cursor:
            cursor.execute("DELETE FROM kv WHERE queue = ? AND key LIKE ? AND key < ?",
                           (storage.name, TICK_PREFIX + "%", TICK_PREFIX + old))
    return claimed


class OncePerTickScheduler(Scheduler):
    """huey's scheduler, queueing a due periodic job only when it claims the job's minute."""

    def enqueue_periodic_tasks(self, now):
        now = now or self.huey._get_timestamp()
        tick = tick_of(now)
        for task in self.huey.read_periodic(now):
            name = self.huey._registry.task_to_string(type(task))
            try:
                if not claim_tick(self.huey.storage, name, tick):
                    log.debug("Periodic task %s of %s queued by another consumer.", name, tick)
                    continue
                log.info("Enqueueing periodic task %s.", task)
                self.huey.enqueue(task)
            except Exception:  # noqa: BLE001 — the queue is down: the next minute tries again
                log.exception("Error enqueueing periodic task %s.", task)


class Consumer(HueyConsumer):
    """huey's consumer with the scheduler above (``jiedui worker``, ``jiedui run``)."""

    scheduler_class = OncePerTickScheduler
