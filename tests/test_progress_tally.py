"""The progress counts kept at commit (core.progress_tally) tell what counting the tasks
tells, for the district and a town, through a year of completing, re-opening and
completing again; a task written past the services is caught up by the repair; a metric
whose definition changed is counted again when read."""
import datetime as dt

import pytest

from core import progress_tally, town_tally
from core.access import task_filter
from core.models import Lawyer, LawyerTally, Task, TownTally, TownTallyShape
from core.plugins import get_registry
from core.progress import (_weeks_counted, breakdown, by_town, cumulative_by_month, progress,
                           week_start, weekly_trend)
from core.tasks import assign_task, complete_task, reopen_task
from tests.planning_support import now, utc  # noqa: F401 (fixture)
from tests.tasks_support import PROGRAM, programme, visit_data  # noqa: F401 (fixture)

YEAR = 2026


def counted(year, user=None):
    """What counting the tasks ``user`` may read says: {slug: [12 months]} and
    {town id: {slug: done}} (``count_rows``, the way a lawyer's scope is counted)."""
    metrics = sorted(get_registry().metrics.values(), key=lambda m: m.slug)
    months = {m.slug: [0] * 12 for m in metrics}
    towns = {}
    for index, town_id, month, count in progress_tally.count_rows(metrics, year,
                                                                  task_filter(user)):
        months[metrics[index].slug][month] += count
        if town_id:
            per = towns.setdefault(town_id, {m.slug: 0 for m in metrics})
            per[metrics[index].slug] += count
    return months, towns


def lawyers_counted(year, user=None):
    """{slug: [(lawyer's name, count)], most first}: the lawyers' counts over the tasks
    ``user`` may read, counted by grouping the tasks in Python (not by the tally's SQL)."""
    metrics = get_registry().metrics.values()
    names = dict(Lawyer.select(Lawyer.id, Lawyer.name).tuples())
    start, end = town_tally.month_bounds(year)[0], town_tally.month_bounds(year)[12]
    where = task_filter(user)
    tasks = Task.select().where((Task.status == "done") & (Task.completed_at >= start)
                                & (Task.completed_at < end) & Task.assignee.is_null(False))
    tasks = list(tasks if where is True else tasks.where(where))
    result = {}
    for metric in metrics:
        counted = {}
        for task in tasks:
            if task.program != metric.program or task.task_type not in metric.task_types:
                continue
            if metric.distinct_field:
                if task.subject is not None:
                    counted.setdefault(task.assignee_id, set()).add(
                        (task.town_id, task.village_id, task.subject))
            else:
                counted.setdefault(task.assignee_id, set()).add(task.id)
        result[metric.slug] = sorted(((names[i], len(keys)) for i, keys in counted.items()),
                                     key=lambda row: (-row[1], row[0]))
    return result


def assert_kept_as_counted(district, year=YEAR):
    users = district.users
    for user in (None, users.town_coordinator):  # the kept rows; a town counted
        for slug, rows in lawyers_counted(year, user).items():
            assert breakdown(slug, "lawyer", year, user=user) == rows, (slug, user)
    for user in (None, users.coordinator, users.town_coordinator, users.other_town_coordinator):
        months, towns = counted(year, user)
        slugs = sorted(months)
        kept = cumulative_by_month(slugs, year, user=user)
        assert kept == {slug: [sum(m[:i + 1]) for i in range(12)]
                        for slug, m in months.items()}, user
        assert {slug: row["done"] for slug, row in progress(year, user=user).items()} == {
            slug: sum(m) for slug, m in months.items()}, user
        assert by_town(slugs, year, user=user) == towns, user
        # the weeks kept (a 60-week window: the year and across its end) are the weeks
        # counted from the tasks
        for day in (dt.date(year, 12, 31), dt.date(year + 1, 1, 12)):
            monday = week_start(day) - dt.timedelta(weeks=59)
            starts = [monday + dt.timedelta(weeks=i) for i in range(61)]
            for slug in slugs:
                assert weekly_trend(slug, 60, user=user, today=day) == _weeks_counted(
                    get_registry().metrics[slug], starts, user), (slug, user, day)


def visit(district, household, village=0, task_type="test_visit", **place):
    """A task done now (the ``now`` fixture's clock) through the services."""
    if not place:
        place = {"village": district.villages[village]}
    task = assign_task(None, program=PROGRAM, task_type=task_type, **place)
    data = (visit_data(household=household) if task_type == "test_visit"
            else {"household": household, "outcome": "好转"})
    complete_task(None, task, data)
    return task


