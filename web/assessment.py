"""The yearly assessment: the district table (search, pages, .xlsx), one pairing's sheet,
and the "behind pace" panel of the coverage page. ``core.assessment`` computes everything;
the scope is the viewer's (a town's coordinator assesses their town)."""
from flask import Blueprint, abort, current_app, request

from core import clock, privacy
from core.access import can_read_sheet, sheet_filter
from core.assessment import (CRITERIA_LABELS, EXPORT_HEADERS, GRADES, assess,
                             assessment_sheet, behind_pace, count_behind, export_assessment,
                             export_sheet)
from core.audit import record
from core.config import get_settings
from core.models import Pairing
from core.vocabulary import READERS
from web.i18n import gettext as _
from web.i18n import ngettext
from web.access import actor, allow
from web.listing import (Page, Sorting, page_number, paginate, query_number, query_text,
                         search_term, town_choices, town_code_for)
from web.longwork import long_export
from web.programs import xlsx_response
from web.render import render

bp = Blueprint("assessment", __name__, url_prefix="/assessment")

FILENAME_BAD = str.maketrans({c: " " for c in '\\/:*?"<>|'})  # not in a download's name


def _year() -> int:
    return query_number("year", 2000, 2100) or clock.today().year


def _matching(rows, term: str):
    """The rows whose village (name or code), town or lawyer contains ``term``."""
    if not term:
        return rows
    needle = term.casefold()
    return [row for row in rows
            if any(needle in text.casefold() for text in
                   (row.village.name, row.village.code, row.town.name, row.lawyer.name))]


GRADE_ORDER = {"fail": 0, "pass": 1, "excellent": 2}
# the scores are computed, not stored: the computed rows are sorted before paging
SORTING = Sorting({"score": lambda row: row.total,
                   "grade": lambda row: (GRADE_ORDER.get(row.grade, -1), row.total),
                   "town": lambda row: row.town.name, "village": lambda row: row.village.name,
                   "lawyer": lambda row: row.lawyer.name})


def _filters() -> dict:
    return {"year": _year(), "grade": query_text("grade", 20),
            "town": town_code_for(query_text("town"))}


def _rows(user, filters: dict):
    """The viewer's rows the filters and the search keep, in the order the URL asks for.
    An unknown grade or town code matches nothing; it is not ignored."""
    rows = _matching(assess(filters["year"], user=user), search_term())
    if filters["grade"]:
        rows = [row for row in rows if row.grade == filters["grade"]]
    if filters["town"]:
        rows = [row for row in rows if row.town.code == filters["town"]]
    return SORTING.sorted(rows, SORTING.requested())


@bp.route("/")
@allow(*READERS, "lawyer")
def index():
    """The table of the viewer's scope: a manager's villages, a lawyer's own pairings
    (``core.access.sheet_filter``), sorted and filtered as the URL says."""
    user, filters = actor(), _filters()
    page = paginate(_rows(user, filters), sort=SORTING.requested(), filters=filters)
    towns = town_choices(user)
    return render("assessment/index.html", "assessment/_results.html", listing=page,
                  year=filters["year"], filters=filters, towns=towns,
                  grade_options=[(key, _(label)) for key, label in GRADES.items()],
                  rules=get_settings().assessment, grades=GRADES)


def _export_rows() -> int:
    """At most this many rows (the pairings in the viewer's scope): over the setting, the
    table is exported by a job (web.longwork)."""
    return Pairing.select().where(sheet_filter(actor())).count()


@bp.route("/export.xlsx")
@allow(*READERS, "lawyer")
@long_export(_export_rows)
def export():
    """The whole table in the viewer's scope, filtered and sorted as the page (the pages
    do not apply)."""
    user, filters = actor(), _filters()
    year = filters["year"]
    rows = _rows(user, filters)
    body = export_assessment(rows, [_(header) for header in EXPORT_HEADERS],
                             title=_("Assessment %(year)s", year=year), grade_label=_)
    record(user, "assessment.export", detail={"year": year, "rows": len(rows)},
           address=request.remote_addr or "")
    return xlsx_response(body, f"{_('Assessment')}-{year}.xlsx", f"assessment-{year}.xlsx")


def _readable_pairing(pairing_id) -> Pairing:
    """The pairing, if the viewer may read its sheet; else 404 (as if it did not exist)."""
    pairing = Pairing.get_or_none(Pairing.id == pairing_id)
    if pairing is None or not can_read_sheet(actor(), pairing):
        abort(404)
    return pairing


@bp.route("/<int:pairing_id>")
@allow(*READERS, "lawyer")
def sheet(pairing_id):
    pairing = _readable_pairing(pairing_id)
    user, year = actor(), _year()
    row = assessment_sheet(pairing, year)
    # the village's done tasks as the reader may see them (another lawyer's visit: its
    # type and month, core.privacy)
    views = {task.id: privacy.task_view(user, task)
             for task in (row.details["tasks"] if row is not None else [])}
    privacy.audit_views(user, views.values(), via="assessment",
                        address=request.remote_addr or "")
    return render("assessment/sheet.html", year=year, pairing=pairing, row=row, views=views,
                  rules=get_settings().assessment, grades=GRADES, criteria=CRITERIA_LABELS)


@bp.route("/<int:pairing_id>.xlsx")
@allow(*READERS, "lawyer")
def sheet_export(pairing_id):
    """The pairing's sheet as .xlsx (the same access as the page), audited as the table's
    export is."""
    pairing = _readable_pairing(pairing_id)
    user, year = actor(), _year()
    row = assessment_sheet(pairing, year)
    body = export_sheet(pairing, year, row, gettext=_, ngettext=ngettext, user=user)
    record(user, "assessment.export_sheet", obj=pairing, detail={"year": year},
           address=request.remote_addr or "")
    name = f"{_('Assessment')}-{pairing.village.name}-{pairing.lawyer.name}-{year}"
    return xlsx_response(body, f"{name.translate(FILENAME_BAD)}.xlsx",
                         f"assessment-{pairing.id}-{year}.xlsx")


@bp.route("/behind")
@allow(*READERS)
def behind():
    """Pairings behind the pace this year: the coverage page's panel (loaded by HTMX), or a
    page of its own, where the weekly warning links (core.assessment.PACE_LINK)."""
    today = clock.today()
    town, lawyer = query_text("town"), query_number("lawyer")
    # the desk's groups link to a town's or a lawyer's pairings; a page of them at a time
    narrowed = dict(town=town, lawyer=lawyer)
    total = count_behind(today.year, today, actor(), **narrowed)
    per_page = current_app.config["PER_PAGE"]
    number = min(page_number(), max(1, -(-total // per_page)))
    rows = behind_pace(today.year, today, actor(), **narrowed,
                       offset=(number - 1) * per_page, limit=per_page)
    listing = Page(items=rows, number=number, per_page=per_page, total=total, query="",
                   filters=narrowed)
    return render("assessment/behind.html", "assessment/_behind.html", listing=listing,
                  rows=rows, year=today.year, today=today, narrowed=bool(town or lawyer))
