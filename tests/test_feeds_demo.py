"""The feeds of the demo district (131 villages, this year planned): the coordinators' feeds
stay small enough for a phone to fetch every hour. The demo loads once for the module."""
import gzip

import icalendar
import pytest

from core import clock, feeds
from tests.conftest import PG_URL

pytestmark = pytest.mark.slow  # the demo district, planned for two years

MB = 1024 * 1024


@pytest.fixture(scope="module")
def demo(tmp_path_factory, _postgres_schema):
    """The demo district as `jiedui demo` loads it, and the next year planned, in a
    database of this module's own."""
    from core.db import db, migrate, open_database
    from core.demo import load_demo
    from core.planner import plan_year
    from core.models import ALL_MODELS
    if PG_URL:
        open_database(PG_URL)
        tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_MODELS)
        with db.connection_context():
            db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    else:
        open_database(f"sqlite:///{tmp_path_factory.mktemp('demo-feeds') / 'demo.db'}")
        migrate()
    db.connect(reuse_if_open=True)
    summary = load_demo()
    # In December the job plans the next year too: whatever the month, the feeds' whole
    # window is planned (the demo plans this year only).
    plan_year(clock.today().year + 1)
    yield summary
    if not db.is_closed():
        db.close()


def test_the_demo_districts_feed_stays_under_one_megabyte(demo):
    snapshot = feeds.publish("district")
    body = bytes(snapshot.body)
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert len(events) > 200  # the district's last week and next month, not an empty feed
    assert len(body) < MB, f"{len(body)} bytes"
    assert len(bytes(snapshot.body_gzip)) < len(body) / 5
    assert gzip.decompress(bytes(snapshot.body_gzip)) == body
    print(f"district feed: {len(events)} events, {len(body)} bytes, "
          f"{len(bytes(snapshot.body_gzip))} gzipped")


def test_every_town_feed_is_smaller_still(demo):
    for key in sorted(k for k in feeds.all_feed_keys() | {"district"} if k.startswith("town:")):
        assert len(bytes(feeds.publish(key).body)) < MB / 2, key
