"""The job queue: huey from ``JIEDUI_QUEUE_URL``.

``sqlite:///path`` (the default, in the instance folder) gives SqliteHuey;
``redis://host:port/db`` gives (Priority)RedisHuey for several consumers on several hosts.
The consumer is ``jiedui worker`` (or ``huey_consumer core.queue.huey``).
"""
import traceback
from urllib.parse import urlparse

from huey import PriorityRedisHuey, SqliteHuey
from huey.signals import SIGNAL_ERROR

from core.config import Settings, load_settings, private_file


def make_huey(settings: Settings):
    url = settings.queue_url
    if settings.queue_is_redis:
        return PriorityRedisHuey("jiedui", url=url, utc=True)  # job priorities (Redis >= 5)
    if url.startswith("sqlite:///"):
        path = private_file(url[len("sqlite:///"):])  # owner-only, like the database
        return SqliteHuey("jiedui", filename=str(path), utc=True)
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


@huey.signal(SIGNAL_ERROR)
def _report_failed_job(signal, task, exc=None):
    """A job that raised is reported to the administrators (core.problems) once it will
    not be retried any more; a retry that then succeeds is no problem. Runs in the
    consumer (or, in immediate mode, the caller) after the job's own work ended."""
    if getattr(task, "retries", 0):
        return
    from core.problems import error_text, report
    error = error_text(exc) if exc is not None else "unknown error"
    report("job", f"job:{task.name}", f"job {task.name} failed: {error}",
           detail="".join(traceback.format_exception(exc)) if exc is not None else "")


# Register the jobs (they import ``huey`` from here).
from core import jobs  # noqa: E402,F401
