"""PostgreSQL through either driver (psycopg2, psycopg 3) and through peewee's connection
pool: the product's work — planning, a backup and its restore, a dropped connection —
holds on each. Runs in the PostgreSQL pass of the suite (``JIEDUI_TEST_DATABASE_URL``)."""
import os

import pytest

from core import backup
from core.db import close_quietly, connect_alive, db, open_database, transaction
from core.models import Event, LawFirm
from core.planner import plan_year
from tests import factories

PG_URL = os.environ.get("JIEDUI_TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="needs JIEDUI_TEST_DATABASE_URL (PostgreSQL)")

SCHEMES = ("psycopg3", "psycopg3+pool", "postgresql+pool")


@pytest.fixture(params=SCHEMES)
def driver_database(request, database):
    """The test database opened with another scheme; the suite's own again after."""
    close_quietly()
    opened = open_database(request.param + PG_URL[PG_URL.index("://"):])
    db.connect()
    yield opened
    close_quietly()
    if hasattr(opened, "close_all"):
        opened.close_all()  # the pool's idle connections
    open_database(PG_URL)
    db.connect(reuse_if_open=True)


def _end_our_session() -> None:
    """What a server restart does to the connection we hold."""
    (pid,) = db.execute_sql("SELECT pg_backend_pid()").fetchone()
    other = backup._pg_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
        other.commit()
    finally:
        other.close()


def test_planning_a_year_and_reading_it_back_works_on_each_driver(driver_database):
    district = factories.small_district()
    year = 2027
    plan_year(year)
    planned = Event.select().where(Event.village == district.villages[0].id).count()
    assert planned >= 12  # the year's on-site sessions of a paired village


def test_a_connection_the_server_ended_is_replaced_before_the_next_use(driver_database):
    with transaction():
        firm = LawFirm.create(name="清溪律师事务所")
    _end_our_session()
    connect_alive()
    assert LawFirm.get_by_id(firm.id).name == "清溪律师事务所"


def test_a_backup_taken_through_each_driver_restores(driver_database, tmp_path):
    with transaction():
        LawFirm.create(name="永丰律师事务所")
    archive = tmp_path / "jiedui.tar.gz"
    manifest = backup.backup(archive)
    assert manifest["tables"]["law_firm"] == 1
    with transaction():
        LawFirm.delete().execute()
    backup.restore(archive)
    connect_alive()
    assert [firm.name for firm in LawFirm.select()] == ["永丰律师事务所"]


def test_a_feed_poll_and_a_render_work_on_each_driver(driver_database):
    from core import feeds
    district = factories.small_district()
    plan_year(2027)
    _token, raw = feeds.create_token(None, district.users.lawyer, "iPhone")
    key = feeds.feed_key_for(district.users.lawyer)
    body = bytes(feeds.publish(key).body)
    for _ in range(7):  # psycopg 3 prepares a query it ran 5 times; psycopg2's are PREPAREd
        _found, polled_key, stored = feeds.polled_feed(raw)
        assert polled_key == key and stored.content is None  # the validators only
        assert feeds.stored_content(stored) == body
        assert feeds.render_feed(key) == body
