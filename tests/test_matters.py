"""Major-matter reports: deadlines and late marking, handling, escalation on controlled
clocks, scopes, and the pages (list, report form, detail with its forms, inbox, badge)."""
import datetime as dt

import pytest

from core.config import ConfigError, matter_settings
from core.errors import NotFound, PermissionDenied, ValidationError
from core.matters import (acknowledge, add_note, close_matter, escalate_overdue, get_matter,
                          matters_visible_to, report_matter)
from core.models import AuditLog, MajorMatter, MatterNote, Notification, WorkLog
from core.notify import unread_count

T0 = dt.datetime(2026, 3, 2, 2, 0)  # UTC (10:00 in the district)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _defaults(monkeypatch):
    for name in ("JIEDUI_MATTER_DEADLINES", "JIEDUI_ESCALATE_AFTER_MINUTES", "JIEDUI_SMTP_URL",
                 "JIEDUI_WEBHOOK_URL", "JIEDUI_MAIL_TO"):
        monkeypatch.delenv(name, raising=False)


def report(district, *, category="collective", occurred_at=T0, now=T0 + HOUR / 2, **fields):
    fields.setdefault("village", district.villages[0])
    return report_matter(district.users.lawyer, category=category, title="Villagers petition",
                         description="Forty households", occurred_at=occurred_at, now=now,
                         **fields)


def inbox_titles(user):
    return [n.title for n in Notification.select().where(Notification.user == user.id)
            .order_by(Notification.id)]


# --- deadlines and late marking ---------------------------------------------------------

def test_report_within_the_deadline_is_on_time_and_notifies_the_coordinators(district):
    users = district.users
    matter = report(district, now=T0 + HOUR)  # exactly at the 1-hour deadline
    assert matter.lawyer_id == district.lawyers[0].id
    assert (matter.deadline_at, matter.late, matter.status) == (T0 + HOUR, False, "reported")
    for user in (users.town_coordinator, users.coordinator):
        assert unread_count(user) == 1
        assert "Villagers petition" in inbox_titles(user)[0]
    assert unread_count(users.other_town_coordinator) == 0
    assert AuditLog.get(AuditLog.action == "matter.report").object_id == str(matter.id)


def test_report_after_the_deadline_is_late(district):
    assert report(district, now=T0 + HOUR + dt.timedelta(seconds=1)).late is True
    assert report(district, category="major_decision", now=T0 + 23 * HOUR).late is False
    assert report(district, category="major_decision", now=T0 + 25 * HOUR).late is True


