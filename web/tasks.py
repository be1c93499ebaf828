"""Programme tasks: the coordinators' list and assignment, a task's page with its actions,
the lawyers' "my tasks" and the completion form.

Every rule is the core's (``core.tasks``); these views only gather input, call it and show
what it answers. A refusal comes back as the core's translated message with status 422
and nothing written.

Who sees what: coordinators and administrators the tasks of their scope; lawyers their own
tasks (``/tasks/mine``, and the list); village users the tasks of their village, read-only
(the list and a task's page). Each task is shown as ``core.privacy`` lets the reader see
it (``TaskView``: the fields, the title and the times they may know), and every view is
audited there. A task outside the user's scope answers 404.
"""
import datetime as dt

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_babel import get_locale
from flask_wtf import FlaskForm
from peewee import JOIN, Case
from wtforms import (BooleanField, DateField, DateTimeLocalField, Form, FormField,
                     RadioField, SelectChoice, SelectField, SelectMultipleField,
                     StringField, TextAreaField, TimeField)
from wtforms.validators import (DataRequired, InputRequired, Length, Optional,
                                StopValidation)

from core import audit, clock, privacy
from core import tasks as service
from core.access import is_district_manager, town_filter, village_filter
from core.errors import JieduiError, NotFound, ValidationError
from core.events import session_times
from core.home import week_visits
from core.formkit import DurationField
from core.i18n import N_
from core.localize import localized_registry, name_of
from core.models import (TASK_STATUSES, WORK_MODES, Event, LawFirm, Lawyer, Task, Town,
                         User, Village, WorkLog)
from core.plugins import get_registry
from core.privacy import MASK
from core.vocabulary import DUTIES, MANAGERS, READERS, ROLES, STAFF
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.labels import DUTY_LABELS
from web.labels import HALF_DAY_LABELS as HALF_DAYS
from web.access import actor, allow
from web.exports import counted, list_export
from web.listing import (Sorting, list_args, paginate, query_text, search_term,
                         town_choices, town_matching, whole_number)
from web.longwork import long_export
from web.panels import Panel
from web.render import attach_error, back_to, htmx, render

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

CHANGED = "taskChanged"

TARGETS = {"village": _l("One village"),
           "town": _l("Every paired village of a town"),
           "district": _l("Every paired village of the district")}
HISTORY_LABELS = {"task.assign": _l("Assigned"), "task.reassign": _l("Given to another lawyer"),
                  "task.start": _l("Started"), "task.schedule": _l("Scheduled"),
                  "task.complete": _l("Completed"), "task.reopen": _l("Reopened"),
                  "task.cancel": _l("Cancelled"),
                  "task.view_sensitive": _l("Sensitive fields read"),
                  "task.view_masked": _l("Read without the sensitive fields")}


# --- names of plugin things, in the reader's language (core.localize; a task may outlive
# its plugin: then its slug shows) -------------------------------------------------------

def program_name(slug: str) -> str:
    return name_of("programme", slug, _locale())


def task_type_name(slug: str) -> str:
    return name_of("task type", slug, _locale())


def _translated(labels: dict) -> dict:
    return {key: _(msgid) for key, msgid in labels.items()}


@bp.app_template_global()
def task_labels():
    """What templates need to name a task's programme, type, status, level, mode and
    history entries (the core's msgids, translated)."""
    return {"program": program_name, "task_type": task_type_name,
            "status": _translated(service.STATUS_LABELS),
            "mode": _translated(service.MODE_LABELS), "level": _translated(service.LEVEL_LABELS),
            "history": HISTORY_LABELS}


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _programs():
    """The programmes, named in the reader's language, in their order."""
    return sorted(localized_registry(_locale()).programs.values(),
                  key=lambda p: (p.order, p.slug))


def _task_types_of(program_slug: str):
    """The programme's task types, named in the reader's language."""
    return [t for t in localized_registry(_locale()).task_types.values()
            if t.program == program_slug]


bp.add_app_template_filter(clock.to_local, "local_time")


