"""The work systems' "done when", on the demo district, through the web as users do it:
a lawyer logs a service, opens a case with an attachment and reports a major matter; the
coordinator is notified, acknowledges and closes it; a village's public page and contact
card show the disclosed information; the assessment lists all 131 pairings and exports."""
import datetime as dt
import io
import re

import openpyxl
import pytest

from core import clock
from core.demo import DEMO_LOGINS, load_demo
from core.models import (Attachment, CaseFile, MajorMatter, Notification, Pairing, User,
                         WorkLog)

pytestmark = pytest.mark.slow  # the demo district, loaded or copied


@pytest.fixture
def demo(demo_db):
    return demo_db  # the district, its users, its programme tasks and this year's calendar


def _log_in(client, role):
    username, password = DEMO_LOGINS[role]
    client.post("/logout")
    assert client.post("/login", data={"username": username, "password": password}).status_code == 302
    return User.get(User.username == username)


def test_the_work_systems_on_the_demo_district(demo, client):
    lawyer_user = _log_in(client, "lawyer")
    village = (Pairing.select().where((Pairing.lawyer == lawyer_user.lawyer_id)
                                      & (Pairing.status == "active")).first().village)
    an_hour_ago = clock.to_local(clock.now_utc() - dt.timedelta(hours=1))

    # a service in the work log
    logged = client.post("/records/log", data={
        "village": village.id, "occurred_at": an_hour_ago.strftime("%Y-%m-%dT%H:%M"),
        "duration": "1.5", "mode": "onsite", "category": "mediation", "content": "调解宅基地纠纷",
        "result": "达成协议"})
    assert logged.status_code in (200, 302, 303), logged.get_data(as_text=True)[:500]
    assert WorkLog.select().where(WorkLog.content == "调解宅基地纠纷").count() == 1

    # a case file with an attachment
    opened = client.post("/records/cases/new", data={
        "village": village.id, "title": "宅基地纠纷", "category": "民事",
        "opened_on": clock.today().isoformat(), "summary": ""})
    assert opened.status_code in (302, 303)
    case = CaseFile.get(CaseFile.title == "宅基地纠纷")
    assert re.fullmatch(rf"{clock.today().year}-\d{{4}}", case.number)
    uploaded = client.post(f"/records/cases/{case.id}/attachments",
                           data={"file": (io.BytesIO("调解协议".encode()), "协议.txt")},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 303 and case.attachments.count() == 1
    attachment = Attachment.get(Attachment.case == case)
    assert client.get(f"/records/attachments/{attachment.id}").data == "调解协议".encode()

    # a major matter, reported in time
    reported = client.post("/matters/new", data={
        "category": "collective", "title": "村民集体上访苗头",
        "description": "十余户村民拟集体上访", "village": village.id,
        "occurred_at": clock.to_local(clock.now_utc() - dt.timedelta(minutes=20))
        .strftime("%Y-%m-%dT%H:%M")})
    assert reported.status_code == 303
    matter = MajorMatter.get(MajorMatter.title == "村民集体上访苗头")
    assert not matter.late and matter.status == "reported"

    # the coordinator is notified, acknowledges and closes it
    coordinator = _log_in(client, "coordinator")
    assert Notification.select().where(Notification.user == coordinator).count() >= 1
    assert client.post(f"/matters/{matter.id}/acknowledge").status_code in (200, 303)
    assert client.post(f"/matters/{matter.id}/close",
                       data={"resolution": "已协调化解"}).status_code in (200, 303)
    matter = MajorMatter.get_by_id(matter.id)
    assert (matter.status, matter.resolution) == ("closed", "已协调化解")

    # the public page and the contact card (no login)
    client.post("/logout")
    lawyer = lawyer_user.lawyer
    page = client.get(f"/v/{village.code}").get_data(as_text=True)
    for disclosed in (village.name, lawyer.name, lawyer.firm.name, lawyer.phone,
                      f"{village.name}结对律师服务微信群"):
        assert disclosed in page
    assert lawyer.licence_no not in page
    card = client.get(f"/v/{village.code}/card").get_data(as_text=True)
    assert lawyer.name in card and lawyer.phone in card and "data:image/svg+xml" in card

    # the assessment: all 131 pairings, exported
    _log_in(client, "coordinator")
    exported = client.get(f"/assessment/export.xlsx?year={clock.today().year}")
    assert exported.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(exported.data)).active
    assert sheet.max_row - 1 >= 131


def test_every_held_demo_event_is_in_its_lawyers_work_log(database, monkeypatch):
    from core.models import Event
    midyear = clock.utc_from_local(dt.date(clock.today().year, 7, 1), dt.time(12))
    monkeypatch.setattr(clock, "now_utc", lambda: midyear)  # half the year is past
    monkeypatch.setattr(clock, "today", lambda: clock.local_date(midyear))
    load_demo(tasks=False)
    held = list(Event.select().where(Event.status == "held"))
    assert held, "the demo records past events of this year as held"
    entries = {entry.event_id: entry for entry in WorkLog.select().where(WorkLog.event.is_null(False))}
    for event in held:
        entry = entries[event.id]
        assert (entry.lawyer_id, entry.village_id, entry.mode) == (event.lawyer_id, event.village_id, "onsite")
        assert clock.as_utc(entry.occurred_at) == clock.as_utc(event.held_start)
    assert WorkLog.select().where(WorkLog.event.is_null(False)).count() == len(held)


def test_a_few_demo_pairings_are_behind_pace_not_all(database, monkeypatch):
    """The early warning of the demo has something to show, and is not a wall of red."""
    from core.assessment import behind_pace
    midyear = clock.utc_from_local(dt.date(clock.today().year, 7, 1), dt.time(12))
    monkeypatch.setattr(clock, "now_utc", lambda: midyear)
    monkeypatch.setattr(clock, "today", lambda: clock.local_date(midyear))
    load_demo(tasks=False)
    behind = behind_pace(midyear.year, clock.today())
    assert 5 <= len(behind) <= 131 // 5
    assert all(row.sessions_behind for row in behind)
