"""Tasks (core.tasks): who may assign what where, the life of a task, completing it with its
form (validation, subject, work log, audit), the sensitive-field rule, lists without a
query per task, and calendar slots."""
import datetime as dt
import random

import pytest
from playhouse.test_utils import count_queries

from core.audit import entries_for
from core.errors import NotFound, PermissionDenied, ValidationError
from core.models import AuditLog, Event, Pairing, Task, Town, Village, WorkLog
from core.access import can_view_task
from core.privacy import MASK
from core import clock
from core.tasks import (assign_bulk, assign_task, cancel_task, complete_task, day_group,
                        is_overdue, list_tasks, reassign_task, reopen_task,
                        schedule_task, start_task, task_data_for, tasks_visible_to,
                        validate_task_data)
from core.users import create_user
from tests import factories
from tests.tasks_support import PROGRAM, programme, visit_data  # noqa: F401 (fixture)

UTC = dt.timezone.utc
D = dt.date


def visit(actor, village, **fields):
    return assign_task(actor, program=PROGRAM, task_type="test_visit", village=village, **fields)


def task_entries():
    """The audit entries about tasks (the district's pairings have their own)."""
    return AuditLog.select().where(AuditLog.action.startswith("task."))


def actions():
    return [a.action for a in task_entries().order_by(AuditLog.id)]


# --- assigning ---------------------------------------------------------------------------

def test_assign_gives_the_village_task_to_its_paired_lawyer(district, programme):
    coordinator = district.users.town_coordinator
    task = visit(coordinator, district.villages[1], due_on=D(2026, 3, 31))
    task = Task.get_by_id(task.id)
    assert (task.level, task.village_id, task.town_id) == ("village", district.villages[1].id,
                                                           district.towns[0].id)
    assert task.assignee_id == district.lawyers[1].id and task.assigned_by_id == coordinator.id
    assert (task.status, task.title, task.due_on) == ("open", "走访家庭", D(2026, 3, 31))
    entry = entries_for(task).get()
    assert (entry.action, entry.username) == ("task.assign", "coord-t1")


def test_assign_town_and_district_level_tasks(district, programme):
    town_task = assign_task(district.users.town_coordinator, program=PROGRAM,
                            task_type="test_review", town=district.towns[0], title="三月研判")
    district_task = assign_task(district.users.coordinator, program=PROGRAM,
                                task_type="test_review", assignee=district.lawyers[2])
    assert (town_task.level, town_task.town_id, town_task.village_id) == \
        ("town", district.towns[0].id, None)
    assert town_task.assignee is None and town_task.title == "三月研判"
    assert (district_task.level, district_task.town_id) == ("district", None)
    assert district_task.assignee_id == district.lawyers[2].id


@pytest.mark.parametrize("who, where, allowed", [
    ("admin", "village_t2", True),
    ("coordinator", "village_t2", True),
    ("town_coordinator", "village_t1", True),
    ("town_coordinator", "village_t2", False),
    ("other_town_coordinator", "village_t1", False),
    ("lawyer", "village_t1", False),
    ("village", "village_t1", False),
    ("town_coordinator", "town_1", True),
    ("town_coordinator", "town_2", False),
    ("lawyer", "town_1", False),
    ("town_coordinator", "district", False),
    ("coordinator", "district", True),
])
def test_assign_is_limited_to_the_actors_scope(district, programme, who, where, allowed):
    places = {"village_t1": dict(village=district.villages[0]),
              "village_t2": dict(village=district.villages[3]),
              "town_1": dict(town=district.towns[0]), "town_2": dict(town=district.towns[1]),
              "district": {}}
    actor = getattr(district.users, who)
    task_type = "test_visit" if where.startswith("village") else "test_review"
    assign = lambda: assign_task(actor, program=PROGRAM, task_type=task_type,  # noqa: E731
                                 assignee=district.lawyers[0], **places[where])
    if allowed:
        assert assign().id
    else:
        with pytest.raises(PermissionDenied):
            assign()
        assert Task.select().count() == 0 and task_entries().count() == 0