@bp.app_template_filter("shown_time")
def shown_time(value, with_time: bool = True) -> str:
    """A time as ``core.privacy.TaskView.time`` gives it: a district date or datetime, or
    only its month (text, shown as it is)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- the generic form renderer's helper -------------------------------------------------

@bp.app_template_global()
def field_kind(field) -> str:
    """How web/templates/tasks/_form.html draws a WTForms field (by class, so a plugin's
    subclass of SelectMultipleField still gets checkboxes)."""
    kinds = ((FormField, "form"), (SelectMultipleField, "multi"), (RadioField, "radio"),
             (BooleanField, "bool"), (SelectField, "select"), (TextAreaField, "textarea"))
    if field.type in ("HiddenField", "CSRFTokenField"):
        return "hidden"
    if field.type == "FieldList":
        return "list"
    return next((kind for cls, kind in kinds if isinstance(field, cls)), "input")


def attach_errors(form: Form, errors: dict) -> list[str]:
    """Put the core's messages (field -> messages, as WTForms gives them) next to their
    fields, into sub-forms too; what names no field is returned, to show above the form."""
    loose = []
    for name, messages in (errors or {}).items():
        field = form._fields.get(name) if name else None
        if isinstance(messages, dict) and field is not None and hasattr(field, "form"):
            loose += attach_errors(field.form, messages)  # a FormField
        elif field is not None and field.type not in ("FormField", "FieldList"):
            field.errors = [*field.errors, *_messages(messages)]
        else:
            loose += _messages(messages)
    return loose


def _messages(messages) -> list[str]:
    """Every message in a WTForms error structure (a text, or lists and dicts of them)."""
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _messages(value)]
    if isinstance(messages, (list, tuple)):
        return [text for value in messages for text in _messages(value)]
    return [str(messages)]


# --- the list ----------------------------------------------------------------------------

def _filters() -> dict:
    return {"program": query_text("program"), "town": query_text("town"),
            "village": query_text("village"), "status": query_text("status", 20),
            "lawyer": query_text("lawyer"),
            "overdue": request.args.get("overdue") == "1"}


def _filtered(user: User, filters: dict, term: str):
    """The tasks of the user's scope matching the filters, with village, town and lawyer
    joined (``core.tasks.list_tasks``): one query for the page. Task.town is set for
    village tasks too, so the town filter reads it. An unknown code or status matches
    nothing; it is not ignored."""
    status = filters["status"]
    lawyer = filters["lawyer"]
    lawyer_id = whole_number(lawyer) if lawyer.isdigit() else None
    query = service.list_tasks(user, program=filters["program"] or None, lawyer=lawyer_id,
                               status=status if status in TASK_STATUSES else None)
    if lawyer and lawyer_id is None:  # typed in the filter: the lawyer's name
        query = query.where(Lawyer.name == lawyer)
    if status and status not in TASK_STATUSES:
        query = query.where(Task.id.is_null())
    if filters["town"]:
        query = query.where(town_matching(filters["town"]))
    if filters["village"]:  # a code (a link, a suggestion) or the name typed in the filter
        query = query.where((Village.code == filters["village"])
                            | (Village.name == filters["village"]))
    if filters["overdue"]:
        query = query.where(service.overdue_filter())
    if term:
        # a title the user may not see is not searched either (it would answer "is there
        # a task titled 王…?")
        titles = Task.title.contains(term)
        full = privacy.full_view_filter(user)
        if full is not True:
            titles = titles & full if full is not False else Task.id.is_null()
        query = query.where(titles | Village.name.contains(term) | Lawyer.name.contains(term))
    return query


def _filter_options(user: User, filters: dict) -> dict:
    """The choices of the filter selects, limited to the user's scope. Villages and lawyers
    are typed (a province has thousands), towns too beyond ``TOWN_SELECT_MAX``: ``suggest``
    offers the matching ones as they are typed; a lawyer chosen by a link (``lawyer=<id>``)
    is shown by name."""
    towns = town_choices(user)
    many_villages = (Village.select(Village.id).where(village_filter(user)).limit(2).count()
                     > 1)
    lawyer = filters["lawyer"]
    if lawyer.isdigit():
        found = Lawyer.get_or_none(Lawyer.id == (whole_number(lawyer) or 0))
        lawyer = found.name if found else lawyer
    statuses = task_labels()["status"]
    return {"programs": [(p.slug, p.name) for p in _programs()], "towns": towns,
            "villages": many_villages, "lawyers": user.role in READERS, "lawyer": lawyer,
            "statuses": [(s, statuses[s]) for s in TASK_STATUSES]}


SUGGESTED = 20  # villages, towns or lawyers a filter suggests as one types


@bp.route("/suggest/villages")
@allow(*ROLES)
def suggest_villages():
    """The villages of the reader's scope whose name or code holds what is typed in the
    task filter's village field: ``<option>``s of its datalist."""
    term = query_text("village")
    found = []
    if term:
        query = (Village.select(Village.code, Village.name, Town.name.alias("town_name"))
                 .join(Town).where(Village.name.contains(term) | Village.code.startswith(term)))
        scope = village_filter(actor())
        if scope is not False:
            found = list((query if scope is True else query.where(scope))
                         .order_by(Village.code).limit(SUGGESTED).objects())
    return render("tasks/_suggestions.html", options=[(v.code, f"{v.name} · {v.town_name}")
                                                      for v in found])


