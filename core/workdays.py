"""Workdays: Monday to Friday, except days off, plus make-up workdays (调休补班).

The ``Holiday`` table holds the exceptions to the Monday–Friday week, by source:

- ``official``: the State Council notice, from the ``holidays`` package's China calendar
  (days off and the weekend days worked in exchange), for the years the package has;
- ``estimate``: a year the package has no notice for yet gets its statutory holidays
  as the package estimates them (no swaps); planning such a year says so plainly;
- ``manual``: an administrator's rows (added by hand or imported). They win: syncing
  never touches them. Importing a file for a year replaces that year's estimate, since
  the file is the notice.
"""
import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import holidays
from holidays.countries.china import ChinaStaticHolidays
from peewee import IntegrityError

from core.db import transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from core.models import HOLIDAY_KINDS, Holiday, User
from core.plugins import notify

SOURCES = ("official", "estimate", "manual")
PACKAGE_SOURCES = ("official", "estimate")
MAKE_UP_WORKDAY = "调休补班"  # the name of a weekend day worked in exchange for a day off
# Accepted in the kind column of an import file, besides off|workday.
KIND_ALIASES = {"off": "off", "workday": "workday", "休": "off", "班": "workday"}
NAME_MAX = 100  # as the form allows; PostgreSQL refuses text longer than the column
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a year outside is a typo, not a plan


# --- the calendar ----------------------------------------------------------------------

@dataclass(frozen=True)
class Workdays:
    """The exceptions of a span of days, loaded at once: ask it about any day in the span."""
    exceptions: dict  # date -> (kind, name)

    def is_workday(self, day: dt.date) -> bool:
        kind = self.exceptions.get(day, (None,))[0]
        if kind is not None:
            return kind == "workday"
        return day.weekday() < 5

    def name(self, day: dt.date) -> str:
        return self.exceptions.get(day, (None, ""))[1]


def workdays_between(first: dt.date, last: dt.date) -> Workdays:
    """The workday calendar from ``first`` to ``last`` (one query; years not yet synced
    are synced first)."""
    for year in range(first.year, last.year + 1):
        _ensure_synced(year)
    rows = (Holiday.select(Holiday.day, Holiday.kind, Holiday.name)
            .where(Holiday.day.between(first, last)).tuples())
    return Workdays({_as_date(day): (kind, name) for day, kind, name in rows})


def is_workday(day: dt.date) -> bool:
    return workdays_between(day, day).is_workday(day)


def _as_date(value) -> dt.date:
    # SQLite hands back a string where the query selected tuples
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def check_year(year) -> int:
    if not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(N_("The year must be between %(first)s and %(last)s."),
                              field="year", first=FIRST_YEAR, last=LAST_YEAR)
    return year


# --- the package's data ------------------------------------------------------------------

def _package_has(year: int) -> bool:
    """The package carries the State Council notice of ``year`` (its swaps table)."""
    return year in ChinaStaticHolidays.special_public_holidays


def _year_rows(year: int):
    return Holiday.select().where(Holiday.day.between(dt.date(year, 1, 1),
                                                      dt.date(year, 12, 31)))


def has_official_data(year: int) -> bool:
    """True when ``year`` is planned on the notice: the package has it, or an administrator
    entered it (the year has manual rows and no estimate left). False: an estimate."""
    if _package_has(year):
        return True
    rows = _year_rows(year)
    return (rows.where(Holiday.source == "manual").exists()
            and not rows.where(Holiday.source == "estimate").exists())


def _package_days(year: int) -> dict:
    """date -> (kind, name) from the package: every day off of ``year`` (weekend ones
    too, for their names) and the weekend days worked in exchange."""
    # A notice may swap a day with the year before (2002: 2001-12-29 worked), so the
    # next year's calendar can name workdays of this one.
    calendar = holidays.China(years=(year, year + 1), language="zh_CN")
    days = {day: ("off", name) for day, name in calendar.items() if day.year == year}
    for day in calendar.weekend_workdays:
        if day.year == year:
            days[day] = ("workday", MAKE_UP_WORKDAY)
    return days


