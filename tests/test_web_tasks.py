"""Task pages: the coordinators' filtered list, assignment (single and bulk), a task's page
with its actions, "my tasks", and completing a task with its programme's form."""
import datetime as dt
import re

import pytest

from core import clock
from core import tasks as service
from core.events import session_times
from core.models import AuditLog, Event, Task, WorkLog
from core.workdays import is_workday
from tests.sample_programme import PROGRAM, TASK_TYPE, good_data, sample_programme  # noqa: F401

HX = {"HX-Request": "true"}
pytestmark = pytest.mark.usefixtures("sample_programme")


@pytest.fixture
def login(login, client):
    """English UI, so assertions do not depend on the zh_CN catalog (plugin text stays Chinese)."""
    client.set_cookie("lang", "en")
    return login


def assign(village, **fields):
    return service.assign_task(None, program=PROGRAM, task_type=TASK_TYPE, village=village,
                               **fields)


def snapshot():
    """Everything completing a task writes, to show that a refusal wrote nothing."""
    return ([tuple(row) for row in Task.select().order_by(Task.id).tuples()],
            WorkLog.select().count(), Event.select().count())


def field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<span class="field-error" id="{field_id}-error">([^<]*)<', html)
    return match.group(1) if match else ""


def task_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/tasks/(\d+)"', html)}


# --- the list ------------------------------------------------------------------------------------

@pytest.fixture
def spread(district):
    """Tasks in four villages of both towns, one done, one overdue."""
    v = district.villages
    today = clock.today()
    tasks = {
        "t1_open": assign(v[0], title="东湖走访", due_on=today + dt.timedelta(days=10)),
        "t1_overdue": assign(v[1], title="逾期走访", due_on=today - dt.timedelta(days=3)),
        "t1_other": assign(v[2], title="三村走访"),
        "t2_open": assign(v[3], title="西山走访", due_on=today),
    }
    service.complete_task(None, tasks["t1_other"], good_data())
    return tasks


def test_list_shows_the_tasks_in_scope_with_their_village_and_lawyer(spread, district, login):
    client = login(district.users.coordinator)
    html = client.get("/tasks/").get_data(as_text=True)
    assert task_ids(html) == {t.id for t in spread.values()}
    assert "东湖1村" in html and "张明" in html and "Sample visits" in html  # its name_en
    assert "4 tasks" in html
    ids = [int(n) for n in re.findall(r'href="/tasks/(\d+)"', html)]
    assert ids[-1] == spread["t1_other"].id  # what is still to do comes first, done last
    assert ids.index(spread["t1_overdue"].id) < ids.index(spread["t2_open"].id)