@bp.route("/suggest/towns")
@allow(*ROLES)
def suggest_towns():
    """The towns of the reader's scope whose name or code holds what is typed in a list's
    town field: ``<option>``s of its datalist."""
    term = query_text("town")
    found = []
    if term:
        found = list(Town.select(Town.code, Town.name)
                     .where(town_filter(actor())
                            & (Town.name.contains(term) | Town.code.startswith(term)))
                     .order_by(Town.code).limit(SUGGESTED).tuples())
    return render("tasks/_suggestions.html", options=found)


@bp.route("/suggest/lawyers")
@allow(*READERS)
def suggest_lawyers():
    """The active lawyers whose name holds what is typed in the task filter's lawyer
    field: ``<option>``s of its datalist (the name, with the firm)."""
    term = query_text("lawyer")
    found = []
    if term and not term.isdigit():
        found = list(Lawyer.select(Lawyer.name, LawFirm.name.alias("firm_name"))
                     .join(LawFirm, JOIN.LEFT_OUTER)
                     .where(Lawyer.active & Lawyer.name.contains(term))
                     .order_by(Lawyer.name).limit(SUGGESTED).objects())
    return render("tasks/_suggestions.html",
                  options=[(lawyer.name, lawyer.firm_name or "") for lawyer in found])


# the keys of the column headers (web.listing.Sorting). Not the title: a title the reader
# may not see must not place its task either. Statuses in their working order.
SORTING = Sorting({"due": Task.due_on,
                   "status": Case(Task.status, [(status, index) for index, status
                                                in enumerate(TASK_STATUSES)], len(TASK_STATUSES)),
                   "town": Town.name, "village": Village.name, "lawyer": Lawyer.name},
                  tiebreak=service.SOONEST_DUE)


def _listed(user: User, filters: dict):
    """The tasks the list shows, in its order: the URL's, or what is still to do first,
    soonest due first, then the rest — the page and its export."""
    return SORTING.order(_filtered(user, filters, search_term()), SORTING.requested(),
                         *service.LIST_ORDER)


def _rows_of_page(page_query) -> list[Task]:
    """The tasks of a page of the list: the page's ids first (the database sorts ids and
    the order's keys only, not every matching task with its data: a filter its index
    cannot order, "only overdue" at province, matches 200,000), then their rows."""
    ids = [task.id for task in page_query.select(Task.id)]
    rows = {task.id: task for task in service.with_related(Task.select().where(Task.id.in_(ids)))}
    return [rows[task_id] for task_id in ids]


# how far the list counts its tasks: beyond, it says "more than 10000 tasks" (a district
# coordinator's province holds a million; counting them all cost more than the page)
COUNTED = 10_000


@bp.route("/")
@allow(*ROLES)
def index():
    user, filters = actor(), _filters()
    page = paginate(_listed(user, filters), sort=SORTING.requested(), count_up_to=COUNTED,
                    rows_of=_rows_of_page,
                    filters={**filters, "overdue": "1" if filters["overdue"] else None})
    views = {task.id: privacy.task_view(user, task) for task in page.items}
    privacy.audit_views(user, views.values(), via="list", address=request.remote_addr or "")
    return render("tasks/index.html", "tasks/_results.html", listing=page, filters=filters,
                  options=_filter_options(user, filters), today=clock.today(),
                  is_overdue=service.is_overdue, views=views)


