"""The bureau's periodic reports (the leading group's office reviews the work quarterly and
yearly): what the programme did in a month, a quarter or a year, by town and by lawyer, and
the total of the reader's scope; as a page (web/reports.py), an .xlsx workbook and an
editable .docx report with charts (``core.charts``).

The figures of a period (district dates, ``JIEDUI_TIMEZONE``: an event at 23:30 on 31
March belongs to the first quarter):

- on-site sessions and publicity events planned (not cancelled) and held, by the day they
  were planned to begin (``Event.starts_at``; a make-up counts in its own period);
- work-log entries; consultations: entries of the lawyer's duty 四.2 (legal publicity,
  consultation and training) other than the entries the held sessions and publicity
  events write themselves (those are counted as sessions); mediations: entries of duty 四.3
  (public security and dispute mediation), by when the service was given;
- case files (一案一档) opened and closed (their district dates);
- major matters reported and closed;
- return visits done, with the average of their satisfaction scores;
- the residents' ratings that count (``core.feedback.counts``), with their average;
- programme tasks done, and each programme's headline metric (``core.progress``) in the
  period and in its year up to the period's end, against the year's target.

Each kind of record is ONE aggregate query grouped by (town, lawyer); the town table, the
lawyer table and the total are sums of those cells, so they always agree. The reader's
scope is ``core.access``'s: a town's coordinator reports on their town.

``prepare_quarterly_report`` is the scheduled part (core.jobs): on the first workday of a
quarter it stores the previous quarter's report under the instance folder and tells the
district coordinators and the leadership group (a notice of kind ``report``, ``core.notices.report_recipients``).
"""
import datetime as dt
import io
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from peewee import JOIN, SQL, Case, fn

from core import charts, clock, spreadsheet
from core.access import record_filter, task_filter, town_filter, village_request_filter
from core.calendar_views import event_filter
from core.config import get_settings
from core.errors import ValidationError
from core.feedback import counts
from core.i18n import N_, gettext_for
from core.localize import name_of
from core.models import (CaseFile, District, Event, LawFirm, Lawyer, MajorMatter, Pairing,
                         Rating, ReturnVisit, Task, Town, User, Village, WorkLog)
from core.notices import report_recipients
from core.notify import notify_users
from core.plugins import get_registry
from core.progress import headline, progress_between
from core.series import sessions_by_month
from core.vocabulary import REPORT_PERIODS
from core.workdays import workdays_between

LINK = "/reports/"  # the page (web/reports.py)
NOTICE_KIND = "report"  # core.notify.NOTICE_KINDS
STORE = "reports"  # the prepared reports' folder in the instance folder

# The figures, in the tables' order, with their column headings (msgids).
FIGURES = (
    ("sessions_planned", N_("Sessions planned")),
    ("sessions_held", N_("Sessions held")),
    ("publicity_planned", N_("Publicity planned")),
    ("publicity_held", N_("Publicity held")),
    ("worklog", N_("Work-log entries")),
    ("consultations", N_("Consultations")),
    ("mediations", N_("Mediations")),
    ("cases_opened", N_("Cases opened")),
    ("cases_closed", N_("Cases closed")),
    ("matters_reported", N_("Major matters reported")),
    ("matters_closed", N_("Major matters closed")),
    ("visits_done", N_("Return visits done")),
    ("visit_average", N_("Return-visit satisfaction")),
    ("ratings", N_("Residents' ratings")),
    ("rating_average", N_("Residents' rating")),
    ("tasks_done", N_("Tasks done")),
)
# An average is a sum over a count of the cells (so the town and lawyer rows average right).
AVERAGES = {"visit_average": ("visit_score", "visits_scored"),
            "rating_average": ("rating_score", "ratings")}
DISTRICT_LEVEL = N_("District level")  # records with no village (no town)
NO_LAWYER = N_("No lawyer")

PERIOD_TEXT = re.compile(r"^(\d{4})(?:-(\d{1,2})|Q([1-4]))?$")
BAD_PERIOD = N_("%(period)s is not a period: give a month (2026-03), a quarter (2026Q1) or "
                "a year (2026).")


