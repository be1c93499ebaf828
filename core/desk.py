"""The coordinator's 工作台 (desk, ``/home`` of coordinators and administrators): where the
programme is behind and what needs them, in the user's scope.

Every figure is an aggregate — a COUNT, or the fixed few queries of the service that owns
the rule — never a query per village, so the desk costs the same for 6 villages as for
131. Each rule is borrowed from its home, not restated: what is waiting or overdue of the
major matters (``core.matters``), a task overdue (``core.tasks``), a session not recorded
(``core.home``), a low rating (``core.feedback``), behind pace (``core.assessment``), the
coverage (``core.coverage``) and the disclosure warnings (``core.disclosure``), with the
scope filters of ``core.access``.

A count carries the query arguments of the list it links to (``args``); the web layer
names the list. Data problems are grouped by cause: "45 lawyers have no photo" rather than
one line per village each of them serves.
"""
import datetime as dt
from dataclasses import dataclass, field

from peewee import Case, fn

from core import clock
from core.access import record_filter, task_filter, village_filter
from core.assessment import PaceRow, behind_counts, behind_pace
from core.calendar_views import event_filter
from core.coverage import Coverage, totals
from core.disclosure import MISSING_FIELDS, TERM_WARNING_DAYS
from core.feedback import low_rating_filter
from core.home import SESSION_KINDS, unrecorded_filter
from core.matters import overdue_filter as matter_overdue
from core.matters import waiting_filter
from core.models import (Event, Lawyer, MajorMatter, Pairing, Rating, ReturnVisit, Task, User,
                         Village)
from core.tasks import overdue_filter as task_overdue

TOP_SHOWN = 5  # towns and lawyers behind pace shown; the full list is a link away


@dataclass(frozen=True)
class Count:
    """One figure of the desk: ``key`` names it, ``args`` are the query arguments of the
    list that shows the rows counted."""
    key: str
    count: int
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    """Pairings behind pace sharing a town or a lawyer; ``args`` narrow the full list."""
    name: str
    count: int
    args: dict


@dataclass(frozen=True)
class Problem:
    """A data problem by cause: ``cause`` is a missing field ("photo", "phone", "wechat")
    of ``count`` lawyers (fixed once on each lawyer's page), or "term_ended" /
    "term_ending" of ``count`` pairings. ``villages``: the villages it shows in."""
    cause: str
    count: int
    villages: int
    args: dict = field(default_factory=dict)


@dataclass
class Desk:
    today: dt.date
    week_start: dt.date
    coverage: Coverage
    needs: list[Count]  # what needs the user, in order, the zero ones too
    week_sessions: Count
    behind_count: int  # pairings behind pace (the full list is a link away)
    behind_towns: list[Group]
    behind_lawyers: list[Group]
    most_behind: list[PaceRow]  # the pairings furthest behind: owing the most by now
    problems: list[Problem]


def shortfall(row: PaceRow) -> int:
    """How many sessions and publicity events a pairing behind pace owes by now."""
    return (max(row.sessions_due - row.sessions_held, 0)
            + max(row.publicity_due - row.publicity_held, 0))


def _in_villages(user: User | None, column):
    """``column`` (a village id) among the villages ``user`` reads."""
    scope = village_filter(user)
    if scope is True or scope is False:
        return scope
    return column.in_(Village.select(Village.id).where(scope))


def _where(query, clause):
    if clause is False:
        return None
    return query if clause is True else query.where(clause)


def _counted(query, clause) -> int:
    scoped = _where(query, clause)
    return 0 if scoped is None else scoped.count()


def needs(user: User | None, now: dt.datetime) -> list[Count]:
    """What needs the user now, one COUNT each."""
    today = clock.local_date(now)
    matters = MajorMatter.select(MajorMatter.id)
    mine = record_filter(user, MajorMatter)
    tasks = Task.select(Task.id).where(task_overdue(today))
    events = Event.select(Event.id).where(unrecorded_filter(now))
    visits = (ReturnVisit.select(ReturnVisit.id).join(Pairing)
              .where(ReturnVisit.status == "open"))
    ratings = Rating.select(Rating.id).join(Pairing).where(low_rating_filter())
    return [
        Count("matters_overdue", _counted(matters.where(matter_overdue(now)), mine),
              {"status": "reported", "overdue": "1"}),
        Count("matters_waiting", _counted(matters.where(waiting_filter()), mine),
              {"status": "reported"}),
        Count("unrecorded", _counted(events, event_filter(user))),
        Count("tasks_overdue", _counted(tasks, task_filter(user)), {"overdue": "1"}),
        Count("visits_due", _counted(visits, _in_villages(user, Pairing.village)),
              {"status": "open"}),
        Count("low_ratings", _counted(ratings, _in_villages(user, Pairing.village))),
    ]


