"""The yearly assessment of a pairing (DOMAIN 五) and the early warning on its pace.

Per pairing and year the records give six figures, each scored 0..1:

- on-site sessions held, each lasting at least ``min_session_hours``, against the pro-rata
  quota of the planner (``planner.village_quota``: a session for each month the pairing
  holds, and its share of the village's publicity events), capped at 1;
- publicity events held against theirs;
- work-log entries of the lawyer in the village against a yearly target, pro rata;
- major matters reported: the share reported on time (1 when none was reported);
- satisfaction: the average of the return visits' and of the residents' ratings that count
  (given with a rating code; ``core.feedback.counts``), each an average of 1..5 scores,
  scored (avg - 1) / 4; not scored when nobody gave one;
- programme tasks done in the village against a yearly target, pro rata.

The total is the weighted mean of the scored criteria on 0..100 (``JIEDUI_ASSESSMENT``),
less the inspections' deduction (``inspection_deduction``: the coordinators' inspections of
the village counted for the pairing that year (``core.inspections``) take points off per
checklist item falling short and per follow-up not done by its due date, at most a cap;
``JIEDUI_ASSESSMENT_INSPECTIONS``, default 2, 5 and 20), graded excellent / pass / fail. A whole table costs a fixed number of queries (one per kind
of record), whether the district has 4 pairings or 131.
"""
import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from peewee import SQL, Case, Select, fn

from core import clock
from core.access import sheet_filter, sheet_pairings, sheet_village_filter
from core.config import get_settings
from core.db import db
from core.feedback import counts
from core.i18n import N_, gettext_for
from core.inspections import failed_items, follow_up_late, of_pairing
from core.models import (Event, Inspection, Lawyer, MajorMatter, PaceTally, Pairing, Rating,
                         ReturnVisit, Task, Town, User, Village, WorkLog)
from core.pace_tally import pace_columns
from core.planner import village_quota
from core.vocabulary import CRITERIA_LABELS, GRADES
from core.privacy import audit_views, task_view
from core import spreadsheet
from core.access import can_manage_village
from core.notify import lawyer_users, notify_users
from core.plugins import get_registry
from core.vocabulary import MATTER_CATEGORY_LABELS as CATEGORY_LABELS
from core.vocabulary import WORK_MODE_LABELS as MODE_LABELS
from core.worklog import case_numbers

# The district table's columns (msgids: the caller translates them for export_assessment).
EXPORT_HEADERS = (N_("Town"), N_("Village"), N_("Lawyer"), N_("Term"),
                  N_("Sessions held"), N_("Sessions required"),
                  N_("Publicity held"), N_("Publicity required"),
                  N_("Work-log entries"), N_("Work-log target"),
                  N_("Major matters"), N_("Reported on time"),
                  N_("Return-visit satisfaction"), N_("Residents' rating"),
                  N_("Tasks done"), N_("Task target"), N_("Inspection deduction"),
                  N_("Total"), N_("Grade"))


@dataclass
class Figures:
    """What the records say about one pairing's year."""
    months: int = 0  # months of the year the pairing holds (planner.village_quota)
    sessions_required: int = 0
    sessions_held: int = 0  # held and long enough
    sessions_too_short: int = 0  # held, but shorter than the minimum: not counted
    publicity_required: int = 0
    publicity_held: int = 0
    worklog: int = 0
    worklog_target: int = 0
    matters: int = 0
    matters_on_time: int = 0
    visits: int = 0
    visit_average: float | None = None
    ratings: int = 0
    rating_average: float | None = None
    tasks_done: int = 0
    tasks_target: int = 0
    inspections: int = 0
    failed_items: int = 0  # checklist items falling short, over the year's inspections
    follow_ups_late: int = 0  # follow-ups not done by their due date (by today)

    @property
    def satisfaction(self) -> float | None:
        """The mean of the two averages, so a flood of ratings does not drown the visits."""
        averages = [a for a in (self.visit_average, self.rating_average) if a is not None]
        return sum(averages) / len(averages) if averages else None


@dataclass
class AssessmentRow:
    pairing: Pairing
    village: Village
    town: Town
    lawyer: Lawyer
    year: int
    figures: Figures
    scores: dict  # criterion -> 0..1, or None when it cannot be scored
    total: float  # 0..100
    grade: str  # excellent | pass | fail
    details: dict = field(default_factory=dict)  # assessment_sheet only
    deduction: float = 0.0  # the inspections' points off (inspection_deduction)


@dataclass
class PaceRow:
    pairing: Pairing
    village: Village
    town: Town
    lawyer: Lawyer
    sessions_held: int
    sessions_due: int  # by now, pro rata
    publicity_held: int
    publicity_due: int

    @property
    def sessions_behind(self) -> bool:
        return self.sessions_held < self.sessions_due

    @property
    def publicity_behind(self) -> bool:
        return self.publicity_held < self.publicity_due


# --- loading (one query per kind of record) ------------------------------------------------

