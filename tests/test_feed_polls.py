"""On PostgreSQL a web process keeps the feed polls it answered (``web.feed_polls``) and
forgets them when the database says the token or the feed changed (migration 0027's
triggers): a repeated poll asks the database nothing, and a revoked token, a feed
published again, a user deactivated or a word missed are never answered from memory once
the word is in."""
import os
import time

import pytest

from core import feeds
from core.models import User
from tests.feed_helpers import add_event, at, local_day
from tests.test_serve import cal, raw_token, sql_log  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not os.environ.get("JIEDUI_TEST_DATABASE_URL"),
                                reason="PostgreSQL's NOTIFY tells the processes")


@pytest.fixture
def polls(_polls_asked_of_the_database):
    polls = _polls_asked_of_the_database
    polls.enabled = True
    deadline = time.monotonic() + 5
    while not polls._ready():  # the listener connects
        assert time.monotonic() < deadline, "the listener did not connect"
        time.sleep(0.01)
    yield polls
    polls.enabled = False


def words_in(polls, since: int) -> None:
    """Wait until the listener has read a word since generation ``since``."""
    deadline = time.monotonic() + 5
    while polls.generation == since:
        assert time.monotonic() < deadline, "no word from the database"
        time.sleep(0.01)


def poll(client, raw, **headers):
    return client.get(f"/feeds/{raw}.ics", headers=headers)


def test_a_repeated_poll_asks_the_database_nothing(client, raw_token, polls, sql_log,
                                                   caplog):
    first = poll(client, raw_token)  # published on this first fetch
    poll(client, raw_token)  # read from the database, kept
    caplog.clear()
    again = poll(client, raw_token)
    assert again.status_code == 200 and again.data == first.data
    assert again.headers["ETag"] == first.headers["ETag"]
    assert sql_log() == []
    caplog.clear()
    assert poll(client, raw_token, **{"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert sql_log() == []


def test_a_revoked_token_is_forgotten_when_the_word_comes(client, raw_token, polls):
    poll(client, raw_token)
    assert poll(client, raw_token).status_code == 200  # kept now
    since = polls.generation
    feeds.revoke_token(None, feeds.find_token(raw_token))
    words_in(polls, since)
    assert poll(client, raw_token).status_code == 404


def test_a_feed_published_again_is_forgotten_when_the_word_comes(client, raw_token, cal,
                                                                 polls):
    poll(client, raw_token)
    before = poll(client, raw_token)
    key = feeds.feed_key_for(feeds.find_token(raw_token).user)
    since = polls.generation
    add_event(cal.pairing, start=at(local_day(6), 9), title="新的坐班")
    feeds.publish(key)
    words_in(polls, since)
    after = poll(client, raw_token)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.data == bytes(feeds.snapshot_for(key).body)


def test_a_deactivated_users_token_is_forgotten(client, raw_token, district, polls):
    poll(client, raw_token)
    poll(client, raw_token)
    since = polls.generation
    User.update(active=False).where(User.id == district.users.lawyer.id).execute()
    words_in(polls, since)  # a change past the services: the trigger still tells
    assert poll(client, raw_token).status_code == 404


def test_without_the_listener_nothing_is_kept_and_every_poll_asks(client, raw_token, polls,
                                                                  sql_log, caplog):
    from core.db import db
    poll(client, raw_token)
    poll(client, raw_token)
    listeners = [pid for (pid,) in db.execute_sql(
        "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN jiedui_feeds%%' "
        "AND pid <> pg_backend_pid()").fetchall()]
    assert listeners
    since = polls.generation
    for pid in listeners:  # the server ends the listener's connection
        db.execute_sql("SELECT pg_terminate_backend(%s)", (pid,))
    words_in(polls, since)  # the listener noticed: nothing kept until it listens again
    caplog.clear()
    assert poll(client, raw_token).status_code == 200
    assert any("feed_snapshot" in sql for sql in sql_log())  # asked the database
    deadline = time.monotonic() + 5
    while not polls._ready():  # it listens again (and forgot what it could have missed)
        assert time.monotonic() < deadline
        time.sleep(0.05)