EXPORT_HEADERS = (_l("Task"), _l("Task type"), _l("Programme"), _l("Village"), _l("Town"),
                  _l("Lawyer"), _l("Due"), _l("Status"), _l("Overdue"))


@bp.route("/export.xlsx")
@allow(*ROLES)
@long_export(counted(_listed, _filters))
def export():
    """The tasks as the list shows them (every page), as .xlsx: each as the reader may see
    it (``core.privacy``: the title and the due date they may know), the restricted ones
    audited as the list's are."""
    user, today, filters = actor(), clock.today(), _filters()
    labels = task_labels()
    tasks = list(_listed(user, filters))
    views = [privacy.task_view(user, task) for task in tasks]
    rows = [(view.title, labels["task_type"](task.task_type), labels["program"](task.program),
             task.village.name if task.village_id else "",
             task.town.name if task.town_id else _("Whole district"),
             task.assignee.name if task.assignee_id else "",
             shown_time(view.time(task.due_on)),
             labels["status"].get(task.status, task.status),
             _("Overdue") if service.is_overdue(task, today) else "")
            for task, view in zip(tasks, views)]
    privacy.audit_views(user, views, via="export", address=request.remote_addr or "")
    return list_export(user, "task.export", _("Tasks"), EXPORT_HEADERS, rows,
                       name=_("Tasks"), fallback="tasks",
                       args=list_args(search_term(), filters, SORTING.requested()))


# --- my tasks (lawyers) --------------------------------------------------------------------

@bp.route("/mine")
@allow("lawyer")
def mine():
    user, today = actor(), clock.today()
    if not user.lawyer_id:
        abort(404)
    tasks = list(service.with_related(service.tasks_visible_to(user))
                 .select_extend(Event.id, Event.starts_at, Event.ends_at, Event.status)
                 .join(Event, JOIN.LEFT_OUTER)
                 .where((Task.assignee == user.lawyer_id)
                        & Task.status.in_(service.OPEN_STATUSES))
                 .order_by(Task.due_on.asc(nulls="LAST"), Task.id))
    visits_today = [visit for visit in week_visits(user.lawyer_id, today) if visit.day == today]
    return render("tasks/mine.html", sections=service.day_groups(tasks, today), today=today,
                  visits_today=len(visits_today))


# --- one task ------------------------------------------------------------------------------

def _task_or_404(task_id: int) -> Task:
    try:
        return service.get_task(actor(), task_id)
    except NotFound:
        abort(404)  # missing and out of scope look the same


def _editable_task(task_id: int) -> Task:
    task = _task_or_404(task_id)
    if not service.can_edit_task(actor(), task):
        abort(403)
    return task


def data_rows(task: Task, data: dict) -> list[dict]:
    """The task's form data as (label, text) rows in the form's order, choice values shown
    by their labels. ``data`` is a ``core.privacy.TaskView``'s (masked already)."""
    task_type = get_registry().task_types.get(task.task_type)
    if task_type is None:  # the plugin is gone: show the stored names
        return [{"label": name, "value": value, "masked": value == MASK}
                for name, value in data.items()]
    form, rows = service.build_form(task_type, locale=_locale()), []
    for field in form:
        if field.name not in data:
            continue
        value, labels = data[field.name], service.choice_labels(field)
        masked = value == MASK
        if masked:
            text = value
        elif isinstance(field, BooleanField):
            text = _("Yes") if value else _("No")
        elif isinstance(value, list):
            text = "、".join(str(labels.get(str(item), item)) for item in value)
        else:
            text = labels.get(str(value), value)
        rows.append({"label": field.label.text, "value": text, "masked": masked,
                     "sensitive": field.name in task_type.sensitive_fields})
    return rows


def _history(task: Task) -> list:
    return list(audit.entries_for(task).limit(50))


class ReassignForm(FlaskForm):
    lawyer = SelectField(_l("New lawyer"), coerce=lambda v: int(v) if v not in (None, "") else None,
                         validators=[DataRequired(message=_l("Choose a lawyer."))])


