"""The 工作台 (home): what needs a lawyer or a village user now, on one phone screen.

A lawyer's home: today's and the rest of this week's sessions and publicity events (with
the village, the hours and where), the programme tasks due today and this week, their open
major-matter reports, their past sessions not yet recorded as held, each village's year
against its quota and its assessment, and their unread notices. A village user's home: the
village's next session, its lawyer's disclosed contact, and the later sessions.

Every section reads only the user's own events, tasks, reports and pairings — one query
each, or the fixed few of the service it borrows (the quota of ``core.planner``, the marks
of ``core.assessment``, the disclosure of ``core.disclosure``) — so the page costs the same
in a district of 131 villages as in one of 26,000. A week runs Monday to Sunday
(``core.clock.week_start``); dates are district dates.
"""
import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN

from core import clock
from core.assessment import AssessmentRow, assess
from core.disclosure import PublicEvent, PublicVillage, public_village
from core.feeds import location_of
from core.models import (District, Event, MajorMatter, Notification, Pairing, Task, Town, User,
                         Village)
from core.notify import unread_count
from core.planner import QuotaRow, quota_status
from core.tasks import day_groups
from core.vocabulary import OPEN_STATUSES

SESSION_KINDS = ("session", "publicity")  # what a lawyer does on site, and records as held
UNRECORDED_SHOWN = 5  # the most recent; the quota page lists every one per village
NOTICES_SHOWN = 5
MATTERS_SHOWN = 10
LATER_SHOWN = 3  # a village's sessions after the next one


@dataclass(frozen=True)
class Visit:
    """An on-site session or publicity event as the home shows it: ``starts``/``ends`` in
    the district's time zone, ``place`` where a map app finds the village."""
    event: Event
    starts: dt.datetime
    ends: dt.datetime
    place: str

    @property
    def day(self) -> dt.date:
        return self.starts.date()

    @property
    def weekday(self) -> int:
        return self.starts.weekday()


@dataclass
class VillageYear:
    """One of the lawyer's pairings this year: against its quota and its assessment."""
    pairing: Pairing
    quota: QuotaRow | None = None
    marks: AssessmentRow | None = None

    @property
    def village(self) -> Village:
        return self.pairing.village


@dataclass
class LawyerHome:
    today: dt.date
    week_end: dt.date  # the Sunday of this week
    year: int
    today_visits: list[Visit] = field(default_factory=list)
    week_visits: list[Visit] = field(default_factory=list)  # tomorrow to Sunday
    next_visit: Visit | None = None  # the first after this week, when the week has none left
    tasks: dict[str, list[Task]] = field(default_factory=dict)  # core.tasks.day_groups
    matters: list[MajorMatter] = field(default_factory=list)
    unrecorded: list[Visit] = field(default_factory=list)  # the most recent ones
    unrecorded_count: int = 0
    villages: list[VillageYear] = field(default_factory=list)
    notices: list[Notification] = field(default_factory=list)
    unread: int = 0


@dataclass
class VillageHome:
    village: Village | None
    public: PublicVillage | None = None  # the lawyer's disclosed contact, the arrangement
    place: str = ""
    next_visit: PublicEvent | None = None
    later: tuple[PublicEvent, ...] = ()
    unread: int = 0


# --- the pieces -------------------------------------------------------------------------------

def _events_with_place():
    return (Event.select(Event, Village, Town, District)
            .join(Village, JOIN.LEFT_OUTER).join(Town, JOIN.LEFT_OUTER)
            .join(District, JOIN.LEFT_OUTER))


def _visit(event: Event) -> Visit:
    village = event.village if event.village_id else None
    place = location_of(village, village.town.district.name) if village is not None else ""
    return Visit(event=event, starts=clock.to_local(event.starts_at),
                 ends=clock.to_local(event.ends_at), place=place)


def _own_sessions(lawyer_id: int):
    """The lawyer's own sessions and publicity events: those they hold (``Event.lawyer``).
    A replacement hands the village's coming events to the new lawyer, so a replaced
    lawyer keeps only what was theirs."""
    return _events_with_place().where((Event.lawyer == lawyer_id)
                                      & Event.kind.in_(SESSION_KINDS))


def week_visits(lawyer_id: int, today: dt.date) -> list[Visit]:
    """The lawyer's sessions and publicity events from ``today`` to Sunday, not cancelled,
    in time order (one query)."""
    monday = clock.week_start(today)
    since = clock.utc_from_local(today, dt.time.min)
    until = clock.utc_from_local(monday + dt.timedelta(days=7), dt.time.min)
    query = (_own_sessions(lawyer_id)
             .where((Event.starts_at >= since) & (Event.starts_at < until)
                    & (Event.status != "cancelled"))
             .order_by(Event.starts_at, Event.id))
    return [_visit(event) for event in query]


def next_visit_after(lawyer_id: int, day: dt.date) -> Visit | None:
    """The lawyer's first planned session or publicity event after ``day``."""
    since = clock.utc_from_local(day + dt.timedelta(days=1), dt.time.min)
    event = (_own_sessions(lawyer_id)
             .where((Event.starts_at >= since) & (Event.status == "planned"))
             .order_by(Event.starts_at, Event.id).first())
    return _visit(event) if event is not None else None


