"""The data of the charts (series), in a viewer's scope, for the pages (``web/charts.py``
draws them as SVG) and the bureau's reports (which may draw them otherwise). Numbers only:
no drawing, no words but the names of things.

- ``program_series``: each programme's headline metric, done by the end of each month,
  against the expected pace (``core.pace``) and the scope's target;
- ``session_months``: on-site sessions (坐班) planned and held in each month;
- ``town_series``: the towns compared: programme work done against what their share of
  the district targets expects by today; ``town_sessions``: their on-site sessions held
  against those planned, and those due by now;
- ``lawyer_series``: each lawyer's villages with sessions and publicity events held
  against the year's 12 + 2 (``core.planner.quota_status``, the quota page's figures).

Each comes from one aggregate query (a column per month, or GROUP BY town), never a query
per village or per lawyer.
"""
import datetime as dt
from dataclasses import dataclass, field

from peewee import SQL, Case, fn

from core import clock, session_tally
from core.access import sheet_filter, town_filter, whole_towns
from core.calendar_views import event_filter
from core.models import Event, Lawyer, Pairing, Town, User, Village
from core.pace import (Pace, Share, YearCalendar, pace, quota_pace, share_of, status as pace_status,
                       year_calendar)
from core.planner import quota_status
from core.plugins import get_registry
from core.progress import cumulative_by_month, done_by_town, headline, targets
from core.session_tally import HELD, PLANNED
from core.town_tally import month_bounds


def _months_known(year: int, today: dt.date) -> int:
    """How many months of ``year`` have begun by ``today`` (0–12): later months have no
    value yet (a chart leaves them out instead of drawing zeros)."""
    if today.year < year:
        return 0
    if today.year > year:
        return 12
    return today.month


def _headlines():
    """Each programme's headline metric (``core.progress.headline``), in programme order."""
    registry = get_registry()
    programs = sorted(registry.programs.values(), key=lambda p: (p.order, p.slug))
    return [m for m in (headline(p.slug) for p in programs) if m is not None]


# --- the programmes against their pace ---------------------------------------------------------

@dataclass
class ProgramSeries:
    program: str  # slug
    metric: str  # the headline metric's slug
    done: list[int]  # by the end of each month that has begun (the current month: so far)
    expected: list[float]  # by the end of each of the 12 months
    pace: Pace  # today's
    months_known: int


def program_series(year: int | None = None, *, user: User | None = None,
                   today: dt.date | None = None, share: Share | None = None,
                   calendar: YearCalendar | None = None,
                   metrics: list[str] | None = None) -> list[ProgramSeries]:
    """Each programme's headline metric (``core.progress.headline``; or the ``metrics``
    named) in ``user``'s scope: cumulative done by month, the expected line for the
    scope's target, today's pace. Two queries for the counts (cumulative, then the year's
    targets)."""
    today = today or clock.today()
    year = year or today.year
    share = share if share is not None else share_of(user)
    calendar = calendar if calendar is not None else year_calendar(year)
    registry = get_registry()
    metrics = (_headlines() if metrics is None
               else [registry.metrics[slug] for slug in metrics if slug in registry.metrics])
    counts = cumulative_by_month([m.slug for m in metrics], year, user=user)
    goals = targets(metrics, year)
    known = _months_known(year, today)
    ends = calendar.month_end_fractions()
    result = []
    for metric in metrics:
        today_pace = pace(counts[metric.slug][max(known, 1) - 1] if known else 0,
                          goals[metric.slug], year=year, day=today, share=share,
                          calendar=calendar)
        result.append(ProgramSeries(
            program=metric.program, metric=metric.slug, done=counts[metric.slug][:known],
            expected=[today_pace.target * f for f in ends], pace=today_pace,
            months_known=known))
    return result


# --- sessions by month ---------------------------------------------------------------------------

@dataclass
class SessionMonth:
    month: int  # 1–12
    planned: int  # not cancelled (held ones included: what the plan asks of the month)
    held: int
    past: bool  # the month is over: what was not held is missed


