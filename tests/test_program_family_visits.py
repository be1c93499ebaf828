"""Programme 1, 走访100+家庭: the household visit form, the screening schedules, the
households-visited metric, the ledger and the register of households (婚姻家庭矛盾纠纷台账)."""
import datetime as dt
import re

import pytest

from core.plugins import describe, get_registry
from core.testing import (assert_examples_valid, assign_and_complete, date_cell, done,
                          fixed_headers, form_errors, installed_only, ledger_rows)
from plugins.family_visits.forms import HouseholdVisitForm, ScreeningForm

VISIT = {"household": "王建国", "address": "第三村民小组12号",
         "members": "户主王建国、妻子李秀英、儿子王磊", "dispute_types": ["in_law_conflict"],
         "risk_signs": [], "actions": "联合村调委会调解，约定一周后回访。", "referral": "none",
         "registered": "y"}


@pytest.fixture(autouse=True)
def _only_this_programme():
    with installed_only("family_visits"):
        yield


def visit(**changes) -> dict:
    data = {**VISIT, **changes}
    return {k: v for k, v in data.items() if v is not None}  # None: the field is not posted


# --- the household visit form -------------------------------------------------------------

def test_a_visit_with_the_facts_of_the_household_is_valid():
    assert form_errors(HouseholdVisitForm, VISIT) == {}
    assert form_errors(HouseholdVisitForm, visit(dispute_types=[], registered=None,
                                                 members=None, address=None)) == {}


@pytest.mark.parametrize("changes, field, message", [
    ({"household": "  "}, "household", "请填写户主姓名"),
    ({"actions": ""}, "actions", "请填写走访中采取的措施"),
    ({"dispute_types": ["gambling"]}, "dispute_types", "矛盾纠纷类型不在可选范围内"),
    ({"risk_signs": ["extreme_tendency", "drunk"]}, "risk_signs", "风险苗头不在可选范围内"),
    ({"referral": "media"}, "referral", "请选择移交部门（无需移交、公安、法院或信访）"),
    ({"household": "王" * 51}, "household", "户主姓名不超过50个字"),
])
def test_the_visit_form_rejects_bad_input_with_a_clear_message(changes, field, message):
    assert form_errors(HouseholdVisitForm, visit(**changes)) == {field: [message]}


def test_a_household_in_dispute_must_be_registered_in_the_ledger():
    """The plan: every household showing a dispute is registered case by case (逐案逐户登记)."""
    for changes in ({"dispute_types": ["domestic_violence"]},
                    {"dispute_types": [], "risk_signs": ["mental_disorder"]}):
        assert form_errors(HouseholdVisitForm, visit(registered=None, **changes)) == {
            "registered": ["发现矛盾纠纷或风险苗头的家庭须登记入台账"]}


def test_the_household_and_its_members_are_sensitive():
    task_type = get_registry().task_types["household_visit"]
    assert task_type.subject_field == "household"
    assert {"household", "members"} <= set(task_type.sensitive_fields)


@pytest.mark.parametrize("slug", ["household_visit", "village_screening", "town_screening",
                                  "district_analysis"])
def test_the_examples_are_valid_and_varied(slug):
    datas = assert_examples_valid(slug)
    if slug == "household_visit":  # a ledger needs both: households in dispute and not
        assert any(d["dispute_types"] for d in datas) and any(not d["dispute_types"] for d in datas)


# --- the screening reports and their cadence ----------------------------------------------

@pytest.mark.parametrize("data, errors", [
    ({"findings": "", "households_flagged": "0"}, {"findings": ["请填写排查情况"]}),
    ({"findings": "本周排查30户", "households_flagged": ""},
     {"households_flagged": ["请填写发现矛盾苗头的家庭数（没有请填0）"]}),
    ({"findings": "本周排查30户", "households_flagged": "两户"},
     {"households_flagged": ["家庭数应为整数"]}),
    ({"findings": "本周排查30户", "households_flagged": "-1"},
     {"households_flagged": ["家庭数应为0到10000之间的整数"]}),
    ({"findings": "本周排查30户", "households_flagged": "2"},
     {"follow_up": ["发现矛盾苗头的家庭时，请填写后续跟进措施"]}),
])
def test_the_screening_form_rejects_bad_input_with_a_clear_message(data, errors):
    assert form_errors(ScreeningForm, data) == errors


