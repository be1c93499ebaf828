"""Programme progress: done tasks counted by the plugins' metrics, toward their targets.

A metric counts the done tasks of its task types, or the distinct subjects of those tasks
(``Task.subject``: one household visited twice counts once; told apart per town and
village). How they are counted is ``core.progress_tally.count_rows``: per metric, town and
district month, a subject in the month it was first done. The district's and a town's
counts are kept at commit (``core.progress_tally``), so the desk, the charts and the
programmes read a few thousand kept rows however many tasks the year holds; a lawyer's,
a village's or a firm's scope is counted from its own tasks, the same way.

Years are district years (1 January 00:00 in ``JIEDUI_TIMEZONE``) of ``completed_at``. A
``ProgramTarget`` row overrides a metric's default target for its year.
"""
import datetime as dt
import functools
import itertools
import operator

from peewee import Case, Select, fn

from core import clock, progress_tally
from core.access import is_district_manager, task_filter, whole_towns, town_filter
from core.audit import record
from core.db import db, transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from core.models import Lawyer, ProgramTarget, Task, Town, User
from core.plugins import get_registry
from core.progress_tally import (NO_TOWN, SUBJECT_COLUMNS, SUBJECT_KEY, count_rows,
                                 metric_condition)
from core.registry import Metric
from core.privacy import full_view_filter, sees_in_full

BREAKDOWNS = ("town", "lawyer")


# --- the shared parts --------------------------------------------------------------------

year_bounds = clock.year_bounds  # the district year as stored instants [start, end)


def _where(*conditions):
    """AND the conditions, leaving out ``True`` (a scope that is everything)."""
    kept = [c for c in conditions if c is not True]
    if any(c is False for c in kept):
        return Task.id.is_null()  # nothing: no task has no id
    result = kept[0]
    for condition in kept[1:]:
        result &= condition
    return result


def _done_in(year: int | None, user: User | None, between=None):
    """Done tasks of the year (all years when None), or completed ``between`` two instants
    [start, end), that ``user`` may read."""
    conditions = [Task.status == "done", task_filter(user)]
    if between is None and year is not None:
        between = year_bounds(year)
    if between is not None:
        start, end = between
        conditions += [Task.completed_at >= start, Task.completed_at < end]
    return conditions


def _counts(metric: Metric):
    """The metric's condition over Task, and how it counts (tasks or distinct subjects)
    in one group of a GROUP BY (a lawyer's: ``breakdown``)."""
    condition = metric_condition(metric)
    if metric.distinct_field:
        return condition, lambda cond: fn.COUNT(fn.DISTINCT(Case(None, [(cond, SUBJECT_KEY.unwrap())])))
    return condition, lambda cond: fn.COUNT(Case(None, [(cond, 1)]))


def _metric(slug: str) -> Metric:
    metric = get_registry().metrics.get(slug)
    if metric is None:
        raise NotFound(N_("There is no metric %(metric)s (is its plugin loaded?)."), metric=slug)
    return metric


def _year(year: int | None) -> int:
    return year if year is not None else clock.today().year


def _ordered_metrics(program: str | None = None) -> list[Metric]:
    """Metrics by their programme's order, each programme's in the order registered."""
    registry = get_registry()
    rank = {slug: (p.order, slug) for slug, p in registry.programs.items()}
    metrics = [m for m in registry.metrics.values() if program is None or m.program == program]
    return sorted(metrics, key=lambda m: rank.get(m.program, (0, m.program)))


def targets(metrics: list[Metric], year: int) -> dict[str, int]:
    """Each metric's target for ``year``: the district's ``ProgramTarget``, else the plugin's."""
    overrides = dict(ProgramTarget.select(ProgramTarget.metric, ProgramTarget.target)
                     .where((ProgramTarget.year == year)
                            & ProgramTarget.metric.in_([m.slug for m in metrics])).tuples())
    return {m.slug: overrides.get(m.slug, m.target) for m in metrics}


def _live(metrics: list[Metric], year: int, user: User | None, between=None) -> list[tuple]:
    """``count_rows`` over the tasks ``user`` may read (a scope that is not whole towns)."""
    where = task_filter(user)
    return [] if where is False else count_rows(metrics, year, where, between)