def test_a_year_of_work_kept_as_counted(district, programme, now):
    now(utc(YEAR, 1, 10, 10))
    first_wang = visit(district, "王家")
    visit(district, "李家", village=1)
    visit(district, "企业甲", town=district.towns[0])  # a town's own task
    now(utc(YEAR, 3, 5, 10))
    visit(district, "王家", task_type="test_followup")  # the same household again
    visit(district, "赵家", village=3)  # the other town
    visit(district, "区里", town=None)  # the district's own task
    assert_kept_as_counted(district)
    households = cumulative_by_month(["test_households"], YEAR)["test_households"]
    assert households[0] == 3 and households[2] == 5  # 王家 counted in January

    now(utc(YEAR, 4, 1, 10))
    reopen_task(district.users.coordinator, first_wang)  # 王家's first visit no longer counts
    assert_kept_as_counted(district)
    households = cumulative_by_month(["test_households"], YEAR)["test_households"]
    assert households[0] == 2 and households[2] == 5  # 王家 counted in March now

    now(utc(YEAR, 5, 20, 10))
    complete_task(None, Task.get_by_id(first_wang.id), visit_data(household="王家"))
    cancelled = assign_task(None, program=PROGRAM, task_type="test_visit",
                            village=district.villages[2])
    reopen_task(district.users.coordinator, complete_task(None, cancelled, visit_data()))
    assert_kept_as_counted(district)
    assert progress(YEAR)["test_visit_count"]["done"] == 5
    assert progress(YEAR, user=district.users.town_coordinator)["test_households"]["done"] == 3

    now(utc(YEAR + 1, 1, 3, 10))  # a new year: last year's counts stay as they were
    visit(district, "新年")
    assert_kept_as_counted(district)
    assert_kept_as_counted(district, YEAR + 1)
    assert progress(YEAR + 1)["test_households"]["done"] == 1


def test_tasks_written_past_the_services_are_repaired(district, programme, now):
    now(utc(YEAR, 2, 10, 10))
    task = visit(district, "王家")
    visit(district, "李家", village=3)
    assert progress(YEAR)["test_visit_count"]["done"] == 2
    assert sum(n for _name, n in breakdown("test_visit_count", "lawyer", YEAR)) == 2
    # moved to another month and year past the services (an import script, a fix by hand)
    Task.update(completed_at=utc(YEAR - 1, 11, 3, 10)).where(Task.id == task.id).execute()
    assert progress(YEAR)["test_visit_count"]["done"] == 2  # the kept counts, not yet told
    assert sum(n for _name, n in breakdown("test_visit_count", "lawyer", YEAR)) == 2
    assert progress_tally.rebuild() > 0
    assert_kept_as_counted(district)
    assert_kept_as_counted(district, YEAR - 1)
    assert progress(YEAR - 1)["test_visit_count"]["done"] == 1
    assert sum(n for _name, n in breakdown("test_visit_count", "lawyer", YEAR)) == 1
    assert progress_tally.rebuild() == 0  # nothing left to repair


def test_a_metric_counted_with_another_definition_is_counted_again(district, programme, now):
    now(utc(YEAR, 2, 10, 10))
    visit(district, "王家")
    assert progress(YEAR)["test_households"]["done"] == 1
    # as if an older version of the plugin had counted it otherwise
    TownTally.update(value=TownTally.value + 40).where(
        TownTally.figure == "progress:test_households").execute()
    LawyerTally.update(value=LawyerTally.value + 40).where(
        LawyerTally.figure == "progress:test_households").execute()
    TownTallyShape.update(shape="test_visits|test_visit||Asia/Shanghai").where(
        TownTallyShape.figure.in_(["progress:test_households",
                                   "lawyers:progress:test_households"])).execute()
    assert progress(YEAR)["test_households"]["done"] == 1
    assert [n for _name, n in breakdown("test_households", "lawyer", YEAR)] == [1]
    assert_kept_as_counted(district)


def test_a_reopened_task_of_another_year_is_taken_off_that_year(district, programme, now):
    now(utc(YEAR, 12, 30, 10))
    task = visit(district, "王家")
    now(utc(YEAR + 1, 1, 5, 10))
    assert progress(YEAR)["test_households"]["done"] == 1
    reopen_task(district.users.coordinator, task)
    assert progress(YEAR)["test_households"]["done"] == 0
    assert_kept_as_counted(district)


@pytest.mark.parametrize("reader", ["lawyer", "village"])
def test_a_scope_that_is_not_whole_towns_is_counted_from_its_tasks(district, programme, now,
                                                                   reader):
    now(utc(YEAR, 2, 10, 10))
    visit(district, "王家")
    visit(district, "李家", village=1)
    user = getattr(district.users, reader)
    months, _towns = counted(YEAR, user)
    assert {slug: row["done"] for slug, row in progress(YEAR, user=user).items()} == {
        slug: sum(m) for slug, m in months.items()}
    assert sum(months["test_visit_count"]) >= 1


def test_kept_rows_stay_few_for_the_district(district, programme, now):
    """The district's months are read from the sums over its towns, not from each town."""
    now(utc(YEAR, 2, 10, 10))
    for village in range(4):
        visit(district, f"家{village}", village=village)
    sums = (TownTally.select()
            .where((TownTally.town_id == town_tally.ALL_TOWNS)
                   & (TownTally.figure == "progress:test_households")
                   & (TownTally.year == YEAR)))
    # February, the year and the week of 9 February (the 7th week from 29 December 2025)
    assert {(row.month, row.value) for row in sums} == {
        (1, 4), (town_tally.YEAR, 4), (town_tally.WEEKS + 6, 4)}


def test_a_metric_no_longer_registered_leaves_no_lawyer_rows(district, programme, now):
    now(utc(YEAR, 2, 10, 10))
    visit(district, "王家")
    LawyerTally.create(figure="progress:a_removed_metric", year=YEAR,
                       lawyer_id=district.lawyers[0].id, value=3)
    assert progress_tally.rebuild() == 1
    assert not LawyerTally.select().where(
        LawyerTally.figure == "progress:a_removed_metric").exists()
    assert LawyerTally.select().where(LawyerTally.figure == "progress:test_households").exists()