def _admin_entered(year: int) -> bool:
    rows = _year_rows(year)
    return (not _package_has(year) and rows.where(Holiday.source == "manual").exists()
            and not rows.where(Holiday.source == "estimate").exists())


def _sync_year(year: int) -> int:
    if _admin_entered(year):
        return 0  # the administrator entered this year's notice: no estimate over it
    source = "official" if _package_has(year) else "estimate"
    wanted = _package_days(year)
    existing = {row.day: row for row in _year_rows(year)}
    written = 0
    for day, (kind, name) in sorted(wanted.items()):
        row = existing.get(day)
        if row is None:
            Holiday.create(day=day, kind=kind, name=name, source=source)
            written += 1
        elif row.source != "manual" and (row.kind, row.name, row.source) != (kind, name, source):
            row.kind, row.name, row.source = kind, name, source
            row.save()
            written += 1
    stale = [day for day, row in existing.items()
             if row.source in PACKAGE_SOURCES and day not in wanted]
    if stale:
        written += Holiday.delete().where(Holiday.day.in_(stale)).execute()
    return written


def sync_official_holidays(years, *, replan: bool = True) -> int:
    """Fill ``Holiday`` from the package for ``years`` (official where it has the notice,
    an estimate otherwise); manual rows are kept. Idempotent: returns the rows written,
    0 when nothing changed. The years whose rows changed are re-planned, as after an
    administrator's change (``replan=False``: the caller plans the year itself)."""
    written = {}
    with transaction():
        for year in sorted(set(years)):
            written[year] = _sync_year(check_year(year))
    if replan:
        replan_years([year for year, rows in written.items() if rows])
    return sum(written.values())