@pytest.mark.parametrize("query, expected", [
    ("town=T1", {"t1_open", "t1_overdue", "t1_other"}),
    ("town=西山街道", {"t2_open"}),  # a town typed by name (a province's town field)
    ("village=T1V2", {"t1_overdue"}),
    ("status=done", {"t1_other"}),
    ("overdue=1", {"t1_overdue"}),
    ("q=西山", {"t2_open"}),
    (f"program={PROGRAM}&town=T2", {"t2_open"}),
    ("program=nothing_like_it", set()),
    ("status=bogus", set()),
])
def test_filters_narrow_the_list(spread, district, login, query, expected):
    client = login(district.users.coordinator)
    response = client.get(f"/tasks/?{query}", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html  # the results fragment
    assert task_ids(html) == {spread[name].id for name in expected}


def test_filter_by_lawyer(spread, district, login):
    client = login(district.users.coordinator)
    html = client.get(f"/tasks/?lawyer={district.lawyers[1].id}").get_data(as_text=True)
    assert task_ids(html) == {spread["t1_overdue"].id}


def test_the_village_and_lawyer_filters_are_typed_not_listed(spread, district, login):
    """A province has thousands of villages and lawyers: the filter is a field whose
    suggestions the server sends as one types; a typed whole name filters without them."""
    client = login(district.users.coordinator)
    html = client.get("/tasks/").get_data(as_text=True)
    assert '<option value="T1V2"' not in html and 'list="village-suggestions"' in html
    assert 'hx-get="/tasks/suggest/villages"' in html and 'hx-get="/tasks/suggest/lawyers"' in html
    assert task_ids(client.get("/tasks/?village=东湖2村", headers=HX).get_data(as_text=True)) == {
        spread["t1_overdue"].id}
    name = district.lawyers[1].name
    assert task_ids(client.get(f"/tasks/?lawyer={name}", headers=HX).get_data(as_text=True)) == {
        spread["t1_overdue"].id}
    by_id = client.get(f"/tasks/?lawyer={district.lawyers[1].id}").get_data(as_text=True)
    assert f'name="lawyer" value="{name}"' in by_id  # a link's lawyer, shown by name
    suggested = client.get("/tasks/suggest/villages?village=东湖").get_data(as_text=True)
    assert re.findall(r'<option value="([^"]+)"', suggested) == ["T1V1", "T1V2", "T1V3"]
    town = login(district.users.other_town_coordinator)
    assert "T1V1" not in town.get("/tasks/suggest/villages?village=T1").get_data(as_text=True)
    lawyers = client.get(f"/tasks/suggest/lawyers?lawyer={name[0]}").get_data(as_text=True)
    assert f'<option value="{name}">' in lawyers


def test_filters_push_the_url_and_pages_keep_them(spread, district, login, app):
    app.config["PER_PAGE"] = 1
    client = login(district.users.coordinator)
    html = client.get("/tasks/?town=T1").get_data(as_text=True)
    assert 'hx-push-url="true"' in html
    assert "Page 1 of 3" in html
    next_page = re.search(r'<a href="([^"]*)" rel="next"', html).group(1)
    assert "town=T1" in next_page and "page=2" in next_page


def test_a_long_list_is_counted_only_so_far_and_still_pages_to_its_end(spread, district, login,
                                                                        app, monkeypatch):
    """A province's million tasks are not counted on every request: past ``COUNTED`` the
    list says "more than", and its pages still lead to every task in the usual order."""
    from web import tasks as web_tasks
    monkeypatch.setattr(web_tasks, "COUNTED", 2)
    app.config["PER_PAGE"] = 1
    client = login(district.users.coordinator)
    html = client.get("/tasks/").get_data(as_text=True)
    assert "More than 2 tasks" in html and "Page 1</span>" in html
    seen, url = [], "/tasks/"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(n) for n in re.findall(r'href="/tasks/(\d+)"', html)]
        found = re.search(r'<a href="([^"]*)" rel="next"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == [spread[name].id for name in ("t1_overdue", "t2_open", "t1_open", "t1_other")]
    assert "4 tasks" in html and "Page 4 of 4" in html  # the last page counted them all
    assert "1 task<" in client.get("/tasks/?town=T2").get_data(as_text=True)  # under: exact


def test_town_coordinator_and_village_user_see_only_their_scope(spread, district, login):
    client = login(district.users.town_coordinator)
    assert task_ids(client.get("/tasks/").get_data(as_text=True)) == {
        spread["t1_open"].id, spread["t1_overdue"].id, spread["t1_other"].id}
    client = login(district.users.village)
    assert task_ids(client.get("/tasks/").get_data(as_text=True)) == {spread["t1_open"].id}
    assert client.get(f"/tasks/{spread['t2_open'].id}").status_code == 404
    assert client.get("/tasks/new").status_code == 403  # read-only


def test_other_town_coordinator_gets_404_for_a_task_of_town_1(spread, district, login):
    client = login(district.users.other_town_coordinator)
    assert client.get(f"/tasks/{spread['t1_open'].id}").status_code == 404
    assert client.post(f"/tasks/{spread['t1_open'].id}/cancel",
                       data={"cancel-reason": "x"}).status_code == 404


# --- assigning -----------------------------------------------------------------------------------

def test_task_types_follow_the_programme(district, login):
    client = login(district.users.coordinator)
    html = client.get(f"/tasks/new/task-types?program={PROGRAM}", headers=HX).get_data(as_text=True)
    assert f'value="{TASK_TYPE}"' in html and "入户走访" in html
    html = client.get("/tasks/new/task-types?program=", headers=HX).get_data(as_text=True)
    assert TASK_TYPE not in html


def test_assign_page_wires_the_dependent_select_and_the_preview(district, login):
    html = login(district.users.coordinator).get("/tasks/new").get_data(as_text=True)
    assert 'hx-get="/tasks/new/task-types"' in html and 'hx-get="/tasks/new/preview"' in html
    assert "Sample visits" in html and 'value="district"' in html  # the name_en, in English


def test_town_coordinator_cannot_choose_the_whole_district(district, login):
    html = login(district.users.town_coordinator).get("/tasks/new").get_data(as_text=True)
    assert 'value="town"' in html and 'value="district"' not in html
    assert "西山" not in html  # villages and towns of town 2 are not offered


def test_bulk_preview_counts_the_paired_villages_and_asks_first(district, login):
    client = login(district.users.coordinator)
    html = client.get("/tasks/new/preview?target=town&town=T1", headers=HX).get_data(as_text=True)
    assert 'hx-confirm="Assign 3 tasks?"' in html
    html = client.get("/tasks/new/preview?target=district", headers=HX).get_data(as_text=True)
    assert 'hx-confirm="Assign 4 tasks?"' in html
    html = client.get("/tasks/new/preview?target=village", headers=HX).get_data(as_text=True)
    assert "hx-confirm" not in html


def test_assign_one_village_goes_to_its_lawyer(district, login):
    client = login(district.users.coordinator)
    response = client.post("/tasks/new", data={
        "program": PROGRAM, "task_type": TASK_TYPE, "target": "village", "village": "T1V2",
        "due_on": "2026-06-30", "title": "六月走访"})
    assert response.status_code == 303
    task = Task.get()
    assert response.headers["Location"].endswith(f"/tasks/{task.id}")
    assert (task.village_id, task.assignee_id, task.title, task.due_on, task.status) == (
        district.villages[1].id, district.lawyers[1].id, "六月走访", dt.date(2026, 6, 30), "open")
    assert task.assigned_by_id == district.users.coordinator.id


def test_bulk_assign_creates_one_task_per_paired_village(district, login):
    client = login(district.users.coordinator)
    response = client.post("/tasks/new", headers=HX, data={
        "program": PROGRAM, "task_type": TASK_TYPE, "target": "town", "town": "T1"})
    assert response.status_code == 200 and "/tasks/?program=" in response.headers["HX-Redirect"]
    assert sorted(t.village_id for t in Task.select()) == [v.id for v in district.villages[:3]]
    client.post("/tasks/new", data={"program": PROGRAM, "task_type": TASK_TYPE,
                                    "target": "district"})
    assert Task.select().count() == 3 + 4  # the district: the four paired villages


@pytest.mark.parametrize("data, field, message", [
    ({"target": "village", "village": ""}, "village", "Choose a village."),
    ({"target": "town", "town": ""}, "town", "Choose a town."),
    ({"program": ""}, "program", "Choose a programme."),
    ({"task_type": "nope"}, "task_type", "Not a valid choice."),
])
def test_assign_with_bad_input_answers_422_and_writes_nothing(district, login, data, field,
                                                              message):
    client = login(district.users.coordinator)
    form = {"program": PROGRAM, "task_type": TASK_TYPE, "target": "village", "village": "T1V1",
            **data}
    response = client.post("/tasks/new", data=form, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="assign-form"' in html
    assert message in field_error(html, field)
    assert Task.select().count() == 0


def test_town_coordinator_cannot_assign_in_another_town(district, login):
    client = login(district.users.town_coordinator)
    response = client.post("/tasks/new", data={"program": PROGRAM, "task_type": TASK_TYPE,
                                               "target": "village", "village": "T2V1"})
    assert response.status_code == 422  # not a choice offered to them
    response = client.post("/tasks/new", data={"program": PROGRAM, "task_type": TASK_TYPE,
                                               "target": "district"})
    assert response.status_code == 422
    assert Task.select().count() == 0


# --- completing ----------------------------------------------------------------------------------

@pytest.fixture
def task(district):
    return assign(district.villages[0], title="走访王家", due_on=clock.today())


def test_completion_form_renders_the_programme_form_with_checkboxes(task, district, login):
    html = login(district.users.lawyer).get(f"/tasks/{task.id}/complete").get_data(as_text=True)
    assert "户主姓名" in html and 'name="household"' in html
    assert html.count('type="checkbox" name="disputes"') == 3 and "家庭暴力" in html
    assert 'name="worklog-mode"' in html and 'name="worklog-duration"' in html
    assert 'name="csrf_token"' in html


def test_complete_with_bad_data_keeps_what_was_typed_and_writes_nothing(task, district, login):
    client = login(district.users.lawyer)
    before = snapshot()
    response = client.post(f"/tasks/{task.id}/complete", data={
        "household": "", "members": "王某与其妻张某", "disputes": ["violence", "in_law"],
        "visitors": "0", "worklog-mode": "phone", "worklog-duration": "45 分钟",
        "worklog-result": "已调解"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "household") == "请填写户主姓名"
    assert field_error(html, "visitors") == "走访人数应在1到20之间"
    assert "王某与其妻张某</textarea>" in html  # typed values stay
    assert re.search(r'name="disputes"\s+id="disputes-1" value="violence" checked', html)
    assert re.search(r'name="disputes"\s+id="disputes-2" value="in_law" checked', html)
    assert not re.search(r'value="affair" checked', html)
    assert 'value="0"' in html and '<option selected value="phone">' in html
    assert 'value="45 分钟"' in html  # the duration as it was typed
    assert "已调解</textarea>" in html
    assert snapshot() == before


def test_complete_with_a_bad_duration_shows_both_kinds_of_error(task, district, login):
    client = login(district.users.lawyer)
    before = snapshot()
    response = client.post(f"/tasks/{task.id}/complete", data={
        **good_data(household=""), "worklog-mode": "onsite", "worklog-duration": "-5"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "worklog-duration") == \
        "Write the duration in hours (1.5), in minutes (90 分钟) or from–to (9:00-10:30)."
    assert 'value="-5"' in html
    assert field_error(html, "household") == "请填写户主姓名"
    assert snapshot() == before


def test_complete_with_good_data_marks_done_and_writes_the_work_log(task, district, login):
    client = login(district.users.lawyer)
    response = client.post(f"/tasks/{task.id}/complete", data={
        **good_data(), "worklog-mode": "onsite", "worklog-duration": "1.5",
        "worklog-result": "双方达成和解", "worklog-occurred_at": "2026-03-02T09:30"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/tasks/{task.id}")
    task = Task.get_by_id(task.id)
    assert task.status == "done" and task.subject == "王大明"
    assert task.data["disputes"] == ["affair"] and task.data["visitors"] == 2
    log = WorkLog.get(WorkLog.task == task)
    assert (log.mode, log.duration_minutes, log.result, log.lawyer_id) == (
        "onsite", 90, "双方达成和解", district.lawyers[0].id)
    assert log.occurred_at == dt.datetime(2026, 3, 2, 1, 30)  # 09:30 in Shanghai, stored UTC
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Done" in html and "双方达成和解" in html and "王大明" in html and "婚外情" in html


def test_another_lawyer_cannot_complete(task, district, login):
    from core.users import create_user
    other = create_user("lawyer-2", "test-pass-123", "lawyer", lawyer=district.lawyers[3])
    client = login(other)
    before = snapshot()
    assert client.get(f"/tasks/{task.id}/complete").status_code == 404
    assert client.post(f"/tasks/{task.id}/complete", data=good_data()).status_code == 404
    assert snapshot() == before


# --- sensitive fields ----------------------------------------------------------------------------

@pytest.fixture
def done_task(task):
    return service.complete_task(None, task, good_data())


def sensitive_reads(task):
    return AuditLog.select().where((AuditLog.action == "task.view_sensitive")
                                   & (AuditLog.object_id == str(task.id))).count()


def test_sensitive_field_is_shown_to_the_assignee_and_the_read_is_audited(done_task, district,
                                                                          login):
    html = login(district.users.lawyer).get(f"/tasks/{done_task.id}").get_data(as_text=True)
    assert "王大明与妻子李小红" in html
    entry = AuditLog.get(AuditLog.action == "task.view_sensitive")
    assert entry.user_id == district.users.lawyer.id and entry.object_id == str(done_task.id)
    assert entry.address == "127.0.0.1"


def test_sensitive_field_is_shown_to_the_coordinator_of_the_scope(done_task, district, login):
    html = login(district.users.town_coordinator).get(f"/tasks/{done_task.id}").get_data(
        as_text=True)
    assert "王大明与妻子李小红" in html and sensitive_reads(done_task) == 1


def test_sensitive_field_is_masked_for_the_village_user(done_task, district, login):
    html = login(district.users.village).get(f"/tasks/{done_task.id}").get_data(as_text=True)
    assert "王大明与妻子李小红" not in html and "***" in html
    # the programme declares no public_fields: nothing of a sensitive type is shown
    assert "王大明" not in html and "婚外情" not in html
    assert "Hidden: sensitive" in html
    assert sensitive_reads(done_task) == 0
    assert AuditLog.select().where((AuditLog.action == "task.view_masked")
                                   & (AuditLog.object_id == str(done_task.id))).count() == 1


def test_sensitive_field_is_masked_for_a_lawyer_of_the_village_who_is_not_the_assignee(
        task, district, login):
    from core.users import create_user
    service.reassign_task(None, task, district.lawyers[2])
    service.complete_task(None, task, good_data())
    client = login(district.users.lawyer)  # paired with the village, not the assignee
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "王大明与妻子李小红" not in html and "***" in html
    assert sensitive_reads(task) == 0
    assignee = create_user("lawyer-3", "test-pass-123", "lawyer", lawyer=district.lawyers[2])
    html = login(assignee).get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "王大明与妻子李小红" in html and sensitive_reads(task) == 1


def test_another_towns_lawyer_cannot_open_the_task(done_task, district, login):
    from core.users import create_user
    other = create_user("lawyer-t2", "test-pass-123", "lawyer", lawyer=district.lawyers[3])
    assert login(other).get(f"/tasks/{done_task.id}").status_code == 404
    assert sensitive_reads(done_task) == 0


# --- actions on a task ---------------------------------------------------------------------------

def test_start_then_cancel_with_a_reason_then_reopen(task, district, login):
    client = login(district.users.coordinator)
    response = client.post(f"/tasks/{task.id}/start", headers=HX)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "taskChanged"
    assert Task.get_by_id(task.id).status == "in_progress"
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'hx-confirm="Cancel this task?' in html
    response = client.post(f"/tasks/{task.id}/cancel", headers=HX, data={"cancel-reason": ""})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "cancel-reason")
    assert Task.get_by_id(task.id).status == "in_progress"
    response = client.post(f"/tasks/{task.id}/cancel", headers=HX,
                           data={"cancel-reason": "村里搬迁，无需走访"})
    assert response.status_code == 200 and "村里搬迁，无需走访" in response.get_data(as_text=True)
    task = Task.get_by_id(task.id)
    assert (task.status, task.cancel_reason) == ("cancelled", "村里搬迁，无需走访")
    response = client.post(f"/tasks/{task.id}/reopen", headers=HX)
    assert response.status_code == 200 and Task.get_by_id(task.id).status == "open"


def test_lawyer_may_start_but_not_cancel_or_reassign(task, district, login):
    client = login(district.users.lawyer)
    assert client.post(f"/tasks/{task.id}/cancel", data={"cancel-reason": "x"}).status_code == 403
    assert client.post(f"/tasks/{task.id}/reassign",
                       data={"reassign-lawyer": str(district.lawyers[1].id)}).status_code == 403
    assert client.post(f"/tasks/{task.id}/start").status_code == 302  # back to where it was
    assert Task.get_by_id(task.id).status == "in_progress"


def test_reassign_to_another_lawyer(task, district, login):
    client = login(district.users.coordinator)
    response = client.post(f"/tasks/{task.id}/reassign", headers=HX,
                           data={"reassign-lawyer": str(district.lawyers[2].id)})
    assert response.status_code == 200 and "王芳" in response.get_data(as_text=True)
    assert Task.get_by_id(task.id).assignee_id == district.lawyers[2].id
    response = client.post(f"/tasks/{task.id}/reassign", headers=HX, data={"reassign-lawyer": ""})
    assert response.status_code == 422
    assert Task.get_by_id(task.id).assignee_id == district.lawyers[2].id


def next_workday(after: dt.date) -> dt.date:
    day = after + dt.timedelta(days=7)
    while not is_workday(day):
        day += dt.timedelta(days=1)
    return day


def next_weekend_day_off(after: dt.date) -> dt.date:
    day = after + dt.timedelta(days=7)
    while is_workday(day):
        day += dt.timedelta(days=1)
    return day


def test_schedule_with_times_makes_a_calendar_event(task, district, login):
    client = login(district.users.lawyer)
    day = next_workday(clock.today())
    response = client.post(f"/tasks/{task.id}/schedule", headers=HX, data={
        "schedule-day": day.isoformat(), "schedule-half_day": "times",
        "schedule-starts": "14:00", "schedule-ends": "16:00"})
    assert response.status_code == 200, response.get_data(as_text=True)
    event = Task.get_by_id(task.id).event
    assert event.kind == "task" and event.lawyer_id == district.lawyers[0].id
    assert event.starts_at == clock.utc_from_local(day, dt.time(14, 0))
    assert "14:00–16:00" in response.get_data(as_text=True)


def test_schedule_with_the_end_before_the_start_is_refused(task, district, login):
    client = login(district.users.lawyer)
    day = next_workday(clock.today())
    response = client.post(f"/tasks/{task.id}/schedule", headers=HX, data={
        "schedule-day": day.isoformat(), "schedule-half_day": "times",
        "schedule-starts": "16:00", "schedule-ends": "14:00"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "schedule-ends") == \
        "The end must be after the start."
    assert Task.get_by_id(task.id).event_id is None and Event.select().count() == 0


def test_schedule_on_a_half_day_uses_the_session_slot(task, district, login):
    client = login(district.users.coordinator)
    day = next_workday(clock.today())
    response = client.post(f"/tasks/{task.id}/schedule", headers=HX, data={
        "schedule-day": day.isoformat(), "schedule-half_day": "am"})
    assert response.status_code == 200
    event = Task.get_by_id(task.id).event
    assert (event.starts_at, event.ends_at) == session_times(day, "am")


def test_schedule_on_a_day_off_is_refused_beside_the_date(task, district, login):
    client = login(district.users.lawyer)
    response = client.post(f"/tasks/{task.id}/schedule", headers=HX, data={
        "schedule-day": next_weekend_day_off(clock.today()).isoformat(),
        "schedule-half_day": "pm"})
    assert response.status_code == 422
    assert "day off" in field_error(response.get_data(as_text=True), "schedule-day") or \
        "weekend" in field_error(response.get_data(as_text=True), "schedule-day")
    assert Event.select().count() == 0


# --- my tasks ------------------------------------------------------------------------------------

def test_my_tasks_sections(district, login):
    today = clock.today()
    v = district.villages[0]
    tasks = {"today": assign(v, title="今天的", due_on=today),
             "overdue": assign(v, title="过期的", due_on=today - dt.timedelta(days=1)),
             "open": assign(v, title="以后的", due_on=today + dt.timedelta(days=30)),
             "other": assign(district.villages[1], title="别人的", due_on=today)}
    html = login(district.users.lawyer).get("/tasks/mine").get_data(as_text=True)
    sections = dict(re.findall(r'id="section-(\w+)">(.*?)</section>', html, re.S))
    assert task_ids(sections["today"]) == {tasks["today"].id}
    assert task_ids(sections["overdue"]) == {tasks["overdue"].id}
    assert tasks["open"].id in task_ids(sections["open"]) | task_ids(sections["week"])
    assert tasks["other"].id not in task_ids(html)


def test_my_tasks_shows_under_today_a_late_task_scheduled_today(district, login):
    village, today = district.villages[0], clock.today()
    late = assign(village, title="迟了但今天去", due_on=today - dt.timedelta(days=7))
    day = today if is_workday(today) else None
    if day is None:  # a task is scheduled on workdays only: then only the due date counts
        late.due_on = today
        late.save()
    else:
        service.schedule_task(None, late, starts_at=clock.utc_from_local(today, dt.time(23)),
                              ends_at=clock.utc_from_local(today, dt.time(23, 30)))
    html = login(district.users.lawyer).get("/tasks/mine").get_data(as_text=True)
    sections = dict(re.findall(r'id="section-(\w+)">(.*?)</section>', html, re.S))
    assert task_ids(sections["today"]) == {late.id} and not task_ids(sections["overdue"])


def test_my_tasks_is_for_lawyers(district, login):
    assert login(district.users.coordinator).get("/tasks/mine").status_code == 403


def test_completion_posts_with_the_forms_csrf_token(task, district):
    """The completion form is posted normally: its hidden csrf_token passes CSRFProtect."""
    from web import create_app
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "lawyer", "password": "test-pass-123",
                                "csrf_token": token})
    html = client.get(f"/tasks/{task.id}/complete").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    form = {**good_data(), "worklog-mode": "onsite", "worklog-duration": "30 分钟",
            "worklog-category": "mediation"}
    assert client.post(f"/tasks/{task.id}/complete", data=form).status_code == 400
    assert Task.get_by_id(task.id).status == "open"
    response = client.post(f"/tasks/{task.id}/complete", data={**form, "csrf_token": token})
    assert response.status_code == 303 and Task.get_by_id(task.id).status == "done"


def test_a_task_type_with_its_own_template_is_drawn_with_it(district, login, app):
    """TaskType.template replaces the generic form template; it gets the same ``form``."""
    from jinja2 import ChoiceLoader, DictLoader

    from core import hookimpl
    from core.plugins import register_plugin, unregister_plugin
    from core.registry import TaskType
    from tests.sample_programme import HouseholdForm

    class OwnTemplate:
        @hookimpl
        def register_task_types(self, register):
            register(TaskType(slug="sample_own_form", program=PROGRAM, name="自定义表单",
                              form=HouseholdForm, template="sample/own_form.html"))

    app.jinja_env.loader = ChoiceLoader([DictLoader({"sample/own_form.html": (
        '<div class="own-form">{{ form.household.label.text }}{{ form.household() }}'
        '{% for m in form.household.errors %}<em class="own-error">{{ m }}</em>{% endfor %}'
        '</div>')}), app.jinja_env.loader])
    register_plugin(OwnTemplate(), "test-own-template")
    try:
        task = service.assign_task(None, program=PROGRAM, task_type="sample_own_form",
                                   village=district.villages[0])
        client = login(district.users.lawyer)
        html = client.get(f"/tasks/{task.id}/complete").get_data(as_text=True)
        assert 'class="own-form"' in html and 'name="disputes"' not in html
        assert 'name="worklog-mode"' in html  # the work log is still the generic one
        response = client.post(f"/tasks/{task.id}/complete",
                               data={"household": "", "worklog-duration": "0"})
        assert response.status_code == 422
        assert '<em class="own-error">请填写户主姓名</em>' in response.get_data(as_text=True)
    finally:
        unregister_plugin("test-own-template")


# --- reporting a major matter from a task ----------------------------------------------------

def test_the_assignee_may_report_a_major_matter_from_the_task_page(task, district, login):
    link = f'href="/matters/new?task={task.id}"'
    assert link in login(district.users.lawyer).get(f"/tasks/{task.id}").get_data(as_text=True)
    for user in (district.users.town_coordinator, district.users.admin, district.users.village):
        page = login(user).get(f"/tasks/{task.id}")
        assert page.status_code == 200 and link not in page.get_data(as_text=True), user.username
    service.reassign_task(None, task, district.lawyers[1])  # no longer the lawyer's
    page = login(district.users.lawyer).get(f"/tasks/{task.id}")
    assert link not in page.get_data(as_text=True)