# --- periods ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A calendar month, quarter or year of the district. ``number``: the month (1–12) or
    the quarter (1–4); 1 for a year."""
    kind: str
    year: int
    number: int = 1

    @property
    def first(self) -> dt.date:
        month = {"month": self.number, "quarter": 3 * self.number - 2}.get(self.kind, 1)
        return dt.date(self.year, month, 1)

    @property
    def next_first(self) -> dt.date:
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        index = self.first.month - 1 + months
        return dt.date(self.year + index // 12, index % 12 + 1, 1)

    @property
    def last(self) -> dt.date:
        return self.next_first - dt.timedelta(days=1)

    @property
    def key(self) -> str:
        """"2026-03", "2026Q1", "2026": in URLs and the stored reports' folders."""
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}Q{self.number}"
        return str(self.year)

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as stored (naive UTC) instants [start, end)."""
        return (clock.utc_from_local(self.first, dt.time.min),
                clock.utc_from_local(self.next_first, dt.time.min))

    def months(self) -> list[dt.date]:
        """The first day of each month of the period."""
        days, day = [], self.first
        while day < self.next_first:
            days.append(day)
            day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return days

    def previous(self) -> "Period":
        return period_of(self.kind, self.first - dt.timedelta(days=1))

    def label(self, gettext) -> str:
        if self.kind == "month":
            return gettext(N_("%(year)s-%(month)s")) % {"year": self.year, "month": self.number}
        if self.kind == "quarter":
            return gettext(N_("Q%(quarter)s %(year)s")) % {"year": self.year,
                                                           "quarter": self.number}
        return gettext(N_("The year %(year)s")) % {"year": self.year}


def period_of(kind: str, day: dt.date) -> Period:
    """The month, quarter or year ``day`` falls in."""
    if kind == "month":
        return Period("month", day.year, day.month)
    if kind == "quarter":
        return Period("quarter", day.year, (day.month - 1) // 3 + 1)
    return Period("year", day.year)


def parse_period(text) -> Period:
    """"2026-03" (a month), "2026Q1" (a quarter) or "2026" (a year); anything else is
    refused with a message saying what to give."""
    cleaned = str(text or "").strip().upper()
    match = PERIOD_TEXT.match(cleaned)
    if match and 2000 <= int(match[1]) <= 2100:
        year = int(match[1])
        if match[2] is not None:
            if 1 <= int(match[2]) <= 12:
                return Period("month", year, int(match[2]))
        elif match[3] is not None:
            return Period("quarter", year, int(match[3]))
        else:
            return Period("year", year)
    raise ValidationError(BAD_PERIOD, field="period", period=str(text or "")[:20])


def last_complete_quarter(today: dt.date | None = None) -> Period:
    """The quarter before the one of ``today``: the report the bureau reviews now."""
    return period_of("quarter", today or clock.today()).previous()


def recent_periods(today: dt.date | None = None) -> dict[str, list[Period]]:
    """What the page offers, newest first: this month and the 11 before, this quarter and
    the 7 before, this year and the 2 before."""
    today = today or clock.today()
    counts_of = {"month": 12, "quarter": 8, "year": 3}
    found = {}
    for kind in REPORT_PERIODS:
        period, periods = period_of(kind, today), []
        for _ in range(counts_of[kind]):
            periods.append(period)
            period = period.previous()
        found[kind] = periods
    return found


# --- the figures -------------------------------------------------------------------------------

@dataclass
class Row:
    """One line of a table: a town, a lawyer or the total, with its counts."""
    label: str
    note: str = ""  # a lawyer's law firm
    cells: dict = field(default_factory=lambda: defaultdict(int))
    key: int | None = None  # the town's or lawyer's id; None: no town, no lawyer, the total

    def add(self, values: dict) -> None:
        for name, value in values.items():
            self.cells[name] += value

    def value(self, figure: str):
        """A count, or an average rounded to one decimal (None when nobody gave a score)."""
        if figure in AVERAGES:
            total, number = (self.cells[name] for name in AVERAGES[figure])
            return round(total / number, 1) if number else None
        return self.cells[figure]

    def values(self) -> list:
        return [self.value(figure) for figure, _label in FIGURES]


@dataclass
class Report:
    period: Period
    scope: str  # the district's or the reader's town's name
    towns: list[Row]
    lawyers: list[Row]
    total: Row
    programmes: list[dict]  # {"slug", "metric", "done", "year_done", "target"}
    months: list[tuple[dt.date, int, int]]  # (month, sessions planned, sessions held)


def _count(condition):
    return fn.COUNT(Case(None, [(condition, 1)]))


def _sum(condition, value):
    return fn.SUM(Case(None, [(condition, value)], 0))


def _scoped(*conditions):
    """AND the conditions; a scope of everything (True) is left out, of nothing (False)
    selects no row."""
    kept = [c for c in conditions if c is not True]
    if any(c is False for c in kept):
        return SQL("1 = 0")
    result = kept[0]
    for condition in kept[1:]:
        result &= condition
    return result


def _cells(period: Period, user: User | None) -> dict[tuple, dict]:
    """{(town id, lawyer id): {counter: n}}: one grouped query per kind of record."""
    start, end = period.bounds()
    first, last = period.first, period.last
    cells: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))

    def collect(query, names):
        for town_id, lawyer_id, *values in query.tuples():
            for name, value in zip(names, values):
                cells[(town_id, lawyer_id)][name] += int(value or 0)

    session, publicity = Event.kind == "session", Event.kind == "publicity"
    planned, held = Event.status != "cancelled", Event.status == "held"
    collect(Event.select(Village.town, Event.lawyer, _count(session & planned),
                         _count(session & held), _count(publicity & planned),
                         _count(publicity & held))
            .join(Village, on=(Event.village == Village.id))
            .where(_scoped(Event.kind.in_(("session", "publicity")), Event.starts_at >= start,
                           Event.starts_at < end, event_filter(user)))
            .group_by(Village.town, Event.lawyer),
            ("sessions_planned", "sessions_held", "publicity_planned", "publicity_held"))

    held_entry = WorkLog.event.is_null(False) & WorkLog.task.is_null()
    collect(WorkLog.select(Village.town, WorkLog.lawyer, fn.COUNT(WorkLog.id),
                           _count((WorkLog.category == "publicity") & ~held_entry),
                           _count(WorkLog.category == "mediation"))
            .join(Village, JOIN.LEFT_OUTER, on=(WorkLog.village == Village.id))
            .where(_scoped(WorkLog.occurred_at >= start, WorkLog.occurred_at < end,
                           record_filter(user, WorkLog)))
            .group_by(Village.town, WorkLog.lawyer),
            ("worklog", "consultations", "mediations"))

    opened = CaseFile.opened_on.between(first, last)
    closed = CaseFile.closed_on.between(first, last)
    collect(CaseFile.select(Village.town, CaseFile.lawyer, _count(opened), _count(closed))
            .join(Village, JOIN.LEFT_OUTER, on=(CaseFile.village == Village.id))
            .where(_scoped(opened | closed, record_filter(user, CaseFile)))
            .group_by(Village.town, CaseFile.lawyer),
            ("cases_opened", "cases_closed"))

    reported = (MajorMatter.reported_at >= start) & (MajorMatter.reported_at < end)
    ended = (MajorMatter.closed_at >= start) & (MajorMatter.closed_at < end)
    collect(MajorMatter.select(Village.town, MajorMatter.lawyer, _count(reported),
                               _count(ended))
            .join(Village, JOIN.LEFT_OUTER, on=(MajorMatter.village == Village.id))
            .where(_scoped(reported | ended, record_filter(user, MajorMatter)))
            .group_by(Village.town, MajorMatter.lawyer),
            ("matters_reported", "matters_closed"))

    scored = ReturnVisit.satisfaction.is_null(False)
    collect(ReturnVisit.select(Village.town, Pairing.lawyer, fn.COUNT(ReturnVisit.id),
                               _count(scored), _sum(scored, ReturnVisit.satisfaction))
            .join(Pairing).join(Village)
            .where(_scoped(ReturnVisit.status == "done", ReturnVisit.done_at >= start,
                           ReturnVisit.done_at < end, village_request_filter(user, Pairing)))
            .group_by(Village.town, Pairing.lawyer),
            ("visits_done", "visits_scored", "visit_score"))

    collect(Rating.select(Village.town, Pairing.lawyer, fn.COUNT(Rating.id),
                          fn.SUM(Rating.score))
            .join(Pairing).join(Village)
            .where(_scoped(counts(), Rating.created_at >= start, Rating.created_at < end,
                           village_request_filter(user, Pairing)))
            .group_by(Village.town, Pairing.lawyer),
            ("ratings", "rating_score"))

    town = fn.COALESCE(Task.town, Village.town)
    collect(Task.select(town, Task.assignee, fn.COUNT(Task.id))
            .join(Village, JOIN.LEFT_OUTER, on=(Task.village == Village.id))
            .where(_scoped(Task.status == "done", Task.completed_at >= start,
                           Task.completed_at < end, task_filter(user)))
            .group_by(town, Task.assignee),
            ("tasks_done",))
    return cells


def _summed(rows: dict, cells, side: int, nobody: str) -> list[Row]:
    """``rows`` (by id) with the cells added up by their town (``side`` 0) or lawyer (1);
    the cells of no town or no lawyer in a last row called ``nobody``, if there are any."""
    for key, values in cells.items():
        if key[side] not in rows:
            rows[key[side]] = Row(nobody)
        rows[key[side]].add(values)
    return [rows[key] for key in rows if key is not None] + (
        [rows[None]] if None in rows else [])


def _town_rows(cells, user: User | None, gettext) -> list[Row]:
    """Every town of the scope (by code, zeros too), then the district level if it has
    records."""
    towns = Town.select(Town.id, Town.name).order_by(Town.code)
    scope = town_filter(user)
    if scope is not True:
        towns = towns.where(scope)
    rows = {town_id: Row(name, key=town_id) for town_id, name in towns.tuples()}
    return _summed(rows, cells, 0, gettext(DISTRICT_LEVEL))


def _lawyer_rows(cells, user: User | None, gettext) -> list[Row]:
    """The lawyers with records in the period or an active pairing in the scope, by name;
    records of no lawyer last."""
    paired = Pairing.select(Pairing.lawyer).where(
        _scoped(Pairing.status == "active", village_request_filter(user, Pairing)))
    ids = {lawyer_id for (_town, lawyer_id) in cells if lawyer_id is not None}
    lawyers = (Lawyer.select(Lawyer.id, Lawyer.name, LawFirm.name).join(LawFirm)
               .where(Lawyer.id.in_(list(ids)) | Lawyer.id.in_(paired))
               .order_by(Lawyer.name, Lawyer.id).tuples())
    rows = {lawyer_id: Row(name, firm, key=lawyer_id) for lawyer_id, name, firm in lawyers}
    return _summed(rows, cells, 1, gettext(NO_LAWYER))


def _programmes(period: Period, user: User | None) -> list[dict]:
    """Each programme's headline metric: done in the period, in its year up to the period's
    end, and the year's (district) target."""
    registry = get_registry()
    start, end = period.bounds()
    year_start = clock.utc_from_local(dt.date(period.year, 1, 1), dt.time.min)
    in_period = progress_between(start, end, period.year, user=user)
    to_date = progress_between(year_start, end, period.year, user=user)
    found = []
    for program in sorted(registry.programs.values(), key=lambda p: (p.order, p.slug)):
        metric = headline(program.slug)
        if metric is None or metric.slug not in in_period:
            continue
        found.append({"slug": program.slug, "metric": metric.slug,
                      "done": in_period[metric.slug]["done"],
                      "year_done": to_date[metric.slug]["done"],
                      "target": in_period[metric.slug]["target"]})
    return found


