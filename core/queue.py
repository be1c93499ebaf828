"""The job queue: one huey instance, its storage configured by the composition root.

``huey`` exists from import on, so that ``core.jobs`` can register its tasks, but it holds
no storage until ``configure(settings)`` (``core.app.setup``) gives it one from
``JIEDUI_QUEUE_URL``: ``sqlite:///path`` (the default, in the instance folder) for one
machine, ``redis://host:port/db`` for several consumers on several hosts (with job
priorities). Importing this module creates no file. The consumer is ``jiedui worker``.
"""
from urllib.parse import urlparse

from huey import Huey, PriorityRedisHuey, SqliteHuey
from huey.storage import BaseStorage, PriorityRedisStorage, SqliteStorage

from core.config import Settings, private_file

NAME = "jiedui"


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
    if settings.queue_is_redis:
        return PriorityRedisStorage, {"url": url}  # job priorities (Redis >= 5)
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
    kind = {SqliteStorage: SqliteHuey, PriorityRedisStorage: PriorityRedisHuey}[storage_class]
    return kind(NAME, utc=True, **kwargs)
