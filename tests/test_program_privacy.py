"""What the programmes' sensitive tasks show to whom (core.privacy), with the real plugins.

A household visit, a key-population visit, a legal-aid case and a village's screening are
done in 东湖1村 by 李华 (assigned there, though 张明 is the village's lawyer), on a day
and at times the tests know. The village's users and 张明 ("another lawyer") may read the
task, but see none of its answers, its title, its free text or a time finer than the
month — on the task's page, in the list, in the ledger, in the work log and in the
calendar — and each of their views is audited. The assignee and the town's coordinator
see all of it.
"""
import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from core import clock, plugins
from core.ledger import export_ledger
from core.models import AuditLog, Task, WorkLog
from core.progress import weekly_trend
from core.tasks import assign_task, complete_task, schedule_task
from core.testing import installed_only
from core.users import create_user
from core.worklog import export_logs
from tests import factories

DAY = dt.date(2026, 3, 5)  # a Thursday, a workday
DUE = dt.date(2026, 3, 20)
TITLE = "走访王建国家"  # a coordinator wrote a name into the title
RESULT = "当事人同意下周再谈"  # the free text of the work log

# per task type: its programme, the form's data, and what the data shows to who may see
# it (a text typed in, or a choice's label) and that nobody else may see
CASES = {
    "household_visit": dict(
        program="family_visits",
        data={"household": "王建国", "address": "第三村民小组12号",
              "members": "户主王建国、妻子李秀英、儿子王磊",
              "dispute_types": ["domestic_violence"], "risk_signs": ["extreme_tendency"],
              "actions": "讲解《反家庭暴力法》及人身安全保护令申请程序", "referral": "petition",
              "registered": "y"},
        secrets=["王建国", "第三村民小组12号", "李秀英", "家庭暴力", "有极端倾向", "信访部门",
                 "人身安全保护令"]),
    "person_visit": dict(
        program="key_populations",
        data={"person": "张小雨", "category": "left_behind_child",
              "needs": "在校遭受同学欺凌", "publicity": "开展未成年人自我保护教育"},
        secrets=["张小雨", "留守儿童", "同学欺凌", "自我保护教育"]),
    "aid_case": dict(
        program="legal_aid",
        data={"case_number": "（2025）法援字第017号", "applicant": "王桂兰",
              "groups": ["disabled", "minors"], "matter": "赡养纠纷", "kind": "non_litigation",
              "stage": "closed", "outcome": "经调解双方达成协议，受援人获赔12000元。"},
        secrets=["法援字第017号", "王桂兰", "残疾人", "未成年人", "赡养纠纷", "12000"],
        public=["非诉纠纷（提前介入）", "结案"]),
    "village_screening": dict(
        program="family_visits",
        data={"findings": "本周排查农户80户，王家长期分居", "households_flagged": "2",
              "follow_up": "对王家逐户包案，两周内回访"},
        secrets=["王家长期分居", "逐户包案"]),
}
# the times of the task, local: scheduled 14:00–16:00, served from 14:10 for 95 minutes,
# recorded done at 16:42; assigned on 1 March at 08:05; due on the 20th
TIMES = ["14:00", "16:00", "14:10", "16:42", "08:05", DAY.isoformat(), DUE.isoformat(),
         "2026-03-01"]


@pytest.fixture(autouse=True)
def _programmes():
    with installed_only("family_visits", "key_populations", "legal_aid", "village_surveys"):
        yield