def scope_name(user: User | None) -> str:
    """What the report covers: the reader's town (or village), else the district."""
    if user is not None and user.role in ("coordinator", "leader"):
        if user.village_id:
            return user.village.name
        if user.town_id:
            return user.town.name
        if user.firm_id:
            return user.firm.name
    district = District.select(District.name).order_by(District.id).first()
    return district.name if district else ""


def build_report(period: Period, user: User | None = None, *, gettext=None) -> Report:
    """The report of ``period`` over what ``user`` may read (None: the whole district)."""
    gettext = gettext or gettext_for(get_settings().locale)
    cells = _cells(period, user)
    total = Row(gettext(N_("Total of the scope")))
    for values in cells.values():
        total.add(values)
    return Report(period=period, scope=scope_name(user),
                  towns=_town_rows(cells, user, gettext),
                  lawyers=_lawyer_rows(cells, user, gettext), total=total,
                  programmes=_programmes(period, user), months=sessions_by_month(period.months(), period.next_first, user))


# --- the files ---------------------------------------------------------------------------------

def headers(gettext) -> list[str]:
    return [gettext(label) for _figure, label in FIGURES]


def title(report: Report, gettext) -> str:
    return gettext(N_("Lawyer–village pairing: report of %(scope)s, %(period)s")) % {
        "scope": report.scope, "period": report.period.label(gettext)}


