"""Administration: the loaded plugins and what each registered; the audit log (read and
exported, never changed: no route here writes to it); the problems reported by whatever
failed in the background (plugins, notification channels, feeds, jobs)."""
import datetime as dt

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from core import audit, clock, plugins, problems
from core.errors import ValidationError
from core.models import Problem
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web import labels
from web.access import actor, allow
from web.listing import paginate, query_text
from web.longwork import job_progress, long_export
from web.programs import xlsx_response
from web.render import htmx, render

bp = Blueprint("admin", __name__, url_prefix="/admin")

EXPORT_HEADERS = {"at": _l("Time"), "username": _l("User"), "action": _l("Action"),
                  "object": _l("Object"), "changes": _l("Changes"), "address": _l("Address"),
                  "code": _l("Action code"), "object_type": _l("Object type"),
                  "object_id": _l("Object id"), "detail": _l("Detail")}
SOURCE_LABELS = labels.PROBLEM_SOURCE_LABELS


@bp.app_context_processor
def _open_problem_count():
    """The nav shows administrators how many problems are open (one count query)."""
    def open_problem_count() -> int:
        if not current_user.is_authenticated or current_user.user.role != "admin":
            return 0
        return problems.open_count()
    return {"open_problem_count": open_problem_count}


@bp.route("/plugins")
@allow("admin")
def plugin_list():
    description = plugins.describe()
    by_program = {}
    for kind in ("task_types", "metrics", "schedules"):
        for item in description[kind]:
            by_program.setdefault(item["program"], {}).setdefault(kind, []).append(item)
    errors = list(reversed(plugins.plugin_errors))  # newest first
    return render("admin/plugins.html", description=description, by_program=by_program,
                  errors=errors)


# --- the audit log ---------------------------------------------------------------------------

def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(query_text(name, 10))
    except ValueError:
        return None  # a bad date filters nothing, never an error


def _audit_filter() -> audit.AuditFilter:
    """The filter from the query string; bad input is dropped, never an error."""
    return audit.AuditFilter(
        username=query_text("user", 50), action=query_text("action", 100),
        object_type=query_text("type", 50), object_id=query_text("object", 40),
        date_from=_day("from"), date_to=_day("to"), address=query_text("address", 60))


def _filter_args(criteria: audit.AuditFilter) -> dict:
    """The filter as query-string arguments, for the pager and the export link."""
    return {"user": criteria.username or None, "action": criteria.action or None,
            "type": criteria.object_type or None, "object": criteria.object_id or None,
            "from": criteria.date_from.isoformat() if criteria.date_from else None,
            "to": criteria.date_to.isoformat() if criteria.date_to else None,
            "address": criteria.address or None}


@bp.route("/audit")
@allow("admin")
def audit_log():
    criteria = _audit_filter()
    listing = paginate(audit.search(criteria))
    # the page's entries in words: names for ids, one query per kind of row
    words = audit.describe(listing.items, _, _locale())
    return render("admin/audit.html", "admin/_audit_results.html", listing=listing,
                  words=words, criteria=criteria, args=_filter_args(criteria),
                  actions=[(action, audit.action_label(action, _))
                           for action in audit.actions_present()],
                  object_types=[(kind, _(audit.OBJECT_LABELS[kind])
                                 if kind in audit.OBJECT_LABELS else kind)
                                for kind in audit.object_types_present()],
                  detail_text=audit.detail_text)


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _audit_export_rows() -> int:
    return audit.search(_audit_filter()).count()


@bp.route("/audit.xlsx")
@allow("admin")
@long_export(_audit_export_rows)
def audit_export():
    """Every entry the filter matches (the pages do not apply); the export is audited. More
    than JIEDUI_EXPORT_JOB_ROWS entries are exported by a job (web.longwork)."""
    body = audit.export_entries(
        _audit_filter(), headers={key: str(text) for key, text in EXPORT_HEADERS.items()},
        user=actor(), address=request.remote_addr or "", gettext=_, locale=_locale(),
        progress=job_progress())
    stamp = clock.today().isoformat()
    return xlsx_response(body, f"{_('Audit log')}-{stamp}.xlsx", f"audit-{stamp}.xlsx")


# --- problems --------------------------------------------------------------------------------

@bp.route("/problems")
@allow("admin")
def problem_list():
    return render("admin/problems.html", open_problems=list(problems.open_problems()),
                  resolved=list(problems.recently_resolved()), sources=SOURCE_LABELS)


@bp.route("/problems/<int:problem_id>/resolve", methods=["POST"])
@allow("admin")
def problem_resolve(problem_id):
    problem = Problem.get_or_none(Problem.id == problem_id)
    if problem is None:
        abort(404)
    try:
        problems.resolve(actor(), problem, address=request.remote_addr or "")
        flash(_("The problem is marked resolved. It opens again if it happens again."),
              "success")
    except ValidationError as error:  # resolved meanwhile, e.g. in another tab
        flash(error.translate(_), "error")
    target = url_for("admin.problem_list")
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)