def local(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return clock.utc_from_local(day, dt.time(hour, minute))


@pytest.fixture(params=list(CASES))
def done(request, district):
    """The task of one type, done as the module says; the readers by what they may see."""
    kind = request.param
    case = CASES[kind]
    assignee = create_user("lawyer-li", factories.PASSWORD, "lawyer", lawyer=district.lawyers[1])
    task = assign_task(district.users.coordinator, program=case["program"], task_type=kind,
                       village=district.villages[0], assignee=district.lawyers[1], due_on=DUE,
                       title=TITLE)
    schedule_task(assignee, task, starts_at=local(DAY, 14, 0), ends_at=local(DAY, 16, 0))
    complete_task(assignee, Task.get_by_id(task.id), MultiDict(case["data"]), mode="onsite",
                  result=RESULT, duration_minutes=95, occurred_at=local(DAY, 14, 10))
    Task.update(completed_at=local(DAY, 16, 42), created_at=local(dt.date(2026, 3, 1), 8, 5)) \
        .where(Task.id == task.id).execute()
    users = district.users
    return dict(kind=kind, case=case, task=Task.get_by_id(task.id),
                restricted={"village": users.village, "another lawyer": users.lawyer},
                full={"assignee": assignee, "coordinator": users.town_coordinator})


def views(action, task=None):
    query = AuditLog.select().where(AuditLog.action == action)
    if task is not None:
        query = query.where(AuditLog.object_id == str(task.id))
    return [(entry.username, entry.detail) for entry in query.order_by(AuditLog.id)]


def leaks(text: str, done: dict) -> list[str]:
    """What ``text`` shows that a restricted reader may not see."""
    found = [s for s in done["case"]["secrets"] + [TITLE, RESULT] + TIMES if s in text]
    return found + (["95 minutes"] if ">95<" in text else [])


# --- the task's page ---------------------------------------------------------------------

def test_the_page_shows_the_village_and_another_lawyer_no_answer_title_or_time(done, login):
    task = done["task"]
    for name, reader in done["restricted"].items():
        html = login(reader).get(f"/tasks/{task.id}").get_data(as_text=True)
        assert leaks(html, done) == [], name
        assert "2026-03" in html and "东湖1村" in html  # the month and the village
        for public in done["case"].get("public", []):
            assert public in html, name  # legal aid: how the case is handled, its stage
    # each page view is audited once, naming what it showed (legal aid: its public fields)
    shown = ["kind", "stage"] if done["case"].get("public") else []
    assert views("task.view_masked", task) == [("village", {"via": "page", "shown": shown}),
                                               ("lawyer", {"via": "page", "shown": shown})]
    assert views("task.view_sensitive", task) == []
    # the assignee and the town's coordinator see all of it, their reads audited as such
    for name, reader in done["full"].items():
        html = login(reader).get(f"/tasks/{task.id}").get_data(as_text=True)
        for shown in done["case"]["secrets"] + [TITLE, RESULT, "14:00", "14:10", "16:42",
                                                 DUE.isoformat(), ">95<"]:
            assert shown in html, (name, shown)
    assert [user for user, _detail in views("task.view_sensitive", task)] == [
        "lawyer-li", "coord-t1"]
    assert len(views("task.view_masked", task)) == 2  # none more


# --- the list ----------------------------------------------------------------------------

def test_the_list_shows_the_type_and_the_month_and_is_audited(done, login):
    task = done["task"]
    for name, reader in done["restricted"].items():
        html = login(reader).get("/tasks/").get_data(as_text=True)
        assert f'href="/tasks/{task.id}"' in html, name
        assert leaks(html, done) == [] and "2026-03" in html, name
        # nor can a search find the title it does not show
        found = login(reader).get("/tasks/?q=王建国", headers={"HX-Request": "true"})
        assert f'href="/tasks/{task.id}"' not in found.get_data(as_text=True), name
    assert [(user, detail["via"], detail["tasks"])
            for user, detail in views("task.view_masked")] == [
        ("village", "list", [task.id]), ("lawyer", "list", [task.id])]
    html = login(done["full"]["coordinator"]).get("/tasks/").get_data(as_text=True)
    assert TITLE in html and DUE.isoformat() in html


def sheet_text(data: bytes) -> str:
    book = load_workbook(io.BytesIO(data))
    return "\n".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
                     for cell in row if cell is not None)


def test_the_lists_export_shows_them_what_the_list_shows_and_is_audited(done, login):
    task = done["task"]
    for name, reader in done["restricted"].items():
        response = login(reader).get("/tasks/export.xlsx")
        assert response.status_code == 200, name
        text = sheet_text(response.data)
        assert leaks(text, done) == [] and "2026-03" in text, name  # the month only
    assert [(user, detail["via"], detail["tasks"])
            for user, detail in views("task.view_masked")] == [
        ("village", "export", [task.id]), ("lawyer", "export", [task.id])]
    text = sheet_text(login(done["full"]["coordinator"]).get("/tasks/export.xlsx").data)
    assert TITLE in text and DUE.isoformat() in text


# --- the ledger --------------------------------------------------------------------------

def ledger_text(program: str, user) -> str:
    return sheet_text(export_ledger(program, Task.select(), user=user))


def test_the_ledger_shows_them_no_answer_or_day_and_is_audited(done):
    task, program = done["task"], done["case"]["program"]
    for name, reader in done["restricted"].items():
        text = ledger_text(program, reader)
        assert leaks(text, done) == [], name
        assert "2026-03" in text and "东湖1村" in text, name
    assert [(user, detail) for user, detail in views("task.view_masked")] == [
        (user, {"via": "ledger", "program": program, "tasks": [task.id]})
        for user in ("village", "lawyer")]
    for name, reader in done["full"].items():
        text = ledger_text(program, reader)
        assert all(shown in text for shown in done["case"]["secrets"]), name
        assert "2026-03-05 16:42" in text and DUE.isoformat() in text, name