def summary(report: Report, gettext) -> str:
    """The report's opening paragraph."""
    total = report.total
    text = gettext(N_(
        "From %(first)s to %(last)s the lawyers held %(sessions_held)s of %(sessions_planned)s "
        "planned on-site sessions and %(publicity_held)s of %(publicity_planned)s publicity "
        "events, wrote %(worklog)s work-log entries, answered %(consultations)s consultations "
        "and took part in %(mediations)s mediations; %(cases_opened)s case files were opened "
        "and %(cases_closed)s closed; %(matters_reported)s major matters were reported and "
        "%(matters_closed)s closed; %(visits_done)s return visits were made and "
        "%(tasks_done)s programme tasks done.")) % {
        "first": report.period.first.isoformat(), "last": report.period.last.isoformat(),
        **{figure: total.value(figure) for figure, _label in FIGURES}}
    for figure, sentence in (  # each begins with the space its language puts between
            ("visit_average", N_(" The return visits' average satisfaction was %(value)s of 5.")),
            ("rating_average", N_(" The residents' %(count)s ratings averaged %(value)s of 5."))):
        if total.value(figure) is not None:
            text += gettext(sentence) % {"value": total.value(figure),
                                         "count": total.cells["ratings"]}
    return text


def _sheet_rows(rows: list[Row], with_note: bool) -> list[list]:
    return [[row.label] + ([row.note] if with_note else []) + row.values() for row in rows]