def test_a_screening_that_found_nothing_needs_no_follow_up():
    assert form_errors(ScreeningForm, {"findings": "本周排查30户，未发现苗头",
                                       "households_flagged": "0"}) == {}


def test_the_screening_cadence_is_weekly_by_village_monthly_by_town_quarterly_by_district():
    schedules = {s.slug: s for s in get_registry().schedules.values()
                 if s.program == "family_visits"}
    assert {slug: (s.task_type, s.scope, s.cron) for slug, s in schedules.items()} == {
        "weekly_village_screening": ("village_screening", "village",
                                     {"minute": "0", "hour": "9", "day_of_week": "1"}),
        "monthly_town_screening": ("town_screening", "town",
                                   {"minute": "0", "hour": "9", "day": "1"}),
        "quarterly_district_analysis": ("district_analysis", "district",
                                        {"minute": "0", "hour": "9", "day": "1",
                                         "month": "1,4,7,10"}),
    }


def test_jiedui_plugins_lists_the_programme_with_its_task_types_metric_and_schedules():
    listing = describe()
    assert any(p["slug"] == "family_visits" and p["name"] == "走访100+家庭" and p["order"] == 1
               for p in listing["programs"])
    assert {t["slug"] for t in listing["task_types"] if t["program"] == "family_visits"} == {
        "household_visit", "village_screening", "town_screening", "district_analysis"}
    assert [(m["slug"], m["distinct_field"]) for m in listing["metrics"]
            if m["program"] == "family_visits"] == [("households_visited", "household")]
    assert len([s for s in listing["schedules"] if s["program"] == "family_visits"]) == 3


# --- the metric -----------------------------------------------------------------------------

def test_households_visited_counts_done_visits_of_distinct_households(district):
    from core.tasks import assign_task
    users, village = district.users, district.villages[0]

    def visit_done(**changes):
        return assign_and_complete(users.coordinator, users.lawyer, program="family_visits",
                                   task_type="household_visit", village=village,
                                   data=visit(**changes))

    visit_done(household="王建国")
    visit_done(household="王建国", dispute_types=[], registered=None)  # a return visit
    visit_done(household="李秀英")
    assign_task(users.coordinator, program="family_visits", task_type="household_visit",
                village=village)  # open: not counted
    assign_and_complete(users.coordinator, users.coordinator, program="family_visits",
                        task_type="town_screening", town=district.towns[0],
                        data={"findings": "本月排查120户", "households_flagged": "0"})
    assert done("households_visited") == 2


def test_a_visit_with_bad_data_is_refused_and_counts_nothing(district):
    from werkzeug.datastructures import MultiDict

    from core.errors import ValidationError
    from core.tasks import assign_task, complete_task
    users = district.users
    task = assign_task(users.coordinator, program="family_visits", task_type="household_visit",
                       village=district.villages[0])
    with pytest.raises(ValidationError) as failure:
        complete_task(users.lawyer, task, MultiDict(visit(household="", registered=None)))
    assert failure.value.errors == {"household": ["请填写户主姓名"],
                                    "registered": ["发现矛盾纠纷或风险苗头的家庭须登记入台账"]}
    task = type(task).get_by_id(task.id)
    assert task.status == "open" and task.subject is None
    assert done("households_visited") == 0


# --- the schedules create the screening tasks ------------------------------------------------

