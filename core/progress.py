"""Programme progress: done tasks counted by the plugins' metrics, toward their targets.

A metric counts the done tasks of its task types, or the distinct subjects of those tasks
(``Task.subject``: one household visited twice counts once). Every metric becomes one
column of ONE aggregate query over the done tasks of the year:

    COUNT(CASE WHEN program = p AND task_type IN (…) THEN 1 END)             -- tasks
    COUNT(DISTINCT CASE WHEN program = p AND task_type IN (…) THEN subject END) -- subjects

so a subject counts once per metric even when the metric spans several task types, and the
page costs the same two queries (counts, then the year's targets) for one programme or ten.

Years are district years (1 January 00:00 in ``JIEDUI_TIMEZONE``) of ``completed_at``. A
``ProgramTarget`` row overrides a metric's default target for its year.
"""
import datetime as dt
import functools
import itertools
import operator

from peewee import JOIN, SQL, Case, Select, fn

from core import clock
from core.access import is_district_manager, task_filter, town_filter
from core.audit import record
from core.db import db, transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from core.models import Lawyer, ProgramTarget, Task, Town, User
from core.plugins import get_registry
from core.registry import Metric
from core.privacy import full_view_filter

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


# A subject is counted per village: 王建国's household in one village is not the same
# household as a 王建国 in another (district- and town-level tasks have no village).
SUBJECT_KEY = (fn.COALESCE(Task.village.cast("TEXT"), "").concat(":").concat(Task.subject)
               .alias("subject_key"))


def _counts(metric: Metric):
    """The metric's condition over Task, and how it counts (tasks or distinct subjects)."""
    condition = (Task.program == metric.program) & Task.task_type.in_(list(metric.task_types))
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


def _columns(metrics: list[Metric]) -> tuple[list, list[str]]:
    """A count column per metric (``m0``, ``m1`` …) and the programmes they cover."""
    columns = []
    for index, metric in enumerate(metrics):
        condition, count = _counts(metric)
        columns.append(count(condition).alias(f"m{index}"))
    return columns, sorted({m.program for m in metrics})


def _measure(metrics: list[Metric], year: int, user: User | None,
             between=None) -> dict[str, dict]:
    if not metrics:
        return {}
    columns, programs = _columns(metrics)
    row = (Task.select(*columns)
           .where(_where(*_done_in(year, user, between), Task.program.in_(programs)))
           .dicts().get())
    goals = targets(metrics, year)
    registry = get_registry()
    return {m.slug: {"slug": m.slug, "program": m.program, "name": m.name,
                     "program_name": registry.programs[m.program].name
                     if m.program in registry.programs else m.program,
                     "done": int(row[f"m{index}"] or 0), "target": goals[m.slug],
                     "distinct": m.distinct_field is not None}
            for index, m in enumerate(metrics)}


# --- the API -----------------------------------------------------------------------------

def progress(year: int | None = None, *, user: User | None = None) -> dict[str, dict]:
    """Every metric: ``{slug: {"slug", "program", "program_name", "name", "done", "target",
    "distinct"}}`` for the district ``year`` (default: this year), counting the tasks
    ``user`` may read (None: all). Ordered by programme. Two queries, however many metrics."""
    return _measure(_ordered_metrics(), _year(year), user)


def progress_between(start: dt.datetime, end: dt.datetime, year: int, *,
                     user: User | None = None) -> dict[str, dict]:
    """Every metric as in ``progress``, counting the tasks done from ``start`` to ``end``
    (naive UTC instants, end excluded: a month or a quarter of ``core.reports``), against
    the targets of ``year``. Two queries."""
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
    first done task of each subject (told apart per village, ``SUBJECT_KEY``) for a
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
            firsts.setdefault((task.village_id, task.subject), task)
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
              user: User | None = None) -> list[tuple[str, int]]:
    """One metric split by ``"town"`` (every town in ``user``'s scope, zeros included, in
    town order) or by ``"lawyer"`` (the assignees with a count, most first). District
    tasks (no town) and tasks without an assignee are in no row."""
    if by not in BREAKDOWNS:
        raise ValueError(f"breakdown by {by!r}: choose one of {', '.join(BREAKDOWNS)}")
    metric = _metric(metric_slug)
    condition, count = _counts(metric)
    counted = _where(*_done_in(_year(year), user), condition)
    if by == "town":
        n = count(Task.id.is_null(False)).alias("n")  # the join already applied the conditions
        query = (Town.select(Town.name, n)
                 .join(Task, JOIN.LEFT_OUTER, on=(Task.town == Town.id) & counted)
                 .group_by(Town.id, Town.name, Town.code).order_by(Town.code))
        towns = town_filter(user)
        if towns is not True:
            query = query.where(towns)
    else:
        n = count(Task.id.is_null(False))
        query = (Lawyer.select(Lawyer.name, n.alias("n"))
                 .join(Task, on=(Task.assignee == Lawyer.id))
                 .where(counted)
                 .group_by(Lawyer.id, Lawyer.name).order_by(n.desc(), Lawyer.name))
    return [(label, int(value or 0)) for label, value in query.tuples()]