def _programme_table(report: Report, gettext, programme_names) -> tuple[list, list]:
    """The programmes' headings and rows, in the .xlsx and the .docx alike."""
    head = [gettext(h) for h in (N_("Programme"), N_("Done in the period"),
                                 N_("Done this year"), N_("The district's target for the year"))]
    return head, [[programme_names(p["slug"]), p["done"], p["year_done"], p["target"]]
                  for p in report.programmes]


def report_xlsx(report: Report, gettext, programme_names) -> bytes:
    """The report as a workbook: one sheet per table, Chinese headings (``gettext``);
    ``programme_names(slug)`` names a programme in the reader's language."""
    book = spreadsheet.workbook()
    figures = headers(gettext)
    spreadsheet.add_sheet(book, gettext(N_("By town")), [gettext(N_("Town"))] + figures,
                          _sheet_rows(report.towns + [report.total], False))
    spreadsheet.add_sheet(book, gettext(N_("By lawyer")),
                          [gettext(N_("Lawyer")), gettext(N_("Law firm"))] + figures,
                          _sheet_rows(report.lawyers + [report.total], True))
    spreadsheet.add_sheet(book, gettext(N_("Programmes")),
                          *_programme_table(report, gettext, programme_names))
    spreadsheet.add_sheet(book, gettext(N_("Sessions by month")),
                          [gettext(N_("Month")), gettext(N_("Sessions planned")),
                           gettext(N_("Sessions held"))],
                          [[day.strftime("%Y-%m"), planned, held]
                           for day, planned, held in report.months])
    return spreadsheet.to_bytes(book)


def _docx_table(document, head: list[str], rows: list[list]) -> None:
    table = document.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, head):
        cell.text = str(text)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for values in rows:
        for cell, value in zip(table.add_row().cells, values):
            cell.text = "—" if value is None else str(value)


CHARTS = ("towns", "months")


def chart(report: Report, which: str, gettext) -> tuple[bytes, str]:
    """A chart of the report as PNG, with its caption (the words the picture leaves out):
    ``"towns"``, sessions planned and held by town (numbered; the caption names them), or
    ``"months"``, by month of the period."""
    if which == "towns":
        towns = [row for row in report.towns if row.key is not None]  # no district level
        key = " · ".join(f"{n} {row.label}" for n, row in enumerate(towns, start=1))
        png = charts.bar_chart([str(n) for n in range(1, len(towns) + 1)],
                               [[row.value("sessions_planned") for row in towns],
                                [row.value("sessions_held") for row in towns]])
        return png, gettext(N_("On-site sessions by town (light: planned, dark: held): "
                               "%(key)s")) % {"key": key}
    png = charts.bar_chart([str(day.month) for day, _p, _h in report.months],
                           [[p for _d, p, _h in report.months],
                            [h for _d, _p, h in report.months]])
    return png, gettext(N_("On-site sessions by month (light: planned, dark: held)."))


