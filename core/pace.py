"""Pace: where a yearly target should be by a day, how far behind the work is, and which
part of a district target belongs to a viewer's scope.

**Expected by a day** is linear over the year's *workdays* (``core.workdays``: Monday to
Friday, days off by notice left out, make-up weekend workdays counted), not over calendar
days. The work is done on workdays; a calendar line would ask for a week of progress over
the Spring Festival and the National Day holidays, which nobody works, and call everyone
behind when they come back. By the end of the last workday of the year the whole target
is expected; on 1 January (a day off) nothing is.

**Status** compares what is done with what is expected by the day:

- ``on_pace``: done ≥ expected (and whatever is done when nothing is expected yet);
- ``behind`` (amber): done ≥ 80 % of expected (``BEHIND_FROM``);
- ``far_behind`` (red): less.

**A scope's share** of a district target is its share of the district's villages: a town
coordinator's target is the district's × the town's villages / all villages, a lawyer's ×
the villages they are paired with / all villages, a village's × 1 / all. The villages of a
scope are the ones ``core.access.village_filter`` lets the viewer read, so the target
follows the same rule as the counts. Shares are rounded to whole numbers (at least 1 when
the scope has any village): the numbers people read add up as they see them.

**A pairing's quota** (12 sessions and 2 publicity events a year, pro rata for a partial
term) is paced as the assessment warns of it (``core.assessment.behind_pace``): what is
due by a day is the quota × the share of the pairing's term in the year that has passed
(calendar days, the term's own start and end), rounded down — ``quota_pace``. A session
is monthly and a term may start in July: the year's workdays would ask a new pairing for
half its year's work on its first day, and the bars would contradict the warnings.

``pace(done, target, ...)`` is the one function the pages, the charts and the reports
call for programme targets (``quota_pace`` for a pairing's quota); ``share_of(user)`` and ``year_calendar(year)`` are each one query, to be made once a
page and passed to every ``pace`` call.
"""
import bisect
import math
import datetime as dt
from dataclasses import dataclass

from peewee import Select, fn

from core import clock
from core.access import village_filter
from core.db import db
from core.models import Lawyer, Town, User, Village
from core.workdays import workdays_between

STATUSES = ("on_pace", "behind", "far_behind")
BEHIND_FROM = 0.8  # done / expected at or above this is "behind" (amber), below "far behind"


# --- the year's workdays -----------------------------------------------------------------------

@dataclass(frozen=True)
class YearCalendar:
    """The workdays of one year, in order: how much of the year's work is due by a day."""
    year: int
    workdays: tuple[dt.date, ...]

    def fraction(self, day: dt.date) -> float:
        """The share of the year's workdays on or before ``day`` (0 before the year, 1 after)."""
        if day >= dt.date(self.year, 12, 31):
            return 1.0
        if not self.workdays:
            return 0.0
        return bisect.bisect_right(self.workdays, day) / len(self.workdays)

    def month_end_fractions(self) -> list[float]:
        """The fraction due by the last day of each month, January first."""
        ends = [(dt.date(self.year, m + 1, 1) if m < 12 else dt.date(self.year + 1, 1, 1))
                - dt.timedelta(days=1) for m in range(1, 13)]
        return [self.fraction(end) for end in ends]


def year_calendar(year: int) -> YearCalendar:
    """The workdays of ``year`` (one query over the holiday table)."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    calendar = workdays_between(first, last)
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return YearCalendar(year, tuple(day for day in days if calendar.is_workday(day)))


# --- status ----------------------------------------------------------------------------------

def status(done: float, expected: float) -> str:
    """``on_pace``, ``behind`` (≥ 80 % of expected) or ``far_behind``."""
    if done >= expected:
        return "on_pace"
    if done >= BEHIND_FROM * expected:
        return "behind"
    return "far_behind"


# --- a scope's share of the district's targets ---------------------------------------------------

SCOPE_KINDS = ("district", "town", "lawyer", "village")


@dataclass(frozen=True)
class Share:
    """The part of a district target a scope carries: ``villages`` of ``total``.
    ``kind``: district, town, firm, lawyer or village; ``name``: the town's, lawyer's or
    village's name ("" for the district)."""
    kind: str
    villages: int
    total: int
    name: str = ""

    @property
    def whole(self) -> bool:
        return self.kind == "district"

    def scale(self, target: int) -> int:
        """The scope's part of a district ``target``, rounded, at least 1 when the scope
        has a village (0 when it has none)."""
        if self.whole:
            return target
        if not self.villages or not self.total:
            return 0
        return max(1, int(target * self.villages / self.total + 0.5))