def test_deadlines_are_configurable_per_category(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_MATTER_DEADLINES", "collective=30m,stability=2h")
    assert report(district, now=T0 + 40 * dt.timedelta(minutes=1)).late is True
    matter = report(district, category="stability", now=T0 + 90 * dt.timedelta(minutes=1))
    assert matter.deadline_at == T0 + 2 * HOUR and matter.late is False


@pytest.mark.parametrize("value", ["riot=1h", "collective=soon", "collective=0h"])
def test_bad_deadline_settings_name_the_setting(value):
    with pytest.raises(ConfigError, match="JIEDUI_MATTER_DEADLINES"):
        matter_settings({"JIEDUI_MATTER_DEADLINES": value})


@pytest.mark.parametrize("fields, field", [
    ({"category": "gossip"}, "category"),
    ({"title": "  "}, "title"),
    ({"occurred_at": None}, "occurred_at"),
    ({"occurred_at": T0 + 2 * HOUR}, "occurred_at"),  # after "now": the future
    ({"village_index": 4}, "village"),  # not the lawyer's village
])
def test_bad_reports_are_refused_and_nothing_is_written(district, fields, field):
    args = dict(category="collective", title="A matter", occurred_at=T0,
                village=district.villages[fields.pop("village_index", 0)])
    args.update(fields)
    with pytest.raises(ValidationError) as error:
        report_matter(district.users.lawyer, now=T0 + HOUR / 2, **args)
    assert error.value.field == field
    assert MajorMatter.select().count() == 0 and Notification.select().count() == 0


def test_only_a_lawyer_reports(district):
    with pytest.raises(PermissionDenied):
        report_matter(district.users.coordinator, category="collective", title="x",
                      occurred_at=T0)


def test_report_from_a_work_log_entry_takes_its_village(district):
    entry = WorkLog.create(lawyer=district.lawyers[0], village=district.villages[0],
                           occurred_at=T0, content="Mediation")
    matter = report(district, village=None, work_log=entry)
    assert matter.village_id == district.villages[0].id and matter.work_log_id == entry.id
    other = WorkLog.create(lawyer=district.lawyers[1], village=district.villages[1],
                           occurred_at=T0, content="Not mine")
    with pytest.raises(ValidationError):
        report(district, village=None, work_log=other)


# --- handling ---------------------------------------------------------------------------

def test_acknowledge_note_and_close_tell_the_lawyer(district):
    users = district.users
    matter = report(district)
    with pytest.raises(PermissionDenied):
        acknowledge(users.other_town_coordinator, matter)
    acknowledge(users.town_coordinator, matter, now=T0 + HOUR)
    assert (matter.status, matter.acknowledged_by_id) == ("acknowledged", users.town_coordinator.id)
    with pytest.raises(ValidationError):
        acknowledge(users.coordinator, matter)  # once
    with pytest.raises(ValidationError):
        add_note(users.coordinator, matter, "   ")
    add_note(users.coordinator, matter, "Met the village committee")
    assert MajorMatter.get_by_id(matter.id).status == "following"
    with pytest.raises(ValidationError):
        close_matter(users.coordinator, matter, "")
    close_matter(users.coordinator, matter, "Settled by mediation")
    matter = MajorMatter.get_by_id(matter.id)
    assert (matter.status, matter.resolution) == ("closed", "Settled by mediation")
    assert matter.closed_at is not None
    with pytest.raises(ValidationError):
        add_note(users.coordinator, matter, "too late")
    assert unread_count(users.lawyer) == 2  # acknowledged, closed
    assert MatterNote.select().count() == 1


def test_a_note_counts_as_acknowledgement(district):
    matter = report(district)
    add_note(district.users.town_coordinator, matter, "Called the lawyer", now=T0 + HOUR)
    assert MajorMatter.get_by_id(matter.id).acknowledged_at == T0 + HOUR
    assert escalate_overdue(now=T0 + 5 * HOUR) == []


# --- escalation -------------------------------------------------------------------------

def test_escalation_levels_follow_the_clock_and_are_idempotent(district):
    users = district.users
    matter = report(district, now=T0)  # reported at T0; escalates after 60 and 120 minutes
    before = {u.id: unread_count(u) for u in (users.town_coordinator, users.coordinator)}
    assert escalate_overdue(now=T0 + dt.timedelta(minutes=59)) == []
    [escalated] = escalate_overdue(now=T0 + HOUR)
    assert (escalated.id, escalated.escalation_level) == (matter.id, 1)
    assert unread_count(users.town_coordinator) == before[users.town_coordinator.id] + 1
    assert unread_count(users.coordinator) == before[users.coordinator.id]  # not yet
    assert escalate_overdue(now=T0 + HOUR + dt.timedelta(minutes=30)) == []  # twice: once
    [escalated] = escalate_overdue(now=T0 + 2 * HOUR)
    assert escalated.escalation_level == 2
    assert unread_count(users.coordinator) == before[users.coordinator.id] + 1
    [escalated] = escalate_overdue(now=T0 + 10 * HOUR)  # the leadership group: none here
    assert escalated.escalation_level == 3
    assert escalate_overdue(now=T0 + 20 * HOUR) == []  # the last level
    assert Notification.select().where(Notification.kind == "matter.escalated").count() == 2


def test_escalation_jumps_levels_once_and_dedupes_even_if_the_level_was_lost(district):
    users = district.users
    matter = report(district, now=T0)
    escalate_overdue(now=T0 + 3 * HOUR)  # the job was down: every level at once
    assert MajorMatter.get_by_id(matter.id).escalation_level == 3
    MajorMatter.update(escalation_level=0).execute()  # as if a crash lost the update
    escalate_overdue(now=T0 + 3 * HOUR)
    escalated = Notification.select().where(Notification.kind == "matter.escalated")
    assert sorted(n.user_id for n in escalated) == sorted([users.town_coordinator.id,
                                                           users.coordinator.id])


def test_escalation_time_is_configurable_and_stops_when_acknowledged(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_ESCALATE_AFTER_MINUTES", "15")
    first, second = report(district, now=T0), report(district, now=T0)
    acknowledge(district.users.coordinator, second, now=T0 + dt.timedelta(minutes=5))
    escalated = escalate_overdue(now=T0 + dt.timedelta(minutes=15))
    assert [m.id for m in escalated] == [first.id]


def test_escalation_without_a_town_coordinator_goes_to_the_district(district):
    district.users.other_town_coordinator.delete_instance()
    from core.pairings import pair
    from tests.factories import TERM_END, TERM_START
    pair(None, lawyer=district.lawyers[0], village=district.villages[4],
         term_start=TERM_START, term_end=TERM_END)
    report(district, village=district.villages[4], now=T0)
    before = unread_count(district.users.coordinator)
    escalate_overdue(now=T0 + HOUR)
    assert unread_count(district.users.coordinator) == before + 1


def test_the_escalation_job_runs_in_huey(district):
    from core.jobs import escalate_matters
    report(district, now=T0)
    assert escalate_matters.call_local() == 1  # the clock is long past T0 + 2 h
    assert escalate_matters.call_local() == 0


# --- scopes ------------------------------------------------------------------------------

def test_scopes_lawyer_own_coordinators_their_villages(district):
    users = district.users
    matter = report(district)
    assert list(matters_visible_to(users.town_coordinator)) == [matter]
    assert list(matters_visible_to(users.coordinator)) == [matter]
    assert list(matters_visible_to(users.lawyer)) == [matter]
    assert list(matters_visible_to(users.other_town_coordinator)) == []
    assert list(matters_visible_to(users.village)) == []
    with pytest.raises(NotFound):
        get_matter(users.other_town_coordinator, matter.id)
    unplaced = report(district, village=None)
    assert unplaced in list(matters_visible_to(users.coordinator))
    assert unplaced not in list(matters_visible_to(users.town_coordinator))


# --- pages --------------------------------------------------------------------------------

def test_lawyer_reports_through_the_form_and_coordinator_handles_it(district, login):
    client = login(district.users.lawyer)
    client.set_cookie("lang", "en")  # assertions read the English msgids
    page = client.get("/matters/new")
    assert page.status_code == 200 and b'name="occurred_at"' in page.data
    bad = client.post("/matters/new", data={"category": "collective", "title": "",
                                            "occurred_at": "2026-03-02T10:00"})
    assert bad.status_code == 422 and MajorMatter.select().count() == 0
    response = client.post("/matters/new", data={
        "category": "emergency", "title": "Flood at the dike", "description": "Water rising",
        "occurred_at": "2026-03-02T10:00", "village": str(district.villages[0].id)})
    assert response.status_code == 303
    matter = MajorMatter.get()
    assert matter.occurred_at == T0 and matter.late  # 10:00 district time, reported later
    assert client.get(f"/matters/{matter.id}/acknowledge").status_code == 405

    client = login(district.users.town_coordinator)
    assert b'hx-get="/inbox/badge"' in client.get("/matters/").data
    badge = client.get("/inbox/badge")
    assert badge.status_code == 200 and b">1</span>" in badge.data
    detail = client.get(f"/matters/{matter.id}")
    assert b"Flood at the dike" in detail.data and b"Acknowledge" in detail.data
    assert client.post(f"/matters/{matter.id}/acknowledge").status_code == 200
    assert client.post(f"/matters/{matter.id}/notes", data={"text": ""}).status_code == 422
    assert client.post(f"/matters/{matter.id}/notes",
                       data={"text": "Evacuated"}).status_code == 200
    closed = client.post(f"/matters/{matter.id}/close", data={"resolution": "Dike repaired"},
                         headers={"HX-Request": "true"})
    assert closed.status_code == 200 and closed.headers["HX-Trigger"] == "matterChanged"
    assert MajorMatter.get().status == "closed"


def test_matter_pages_answer_404_out_of_scope(district, login):
    matter = report(district)
    client = login(district.users.other_town_coordinator)
    assert client.get(f"/matters/{matter.id}").status_code == 404
    assert client.post(f"/matters/{matter.id}/acknowledge").status_code == 404
    assert b"Villagers petition" not in client.get("/matters/").data
    client = login(district.users.village)
    assert client.get("/matters/").status_code == 403
    assert client.get("/matters/new").status_code == 403


def test_new_form_is_prefilled_from_a_task_or_work_log(district, login):
    entry = WorkLog.create(lawyer=district.lawyers[0], village=district.villages[0],
                           occurred_at=T0, content="Forty households came to the office")
    client = login(district.users.lawyer)
    page = client.get(f"/matters/new?work_log={entry.id}")
    assert b"Forty households came to the office" in page.data
    assert b"2026-03-02T10:00" in page.data
    other = WorkLog.create(lawyer=district.lawyers[1], village=district.villages[1],
                           occurred_at=T0, content="Someone else's secret")
    assert b"secret" not in client.get(f"/matters/new?work_log={other.id}").data


def test_inbox_marks_read_and_opens_the_link(district, login):
    matter = report(district)
    client = login(district.users.town_coordinator)
    page = client.get("/inbox")
    assert page.status_code == 200 and b"Villagers petition" in page.data
    notification = Notification.get(Notification.user == district.users.town_coordinator.id)
    opened = client.post(f"/inbox/{notification.id}/read")
    assert opened.status_code == 303 and opened.headers["Location"] == f"/matters/{matter.id}"
    assert unread_count(district.users.town_coordinator) == 0
    others = Notification.get(Notification.user == district.users.coordinator.id)
    assert client.post(f"/inbox/{others.id}/read").status_code == 404  # not theirs
    assert unread_count(district.users.coordinator) == 1
    client = login(district.users.coordinator)
    assert client.post("/inbox/read-all").status_code == 303
    assert unread_count(district.users.coordinator) == 0
    assert b"</span>" not in client.get("/inbox/badge").data


# --- reads are audited ---------------------------------------------------------------------

def test_each_read_of_a_major_matter_is_audited(district, login):
    matter = report(district)
    client = login(district.users.town_coordinator)
    assert client.get(f"/matters/{matter.id}").status_code == 200
    assert client.post(f"/matters/{matter.id}/acknowledge").status_code == 200
    reads = AuditLog.select().where(AuditLog.action == "matter.view").order_by(AuditLog.id)
    # the page read once; acknowledging is audited as itself, not as a read
    assert [(e.username, e.object_type, e.object_id, e.address) for e in reads] == [
        ("coord-t1", "major_matter", str(matter.id), "127.0.0.1")]
    login(district.users.other_town_coordinator).get(f"/matters/{matter.id}")  # 404: no read
    assert AuditLog.select().where(AuditLog.action == "matter.view").count() == 1


def test_a_page_of_the_list_of_matters_is_audited_with_the_reports_it_showed(district, login):
    first, second = report(district), report(district, category="stability")
    client = login(district.users.lawyer)
    assert client.get("/matters/").status_code == 200
    assert client.get("/matters/?status=closed").status_code == 200  # none: no entry
    lists = AuditLog.select().where(AuditLog.action == "matter.list")
    assert [(e.username, e.detail) for e in lists] == [
        ("lawyer", {"matters": [second.id, first.id]})]