def _chart(document, png: bytes, caption: str) -> None:
    document.add_picture(io.BytesIO(png), width=Cm(22))
    document.add_paragraph(caption, style="Caption")


def report_docx(report: Report, gettext, programme_names) -> bytes:
    """The report as an editable Word document: title, period, summary, the tables and two
    charts (sessions held and planned by town, sessions by month), each with its caption."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    normal = document.styles["Normal"]
    normal.font.size = Pt(9)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    document.add_heading(title(report, gettext), level=0)
    document.add_paragraph(gettext(N_("Period: %(first)s to %(last)s")) % {
        "first": report.period.first.isoformat(), "last": report.period.last.isoformat()})
    document.add_paragraph(summary(report, gettext))
    figures = headers(gettext)

    document.add_heading(gettext(N_("By town")), level=1)
    _docx_table(document, [gettext(N_("Town"))] + figures,
                _sheet_rows(report.towns + [report.total], False))
    _chart(document, *chart(report, "towns", gettext))

    document.add_heading(gettext(N_("By lawyer")), level=1)
    _docx_table(document, [gettext(N_("Lawyer")), gettext(N_("Law firm"))] + figures,
                _sheet_rows(report.lawyers + [report.total], True))

    document.add_heading(gettext(N_("Sessions by month")), level=1)
    _chart(document, *chart(report, "months", gettext))

    document.add_heading(gettext(N_("Programmes")), level=1)
    _docx_table(document, *_programme_table(report, gettext, programme_names))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- the quarterly report, prepared on the quarter's first workday --------------------------

def first_workday(period: Period) -> dt.date | None:
    """The period's first workday (core.workdays), None if it has none."""
    calendar = workdays_between(period.first, period.last)
    day = period.first
    while day <= period.last:
        if calendar.is_workday(day):
            return day
        day += dt.timedelta(days=1)
    return None


def stored_folder(period: Period) -> Path:
    return get_settings().instance / STORE / period.key


def prepare_quarterly_report(today: dt.date | None = None, *, programme_names=None) -> Path | None:
    """On the first workday of a quarter (and, should that day's run have been missed, on
    the later days of the quarter's first month): the previous quarter's report for the
    whole district, stored as ``reports/<2026Q3>/report.xlsx`` and ``report.docx`` under
    the instance folder, and a notice to the district coordinators and leaders linking to its page.
    Idempotent: a second run keeps the stored files and sends no second notice. Returns
    the folder, or None on a day it has nothing to do."""
    today = today or clock.today()
    quarter = period_of("quarter", today)
    start = first_workday(quarter)
    if start is None or today < start or today.month != quarter.first.month:
        return None
    period = quarter.previous()
    locale = get_settings().locale
    gettext = gettext_for(locale)
    names = programme_names or (lambda slug: name_of("programme", slug, locale))
    folder = stored_folder(period)
    files = {"report.xlsx": report_xlsx, "report.docx": report_docx}
    if not all((folder / name).is_file() for name in files):
        report = build_report(period, None, gettext=gettext)
        folder.mkdir(parents=True, exist_ok=True)
        for name, make in files.items():
            # a partial file of this run's own: two consumers running the job at once each
            # write theirs, and the last to finish replaces the other's whole file
            partial = folder / f".{name}.{secrets.token_hex(8)}.part"
            partial.write_bytes(make(report, gettext, names))
            partial.replace(folder / name)  # whole or not at all
    label = period.label(gettext)
    notify_users(report_recipients(), kind=NOTICE_KIND,
                 title=gettext(N_("The report of %(period)s is ready")) % {"period": label},
                 body=gettext(N_("The figures of %(period)s by town and by lawyer, with the "
                                 ".xlsx and the .docx to send to the leading group.")) % {
                     "period": label},
                 link=f"{LINK}?period={period.key}", dedupe_key=f"report:{period.key}")
    return folder