def test_each_firing_creates_one_screening_task_per_village_town_or_the_district(district):
    from core.models import Task
    from core.tasks import create_scheduled_tasks
    schedules = get_registry().schedules
    monday, first = dt.datetime(2025, 3, 3, 9, 0), dt.datetime(2025, 4, 1, 9, 0)

    assert create_scheduled_tasks(schedules["weekly_village_screening"], monday) == 4
    assert create_scheduled_tasks(schedules["monthly_town_screening"], first) == 2
    assert create_scheduled_tasks(schedules["quarterly_district_analysis"], first) == 1
    assert create_scheduled_tasks(schedules["weekly_village_screening"], monday) == 0  # again

    weekly = Task.select().where(Task.task_type == "village_screening").order_by(Task.id)
    paired = {p.village_id: p.lawyer_id for p in district.pairings}
    assert {(t.village_id, t.assignee_id, t.level) for t in weekly} == {
        (village, lawyer, "village") for village, lawyer in paired.items()}
    assert {t.due_on for t in weekly} == {dt.date(2025, 3, 9)}  # before next Monday
    assert sorted((t.level, t.town_id) for t in Task.select().where(
        Task.task_type.in_(["town_screening", "district_analysis"]))) == [
        ("district", None), ("town", district.towns[0].id), ("town", district.towns[1].id)]


def test_the_village_committee_sees_the_visit_without_the_familys_names(district):
    from core.models import AuditLog
    from core.tasks import task_data_for
    users = district.users
    task = assign_and_complete(users.coordinator, users.lawyer, program="family_visits",
                               task_type="household_visit", village=district.villages[0],
                               data=VISIT)
    seen = task_data_for(users.village, task)
    # not the family, nor what was found or done: "家庭暴力 · 有极端倾向 · 移交信访" in a
    # village is a family too
    assert seen == dict.fromkeys(get_registry().task_types["household_visit"].field_names,
                                 "***")
    assert task_data_for(users.lawyer, task)["household"] == "王建国"
    assert AuditLog.select().where((AuditLog.action == "task.view_sensitive")
                                   & (AuditLog.user == users.lawyer.id)).count() == 1


def test_huey_fires_the_screenings_at_their_district_times_and_creates_the_tasks(district,
                                                                                 monkeypatch):
    from core import clock, jobs
    from core.models import Task
    from core.queue import huey
    jobs.sync_schedules()

    def firing(day: dt.date, hour=9, minute=0):
        at = clock.utc_from_local(day, dt.time(hour, minute))  # huey's clock is naive UTC
        return sorted(t.name.removeprefix("schedule_") for t in huey.read_periodic(at)
                      if t.name.startswith("schedule_"))

    assert firing(dt.date(2025, 3, 3)) == ["weekly_village_screening"]  # a Monday
    assert firing(dt.date(2025, 3, 3), hour=8, minute=59) == []
    assert firing(dt.date(2025, 3, 4)) == []  # a Tuesday
    assert firing(dt.date(2025, 9, 1)) == ["monthly_town_screening", "weekly_village_screening"]
    assert firing(dt.date(2025, 10, 1)) == ["monthly_town_screening",
                                            "quarterly_district_analysis"]
    assert firing(dt.date(2025, 11, 1)) == ["monthly_town_screening"]

    # the consumer runs the job (huey is in immediate mode in tests), here 3 minutes late
    monday_9 = clock.utc_from_local(dt.date(2025, 3, 3), dt.time(9, 0))
    monkeypatch.setattr(clock, "now_utc", lambda: monday_9 + dt.timedelta(minutes=3))
    [weekly] = [t for t in huey.read_periodic(monday_9) if t.name.startswith("schedule_")]
    huey.enqueue(weekly)
    huey.enqueue(weekly)  # a retry creates nothing twice
    keys = [key for key, in Task.select(Task.schedule_key).order_by(Task.schedule_key).tuples()]
    assert keys == [f"weekly_village_screening:{v.code}:2025-03-03T09:00"
                    for v in district.villages[:4]]  # the paired villages