def _pairings(year: int, user: User | None, pairing_ids=None, active_only=False):
    """{pairing id: (pairing, Quota)} for the pairings in scope that owe something in
    ``year`` (``core.access.sheet_filter``: a lawyer's own, ended ones too). Every pairing
    of a village is loaded, so the quota is the planner's."""
    query = (Pairing.select(Pairing, Village, Town, Lawyer)
             .join(Village).join(Town).switch(Pairing).join(Lawyer)
             .where((Pairing.term_start <= dt.date(year, 12, 31))
                    & (Pairing.term_end >= dt.date(year, 1, 1)) & sheet_village_filter(user))
             .order_by(Pairing.term_start, Pairing.id))
    if pairing_ids is not None:
        query = query.where(Pairing.village.in_(
            Pairing.select(Pairing.village).where(Pairing.id.in_(list(pairing_ids)))))
    by_village = defaultdict(list)
    for pairing in query:
        by_village[pairing.village_id].append(pairing)
    owned = {}
    for village_pairings in by_village.values():
        quotas = village_quota(village_pairings, year)
        for pairing in sheet_pairings(user, village_pairings):
            if pairing.id not in quotas:
                continue  # its month(s) belong to another pairing: it owes nothing
            if pairing_ids is not None and pairing.id not in pairing_ids:
                continue
            if active_only and pairing.status != "active":
                continue
            owned[pairing.id] = (pairing, quotas[pairing.id])
    return owned


def _owner(candidates: list[Pairing], day: dt.date) -> Pairing | None:
    """The pairing a record of ``day`` belongs to: the one whose term covers the day, or the
    only candidate (a log written a day after the term still belongs to it)."""
    for pairing in candidates:
        if pairing.term_start <= day <= pairing.term_end:
            return pairing
    return candidates[0] if len(candidates) == 1 else None


def _held_events(year: int, pairing_ids, until: dt.datetime | None = None):
    """{pairing id: [held events]} of kinds session and publicity begun in ``year``."""
    start, end = clock.year_bounds(year)
    if until is not None:
        end = min(end, until)
    events = defaultdict(list)
    query = (Event.select(Event.id, Event.pairing, Event.kind, Event.starts_at, Event.ends_at,
                          Event.held_start, Event.held_end, Event.title)
             .where(Event.pairing.in_(pairing_ids) & (Event.status == "held")
                    & Event.kind.in_(("session", "publicity"))
                    & (Event.starts_at >= start) & (Event.starts_at < end))
             .order_by(Event.starts_at))
    for event in query:
        events[event.pairing_id].append(event)
    return events


def held_hours(event: Event) -> float:
    start = event.held_start or event.starts_at
    finish = event.held_end or event.ends_at
    return (finish - start).total_seconds() / 3600


def _count_events(figures: Figures, events, min_hours: float) -> None:
    for event in events:
        if event.kind == "publicity":
            figures.publicity_held += 1
        elif held_hours(event) >= min_hours - 1e-9:
            figures.sessions_held += 1
        else:
            figures.sessions_too_short += 1


def _by_lawyer_village(owned) -> dict:
    candidates = defaultdict(list)
    for pairing, _months in owned.values():
        candidates[(pairing.lawyer_id, pairing.village_id)].append(pairing)
    return candidates


def _by_village(owned) -> dict:
    candidates = defaultdict(list)
    for pairing, _months in owned.values():
        candidates[pairing.village_id].append(pairing)
    return candidates


def _load_figures(year: int, owned) -> dict[int, Figures]:
    settings = get_settings()
    rules = get_settings().assessment
    ids = list(owned)
    figures = {}
    for pairing_id, (pairing, quota) in owned.items():
        months = len(quota.months)
        figures[pairing_id] = Figures(
            months=months, sessions_required=quota.sessions, publicity_required=quota.publicity,
            worklog_target=math.ceil(rules.worklog_target * months / 12),
            tasks_target=math.ceil(rules.tasks_target * months / 12))
    if not ids:
        return figures
    for pairing_id, events in _held_events(year, ids).items():
        _count_events(figures[pairing_id], events, settings.min_session_hours)
    start, end = clock.year_bounds(year)
    villages = list({pairing.village_id for pairing, _ in owned.values()})
    pairs = _by_lawyer_village(owned)
    logs = (WorkLog.select(WorkLog.lawyer, WorkLog.village, WorkLog.occurred_at)
            .where(WorkLog.village.in_(villages) & (WorkLog.occurred_at >= start)
                   & (WorkLog.occurred_at < end)).tuples())
    for lawyer_id, village_id, occurred in logs:
        pairing = _owner(pairs.get((lawyer_id, village_id), []), clock.local_date(occurred))
        if pairing:
            figures[pairing.id].worklog += 1
    matters = (MajorMatter.select(MajorMatter.lawyer, MajorMatter.village,
                                  MajorMatter.occurred_at, MajorMatter.late)
               .where(MajorMatter.village.in_(villages) & (MajorMatter.occurred_at >= start)
                      & (MajorMatter.occurred_at < end)).tuples())
    for lawyer_id, village_id, occurred, late in matters:
        pairing = _owner(pairs.get((lawyer_id, village_id), []), clock.local_date(occurred))
        if pairing:
            figures[pairing.id].matters += 1
            figures[pairing.id].matters_on_time += 0 if late else 1
    _load_feedback(year, ids, figures)
    _load_inspections(year, ids, figures)
    by_village = _by_village(owned)
    tasks = (Task.select(Task.village, Task.completed_at)
             .where(Task.village.in_(villages) & (Task.status == "done")
                    & (Task.completed_at >= start) & (Task.completed_at < end)).tuples())
    for village_id, completed in tasks:
        pairing = _owner(by_village.get(village_id, []), clock.local_date(completed))
        if pairing:
            figures[pairing.id].tasks_done += 1
    return figures


