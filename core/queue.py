"""The job queue: huey from ``JIEDUI_QUEUE_URL``.

``sqlite:///path`` (the default, in the instance folder) gives SqliteHuey;
``redis://host:port/db`` gives RedisHuey for several consumers on several hosts.
The consumer is ``jiedui worker`` (or ``huey_consumer core.queue.huey``).
"""
from urllib.parse import urlparse

from huey import RedisHuey, SqliteHuey

from core.config import Settings, load_settings


def make_huey(settings: Settings):
    url = settings.queue_url
    if settings.queue_is_redis:
        return RedisHuey("jiedui", url=url, utc=True)
    if url.startswith("sqlite:///"):
        return SqliteHuey("jiedui", filename=url[len("sqlite:///"):], utc=True)
    raise ValueError(f"JIEDUI_QUEUE_URL must be sqlite:///PATH or redis://HOST, not "
                     f"{urlparse(url).scheme or url!r}")


settings = load_settings()
huey = make_huey(settings)


@huey.on_startup()
def _open_database():
    """Each consumer process opens the same database as the web. ``jiedui run`` and
    ``jiedui worker`` have opened it already: initialising it again from a worker thread
    would swap the database under the web server's open connections."""
    from core.app import setup
    from core.db import db
    if db.obj is None:
        setup(settings)


# Register the jobs (they import ``huey`` from here).
from core import jobs  # noqa: E402,F401