class ScheduleForm(FlaskForm):
    """A date with a half-day (the district's session slots, ``core.events``) or times."""
    day = DateField(_l("Date"), validators=[InputRequired(message=_l("Enter a date."))])
    half_day = SelectField(_l("Half-day"), default="am", choices=[
        *(SelectChoice(key, label) for key, label in HALF_DAYS.items()),
        SelectChoice("times", _l("Times below"))])
    starts = TimeField(_l("From"), validators=[Optional()])
    ends = TimeField(_l("Until"), validators=[Optional()])

    def instants(self) -> tuple[dt.datetime, dt.datetime]:
        """The slot as stored (naive UTC); the core checks it (order, workday, clashes)."""
        day = self.day.data
        if self.half_day.data in HALF_DAYS:
            return session_times(day, self.half_day.data)
        if not self.starts.data or not self.ends.data:
            raise ValidationError(N_("Enter both times, or choose a half-day."), field="starts")
        return (clock.utc_from_local(day, self.starts.data),
                clock.utc_from_local(day, self.ends.data))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), render_kw={"rows": 2}, validators=[
        DataRequired(message=_l("Say why the task is cancelled.")), Length(max=500)])


def _lawyer_choices(exclude: int | None = None) -> list[SelectChoice]:
    query = Lawyer.select(Lawyer.id, Lawyer.name).where(Lawyer.active).order_by(Lawyer.name)
    return [SelectChoice("", _("Choose a lawyer…"))] + [
        SelectChoice(lawyer.id, lawyer.name) for lawyer in query if lawyer.id != exclude]


def _action_forms(task: Task) -> dict:
    reassign = ReassignForm(formdata=None, prefix="reassign")
    reassign.lawyer.choices = _lawyer_choices(exclude=task.assignee_id)
    return {"reassign": reassign,
            "schedule": ScheduleForm(formdata=None, prefix="schedule",
                                     day=task.due_on or clock.today()),
            "cancel": CancelForm(formdata=None, prefix="cancel")}


def _panel(task: Task, *, bound: dict | None = None, status: int = 200,
           trigger: str | None = None, notice: str | None = None):
    """The task's page (or, for HTMX, its panel); ``bound`` holds a refused form."""
    user = actor()
    task = service.get_task(user, task.id)  # fresh after a change
    view = privacy.read_task(user, task, address=request.remote_addr or "")
    can_edit = service.can_edit_task(user, task)
    forms = _action_forms(task) if can_edit else {}
    forms.update(bound or {})
    logs = [(entry, view.log_line(entry)) for entry in
            WorkLog.select(WorkLog, Lawyer).join(Lawyer)
            .where(WorkLog.task == task).order_by(WorkLog.occurred_at.desc())]
    return render("tasks/detail.html", "tasks/_panel.html", status=status, trigger=trigger,
                  task=task, view=view, rows=data_rows(task, view.data), forms=forms,
                  can_edit=can_edit,
                  manage=service.can_manage_task(user, task), notice=notice,
                  opened=next(iter(bound), None) if bound else None,
                  overdue=service.is_overdue(task), logs=logs,
                  history=_history(task) if can_edit else [],
                  has_form=task.task_type in get_registry().task_types)


TASK = Panel(_panel, trigger=CHANGED,
             back=lambda task: back_to(url_for("tasks.detail", task_id=task.id)))


@bp.route("/<int:task_id>")
@allow(*ROLES)
def detail(task_id):
    return _panel(_task_or_404(task_id))


@bp.route("/<int:task_id>/reassign", methods=["POST"])
@allow(*MANAGERS)
def reassign(task_id):
    task = _editable_task(task_id)
    form = ReassignForm(prefix="reassign")
    form.lawyer.choices = _lawyer_choices(exclude=task.assignee_id)

    def change():
        lawyer = Lawyer.get_by_id(form.lawyer.data)
        service.reassign_task(actor(), task, lawyer)
        return _("%(lawyer)s now has this task.", lawyer=lawyer.name)
    return TASK.submit(task, "reassign", form, change)