def _load_inspections(year: int, ids, figures) -> None:
    """The inspections counted for each pairing in ``year`` (``core.inspections``): how
    many, the checklist items falling short, the follow-ups not done by their due date."""
    today = clock.today()
    query = Inspection.select().where(
        Inspection.pairing.in_(ids) & (Inspection.inspected_on >= dt.date(year, 1, 1))
        & (Inspection.inspected_on <= dt.date(year, 12, 31)))
    for inspection in query:
        counted = figures[inspection.pairing_id]
        counted.inspections += 1
        counted.failed_items += len(failed_items(inspection))
        counted.follow_ups_late += follow_up_late(inspection, today)


def _load_feedback(year: int, ids, figures) -> None:
    """Return visits done and the residents' ratings that count (``core.feedback.counts``:
    given with a rating code) of the year's quarters ("2026Q1"…)."""
    period = ReturnVisit.period.startswith(f"{year}Q")
    visits = (ReturnVisit.select(ReturnVisit.pairing, fn.COUNT(ReturnVisit.id),
                                 fn.AVG(ReturnVisit.satisfaction))
              .where(ReturnVisit.pairing.in_(ids) & (ReturnVisit.status == "done")
                     & ReturnVisit.satisfaction.is_null(False) & period)
              .group_by(ReturnVisit.pairing).tuples())
    for pairing_id, count, average in visits:
        figures[pairing_id].visits, figures[pairing_id].visit_average = count, float(average)
    ratings = (Rating.select(Rating.pairing, fn.COUNT(Rating.id), fn.AVG(Rating.score))
               .where(Rating.pairing.in_(ids) & Rating.period.startswith(f"{year}Q")
                      & counts())
               .group_by(Rating.pairing).tuples())
    for pairing_id, count, average in ratings:
        figures[pairing_id].ratings, figures[pairing_id].rating_average = count, float(average)


# --- scoring ---------------------------------------------------------------------------------

def _ratio(done: int, target: int) -> float | None:
    return min(done / target, 1.0) if target > 0 else None


def scores(figures: Figures) -> dict[str, float | None]:
    """Each criterion on 0..1; None: nothing to judge it by (no target, no satisfaction)."""
    satisfaction = figures.satisfaction
    return {
        "sessions": _ratio(figures.sessions_held, figures.sessions_required),
        "publicity": _ratio(figures.publicity_held, figures.publicity_required),
        "worklog": _ratio(figures.worklog, figures.worklog_target),
        # nothing to report is no fault
        "matters": figures.matters_on_time / figures.matters if figures.matters else 1.0,
        "satisfaction": (None if satisfaction is None
                         else min(max((satisfaction - 1) / 4, 0.0), 1.0)),
        "tasks": _ratio(figures.tasks_done, figures.tasks_target),
    }


def total(criterion_scores: dict, rules) -> float:
    """The weighted mean of the scored criteria on 0..100: a criterion with nothing to
    judge (no satisfaction given yet) neither helps nor hurts."""
    weighted = [(weight, criterion_scores[name]) for name, weight in rules.weights
                if weight > 0 and criterion_scores.get(name) is not None]
    weights = sum(weight for weight, _ in weighted)
    if not weights:
        return 0.0
    return round(100 * sum(weight * score for weight, score in weighted) / weights, 1)


def inspection_deduction(figures: Figures, rules) -> float:
    """The points the year's inspections take off the total: ``inspection_item`` per
    checklist item falling short, ``inspection_follow_up`` per follow-up not done by its
    due date, at most ``inspection_cap``."""
    points = (figures.failed_items * rules.inspection_item
              + figures.follow_ups_late * rules.inspection_follow_up)
    return round(min(points, rules.inspection_cap), 1)


def grade(value: float, rules) -> str:
    if value >= rules.excellent_line:
        return "excellent"
    return "pass" if value >= rules.pass_line else "fail"


def _rows(year: int, owned) -> list[AssessmentRow]:
    rules = get_settings().assessment
    figures = _load_figures(year, owned)
    rows = []
    for pairing_id, (pairing, _months) in owned.items():
        criterion_scores = scores(figures[pairing_id])
        deduction = inspection_deduction(figures[pairing_id], rules)
        value = max(round(total(criterion_scores, rules) - deduction, 1), 0.0)
        rows.append(AssessmentRow(
            pairing=pairing, village=pairing.village, town=pairing.village.town,
            lawyer=pairing.lawyer, year=year, figures=figures[pairing_id],
            scores=criterion_scores, total=value, grade=grade(value, rules),
            deduction=deduction))
    rows.sort(key=lambda r: (r.town.code, r.village.code, r.pairing.term_start))
    return rows


def assess(year: int, *, user: User | None = None) -> list[AssessmentRow]:
    """The district table: every pairing in ``user``'s scope that owes something in
    ``year``, with its figures, scores, total and grade. A fixed number of queries."""
    return _rows(year, _pairings(year, user))