def test_assign_refuses_bad_input_clearly_and_writes_nothing(district, programme):
    unpaired = district.villages[4]
    with pytest.raises(ValidationError, match="has no paired lawyer") as caught:
        visit(None, unpaired)
    assert caught.value.field == "assignee"
    district.lawyers[3].active = False
    district.lawyers[3].save()
    with pytest.raises(ValidationError, match="no longer active"):
        visit(None, unpaired, assignee=district.lawyers[3])
    with pytest.raises(ValidationError, match="does not belong to the programme"):
        assign_task(None, program="other_programme", task_type="test_visit",
                    village=district.villages[0])
    with pytest.raises(NotFound, match="not installed"):
        assign_task(None, program=PROGRAM, task_type="no_such_type", village=district.villages[0])
    with pytest.raises(ValidationError, match="is not in"):
        visit(None, district.villages[0], town=district.towns[1])
    with pytest.raises(ValidationError, match="must be a date"):
        visit(None, district.villages[0], due_on="2026-03-31")
    assert Task.select().count() == 0
    # an unpaired village gets a task when the coordinator names the lawyer
    assert visit(None, unpaired, assignee=district.lawyers[0]).assignee_id == \
        district.lawyers[0].id


def test_assign_bulk_gives_every_paired_village_of_a_town_its_task(district, programme):
    tasks = assign_bulk(district.users.town_coordinator, program=PROGRAM,
                        task_type="test_visit", town=district.towns[0], due_on=D(2026, 4, 1),
                        title="四月走访")
    by_village = {t.village_id: t.assignee_id for t in tasks}
    assert by_village == {district.villages[i].id: district.lawyers[i].id for i in range(3)}
    assert {t.title for t in tasks} == {"四月走访"} and {t.town_id for t in tasks} == \
        {district.towns[0].id}
    assert tasks[0].village.name == district.villages[0].name  # joined: ready to list
    entry = AuditLog.get(AuditLog.action == "task.assign_bulk")
    assert entry.detail["count"] == 3 and sorted(entry.detail["tasks"]) == \
        sorted(t.id for t in tasks)


def test_assign_bulk_scope_and_nothing_to_assign(district, programme):
    with pytest.raises(PermissionDenied):
        assign_bulk(district.users.town_coordinator, program=PROGRAM, task_type="test_visit")
    with pytest.raises(PermissionDenied):
        assign_bulk(district.users.town_coordinator, program=PROGRAM, task_type="test_visit",
                    town=district.towns[1])
    empty = Town.create(district=district.district, code="T9", name="空镇")
    with pytest.raises(ValidationError, match="nothing was assigned"):
        assign_bulk(None, program=PROGRAM, task_type="test_visit", town=empty)
    assert Task.select().count() == 0
    assert len(assign_bulk(district.users.coordinator, program=PROGRAM,
                           task_type="test_visit")) == 4  # the 4 paired villages


def test_assign_bulk_131_villages_in_one_transaction_with_few_queries(district, programme):
    """The district's 131 villages: a fixed handful of queries, not one per village."""
    town = district.towns[1]
    for i in range(131 - 4):
        village = Village.create(town=town, code=f"X{i:03d}", name=f"新村{i}")
        Pairing.create(lawyer=district.lawyers[i % 4], village=village,
                       term_start=factories.TERM_START, term_end=factories.TERM_END)
    with count_queries() as counter:
        tasks = assign_bulk(None, program=PROGRAM, task_type="test_visit", due_on=D(2026, 5, 1))
    assert len(tasks) == Task.select().count() == 131
    # read pairings, insert, audit, read back; then telling the one lawyer with a login
    # (core.notices): their users, their one message (in a savepoint) — per lawyer told,
    # never per village
    assert counter.count <= 6 + 4, counter.count
    assert len({t.village_id for t in tasks}) == 131


# --- the life of a task ------------------------------------------------------------------

def test_lawyer_starts_own_task_but_may_not_assign_reassign_or_cancel(district, programme):
    lawyer = district.users.lawyer  # 张明, paired with villages[0]
    own = visit(None, district.villages[0])
    other = visit(None, district.villages[1])
    assert start_task(lawyer, own).status == "in_progress"
    assert start_task(lawyer, own).status == "in_progress"  # a second click changes nothing
    with pytest.raises(PermissionDenied):
        start_task(lawyer, other)
    with pytest.raises(PermissionDenied):
        visit(lawyer, district.villages[0])
    with pytest.raises(PermissionDenied):
        reassign_task(lawyer, own, district.lawyers[1])
    with pytest.raises(PermissionDenied):
        cancel_task(lawyer, own, reason="忙")
    assert Task.get_by_id(other.id).status == "open"


