"""Done programme tasks counted per metric, town and district month, kept at commit
(``core.town_tally``, the figures ``progress:<metric slug>``).

How a metric counts (``count_rows``): the done tasks of its task types, or the distinct
subjects of those tasks (``Task.subject``, told apart per town and village:
``SUBJECT_KEY``), a subject counting once, in the month it was *first* done in the year.
Because a subject belongs to one town, a metric's counts add up over towns and months:
the district's year is the sum of its towns' months.

Counted for every page view, that was one pass over the year's done tasks per metric:
650,000 tasks and 2–3 s for the desk, the charts and the programmes at province scale
(26,000 villages). So the counts are kept: ``core.tasks`` calls ``count_again`` when a task
is completed or a done one is opened again, and its town is counted again once that is
committed; ``core.progress`` reads the kept rows (``monthly``, ``totals``, ``per_town``).
A metric whose definition changed (its programme, task types, what it counts distinct; the
district's time zone) is counted again when read. The hourly
``core.jobs.repair_town_tallies`` and ``jiedui progress-tally`` count everything again,
writing only what differs (tasks written past the services, a reaction that failed).

Each town's weeks are kept with its months (``count_rows(weeks=True)``, the months
``town_tally.WEEKS + w``: a subject in the week it was first done in the year), so a
programme's weekly trend reads a few kept rows (``weekly``); grouping a year of a
province's enterprises (130,000 done tasks) on every view of its page was 110–180 ms.

Who reads the kept counts: the scopes that are whole towns (``core.access.whole_towns``:
the district, a town's coordinators). A lawyer's, a village's or a firm's scope is counted
from its own tasks by the same ``count_rows``.

Each metric is also kept per lawyer and year (``LawyerTally``, counted by
``count_by_lawyer``: the tasks a lawyer is the assignee of, a distinct metric their
distinct subjects), for a programme's lawyers most first (``top_lawyers``): counted per
lawyer, that was 400 ms a metric at province scale. The lawyer of a task completed or
opened again is counted again at commit, as its town is; the district reads these rows,
a town's coordinator counts the town's tasks (a lawyer may work in several towns).
"""
import datetime as dt
import functools
import logging
import operator
from collections import defaultdict

from peewee import SQL, fn

from core import clock, town_tally
from core.config import get_settings
from core.db import collect_until_commit, db, hold_until_commit, transaction
from core.models import Lawyer, LawyerTally, Task, TownTallyShape
from core.plugins import get_registry
from core.registry import Metric
from core.town_tally import NO_TOWN, WEEKS, month_bounds, month_of, week_bounds, week_of

log = logging.getLogger(__name__)

_COLLECT_KEY = "progress_tally.towns"
_LAWYERS_KEY = "progress_tally.lawyers"
_LAWYERS_LOCK = 0x6A746C77  # "jtlw": one keeper of the lawyers' counts at a time


# --- how a metric counts ----------------------------------------------------------------------

# A subject is told apart per town and village: 王建国's household in one village is not the
# same household as a 王建国 in another; a town's enterprise is not another town's. So a
# subject belongs to one town, and the towns' counts add up to the district's.
SUBJECT_KEY = (fn.COALESCE(Task.town.cast("TEXT"), "").concat(":")
               .concat(fn.COALESCE(Task.village.cast("TEXT"), "")).concat(":")
               .concat(Task.subject).alias("subject_key"))
# The same subject as columns, for a GROUP BY (a third cheaper than grouping by the key
# built from them: a year of a province's enterprises is 130,000 groups); COUNT(DISTINCT)
# needs the one expression.
SUBJECT_COLUMNS = (Task.town, Task.village, Task.subject)


def metric_condition(metric: Metric):
    """The tasks a metric counts, of the done tasks (WHERE on ``Task``)."""
    return (Task.program == metric.program) & Task.task_type.in_(list(metric.task_types))


