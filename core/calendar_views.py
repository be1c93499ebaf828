"""Read-only calendar queries for the views: whose calendar a user may open, which events it
shows, how a month is laid out, which planning runs a user may see and start.

Who sees which event is decided here (over ``core.access``), so the month grid, the agenda
and an event's page cannot disagree. Dates are district dates (``core.clock.zone()``);
instants are naive UTC as stored.
"""
import calendar as stdlib_calendar
import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN, fn

from core import clock
from core.access import can_plan, can_read_lawyer, can_read_village, is_district_manager
from core.access import (firm_lawyers, is_district_wide, is_firm_head, town_filter,
                         village_filter)
from core.errors import NotFound
from core.i18n import N_
from core.models import Event, Lawyer, PlanRun, Town, User, Village
from core.privacy import withheld_task_events
from core.vocabulary import MANAGERS, READERS
from core.workdays import workdays_between

NOT_FOUND = N_("There is no such calendar, or you may not open it.")


# --- time ------------------------------------------------------------------------------------

to_local = clock.to_local  # the views and templates read times through this module


def _utc_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in district dates as a UTC instant range."""
    return clock.utc_from_local(start, dt.time.min), clock.utc_from_local(end, dt.time.min)


# --- whose calendar --------------------------------------------------------------------------

@dataclass(frozen=True)
class CalendarScope:
    """The calendar being shown: one lawyer's, one village's, one town's or the district's."""
    kind: str
    lawyer: Lawyer | None = None
    village: Village | None = None
    town: Town | None = None

    @property
    def name(self) -> str:
        subject = self.lawyer or self.village or self.town
        return subject.name if subject is not None else ""

    def events_clause(self):
        """A WHERE clause on ``Event`` choosing this calendar's events."""
        if self.kind == "lawyer":
            return Event.lawyer == self.lawyer.id
        if self.kind == "village":
            return Event.village == self.village.id
        if self.kind == "town":
            return Event.village.in_(Village.select(Village.id).where(Village.town == self.town.id))
        return True


def _refuse():
    raise NotFound(NOT_FOUND)


def lawyer_scope(user: User, lawyer_id: int) -> CalendarScope:
    """A lawyer's calendar: managers (who then see only the events of their villages) and
    the lawyer themself. Another lawyer's calendar does not exist for a lawyer."""
    lawyer = Lawyer.get_or_none(Lawyer.id == lawyer_id)
    if lawyer is None or not can_read_lawyer(user, lawyer):
        _refuse()
    return CalendarScope("lawyer", lawyer=lawyer)


def village_scope(user: User, code: str) -> CalendarScope:
    """A village's calendar: whoever may read the village (its lawyer, its users, managers)."""
    village = (Village.select(Village, Town).join(Town).where(Village.code == code).first()
               if code.isprintable() else None)
    if village is None or not can_read_village(user, village):
        _refuse()
    return CalendarScope("village", village=village, town=village.town)


def town_scope(user: User, code: str) -> CalendarScope:
    """A town's calendar: managers and leaders whose scope reaches the town."""
    town = (Town.select().where((Town.code == code) & town_filter(user)).first()
            if code.isprintable() and user.role in READERS else None)
    if town is None:
        _refuse()
    return CalendarScope("town", town=town)


def district_scope(user: User) -> CalendarScope:
    """The district's calendar: its managers and leaders; a firm head's shows the events of
    the firm's lawyers (``event_filter``)."""
    if user.role not in READERS or not (is_district_wide(user) or is_firm_head(user)):
        _refuse()
    return CalendarScope("district")


def default_scope(user: User) -> CalendarScope:
    """The calendar ``/calendar/`` opens: a lawyer's own, a village user's village, a town
    coordinator's town, the district for administrators and district coordinators."""
    if user.role == "lawyer":
        return lawyer_scope(user, user.lawyer_id or 0)
    if user.village_id:
        return village_scope(user, user.village.code)
    if user.role in READERS and user.town_id:
        return town_scope(user, user.town.code)
    return district_scope(user)


# --- which events ----------------------------------------------------------------------------