def _totals(metrics: list[Metric], year: int, user: User | None, between=None) -> dict:
    """``{slug: done}`` in ``user``'s scope: the kept counts of its towns, or its tasks
    counted (always for a part of the year, ``between``)."""
    towns = whole_towns(user)
    if towns is not None and between is None:
        return progress_tally.totals(metrics, year, towns)
    totals = {m.slug: 0 for m in metrics}
    for index, _town, _month, count in _live(metrics, year, user, between):
        totals[metrics[index].slug] += count
    return totals


def _measure(metrics: list[Metric], year: int, user: User | None,
             between=None) -> dict[str, dict]:
    if not metrics:
        return {}
    done = _totals(metrics, year, user, between)
    goals = targets(metrics, year)
    registry = get_registry()
    return {m.slug: {"slug": m.slug, "program": m.program, "name": m.name,
                     "program_name": registry.programs[m.program].name
                     if m.program in registry.programs else m.program,
                     "done": done[m.slug], "target": goals[m.slug],
                     "distinct": m.distinct_field is not None}
            for m in metrics}


# --- the API -----------------------------------------------------------------------------

def progress(year: int | None = None, *, user: User | None = None) -> dict[str, dict]:
    """Every metric: ``{slug: {"slug", "program", "program_name", "name", "done", "target",
    "distinct"}}`` for the district ``year`` (default: this year), counting the tasks
    ``user`` may read (None: all). Ordered by programme. A few queries, however many
    metrics and tasks (the kept counts; a lawyer's scope: its tasks counted)."""
    return _measure(_ordered_metrics(), _year(year), user)


def progress_between(start: dt.datetime, end: dt.datetime, year: int, *,
                     user: User | None = None) -> dict[str, dict]:
    """Every metric as in ``progress``, counting the tasks done from ``start`` to ``end``
    (naive UTC instants, end excluded: a month or a quarter of ``core.reports``), against
    the targets of ``year``. Counted from the tasks (the kept counts are by month, and a
    subject counts in the part of the year it was first done in)."""
    return _measure(_ordered_metrics(), year, user, between=(start, end))


def program_progress(program_slug: str, year: int | None = None, *,
                     user: User | None = None) -> list[dict]:
    """The metrics of one programme, as in ``progress``, in the order registered."""
    if program_slug not in get_registry().programs:
        raise NotFound(N_("There is no programme %(program)s (is its plugin loaded?)."),
                       program=program_slug)
    return list(_measure(_ordered_metrics(program_slug), _year(year), user).values())


def counted_tasks(metric_slug: str, year: int | None = None, *,
                  user: User | None = None) -> list[Task]:
    """The done tasks a metric counts, oldest first: every one for a metric of tasks, the
    first done task of each subject (told apart per town and village, ``SUBJECT_KEY``) for a
    distinct one. The same conditions as ``progress`` (the year's done tasks ``user`` may
    read; ``year`` None: every year), so ``len(counted_tasks(m, year, user=u))`` is the
    ``done`` that ``progress(year, user=u)`` shows for ``m``: a register, a collection or
    an export built from these tasks holds what the progress page counts."""
    metric = _metric(metric_slug)
    condition, _count = _counts(metric)
    query = (Task.select().where(_where(*_done_in(year, user), condition))
             .order_by(Task.completed_at, Task.id))
    if not metric.distinct_field:
        return list(query)
    firsts = {}
    for task in query:
        if task.subject is not None:
            firsts.setdefault((task.town_id, task.village_id, task.subject), task)
    return list(firsts.values())


def headline(program_slug: str) -> Metric | None:
    """The metric a programme is known by (the dashboard, ``jiedui stats``): the first one
    its own plugin registered, else the first one registered for it."""
    registry = get_registry()
    owner = registry.owners.get(("programme", program_slug))
    metrics = [m for m in registry.metrics.values() if m.program == program_slug]
    own = [m for m in metrics if registry.owners.get(("metric", m.slug)) == owner]
    return (own or metrics or [None])[0]