def assessment_sheet(pairing: Pairing, year: int) -> AssessmentRow | None:
    """One pairing's assessment with the records behind it (held events, work-log entries,
    major matters, return visits, tasks done); None when it owes nothing in ``year``. The
    caller checks that the user may read it."""
    owned = _pairings(year, None, pairing_ids={pairing.id})
    if pairing.id not in owned:
        return None
    row = _rows(year, owned)[0]
    start, end = clock.year_bounds(year)
    min_hours = get_settings().min_session_hours
    events = _held_events(year, [pairing.id]).get(pairing.id, [])
    row.details = {
        "events": [(event, held_hours(event),
                    event.kind == "publicity" or held_hours(event) >= min_hours - 1e-9)
                   for event in events],
        "min_hours": min_hours,
        "matters": list(MajorMatter.select().where(
            (MajorMatter.lawyer == pairing.lawyer_id) & (MajorMatter.village == pairing.village_id)
            & (MajorMatter.occurred_at >= start) & (MajorMatter.occurred_at < end))
            .order_by(MajorMatter.occurred_at)),
        "visits": list(ReturnVisit.select().where(
            (ReturnVisit.pairing == pairing.id) & ReturnVisit.period.startswith(f"{year}Q"))
            .order_by(ReturnVisit.period)),
        "tasks": [task for task in Task.select().where(
            (Task.village == pairing.village_id) & (Task.status == "done")
            & (Task.completed_at >= start) & (Task.completed_at < end))
            .order_by(Task.completed_at)
            if pairing.term_start <= clock.local_date(task.completed_at) <= pairing.term_end],
        # the residents' ratings of the year that do not count (core.feedback.counts)
        "uncounted_ratings": Rating.select().where(
            (Rating.pairing == pairing.id) & Rating.period.startswith(f"{year}Q")
            & ~counts()).count(),
        # the entries the work-log figure counts (the lawyer's, in the village, that year)
        "worklogs": list(WorkLog.select().where(
            (WorkLog.lawyer == pairing.lawyer_id) & (WorkLog.village == pairing.village_id)
            & (WorkLog.occurred_at >= start) & (WorkLog.occurred_at < end))
            .order_by(WorkLog.occurred_at, WorkLog.id)),
        # the inspections counted for the pairing that year (core.inspections)
        "inspections": list(of_pairing(pairing, year)),
    }
    return row


# --- export ----------------------------------------------------------------------------------

def _average(value: float | None):
    return round(value, 2) if value is not None else None


def export_row(row: AssessmentRow, grade_label=str) -> list:
    f = row.figures
    return [row.town.name, row.village.name, row.lawyer.name,
            f"{row.pairing.term_start.isoformat()} – {row.pairing.term_end.isoformat()}",
            f.sessions_held, f.sessions_required, f.publicity_held, f.publicity_required,
            f.worklog, f.worklog_target, f.matters, f.matters_on_time,
            _average(f.visit_average), _average(f.rating_average),
            f.tasks_done, f.tasks_target, row.deduction, row.total,
            grade_label(GRADES[row.grade])]


def export_assessment(rows, headers, *, title: str = "Assessment", grade_label=str) -> bytes:
    """The district table as an .xlsx workbook: one sheet, ``headers`` (translated by the
    caller, in EXPORT_HEADERS order) then a row per pairing; ``grade_label`` translates the
    grade's msgid."""
    workbook = spreadsheet.workbook()
    spreadsheet.add_sheet(workbook, title, headers,
                          (export_row(row, grade_label) for row in rows))
    return spreadsheet.to_bytes(workbook)


# One pairing's sheet (msgids: the caller's ``gettext`` translates them).
SHEET_SUMMARY = (N_("Town"), N_("Village"), N_("Lawyer"), N_("Term"), N_("Year"), N_("Total"),
                 N_("Grade"))
SHEET_CRITERIA = (N_("Criterion"), N_("Figure"), N_("Requirement"), N_("Weight"), N_("Score"),
                  N_("Figures"))
SHEET_EVENTS = (N_("Starts"), N_("Ends"), N_("Kind"), N_("Hours"), N_("Counts"), N_("Title"))
SHEET_WORKLOGS = (N_("Date and time"), N_("Mode"), N_("Minutes"), N_("Content"), N_("Result"),
                  N_("Case file"))
SHEET_MATTERS = (N_("Happened"), N_("Category"), N_("Title"), N_("Deadline"), N_("Reported"),
                 N_("Reported on time"))
SHEET_VISITS = (N_("Quarter"), N_("Due"), N_("Status"), N_("Satisfaction"), N_("Comments"))
SHEET_TASKS = (N_("Completed on"), N_("Programme"), N_("Task type"), N_("Title"))
OWES_NOTHING = N_("This pairing owes nothing in %(year)s: its term does not cover a month of "
                  "that year.")
# the plural msgid of the HTML sheet (extracted from its ngettext, so no N_ here)
TOO_SHORT = ("%(num)d session was shorter than the minimum and does not count.",
             "%(num)d sessions were shorter than the minimum and do not count.")
UNCOUNTED = ("%(num)d rating without a rating code is anonymous feedback and does not count.",
             "%(num)d ratings without a rating code are anonymous feedback and do not count.")
MINUTE = "yyyy-mm-dd hh:mm"
INSPECTED = N_("The inspections take %(points)s points off the total: %(items)d items "
               "falling short, %(late)d follow-ups not done by their due date.")


def _local(instant: dt.datetime | None) -> dt.datetime | None:
    """A stored (UTC) instant as the district's wall-clock time, as a spreadsheet shows it."""
    return clock.to_local(instant).replace(tzinfo=None) if instant is not None else None


def _one_decimal(value: float | None) -> str:
    return "%.1f" % value if value is not None else "—"