def week_sessions(user: User | None, today: dt.date) -> Count:
    """This week's sessions and publicity events (Monday to Sunday), not cancelled."""
    monday = clock.week_start(today)
    since = clock.utc_from_local(monday, dt.time.min)
    until = clock.utc_from_local(monday + dt.timedelta(days=7), dt.time.min)
    query = Event.select(Event.id).where(Event.kind.in_(SESSION_KINDS)
                                         & (Event.status != "cancelled")
                                         & (Event.starts_at >= since) & (Event.starts_at < until))
    return Count("week_sessions", _counted(query, event_filter(user)),
                 {"month": monday.strftime("%Y-%m")})


def behind_groups(counts: dict) -> tuple[list[Group], list[Group]]:
    """The pairings behind pace by town and by lawyer (``core.assessment.behind_counts``),
    the most behind first, TOP_SHOWN of each."""
    towns = [Group(name, n, {"town": code}) for _id, code, name, n in counts["towns"]]
    lawyers = [Group(name, n, {"lawyer": lawyer_id}) for lawyer_id, name, n in counts["lawyers"]]
    return towns[:TOP_SHOWN], lawyers[:TOP_SHOWN]


def _when(condition, value=1):
    return Case(None, ((condition, value),), None)


def data_problems(user: User | None, today: dt.date) -> list[Problem]:
    """The disclosure warnings (``core.disclosure.warnings``) grouped by cause, counted in
    one query over the active pairings in scope: terms ended or ending, by pairing; each
    missing field, by lawyer (with the villages it shows in). A stored photo counts as
    disclosed here; the pages of one lawyer or village check its file too."""
    scope = village_filter(user)
    if scope is False:
        return []
    blank = {"photo": Lawyer.photo == "", "phone": fn.TRIM(Lawyer.phone) == "",
             "wechat": fn.TRIM(Lawyer.wechat) == ""}
    soon = today + dt.timedelta(days=TERM_WARNING_DAYS)
    columns = [fn.SUM(_when(Pairing.term_end < today)),
               fn.SUM(_when((Pairing.term_end >= today) & (Pairing.term_end <= soon)))]
    for name in MISSING_FIELDS:
        columns += [fn.COUNT(fn.DISTINCT(_when(blank[name], Lawyer.id))),
                    fn.SUM(_when(blank[name]))]
    query = (Pairing.select(*columns).join(Village).switch(Pairing).join(Lawyer)
             .where(Pairing.status == "active"))
    figures = [int(value or 0) for value in _where(query, scope).tuples().get()]
    problems = [Problem(kind, count, count)
                for kind, count in zip(("term_ended", "term_ending"), figures[:2]) if count]
    for i, name in enumerate(MISSING_FIELDS):
        lawyers, villages = figures[2 + 2 * i:4 + 2 * i]
        if lawyers:
            problems.append(Problem(name, lawyers, villages, {"missing": name}))
    return problems


def desk(user: User | None, now: dt.datetime | None = None) -> Desk:
    """The desk of ``user`` (a coordinator, an administrator or a member of the leadership group: what their scope holds) at ``now`` (naive UTC)."""
    now = now or clock.now_utc()
    today = clock.local_date(now)
    counts = behind_counts(today.year, today, user, top=TOP_SHOWN)
    towns, lawyers = behind_groups(counts)
    most = behind_pace(today.year, today, user, most_behind=TOP_SHOWN,
                       pairings=counts["most_behind"])
    return Desk(today=today, week_start=clock.week_start(today), coverage=totals(user),
                needs=needs(user, now), week_sessions=week_sessions(user, today),
                behind_count=counts["count"], behind_towns=towns, behind_lawyers=lawyers,
                most_behind=most, problems=data_problems(user, today))

