"""The work log and case files (DOMAIN 五.2): lists with filters, the lawyers' log form, the
coordinators' .xlsx export, case files with their entries and attachments.

The rules are the core's (``core.worklog``, ``core.cases``); these views gather input,
call them and show the answer. A refusal comes back as the core's translated message with
status 422 and nothing written; an object outside the user's scope answers 404.
"""
import datetime as dt

from flask import Blueprint, abort, flash, make_response, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import (DateField, DateTimeLocalField, IntegerField, SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import InputRequired, Optional

from core import cases as case_service
from core import clock, privacy
from core import worklog as log_service
from core.access import village_filter
from core.config import get_settings
from core.errors import JieduiError, NotFound
from core.models import WORK_MODES, Attachment, CaseFile, Lawyer, Pairing, Village
from core.tasks import MODE_LABELS
from core.vocabulary import MANAGERS, STAFF
from web import labels
from web.access import actor, allow
from web.listing import paginate, query_number, query_text, search_term
from web.programs import xlsx_response
from web.render import attach_error, htmx, render

bp = Blueprint("records", __name__, url_prefix="/records")

EXPORT_HEADERS = {"occurred_at": _l("Date and time"), "lawyer": _l("Lawyer"),
                  "village": _l("Village"), "mode": _l("Mode"),
                  "duration_minutes": _l("Minutes"), "content": _l("Content"),
                  "result": _l("Result"), "case": _l("Case file")}
CASE_STATUSES = labels.CASE_STATUS_LABELS


def _modes() -> list[tuple[str, str]]:
    return [(mode, _(MODE_LABELS[mode])) for mode in WORK_MODES]


def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(query_text(name, 10))
    except ValueError:
        return None


def _number(name: str) -> int | None:
    return query_number(name)


def _own_villages(user):
    """Villages where the user's work is logged: a lawyer's paired villages; a manager's
    villages that have a lawyer."""
    query = (Village.select(Village, Pairing, Lawyer)
             .join(Pairing, on=(Pairing.village == Village.id) & (Pairing.status == "active"))
             .join(Lawyer).where(village_filter(user)))
    if user.role == "lawyer":
        query = query.where(Pairing.lawyer == user.lawyer_id)
    return query.order_by(Village.code)


# --- the work log --------------------------------------------------------------------------

class LogForm(FlaskForm):
    village = SelectField(_l("Village"), coerce=int, validators=[InputRequired()])
    occurred_at = DateTimeLocalField(_l("Date and time"), format="%Y-%m-%dT%H:%M",
                                     validators=[InputRequired()])
    duration_minutes = IntegerField(_l("Minutes"), default=60, validators=[InputRequired()])
    mode = SelectField(_l("Mode"), validators=[InputRequired()])
    content = TextAreaField(_l("Content"))
    result = TextAreaField(_l("Result"), validators=[Optional()])
    case = SelectField(_l("Case file"), coerce=lambda v: int(v) if v not in ("", None) else None,
                       validators=[Optional()])


def _log_form(user) -> LogForm:
    form = LogForm()
    form.village.choices = [SelectChoice(v.id, v.name) for v in _own_villages(user)]
    form.mode.choices = [SelectChoice(mode, label) for mode, label in _modes()]
    open_cases = (case_service.case_visible_to(user).where(CaseFile.status == "open"))
    form.case.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(c.id, f"{c.number} {c.title}") for c in open_cases]
    return form


def _log_filters() -> dict:
    mode = query_text("mode", 20)
    return {"lawyer": _number("lawyer"), "village": _number("village"),
            "mode": mode if mode in WORK_MODES else "", "from": _day("from"), "to": _day("to")}


def _filtered_logs(user, filters):
    return log_service.filter_logs(
        log_service.logs_visible_to(user), lawyer_id=filters["lawyer"],
        village_id=filters["village"], mode=filters["mode"] or None,
        date_from=filters["from"], date_to=filters["to"])