def criteria_figures(row: AssessmentRow, gettext) -> dict[str, tuple]:
    """Per criterion: (figure, requirement, the figures in words as the HTML sheet says
    them). Satisfaction has no requirement: its figure is the mean of the two averages."""
    f, hours = row.figures, row.details.get("min_hours", get_settings().min_session_hours)
    text = {
        "sessions": gettext(N_("%(held)s of %(required)s held (at least %(hours)s hours each)"))
        % {"held": f.sessions_held, "required": f.sessions_required, "hours": hours},
        "publicity": gettext(N_("%(held)s of %(required)s held"))
        % {"held": f.publicity_held, "required": f.publicity_required},
        "worklog": gettext(N_("%(count)s entries, target %(target)s"))
        % {"count": f.worklog, "target": f.worklog_target},
        "matters": gettext(N_("%(on_time)s of %(count)s reported on time"))
        % {"on_time": f.matters_on_time, "count": f.matters},
        "satisfaction": gettext(N_("return visits: %(visits)s (average %(visit_avg)s); "
                                   "residents' ratings with a code: %(ratings)s (average "
                                   "%(rating_avg)s)"))
        % {"visits": f.visits, "visit_avg": _one_decimal(f.visit_average),
           "ratings": f.ratings, "rating_avg": _one_decimal(f.rating_average)},
        "tasks": gettext(N_("%(done)s done, target %(target)s"))
        % {"done": f.tasks_done, "target": f.tasks_target},
    }
    numbers = {"sessions": (f.sessions_held, f.sessions_required),
               "publicity": (f.publicity_held, f.publicity_required),
               "worklog": (f.worklog, f.worklog_target),
               "matters": (f.matters_on_time, f.matters),
               "satisfaction": (_average(f.satisfaction), None),
               "tasks": (f.tasks_done, f.tasks_target)}
    return {name: (*numbers[name], text[name]) for name in numbers}


def _plural_of(gettext):
    def ngettext(singular, plural, num):
        return gettext(singular if num == 1 else plural) % {"num": num}
    return ngettext


def export_sheet(pairing: Pairing, year: int, row: AssessmentRow | None, *, gettext=str,
                 ngettext=None, user: User | None = None) -> bytes:
    """One pairing's assessment sheet (``assessment_sheet``) as an .xlsx workbook: a first
    worksheet with the pairing, the year, the total and grade, then each criterion with its
    figure, requirement, weight and score; then a worksheet per kind of record behind the
    figures (held sessions and publicity events, work-log entries, major matters, return
    visits, programme tasks done), as the HTML sheet lists them. ``gettext`` translates a
    msgid (no formatting); ``ngettext(singular, plural, num)`` returns the text with its
    ``%(num)d`` filled in (by default made from ``gettext``). ``row`` None: the pairing owes
    nothing in ``year`` and the workbook says so. A task is shown as ``user`` may see it
    (``core.privacy``: another lawyer's household visit in the village by its type and
    month). The caller checks access and audits."""
    ngettext = ngettext or _plural_of(gettext)

    def headers(msgids):
        return [gettext(msgid) for msgid in msgids]

    term = f"{pairing.term_start.isoformat()} – {pairing.term_end.isoformat()}"
    book = spreadsheet.workbook()
    summary = spreadsheet.add_sheet(
        book, gettext(N_("Assessment %(year)s")) % {"year": year}, headers(SHEET_SUMMARY),
        [[pairing.village.town.name, pairing.village.name, pairing.lawyer.name, term, year,
          row.total if row else None, gettext(GRADES[row.grade]) if row else None]],
        widths={0: 20, 1: 16, 2: 16, 3: 24, 4: 10, 5: 70, 6: 10})
    if row is None:
        spreadsheet.append_row(summary, [None])
        spreadsheet.append_row(summary, [gettext(OWES_NOTHING) % {"year": year}])
        return spreadsheet.to_bytes(book)
    rules = get_settings().assessment
    spreadsheet.append_row(summary, [None])
    spreadsheet.append_row(summary, headers(SHEET_CRITERIA))
    figures = criteria_figures(row, gettext)
    for name, weight in rules.weights:
        figure, requirement, text = figures[name]
        score = row.scores.get(name)
        spreadsheet.append_row(
            summary, [gettext(CRITERIA_LABELS[name]), figure, requirement, weight,
                      score if score is not None else gettext(N_("not scored")), text],
            formats={4: "0%"} if score is not None else None)
    spreadsheet.append_row(summary, [None])
    spreadsheet.append_row(summary, [gettext(N_("Pass at %(pass)s, excellent at %(excellent)s."))
                                     % {"pass": round(rules.pass_line),
                                        "excellent": round(rules.excellent_line)}])
    if row.deduction:
        spreadsheet.append_row(summary, [gettext(INSPECTED) % {
            "points": row.deduction, "items": row.figures.failed_items,
            "late": row.figures.follow_ups_late}])
    if row.figures.sessions_too_short:
        spreadsheet.append_row(summary, [ngettext(*TOO_SHORT, row.figures.sessions_too_short)])
    if row.details["uncounted_ratings"]:
        spreadsheet.append_row(summary, [ngettext(*UNCOUNTED,
                                                  row.details["uncounted_ratings"])])

    details, yes, no = row.details, gettext(N_("yes")), gettext(N_("no"))
    kinds = {"session": gettext(N_("On-site session")),
             "publicity": gettext(N_("Publicity event"))}
    spreadsheet.add_sheet(
        book, gettext(N_("Sessions and publicity events held")), headers(SHEET_EVENTS),
        ([_local(event.held_start or event.starts_at), _local(event.held_end or event.ends_at),
          kinds.get(event.kind, event.kind), round(hours, 2),
          yes if counts else gettext(N_("too short")), event.title]
         for event, hours, counts in details["events"]),
        widths={0: 18, 1: 18, 5: 40}, formats={0: MINUTE, 1: MINUTE, 3: "0.0"})
    numbers = case_numbers(details["worklogs"])
    spreadsheet.add_sheet(
        book, gettext(CRITERIA_LABELS["worklog"]), headers(SHEET_WORKLOGS),
        ([_local(entry.occurred_at), gettext(MODE_LABELS.get(entry.mode, entry.mode)),
          entry.duration_minutes, entry.content, entry.result, numbers.get(entry.case_id, "")]
         for entry in details["worklogs"]),
        widths={0: 18, 3: 50, 4: 50}, formats={0: MINUTE})
    spreadsheet.add_sheet(
        book, gettext(N_("Major matters")), headers(SHEET_MATTERS),
        ([_local(matter.occurred_at),
          gettext(CATEGORY_LABELS.get(matter.category, matter.category)), matter.title,
          _local(matter.deadline_at), _local(matter.reported_at), no if matter.late else yes]
         for matter in details["matters"]),
        widths={0: 18, 1: 24, 2: 40, 3: 18, 4: 18}, formats={0: MINUTE, 3: MINUTE, 4: MINUTE})
    spreadsheet.add_sheet(
        book, gettext(N_("Return visits")), headers(SHEET_VISITS),
        ([visit.period, visit.due_on,
          gettext(N_("Done")) if visit.status == "done" else gettext(N_("not done yet")),
          visit.satisfaction if visit.status == "done" else None,
          visit.comments if visit.status == "done" else ""]
         for visit in details["visits"]),
        widths={1: 12, 4: 50}, formats={1: "yyyy-mm-dd"})
    registry = get_registry()
    programs = registry.programs
    views = [task_view(user, task) for task in details["tasks"]]
    spreadsheet.add_sheet(
        book, gettext(N_("Programme tasks done")), headers(SHEET_TASKS),
        ([_day(view.time(view.task.completed_at)),
          programs[view.task.program].name if view.task.program in programs
          else view.task.program, view.type_name, view.title] for view in views),
        widths={0: 12, 1: 24, 2: 24, 3: 40}, formats={0: "yyyy-mm-dd"})
    audit_views(user, views, via="assessment")
    return spreadsheet.to_bytes(book)