def event_filter(user: User | None):
    """A WHERE clause on ``Event`` selecting the events ``user`` may read: those in the
    villages they may read, and a lawyer's own events wherever they are — but not the slot
    of a task they see only restricted (``core.privacy``: its day and hour would say which
    family was visited)."""
    villages = village_filter(user)
    if villages is True:
        return True
    clauses = []
    if villages is not False:
        clauses.append(Event.village.in_(Village.select(Village.id).where(villages)))
    if user is not None and user.role == "lawyer" and user.lawyer_id:
        clauses.append(Event.lawyer == user.lawyer_id)
    if is_firm_head(user):
        clauses.append(Event.lawyer.in_(firm_lawyers(user)))
    if not clauses:
        return False
    readable = clauses[0] if len(clauses) == 1 else clauses[0] | clauses[1]
    withheld = withheld_task_events(user)
    return readable if withheld is None else readable & Event.id.not_in(withheld)


def _events_with_relations():
    return (Event.select(Event, Village, Town, Lawyer)
            .join(Village, JOIN.LEFT_OUTER).join(Town, JOIN.LEFT_OUTER)
            .switch(Event).join(Lawyer, JOIN.LEFT_OUTER))


def events_in_range(user: User, scope: CalendarScope, start: dt.date, end: dt.date) -> list[Event]:
    """The events of ``scope`` that ``user`` may read, starting on district dates
    [start, end), in time order, each with its village, town and lawyer loaded."""
    since, until = _utc_bounds(start, end)
    return list(_events_with_relations()
                .where((Event.starts_at >= since) & (Event.starts_at < until))
                .where(scope.events_clause())
                .where(event_filter(user))
                .order_by(Event.starts_at, Event.id))


def readable_event(user: User, event_id: int) -> Event:
    """The event, with its village, town and lawyer; NotFound when missing or out of scope."""
    event = (_events_with_relations().where((Event.id == event_id) & event_filter(user))
             .first())
    if event is None:
        raise NotFound(N_("There is no such event, or you may not see it."))
    return event


def waiting_proposals(user: User, limit: int = 100) -> list[Event]:
    """Events still to come in the villages ``user`` manages for which re-planning proposed
    a change (a new time, a new lawyer, a cancellation) it would not make alone, soonest
    first (``core.events.confirm_proposal``). Make-up proposals are on the quota page."""
    villages = village_filter(user) if user.role in MANAGERS else False
    if villages is False:
        return []
    query = (_events_with_relations()
             .where(Event.proposal.is_null(False) & (Event.status == "planned")
                    & (Event.starts_at >= clock.now_utc()))
             .order_by(Event.starts_at, Event.id))
    if villages is not True:
        query = query.where(Event.village.in_(Village.select(Village.id).where(villages)))
    return [event for event in query.limit(limit) if not event.proposal.get("makeup")]


# --- the month and the agenda ----------------------------------------------------------------

@dataclass
class Day:
    date: dt.date
    in_month: bool
    workday: bool
    exception: str | None = None  # "off" (a day off on a weekday), "workday" (make-up), None
    holiday_name: str = ""
    is_today: bool = False
    events: list = field(default_factory=list)
    count: int = 0  # a counted month (the district's): the day's events, not cancelled

    @property
    def makeup_workday(self) -> bool:
        return self.exception == "workday"

    @property
    def holiday_off(self) -> bool:
        """A day off by notice (a public holiday), not an ordinary weekend."""
        return self.exception == "off" and (self.date.weekday() < 5 or bool(self.holiday_name))


@dataclass(frozen=True)
class TownCount:
    code: str
    name: str
    count: int