def test_cancel_needs_a_reason_and_reopen_brings_it_back(district, programme):
    coordinator = district.users.town_coordinator
    task = visit(coordinator, district.villages[0])
    with pytest.raises(ValidationError, match="Say why") as caught:
        cancel_task(coordinator, task, reason="  ")
    assert caught.value.field == "reason" and Task.get_by_id(task.id).status == "open"
    with pytest.raises(PermissionDenied):
        cancel_task(district.users.other_town_coordinator, task, reason="重复")
    cancel_task(coordinator, task, reason="重复派发")
    stored = Task.get_by_id(task.id)
    assert (stored.status, stored.cancel_reason) == ("cancelled", "重复派发")
    with pytest.raises(ValidationError, match="no longer be changed"):
        complete_task(district.users.lawyer, stored, visit_data())
    with pytest.raises(ValidationError, match="cancelled already"):
        cancel_task(coordinator, stored, reason="again")
    reopen_task(coordinator, stored)
    assert (stored.status, stored.cancel_reason) == ("open", "")
    with pytest.raises(ValidationError, match="open already"):
        reopen_task(coordinator, stored)
    assert actions() == ["task.assign", "task.cancel", "task.reopen"]


def test_reassign_hands_the_task_to_another_active_lawyer(district, programme):
    task = visit(None, district.villages[0])
    reassign_task(district.users.town_coordinator, task, district.lawyers[2])
    assert Task.get_by_id(task.id).assignee_id == district.lawyers[2].id
    with pytest.raises(ValidationError, match="already has this task"):
        reassign_task(None, task, district.lawyers[2])
    inactive = factories.make_lawyer("停用", district.firms[0], active=False)
    with pytest.raises(ValidationError, match="no longer active"):
        reassign_task(None, task, inactive)
    assert entries_for(task).first().detail == {"from": district.lawyers[0].id,
                                                 "to": district.lawyers[2].id}


# --- completing --------------------------------------------------------------------------

def test_complete_stores_clean_data_subject_work_log_and_audit(district, programme):
    lawyer = district.users.lawyer
    task = visit(None, district.villages[0], title="王家走访")
    when = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    complete_task(lawyer, task, visit_data(household="  王家  "), mode="onsite",
                  result="已调解", duration_minutes=90, occurred_at=when)
    stored = Task.get_by_id(task.id)
    assert stored.status == "done" and stored.completed_by_id == lawyer.id
    assert stored.completed_at is not None and stored.subject == "王家"
    assert stored.data == {"household": "  王家  ", "members": 4, "visited_on": "2026-03-02",
                           "disputes": ["affair", "violence"], "referral": "police",
                           "urgent": True, "allowance": "120.50", "person": "李某",
                           "notes": "丈夫有暴力倾向"}
    log = WorkLog.get(WorkLog.task == task)
    assert (log.lawyer_id, log.village_id, log.mode, log.result, log.duration_minutes) == \
        (district.lawyers[0].id, district.villages[0].id, "onsite", "已调解", 90)
    assert log.occurred_at == dt.datetime(2026, 3, 2, 1, 30)  # stored in UTC
    assert log.content == "王家走访 · 走访家庭 · 东湖1村" and log.created_by_id == lawyer.id
    assert actions() == ["task.assign", "task.complete"]


def test_complete_with_bad_data_reports_every_field_and_writes_nothing(district, programme):
    task = visit(None, district.villages[0])
    bad = visit_data(household="", members="many", visited_on="2026-13-45",
                     disputes=["alien"], referral="nowhere")
    with pytest.raises(ValidationError) as caught:
        complete_task(district.users.lawyer, task, bad)
    error = caught.value
    assert error.message == "Please correct the marked fields."
    assert set(error.errors) == {"household", "members", "visited_on", "disputes", "referral"}
    assert error.errors["household"] == ["该字段是必填字段。"]  # WTForms' own zh messages
    assert all(isinstance(m, list) and m for m in error.errors.values())
    stored = Task.get_by_id(task.id)
    assert (stored.status, stored.data, stored.subject) == ("open", {}, None)
    assert WorkLog.select().count() == 0 and actions() == ["task.assign"]
    with pytest.raises(ValidationError) as english:
        complete_task(district.users.lawyer, task, bad, locale="en")
    assert english.value.errors["household"] == ["This field is required."]