def _day(shown):
    """A time as ``core.privacy.TaskView.time`` gives it, to the day (or its month)."""
    return shown.date() if isinstance(shown, dt.datetime) else shown


# --- early warning ---------------------------------------------------------------------------

def _behind_query(year: int, today: dt.date, user: User | None, *columns, joined=True):
    """The active pairings in ``user``'s scope behind the pro-rata pace by ``today``, from
    the kept figures (``core.pace_tally``): held sessions or publicity events fewer than
    required × the elapsed share of their term in the year, rounded down. None: nobody in
    scope. ``columns``: what to select (with the pace's own columns after them);
    ``joined``: with the pairing's village, town and lawyer."""
    scope = sheet_filter(user)  # a village's pairings a manager reads; a lawyer's own
    if scope is False:
        return None, None
    join, sessions_held, sessions_due, publicity_held, publicity_due = pace_columns(year, today)
    pace = (sessions_held.alias("sessions_held"), sessions_due.alias("sessions_due"),
            publicity_held.alias("publicity_held"), publicity_due.alias("publicity_due"))
    query = PaceTally.select(*columns, *pace).join(Pairing)
    if joined:
        query = query.join(Village).join(Town).switch(Pairing).join(Lawyer)
    query = join(query.switch(PaceTally))
    query = query.where((PaceTally.year == year) & (Pairing.status == "active")
                        & ((sessions_held < sessions_due) | (publicity_held < publicity_due)))
    if scope is not True:
        query = query.where(scope)
    shortfall = (Case(None, ((sessions_due > sessions_held, sessions_due - sessions_held),), 0)
                 + Case(None, ((publicity_due > publicity_held,
                                publicity_due - publicity_held),), 0))
    return query, shortfall


def _pace_rows(query) -> list[PaceRow]:
    """PaceRows of what the pages and the warning read (``_ROW_COLUMNS``: ids, codes, names,
    the term and status): the models are made from those columns, not loaded whole."""
    rows = []
    for found in query.objects():
        pairing = Pairing(id=found.pairing_id, village=found.village_id, lawyer=found.lawyer_id,
                          term_start=found.term_start, term_end=found.term_end,
                          status=found.status)
        village = Village(id=found.village_id, code=found.village_code,
                          name=found.village_name, town=found.town_id)
        town = Town(id=found.town_id, code=found.town_code, name=found.town_name)
        lawyer = Lawyer(id=found.lawyer_id, name=found.lawyer_name)
        pairing.village, pairing.lawyer, village.town = village, lawyer, town
        rows.append(PaceRow(pairing=pairing, village=village, town=town, lawyer=lawyer,
                            sessions_held=int(found.sessions_held),
                            sessions_due=int(found.sessions_due),
                            publicity_held=int(found.publicity_held),
                            publicity_due=int(found.publicity_due)))
    return rows


_ROW_COLUMNS = (Pairing.id.alias("pairing_id"), Pairing.term_start, Pairing.term_end,
                Pairing.status, Village.id.alias("village_id"), Village.code.alias("village_code"),
                Village.name.alias("village_name"), Town.id.alias("town_id"),
                Town.code.alias("town_code"), Town.name.alias("town_name"),
                Lawyer.id.alias("lawyer_id"), Lawyer.name.alias("lawyer_name"))