def unrecorded_filter(now: dt.datetime):
    """A WHERE clause on ``Event``: a session or publicity event that is over, still
    planned (nobody recorded it as held or cancelled it), and not made up for by a live
    make-up (then the make-up is what counts, ``core.events.live_makeup``)."""
    makeup = Event.alias()
    # not correlated: the made-up events are read once (a correlated EXISTS let SQLite,
    # whose statistics find the mostly-empty makeup_for index useless, scan every event for
    # each event: seconds for a district of 1,310 villages)
    made_up = (makeup.select(makeup.makeup_for)
               .where(makeup.makeup_for.is_null(False) & (makeup.status != "cancelled")))
    return (Event.kind.in_(SESSION_KINDS) & (Event.status == "planned")
            & (Event.ends_at <= now) & Event.id.not_in(made_up))


def unrecorded_visits(lawyer_id: int, now: dt.datetime) -> list[Visit]:
    """The lawyer's own past sessions not yet recorded, the most recent first (one query;
    as many as the lawyer's own past holds)."""
    query = (_own_sessions(lawyer_id).where(unrecorded_filter(now))
             .order_by(Event.starts_at.desc(), Event.id.desc()))
    return [_visit(event) for event in query]


def due_tasks(lawyer_id: int, today: dt.date) -> dict[str, list[Task]]:
    """The lawyer's open tasks due or scheduled by Sunday, or overdue, grouped as "my
    tasks" groups them (``core.tasks.day_groups``); one query, each task with its village
    and scheduled visit."""
    sunday = clock.week_start(today) + dt.timedelta(days=6)
    until = clock.utc_from_local(sunday + dt.timedelta(days=1), dt.time.min)
    query = (Task.select(Task, Village, Event)
             .join(Village, JOIN.LEFT_OUTER).switch(Task).join(Event, JOIN.LEFT_OUTER)
             .where((Task.assignee == lawyer_id) & Task.status.in_(OPEN_STATUSES)
                    & ((Task.due_on <= sunday)
                       | ((Event.starts_at < until) & (Event.status != "cancelled"))))
             .order_by(Task.due_on.asc(nulls="LAST"), Task.id))
    groups = day_groups(query, today)
    groups.pop("open")
    return groups


def open_matters(lawyer_id: int) -> list[MajorMatter]:
    """The lawyer's own major-matter reports the bureau has not closed yet, newest first.
    Showing them is a read: the caller audits it (``core.matters.audit_list``)."""
    return list(MajorMatter.select(MajorMatter, Village)
                .join(Village, JOIN.LEFT_OUTER)
                .where((MajorMatter.lawyer == lawyer_id) & (MajorMatter.status != "closed"))
                .order_by(MajorMatter.reported_at.desc(), MajorMatter.id.desc())
                .limit(MATTERS_SHOWN))


def village_years(user: User, year: int) -> list[VillageYear]:
    """Each of the lawyer's pairings that owes something in ``year``, with its quota row
    and its assessment (the services' fixed few queries, over the lawyer's own villages:
    ``core.access.sheet_filter``)."""
    rows: dict[int, VillageYear] = {}
    for quota in quota_status(user, year):
        rows.setdefault(quota.pairing.id, VillageYear(quota.pairing)).quota = quota
    for marks in assess(year, user=user):
        rows.setdefault(marks.pairing.id, VillageYear(marks.pairing)).marks = marks
    return sorted(rows.values(), key=lambda row: (row.pairing.status != "active",
                                                  row.village.code, row.pairing.term_start))


def unread_notices(user: User, limit: int = NOTICES_SHOWN) -> list[Notification]:
    return list(Notification.select()
                .where((Notification.user == user.id) & Notification.read_at.is_null())
                .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))


# --- the homes --------------------------------------------------------------------------------

def lawyer_home(user: User, now: dt.datetime | None = None) -> LawyerHome:
    """What needs the lawyer of ``user`` now (``now``: naive UTC, default the clock)."""
    now = now or clock.now_utc()
    today = clock.local_date(now)
    home = LawyerHome(today=today, week_end=clock.week_start(today) + dt.timedelta(days=6),
                      year=today.year)
    home.unread = unread_count(user)
    home.notices = unread_notices(user) if home.unread else []
    if not user.lawyer_id:
        return home
    for visit in week_visits(user.lawyer_id, today):
        (home.today_visits if visit.day == today else home.week_visits).append(visit)
    if not home.week_visits:
        home.next_visit = next_visit_after(user.lawyer_id, home.week_end)
    home.tasks = due_tasks(user.lawyer_id, today)
    home.matters = open_matters(user.lawyer_id)
    # today's are under today, with their sign-in (open until the day ends)
    unrecorded = [visit for visit in unrecorded_visits(user.lawyer_id, now) if visit.day != today]
    home.unrecorded, home.unrecorded_count = unrecorded[:UNRECORDED_SHOWN], len(unrecorded)
    home.villages = village_years(user, today.year)
    return home


def village_home(user: User) -> VillageHome:
    """The village user's village: its next session and the later ones, where, and its
    lawyer's disclosed contact (what the public page shows residents, nothing more)."""
    village = (Village.select(Village, Town, District).join(Town).join(District)
               .where(Village.id == user.village_id).first() if user.village_id else None)
    if village is None:
        return VillageHome(village=None, unread=unread_count(user))
    public = public_village(village.code)
    coming = public.next_events
    return VillageHome(village=village, public=public,
                       place=location_of(village, village.town.district.name),
                       next_visit=coming[0] if coming else None,
                       later=tuple(coming[1:1 + LATER_SHOWN]), unread=unread_count(user))
