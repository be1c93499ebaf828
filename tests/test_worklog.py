"""The work log (DOMAIN 五.2): lawyers log their services, coordinators read and export the
entries of their scope; held sessions write their entry once; the web list and export."""
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

from core import clock
from core.errors import PermissionDenied, ValidationError
from core.events import record_held
from core.models import AuditLog, WorkLog
from core.pairings import pair
from core.worklog import (EXPORT_COLUMNS, export_logs, filter_logs, log_service,
                          logs_visible_to)
from tests.planning_support import make_event, now, published, utc  # noqa: F401 (fixtures)
from tests.xlsx_support import TRICKY_TEXTS, assert_stored_as_text

NOW = dt.datetime(2026, 3, 10, 8, 0)  # 16:00 in the district


@pytest.fixture
def clock_at(now):
    now(NOW)
    return now


LAWYER = object()  # the default actor: the lawyer user of 张明


def _log(district, actor=LAWYER, **fields):
    values = dict(lawyer=district.lawyers[0], village=district.villages[0],
                  occurred_at=utc(2026, 3, 9, 9, 0), duration_minutes=90, mode="phone",
                  content="电话咨询：土地承包纠纷", result="已答复", category="publicity")
    values.update(fields)
    return log_service(district.users.lawyer if actor is LAWYER else actor, **values)


# --- rules ---------------------------------------------------------------------------------

def test_a_lawyer_logs_their_own_service(district, clock_at):
    entry = _log(district)
    fresh = WorkLog.get_by_id(entry.id)
    assert (fresh.lawyer_id, fresh.village_id, fresh.mode, fresh.duration_minutes,
            fresh.content, fresh.result, fresh.occurred_at) == (
        district.lawyers[0].id, district.villages[0].id, "phone", 90,
        "电话咨询：土地承包纠纷", "已答复", utc(2026, 3, 9, 9, 0))
    assert fresh.created_by_id == district.users.lawyer.id
    assert AuditLog.get(AuditLog.action == "worklog.create").object_id == str(entry.id)


def test_a_coordinator_logs_for_a_lawyer_of_their_scope(district, clock_at):
    entry = _log(district, district.users.town_coordinator)
    assert entry.created_by_id == district.users.town_coordinator.id


@pytest.mark.parametrize("fields, words", [
    (dict(content="   "), "Say what the service was"),
    (dict(mode="carrier pigeon"), "how the service was given"),
    (dict(duration_minutes=-1), "between 0 and 1440"),
    (dict(duration_minutes=1441), "between 0 and 1440"),
    (dict(duration_minutes="60"), "between 0 and 1440"),
    (dict(occurred_at=utc(2026, 3, 11, 9, 0)), "once it has happened"),
    (dict(village=None), "Choose the village"),
])
def test_bad_input_is_refused_and_nothing_written(district, clock_at, fields, words):
    with pytest.raises(ValidationError, match=words):
        _log(district, **fields)
    assert WorkLog.select().count() == 0


def test_a_village_the_lawyer_does_not_serve_is_refused(district, clock_at):
    with pytest.raises(ValidationError, match="not paired"):
        _log(district, village=district.villages[1])
    assert WorkLog.select().count() == 0


@pytest.mark.parametrize("who, fields", [
    ("lawyer", dict(lawyer_index=1)),  # another lawyer's service
    ("village", {}),
    ("other_town_coordinator", {}),  # village 1 lies in town 1
])
def test_logging_outside_ones_scope_is_refused(district, clock_at, who, fields):
    lawyer = district.lawyers[fields.get("lawyer_index", 0)]
    village = district.villages[fields.get("lawyer_index", 0)]
    with pytest.raises(PermissionDenied):
        _log(district, getattr(district.users, who), lawyer=lawyer, village=village)
    assert WorkLog.select().count() == 0


# --- scopes --------------------------------------------------------------------------------