@bp.route("/<int:task_id>/schedule", methods=["POST"])
@allow(*STAFF)
def schedule(task_id):
    task = _editable_task(task_id)
    form = ScheduleForm(prefix="schedule")

    def change():
        try:
            starts_at, ends_at = form.instants()
            service.schedule_task(actor(), task, starts_at=starts_at, ends_at=ends_at)
        except JieduiError as error:
            # the core names the slot's instants; the form asks for a day and times
            error.field = {"starts_at": "day", "ends_at": "ends"}.get(
                getattr(error, "field", None), getattr(error, "field", None))
            raise
        return _("Scheduled on %(day)s.", day=form.day.data.isoformat())
    return TASK.submit(task, "schedule", form, change)


def _simple_action(task_id: int, call, message: str):
    """A one-button action (start, reopen): a refusal stands above the panel."""
    task = _editable_task(task_id)
    try:
        call(actor(), task)
    except JieduiError as error:
        form = FlaskForm(formdata=None)
        form.form_errors.append(error.translate(_))
        return TASK.refused(task, "action", form)
    return TASK.changed(task, message)


@bp.route("/<int:task_id>/start", methods=["POST"])
@allow(*STAFF)
def start(task_id):
    return _simple_action(task_id, service.start_task, _("The task is in progress."))


@bp.route("/<int:task_id>/reopen", methods=["POST"])
@allow(*MANAGERS)
def reopen(task_id):
    return _simple_action(task_id, service.reopen_task, _("The task is open again."))


@bp.route("/<int:task_id>/cancel", methods=["POST"])
@allow(*MANAGERS)
def cancel(task_id):
    task = _editable_task(task_id)
    form = CancelForm(prefix="cancel")

    def change():
        service.cancel_task(actor(), task, reason=form.reason.data.strip())
        return _("The task is cancelled.")
    return TASK.submit(task, "cancel", form, change)


# --- completing a task with its programme's form --------------------------------------------

class WorkLogForm(Form):
    """The work-log entry completing a task writes (time, mode, result: DOMAIN 五.2), each
    asked once and answered already where the task says it: now, on site, the task type's
    duty, the scheduled slot's length (none asked when the programme's form asks the
    duration itself, ``TaskType.duration_field``). Prefixed, so a plugin form's own field
    called "result" cannot collide."""
    occurred_at = DateTimeLocalField(_l("When"), validators=[Optional()],
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     description=_l("Empty: now"))
    mode = SelectField(_l("How"), default="onsite",
                       choices=[SelectChoice(mode, _l(service.MODE_LABELS[mode]))
                                for mode in WORK_MODES])
    duration = DurationField(_l("Duration"), gettext=_, validators=[Optional()],
                             description=_l("Hours (1.5), minutes (90 分钟) or from–to "
                                            "(9:00-10:30); empty: the scheduled slot's length"))
    category = SelectField(_l("Category"), validators=[InputRequired(
        message=_l("Choose which of the lawyer's duties the service was."))])
    result = TextAreaField(_l("Result"), render_kw={"rows": 2},
                           validators=[Optional(), Length(max=2000)])

    def occurred_utc(self) -> dt.datetime | None:
        moment = self.occurred_at.data
        return clock.utc_from_local(moment.date(), moment.time()) if moment else None


def _work_log_form(task: Task, formdata=None) -> WorkLogForm:
    """The work-log part of the completion form: as posted, or with the defaults the task
    gives."""
    kind = get_registry().task_types[task.task_type]
    form = WorkLogForm(formdata, prefix="worklog")
    if kind.duration_field:  # the programme's form asks it: asked once
        del form.duration
    if kind.duty:  # the task type's duty answers it: a change is allowed, none needed
        form.category.validators = [Optional()]
        form.category.flags.required = False
    form.category.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(duty, f"{number}. {DUTY_LABELS[duty]}")
        for number, duty in enumerate(DUTIES, start=1)]
    if formdata is None:
        form.occurred_at.data = clock.to_local(clock.now_utc()).replace(
            tzinfo=None, second=0, microsecond=0)
        form.category.data = kind.duty or ""
        if "duration" in form:
            form.duration.data = service.work_duration(task, kind, {}) or None
    return form


