"""The work log and case files (DOMAIN 五.2): lists with filters, the lawyers' log form, the
coordinators' .xlsx export, a work-log entry's page with its corrections and photos, case
files with their entries, corrections and attachments.

The rules are the core's (``core.worklog``, ``core.cases``, who may correct what and until
when ``core.access``); these views gather input, call them and show the answer. A refusal
comes back as the core's translated message with status 422, next to its field, with what
was typed kept and nothing written; an object outside the user's scope answers 404.
"""
import datetime as dt

from flask import Blueprint, abort, flash, make_response, redirect, request, send_file, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import (DateField, DateTimeLocalField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import InputRequired, Optional

from core import cases as case_service
from core import clock, photos, privacy
from core import worklog as log_service
from core.access import (can_edit_record, is_record_author, is_record_locked,
                         record_edit_until, require_record_edit, village_filter)
from core.config import get_settings
from core.errors import JieduiError, NotFound, PermissionDenied, ValidationError
from core.formkit import DurationField
from core.models import (DUTIES, WORK_MODES, Attachment, CaseFile, Lawyer, Pairing, Village,
                         WorkLog)
from core.tasks import MODE_LABELS
from core.vocabulary import READERS, STAFF
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web import labels
from web.access import actor, allow
from web.listing import paginate, query_number, query_text, search_term
from web.longwork import job_progress, long_export
from web.panels import Panel
from web.programs import xlsx_response
from web.render import attach_error, htmx, render

bp = Blueprint("records", __name__, url_prefix="/records")

EXPORT_HEADERS = {"occurred_at": _l("Date and time"), "lawyer": _l("Lawyer"),
                  "village": _l("Village"), "mode": _l("Mode"), "category": _l("Category"),
                  "duration_minutes": _l("Minutes"), "content": _l("Content"),
                  "result": _l("Result"), "case": _l("Case file")}
CASE_STATUSES = labels.CASE_STATUS_LABELS
DURATION_HINT = _l("Hours (1.5), minutes (90 分钟) or from–to (9:00-10:30)")
# the core names a work-log entry's fields by its arguments, the forms by theirs
FORM_FIELDS = {"duration_minutes": "duration"}


def _modes() -> list[tuple[str, str]]:
    return [(mode, _(MODE_LABELS[mode])) for mode in WORK_MODES]


def _categories() -> list[tuple[str, str]]:
    """The lawyer's ten duties (四.1–10), in the plan's order, numbered as the plan does."""
    return [(duty, f"{number}. {labels.DUTY_LABELS[duty]}")
            for number, duty in enumerate(DUTIES, start=1)]


def _category_labels() -> dict:
    """Each duty's name, and the name of none (未分类)."""
    return {**{duty: str(labels.DUTY_LABELS[duty]) for duty in DUTIES},
            None: str(labels.UNCATEGORISED)}


@bp.app_template_global()
def record_state(record) -> dict:
    """What the pages say of a work-log entry or case file: may the reader correct it, is it
    locked, until when (district time)."""
    user = actor()
    return {"author": is_record_author(user, record),
            "editable": can_edit_record(user, record),
            "locked": is_record_locked(record),
            "until": clock.to_local(record_edit_until(record))}


def _refused_for_the_lock(user, record, form) -> bool:
    """A correction of a locked record is refused for that, whatever was typed (the form
    keeps it); one by someone who is not its author is a 403."""
    try:
        require_record_edit(user, record)
    except ValidationError as locked:
        attach_error(form, locked)
        return True
    return False


def _optional_id(value):
    return int(value) if value not in ("", None) else None


def _local_now() -> dt.datetime:
    """Now on the district's clock, to the minute (a datetime-local field's value)."""
    return clock.to_local(clock.now_utc()).replace(tzinfo=None, second=0, microsecond=0)


def _stored(moment: dt.datetime | None) -> dt.datetime | None:
    """A datetime-local value (district wall clock) as stored (naive UTC)."""
    return clock.utc_from_local(moment.date(), moment.time()) if moment else None


def _renamed(error: JieduiError) -> JieduiError:
    field = getattr(error, "field", None)
    if field in FORM_FIELDS:
        error.field = FORM_FIELDS[field]
    return error


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
    """A service logged by hand: asked once each, with the defaults of where and when the
    form is opened (the lawyer's only village, or the one it was opened for; now)."""
    village = SelectField(_l("Village"), coerce=_optional_id, validators=[
        InputRequired(message=_l("Choose the village served."))])
    occurred_at = DateTimeLocalField(_l("Date and time"),
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     validators=[InputRequired(
                                         message=_l("Give the date and time of the service."))])
    duration = DurationField(_l("Duration"), gettext=_, default=60, description=DURATION_HINT,
                             validators=[InputRequired(
                                 message=_l("Enter how long the service took."))])
    mode = SelectField(_l("Mode"), default="onsite", validators=[InputRequired()])
    category = SelectField(_l("Category"), validators=[InputRequired(
        message=_l("Choose which of the lawyer's duties the service was."))])
    content = TextAreaField(_l("Content"), validators=[
        InputRequired(message=_l("Say what the service was."))])
    result = TextAreaField(_l("Result"), validators=[Optional()])
    case = SelectField(_l("Case file"), coerce=_optional_id, validators=[Optional()])


def _case_choices(user, lawyer_id: int | None, current: int | None = None) -> list:
    """The open case files of the lawyer the user may read (and the entry's own, open or
    not), "none" first."""
    query = case_service.case_visible_to(user).where(
        (CaseFile.status == "open") | (CaseFile.id == (current or 0)))
    if lawyer_id:
        query = query.where(CaseFile.lawyer == lawyer_id)
    return [SelectChoice("", _("None"))] + [
        SelectChoice(c.id, f"{c.number} {c.title}") for c in query]


def _choose_first(choices: list) -> list:
    return [SelectChoice("", _("Choose…"))] + choices


def _log_form(user) -> LogForm:
    form = LogForm()
    villages = list(_own_villages(user))
    form.village.choices = _choose_first([SelectChoice(v.id, v.name) for v in villages])
    form.mode.choices = [SelectChoice(mode, label) for mode, label in _modes()]
    form.category.choices = _choose_first([SelectChoice(duty, label)
                                           for duty, label in _categories()])
    form.case.choices = _case_choices(user, user.lawyer_id)
    if request.method == "GET":
        asked = query_number("village")
        ids = [village.id for village in villages]
        if asked in ids:
            form.village.data = asked
        elif len(ids) == 1:
            form.village.data = ids[0]
        form.occurred_at.data = _local_now()
    return form


def _log_filters() -> dict:
    mode = query_text("mode", 20)
    category = query_text("category", 20)
    return {"lawyer": _number("lawyer"), "village": _number("village"),
            "mode": mode if mode in WORK_MODES else "",
            "category": category if category in (*DUTIES, log_service.UNCATEGORISED) else "",
            "from": _day("from"), "to": _day("to")}


def _filtered_logs(user, filters):
    return log_service.filter_logs(
        log_service.logs_visible_to(user), lawyer_id=filters["lawyer"],
        village_id=filters["village"], mode=filters["mode"] or None,
        category=filters["category"] or None,
        date_from=filters["from"], date_to=filters["to"])


def _log_page(form, status=200):
    user, filters = actor(), _log_filters()
    listing = paginate(_filtered_logs(user, filters))
    villages = [(str(v.id), v.name) for v in Village.select(Village.id, Village.name)
                .where(village_filter(user)).order_by(Village.code)]
    lawyers = []
    if user.role in READERS:  # those paired (now or before) with a village of the scope
        paired = (Pairing.select(Pairing.lawyer).join(Village)
                  .where(village_filter(user)))
        lawyers = [(str(lw.id), lw.name) for lw in Lawyer.select(Lawyer.id, Lawyer.name)
                   .where(Lawyer.id.in_(paired)).order_by(Lawyer.name, Lawyer.id)]
    of_tasks = privacy.log_views(user, listing.items)  # a task's entry as its task is shown
    privacy.audit_views(user, [view for _line, view in of_tasks.values()], via="worklog",
                        address=request.remote_addr or "")
    categories = [*_categories(), (log_service.UNCATEGORISED, str(labels.UNCATEGORISED))]
    masked = {entry_id for entry_id, (_line, view) in of_tasks.items() if view.masked}
    return render("records/log.html", "records/_log_results.html", status=status,
                  listing=listing, filters=filters, form=form,
                  opened=bool(form is not None and (form.errors or form.form_errors
                                                    or request.args.get("log"))),
                  options={"villages": villages, "lawyers": lawyers, "modes": _modes(),
                           "categories": categories},
                  modes=dict(_modes()), categories=_category_labels(),
                  numbers=log_service.case_numbers(listing.items),
                  photo_counts=log_service.photo_counts(
                      [e for e in listing.items if e.id not in masked]),
                  masked=masked,
                  lines={entry_id: line for entry_id, (line, _view) in of_tasks.items()})


@bp.route("/log")
@allow(*READERS, "lawyer")
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
        entry = log_service.log_service(
            user, lawyer=Lawyer.get_by_id(user.lawyer_id),
            village=Village.get_by_id(form.village.data),
            occurred_at=_stored(form.occurred_at.data),
            duration_minutes=form.duration.data, mode=form.mode.data,
            category=form.category.data, content=form.content.data,
            result=form.result.data or "", case=case)
    except JieduiError as error:
        attach_error(form, _renamed(error))
        return _log_page(form, status=422)
    flash(_("The service is logged: add its photos here if you have some."), "success")
    return redirect(url_for("records.log_entry", entry_id=entry.id), code=303)


# --- one entry: its page, corrections and photos ------------------------------------------

class EntryForm(LogForm):
    """A correction of an entry: the fields of ``LogForm`` (the duration without a default);
    an entry a task or a held session wrote has no village or time to change (they are the
    task's or the event's)."""
    duration = DurationField(_l("Duration"), gettext=_, description=DURATION_HINT,
                             validators=[InputRequired(
                                 message=_l("Enter how long the service took."))])


class PhotoForm(FlaskForm):
    file = FileField(_l("Photo"), render_kw={
        "accept": ".jpg,.jpeg,.png,.webp,image/jpeg,image/png,image/webp"})


def _entry(entry_id: int) -> WorkLog:
    """The entry, when ``actor()`` may read it; 404 otherwise."""
    try:
        return log_service.get_entry(actor(), entry_id)
    except NotFound:
        abort(404)


def _entry_form(user, entry: WorkLog, *, bound: bool) -> EntryForm:
    form = EntryForm() if bound else EntryForm(formdata=None)
    fixed = set(log_service.EDITABLE) - set(log_service.editable_fields(entry))
    for name in fixed:
        delattr(form, name)
    if "village" in form:
        paired = (Village.select(Village.id, Village.name, Village.code).join(
            Pairing, on=(Pairing.village == Village.id))  # DISTINCT: PostgreSQL orders by a
            .where(Pairing.lawyer == entry.lawyer_id)      # selected column only
            .distinct().order_by(Village.code))
        form.village.choices = _choose_first([SelectChoice(v.id, v.name) for v in paired])
    form.mode.choices = [SelectChoice(mode, label) for mode, label in _modes()]
    form.category.choices = _choose_first([SelectChoice(duty, label)
                                           for duty, label in _categories()])
    form.case.choices = _case_choices(user, entry.lawyer_id, entry.case_id)
    if not bound:
        for name in form._fields:
            if name in ("csrf_token",):
                continue
            value = {"village": entry.village_id, "case": entry.case_id,
                     "duration": entry.duration_minutes,
                     "occurred_at": clock.to_local(entry.occurred_at).replace(tzinfo=None)
                     }.get(name, getattr(entry, name, None))
            form[name].data = value
    return form


def _entry_panel(entry: WorkLog, *, bound: dict | None = None, status: int = 200,
                 trigger: str | None = None, notice: str | None = None):
    """The entry's page, or for HTMX its panel: what the reader may see of it (an entry of
    a task they see restricted says only the task's type and month, and shows no photo),
    and for its author until it is locked the correction and photo forms."""
    user, bound = actor(), bound or {}
    of_task = privacy.log_views(user, [entry]).get(entry.id)
    line, view = of_task if of_task else (None, None)
    privacy.audit_views(user, [view] if view else [], via="worklog",
                        address=request.remote_addr or "")
    full = view is None or not view.masked
    state = record_state(entry)
    editable = full and state["editable"]
    return render(
        "records/log_entry.html", "records/_log_entry.html", status=status, trigger=trigger,
        entry=entry, line=line, full=full, state=state, notice=notice,
        modes=dict(_modes()), categories=_category_labels(),
        automatic=log_service.is_automatic(entry),
        case_number=log_service.case_numbers([entry]).get(entry.case_id),
        photos=log_service.entry_photos(entry) if full else [],
        max_photos=log_service.MAX_PHOTOS,
        # a refused form is shown again even when it was refused for the lock: it says so
        edit_form=bound.get("edit") or (_entry_form(user, entry, bound=False)
                                        if editable else None),
        photo_form=bound.get("photo") or (PhotoForm(formdata=None, prefix="photo")
                                          if editable else None),
        opened=next(iter(bound), None),
        photo_errors=bound["photos"].form_errors if "photos" in bound else [],
        photo_max_mb=f"{photos.photo_limit() / 1024 / 1024:g}")


LOG_ENTRY = Panel(_entry_panel, redirect_code=303,
                  back=lambda entry: url_for("records.log_entry", entry_id=entry.id),
                  reread=lambda entry: _entry(entry.id), raises=(PermissionDenied, NotFound))


@bp.route("/log/<int:entry_id>")
@allow(*READERS, "lawyer")
def log_entry(entry_id):
    return _entry_panel(_entry(entry_id))


@bp.route("/log/<int:entry_id>", methods=["POST"])
@allow(*STAFF)
def log_edit(entry_id):
    """Correct the entry (its author, until it is locked); every change audited."""
    user = actor()
    entry = _entry(entry_id)
    form = _entry_form(user, entry, bound=True)
    if _refused_for_the_lock(user, entry, form):
        return LOG_ENTRY.refused(entry, "edit", form)

    def change():
        changes = {}
        for name in form._fields:
            if name == "csrf_token":
                continue
            value = form[name].data
            if name == "village":
                value = Village.get_or_none(Village.id == value) if value else None
            elif name == "occurred_at":
                value = _stored(value)
            elif name == "case":
                value = case_service.get_case(user, value) if value else None
            elif name == "result":
                value = value or ""
            changes["duration_minutes" if name == "duration" else name] = value
        try:
            log_service.edit_entry(user, entry, **changes)
        except JieduiError as error:
            raise _renamed(error)
        return _("The entry is saved.")
    return LOG_ENTRY.submit(entry, "edit", form, change)


@bp.route("/log/<int:entry_id>/photos", methods=["POST"])
@allow(*STAFF)
def log_photo_add(entry_id):
    entry = _entry(entry_id)

    def save(stream, form):
        log_service.add_photo(actor(), entry, stream)
        return _("The photo is added.")
    return LOG_ENTRY.submit_file(entry, "photo", PhotoForm, save, limit=photos.photo_limit())


def _photo_response(photo_id: int, *, thumbnail: bool):
    try:
        _photo, path = log_service.photo_for(actor(), photo_id, thumbnail=thumbnail,
                                             address=request.remote_addr or "")
    except NotFound:
        abort(404)  # missing, out of scope and restricted look the same
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/photos/<int:photo_id>")
@allow(*READERS, "lawyer")
def log_photo(photo_id):
    """A photo of a work-log entry, for those who read the entry in full (never public)."""
    return _photo_response(photo_id, thumbnail=False)


@bp.route("/photos/<int:photo_id>/thumb")
@allow(*READERS, "lawyer")
def log_photo_thumb(photo_id):
    return _photo_response(photo_id, thumbnail=True)


@bp.route("/photos/<int:photo_id>/remove", methods=["POST"])
@allow(*STAFF)
def log_photo_remove(photo_id):
    """Take a photo off its entry (asked first, on the page): its author, until locked."""
    photo = log_service.WorkLogPhoto.get_or_none(log_service.WorkLogPhoto.id == photo_id)
    if photo is None:
        abort(404)
    entry = _entry(photo.entry_id)
    try:
        log_service.remove_photo(actor(), photo)
    except PermissionDenied:
        abort(403)
    except JieduiError as error:
        form = FlaskForm(formdata=None)
        form.form_errors.append(error.translate(_))
        return LOG_ENTRY.refused(entry, "photos", form)
    return LOG_ENTRY.changed(entry, _("The photo is removed."))


def _log_export_rows() -> int:
    return _filtered_logs(actor(), _log_filters()).count()


@bp.route("/log.xlsx")
@allow(*READERS)
@long_export(_log_export_rows)
def log_export():
    """The entries the filter matches; more than JIEDUI_EXPORT_JOB_ROWS of them are made
    by a job (web.longwork) and the view answers its page."""
    user = actor()
    body = log_service.export_logs(
        _filtered_logs(user, _log_filters()),
        headers={key: str(text) for key, text in EXPORT_HEADERS.items()},
        mode_labels=dict(_modes()), category_labels=_category_labels(), user=user,
        address=request.remote_addr or "", progress=job_progress())
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
    if request.method == "GET":
        if form.opened_on.data is None:
            form.opened_on.data = clock.today()
        asked = query_number("village")  # opened from a village: that one
        if asked in [choice.value for choice in form.village.choices]:
            form.village.data = asked
    return form


@bp.route("/cases")
@allow(*READERS, "lawyer")
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


class CaseEditForm(FlaskForm):
    """A correction of a case file (its author, until it is locked): what ``CaseForm`` asked,
    but the village and lawyer, which the number and the records hang on."""
    title = StringField(_l("Title"), validators=[
        InputRequired(message=_l("Give the case a title."))])
    category = StringField(_l("Category"), validators=[Optional()])
    opened_on = DateField(_l("Opened on"), validators=[
        InputRequired(message=_l("Give the date the case was opened."))])
    summary = TextAreaField(_l("Summary"), validators=[Optional()])


def _case_edit_form(case, *, bound: bool) -> CaseEditForm:
    if bound:
        return CaseEditForm(prefix="edit")
    return CaseEditForm(formdata=None, prefix="edit", title=case.title, category=case.category,
                        opened_on=case.opened_on, summary=case.summary)


def _case_panel(case, *, bound: dict | None = None, status: int = 200,
                trigger: str | None = None, notice: str | None = None):
    """The case file's page, or for HTMX its facts with the correction form."""
    bound = bound or {}
    edit_form = bound.get("edit") or (_case_edit_form(case, bound=False)
                                      if can_edit_record(actor(), case) else None)
    return _case_page(case, status=status, fragment="records/_case_facts.html",
                      edit_form=edit_form, notice=notice, trigger=trigger,
                      opened=next(iter(bound), None))


CASE = Panel(_case_panel, redirect_code=303,
             back=lambda case: url_for("records.case_detail", case_id=case.id),
             reread=lambda case: case_service.get_case(actor(), case.id),
             raises=(PermissionDenied, NotFound))


def _case_page(case, *, error="", status=200, close_form=None, fragment=None, edit_form=None,
               notice=None, trigger=None, opened=None):
    """The case file's page; ``fragment`` (for HTMX) answers with that part of it only."""
    if edit_form is None and can_edit_record(actor(), case):
        edit_form = _case_edit_form(case, bound=False)
    return render("records/case_detail.html", fragment, case=case, status=status,
                  trigger=trigger, edit_form=edit_form, notice=notice, opened=opened,
                  close_form=close_form or _close_form(case),
                  entries=list(case_service.case_logs(case)),
                  attachments=list(case.attachments.order_by(Attachment.uploaded_at)),
                  error=error, modes=dict(_modes()),
                  status_labels=CASE_STATUSES, max_mb=get_settings().max_upload_bytes // (1024 * 1024))


@bp.route("/cases/<int:case_id>")
@allow(*READERS, "lawyer")
def case_detail(case_id):
    return _case_page(case_service.view_case(actor(), case_id,
                                             address=request.remote_addr or ""))


@bp.route("/cases/<int:case_id>/edit", methods=["POST"])
@allow(*STAFF)
def case_edit(case_id):
    """Correct the case file (its author, until it is locked); every change audited."""
    user = actor()
    case = case_service.get_case(user, case_id)
    form = _case_edit_form(case, bound=True)
    if _refused_for_the_lock(user, case, form):
        return CASE.refused(case, "edit", form)

    def change():
        case_service.edit_case(user, case, title=form.title.data,
                               category=form.category.data or "",
                               opened_on=form.opened_on.data, summary=form.summary.data or "")
        return _("Case file %(number)s is saved.", number=case.number)
    return CASE.submit(case, "edit", form, change)


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
@allow(*READERS, "lawyer")
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