def test_the_ledger_lists_the_visited_households_under_the_forms_labels(district):
    users = district.users
    assign_and_complete(users.coordinator, users.lawyer, program="family_visits",
                        task_type="household_visit", village=district.villages[0], data=VISIT)
    header, row = ledger_rows("family_visits", "走访家庭", users.coordinator)
    assert header[:8] == ["户主姓名", "住址（村民小组、门牌号）", "家庭成员及矛盾当事人", "矛盾纠纷类型",
                          "风险苗头", "采取的措施（调解、疏导、普法等）", "移交部门",
                          "已逐户登记入婚姻家庭矛盾纠纷台账"]
    assert header[8:] == fixed_headers() and len(row) == len(header)
    assert row[:11] == ["王建国", VISIT["address"], VISIT["members"], "婆媳矛盾严重", None,
                        VISIT["actions"], "无需移交", "是", "东湖1村", "东湖镇", "张明"]
    _, row = ledger_rows("family_visits", "走访家庭", users.village)  # no family's names
    assert row[:3] == ["***", "***", "***"]


# --- the register of households (婚姻家庭矛盾纠纷台账) -------------------------------------

REGISTER = "/programmes/family_visits/households.xlsx"
REGISTER_HEADER = ["户主姓名", "住址（村民小组、门牌号）", "村(居)", "镇(街道)", "律师", "首次走访",
                   "最近走访", "走访次数", "矛盾纠纷类型", "风险苗头", "移交部门", "最近一次采取的措施"]
CALM = {"dispute_types": [], "risk_signs": [], "registered": None}  # nothing found: not registered


def days_ago(n: int) -> dt.date:
    from core.clock import today
    return today() - dt.timedelta(days=n)


def _visit(district, village, on: dt.date, *, assignee=None, **changes):
    """A household visit in ``village`` done on day ``on`` (the time of its work-log entry),
    recorded today."""
    from werkzeug.datastructures import MultiDict

    from core import clock
    from core.tasks import assign_task, complete_task
    task = assign_task(district.users.coordinator, program="family_visits",
                       task_type="household_visit", village=village, assignee=assignee)
    return complete_task(district.users.coordinator, task, MultiDict(visit(**changes)),
                         occurred_at=clock.utc_from_local(on, dt.time(15, 30)))


@pytest.fixture
def households(district):
    """王建国 of 东湖1村: registered at the second of three visits (the first found nothing),
    the third by another lawyer;
    陈海燕 of 东湖2村; another 王建国, of 西山1村 (town 2); 李秀英 visited, nothing found; an
    open visit."""
    from core.tasks import assign_task
    v = district.villages
    _visit(district, v[0], days_ago(40), address="", actions="了解家庭情况。", **CALM)
    _visit(district, v[0], days_ago(30), dispute_types=["in_law_conflict", "domestic_violence"],
           actions="联合村调委会调解。", address="第三村民小组12号")
    _visit(district, v[0], days_ago(5), assignee=district.lawyers[1],
           risk_signs=["extreme_tendency"], referral="police", dispute_types=["domestic_violence"],
           address="", actions="移交派出所，发出家庭暴力告诫书。")
    _visit(district, v[1], days_ago(20), household="陈海燕", address="第一村民小组3号",
           dispute_types=["long_separation"], referral="court", actions="协助申请诉前调解。")
    _visit(district, v[3], days_ago(10), address="", dispute_types=["affair"], actions="疏导。")
    _visit(district, v[0], days_ago(8), household="李秀英", **CALM)
    assign_task(district.users.coordinator, program="family_visits", task_type="household_visit",
                village=v[0])


def month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def register_rows(user) -> list[list]:
    from io import BytesIO

    from openpyxl import load_workbook

    from plugins.family_visits.register import export_register
    book = load_workbook(BytesIO(export_register(user)))
    assert book.sheetnames == ["婚姻家庭矛盾纠纷台账"]
    header, *rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    assert header == REGISTER_HEADER
    return rows


# The register's expected rows, made when a test runs (not at import): days_ago counts from
# the district's today, which may turn over between collecting the tests and running them.
def wang():
    return ["王建国", "第三村民小组12号", "东湖1村", "东湖镇", "张明, 李华",
            date_cell(days_ago(40)), date_cell(days_ago(5)), 3, "家庭暴力, 婆媳矛盾严重",
            "有极端倾向", "公安机关", "移交派出所，发出家庭暴力告诫书。"]


