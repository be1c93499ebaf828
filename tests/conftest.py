"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when
``JIEDUI_TEST_DATABASE_URL`` is set), huey in immediate mode, an app and logins."""
import os
import tempfile

# Settings are read at import time by core.queue: point them at a scratch instance first.
os.environ.setdefault("JIEDUI_INSTANCE", tempfile.mkdtemp(prefix="jiedui-test-"))
os.environ.setdefault("JIEDUI_SECRET_KEY", "test-secret-key")

import pytest  # noqa: E402

from core import plugins, users  # noqa: E402
from core.db import db, migrate, open_database  # noqa: E402
from core.models import ALL_MODELS  # noqa: E402
from core.queue import huey  # noqa: E402
from tests import factories  # noqa: E402

PG_URL = os.environ.get("JIEDUI_TEST_DATABASE_URL")
users.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # fast hashes: tests create many users


def pytest_report_header(config):
    return f"jiedui database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (a file per test)'}"


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


@pytest.fixture
def database(tmp_path, _postgres_schema):
    """An empty, migrated database, connected for the test."""
    if PG_URL:
        open_database(PG_URL)
        tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_MODELS)
        with db.connection_context():
            db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    else:
        open_database(f"sqlite:///{tmp_path / 'test.db'}")
        migrate()
    db.connect(reuse_if_open=True)
    yield db
    if not db.is_closed():
        db.close()


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
