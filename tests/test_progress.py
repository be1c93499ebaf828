"""Programme progress (core.progress): done tasks and distinct subjects per metric, in one
aggregate query whatever the number of programmes; targets per year; breakdowns; trend;
``programs`` in the district stats."""
import datetime as dt

import pytest
from playhouse.test_utils import count_queries
from wtforms import Form, StringField

from core import clock, hookimpl, progress_tally
from core.errors import NotFound, PermissionDenied, ValidationError
from core.models import AuditLog, ProgramTarget, Task
from core.progress import (breakdown, program_progress, progress, set_target, weekly_trend,
                           year_bounds)
from core.registry import Metric, Program, TaskType
from core.stats import program_stats
from core.tasks import assign_task, complete_task
from core.testing import registered
from tests.tasks_support import PROGRAM, programme, visit_data  # noqa: F401 (fixture)

D = dt.date


def done(village, task_type="test_visit", household="王家", completed_at=None, actor=None,
         **data):
    """A done task of the test programme, completed at ``completed_at`` (naive UTC)."""
    task = assign_task(None, program=PROGRAM, task_type=task_type, village=village)
    formdata = (visit_data(household=household, **data) if task_type == "test_visit"
                else {"household": household, "outcome": "好转"})
    complete_task(actor, task, formdata)
    if completed_at is not None:  # past the services: the kept counts are told
        Task.update(completed_at=completed_at).where(Task.id == task.id).execute()
        progress_tally.count_again(task)
    return task


def in_2026(month=3, day=2, hour=2):
    return dt.datetime(2026, month, day, hour)


def test_metrics_count_done_tasks_and_distinct_subjects_across_task_types(district, programme):
    v = district.villages
    done(v[0], household="王家", completed_at=in_2026())
    done(v[0], household="王家 ", completed_at=in_2026())      # same household (trimmed)
    done(v[0], "test_followup", household="王家", completed_at=in_2026())  # other type, same
    done(v[1], household="李家", completed_at=in_2026())
    done(v[2], "test_followup", household="赵家", completed_at=in_2026())
    assign_task(None, program=PROGRAM, task_type="test_visit", village=v[3])  # open: not counted
    cancelled = done(v[3], household="钱家", completed_at=in_2026())
    Task.update(status="cancelled").where(Task.id == cancelled.id).execute()
    numbers = progress(2026)
    assert numbers["test_households"]["done"] == 3        # 王家, 李家, 赵家
    assert numbers["test_visit_count"]["done"] == 3       # three done test_visit tasks
    assert numbers["test_reviews"]["done"] == 0
    assert numbers["test_households"] == {
        "slug": "test_households", "program": PROGRAM, "program_name": "测试走访",
        "name": "已走访家庭", "done": 3, "target": 100, "distinct": True}
    assert numbers["test_visit_count"]["target"] == 50


def test_one_name_in_two_villages_is_two_subjects(district, programme):
    """Households are told apart per village: two 王家 in two villages are two visits."""
    done(district.villages[0], household="王家", completed_at=in_2026())
    done(district.villages[1], household="王家", completed_at=in_2026())
    done(district.villages[1], household="王家", completed_at=in_2026())
    assert progress(2026)["test_households"]["done"] == 2


def test_progress_counts_the_district_year_of_completion(district, programme):
    start, end = year_bounds(2026)
    assert start == dt.datetime(2025, 12, 31, 16, 0)  # 1 January 00:00 in Shanghai
    done(district.villages[0], household="甲", completed_at=dt.datetime(2025, 12, 31, 15, 59))
    done(district.villages[0], household="乙", completed_at=dt.datetime(2025, 12, 31, 16, 0))
    done(district.villages[0], household="丙", completed_at=dt.datetime(2026, 12, 31, 15, 59))
    done(district.villages[0], household="丁", completed_at=dt.datetime(2026, 12, 31, 16, 0))
    assert progress(2025)["test_households"]["done"] == 1
    assert progress(2026)["test_households"]["done"] == 2
    assert progress(2027)["test_households"]["done"] == 1