def _narrowed(query, town: str, lawyer: int | None):
    if town:
        query = query.where(Town.code == town)
    if lawyer:
        query = query.where(Lawyer.id == lawyer)
    return query


def behind_pace(year: int, today: dt.date, user: User | None = None, *, town: str = "",
                lawyer: int | None = None, most_behind: int | None = None,
                pairings: list[int] | None = None,
                offset: int = 0, limit: int | None = None) -> list[PaceRow]:
    """Active pairings in scope whose held sessions or publicity events are behind the
    pro-rata pace: fewer than required × the elapsed share of their term in the year,
    rounded down (one query on the kept figures, ``core.pace_tally``), by town and village.
    ``town`` (a code), ``lawyer`` (an id), ``pairings`` (ids): only theirs;
    ``most_behind``: only that many, those owing the most by now first; ``offset``/
    ``limit``: a page of them."""
    if pairings is not None and not pairings:
        return []
    query, shortfall = _behind_query(year, today, user, *_ROW_COLUMNS)
    if query is None:
        return []
    query = _narrowed(query, town, lawyer)
    if pairings is not None:
        query = query.where(Pairing.id.in_(pairings))
    order = (Town.code, Village.code, Pairing.term_start, Pairing.id)
    if most_behind is not None:
        query = query.order_by(shortfall.desc(), *order).limit(most_behind)
    else:
        query = query.order_by(*order)
        if limit is not None:
            query = query.limit(limit).offset(offset)
    return _pace_rows(query)


def count_behind(year: int, today: dt.date, user: User | None = None, *, town: str = "",
                 lawyer: int | None = None) -> int:
    """How many pairings ``behind_pace`` lists (one COUNT)."""
    query, _shortfall = _behind_query(year, today, user, PaceTally.pairing,
                                      joined=bool(town or lawyer))
    return 0 if query is None else _narrowed(query, town, lawyer).count()


def behind_pairing_ids(year: int, today: dt.date, user: User | None = None):
    """The ids of the pairings ``behind_pace`` lists, as a subquery (the quota page's filter)."""
    query, _shortfall = _behind_query(year, today, user, PaceTally.pairing, joined=False)
    if query is None:
        return None
    return query.select(PaceTally.pairing)


def behind_counts(year: int, today: dt.date, user: User | None = None, *,
                  top: int | None = None) -> dict:
    """How many pairings are behind (``behind_pace``), in all and by town and by lawyer,
    and which owe the most: {"count": n, "towns": [(id, code, name, n)…], "lawyers": [(id,
    name, n)…], "most_behind": [pairing id…]}, the most behind first (then by name);
    ``top``: only that many towns and lawyers, and the ids of the ``top`` pairings
    ``behind_pace(most_behind=top)`` lists (none without ``top``).

    ONE statement: the pairings behind are found once (a materialised CTE) and counted
    three ways in SQL, so a province's desk reads a few rows, not a row per town and lawyer
    (5,000 of them, ranked in Python, were 35 ms of the desk)."""
    query, shortfall = _behind_query(
        year, today, user, Town.id.alias("town_id"), Town.code.alias("town_code"),
        Town.name.alias("town_name"), Lawyer.id.alias("lawyer_id"),
        Lawyer.name.alias("lawyer_name"), Village.code.alias("village_code"),
        Pairing.term_start, PaceTally.pairing.alias("pairing_id"))
    if query is None:
        return {"count": 0, "towns": [], "lawyers": [], "most_behind": []}
    behind = query.select_extend(shortfall.alias("owed")).cte("behind", materialized=True)
    c, many = behind.c, fn.COUNT(SQL("*"))

    def part(kind: str, columns, group, order):
        counted = (Select([behind], [SQL(f"'{kind}'").alias("kind"), *columns])
                   .group_by(*group).order_by(*order))
        return Select([(counted.limit(top) if top is not None else counted).alias(kind)],
                      [SQL("*")])
    towns = part("town", (c.town_id, c.town_code, c.town_name, many.alias("n")),
                 (c.town_id, c.town_code, c.town_name), (many.desc(), c.town_name, c.town_id))
    lawyers = part("lawyer", (c.lawyer_id, SQL("NULL"), c.lawyer_name, many),
                   (c.lawyer_id, c.lawyer_name), (many.desc(), c.lawyer_name, c.lawyer_id))
    total = Select([behind], [SQL("'all'"), SQL("NULL"), SQL("NULL"), SQL("NULL"), many])
    parts = towns + lawyers + total
    if top is not None:  # the ids of those owing most (behind_pace orders their rows)
        parts += Select([Select([behind], [SQL("'pairing'"), c.pairing_id, SQL("NULL"),
                                           SQL("NULL"), c.owed])
                         .order_by(c.owed.desc(), c.town_code, c.village_code, c.term_start,
                                   c.pairing_id).limit(top).alias("most")], [SQL("*")])
    found = {"count": 0, "towns": [], "lawyers": [], "most_behind": []}
    for kind, row_id, code, name, n in parts.with_cte(behind).bind(db).tuples():
        if kind == "all":
            found["count"] = int(n)
        elif kind == "town":
            found["towns"].append((row_id, code, name, int(n)))
        elif kind == "lawyer":
            found["lawyers"].append((row_id, name, int(n)))
        else:
            found["most_behind"].append(row_id)
    for key in ("towns", "lawyers"):  # a subquery's order is not the compound's
        found[key].sort(key=lambda row: (-row[-1], row[-2], row[0]))
    return found