def _ensure_synced(year: int) -> None:
    """Sync a year that has no package rows yet (an administrator's rows may be there
    already: they stay), unless the administrator entered the year's notice."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return
    if not _year_rows(year).where(Holiday.source.in_(PACKAGE_SOURCES)).exists() \
            and not _admin_entered(year):
        # No re-plan: a year is synced before it is planned, so this one was never planned
        # (and a planning asking for its workdays may hold the planning lock).
        try:
            sync_official_holidays([year], replan=False)
        except IntegrityError:
            # Two requests for a new year at once (two web workers opening its calendar):
            # the other one wrote the same package rows; its copy is the one kept.
            pass


# --- administrators' changes -----------------------------------------------------------------

def _require_admin(actor: User | None) -> None:
    if actor is not None and actor.role != "admin":
        raise PermissionDenied(N_("Only an administrator may change the holidays."))


def _check_day(day, kind: str) -> None:
    if not isinstance(day, dt.date):
        raise ValidationError(N_("Give the day as a date."), field="day")
    check_year(day.year)
    if kind not in HOLIDAY_KINDS:
        raise ValidationError(N_("A holiday is a day off (off) or a make-up workday "
                                 "(workday), not %(kind)s."), field="kind", kind=kind)


def _put_manual(day: dt.date, kind: str, name: str, note: str) -> Holiday:
    row = Holiday.get_or_none(Holiday.day == day) or Holiday(day=day)
    row.kind, row.name, row.note, row.source = kind, name or "", note or "", "manual"
    row.save()
    return row


def add_holiday(actor: User | None, day: dt.date, kind: str, name: str = "",
                note: str = "") -> Holiday:
    """Make ``day`` a day off or a workday by hand (it overrides the package), then
    re-plan that year."""
    _require_admin(actor)
    _check_day(day, kind)
    _ensure_synced(day.year)  # so the package's rows of the year exist and stay below
    with transaction():
        row = _put_manual(day, kind, name.strip(), note.strip())
    replan_years([day.year])
    return row


def remove_holiday(actor: User | None, day: dt.date) -> None:
    """Undo an exception: a manual row goes (the package's day, if any, comes back); a
    package day is overridden by a manual row giving the day its ordinary kind."""
    _require_admin(actor)
    row = Holiday.get_or_none(Holiday.day == day)
    if row is None:
        raise NotFound(N_("%(day)s is neither a day off nor a make-up workday."),
                       day=day.isoformat())
    with transaction():
        if row.source == "manual":
            row.delete_instance()
            _sync_year(day.year)
        else:
            ordinary = "workday" if day.weekday() < 5 else "off"
            _put_manual(day, ordinary, "", "")  # a manual row: syncing leaves it alone
    replan_years([day.year])


def read_holiday_file(path) -> list[tuple[dt.date, str, str]]:
    """Rows of a CSV ``date,kind,name`` (a header line is allowed); every bad line is a
    ValidationError naming it, raised before anything is written."""
    rows = []
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            lines = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError(N_("The holiday file cannot be read: %(error)s"), field="file",
                              error=str(exc)) from exc
    for number, cells in enumerate(lines, start=1):
        cells = [cell.strip() for cell in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() in ("date", "day", "日期"):
            continue
        rows.append(_holiday_line(number, cells))
    if not rows:
        raise ValidationError(N_("The holiday file has no days in it."), field="file")
    days = [day for day, _kind, _name in rows]
    if len(set(days)) != len(days):
        twice = sorted({d for d in days if days.count(d) > 1})[0]
        raise ValidationError(N_("The holiday file names %(day)s twice."), field="file",
                              day=twice.isoformat())
    return rows


def _holiday_line(number: int, cells: list[str]) -> tuple[dt.date, str, str]:
    if len(cells) < 2:
        raise ValidationError(N_("Line %(line)s: write date,kind,name (kind: off or "
                                 "workday)."), field="file", line=number)
    try:
        day = dt.date.fromisoformat(cells[0])
    except ValueError:
        raise ValidationError(N_("Line %(line)s: %(value)s is not a date (YYYY-MM-DD)."),
                              field="file", line=number, value=cells[0]) from None
    kind = KIND_ALIASES.get(cells[1].lower())
    if kind is None:
        raise ValidationError(N_("Line %(line)s: the kind must be off or workday, not "
                                 "%(value)s."), field="file", line=number, value=cells[1])
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(N_("Line %(line)s: the year must be between %(first)s and "
                                 "%(last)s."), field="file", line=number, first=FIRST_YEAR,
                              last=LAST_YEAR)
    name = cells[2] if len(cells) > 2 else ""
    if len(name) > NAME_MAX or not name.isprintable():  # PostgreSQL refuses a NUL
        raise ValidationError(N_("Line %(line)s: the name must be at most %(max)s printable "
                                 "characters."), field="file", line=number, max=NAME_MAX)
    return day, kind, name


def import_holidays(path, *, actor: User | None = None) -> int:
    """Enter a notice from a small CSV (``date,kind,name``; kind ``off`` or ``workday``) as
    manual rows; for a year the package has no notice of, the file replaces the estimate.
    All or nothing. Returns the number of days imported; the years are re-planned."""
    _require_admin(actor)
    rows = read_holiday_file(path)
    years = sorted({day.year for day, _kind, _name in rows})
    with transaction():
        for year in years:
            if not _package_has(year):
                Holiday.delete().where(Holiday.day.between(dt.date(year, 1, 1),
                                                           dt.date(year, 12, 31))
                                       & (Holiday.source == "estimate")).execute()
        for day, kind, name in rows:
            _put_manual(day, kind, name, "")
    replan_years(years)
    return len(rows)


def holidays_of(year: int) -> list[Holiday]:
    """The exceptions of ``year`` in date order (synced first), for lists."""
    _ensure_synced(check_year(year))
    return list(_year_rows(year).order_by(Holiday.day))


def replan_years(years) -> None:
    """Re-plan ``years`` once the change is committed (``holidays_changed``: the core's
    reaction queues a job per year; years never planned are left alone)."""
    years = sorted(set(years))
    if years:
        notify("holidays_changed", years=years)