def _log_page(form, status=200):
    user, filters = actor(), _log_filters()
    listing = paginate(_filtered_logs(user, filters))
    villages = [(str(v.id), v.name) for v in Village.select(Village.id, Village.name)
                .where(village_filter(user)).order_by(Village.code)]
    lawyers = []
    if user.role in MANAGERS:  # those paired (now or before) with a village of the scope
        paired = (Pairing.select(Pairing.lawyer).join(Village)
                  .where(village_filter(user)))
        lawyers = [(str(lw.id), lw.name) for lw in Lawyer.select(Lawyer.id, Lawyer.name)
                   .where(Lawyer.id.in_(paired)).order_by(Lawyer.name, Lawyer.id)]
    of_tasks = privacy.log_views(user, listing.items)  # a task's entry as its task is shown
    privacy.audit_views(user, [view for _line, view in of_tasks.values()], via="worklog",
                        address=request.remote_addr or "")
    return render("records/log.html", "records/_log_results.html", status=status,
                  listing=listing, filters=filters, form=form,
                  options={"villages": villages, "lawyers": lawyers, "modes": _modes()},
                  modes=dict(_modes()), numbers=log_service.case_numbers(listing.items),
                  lines={entry_id: line for entry_id, (line, _view) in of_tasks.items()})


@bp.route("/log")
@allow(*STAFF)
def log():
    user = actor()
    return _log_page(_log_form(user) if user.role == "lawyer" else None)


@bp.route("/log", methods=["POST"])
@allow("lawyer")
def log_new():
    user = actor()
    form = _log_form(user)
    if not form.validate():
        return _log_page(form, status=422)
    try:
        case = (case_service.get_case(user, form.case.data) if form.case.data else None)
        log_service.log_service(
            user, lawyer=Lawyer.get_by_id(user.lawyer_id),
            village=Village.get_by_id(form.village.data),
            occurred_at=clock.utc_from_local(form.occurred_at.data.date(),
                                             form.occurred_at.data.time()),
            duration_minutes=form.duration_minutes.data, mode=form.mode.data,
            content=form.content.data, result=form.result.data or "", case=case)
    except JieduiError as error:
        attach_error(form, error)
        return _log_page(form, status=422)
    flash(_("The service is logged."), "success")
    return redirect(url_for("records.log"), code=303)


@bp.route("/log.xlsx")
@allow(*MANAGERS)
def log_export():
    user = actor()
    body = log_service.export_logs(
        _filtered_logs(user, _log_filters()),
        headers={key: str(text) for key, text in EXPORT_HEADERS.items()},
        mode_labels=dict(_modes()), user=user, address=request.remote_addr or "")
    today = clock.today().isoformat()
    return xlsx_response(body, f"工作日志-{today}.xlsx", f"worklog-{today}.xlsx")


# --- case files ----------------------------------------------------------------------------

class CaseForm(FlaskForm):
    village = SelectField(_l("Village"), coerce=int, validators=[InputRequired()])
    title = StringField(_l("Title"))
    category = StringField(_l("Category"), validators=[Optional()])
    opened_on = DateField(_l("Opened on"), validators=[InputRequired()])
    summary = TextAreaField(_l("Summary"), validators=[Optional()])


class CloseCaseForm(FlaskForm):
    """The closing date: today unless given (the core refuses one before the opening date
    or in the future)."""
    closed_on = DateField(_l("Closed on"), validators=[Optional()])


def _close_form(case) -> CloseCaseForm:
    """The close form as posted, or with today's date; the browser's date picker offers
    only the days the core accepts."""
    form = CloseCaseForm()
    if form.closed_on.data is None and not form.closed_on.raw_data:
        form.closed_on.data = clock.today()
    form.closed_on.render_kw = {"min": case.opened_on.isoformat(),
                                "max": clock.today().isoformat()}
    return form


def _case_form(user) -> CaseForm:
    form = CaseForm()
    form.village.choices = [SelectChoice(v.id, f"{v.name} · {v.pairing.lawyer.name}")
                            for v in _own_villages(user)]
    if form.opened_on.data is None and request.method == "GET":
        form.opened_on.data = clock.today()
    return form


@bp.route("/cases")
@allow(*STAFF)
def cases():
    user, term = actor(), search_term()
    status = query_text("status", 10)
    query = case_service.case_visible_to(user)
    if status in CASE_STATUSES:
        query = query.where(CaseFile.status == status)
    if term:
        query = query.where(CaseFile.number.contains(term) | CaseFile.title.contains(term)
                            | Village.name.contains(term) | Lawyer.name.contains(term))
    listing = paginate(query)
    case_service.audit_list(user, listing.items, address=request.remote_addr or "")
    return render("records/cases.html", "records/_case_results.html", listing=listing,
                  chosen=status if status in CASE_STATUSES else "",
                  statuses=[(key, str(text)) for key, text in CASE_STATUSES.items()],
                  status_labels=CASE_STATUSES)