def count_rows(metrics: list[Metric], year: int, where=True,
               between: tuple | None = None,
               weeks: bool = False) -> list[tuple[int, int, int, int]]:
    """``[(metric index, town id or NO_TOWN, month 0–11, count)]``: the done tasks of the
    district ``year`` (completed ``between`` two instants within it, if given) that ``where``
    selects, counted by each metric per town and month — ONE query, a UNION ALL of one
    GROUP BY per metric. A distinct metric counts each subject in the month it was first
    done (within ``between``). ``weeks``: each town's weeks too, in the same pass, as the
    months ``town_tally.WEEKS + w`` (``town_tally.week_bounds``)."""
    if not metrics:
        return []
    bounds = month_bounds(year)
    weekly = week_bounds(year) if weeks else None
    start, end = between if between is not None else (bounds[0], bounds[12])
    done = ((Task.status == "done") & (Task.completed_at >= max(start, bounds[0]))
            & (Task.completed_at < min(end, bounds[12]))
            & Task.program.in_(sorted({m.program for m in metrics})))
    if where is not True:
        done &= where
    town = fn.COALESCE(Task.town, NO_TOWN)
    groups = [SQL("2"), SQL("3")] + ([SQL("4")] if weeks else [])

    def periods(instant):
        return [month_of(instant, bounds)] + ([week_of(instant, weekly)] if weeks else [])
    parts = []
    for index, metric in enumerate(metrics):
        counted = done & metric_condition(metric)
        if metric.distinct_field:
            # the key holds the town, so each subject's group has one town
            firsts = (Task.select(town.alias("town"), fn.MIN(Task.completed_at).alias("first"))
                      .where(counted & Task.subject.is_null(False))
                      .group_by(*SUBJECT_COLUMNS).alias(f"firsts{index}"))
            parts.append(Task.select(SQL(str(index)), firsts.c.town, *periods(firsts.c.first),
                                     fn.COUNT(SQL("*")))
                         .from_(firsts).group_by(*groups))
        else:
            parts.append(Task.select(SQL(str(index)), town, *periods(Task.completed_at),
                                     fn.COUNT(Task.id))
                         .where(counted).group_by(*groups))
    rows = functools.reduce(operator.add, parts).tuples()
    if not weeks:
        return [(int(index), int(town_id), int(month), int(count))
                for index, town_id, month, count in rows]
    counts = defaultdict(int)  # each (month, week) group counted into both
    for index, town_id, month, week, count in rows:
        counts[(int(index), int(town_id), int(month))] += int(count)
        counts[(int(index), int(town_id), int(week))] += int(count)
    return [(*key, count) for key, count in counts.items()]


def count_by_lawyer(metrics: list[Metric], year: int,
                    where=True) -> list[tuple[int, int, int]]:
    """``[(metric index, lawyer id, count)]``: the done tasks of the district ``year`` that
    ``where`` selects, counted by each metric per assignee (a distinct metric: each
    lawyer's distinct subjects) — ONE query; lawyers with nothing counted are left out."""
    if not metrics:
        return []
    bounds = month_bounds(year)
    done = ((Task.status == "done") & (Task.completed_at >= bounds[0])
            & (Task.completed_at < bounds[12]) & Task.assignee.is_null(False))
    if where is not True:
        done &= where
    parts = []
    for index, metric in enumerate(metrics):
        counted = done & metric_condition(metric)
        if metric.distinct_field:
            counted &= Task.subject.is_null(False)
            count = fn.COUNT(fn.DISTINCT(SUBJECT_KEY.unwrap()))
        else:
            count = fn.COUNT(Task.id)
        parts.append(Task.select(SQL(str(index)), Task.assignee, count)
                     .where(counted).group_by(Task.assignee))
    return [(int(index), int(lawyer_id), int(count)) for index, lawyer_id, count
            in functools.reduce(operator.add, parts).tuples()]


def _years(where) -> set[int]:
    """The district years of the done tasks ``where`` selects."""
    first, last = (Task.select(fn.MIN(Task.completed_at), fn.MAX(Task.completed_at))
                   .where((Task.status == "done") & where).tuples().get())
    if first is None:
        return set()
    return set(range(clock.local_date(first).year, clock.local_date(last).year + 1))


def _town_where(town_ids):
    """WHERE on Task for these towns (``NO_TOWN``: the district's own tasks); True for all."""
    if town_ids is None:
        return True
    towns = [t for t in town_ids if t != NO_TOWN]
    where = Task.town.in_(towns) if towns else None
    if NO_TOWN in town_ids:
        where = Task.town.is_null() if where is None else (where | Task.town.is_null())
    return where if where is not None else Task.id.is_null()


