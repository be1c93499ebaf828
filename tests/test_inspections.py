"""Inspections (检查, 五.4): a coordinator records a visit or spot check of a village's
service with its checklist, findings and follow-up; bad input is refused in Chinese and
loses nothing; a town's coordinator inspects only their town; the inspection counts in the
pairing's assessment as docs/assessment says (points off per item falling short and per
follow-up not done by its due date, capped); everything is audited."""
import datetime as dt

import pytest

from core import clock
from core import inspections as service
from core.assessment import assess, assessment_sheet
from core.audit import describe
from core.config import ConfigError, assessment_settings
from core.errors import PermissionDenied, ValidationError
from core.i18n import gettext_for
from core.models import AuditLog, Inspection, Notification

TODAY = dt.date(2026, 7, 1)
ZH = gettext_for("zh_CN")
ALL_PASS = {"sessions": "pass", "hours_posted": "pass", "disclosure": "pass"}


@pytest.fixture(autouse=True)
def midyear(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def _record(district, user=None, village=0, **changes):
    values = dict(inspected_on=dt.date(2026, 6, 20), kind="spot_check",
                  checklist=dict(ALL_PASS), findings="", follow_up="", follow_up_due=None)
    values.update(changes)
    actor = user if user is not None else district.users.town_coordinator
    return service.record_inspection(actor, district.villages[village], **values)


def _total(district, pairing=0):
    return {row.pairing.id: row for row in assess(2026)}[district.pairings[pairing].id]


# --- recording --------------------------------------------------------------------------------

def test_an_inspection_belongs_to_the_serving_pairing_and_is_audited_and_told(district):
    inspection = _record(district, checklist={**ALL_PASS, "worklog": "fail"},
                         findings="工作日志缺少五月份记录。", follow_up="补齐工作日志",
                         follow_up_due=dt.date(2026, 7, 15))
    assert inspection.pairing_id == district.pairings[0].id
    assert inspection.lawyer_id == district.lawyers[0].id
    assert service.failed_items(inspection) == ["worklog"]
    assert inspection.checklist["case_files"] == "unchecked"
    entry = AuditLog.get(AuditLog.action == "inspection.record")
    assert entry.object_id == str(inspection.id) and entry.detail["failed"] == ["worklog"]
    words = describe([entry], ZH)[0]  # the audit log in words: the village by its name
    assert words.action == "登记检查" and ("村(居)", district.villages[0].name) in words.facts
    notice = Notification.get(Notification.kind == "inspection")
    assert notice.user.lawyer_id == district.lawyers[0].id
    assert notice.link == f"/inspections/{inspection.id}"


@pytest.mark.parametrize("changes, field, message", [
    (dict(inspected_on=None), "inspected_on", "Give the day of the inspection."),
    (dict(inspected_on=TODAY + dt.timedelta(days=1)), "inspected_on",
     "The inspection cannot be recorded before it took place (%(day)s is in the future)."),
    (dict(kind="audit"), "kind", "Choose a visit or a spot check."),
    (dict(checklist={}), "item_sessions",
     "Mark at least one checklist item as meeting the standard or falling short."),
    (dict(checklist={"sessions": "maybe"}), "item_sessions",
     "Choose whether each item meets the standard, falls short or was not checked."),
    (dict(checklist={"sessions": "fail"}), "findings", "Say what falls short in the findings."),
    (dict(follow_up="张贴驻点时间"), "follow_up_due",
     "Give the day by which the follow-up is due."),
    (dict(follow_up="张贴驻点时间", follow_up_due=dt.date(2026, 6, 1)), "follow_up_due",
     "The follow-up cannot be due (%(due)s) before the inspection (%(day)s)."),
])
def test_bad_input_is_refused_with_a_chinese_message_and_nothing_written(
        district, changes, field, message):
    with pytest.raises(ValidationError) as refused:
        _record(district, **changes)
    assert refused.value.field == field and refused.value.message == message
    assert ZH(message) != message  # the district reads it in Chinese
    assert Inspection.select().count() == 0
    assert not AuditLog.select().where(AuditLog.action == "inspection.record").exists()


def test_a_town_coordinator_cannot_inspect_another_town(district):
    # villages 0-2 are in town 1, village 3 in town 2
    with pytest.raises(PermissionDenied):
        _record(district, user=district.users.town_coordinator, village=3)
    for user in (district.users.lawyer, district.users.village):
        with pytest.raises(PermissionDenied):
            _record(district, user=user)
    assert Inspection.select().count() == 0
    assert _record(district, user=district.users.other_town_coordinator, village=3)
    assert _record(district, user=district.users.coordinator, village=1)


def test_who_reads_inspections(district):
    mine = _record(district)
    other = _record(district, user=district.users.other_town_coordinator, village=3)
    users = district.users
    ids = lambda user: sorted(i.id for i in service.inspections_visible_to(user))  # noqa: E731
    assert ids(users.coordinator) == sorted([mine.id, other.id])
    assert ids(users.town_coordinator) == [mine.id]
    assert ids(users.other_town_coordinator) == [other.id]
    assert ids(users.lawyer) == [mine.id]  # the pairing's lawyer (lawyer 0, village 0)
    assert ids(users.village) == []


def test_the_follow_up_is_recorded_done_once_within_its_dates(district):
    inspection = _record(district, checklist={"hours_posted": "fail"}, findings="未张贴驻点时间",
                         follow_up="张贴驻点时间", follow_up_due=dt.date(2026, 6, 25))
    assert service.follow_up_late(inspection)  # open after its due date
    with pytest.raises(ValidationError) as refused:
        service.close_follow_up(district.users.town_coordinator, inspection,
                                done_on=dt.date(2026, 6, 1), note="已张贴")
    assert refused.value.field == "done_on"
    with pytest.raises(ValidationError) as refused:
        service.close_follow_up(district.users.town_coordinator, inspection,
                                done_on=dt.date(2026, 6, 24), note=" ")
    assert refused.value.field == "note"
    assert Inspection.get_by_id(inspection.id).follow_up_done_on is None
    with pytest.raises(PermissionDenied):
        service.close_follow_up(district.users.other_town_coordinator, inspection,
                                done_on=dt.date(2026, 6, 24), note="已张贴")
    service.close_follow_up(district.users.town_coordinator, inspection,
                            done_on=dt.date(2026, 6, 24), note="已张贴")
    stored = Inspection.get_by_id(inspection.id)
    assert stored.follow_up_done_on == dt.date(2026, 6, 24) and not service.follow_up_late(stored)
    assert AuditLog.get(AuditLog.action == "inspection.follow_up").detail["late"] is False
    with pytest.raises(ValidationError):
        service.close_follow_up(district.users.town_coordinator, stored,
                                done_on=dt.date(2026, 6, 30), note="再次")


# --- the assessment -------------------------------------------------------------------------

def test_the_assessment_takes_points_off_as_documented(district):
    before = _total(district).total
    _record(district)  # everything checked meets the standard: nothing off
    assert _total(district).total == before and _total(district).deduction == 0
    _record(district, checklist={"sessions": "fail", "disclosure": "fail", "worklog": "pass"},
            findings="坐班次数不足，公示栏缺少照片。")
    row = _total(district)
    assert (row.figures.inspections, row.figures.failed_items) == (2, 2)
    assert row.deduction == 4 and row.total == round(before - 4, 1)  # 2 points per item
    # a follow-up past its due date and not done: 5 points more
    _record(district, checklist={"contact_card": "pass"}, follow_up="发放联系卡",
            follow_up_due=dt.date(2026, 6, 30))
    row = _total(district)
    assert row.figures.follow_ups_late == 1 and row.deduction == 9
    # other pairings lose nothing
    assert _total(district, 1).deduction == 0
    sheet = assessment_sheet(district.pairings[0], 2026)
    assert sheet.deduction == 9 and len(sheet.details["inspections"]) == 3


def test_the_deduction_is_capped_and_set_by_the_operator(district, monkeypatch):
    before = _total(district).total
    every_item_fails = {item: "fail" for item in ("sessions", "hours_posted", "publicity",
                                                  "worklog", "case_files", "matters",
                                                  "disclosure", "contact_card",
                                                  "wechat_group")}
    for _ in range(2):
        _record(district, checklist=every_item_fails, findings="各项均不达标。")
    assert _total(district).deduction == 20  # 18 items × 2 = 36, capped at 20
    monkeypatch.setenv("JIEDUI_ASSESSMENT_INSPECTIONS", "item=1,cap=10")
    assert _total(district).deduction == 10
    monkeypatch.setenv("JIEDUI_ASSESSMENT_INSPECTIONS", "item=0,follow_up=0")
    assert _total(district).total == before
    with pytest.raises(ConfigError):
        assessment_settings({"JIEDUI_ASSESSMENT_INSPECTIONS": "items=2"})
    with pytest.raises(ConfigError):
        assessment_settings({"JIEDUI_ASSESSMENT_INSPECTIONS": "cap=-1"})


# --- the pages --------------------------------------------------------------------------------

def _form(village_id, **changes):
    data = {"village": str(village_id), "inspected_on": "2026-06-20", "kind": "visit",
            "item_sessions": "pass", "item_hours_posted": "fail",
            "findings": "未张贴驻点时间。", "follow_up": "张贴驻点时间",
            "follow_up_due": "2026-07-10"}
    data.update(changes)
    return data


def test_a_coordinator_records_an_inspection_in_the_browser(district, login):
    client = login(district.users.town_coordinator)
    village = district.villages[0]
    page = client.get(f"/inspections/new?village={village.id}")
    assert page.status_code == 200 and "坐班" in page.get_data(as_text=True)
    response = client.post("/inspections/new", data=_form(village.id))
    inspection = Inspection.get()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/inspections/{inspection.id}")
    detail = client.get(f"/inspections/{inspection.id}").get_data(as_text=True)
    assert "未张贴驻点时间。" in detail and "2026-07-10" in detail
    results = lambda query: client.get(f"/inspections/?{query}", headers={  # noqa: E731
        "HX-Request": "true"}).get_data(as_text=True)  # the list, without its filters
    link = f"/inspections/{inspection.id}"
    assert link in results("outcome=failed") and link in results("outcome=follow_up_open")
    assert link not in results("outcome=passed")
    assert link in results(f"village={village.id}")
    assert link not in results(f"village={district.villages[1].id}")
    assert link in client.get(f"/villages/{village.code}").get_data(as_text=True)
    # the follow-up done
    done = client.post(f"/inspections/{inspection.id}/follow-up",
                       data={"done_on": "2026-06-30", "note": "已在公示栏张贴。"})
    assert done.status_code == 302
    assert Inspection.get_by_id(inspection.id).follow_up_note == "已在公示栏张贴。"


def test_a_refused_form_comes_back_in_chinese_with_what_was_typed(district, login):
    client = login(district.users.town_coordinator)
    response = client.post("/inspections/new", data=_form(district.villages[0].id,
                                                          findings=""))
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ZH("Say what falls short in the findings.") in text
    assert "张贴驻点时间" in text and "2026-07-10" in text  # nothing typed is lost
    assert Inspection.select().count() == 0


def test_pages_answer_by_scope(district, login):
    inspection = _record(district)
    other = _record(district, user=district.users.other_town_coordinator, village=3)
    client = login(district.users.town_coordinator)
    assert client.get(f"/inspections/{other.id}").status_code == 404
    refused = client.post("/inspections/new", data=_form(district.villages[3].id,
                                                         item_hours_posted="pass"))
    assert refused.status_code == 422 and Inspection.select().count() == 2
    lawyer = login(district.users.lawyer)
    assert lawyer.get(f"/inspections/{inspection.id}").status_code == 200
    assert lawyer.get("/inspections/new").status_code == 403
    sheet = lawyer.get(f"/assessment/{district.pairings[0].id}?year=2026")
    assert f"/inspections/{inspection.id}" in sheet.get_data(as_text=True)
    failed = _record(district, checklist={"worklog": "fail"}, findings="日志缺失")
    sheet = lawyer.get(f"/assessment/{district.pairings[0].id}?year=2026").get_data(as_text=True)
    assert "检查扣分 −2.0" in sheet and f"/inspections/{failed.id}" in sheet
    village = login(district.users.village)
    assert village.get(f"/inspections/{inspection.id}").status_code in (403, 404)


def test_the_demo_shows_inspections_in_the_town_and_on_the_lawyers_sheet(demo_db, monkeypatch,
                                                                       login):
    monkeypatch.undo()  # the demo's own today
    from core.demo import DEMO_LOGINS, DEMO_PASSWORD
    from core.models import User
    town = User.get(User.username == DEMO_LOGINS["town coordinator"][0])
    lawyer = User.get(User.username == DEMO_LOGINS["lawyer"][0])
    seen = list(service.inspections_visible_to(town))
    assert len(seen) == 3 and list(service.inspections_visible_to(lawyer)) == seen
    assert sum(service.follow_up_open(i) for i in seen) == 1
    assert not any(service.follow_up_late(i) for i in seen)
    client = login(town, DEMO_PASSWORD)
    page = client.get("/inspections/?outcome=follow_up_open", headers={"HX-Request": "true"})
    assert page.get_data(as_text=True).count('href="/inspections/') == 1