def _completion_page(task: Task, plugin_form: Form, log_form: WorkLogForm, *,
                     errors: list | None = None, status: int = 200):
    """The completion form: its page, or for HTMX (opened in place from "my tasks") the
    form alone, which posts back in place."""
    task_type = localized_registry(_locale()).task_types[task.task_type]
    return render("tasks/complete.html", "tasks/_complete_form.html", status=status,
                  task=task, form=plugin_form, log_form=log_form, errors=errors or [],
                  task_type=task_type, inline=bool(htmx),
                  form_template=task_type.template or "tasks/_form.html")


def _completable(task_id: int) -> Task:
    task = _editable_task(task_id)
    if task.task_type not in get_registry().task_types:
        abort(404)  # its plugin is not loaded: there is no form to fill
    return task


@bp.route("/<int:task_id>/complete", methods=["GET"])
@allow(*STAFF)
def complete_form(task_id):
    task = _completable(task_id)
    # a reopened task shows what was filled in (only editors get here: they may see it all)
    data = service.task_data_for(actor(), task, address=request.remote_addr or "")
    prefill = {name: value for name, value in data.items() if value != MASK}
    form = service.build_form(task.task_type, data=prefill, locale=_locale())
    return _completion_page(task, form, _work_log_form(task))


@bp.route("/<int:task_id>/complete", methods=["POST"])
@allow(*STAFF)
def complete(task_id):
    """Complete with the programme's form and the work log. Refused: 422, the same page
    with every typed value kept and each message beside its field; nothing written."""
    task = _completable(task_id)
    log_form = _work_log_form(task, request.form)
    if log_form.validate():
        try:
            service.complete_task(
                actor(), task, request.form, mode=log_form.mode.data,
                result=(log_form.result.data or "").strip(),
                duration_minutes=log_form.duration.data if "duration" in log_form else None,
                occurred_at=log_form.occurred_utc(), category=log_form.category.data,
                locale=_locale())
        except ValidationError as error:
            errors = dict(error.errors) or {error.field or "": [error.translate(_)]}
        except JieduiError as error:
            errors = {"": [error.translate(_)]}
        else:
            if htmx:  # completed in place, from "my tasks": the card says so
                entry = WorkLog.get_or_none(WorkLog.task == task.id)
                return render("tasks/_done_card.html", task=service.get_task(actor(), task.id),
                              entry=entry, trigger=CHANGED)
            flash(_("The task is done."), "success")
            return redirect(url_for("tasks.detail", task_id=task.id), code=303)
    else:  # the work log failed: show the programme form's messages at the same time
        errors = service.validate_task_data(task.task_type, request.form, locale=_locale())[1]
    log_errors = _log_errors(errors)
    plugin_form = service.build_form(task.task_type, formdata=request.form, locale=_locale())
    loose = attach_errors(plugin_form, errors) + attach_errors(log_form, log_errors)
    return _completion_page(task, plugin_form, log_form, errors=loose, status=422)


def _log_errors(errors: dict) -> dict:
    """Take the work-log messages out of ``errors``: the core names them by its arguments,
    the form by its fields."""
    names = {"duration_minutes": "duration", "mode": "mode", "result": "result",
             "occurred_at": "occurred_at", "category": "category"}
    return {names[key]: errors.pop(key) for key in list(errors) if key in names}


# --- assigning -------------------------------------------------------------------------------

class AssignForm(FlaskForm):
    program = SelectField(_l("Programme"),
                          validators=[DataRequired(message=_l("Choose a programme."))])
    task_type = SelectField(_l("Task type"),
                            validators=[DataRequired(message=_l("Choose a task type."))])
    target = RadioField(_l("For"), default="village",
                        choices=[SelectChoice(key, label) for key, label in TARGETS.items()])
    village = SelectField(_l("Village"), default="")  # required for one village: validate_village
    assignee = SelectField(_l("Lawyer"), default="",
                           description=_l("Empty: the village's paired lawyer"))
    town = SelectField(_l("Town"), default="")  # required for a town: validate_town
    due_on = DateField(_l("Due on"), validators=[Optional()])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)],
                        description=_l("Empty: the task type's name"))

    def validate_village(self, field):
        if self.target.data == "village" and not field.data:
            raise StopValidation(_("Choose a village."))

    def validate_town(self, field):
        if self.target.data == "town" and not field.data:
            raise StopValidation(_("Choose a town."))


