"""Every change to pairings, calendar events and feed tokens leaves an audit entry: who,
what, when, and from where (the client's address when a request made the change). Changes
refused by a rule leave none."""
import datetime as dt

import pytest

from core.errors import ValidationError
from core.events import cancel_event
from core.feeds import create_token, revoke_token
from core.models import AuditLog, LoginAttempt
from core.pairings import end_pairing, pair, replace_lawyer, update_pairing
from tests.planning_support import make_event, now, published  # noqa: F401 (fixtures)

D = dt.date
HX = {"HX-Request": "true"}


def _entries(action):
    return list(AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id))


def test_pairing_changes_are_audited_with_the_actor(district):
    admin = district.users.admin
    village, lawyer = district.villages[4], district.lawyers[1]
    pairing = pair(admin, lawyer=lawyer, village=village, term_start=D(2026, 1, 1),
                   term_end=D(2028, 12, 31))
    update_pairing(admin, pairing, term_start=D(2026, 1, 1), term_end=D(2027, 12, 31))
    new = replace_lawyer(admin, pairing, lawyer=district.lawyers[2], on=D(2026, 7, 1))
    end_pairing(admin, new, ended_on=D(2026, 12, 31), reason="任期调整")

    (paired,) = [e for e in _entries("pairing.pair") if e.object_id == str(pairing.id)]
    assert (paired.username, paired.object_type, paired.object_id) == (
        "admin", "pairing", str(pairing.id))
    assert paired.detail["lawyer"] == lawyer.id and paired.detail["term_end"] == "2028-12-31"
    assert _entries("pairing.update")[0].detail["term_end"] == "2027-12-31"
    (replaced,) = _entries("pairing.replace")
    assert (replaced.object_id, replaced.detail["replaced"], replaced.detail["from_lawyer"]) == (
        str(new.id), pairing.id, lawyer.id)
    assert _entries("pairing.end")[0].detail == {"ended_on": "2026-12-31", "reason": "任期调整"}


def test_a_refused_change_writes_no_entry(district):
    with pytest.raises(ValidationError):
        end_pairing(district.users.admin, district.pairings[0], ended_on=D(2000, 1, 1))
    assert _entries("pairing.end") == []


def test_a_change_through_the_web_records_the_clients_address(district, client, login):
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    login(district.users.coordinator)
    pairing = district.pairings[0]
    response = client.post(f"/pairings/{pairing.id}/end", headers=HX,
                           data={"end-ended_on": "2026-06-30", "end-reason": "工作调动"})
    assert response.status_code == 200
    (entry,) = _entries("pairing.end")
    assert (entry.username, entry.address) == (district.users.coordinator.username, "10.1.2.3")


def test_event_changes_are_audited_with_before_and_after(district, now, published):
    event = make_event(district.pairings[0], D(2026, 3, 2), "am")
    cancel_event(district.users.lawyer, event, reason="村委换届")
    (entry,) = _entries("event.cancel")
    assert (entry.username, entry.object_id) == ("lawyer", str(event.id))
    assert entry.detail == {"before": {"status": "planned", "cancel_reason": ""},
                            "after": {"status": "cancelled", "cancel_reason": "村委换届"}}


def test_feed_tokens_created_and_revoked_are_audited_without_the_secret(district):
    lawyer = district.users.lawyer
    token, raw = create_token(lawyer, lawyer, "iPhone")
    revoke_token(lawyer, token)
    created, revoked = _entries("feed_token.create"), _entries("feed_token.revoke")
    assert [e.detail for e in created] == [{"user": lawyer.id, "label": "iPhone"}]
    assert [e.object_id for e in revoked] == [str(token.id)]
    assert all(raw not in str(e.detail) and token.token_hash not in str(e.detail)
               for e in created + revoked)


def test_behind_a_trusted_proxy_the_client_address_comes_from_the_proxy_header(
        district, database, monkeypatch):
    from web import create_app
    monkeypatch.setenv("JIEDUI_TRUSTED_PROXIES", "1")
    client = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"  # the proxy
    forwarded = {"X-Forwarded-For": "6.6.6.6, 10.9.8.7"}  # a forged entry, then the client
    client.post("/login", headers=forwarded,
                data={"username": district.users.coordinator.username, "password": "nope"})
    (attempt,) = LoginAttempt.select()
    assert attempt.address == "10.9.8.7"


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(district, client):
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    client.post("/login", headers={"X-Forwarded-For": "6.6.6.6"},
                data={"username": district.users.coordinator.username, "password": "nope"})
    (attempt,) = LoginAttempt.select()
    assert attempt.address == "10.1.2.3"