def test_progress_in_a_users_scope(district, programme):
    done(district.villages[0], household="东一", completed_at=in_2026())
    done(district.villages[3], household="西一", completed_at=in_2026())
    users = district.users
    assert progress(2026, user=users.town_coordinator)["test_households"]["done"] == 1
    assert progress(2026, user=users.other_town_coordinator)["test_households"]["done"] == 1
    assert progress(2026, user=users.coordinator)["test_households"]["done"] == 2
    assert progress(2026, user=users.lawyer)["test_households"]["done"] == 1


def test_set_target_overrides_the_plugins_target_for_that_year(district, programme):
    set_target(district.users.coordinator, "test_households", 2026, 120)
    set_target(district.users.coordinator, "test_households", 2026, 130)  # changed again
    assert progress(2026)["test_households"]["target"] == 130
    assert progress(2027)["test_households"]["target"] == 100
    assert ProgramTarget.select().count() == 1
    entry = AuditLog.select().where(AuditLog.action == "progress.set_target") \
        .order_by(AuditLog.id.desc()).get()
    assert entry.detail == {"metric": "test_households", "year": 2026, "from": 120, "to": 130}


@pytest.mark.parametrize("args, error", [
    (("test_households", 2026, 0), ValidationError),
    (("test_households", 2026, "100"), ValidationError),
    (("test_households", 1999, 100), ValidationError),
    (("no_such_metric", 2026, 100), NotFound),
])
def test_set_target_refuses_bad_input(district, programme, args, error):
    with pytest.raises(error):
        set_target(None, *args)
    assert ProgramTarget.select().count() == 0


def test_set_target_is_for_district_managers_only(district, programme):
    with pytest.raises(PermissionDenied):
        set_target(district.users.town_coordinator, "test_households", 2026, 80)
    assert ProgramTarget.select().count() == 0


class SubjectForm(Form):
    subject = StringField("对象")


class TenProgrammes:
    """Ten programmes, each with a distinct metric and a count metric."""

    @hookimpl
    def register_programs(self, register):
        for i in range(10):
            register(Program(slug=f"prog_{i}", name=f"项目{i}", order=i))

    @hookimpl
    def register_task_types(self, register):
        for i in range(10):
            register(TaskType(slug=f"work_{i}", program=f"prog_{i}", name=f"工作{i}",
                              form=SubjectForm, subject_field="subject"))

    @hookimpl
    def register_metrics(self, register):
        for i in range(10):
            register(Metric(slug=f"subjects_{i}", program=f"prog_{i}", name="对象数",
                            task_types=(f"work_{i}",), distinct_field="subject"))
            register(Metric(slug=f"works_{i}", program=f"prog_{i}", name="次数",
                            task_types=(f"work_{i}",)))


def test_progress_of_ten_programmes_costs_the_same_fixed_queries(district, programme):
    year = clock.today().year  # the tasks are completed now
    progress(year)  # the kept counts of the metrics installed (core.progress_tally)
    with count_queries() as one:
        progress(year)
    with registered(("test-ten", TenProgrammes())):
        for i in range(10):
            for subject in ("甲", "乙", "甲"):
                task = assign_task(None, program=f"prog_{i}", task_type=f"work_{i}",
                                   village=district.villages[0])
                complete_task(None, task, {"subject": subject})
        progress(year)  # build the registry outside the count
        with count_queries() as eleven:
            numbers = progress(year)
    # the metrics' definitions checked, the kept counts, then the year's targets
    assert one.count == eleven.count == 3
    assert len(numbers) == 3 + 20
    assert [numbers[f"subjects_{i}"]["done"] for i in range(10)] == [2] * 10
    assert [numbers[f"works_{i}"]["done"] for i in range(10)] == [3] * 10
    # by programme order (prog_0 is 0, test_visits and prog_1 are 1: then by slug)
    assert list(numbers)[:6] == ["subjects_0", "works_0", "subjects_1", "works_1",
                                 "test_households", "test_visit_count"]