def test_complete_refuses_a_bad_mode_or_duration_and_a_second_completion(district, programme):
    task = visit(None, district.villages[0])
    with pytest.raises(ValidationError, match="how the service was given"):
        complete_task(None, task, visit_data(), mode="telepathy")
    with pytest.raises(ValidationError, match="duration"):
        complete_task(None, task, visit_data(), duration_minutes=-5)
    complete_task(None, task, visit_data())
    with pytest.raises(ValidationError, match="no longer be changed"):
        complete_task(None, task, visit_data())
    stale = Task.get_by_id(task.id)
    stale.status = "open"  # a copy read before the completion
    with pytest.raises(ValidationError, match="changed meanwhile"):
        complete_task(None, stale, visit_data(household="别家"))
    assert Task.get_by_id(task.id).subject == "王家" and WorkLog.select().count() == 1


def test_only_the_assignee_or_a_coordinator_of_the_scope_completes(district, programme):
    task = visit(None, district.villages[0])
    other_lawyer = create_user("lawyer2", factories.PASSWORD, "lawyer", lawyer=district.lawyers[1])
    for outsider in (other_lawyer, district.users.village, district.users.other_town_coordinator):
        with pytest.raises(PermissionDenied):
            complete_task(outsider, task, visit_data())
    complete_task(district.users.town_coordinator, task, visit_data())
    assert Task.get_by_id(task.id).status == "done"


def test_reopened_task_completed_again_keeps_one_work_log_entry(district, programme):
    task = visit(None, district.villages[0])
    complete_task(None, task, visit_data(), result="first")
    reopen_task(None, task)
    assert Task.get_by_id(task.id).completed_at is None
    complete_task(None, task, visit_data(household="张家"), result="corrected")
    assert [(w.result, w.task_id) for w in WorkLog.select()] == [("corrected", task.id)]
    assert Task.get_by_id(task.id).subject == "张家"


def test_a_town_task_without_a_lawyer_completes_without_a_work_log(district, programme):
    task = assign_task(None, program=PROGRAM, task_type="test_review", town=district.towns[0])
    complete_task(district.users.town_coordinator, task, {"summary": "无重大风险"})
    assert Task.get_by_id(task.id).subject is None and WorkLog.select().count() == 0


def test_every_example_validates():
    from core.testing import alone
    from tests.tasks_support import VisitsPlugin
    with alone(("test-visits", VisitsPlugin())):
        from core.plugins import get_registry
        kind = get_registry().task_types["test_visit"]
        for seed in range(20):
            data, errors = validate_task_data(kind, kind.example(random.Random(seed)))
            assert errors == {} and data["household"].startswith("户")


# --- the sensitive-field rule ------------------------------------------------------------

def test_sensitive_fields_are_shown_to_assignee_and_coordinators_and_audited(district, programme):
    task = visit(None, district.villages[0])
    complete_task(None, task, visit_data())
    for reader in (district.users.lawyer, district.users.town_coordinator, district.users.admin):
        data = task_data_for(reader, task, address="10.0.0.7")
        assert (data["person"], data["notes"]) == ("李某", "丈夫有暴力倾向")
    reads = AuditLog.select().where(AuditLog.action == "task.view_sensitive").order_by(AuditLog.id)
    assert [(r.username, r.detail["fields"], r.address) for r in reads] == [
        ("lawyer", ["person", "notes"], "10.0.0.7"), ("coord-t1", ["person", "notes"], "10.0.0.7"),
        ("admin", ["person", "notes"], "10.0.0.7")]


def test_sensitive_fields_are_masked_for_the_village_and_other_lawyers(district, programme):
    task = visit(None, district.villages[0])
    complete_task(None, task, visit_data())
    paired_colleague = create_user("lawyer-b", factories.PASSWORD, "lawyer",
                                   lawyer=district.lawyers[3])
    Pairing.update(status="ended").where(Pairing.village == district.villages[0]).execute()
    Pairing.create(lawyer=district.lawyers[3], village=district.villages[0],
                   term_start=D(2026, 6, 1), term_end=D(2027, 6, 1))
    for reader in (district.users.village, paired_colleague):
        assert can_view_task(reader, task)
        data = task_data_for(reader, task, address="10.0.0.8")
        # a type with sensitive fields and no public_fields shows none of its fields
        assert set(data) == set(visit_data()) and set(data.values()) == {MASK}
    assert "task.view_sensitive" not in actions()  # nothing sensitive was read
    reads = AuditLog.select().where(AuditLog.action == "task.view_masked").order_by(AuditLog.id)
    assert [(r.username, r.object_id, r.detail, r.address) for r in reads] == [
        (reader, str(task.id), {"via": "page", "shown": []}, "10.0.0.8")
        for reader in ("village", "lawyer-b")]  # the masked views are audited too