def chen():
    return ["陈海燕", "第一村民小组3号", "东湖2村", "东湖镇", "李华", date_cell(days_ago(20)),
            date_cell(days_ago(20)), 1, "因矛盾长期分居", None, "人民法院", "协助申请诉前调解。"]


def wang_west():
    return ["王建国", None, "西山1村", "西山街道", "赵强", date_cell(days_ago(10)),
            date_cell(days_ago(10)), 1, "婚外情", None, "无需移交", "疏导。"]


def test_the_register_has_a_row_per_registered_household_over_all_its_visits(households,
                                                                              district):
    assert register_rows(district.users.coordinator) == [wang(), chen(), wang_west()]


def test_the_register_holds_the_coordinators_scope_only(households, district):
    from core.models import AuditLog
    users = district.users
    assert register_rows(users.town_coordinator) == [wang(), chen()]
    assert register_rows(users.other_town_coordinator) == [wang_west()]
    exports = AuditLog.select().where(AuditLog.action == "ledger.export").order_by(AuditLog.id)
    assert [(e.username, e.detail) for e in exports] == [
        ("coord-t1", {"program": "family_visits", "register": "households", "households": 2,
                      "tasks": 4, "rows_with_sensitive_shown": 2,
                      "rows_with_sensitive_masked": 0}),
        ("coord-t2", {"program": "family_visits", "register": "households", "households": 1,
                      "tasks": 1, "rows_with_sensitive_shown": 1,
                      "rows_with_sensitive_masked": 0})]


def test_the_register_masks_the_family_for_who_may_not_see_every_visit(households, district):
    from core.models import AuditLog
    users = district.users
    # where, by whom, how often and the months: not who, what was found, nor which day
    masked = ["***", "***", *wang()[2:5], month(days_ago(40)), month(days_ago(5)), 3,
              "***", "***", "***", "***"]
    assert register_rows(users.village) == [masked]
    # 张明 did two of 王建国's three visits: the third, 李华's, is not his to see
    assert register_rows(users.lawyer) == [masked]
    last = AuditLog.select().where(AuditLog.action == "ledger.export") \
        .order_by(AuditLog.id.desc()).first()
    assert (last.username, last.detail["rows_with_sensitive_masked"],
            last.detail["rows_with_sensitive_shown"]) == ("lawyer", 1, 0)


def test_an_empty_register_still_has_its_headers(district):
    assert register_rows(district.users.coordinator) == []


def test_coordinators_download_the_register_from_the_programme_page(households, district,
                                                                    login):
    from io import BytesIO

    from openpyxl import load_workbook

    from core.models import AuditLog
    for user, status in ((district.users.coordinator, 200), (district.users.town_coordinator, 200),
                         (district.users.admin, 200), (district.users.lawyer, 403),
                         (district.users.village, 403)):
        client = login(user)
        page = client.get("/programmes/family_visits")
        assert page.status_code == (200 if user.role != "village" else 403)
        assert (f'href="{REGISTER}"' in page.get_data(as_text=True)) is (status == 200)
        response = client.get(REGISTER)
        assert response.status_code == status, user.username
    response = login(district.users.town_coordinator).get(REGISTER)
    assert response.mimetype == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["Content-Disposition"]
    assert re.search(r'^attachment; filename="households-family_visits-[\d-]+\.xlsx"; '
                     r"filename\*=UTF-8''%E5%A9%9A.*%E5%8F%B0%E8%B4%A6", disposition)  # 婚…台账
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(load_workbook(BytesIO(response.data)).active.iter_rows(values_only=True))
    assert [list(row) for row in rows[1:]] == [wang(), chen()]
    last = AuditLog.select().where(AuditLog.action == "ledger.export") \
        .order_by(AuditLog.id.desc()).first()
    assert (last.username, last.address) == ("coord-t1", "127.0.0.1")