class Progress(town_tally.Source):
    """The registered metrics, as kept figures."""
    name = "progress"

    def figures(self, slugs=None) -> dict[str, str]:
        metrics = get_registry().metrics
        wanted = metrics if slugs is None else [s for s in slugs if s in metrics]
        zone = get_settings().timezone
        return {slug: "|".join((metrics[slug].program, ",".join(sorted(metrics[slug].task_types)),
                                metrics[slug].distinct_field or "", zone, "weeks"))
                for slug in wanted}

    def years(self, town_ids) -> set[int]:
        return _years(_town_where(town_ids))

    def count(self, slugs, town_ids, year: int):
        metrics = [get_registry().metrics[slug] for slug in slugs]
        return [(metrics[index].slug, town_id, month, count) for index, town_id, month, count
                in count_rows(metrics, year, _town_where(town_ids), weeks=True)]


PROGRESS = Progress()


# --- keeping ---------------------------------------------------------------------------------------

def count_again(task) -> None:
    """Count the task's town and its lawyer again once the change to the task (completed,
    opened again) is committed; the towns and lawyers of one transaction are counted once,
    together (a demo's hundreds of tasks). A failure is logged, not raised: the change is
    committed, and the hourly repair catches up."""
    collect_until_commit(_COLLECT_KEY, task.town_id or NO_TOWN, _count_towns)
    if task.assignee_id:
        collect_until_commit(_LAWYERS_KEY, task.assignee_id, _count_lawyers)


def _count_towns(town_ids) -> None:
    try:
        town_tally.refresh(PROGRESS, town_ids=town_ids)
    except Exception:  # noqa: BLE001 - logged; the hourly repair catches up
        log.exception("could not count the progress of towns %s", sorted(set(town_ids))[:20])


def _count_lawyers(lawyer_ids) -> None:
    try:
        refresh_lawyers(lawyer_ids)
    except Exception:  # noqa: BLE001 - logged; the hourly repair catches up
        log.exception("could not count the progress of lawyers %s", sorted(set(lawyer_ids))[:20])


def rebuild() -> int:
    """Every metric counted again, per town and per lawyer (the hourly job, ``jiedui
    progress-tally``, tasks written past the services); returns how many rows were wrong
    or missing."""
    return town_tally.rebuild(PROGRESS) + rebuild_lawyers()


# --- per lawyer --------------------------------------------------------------------------------------

def _lawyer_shape_key(slug: str) -> str:
    return f"lawyers:{PROGRESS.name}:{slug}"


def _lawyers_compared(slugs, lawyer_ids) -> tuple[dict, dict]:
    """(figure, year, lawyer id) -> count: what these lawyers (all: None) should have, and
    what is kept for them."""
    metrics = [get_registry().metrics[slug] for slug in slugs]
    figures = [f"{PROGRESS.name}:{slug}" for slug in slugs]
    where, kept = True, LawyerTally.figure.in_(figures)
    if lawyer_ids is not None:
        where, kept = Task.assignee.in_(lawyer_ids), kept & LawyerTally.lawyer_id.in_(lawyer_ids)
    years = PROGRESS.years(None) if where is True else _years(where)
    years |= {y for (y,) in LawyerTally.select(LawyerTally.year).where(kept).distinct().tuples()}
    wanted = {(figures[index], year, lawyer_id): count
              for year in sorted(years)
              for index, lawyer_id, count in count_by_lawyer(metrics, year, where)}
    stored = {(figure, year, lawyer_id): value for figure, year, lawyer_id, value in
              LawyerTally.select(LawyerTally.figure, LawyerTally.year, LawyerTally.lawyer_id,
                                 LawyerTally.value).where(kept).tuples()}
    return wanted, stored


def refresh_lawyers(lawyer_ids=None, slugs=None) -> int:
    """Count these lawyers (all by default) again for these metrics (all by default),
    every year they have something done or kept, and write what differs; returns how
    many rows changed. As ``town_tally.refresh``: inside the write transaction, one keeper
    at a time; over every lawyer, counted first without the write lock."""
    if lawyer_ids is not None:
        lawyer_ids = sorted({int(i) for i in lawyer_ids})
    shapes = PROGRESS.figures(slugs)
    if not shapes:
        return 0
    slugs = sorted(shapes)
    if lawyer_ids is None:
        wanted, stored = _lawyers_compared(slugs, None)
        if wanted == stored:
            _remember_lawyer_shapes(shapes)
            return 0
    with transaction():
        hold_until_commit(_LAWYERS_LOCK)
        changed = town_tally.write_differences(LawyerTally, ("figure", "year", "lawyer_id"),
                                               *_lawyers_compared(slugs, lawyer_ids))
        if lawyer_ids is None:
            _remember_lawyer_shapes(shapes)
    return changed


