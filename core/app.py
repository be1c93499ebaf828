"""Set the core up once per process: time zone, database, schema, plugins."""
from core import clock
from core.config import Settings
from core.db import migrate, open_database


def setup(settings: Settings, *, run_migrations: bool = False):
    """Open the database named by ``settings``; with ``run_migrations`` bring the schema
    up to date first (``jiedui init`` and ``jiedui run`` do, a consumer does not)."""
    clock.set_timezone(settings.timezone)
    database = open_database(settings.database_url)
    if run_migrations:
        migrate()
    return database


def connect():
    """Open the database the settings name (``JIEDUI_*``, the instance folder), as the
    ``jiedui`` commands do: a plugin's command calls it before it reads or writes."""
    from core.config import load_settings
    return setup(load_settings())
