"""Notifications: the inbox, dedupe, and the outbox sent to a real SMTP server and a real
HTTP robot on localhost, with retry and backoff (no copy lost, none sent twice)."""
import datetime as dt
import http.server
import json
import threading

import pytest

from core import notify
from core.config import ConfigError, notify_settings
from core.models import Delivery, Notification, User
from core.notify import (coordinators_for, mark_read, notify_users, send_deliveries,
                         unread_count)
from tests.mail_support import smtp_sink  # noqa: F401 (a fixture)

T0 = dt.datetime(2026, 3, 2, 2, 0)


class RobotHandler(http.server.BaseHTTPRequestHandler):
    """Fails the first request (503), accepts the next ones like a WeCom robot."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append(json.loads(body))
        status = 503 if len(self.server.requests) == 1 else 200
        answer = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def robot():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RobotHandler)
    server.requests = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_channels(monkeypatch):
    for name in ("JIEDUI_SMTP_URL", "JIEDUI_WEBHOOK_URL", "JIEDUI_MAIL_TO"):
        monkeypatch.delenv(name, raising=False)


# --- who is told -------------------------------------------------------------------------

def test_coordinators_for_a_village_are_its_towns_then_the_districts(district):
    users = district.users
    village_coordinator = User.create(username="vc", password_hash="x", role="coordinator",
                                      village=district.villages[0])
    User.create(username="gone", password_hash="x", role="coordinator",
                town=district.towns[0], active=False)
    assert coordinators_for(district.villages[0]) == [users.town_coordinator,
                                                      village_coordinator, users.coordinator]
    assert coordinators_for(district.villages[3]) == [users.other_town_coordinator,
                                                      users.coordinator]
    assert coordinators_for(None) == [users.coordinator]


# --- the inbox ---------------------------------------------------------------------------

def test_notify_users_fills_the_inbox_and_counts_unread(district, no_channels):
    users = district.users
    made = notify_users([users.coordinator, users.town_coordinator, users.coordinator],
                        kind="test", title="A matter", link="/matters/1")
    assert len(made) == 2  # the duplicate is told once
    assert unread_count(users.coordinator) == 1 and unread_count(users.lawyer) == 0
    assert Delivery.select().count() == 0  # no channel configured: the inbox only
    assert mark_read(users.lawyer, made[0].id) == 0  # another user's message is left alone
    assert unread_count(users.coordinator) == 1
    assert mark_read(users.coordinator, made[0].id) == 1
    assert unread_count(users.coordinator) == 0 and unread_count(users.town_coordinator) == 1


def test_dedupe_key_notifies_each_user_once(district, no_channels):
    users = district.users
    first = notify_users([users.coordinator], kind="test", title="Weekly", dedupe_key="w:1")
    again = notify_users([users.coordinator, users.town_coordinator], kind="test",
                         title="Weekly", dedupe_key="w:1")
    assert len(first) == 1 and [n.user_id for n in again] == [users.town_coordinator.id]
    assert Notification.select().count() == 2


# --- the outbox --------------------------------------------------------------------------

def test_email_goes_to_the_office_mailbox_through_smtp(district, smtp_sink, monkeypatch):
    monkeypatch.setenv("JIEDUI_SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.server_address[1]}")
    monkeypatch.setenv("JIEDUI_MAIL_TO", "office@example.org, duty@example.org")
    monkeypatch.delenv("JIEDUI_WEBHOOK_URL", raising=False)
    notify_users([district.users.coordinator, district.users.town_coordinator],
                 kind="test", title="Collective petition", body="东湖1村", link="/matters/7")
    delivery = Delivery.get()  # one copy for the shared mailbox, not one per user
    assert (delivery.channel, delivery.status, delivery.attempts) == ("email", "sent", 1)
    [message] = smtp_sink.messages
    assert "Subject: Collective petition" in message
    assert "To: office@example.org, duty@example.org" in message
    assert "/matters/7" in message and "coord" in message


def test_webhook_failure_is_retried_with_backoff_and_not_lost(district, robot, monkeypatch):
    url = f"http://127.0.0.1:{robot.server_address[1]}/robot/send?key=k"
    monkeypatch.setenv("JIEDUI_WEBHOOK_URL", url)
    monkeypatch.setenv("JIEDUI_NOTIFY_RETRY_SECONDS", "60")
    monkeypatch.delenv("JIEDUI_SMTP_URL", raising=False)
    made = notify_users([district.users.coordinator], kind="test", title="Emergency")
    assert made  # the failure did not reach the caller
    delivery = Delivery.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "503" in delivery.last_error
    retry_at = delivery.next_attempt_at
    assert send_deliveries(now=retry_at - dt.timedelta(seconds=1)) == {
        "sent": 0, "retry": 0, "failed": 0}  # not yet due
    assert send_deliveries(now=retry_at) == {"sent": 1, "retry": 0, "failed": 0}
    delivery = Delivery.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    assert send_deliveries(now=retry_at + dt.timedelta(hours=1))["sent"] == 0  # sent once
    assert len(robot.requests) == 2
    assert robot.requests[1]["msgtype"] == "text"
    assert robot.requests[1]["text"]["content"].startswith("Emergency")


def test_delivery_fails_after_the_last_attempt_with_growing_waits(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_WEBHOOK_URL", "http://127.0.0.1:9/nobody-listens")
    monkeypatch.setenv("JIEDUI_NOTIFY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("JIEDUI_NOTIFY_TIMEOUT_SECONDS", "2")
    monkeypatch.delenv("JIEDUI_SMTP_URL", raising=False)
    notify_users([district.users.coordinator], kind="test", title="Down")  # attempt 1
    first = Delivery.get()
    now = first.next_attempt_at
    assert send_deliveries(now=now) == {"sent": 0, "retry": 1, "failed": 0}
    second = Delivery.get()
    assert second.next_attempt_at - now == dt.timedelta(seconds=120)  # 60 s, then 120 s
    assert send_deliveries(now=second.next_attempt_at)["failed"] == 1
    last = Delivery.get()
    assert (last.status, last.attempts) == ("failed", 3) and last.last_error
    assert send_deliveries(now=last.next_attempt_at + dt.timedelta(days=2))["failed"] == 0


def test_a_claimed_delivery_is_not_sent_twice(district, no_channels, monkeypatch):
    """Two consumers at once: the second finds the delivery leased by the first."""
    notification = notify_users([district.users.coordinator], kind="t", title="x")[0]
    delivery = Delivery.create(notification=notification, channel="webhook",
                               next_attempt_at=T0)
    settings = notify_settings({"JIEDUI_WEBHOOK_URL": "http://127.0.0.1:9/"})
    assert notify._claim(delivery.id, T0, settings) is True
    assert notify._claim(delivery.id, T0, settings) is False


def test_misconfigured_channels_never_block_the_caller(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_SMTP_URL", "smtp://127.0.0.1:25")
    monkeypatch.delenv("JIEDUI_MAIL_TO", raising=False)
    with pytest.raises(ConfigError, match="JIEDUI_MAIL_TO"):
        notify_settings()
    assert notify_users([district.users.coordinator], kind="t", title="still in the inbox")
    assert unread_count(district.users.coordinator) == 1


@pytest.mark.parametrize("env, message", [
    ({"JIEDUI_SMTP_URL": "mail.example.org"}, "JIEDUI_SMTP_URL"),
    ({"JIEDUI_WEBHOOK_URL": "ftp://robot"}, "JIEDUI_WEBHOOK_URL"),
    ({"JIEDUI_NOTIFY_MAX_ATTEMPTS": "0"}, "JIEDUI_NOTIFY_MAX_ATTEMPTS"),
])
def test_bad_notification_settings_name_the_setting(env, message):
    with pytest.raises(ConfigError, match=message):
        notify_settings(env)