def _remember_lawyer_shapes(shapes: dict) -> None:
    town_tally.remember_shapes({_lawyer_shape_key(slug): shape for slug, shape in shapes.items()})


def rebuild_lawyers() -> int:
    """Every metric counted again per lawyer; a metric no longer registered is forgotten
    (its rows and its shape)."""
    changed = refresh_lawyers()
    known = [f"{PROGRESS.name}:{slug}" for slug in PROGRESS.figures()]
    changed += LawyerTally.delete().where(
        LawyerTally.figure.startswith(f"{PROGRESS.name}:") & LawyerTally.figure.not_in(known)
    ).execute()
    (TownTallyShape.delete()
     .where(TownTallyShape.figure.startswith(f"lawyers:{PROGRESS.name}:")
            & TownTallyShape.figure.not_in([f"lawyers:{figure}" for figure in known])).execute())
    return changed


def _lawyers_counted(slugs) -> None:
    """Count again the metrics whose per-lawyer counts were counted with another
    definition (or never), as ``town_tally.ensure_counted`` does for the towns."""
    shapes = {_lawyer_shape_key(slug): (slug, shape)
              for slug, shape in PROGRESS.figures(slugs).items()}
    recount = [shapes[key][0] for key in
               town_tally.stale({key: shape for key, (_slug, shape) in shapes.items()})]
    if recount:
        log.info("counting the lawyers' progress again: %s", ", ".join(recount))
        refresh_lawyers(slugs=recount)


def top_lawyers(metric: Metric, year: int, limit: int | None) -> list[tuple[str, int]]:
    """``[(lawyer's name, count)]``: the district's lawyers with something counted by
    ``metric`` in ``year``, most first (then by name), the first ``limit`` (all: None)."""
    _lawyers_counted([metric.slug])
    query = (LawyerTally.select(Lawyer.name, LawyerTally.value)
             .join(Lawyer, on=(Lawyer.id == LawyerTally.lawyer_id))
             .where((LawyerTally.figure == f"{PROGRESS.name}:{metric.slug}")
                    & (LawyerTally.year == year))
             .order_by(LawyerTally.value.desc(), Lawyer.name).limit(limit))
    return [(name, int(value)) for name, value in db.execute(query).fetchall()]


# --- reading ---------------------------------------------------------------------------------------

def monthly(metrics: list[Metric], year: int, towns) -> dict[str, list[int]]:
    """``{slug: [done in January, … in December]}`` in ``towns`` (True: the district)."""
    return town_tally.monthly(PROGRESS, [m.slug for m in metrics], year, towns)


def totals(metrics: list[Metric], year: int, towns) -> dict[str, int]:
    """``{slug: done in the year}`` in ``towns`` (True: the district)."""
    return town_tally.totals(PROGRESS, [m.slug for m in metrics], year, towns)


def per_town(metrics: list[Metric], year: int, towns) -> dict[int, dict[str, int]]:
    """``{town id: {slug: done in the year}}`` in ``towns`` (True: every town); district
    tasks and towns with nothing done are left out."""
    return town_tally.per_town(PROGRESS, [m.slug for m in metrics], year, towns)


def summed_per_town(metrics: list[Metric], year: int, towns) -> dict[int, int]:
    """``{town id: these metrics' done in the year, added up}`` in ``towns`` (True: all)."""
    return town_tally.summed_per_town(PROGRESS, [m.slug for m in metrics], year, towns)


def weekly(metric: Metric, starts: list, towns) -> list[int]:
    """What ``metric`` gained in each week beginning on the Mondays ``starts`` (district
    dates, in order), in ``towns`` (True: the district), from the kept weeks: a week that
    spans a new year is the old year's part and the new year's, each counted in its year."""
    gained = [0] * len(starts)
    years = {day.year for monday in starts for day in (monday, monday + dt.timedelta(days=6))}
    for year in sorted(years):
        week_zero = town_tally.first_monday(year)
        periods = {i: WEEKS + (monday - week_zero).days // 7 for i, monday in enumerate(starts)
                   if week_zero <= monday <= dt.date(year, 12, 31)}
        kept = town_tally.by_period(PROGRESS, [metric.slug], year, towns,
                                    set(periods.values()))[metric.slug]
        for i, period in periods.items():
            gained[i] += kept.get(period, 0)
    return gained