DISTRICT = Share("district", 0, 0)


def _share(kind: str, scope, name: str) -> Share:
    """One query: the villages ``scope`` (a WHERE on Village) selects, and all villages."""
    columns = [Village.select(fn.COUNT(Village.id)).where(scope).alias("mine"),
               Village.select(fn.COUNT(Village.id)).alias("total")]
    row = Select(columns=columns).bind(db).dicts().get()
    return Share(kind, int(row["mine"] or 0), int(row["total"] or 0), name)


def share_of(user: User | None) -> Share:
    """The viewer's part of the district targets: the whole for the operator, administrators
    and district coordinators; a town's, a village's or a lawyer's share otherwise (the
    villages ``core.access.village_filter`` lets them read)."""
    villages = village_filter(user)
    if villages is True:
        return DISTRICT
    if villages is False:
        return Share("village", 0, 0)
    if user.role == "lawyer":
        return _share("lawyer", villages, user.lawyer.name if user.lawyer_id else "")
    if user.village_id:
        return _share("village", villages, user.village.name)
    if user.firm_id:  # a firm head: the villages of the firm's lawyers
        return _share("firm", villages, user.firm.name)
    return _share("town", villages, user.town.name if user.town_id else "")


def town_share(town: Town) -> Share:
    return _share("town", Village.town == town.id, town.name)


def lawyer_share(lawyer: Lawyer) -> Share:
    return share_of(User(role="lawyer", lawyer=lawyer))


# --- a pairing's quota ------------------------------------------------------------------------------

def term_share(term_start: dt.date, term_end: dt.date, year: int, day: dt.date) -> float:
    """The share of a term's days within ``year`` that have passed by ``day`` (inclusive)."""
    first = max(term_start, dt.date(year, 1, 1))
    last = min(term_end, dt.date(year, 12, 31))
    if day < first or last < first:
        return 0.0
    return min((day - first).days + 1, (last - first).days + 1) / ((last - first).days + 1)


def quota_due(required: int, share: float) -> int:
    """What of a quota is due at ``share`` of the term: rounded down."""
    return math.floor(required * share + 1e-9)


# --- the one function ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pace:
    """Progress toward a (scoped) target by a day. ``target``: the scope's target;
    ``expected``: what that target asks by the day (a float, for the line and the status);
    ``percent`` and ``expected_percent``: 0–100 of the target (a bar never overflows)."""
    done: int
    target: int
    expected: float
    status: str
    share: Share
    district_target: int

    @property
    def percent(self) -> float:
        return min(100.0, 100 * self.done / self.target) if self.target else 0.0

    @property
    def expected_percent(self) -> float:
        return min(100.0, 100 * self.expected / self.target) if self.target else 0.0

    @property
    def reached(self) -> bool:
        return self.target > 0 and self.done >= self.target

    @property
    def expected_count(self) -> int:
        """What is expected by the day, as a whole number to show: rounded up, so that a
        whole ``done`` is on pace exactly when it reaches the number shown."""
        return math.ceil(self.expected - 1e-9)


def pace(done: int, target: int, *, year: int | None = None, day: dt.date | None = None,
         share: Share = DISTRICT, calendar: YearCalendar | None = None) -> Pace:
    """``done`` against a district ``target`` scaled to ``share``, on ``day`` (default:
    today) of ``year`` (default: the day's year). Pass the page's ``calendar``
    (``year_calendar``) to spare its query."""
    day = day or clock.today()
    year = year or day.year
    calendar = calendar if calendar is not None and calendar.year == year else year_calendar(year)
    scoped = share.scale(target)
    expected = scoped * calendar.fraction(day)
    return Pace(done=done, target=scoped, expected=expected, status=status(done, expected),
                share=share, district_target=target)


def quota_pace(held: int, required: int, *, term_start: dt.date, term_end: dt.date,
               year: int, day: dt.date | None = None) -> Pace:
    """A pairing's sessions or publicity events ``held`` against the ``required`` of its
    year: due by ``day`` (default: today) as the assessment's early warning counts it."""
    due = quota_due(required, term_share(term_start, term_end, year, day or clock.today()))
    return Pace(done=held, target=required, expected=due, status=status(held, due),
                share=DISTRICT, district_target=required)
