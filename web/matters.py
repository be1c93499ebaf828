"""Major-matter reports and the inbox.

- ``/matters/``: the reports of the user's scope (lawyers: their own; coordinators: those
  of their villages); ``/matters/new``: a lawyer reports one (prefilled from a work-log
  entry or a task with ``?work_log=<id>`` / ``?task=<id>``); ``/matters/<id>``: a report
  with the acknowledge, note and close forms for the coordinators in scope.
- ``/inbox``: the user's notifications, marked read one by one or all together;
  ``/inbox/badge``: the unread count, polled by the nav (base.html).

The rules are the core's (``core.matters``, ``core.notify``); a refusal comes back as
the core's message with status 422, nothing written. A report outside the user's scope
answers 404.
"""
import datetime as dt

from flask import Blueprint, abort, redirect, request, url_for

from core import clock
from core import matters as service
from core.access import can_handle_matter, village_filter
from core.errors import JieduiError, NotFound, PermissionDenied, ValidationError
from core.models import (MATTER_CATEGORIES, MATTER_STATUSES, MajorMatter, Notification, Task,
                         Village, WorkLog)
from core.notify import NOTICE_KINDS
from core.notify import inbox as inbox_of
from core.notify import mark_read, unread_count
from core.vocabulary import MANAGERS, READERS, ROLES
from web.i18n import gettext as _
from web.access import actor, allow
from web.auth import background
from web.listing import paginate, query_text, whole_number
from web.render import render

bp = Blueprint("matters", __name__)

CHANGED = "matterChanged"


@bp.app_template_global()
def matter_labels():
    return {"category": {key: _(msgid) for key, msgid in service.CATEGORY_LABELS.items()},
            "status": {key: _(msgid) for key, msgid in service.STATUS_LABELS.items()}}


@bp.app_template_global()
def notice_kind_label(kind: str) -> str:
    """A notice's kind in the reader's language (core.notify.NOTICE_KINDS); "" if unknown."""
    return _(NOTICE_KINDS[kind]) if kind in NOTICE_KINDS else ""


def _matter_or_404(matter_id: int, *, read: bool = False) -> MajorMatter:
    """The matter, or 404; ``read``: a view of its page, audited (``matter.view``)."""
    try:
        if read:
            return service.view_matter(actor(), matter_id, address=request.remote_addr or "")
        return service.get_matter(actor(), matter_id)
    except NotFound:
        abort(404)


# --- the list ----------------------------------------------------------------------------

@bp.route("/matters/")
@allow(*READERS, "lawyer")
def index():
    status = query_text("status", 20)
    overdue = request.args.get("overdue") == "1"  # waiting past the time to acknowledge
    query = service.matters_visible_to(actor())
    if status:  # an unknown status matches nothing
        query = query.where(MajorMatter.status == status)
    if overdue:
        query = query.where(service.overdue_filter())
    page = paginate(query.order_by(MajorMatter.status == "closed",
                                   MajorMatter.reported_at.desc(), MajorMatter.id.desc()))
    service.audit_list(actor(), page.items, address=request.remote_addr or "")
    return render("matters/index.html", "matters/_results.html", listing=page, status_filter=status,
                  overdue=overdue, statuses=MATTER_STATUSES)


# --- reporting ---------------------------------------------------------------------------

def _own(model, raw):
    """The work-log entry or task of the given id if it is the lawyer's; else None."""
    row_id = whole_number(raw)
    if row_id is None:
        return None
    row = model.get_or_none(model.id == row_id)
    owner = row and (row.lawyer_id if model is WorkLog else row.assignee_id)
    return row if row is not None and owner == actor().lawyer_id else None


def _occurred_at(text: str) -> dt.datetime | None:
    """A ``datetime-local`` value, on the district's clock, as stored (UTC)."""
    try:
        local = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return clock.utc_from_local(local.date(), local.time())


def _new_form(values: dict, error: JieduiError | None = None, status: int = 200):
    villages = list(Village.select().where(village_filter(actor())).order_by(Village.code))
    return render("matters/new.html", "matters/_new_form.html", values=values, status=status,
                  villages=villages, categories=MATTER_CATEGORIES,
                  error=error.translate(_) if error else "",
                  error_field=getattr(error, "field", None))