def test_a_stored_field_the_form_no_longer_has_is_not_public(district, programme):
    """public_fields is an allow-list: what it does not name stays hidden, even a field a
    plugin dropped from its form since the task was done."""
    task = assign_task(None, program=PROGRAM, task_type="test_followup",
                       village=district.villages[0])
    complete_task(None, task, {"household": "王家", "outcome": "已和解"})
    Task.update(data={**Task.get_by_id(task.id).data, "phone": "13800000000"}).where(
        Task.id == task.id).execute()
    seen = task_data_for(district.users.village, Task.get_by_id(task.id))
    assert seen == {"household": "王家", "outcome": "已和解", "phone": MASK}


def test_no_audit_entry_when_the_sensitive_fields_are_empty(district, programme):
    task = visit(None, district.villages[0])
    complete_task(None, task, visit_data(person="", notes=""))
    task_data_for(district.users.lawyer, task)
    assert "task.view_sensitive" not in actions()


# --- who sees which tasks, lists ---------------------------------------------------------

@pytest.fixture
def spread(district, programme):
    """A task in each of the first 4 villages, one per town (town level), one district task."""
    village_tasks = [visit(None, v) for v in district.villages[:4]]
    town_tasks = [assign_task(None, program=PROGRAM, task_type="test_review", town=t)
                  for t in district.towns]
    district_task = assign_task(None, program=PROGRAM, task_type="test_review")
    return village_tasks, town_tasks, district_task


@pytest.mark.parametrize("who, expected", [
    ("admin", {"v0", "v1", "v2", "v3", "t0", "t1", "d"}),
    ("coordinator", {"v0", "v1", "v2", "v3", "t0", "t1", "d"}),
    ("town_coordinator", {"v0", "v1", "v2", "t0"}),
    ("other_town_coordinator", {"v3", "t1"}),
    ("lawyer", {"v0"}),
    ("village", {"v0"}),
])
def test_tasks_visible_to_each_role(district, spread, who, expected):
    village_tasks, town_tasks, district_task = spread
    names = {t.id: f"v{i}" for i, t in enumerate(village_tasks)}
    names |= {t.id: f"t{i}" for i, t in enumerate(town_tasks)} | {district_task.id: "d"}
    user = getattr(district.users, who)
    visible = {names[t.id] for t in tasks_visible_to(user)}
    assert visible == expected
    assert {names[t.id] for t in Task.select() if can_view_task(user, t)} == expected


def test_list_tasks_reads_village_town_and_lawyer_without_a_query_per_task(district, spread):
    assign_bulk(None, program=PROGRAM, task_type="test_followup")
    with count_queries() as counter:
        rows = [(t.village.name if t.village else None, t.town.name if t.town else None,
                 t.assignee.name if t.assignee else None) for t in list_tasks(None)]
    assert counter.count == 1 and len(rows) == 11
    assert (None, None, None) in rows  # the district task
    assert ("东湖1村", "东湖镇", "张明") in rows


def test_list_tasks_filters_and_overdue(district, spread):
    village_tasks, _, _ = spread
    late = village_tasks[1]
    late.due_on = D(2026, 3, 1)
    late.save()
    done_late = village_tasks[2]
    done_late.due_on = D(2026, 3, 1)
    done_late.save()
    complete_task(None, done_late, visit_data())
    today = D(2026, 3, 10)
    assert is_overdue(late, today) and not is_overdue(Task.get_by_id(done_late.id), today)
    assert [t.id for t in list_tasks(None, status="overdue", today=today)] == [late.id]
    assert [t.id for t in list_tasks(None, status="done")] == [done_late.id]
    assert {t.id for t in list_tasks(None, town=district.towns[1].id)} >= {village_tasks[3].id}
    assert [t.id for t in list_tasks(district.users.town_coordinator,
                                     lawyer=district.lawyers[3].id)] == []
    assert len(list(list_tasks(None, program=PROGRAM, task_type="test_visit"))) == 4