def breakdown(metric_slug: str, by: str, year: int | None = None, *,
              user: User | None = None, limit: int | None = None) -> list[tuple[str, int]]:
    """One metric split by ``"town"`` (every town in ``user``'s scope, zeros included, in
    town order) or by ``"lawyer"`` (the assignees with a count, most first): the first
    ``limit`` rows (all: None; a province has 1,300 towns and 9,000 lawyers). District
    tasks (no town) and tasks without an assignee are in no row."""
    if by not in BREAKDOWNS:
        raise ValueError(f"breakdown by {by!r}: choose one of {', '.join(BREAKDOWNS)}")
    metric = _metric(metric_slug)
    if by == "town":
        counts = by_town([metric.slug], year, user=user)
        query = Town.select(Town.id, Town.name).order_by(Town.code).limit(limit)
        towns = town_filter(user)
        if towns is not True:
            query = query.where(towns)
        return [(name, counts.get(town_id, {}).get(metric.slug, 0))
                for town_id, name in query.tuples()]
    year = _year(year)
    if whole_towns(user) is True:  # the district: the counts kept per lawyer
        return progress_tally.top_lawyers(metric, year, limit)
    # a town's or a lawyer's scope: its own tasks counted (a lawyer may work in several
    # towns, so the district's counts per lawyer are not a town's)
    where = task_filter(user)
    counts = {} if where is False else {
        lawyer_id: count for _index, lawyer_id, count
        in progress_tally.count_by_lawyer([metric], year, where)}
    names = dict(Lawyer.select(Lawyer.id, Lawyer.name)
                 .where(Lawyer.id.in_(list(counts))).tuples()) if counts else {}
    rows = sorted(((names[i], n) for i, n in counts.items() if i in names),
                  key=lambda row: (-row[1], row[0]))
    return rows if limit is None else rows[:limit]


week_start = clock.week_start  # Monday


def weekly_trend(metric_slug: str, weeks: int = 12, *, user: User | None = None,
                 today: dt.date | None = None) -> list[tuple[dt.date, int]]:
    """What the metric gained in each of the last ``weeks`` weeks (Monday to Sunday,
    district time), oldest first, this week last. A distinct metric counts a subject in
    the week it was first done in its district year, as ``progress`` counts it in that
    year, so the weeks add up to the progress they made. Of a task type with sensitive
    fields, only the tasks ``user`` sees in full are counted (a week would say more than
    the month the others may know: ``core.privacy``). The district and a town's
    coordinators who see them all read the kept weeks (``progress_tally.weekly``)."""
    metric = _metric(metric_slug)
    monday = week_start(today or clock.today()) - dt.timedelta(weeks=weeks - 1)
    starts = [monday + dt.timedelta(weeks=i) for i in range(weeks + 1)]
    towns = whole_towns(user)
    if towns is not None and sees_in_full(user, metric.task_types):  # the kept weeks
        return list(zip(starts, progress_tally.weekly(metric, starts[:-1], towns)))
    return _weeks_counted(metric, starts, user)


def _weeks_counted(metric: Metric, starts: list[dt.date], user: User | None):
    """``weekly_trend`` counted from the tasks (a scope that is not whole towns, or a
    reader who sees some of the tasks restricted): the weeks from ``starts[i]`` to
    ``starts[i + 1]``."""
    weeks = len(starts) - 1
    bounds = [clock.utc_from_local(day, dt.time.min) for day in starts]
    condition, _ = _counts(metric)
    # a week is finer than the month a reader who sees a sensitive task restricted may
    # know of it (core.privacy): the trend counts only the tasks they see in full
    done = _where(*_done_in(None, user), condition, full_view_filter(user))
    if metric.distinct_field:
        moment, source = _firsts_in_window(done, bounds[0], bounds[-1], starts)
    else:
        moment, source = Task.completed_at, None
    columns = [fn.COUNT(Case(None, [((moment >= bounds[i]) & (moment < bounds[i + 1]), 1)]))
               .alias(f"w{i}") for i in range(weeks)]
    if source is not None:
        row = Select([source], columns).bind(db).dicts().get()
    else:
        row = (Task.select(*columns)
               .where(done & (Task.completed_at >= bounds[0]) & (Task.completed_at < bounds[-1]))
               .dicts().get())
    return [(starts[i], int(row[f"w{i}"] or 0)) for i in range(weeks)]