@pytest.fixture
def three_entries(district, clock_at):
    """Entries of 张明 (village 1, town 1), 李华 (village 2, town 1), 赵强 (village 4, town 2)."""
    return [_log(district, None, lawyer=district.lawyers[i], village=district.villages[i],
                 occurred_at=utc(2026, 3, 1 + i, 10), mode=("phone", "onsite", "wechat", "fax")[i])
            for i in (0, 1, 3)]


@pytest.mark.parametrize("who, expected", [
    ("admin", [0, 1, 3]), ("coordinator", [0, 1, 3]), ("town_coordinator", [0, 1]),
    ("other_town_coordinator", [3]), ("lawyer", [0]), ("village", []),
])
def test_who_reads_which_entries(district, three_entries, who, expected):
    seen = {e.lawyer_id for e in logs_visible_to(getattr(district.users, who))}
    assert seen == {district.lawyers[i].id for i in expected}


def test_filters_narrow_the_list(district, three_entries):
    everything = logs_visible_to(district.users.coordinator)
    assert [e.village_id for e in filter_logs(everything, mode="onsite")] == [
        district.villages[1].id]
    by_day = filter_logs(everything, date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 2))
    assert [e.lawyer_id for e in by_day] == [district.lawyers[1].id]
    assert filter_logs(everything, lawyer_id=district.lawyers[3].id).count() == 1


# --- held sessions -------------------------------------------------------------------------

def test_a_held_session_writes_one_entry(district, now, published):
    now(dt.datetime(2025, 12, 1))
    event = make_event(district.pairings[0], dt.date(2026, 3, 2), "am")
    now(dt.datetime(2026, 3, 3))
    record_held(None, event, start=utc(2026, 3, 2, 8, 30), end=utc(2026, 3, 2, 12, 0))
    record_held(None, event, start=utc(2026, 3, 2, 8, 30), end=utc(2026, 3, 2, 12, 30))
    entries = list(WorkLog.select().where(WorkLog.event == event.id))
    assert len(entries) == 1
    assert (entries[0].mode, entries[0].content, entries[0].duration_minutes,
            entries[0].lawyer_id, entries[0].category) == (
        "onsite", f"在{district.villages[0].name}坐班，接待村(居)民法律咨询", 240,
        district.lawyers[0].id, "publicity")


def test_a_held_publicity_event_is_logged_as_publicity(district, now, published):
    now(dt.datetime(2025, 12, 1))
    event = make_event(district.pairings[0], dt.date(2026, 3, 2), "pm", kind="publicity")
    now(dt.datetime(2026, 3, 3))
    record_held(None, event, start=utc(2026, 3, 2, 14), end=utc(2026, 3, 2, 16))
    assert WorkLog.get(WorkLog.event == event.id).content == \
        f"在{district.villages[0].name}开展现场法制宣传"


# --- export --------------------------------------------------------------------------------