week_start = clock.week_start  # Monday


def weekly_trend(metric_slug: str, weeks: int = 12, *, user: User | None = None,
                 today: dt.date | None = None) -> list[tuple[dt.date, int]]:
    """What the metric gained in each of the last ``weeks`` weeks (Monday to Sunday,
    district time), oldest first, this week last. A distinct metric counts a subject in
    the week it was first done, so the weeks add up to the progress they made. Of a task
    type with sensitive fields, only the tasks ``user`` sees in full are counted (a week
    would say more than the month the others may know: ``core.privacy``)."""
    metric = _metric(metric_slug)
    monday = week_start(today or clock.today()) - dt.timedelta(weeks=weeks - 1)
    starts = [monday + dt.timedelta(weeks=i) for i in range(weeks + 1)]
    bounds = [clock.utc_from_local(day, dt.time.min) for day in starts]
    condition, _ = _counts(metric)
    # a week is finer than the month a reader who sees a sensitive task restricted may
    # know of it (core.privacy): the trend counts only the tasks they see in full
    done = _where(*_done_in(None, user), condition, full_view_filter(user))
    if metric.distinct_field:
        firsts = (Task.select(SUBJECT_KEY, fn.MIN(Task.completed_at).alias("first"))
                  .where(done & Task.subject.is_null(False))
                  .group_by(SUBJECT_KEY.unwrap()).alias("firsts"))
        moment, source = firsts.c.first, firsts
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


def month_bounds(year: int) -> list[dt.datetime]:
    """The 13 instants (naive UTC) that start each district month of ``year`` and the next
    year: month ``m`` (1–12) is [bounds[m - 1], bounds[m])."""
    return [clock.utc_from_local(dt.date(year + (m > 12), (m - 1) % 12 + 1, 1), dt.time.min)
            for m in range(1, 14)]


def _month_of(instant, bounds: list[dt.datetime]):
    """The month index (0–11) of ``instant`` among the 13 ``month_bounds`` (12 after)."""
    return Case(None, [(instant < bounds[month + 1], month) for month in range(12)], 12)


def cumulative_by_month(metric_slugs: list[str], year: int | None = None, *,
                        user: User | None = None) -> dict[str, list[int]]:
    """``{metric slug: [done by the end of January, … by the end of December]}`` for the
    district ``year``, counting as ``progress`` does (a distinct metric counts a subject
    once, in the month it was first done) in ``user``'s scope. ONE query: per metric, its
    tasks (or its subjects, at their first completion) counted by month — a UNION ALL of
    GROUP BYs, so the cost is one pass over the year's done tasks per metric, not a
    DISTINCT per metric and month."""
    metrics = [_metric(slug) for slug in metric_slugs]
    if not metrics:
        return {}
    year = _year(year)
    bounds = month_bounds(year)
    programs = sorted({m.program for m in metrics})
    done = _where(*_done_in(year, user), Task.program.in_(programs))
    parts = []
    for index, metric in enumerate(metrics):
        condition, _count = _counts(metric)
        if metric.distinct_field:
            firsts = (Task.select(fn.MIN(Task.completed_at).alias("first"))
                      .where(done & condition).group_by(SUBJECT_KEY.unwrap())
                      .alias(f"firsts{index}"))
            month = _month_of(firsts.c.first, bounds)
            parts.append(Task.select(SQL(str(index)), month, fn.COUNT(SQL("*")))
                         .from_(firsts).group_by(SQL("2")))
        else:
            month = _month_of(Task.completed_at, bounds)
            parts.append(Task.select(SQL(str(index)), month, fn.COUNT(Task.id))
                         .where(done & condition).group_by(SQL("2")))
    counted = [[0] * 13 for _ in metrics]
    for index, month, count in functools.reduce(operator.add, parts).tuples():
        counted[int(index)][int(month)] += int(count)
    return {m.slug: list(itertools.accumulate(counted[index][:12]))
            for index, m in enumerate(metrics)}


def by_town(metric_slugs: list[str], year: int | None = None, *,
            user: User | None = None) -> dict[int, dict[str, int]]:
    """``{town id: {metric slug: done}}`` for the district ``year`` in ``user``'s scope,
    counted as ``progress`` counts (distinct subjects where the metric says so). ONE
    query, GROUP BY town; district tasks (no town) and towns with nothing done are left
    out."""
    metrics = [_metric(slug) for slug in metric_slugs]
    if not metrics:
        return {}
    columns, programs = _columns(metrics)
    rows = (Task.select(Task.town.alias("town_id"), *columns)
            .where(_where(*_done_in(_year(year), user), Task.program.in_(programs),
                          Task.town.is_null(False)))
            .group_by(Task.town).dicts())
    return {row["town_id"]: {m.slug: int(row[f"m{index}"] or 0) for index, m in enumerate(metrics)}
            for row in rows}
