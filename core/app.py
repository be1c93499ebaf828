"""The composition root: what makes a process out of the parts. Every entry point — the web
(``web.create_app``), the command line (``jiedui …``), the job consumer (``jiedui worker``)
— calls ``setup`` once, before anything else; nothing is set up by importing a module.

``setup`` takes the settings (``core.config``: read from the environment once), the
district's time zone, the database (and its migrations when asked), the job queue's
storage and the programmes' schedules. The plugin registry is built on first use
(``core.plugins``), with the core's own reactions registered first as default plugins.
"""
from core import clock, config, jobs, longwork, queue  # noqa: F401 (longwork: its jobs)
from core.config import Settings
from core.db import migrate, open_database


def setup(settings: Settings | None = None, *, run_migrations: bool = False,
          pooled: bool = False):
    """Set the process up from ``settings`` (default: the environment's) and return the
    database. With ``run_migrations`` the schema is brought up to date first (``jiedui
    init`` and ``jiedui run`` do, a consumer does not); ``pooled``: the database keeps its
    connections between uses (the web process's, ``core.db``)."""
    settings = settings or config.get_settings()
    config.configure(settings)
    clock.set_timezone(settings.timezone)
    database = open_database(settings.database_url, settings.db_busy_timeout_ms,
                             pooled=pooled)
    if run_migrations:
        migrate()
    queue.configure(settings)
    jobs.register_schedules()
    return database


def connect():
    """Open the database the settings name (``JIEDUI_*``, the instance folder), as the
    ``jiedui`` commands do: a plugin's command calls it before it reads or writes."""
    return setup()
