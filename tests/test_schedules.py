"""Schedules: every registered Schedule is a huey periodic task that fires on the district's
wall clock (huey runs with utc=True) and creates one task per village, per town or for the
district, once per firing. Huey runs in immediate mode; ``read_periodic(utc)`` asks which
periodic tasks the consumer would start at that minute."""
import datetime as dt

import pytest

from core import clock
from core import plugins as core_plugins
from core.jobs import last_firing, run_schedule, sync_schedules
from core.models import AuditLog, Task
from core.queue import huey
from core.testing import alone
from tests.tasks_support import VisitsPlugin

WEEKLY, MONTHLY, QUARTERLY = ("core.jobs.schedule_test_weekly", "core.jobs.schedule_test_monthly",
                              "core.jobs.schedule_test_quarterly")


def utc(*args):
    return dt.datetime(*args)


def firing(moment):
    """The names of our schedules' periodic tasks huey would start at ``moment`` (UTC)."""
    names = {huey._registry.task_to_string(type(task)) for task in huey.read_periodic(moment)}
    return names & {WEEKLY, MONTHLY, QUARTERLY}


@pytest.fixture
def schedules():
    """Only the test programme (three schedules) is loaded and synced with huey."""
    with alone(("test-visits", VisitsPlugin())):
        sync_schedules()
        yield
    with alone():
        sync_schedules()  # the test programme is gone: its periodic tasks go too


def run_periodic_at(monkeypatch, moment):
    """What the consumer does at ``moment``: enqueue every periodic task due (immediate
    mode runs it at once), with the clock reading ``moment``."""
    monkeypatch.setattr(clock, "now_utc", lambda: moment)
    for task in huey.read_periodic(moment):
        if huey._registry.task_to_string(type(task)) in {WEEKLY, MONTHLY, QUARTERLY}:
            huey.enqueue(task)


@pytest.mark.parametrize("moment, expected", [
    (utc(2026, 3, 2, 1, 0), {WEEKLY}),             # Monday 09:00 in Shanghai
    (utc(2026, 3, 2, 9, 0), set()),                # Monday 09:00 UTC is 17:00 there
    (utc(2026, 3, 2, 1, 1), set()),                # a minute later
    (utc(2026, 3, 1, 1, 0), {MONTHLY}),            # Sunday 1 March, 09:00 there
    (utc(2026, 3, 31, 17, 0), set()),              # 1 April 01:00 there: too early
    (utc(2026, 4, 1, 0, 30), {QUARTERLY}),         # 1 April 08:30 there
    (utc(2026, 4, 1, 1, 0), {MONTHLY}),            # 1 April 09:00 there
    (utc(2026, 5, 1, 0, 30), set()),               # May is not a quarter's first month
    (utc(2026, 6, 30, 17, 0), set()),              # 1 July 01:00 there, 30 June in UTC
    (utc(2026, 7, 1, 0, 30), {QUARTERLY}),
])
def test_schedules_fire_at_the_district_times(schedules, moment, expected):
    assert firing(moment) == expected


def test_weekly_village_schedule_creates_one_task_per_paired_village(district, schedules,
                                                                     monkeypatch):
    run_periodic_at(monkeypatch, utc(2026, 3, 2, 1, 0))
    tasks = list(Task.select().order_by(Task.schedule_key))
    assert [t.schedule_key for t in tasks] == [f"test_weekly:{v.code}:2026-03-02T09:00"
                                               for v in sorted(district.villages[:4],
                                                               key=lambda v: v.code)]
    assert {(t.level, t.title, t.task_type, t.status, t.due_on) for t in tasks} == \
        {("village", "每周排查", "test_visit", "open", dt.date(2026, 3, 8))}  # due Sunday
    assert {t.village_id: t.assignee_id for t in tasks} == \
        {district.villages[i].id: district.lawyers[i].id for i in range(4)}
    assert {t.town_id for t in tasks} == {district.towns[0].id, district.towns[1].id}
    entry = AuditLog.get(AuditLog.action == "task.schedule_create")
    assert entry.detail == {"schedule": "test_weekly", "period": "2026-03-02T09:00", "count": 4}


def test_a_firing_run_twice_or_late_creates_nothing_more(district, schedules, monkeypatch):
    run_periodic_at(monkeypatch, utc(2026, 3, 2, 1, 0))
    run_periodic_at(monkeypatch, utc(2026, 3, 2, 1, 0))        # a retry
    assert run_schedule("test_weekly", now=utc(2026, 3, 2, 3, 20)) == 0  # late in the queue
    assert Task.select().count() == 4
    assert AuditLog.select().where(AuditLog.action == "task.schedule_create").count() == 1
    run_periodic_at(monkeypatch, utc(2026, 3, 9, 1, 0))        # next Monday: new tasks
    assert Task.select().count() == 8


def test_monthly_town_and_quarterly_district_schedules(district, schedules, monkeypatch):
    run_periodic_at(monkeypatch, utc(2026, 4, 1, 0, 30))
    run_periodic_at(monkeypatch, utc(2026, 4, 1, 1, 0))
    review = Task.get(Task.task_type == "test_review")
    assert (review.level, review.village_id, review.town_id, review.assignee_id) == \
        ("district", None, None, None)
    assert review.schedule_key == "test_quarterly:district:2026-04-01T08:30"
    assert review.due_on == dt.date(2026, 6, 30)  # the day before the next quarter
    towns = list(Task.select().where(Task.level == "town").order_by(Task.schedule_key))
    assert [(t.schedule_key, t.town_id, t.assignee_id, t.due_on) for t in towns] == [
        ("test_monthly:T1:2026-04-01T09:00", district.towns[0].id, None, dt.date(2026, 4, 30)),
        ("test_monthly:T2:2026-04-01T09:00", district.towns[1].id, None, dt.date(2026, 4, 30))]


def test_unregistered_schedules_stop_firing(schedules):
    assert firing(utc(2026, 3, 2, 1, 0)) == {WEEKLY}
    core_plugins.unregister_plugin("test-visits")
    sync_schedules()
    assert firing(utc(2026, 3, 2, 1, 0)) == set()


def test_last_firing_names_the_firing_a_late_job_belongs_to():
    weekly = {"minute": "0", "hour": "9", "day_of_week": "1"}
    assert last_firing(weekly, dt.datetime(2026, 3, 2, 9, 0, 40)) == dt.datetime(2026, 3, 2, 9, 0)
    assert last_firing(weekly, dt.datetime(2026, 3, 2, 11, 5)) == dt.datetime(2026, 3, 2, 9, 0)
    # more than a day late: the job's own minute (a new firing, still created once)
    assert last_firing(weekly, dt.datetime(2026, 3, 4, 11, 5)) == dt.datetime(2026, 3, 4, 11, 5)