def _firsts_in_window(done, start: dt.datetime, end: dt.datetime, days: list[dt.date]):
    """The first completion in its district year of each subject first done in [start,
    end): a subquery of one column ``first``, a part per year the window touches, each
    reading that year's tasks up to the window's end only (not every year's)."""
    parts = []
    for year in range(days[0].year, (days[-1] - dt.timedelta(days=1)).year + 1):
        year_start, year_end = year_bounds(year)
        first = fn.MIN(Task.completed_at)
        parts.append(Task.select(first.alias("first"))
                     .where(done & Task.subject.is_null(False)
                            & (Task.completed_at >= year_start)
                            & (Task.completed_at < min(end, year_end)))
                     .group_by(*SUBJECT_COLUMNS)
                     .having(first >= max(start, year_start)))
    firsts = functools.reduce(operator.add, parts).alias("firsts")
    return firsts.c.first, firsts


def set_target(actor: User | None, metric_slug: str, year: int, target: int) -> ProgramTarget:
    """The district's target for a metric in a year (administrators, district coordinators)."""
    if not is_district_manager(actor):
        raise PermissionDenied(N_("Only an administrator or a district coordinator may do this."))
    metric = _metric(metric_slug)
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationError(N_("Give a year between 2000 and 2100."), field="year")
    if isinstance(target, bool) or not isinstance(target, int) or target < 1:
        raise ValidationError(N_("The target must be a whole number of at least 1."),
                              field="target")
    with transaction():
        row = ProgramTarget.get_or_none((ProgramTarget.metric == metric.slug)
                                        & (ProgramTarget.year == year))
        previous = row.target if row else metric.target
        if row is None:
            row = ProgramTarget.create(metric=metric.slug, year=year, target=target)
        else:
            row.target = target
            row.save()
        record(actor, "progress.set_target", obj=row,
               detail={"metric": metric.slug, "year": year, "from": previous, "to": target})
    return row


def cumulative_by_month(metric_slugs: list[str], year: int | None = None, *,
                        user: User | None = None) -> dict[str, list[int]]:
    """``{metric slug: [done by the end of January, … by the end of December]}`` for the
    district ``year``, counting as ``progress`` does (a distinct metric counts a subject
    once, in the month it was first done) in ``user``'s scope: the kept counts by month,
    or the scope's tasks counted."""
    metrics = [_metric(slug) for slug in metric_slugs]
    if not metrics:
        return {}
    year = _year(year)
    towns = whole_towns(user)
    if towns is not None:
        months = progress_tally.monthly(metrics, year, towns)
    else:
        months = {m.slug: [0] * 12 for m in metrics}
        for index, _town, month, count in _live(metrics, year, user):
            months[metrics[index].slug][month] += count
    return {slug: list(itertools.accumulate(counts)) for slug, counts in months.items()}


def by_town(metric_slugs: list[str], year: int | None = None, *,
            user: User | None = None) -> dict[int, dict[str, int]]:
    """``{town id: {metric slug: done}}`` for the district ``year`` in ``user``'s scope,
    counted as ``progress`` counts (distinct subjects where the metric says so): the kept
    counts by town, or the scope's tasks counted. District tasks (no town) and towns with
    nothing done are left out."""
    metrics = [_metric(slug) for slug in metric_slugs]
    if not metrics:
        return {}
    year = _year(year)
    towns = whole_towns(user)
    if towns is not None:
        counted = progress_tally.per_town(metrics, year, towns)
    else:
        counted = {}
        for index, town_id, _month, count in _live(metrics, year, user):
            if town_id != NO_TOWN:
                by_metric = counted.setdefault(town_id, {})
                by_metric[metrics[index].slug] = by_metric.get(metrics[index].slug, 0) + count
    return {town_id: {m.slug: done.get(m.slug, 0) for m in metrics}
            for town_id, done in counted.items()}


def done_by_town(metric_slugs: list[str], year: int | None = None, *,
                 user: User | None = None) -> dict[int, int]:
    """``{town id: the metrics' done, added up}`` for the district ``year`` in ``user``'s
    scope (the towns compared add up the programmes' headline metrics): one kept row per
    town, or the scope's tasks counted (``by_town``)."""
    metrics = [_metric(slug) for slug in metric_slugs]
    towns = whole_towns(user)
    if towns is not None:
        return progress_tally.summed_per_town(metrics, _year(year), towns)
    return {town_id: sum(done.values())
            for town_id, done in by_town(metric_slugs, year, user=user).items()}