def test_program_progress_lists_one_programmes_metrics(district, programme):
    done(district.villages[0], completed_at=in_2026())
    rows = program_progress(PROGRAM, 2026)
    assert [(r["slug"], r["done"]) for r in rows] == [
        ("test_households", 1), ("test_visit_count", 1), ("test_reviews", 0)]
    with pytest.raises(NotFound):
        program_progress("no_such_programme")


def test_breakdown_by_town_and_by_lawyer(district, programme):
    v = district.villages
    done(v[0], household="甲", completed_at=in_2026())
    done(v[1], household="乙", completed_at=in_2026())
    done(v[1], household="乙", completed_at=in_2026())
    done(v[3], household="丙", completed_at=in_2026())
    assert breakdown("test_households", "town", 2026) == [("东湖镇", 2), ("西山街道", 1)]
    assert breakdown("test_visit_count", "town", 2026) == [("东湖镇", 3), ("西山街道", 1)]
    assert breakdown("test_households", "town", 2026, user=district.users.town_coordinator) == \
        [("东湖镇", 2)]
    assert breakdown("test_households", "town", 2027) == [("东湖镇", 0), ("西山街道", 0)]
    assert breakdown("test_visit_count", "lawyer", 2026) == [("李华", 2), ("张明", 1),
                                                             ("赵强", 1)]
    with pytest.raises(ValueError):
        breakdown("test_households", "village", 2026)


def test_weekly_trend_counts_a_subject_in_the_week_it_was_first_done(district, programme):
    v = district.villages
    # district Mondays: 2026-03-02, 03-09, 03-16 (instants below are UTC, +8 in Shanghai)
    done(v[0], household="甲", completed_at=dt.datetime(2026, 3, 2, 1))    # week of 03-02
    done(v[0], household="甲", completed_at=dt.datetime(2026, 3, 10, 1))   # again: not new
    done(v[0], household="乙", completed_at=dt.datetime(2026, 3, 8, 17))   # Mon 03-09 01:00
    done(v[0], household="丙", completed_at=dt.datetime(2026, 3, 17, 1))
    done(v[0], household="丁", completed_at=dt.datetime(2026, 2, 1, 1))    # before the window
    today = D(2026, 3, 18)
    assert weekly_trend("test_households", weeks=3, today=today) == [
        (D(2026, 3, 2), 1), (D(2026, 3, 9), 1), (D(2026, 3, 16), 1)]
    assert weekly_trend("test_visit_count", weeks=3, today=today) == [
        (D(2026, 3, 2), 1), (D(2026, 3, 9), 2), (D(2026, 3, 16), 1)]
    assert len(weekly_trend("test_households", today=today)) == 12


def test_weekly_trend_counts_a_subject_again_in_a_new_year_as_progress_does(district,
                                                                          programme):
    v = district.villages
    # district Mondays 2025-12-22, 12-29 (its week ends 2026-01-04), 2026-01-05
    done(v[0], household="甲", completed_at=dt.datetime(2025, 12, 22, 1))
    done(v[0], household="甲", completed_at=dt.datetime(2026, 1, 6, 1))   # first of 2026
    done(v[0], household="甲", completed_at=dt.datetime(2026, 1, 7, 1))   # again: not new
    done(v[1], household="乙", completed_at=dt.datetime(2025, 12, 30, 1))
    done(v[1], household="乙", completed_at=dt.datetime(2026, 1, 1, 17))  # 01-02 district time
    trend = weekly_trend("test_households", weeks=3, today=D(2026, 1, 8))
    assert trend == [(D(2025, 12, 22), 1), (D(2025, 12, 29), 2), (D(2026, 1, 5), 1)]
    # the weeks of 2026 add up to what 2026's progress counts
    assert progress(2026)["test_households"]["done"] == 2
    assert progress(2025)["test_households"]["done"] == 2


def test_district_stats_programs_show_each_programmes_headline_metric(district, programme):
    done(district.villages[0], household="甲")
    done(district.villages[0], household="甲")
    set_target(None, "test_households", clock.today().year, 90)
    assert program_stats() == {PROGRAM: {"done": 1, "target": 90}}
