"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when
``JIEDUI_TEST_DATABASE_URL`` is set), a copy of the demo district loaded once per run
(``demo_db``), huey in immediate mode, an app and logins."""
import os
from pathlib import Path
import shutil
import tempfile

# The settings default to this scratch instance (core.config.get_settings reads them on use).
os.environ.setdefault("JIEDUI_INSTANCE", tempfile.mkdtemp(prefix="jiedui-test-"))
os.environ.setdefault("JIEDUI_SECRET_KEY", "test-secret-key")

import pytest  # noqa: E402

from core import plugins, users  # noqa: E402
from core.db import close_quietly, db, migrate, open_database  # noqa: E402
from core.demo import load_demo  # noqa: E402
from core.models import ALL_MODELS  # noqa: E402
from core.queue import huey  # noqa: E402
from tests import factories  # noqa: E402

PG_URL = os.environ.get("JIEDUI_TEST_DATABASE_URL")
users.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # fast hashes: tests create many users


def pytest_collection_modifyitems(config, items):
    """A test on the demo district is slow (the run's first one loads it): the quick loop
    (``make test-fast``) leaves those out. The PostgreSQL pass runs only the tests that
    touch a database: those on the ``database`` fixture and the modules that open one
    themselves (the SQLite pass runs every test)."""
    for item in items:
        if "demo_db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    if PG_URL:
        kept = [item for item in items if _touches_a_database(item)]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


_OPENS_ITS_OWN = {}  # module -> whether it reaches the services itself (a CLI, PG_URL, Redis)


def _touches_a_database(item) -> bool:
    if "database" in getattr(item, "fixturenames", ()):
        return True
    module = getattr(item, "module", None)
    if module is None:
        return True
    if module not in _OPENS_ITS_OWN:
        source = Path(module.__file__).read_text(encoding="utf-8")
        _OPENS_ITS_OWN[module] = any(word in source for word in (
            "JIEDUI_TEST_DATABASE_URL", "PG_URL", "cli_support", "REDIS"))
    return _OPENS_ITS_OWN[module]


def pytest_report_header(config):
    return f"jiedui database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (a file per test)'}"


@pytest.fixture(scope="session", autouse=True)
def _polls_asked_of_the_database():
    """A test changes a token or a feed and polls it in the same breath: in this process
    every poll asks the database (``web.feed_polls``: on PostgreSQL a process keeps its
    polls until the database's word arrives, a moment later). tests/test_feed_polls.py
    turns the keeping on."""
    from web.feed_polls import POLLS
    POLLS.enabled = False
    yield POLLS
    POLLS.enabled = True


@pytest.fixture(scope="session", autouse=True)
def immediate_huey():
    huey.immediate = True
    yield huey
    huey.immediate = False


@pytest.fixture(scope="session")
def _postgres_schema():
    """On PostgreSQL the schema is migrated once; each test starts from empty tables."""
    if not PG_URL:
        yield None
        return
    database = open_database(PG_URL)
    with db.connection_context():
        database.execute_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    migrate()
    yield database


@pytest.fixture(scope="session")
def _sqlite_schema(tmp_path_factory):
    """On SQLite the schema is migrated once, into a file each test copies (a copy takes a
    millisecond, migrating a tenth of a second)."""
    if PG_URL:
        return None
    path = tmp_path_factory.mktemp("schema") / "empty.db"
    open_database(f"sqlite:///{path}")
    migrate()
    db.close()
    return path


@pytest.fixture
def database(tmp_path, _postgres_schema, _sqlite_schema):
    """An empty, migrated database, connected for the test."""
    if PG_URL:
        open_database(PG_URL)
        with db.connection_context():
            _empty_postgres_tables()
    else:
        shutil.copyfile(_sqlite_schema, tmp_path / "test.db")
        open_database(f"sqlite:///{tmp_path / 'test.db'}")
    db.connect(reuse_if_open=True)
    yield db
    if not db.is_closed():
        db.close()


def _empty_postgres_tables() -> None:
    """Every table emptied and every id counting from 1 again. DELETE with the foreign keys'
    triggers off (the tables are all emptied) takes a millisecond or two where TRUNCATE of
    the 40-odd tables takes 0.2 s: a fifth of a second per test, minutes per run."""
    sequences = [name for (name,) in db.execute_sql(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")]
    with db.atomic():
        db.execute_sql("SET LOCAL session_replication_role = replica")  # the test's superuser
        db.execute_sql("; ".join(f'DELETE FROM "{model._meta.table_name}"'
                                 for model in ALL_MODELS))
        if sequences:
            db.execute_sql("SELECT " + ", ".join(f"setval('\"{name}\"', 1, false)"
                                                 for name in sequences))


def _pg_admin(statements: list[str]) -> None:
    """Run ``statements`` on the server's maintenance database (CREATE/DROP DATABASE cannot
    run in a transaction, nor connected to the database they copy)."""
    import psycopg2  # the PostgreSQL pass only
    from playhouse.db_url import parse
    params = parse(PG_URL)
    params.pop("database")
    connection = psycopg2.connect(dbname="postgres", **params)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def _pg_url_of(name: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory, _postgres_schema, immediate_huey):
    """The demo district as ``jiedui demo`` loads it (every programme's tasks, this year
    planned, its past recorded as held), loaded once per run: ``demo_db`` copies it."""
    plugins.reset()
    if PG_URL:
        name = PG_URL.rsplit("/", 1)[1] + "_demo"
        _pg_admin([f'DROP DATABASE IF EXISTS "{name}_copy"', f'DROP DATABASE IF EXISTS "{name}"',
                   f'CREATE DATABASE "{name}" TEMPLATE template0'])
        open_database(_pg_url_of(name))
        migrate()
    else:
        name = tmp_path_factory.mktemp("demo") / "demo.db"
        open_database(f"sqlite:///{name}")
        migrate()
    db.connect(reuse_if_open=True)
    summary = load_demo()
    db.close()  # SQLite: the last close folds the write-ahead log into the file
    plugins.reset()
    yield name, summary
    if PG_URL:
        _pg_admin([f'DROP DATABASE IF EXISTS "{name}_copy"', f'DROP DATABASE IF EXISTS "{name}"'])


@pytest.fixture
def demo_db(database, tmp_path, _demo_template):
    """A copy of the demo district (``_demo_template``) of this test's own: it may write.
    Loading the demo takes seconds; copying it, milliseconds. Gives what loading it said."""
    template, summary = _demo_template
    close_quietly()
    if PG_URL:
        copy = f"{template}_copy"
        _pg_admin([f'DROP DATABASE IF EXISTS "{copy}"',
                   f'CREATE DATABASE "{copy}" TEMPLATE "{template}"'])
        open_database(_pg_url_of(copy))
    else:
        copy = tmp_path / "demo.db"
        shutil.copyfile(template, copy)
        open_database(f"sqlite:///{copy}")
    db.connect()
    yield dict(summary)
    close_quietly()


@pytest.fixture(autouse=True)
def _settings_follow_the_environment(monkeypatch):
    """The app reads its settings once (core.config.get_settings); a test changes them as
    an operator would, through ``JIEDUI_*`` variables, so setting one with monkeypatch
    makes the next use read them all again."""
    from core import config
    config.configure(None)
    for name in ("setenv", "delenv"):
        change = getattr(monkeypatch, name)

        def changed(*args, _change=change, **kwargs):
            _change(*args, **kwargs)
            config.configure(None)
        setattr(monkeypatch, name, changed)
    yield
    config.configure(None)


@pytest.fixture(autouse=True)
def _fresh_plugins():
    """Each test loads plugins anew, so one test's registration cannot leak into another."""
    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture
def district(database):
    """A small district: 2 towns × 3 villages, 2 firms, 4 lawyers, the first 4 villages paired,
    and one user of each role (see tests/factories.py)."""
    return factories.small_district()


@pytest.fixture
def app(database):
    from web import create_app
    application = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client):
    """``login(user)`` logs the test client in as ``user`` (password: factories.PASSWORD)."""
    def _login(user, password=factories.PASSWORD):
        client.post("/logout")
        response = client.post("/login", data={"username": user.username, "password": password})
        assert response.status_code == 302, f"login as {user.username} failed"
        return client
    return _login