def sessions_by_month(months: list[dt.date], end: dt.date,
                      user: User | None) -> list[tuple[dt.date, int, int]]:
    """On-site sessions (events of kind ``session``) that ``user`` may read, planned (not
    cancelled) and held, in each district month starting on ``months[i]`` (the last one
    ends on ``end``): ``[(first day, planned, held)]`` from ONE query. The bureau's report
    (``core.reports``) and the charts of a scope that is not whole towns count them here;
    the district's and a town's charts read the counts kept by the same conditions
    (``core.session_tally``), so they agree."""
    bounds = [clock.utc_from_local(day, dt.time.min) for day in [*months, end]]
    readable = event_filter(user)
    if readable is False:
        return [(day, 0, 0) for day in months]
    # one month number per event, then GROUP BY it: a CASE per event rather than two
    # counts per month per event (a province's year holds 300,000 sessions)
    month = Case(None, [(Event.starts_at < bounds[m + 1], m) for m in range(len(months))])
    query = (Event.select(month.alias("month"), fn.COUNT(Case(None, [(PLANNED, 1)])),
                          fn.COUNT(Case(None, [(HELD, 1)])))
             .where((Event.kind == "session") & (Event.starts_at >= bounds[0])
                    & (Event.starts_at < bounds[-1]))
             .group_by(SQL("1")))
    if readable is not True:
        query = query.where(readable)
    counts = {int(m): (int(planned), int(held)) for m, planned, held in query.tuples()}
    return [(day, *counts.get(m, (0, 0))) for m, day in enumerate(months)]


def session_months(year: int | None = None, *, user: User | None = None,
                   today: dt.date | None = None) -> list[SessionMonth]:
    """The 12 months of ``year``: sessions planned and held (kept per town,
    ``core.session_tally``; a scope that is not whole towns: ``sessions_by_month``), and
    whether each month is over by ``today``."""
    today = today or clock.today()
    year = year or today.year
    months = [dt.date(year, m, 1) for m in range(1, 13)]
    towns = whole_towns(user)
    if towns is not None:
        kept = session_tally.monthly(year, towns)
        counts = [(day, kept["planned"][i], kept["held"][i]) for i, day in enumerate(months)]
    else:
        counts = sessions_by_month(months, dt.date(year + 1, 1, 1), user)
    return [SessionMonth(day.month, planned, held,
                         dt.date(year + (day.month == 12), day.month % 12 + 1, 1) <= today)
            for day, planned, held in counts]


# --- the towns compared ------------------------------------------------------------------------

@dataclass
class TownSeries:
    town: Town
    share: Share
    done: int  # the headline metrics' done tasks, summed over the programmes
    pace: Pace  # against the town's share of the summed district targets


def town_series(year: int | None = None, *, user: User | None = None,
                today: dt.date | None = None, calendar: YearCalendar | None = None,
                towns: list | None = None) -> list[TownSeries]:
    """Every town in ``user``'s scope: the programmes' work done in its villages (the
    headline metrics, done tasks of the year) against the town's share of the district
    targets as expected by ``today``: the kept counts, one row per town (another scope:
    its tasks counted), and the towns with their villages."""
    today = today or clock.today()
    year = year or today.year
    calendar = calendar if calendar is not None else year_calendar(year)
    metrics = _headlines()
    goals = targets(metrics, year)
    total_target = sum(goals.values())
    counts = done_by_town([m.slug for m in metrics], year, user=user)
    query = towns_in_scope(user) if towns is None else towns
    if query is None:
        return []
    all_villages = Village.select().count()
    result = []
    for town in query:
        share = Share("town", int(town.villages or 0), all_villages, town.name)
        done = counts.get(town.id, 0)
        result.append(TownSeries(town=town, share=share, done=done,
                                 pace=pace(done, total_target, year=year,
                                           day=today, share=share, calendar=calendar)))
    return result


def towns_in_scope(user: User | None):
    """The towns ``user`` may read, each with its number of villages (``villages``), in
    town order (a query; a page comparing the towns twice passes the list of it to
    ``town_series`` and ``town_sessions``); None when they may read none."""
    towns = town_filter(user)
    if towns is False:
        return None
    per_town = Village.select(fn.COUNT(Village.id)).where(Village.town == Town.id)
    query = Town.select(Town, per_town.alias("villages")).order_by(Town.code)
    return query if towns is True else query.where(towns)