def test_the_export_reads_back(district, three_entries):
    headers = dict(zip(EXPORT_COLUMNS, ("时间", "律师", "村(居)", "方式", "类别", "时长",
                                        "内容", "结果", "案卷")))
    body = export_logs(logs_visible_to(district.users.town_coordinator), headers=headers,
                       mode_labels={"phone": "电话"},
                       category_labels={"publicity": "法治宣传", None: "未分类"},
                       user=district.users.town_coordinator)
    sheet = load_workbook(io.BytesIO(body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("时间", "律师", "村(居)", "方式", "类别", "时长", "内容", "结果", "案卷")
    assert len(rows) == 3  # town 1's two entries, newest first
    assert rows[2][:6] == (dt.datetime(2026, 3, 1, 10, 0), "张明", district.villages[0].name,
                           "电话", "法治宣传", 90)
    assert rows[1][3] == "onsite"  # an unnamed mode shows its key
    assert AuditLog.get(AuditLog.action == "worklog.export").detail == {"entries": 2}


# --- web -----------------------------------------------------------------------------------

def test_the_list_shows_the_scope_only(district, three_entries, login):
    client = login(district.users.other_town_coordinator)
    assert client.get("/records/log").status_code == 200
    results = client.get("/records/log", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "赵强" in results and "张明" not in results


def test_village_users_may_not_open_the_log(district, login):
    assert login(district.users.village).get("/records/log").status_code == 403


def test_a_lawyer_logs_through_the_form(district, clock_at, login):
    client = login(district.users.lawyer)
    response = client.post("/records/log", data={
        "village": district.villages[0].id, "occurred_at": "2026-03-09T09:00",
        "duration": "1.5", "mode": "onsite", "category": "mediation", "content": "调解邻里纠纷",
        "result": "达成协议"})
    assert response.status_code == 303
    entry = WorkLog.get()
    assert response.headers["Location"].endswith(f"/records/log/{entry.id}")
    assert (entry.content, entry.occurred_at, entry.lawyer_id, entry.duration_minutes,
            entry.category) == ("调解邻里纠纷", utc(2026, 3, 9, 9, 0), district.lawyers[0].id,
                                90, "mediation")


def test_a_refused_form_says_why_and_writes_nothing(district, clock_at, login):
    client = login(district.users.lawyer)
    response = client.post("/records/log", data={
        "village": district.villages[0].id, "occurred_at": "2026-03-12T09:00",
        "duration": "1", "mode": "onsite", "category": "mediation", "content": "x"})
    assert response.status_code == 422
    assert "once it has happened" in response.get_data(as_text=True) or \
        "服务完成后方可登记" in response.get_data(as_text=True)
    assert WorkLog.select().count() == 0


def test_coordinators_export_lawyers_may_not(district, three_entries, login):
    client = login(district.users.town_coordinator)
    response = client.get("/records/log.xlsx?mode=phone")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "张明"
    assert login(district.users.lawyer).get("/records/log.xlsx").status_code == 403


def test_an_ended_pairing_still_lets_the_lawyer_log_past_work(district, clock_at):
    from core.pairings import end_pairing
    end_pairing(None, district.pairings[0], ended_on=dt.date(2026, 3, 5), reason="test")
    pair(None, lawyer=district.lawyers[1], village=district.villages[0],
         term_start=dt.date(2026, 3, 6), term_end=dt.date(2028, 12, 31))
    assert _log(district, occurred_at=utc(2026, 3, 4, 9)).village_id == district.villages[0].id
    assert clock.local_date(WorkLog.get().occurred_at) == dt.date(2026, 3, 4)


def test_the_export_stores_text_as_text_never_as_a_formula(district, clock_at):
    for n, text in enumerate(TRICKY_TEXTS):
        _log(district, content=text, result=text, occurred_at=utc(2026, 3, 9, n))
    assert_stored_as_text(export_logs(logs_visible_to(district.users.coordinator)))


def test_a_lawyer_may_report_a_major_matter_from_their_own_entries(district, three_entries,
                                                                   login):
    mine = three_entries[0]
    link = f'href="/matters/new?work_log={mine.id}"'
    html = login(district.users.lawyer).get("/records/log").get_data(as_text=True)
    assert link in html and html.count('href="/matters/new?work_log=') == 1  # theirs only
    for user in (district.users.town_coordinator, district.users.admin):
        html = login(user).get("/records/log").get_data(as_text=True)
        assert "张明" in html and "/matters/new" not in html, user.username


def _lawyer_filter(client) -> list[str]:
    html = client.get("/records/log").get_data(as_text=True)
    select = html[html.index('<select name="lawyer"'):]
    return re.findall(r'<option value="\d+" ?>([^<]*)</option>', select[:select.index("</select>")])


def test_a_town_coordinator_filters_by_the_lawyers_of_their_town_only(district, login):
    from core.pairings import end_pairing
    end_pairing(None, district.pairings[1], ended_on=dt.date(2026, 3, 5), reason="test")
    names = [lawyer.name for lawyer in district.lawyers]
    # town 1: 张明 and 王芳 paired now, 李华 before; 赵强 is town 2's
    assert sorted(_lawyer_filter(login(district.users.town_coordinator))) == sorted(names[:3])
    assert _lawyer_filter(login(district.users.other_town_coordinator)) == [names[3]]
    assert sorted(_lawyer_filter(login(district.users.coordinator))) == sorted(names)