@bp.route("/matters/new", methods=["GET", "POST"])
@allow("lawyer")
def new():
    if request.method == "GET":
        work_log = _own(WorkLog, request.args.get("work_log"))
        task = _own(Task, request.args.get("task"))
        source = work_log or task
        village = source.village_id if source is not None else None
        return _new_form({
            "work_log": work_log.id if work_log else "", "task": task.id if task else "",
            "village": village or "",
            "title": (task.title if task else "") or "",
            "description": (work_log.content if work_log else "") or "",
            "occurred_at": clock.to_local(work_log.occurred_at if work_log else
                                          clock.now_utc()).strftime("%Y-%m-%dT%H:%M")})
    form = request.form
    values = {name: form.get(name, "") for name in
              ("category", "title", "description", "occurred_at", "village", "work_log", "task")}
    village_id = whole_number(values["village"])
    village = Village.get_or_none(Village.id == village_id) if village_id else None
    try:
        matter = service.report_matter(
            actor(), category=values["category"], title=values["title"],
            description=values["description"], occurred_at=_occurred_at(values["occurred_at"]),
            village=village, work_log=_own(WorkLog, values["work_log"]),
            task=_own(Task, values["task"]))
    except ValidationError as error:
        return _new_form(values, error, status=422)
    return redirect(url_for("matters.detail", matter_id=matter.id), code=303)


# --- one report and its handling ------------------------------------------------------------

def _detail(matter: MajorMatter, error: str = "", status: int = 200, trigger=None):
    notes = list(matter.notes.order_by(service.MatterNote.at, service.MatterNote.id))
    return render("matters/detail.html", "matters/_panel.html", matter=matter, notes=notes,
                  can_handle=can_handle_matter(actor(), matter), error=error,
                  status=status, trigger=trigger)


@bp.route("/matters/<int:matter_id>")
@allow(*READERS, "lawyer")
def detail(matter_id):
    return _detail(_matter_or_404(matter_id, read=True))


def _handle(matter_id: int, action):
    matter = _matter_or_404(matter_id)
    try:
        action(matter)
    except PermissionDenied:
        abort(403)
    except ValidationError as error:
        return _detail(matter, error.translate(_), status=422)
    return _detail(service.get_matter(actor(), matter_id), trigger=CHANGED)


@bp.route("/matters/<int:matter_id>/acknowledge", methods=["POST"])
@allow(*MANAGERS)
def acknowledge(matter_id):
    return _handle(matter_id, lambda m: service.acknowledge(actor(), m))


@bp.route("/matters/<int:matter_id>/notes", methods=["POST"])
@allow(*MANAGERS)
def add_note(matter_id):
    return _handle(matter_id, lambda m: service.add_note(actor(), m, request.form.get("text")))


@bp.route("/matters/<int:matter_id>/close", methods=["POST"])
@allow(*MANAGERS)
def close(matter_id):
    return _handle(matter_id, lambda m: service.close_matter(actor(), m,
                                                             request.form.get("resolution")))


# --- the inbox ---------------------------------------------------------------------------

@bp.route("/inbox")
@allow(*ROLES)
def inbox():
    page = paginate(inbox_of(actor()))
    return render("matters/inbox.html", "matters/_inbox.html", listing=page,
                  unread=unread_count(actor()))


@bp.route("/inbox/<int:notification_id>/read", methods=["POST"])
@allow(*ROLES)
def read(notification_id):
    """Mark read and open what it is about (a link of our own only)."""
    notification = Notification.get_or_none((Notification.id == notification_id)
                                            & (Notification.user == actor().id))
    if notification is None:
        abort(404)
    mark_read(actor(), notification_id)
    target = notification.link if notification.link.startswith("/") \
        and not notification.link.startswith("//") else url_for("matters.inbox")
    return redirect(target, code=303)


@bp.route("/inbox/read-all", methods=["POST"])
@allow(*ROLES)
def read_all():
    mark_read(actor())
    return redirect(url_for("matters.inbox"), code=303)


@bp.route("/inbox/badge")
@allow(*ROLES)
@background  # polled every 30 s: an open page alone does not keep the session alive
def badge():
    return render("matters/_badge.html", "matters/_badge.html", unread=unread_count(actor()))