@dataclass
class Month:
    first: dt.date
    weeks: list[list[Day]]
    counted: bool = False  # the district's month: counts by day and by town, no events
    towns: list[TownCount] = field(default_factory=list)  # a counted month's, code order
    more_towns: bool = False  # more towns have events than ``towns`` holds

    @property
    def days(self) -> list[Day]:
        return [day for week in self.weeks for day in week if day.in_month]

    @property
    def agenda(self) -> list[Day]:
        """The days of the month that have events, for the list view."""
        return [day for day in self.days if day.events or day.count]

    @property
    def event_count(self) -> int:
        if self.counted:
            return sum(day.count for day in self.days)
        return sum(len(day.events) for day in self.days)

    @property
    def previous(self) -> dt.date:
        return (self.first - dt.timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> dt.date:
        return (self.first + dt.timedelta(days=32)).replace(day=1)


TOWNS_COUNTED = 100  # towns a counted month lists; the others are a search away


def _day_counts(user: User, scope: CalendarScope, days: list[dt.date]) -> list[int]:
    """The events ``user`` may read in ``scope`` on each of ``days`` (consecutive district
    dates), not cancelled: one query counting them by start (a few hundred distinct
    instants in six weeks: sessions start at the half-days' hours), each start's count
    added to its district date here — a CASE per day over each of a province's 45,000
    events of six weeks cost 220 ms."""
    since = clock.utc_from_local(days[0], dt.time.min)
    until = clock.utc_from_local(days[-1] + dt.timedelta(days=1), dt.time.min)
    query = (Event.select(Event.starts_at, fn.COUNT(Event.id))
             .where((Event.starts_at >= since) & (Event.starts_at < until)
                    & (Event.status != "cancelled"))
             .where(scope.events_clause()).where(event_filter(user))
             .group_by(Event.starts_at))
    counts = dict.fromkeys(days, 0)
    for starts_at, count in query.tuples():
        day = clock.local_date(starts_at)
        if day in counts:
            counts[day] += count
    return [counts[day] for day in days]


def _town_counts(user: User, scope: CalendarScope, start: dt.date,
                 end: dt.date) -> list[TownCount]:
    """The towns with events ``user`` may read on [start, end), each with its count, in
    code order (at most TOWNS_COUNTED + 1)."""
    since, until = _utc_bounds(start, end)
    query = (Event.select(Town.code, Town.name, fn.COUNT(Event.id))
             .join(Village).join(Town)
             .where((Event.starts_at >= since) & (Event.starts_at < until)
                    & (Event.status != "cancelled"))
             .where(scope.events_clause()).where(event_filter(user))
             .group_by(Town.code, Town.name).order_by(Town.code).limit(TOWNS_COUNTED + 1))
    return [TownCount(code, name, count) for code, name, count in query.tuples()]


def month(user: User, scope: CalendarScope, first: dt.date) -> Month:
    """The month of ``first`` in whole weeks, Monday first, each day with its events and
    whether it is a workday (``core.workdays`` decides: days off, make-up workdays).

    The district's month is counted, not listed (``Month.counted``): each day holds the
    number of its events and the month the towns with events, so it costs the same for a
    district of 131 villages as for a province; a town's or a village's month lists them."""
    dates = stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    start, end = dates[0][0], dates[-1][-1]
    calendar = workdays_between(start, end)
    today = clock.today()
    weeks = [[Day(date=day, in_month=day.month == first.month,
                  workday=calendar.is_workday(day),
                  exception=calendar.exceptions.get(day, (None, ""))[0],
                  holiday_name=calendar.name(day), is_today=day == today)
              for day in week] for week in dates]
    if scope.kind == "district":
        days = [day for week in weeks for day in week]
        for day, count in zip(days, _day_counts(user, scope, [day.date for day in days])):
            day.count = count
        month_start = first.replace(day=1)
        following = (month_start + dt.timedelta(days=32)).replace(day=1)
        towns = _town_counts(user, scope, month_start, following)
        return Month(first=month_start, weeks=weeks, counted=True,
                     towns=towns[:TOWNS_COUNTED], more_towns=len(towns) > TOWNS_COUNTED)
    by_date = {day.date: day for week in weeks for day in week}
    for event in events_in_range(user, scope, start, end + dt.timedelta(days=1)):
        by_date[clock.local_date(event.starts_at)].events.append(event)
    return Month(first=first.replace(day=1), weeks=weeks)


# --- planning runs ---------------------------------------------------------------------------

def plannable_towns(user: User) -> list[Town]:
    return [town for town in Town.select().order_by(Town.code) if can_plan(user, town)]


def visible_runs(user: User):
    """Planning runs ``user`` may follow: all for district managers, a town's for its
    coordinator. Newest first."""
    query = PlanRun.select(PlanRun, Town).join(Town, JOIN.LEFT_OUTER)
    if not is_district_manager(user):
        query = query.where(PlanRun.town == (user.town_id or 0))
    return query.order_by(PlanRun.started_at.desc(), PlanRun.id.desc())


def readable_run(user: User, run_id: int) -> PlanRun:
    run = visible_runs(user).where(PlanRun.id == run_id).first()
    if run is None:
        raise NotFound(N_("There is no such planning run, or you may not see it."))
    return run