@dataclass
class TownSessions:
    town: Town
    pace: Pace  # held against the year's planned sessions; expected: those begun by now


def town_sessions(year: int | None = None, *, user: User | None = None,
                  now: dt.datetime | None = None,
                  towns: list | None = None) -> list[TownSessions]:
    """Every town in ``user``'s scope: on-site sessions held against those planned for the
    year (not cancelled), and against those whose time has come by ``now`` (what should
    be held by now). The district and a town read the kept counts (``core.session_tally``)
    and count this month's sessions so far; another scope counts its year of sessions (one
    query, GROUP BY town)."""
    now = now or clock.now_utc()
    year = year or clock.local_date(now).year
    towns = towns_in_scope(user) if towns is None else towns
    readable = event_filter(user)
    if readable is False or towns is None:
        return []
    scope = whole_towns(user)
    counts = (_town_sessions_counted(year, now, readable) if scope is None
              else _town_sessions_kept(year, now, scope))
    result = []
    for town in towns:
        row = counts.get(town.id, {"planned": 0, "due": 0, "held": 0})
        held, due = int(row["held"] or 0), int(row["due"] or 0)
        share = Share("town", int(town.villages or 0), 0, town.name)
        result.append(TownSessions(town, Pace(done=held, target=int(row["planned"] or 0),
                                              expected=due, status=pace_status(held, due),
                                              share=share,
                                              district_target=int(row["planned"] or 0))))
    return result


def _town_session_counts(start, end, now, where=True):
    """{town id: {"planned", "due", "held"}}: sessions begun in [start, end) of the year,
    counted per town from the events (``due``: planned and begun before ``now``)."""
    query = (Event.select(Village.town.alias("town_id"),
                          fn.COUNT(Case(None, [(PLANNED, 1)])).alias("planned"),
                          fn.COUNT(Case(None, [(PLANNED & (Event.starts_at < now), 1)]))
                          .alias("due"),
                          fn.COUNT(Case(None, [(HELD, 1)])).alias("held"))
             .join(Village)
             .where((Event.kind == "session") & (Event.starts_at >= start)
                    & (Event.starts_at < end))
             .group_by(Village.town))
    if where is not True:
        query = query.where(where)
    return {row.pop("town_id"): row for row in query.dicts()}


def _town_sessions_counted(year: int, now, readable) -> dict:
    """A scope that is not whole towns: its year of sessions counted per town."""
    bounds = month_bounds(year)
    return _town_session_counts(bounds[0], bounds[12], now, readable)


def _town_sessions_kept(year: int, now, towns) -> dict:
    """The district or a town: the year's planned and held sessions kept per town
    (``core.session_tally``); what is due by ``now`` is the months before now's, kept,
    and now's month so far, counted."""
    bounds = month_bounds(year)
    kept = session_tally.per_town(year, towns)
    month = sum(1 for bound in bounds[1:12] if bound <= now) if bounds[0] <= now else 0
    if now >= bounds[12]:
        due = {town_id: row.get("planned", 0) for town_id, row in kept.items()}
    else:
        due = _planned_before(year, towns, month, kept)
        if now > bounds[0]:
            where = True if towns is True else Village.town.in_(list(towns))
            for town_id, row in _town_session_counts(bounds[month], now, now,
                                                     where).items():
                due[town_id] = due.get(town_id, 0) + row["due"]
    return {town_id: {"planned": row.get("planned", 0), "held": row.get("held", 0),
                      "due": due.get(town_id, 0)} for town_id, row in kept.items()}


def _planned_before(year: int, towns, month: int, kept: dict) -> dict[int, int]:
    """{town id: sessions planned in the months before ``month`` (0–11)}: those months'
    kept rows, or, late in the year, the year's (``kept``) less the months from
    ``month`` on — the fewer rows (a province's December: 2,600 rows, not 28,600)."""
    if month <= 6:
        return {town_id: row.get("planned", 0)
                for town_id, row in session_tally.per_town(year, towns, range(month)).items()}
    later = session_tally.per_town(year, towns, range(month, 12))
    return {town_id: row.get("planned", 0) - later.get(town_id, {}).get("planned", 0)
            for town_id, row in kept.items()}