# --- calendar slots ----------------------------------------------------------------------

TUESDAY = D(2026, 3, 3)


def at(hour, day=TUESDAY):
    """A district wall-clock time as an aware datetime."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_schedule_puts_the_task_in_the_lawyers_calendar_and_moves_it(district, programme):
    task = visit(None, district.villages[0], title="王家走访")
    event = schedule_task(district.users.lawyer, task, starts_at=at(9), ends_at=at(11))
    assert (event.kind, event.lawyer_id, event.village_id, event.title, event.status) == \
        ("task", district.lawyers[0].id, district.villages[0].id, "王家走访", "planned")
    assert event.starts_at == dt.datetime(2026, 3, 3, 1, 0)  # UTC
    assert Task.get_by_id(task.id).event_id == event.id
    moved = schedule_task(district.users.lawyer, Task.get_by_id(task.id), starts_at=at(14),
                          ends_at=at(16))
    assert moved.id == event.id and moved.sequence == event.sequence + 1
    assert Event.select().count() == 1


def test_schedule_refuses_a_double_booking_and_a_day_off(district, programme):
    first = visit(None, district.villages[0])
    second = visit(None, district.villages[0])
    schedule_task(None, first, starts_at=at(9), ends_at=at(11))
    with pytest.raises(ValidationError, match="already booked"):
        schedule_task(None, second, starts_at=at(10), ends_at=at(12))
    with pytest.raises(ValidationError, match="weekend"):
        schedule_task(None, second, starts_at=at(9, D(2026, 3, 7)), ends_at=at(11, D(2026, 3, 7)))
    with pytest.raises(ValidationError, match="end must be after"):
        schedule_task(None, second, starts_at=at(11), ends_at=at(9))
    with pytest.raises(PermissionDenied):
        schedule_task(district.users.village, second, starts_at=at(14), ends_at=at(15))
    assert Event.select().count() == 1 and Task.get_by_id(second.id).event_id is None


def test_cancel_and_reassign_carry_the_calendar_slot(district, programme):
    task = visit(None, district.villages[0])
    event = schedule_task(None, task, starts_at=at(9), ends_at=at(11))
    reassign_task(None, Task.get_by_id(task.id), district.lawyers[1])
    event = Event.get_by_id(event.id)
    assert event.lawyer_id == district.lawyers[1].id and event.sequence == 1
    cancel_task(None, Task.get_by_id(task.id), reason="村里另有安排")
    event = Event.get_by_id(event.id)
    assert (event.status, event.cancel_reason, event.sequence) == ("cancelled", "村里另有安排", 2)


# --- where a lawyer finds an open task (我的任务, the 工作台) ----------------------------------

D = dt.date
WEDNESDAY = D(2026, 3, 11)  # a week of 9 (Monday) to 15 March (Sunday) 2026


def _task(due_on=None, status="open", scheduled=None, event_status="planned") -> Task:
    """A task as loaded with its scheduled visit (no database needed)."""
    task = Task(id=1, status=status, due_on=due_on)
    if scheduled is not None:
        task.event = Event(id=1, starts_at=clock.utc_from_local(scheduled, dt.time(9)),
                           status=event_status)
    return task


@pytest.mark.parametrize("task, group", [
    (_task(due_on=WEDNESDAY), "today"),
    (_task(due_on=D(2026, 3, 2), scheduled=WEDNESDAY), "today"),  # late, but it is today's work
    (_task(due_on=D(2026, 4, 30), scheduled=WEDNESDAY, event_status="cancelled"), "open"),
    (_task(due_on=D(2026, 3, 10)), "overdue"),
    (_task(due_on=D(2026, 3, 12)), "week"),
    (_task(due_on=D(2026, 3, 15)), "week"),  # Sunday ends the week
    (_task(due_on=D(2026, 3, 16)), "open"),  # next Monday
    (_task(due_on=D(2026, 4, 30), scheduled=D(2026, 3, 13)), "week"),
    (_task(due_on=D(2026, 4, 30), scheduled=D(2026, 3, 9)), "open"),  # its visit is past
    (_task(), "open"),
])
def test_where_a_task_shows(task, group):
    assert day_group(task, WEDNESDAY) == group