@bp.route("/cases/new", methods=["GET", "POST"])
@allow(*STAFF)
def case_new():
    user = actor()
    form = _case_form(user)
    if request.method == "GET":
        return render("records/case_new.html", form=form)
    if not form.validate():
        return render("records/case_new.html", form=form, status=422)
    village = Village.get_or_none(Village.id == form.village.data)
    pairing = Pairing.get_or_none((Pairing.village == form.village.data)
                                  & (Pairing.status == "active"))
    try:
        if pairing is None:
            raise NotFound(case_service.NOT_FOUND)
        case = case_service.open_case(user, title=form.title.data, lawyer=pairing.lawyer,
                                      village=village, category=form.category.data or "",
                                      opened_on=form.opened_on.data,
                                      summary=form.summary.data or "")
    except JieduiError as error:
        attach_error(form, error)
        return render("records/case_new.html", form=form, status=422)
    flash(_("Case file %(number)s is opened.", number=case.number), "success")
    return redirect(url_for("records.case_detail", case_id=case.id), code=303)


def _case_page(case, *, error="", status=200, close_form=None, fragment=None):
    """The case file's page; ``fragment`` (for HTMX) answers with that part of it only."""
    return render("records/case_detail.html", fragment, case=case, status=status,
                  close_form=close_form or _close_form(case),
                  entries=list(case_service.case_logs(case)),
                  attachments=list(case.attachments.order_by(Attachment.uploaded_at)),
                  error=error, modes=dict(_modes()),
                  status_labels=CASE_STATUSES, max_mb=get_settings().max_upload_bytes // (1024 * 1024))


@bp.route("/cases/<int:case_id>")
@allow(*STAFF)
def case_detail(case_id):
    return _case_page(case_service.view_case(actor(), case_id,
                                             address=request.remote_addr or ""))


@bp.route("/cases/<int:case_id>/attachments", methods=["POST"])
@allow(*STAFF)
def case_upload(case_id):
    user = actor()
    case = case_service.get_case(user, case_id)
    limit = get_settings().max_upload_bytes
    # refuse a body far over the limit before reading it; the core checks the file itself
    request.max_content_length = limit + 1024 * 1024
    try:
        case_service.require_upload_size(request.content_length or 0,
                                         limit + 1024 * 1024)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return _case_page(case, error=_("Choose a file to upload."), status=422)
        case_service.attach_file(user, case, upload.filename, upload.stream)
    except RequestEntityTooLarge:
        return _case_page(case, status=422, error=_(
            "The file is larger than %(max)s MB.", max=f"{limit / 1024 / 1024:g}"))
    except JieduiError as error:
        return _case_page(case, error=error.translate(_), status=422)
    flash(_("The file is attached."), "success")
    return redirect(url_for("records.case_detail", case_id=case.id), code=303)


@bp.route("/cases/<int:case_id>/close", methods=["POST"])
@allow(*STAFF)
def case_close(case_id):
    """Close the case file on the date given (today when none). A refused date comes back
    next to its field, as it was typed; HTMX swaps in the close form alone."""
    user = actor()
    case = case_service.get_case(user, case_id)
    form = _close_form(case)
    if form.validate():
        try:
            case_service.close_case(user, case, closed_on=form.closed_on.data)
        except JieduiError as error:
            attach_error(form, error)
        else:
            flash(_("Case file %(number)s is closed.", number=case.number), "success")
            target = url_for("records.case_detail", case_id=case.id)
            if htmx:
                response = make_response("", 200)
                response.headers["HX-Redirect"] = target
                return response
            return redirect(target, code=303)
    return _case_page(case, close_form=form, status=422, fragment="records/_case_close.html")


@bp.route("/attachments/<int:attachment_id>")
@allow(*STAFF)
def attachment_download(attachment_id):
    attachment = Attachment.get_or_none(Attachment.id == attachment_id)
    if attachment is None:
        abort(404)
    path, mime, filename = case_service.open_attachment(actor(), attachment,
                                                        address=request.remote_addr or "")
    # the type alone: werkzeug adds "; charset=utf-8" to text (older rows stored it already)
    response = send_file(path, mimetype=mime.split(";")[0].strip(), as_attachment=True,
                         download_name=filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