def done_of_expected(p: Pace) -> float:
    """How far along its pace ``p`` is: the share of what is expected by now that is done
    (nothing expected yet: ahead, ``inf``). The towns compared are ordered by it."""
    return p.done / p.expected if p.expected > 0 else float("inf")


def behind_first(rows: list) -> list:
    """``rows`` (``TownSeries``, ``TownSessions``: each with its ``pace``) furthest behind
    their pace first (``done_of_expected``), then in their own order. A province's 1,300
    towns are charted as the first few of this order (the ones to call), every town in a
    table."""
    return sorted(rows, key=lambda row: done_of_expected(row.pace))


# --- each lawyer's 12 + 2 ------------------------------------------------------------------------

@dataclass
class VillageQuota:
    village: Village
    sessions: Pace  # held against the pairing's required sessions, expected by today
    publicity: Pace


@dataclass
class LawyerSeries:
    lawyer_id: int
    name: str
    villages: list[VillageQuota] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The worst status of the lawyer's villages (sessions and publicity)."""
        order = {"on_pace": 0, "behind": 1, "far_behind": 2}
        worst = max((order[p.status] for v in self.villages for p in (v.sessions, v.publicity)),
                    default=0)
        return [s for s, rank in order.items() if rank == worst][0]


def _year_pairings(year: int, user: User | None):
    """The pairings touching ``year`` whose sheet ``user`` may read; None for none."""
    scope = sheet_filter(user)
    if scope is False:
        return None
    query = Pairing.select().where((Pairing.term_start <= dt.date(year, 12, 31))
                                   & (Pairing.term_end >= dt.date(year, 1, 1)))
    return query if scope is True else query.where(scope)


def lawyers_of_year(year: int, user: User | None = None):
    """The lawyers with a pairing in ``year`` in ``user``'s scope (id, name), by name: a
    query, so that a page of the charts reads a page of them."""
    pairings = _year_pairings(year, user)
    ids = (pairings.select(Pairing.lawyer) if pairings is not None
           else Pairing.select(Pairing.lawyer).where(Pairing.id.is_null()))
    return (Lawyer.select(Lawyer.id, Lawyer.name).where(Lawyer.id.in_(ids))
            .order_by(Lawyer.name, Lawyer.id))


def lawyer_series(year: int | None = None, *, user: User | None = None,
                  today: dt.date | None = None, lawyer_ids=None) -> list[LawyerSeries]:
    """Each lawyer in ``user``'s scope with their villages' sessions and publicity events
    held against the pairing's quota (12 + 2 a year, pro rata for a partial term), and
    what is due by ``today`` (``core.pace.quota_pace``, as the assessment warns). The
    figures are the quota page's (``core.planner.quota_status``: a fixed number of queries
    for the whole scope). ``lawyer_ids``: only these lawyers (a page of them), worked out
    from their own villages."""
    today = today or clock.today()
    year = year or today.year
    village_ids = None
    if lawyer_ids is not None:
        pairings = _year_pairings(year, user)
        lawyer_ids = set(lawyer_ids)
        village_ids = ({village for village, in pairings.select(Pairing.village)
                        .where(Pairing.lawyer.in_(list(lawyer_ids))).tuples()}
                       if pairings is not None and lawyer_ids else set())
    lawyers: dict[int, LawyerSeries] = {}
    for row in quota_status(user, year, village_ids):
        if lawyer_ids is not None and row.lawyer.id not in lawyer_ids:
            continue
        entry = lawyers.setdefault(row.lawyer.id, LawyerSeries(row.lawyer.id, row.lawyer.name))
        term = dict(term_start=row.pairing.term_start, term_end=row.pairing.term_end,
                    year=year, day=today)
        entry.villages.append(VillageQuota(
            village=row.village,
            sessions=quota_pace(row.held_sessions, row.required_sessions, **term),
            publicity=quota_pace(row.held_publicity, row.required_publicity, **term)))
    return sorted(lawyers.values(), key=lambda lawyer: lawyer.name)