PACE_TITLE = N_("Pairings behind the pace of on-site work: %(count)d")
PACE_BODY = N_("By %(date)s these pairings of your scope are behind the pro-rata pace of "
               "on-site sessions or publicity events:")
PACE_LINE = N_("%(village)s (%(town)s, %(lawyer)s): %(behind)s")
PACE_SESSIONS = N_("sessions %(held)s of %(due)s due")
PACE_PUBLICITY = N_("publicity %(held)s of %(due)s due")
PACE_MORE = N_("… and %(more)d more: see the list.")
PACE_LINK = "/assessment/behind"  # the viewer's pairings behind pace (web/assessment.py)
# a lawyer's own digest: their villages, without their name on every line
PACE_TITLE_LAWYER = N_("Your villages behind the pace of on-site work: %(count)d")
PACE_BODY_LAWYER = N_("By %(date)s these villages of yours are behind the pro-rata pace of "
                      "on-site sessions or publicity events; record what was held, or make "
                      "up for it:")
PACE_LINE_LAWYER = N_("%(village)s (%(town)s): %(behind)s")
DIGEST_LINES = 15  # a robot refuses long messages (WeCom: 2048 bytes); the link has them all


def pace_digest(rows: list[PaceRow], today: dt.date, gettext,
                own: bool = False) -> tuple[str, str]:
    """The title and body of one coordinator's weekly warning: how many of their pairings
    are behind pace, and the first DIGEST_LINES of them; ``own``: a lawyer's of their own
    villages."""
    title, body, line = ((PACE_TITLE_LAWYER, PACE_BODY_LAWYER, PACE_LINE_LAWYER) if own
                         else (PACE_TITLE, PACE_BODY, PACE_LINE))
    lines = [gettext(body) % {"date": today.isoformat()}]
    for row in rows[:DIGEST_LINES]:
        behind = []
        if row.sessions_behind:
            behind.append(gettext(PACE_SESSIONS) % {"held": row.sessions_held,
                                                    "due": row.sessions_due})
        if row.publicity_behind:
            behind.append(gettext(PACE_PUBLICITY) % {"held": row.publicity_held,
                                                     "due": row.publicity_due})
        lines.append("- " + gettext(line) % {
            "village": row.village.name, "town": row.town.name, "lawyer": row.lawyer.name,
            "behind": "; ".join(behind)})
    if len(rows) > DIGEST_LINES:
        lines.append(gettext(PACE_MORE) % {"more": len(rows) - DIGEST_LINES})
    return gettext(title) % {"count": len(rows)}, "\n".join(lines)


def send_pace_warnings(today: dt.date | None = None) -> int:
    """The weekly early warning: one digest per coordinator listing the pairings of their
    scope that are behind pace (none when they have none), once per ISO week (a second run
    that week sends nothing new). Coordinators of the same scope share one message; the
    outside copy (e-mail, robot) goes once for each scope not already covered by a wider
    one, so the shared channels get the district's list once. Each lawyer with pairings
    behind gets a digest of their own villages, once per ISO week too, in the inbox (and by
    e-mail if they asked), never to the shared channels. Returns the number of pairings
    warned about."""
    today = today or clock.today()
    iso_year, week, _ = today.isocalendar()
    gettext = gettext_for(get_settings().locale)
    rows = behind_pace(today.year, today)
    coordinators = User.select().where((User.role == "coordinator") & User.active).order_by(
        User.id)
    scopes: dict[tuple[int, ...], list[User]] = defaultdict(list)
    for user in coordinators:
        mine = tuple(i for i, row in enumerate(rows) if can_manage_village(user, row.village))
        if mine:
            scopes[mine].append(user)
    sent_outside: set[int] = set()
    for scope in sorted(scopes, key=len, reverse=True):
        title, body = pace_digest([rows[i] for i in scope], today, gettext)
        outside = not set(scope) <= sent_outside
        notify_users(scopes[scope], kind="pace", title=title, body=body, link=PACE_LINK,
                     outside=outside, dedupe_key=f"pace:{iso_year}-W{week:02d}")
        if outside:  # sent now, or earlier this week (the dedupe key held it back)
            sent_outside.update(scope)
    _warn_lawyers(rows, today, gettext)
    return len(rows)


def _warn_lawyers(rows: list[PaceRow], today: dt.date, gettext) -> None:
    """Each lawyer's own digest; it links to the sheet of their one pairing behind, or to
    their calendar's agenda (where held sessions are recorded) when several are."""
    iso_year, week, _ = today.isocalendar()
    mine: dict[int, list[PaceRow]] = defaultdict(list)
    for row in rows:
        mine[row.pairing.lawyer_id].append(row)
    users = lawyer_users(mine)
    for lawyer_id, own in mine.items():
        title, body = pace_digest(own, today, gettext, own=True)
        link = (f"/assessment/{own[0].pairing.id}?year={today.year}" if len(own) == 1
                else f"/calendar/lawyer/{lawyer_id}?view=agenda")
        notify_users(users.get(lawyer_id, []), kind="pace", title=title, body=body, link=link,
                     outside=False, dedupe_key=f"pace:lawyer:{iso_year}-W{week:02d}")