# --- the work log ------------------------------------------------------------------------

def log_rows(user) -> list[list]:
    """Every work-log entry exported as ``user`` would see it (the core's rule, whatever
    the query: the web's lists hold fewer)."""
    book = load_workbook(io.BytesIO(export_logs(WorkLog.select(), user=user)))
    return [list(row) for row in book.active.iter_rows(values_only=True)][1:]


def test_the_work_log_entry_of_the_task_says_only_its_type_and_month(done, login):
    kind = plugins.get_registry().task_types[done["kind"]]
    task, type_name = done["task"], kind.name
    for name, reader in done["restricted"].items():  # the category is the type's duty
        assert log_rows(reader) == [["2026-03", "李华", "东湖1村", "onsite", kind.duty, None,
                                     type_name, None, None]], name
    assert [(user, detail) for user, detail in views("task.view_masked")] == [
        (user, {"via": "worklog", "tasks": [task.id]}) for user in ("village", "lawyer")]
    for name, reader in done["full"].items():
        [row] = log_rows(reader)
        assert row[0] == dt.datetime(2026, 3, 5, 14, 10) and row[5] == 95, name
        assert TITLE in row[6] and row[7] == RESULT, name
    # on the web: a village has no work log, another lawyer only their own entries
    assert login(done["restricted"]["village"]).get("/records/log").status_code == 403
    html = login(done["restricted"]["another lawyer"]).get("/records/log").get_data(as_text=True)
    assert leaks(html, done) == []


# --- the calendar ------------------------------------------------------------------------

def test_the_calendar_leaves_the_slot_out_for_them(done, login):
    event_id = done["task"].event_id
    for name, reader in done["restricted"].items():
        client = login(reader)
        html = client.get("/calendar/village/T1V1?month=2026-03").get_data(as_text=True)
        assert f"/calendar/events/{event_id}" not in html, name
        assert TITLE not in html and "14:00" not in html, name  # (the grid shows every day)
        assert client.get(f"/calendar/events/{event_id}").status_code == 404, name
    client = login(done["full"]["coordinator"])
    html = client.get("/calendar/village/T1V1?month=2026-03").get_data(as_text=True)
    assert f"/calendar/events/{event_id}" in html
    assert client.get(f"/calendar/events/{event_id}").status_code == 200


# --- the progress trend ------------------------------------------------------------------

def test_the_weekly_trend_counts_a_visit_only_for_who_sees_its_day(district):
    assignee = create_user("lawyer-li", factories.PASSWORD, "lawyer", lawyer=district.lawyers[1])
    task = assign_task(None, program="family_visits", task_type="household_visit",
                       village=district.villages[0], assignee=district.lawyers[1])
    complete_task(assignee, task, MultiDict(CASES["household_visit"]["data"]))
    Task.update(completed_at=local(DAY, 16, 42)).where(Task.id == task.id).execute()

    def total(user):
        return sum(n for _week, n in weekly_trend("households_visited", user=user,
                                                  today=dt.date(2026, 3, 10)))
    assert [total(user) for user in (assignee, district.users.town_coordinator,
                                     district.users.lawyer)] == [1, 1, 0]


# --- a programme without sensitive fields --------------------------------------------------

def test_a_survey_shows_the_village_its_public_fields_and_times_not_its_free_text(district,
                                                                                 login):
    """A type without sensitive fields keeps its title and times; its free text, which may
    name a family, is not public."""
    data = {"village": "T1V1", "key_groups": "留守儿童12人", "legal_needs": "赡养咨询较多",
            "rules_status": "needs_revision", "legal_problems": "王家赡养纠纷反复",
            "findings": "建议修订村规民约"}
    task = assign_task(None, program="village_surveys", task_type="village_survey",
                       village=district.villages[0], due_on=DUE, title="东湖1村调研")
    complete_task(None, task, MultiDict(data))
    html = login(district.users.village).get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "东湖1村调研" in html and DUE.isoformat() in html  # title and day: not sensitive
    assert "已制定，需要修订完善" in html  # the state of the village's rules is public
    for text in ("留守儿童12人", "赡养咨询较多", "王家赡养纠纷反复", "建议修订村规民约"):
        assert text not in html
    assert views("task.view_masked", task) == [
        ("village", {"via": "page", "shown": ["village", "rules_status"]})]