def _assign_form(user: User, formdata=None) -> AssignForm:
    form = AssignForm(formdata=formdata) if formdata is not None else AssignForm(formdata=None)
    form.program.choices = [SelectChoice("", _("Choose a programme…"))] + [
        SelectChoice(p.slug, p.name) for p in _programs()]
    form.task_type.choices = _task_type_choices(form.program.data)
    villages = (Village.select(Village.code, Village.name, Town.name.alias("town_name"))
                .join(Town).where(village_filter(user)).order_by(Town.code, Village.code))
    form.village.choices = [SelectChoice("", _("Choose a village…"))] + [
        SelectChoice(v.code, v.name, optgroup=v.town_name) for v in villages.objects()]
    form.assignee.choices = [SelectChoice("", _("The paired lawyer"))] + [
        SelectChoice(str(lawyer.id), lawyer.name) for lawyer in
        Lawyer.select(Lawyer.id, Lawyer.name).where(Lawyer.active).order_by(Lawyer.name)]
    form.town.choices = [SelectChoice("", _("Choose a town…"))] + [
        SelectChoice(t.code, t.name) for t in
        Town.select(Town.code, Town.name).where(town_filter(user)).order_by(Town.code)]
    if not is_district_manager(user):  # a town's coordinator cannot assign district-wide
        form.target.choices = [c for c in form.target.choices if c.value != "district"]
    return form


def _task_type_choices(program_slug: str | None) -> list[SelectChoice]:
    types = _task_types_of(program_slug) if program_slug else []
    if len(types) == 1:
        return [SelectChoice(types[0].slug, types[0].name)]
    return [SelectChoice("", _("Choose a task type…"))] + [
        SelectChoice(t.slug, t.name) for t in types]


def _bulk_count(user: User, target: str, town_code: str) -> int | None:
    """How many tasks a bulk assignment would create (core.tasks.assign_bulk makes one
    for each of core.tasks.bulk_targets)."""
    if target == "district":
        return service.bulk_targets().count()
    town = Town.get_or_none(Town.code == town_code) if target == "town" and town_code else None
    return service.bulk_targets(town).count() if town is not None else None


def _assign_page(form: AssignForm, *, status: int = 200):
    count = _bulk_count(actor(), form.target.data, form.town.data)
    return render("tasks/new.html", "tasks/_assign_form.html", status=status, form=form,
                  count=count)


@bp.route("/new", methods=["GET"])
@allow(*MANAGERS)
def new():
    return _assign_page(_assign_form(actor()))


@bp.route("/new/task-types")
@allow(*MANAGERS)
def task_type_options():
    """The task-type select for the chosen programme (the assign form's dependent select)."""
    form = _assign_form(actor(), request.args)
    return render("tasks/_task_type_field.html", form=form)


@bp.route("/new/preview")
@allow(*MANAGERS)
def assign_preview():
    """The submit button, asking "Assign N tasks?" before a bulk assignment."""
    form = _assign_form(actor(), request.args)
    return render("tasks/_assign_submit.html", form=form,
                  count=_bulk_count(actor(), form.target.data, form.town.data))


@bp.route("/new", methods=["POST"])
@allow(*MANAGERS)
def assign():
    user = actor()
    form = _assign_form(user, request.form)
    if not form.validate_on_submit():
        return _assign_page(form, status=422)
    program = form.program.data
    common = dict(program=program, task_type=form.task_type.data, due_on=form.due_on.data,
                  title=(form.title.data or "").strip())
    try:
        if form.target.data == "village":
            village = Village.get(Village.code == form.village.data)
            lawyer = (Lawyer.get_by_id(int(form.assignee.data)) if form.assignee.data
                      else None)
            created = [service.assign_task(user, village=village, assignee=lawyer, **common)]
        else:
            town = Town.get(Town.code == form.town.data) if form.target.data == "town" else None
            created = service.assign_bulk(user, town=town, **common)
    except JieduiError as error:
        attach_error(form, error)
        return _assign_page(form, status=422)
    if len(created) == 1:
        flash(_("The task is assigned."), "success")
        target = url_for("tasks.detail", task_id=created[0].id)
    else:
        flash(_("%(count)d tasks are assigned.", count=len(created)), "success")
        target = url_for("tasks.index", program=program)
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)
