"""Programme tasks: assign, reassign, schedule, start, complete, reopen, cancel.

Who may do what (``actor=None`` is the operator on the server: CLI, jobs):

- **manage** (assign, reassign, cancel, reopen): admins anywhere; coordinators within their
  scope (``core.access``) — a village task in a village they manage, a town task of their
  own town (town coordinators, district coordinators), a district task (district
  coordinators only);
- **edit** (start, schedule, complete): whoever manages the task, and the assignee lawyer;
- **view**: whoever edits it, a lawyer paired with the task's village, and the village's own
  users (who never see sensitive fields);
- **sensitive fields** of the task type (people in family disputes, minors): only those who
  edit the task see them; every read of them is written to the audit log. The other
  readers see the task restricted (``core.privacy``: the type's public fields only, and of
  a sensitive type no title, free text or time finer than the month), audited too.

The predicates (``can_view_task`` …) and the scope filter (``task_filter``) live in
``core.access``.

``Task.town`` is set for village tasks too (the village's town), so lists, scopes and the
breakdown by town read one column instead of joining the village.
"""
import datetime as dt
import decimal
import hashlib
import uuid

from peewee import JOIN, Expression
from werkzeug.datastructures import MultiDict

from core import clock, progress_tally
from core.access import (can_assign, can_edit_task, can_manage_task, can_view_task,
                         is_district_manager, manages_town, task_filter)
from core.audit import record
from core.db import transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.config import get_settings
from core.i18n import N_, gettext_for
from core.localize import localize_form
from core.models import (Event, Lawyer, Pairing, Task, Town, User, Village,
                         WorkLog)
from core.models.tasks import TASK_LIST_ORDER
from core.plugins import get_registry, notify
from core.privacy import read_task
from core.registry import Schedule, TaskType
from core.worklog import check_work as _check_work  # one rule for every work-log entry
from core.worklog import check_category
from core.vocabulary import (OPEN_STATUSES, TASK_LEVEL_LABELS, TASK_STATUS_LABELS,
                             WORK_MODE_LABELS)
from core.events import check_slot, hand_over
from core.feeds import publish_changes

SUBJECT_MAX = 255  # Task.subject is a CharField

# the labels' one home is core.vocabulary; these are the names the task pages know them by
STATUS_LABELS, MODE_LABELS, LEVEL_LABELS = TASK_STATUS_LABELS, WORK_MODE_LABELS, TASK_LEVEL_LABELS

NOT_FOUND = N_("There is no such task, or you may not open it.")
HANDED_OVER_BUSY = N_("The task passed to %(lawyer)s, who is booked at this time: schedule it "
                      "again.")


# --- the registry ------------------------------------------------------------------------

def _slug(value) -> str:
    return getattr(value, "slug", value)


def task_type_for(task_or_slug) -> TaskType:
    """The registered task type of a task (or of a task-type slug)."""
    slug = task_or_slug.task_type if isinstance(task_or_slug, Task) else _slug(task_or_slug)
    kind = get_registry().task_types.get(slug)
    if kind is None:
        raise NotFound(N_("The task type %(slug)s is not installed (is its plugin loaded?)."),
                       slug=slug)
    return kind


def _task_type_of_program(program, task_type) -> TaskType:
    kind = task_type_for(task_type)
    if kind.program != _slug(program):
        raise ValidationError(N_("The task type %(task_type)s does not belong to the "
                                 "programme %(program)s."), field="task_type",
                              task_type=kind.slug, program=_slug(program))
    return kind


# --- who may do what ---------------------------------------------------------------------

# The predicates live in core.access (one home for who may do what); they are named here
# too, as the task services and their callers have always read them.
def _require(allowed: bool, message: str = N_("You may not change this task.")) -> None:
    if not allowed:
        raise PermissionDenied(message)


def tasks_visible_to(user: User | None):
    """The tasks ``user`` may read (a plain ``Task`` query: add filters, joins, order)."""
    return Task.select().where(task_filter(user))


def with_related(query):
    """``query`` (over Task) with each task's village, town and assignee read in the same
    query, so ``task.village.name``, ``task.town.name`` and ``task.assignee.name`` cost no
    query per task. Missing ones (a district task has neither village nor town) are None."""
    return (query.select_extend(Village, Town, Lawyer)
            .switch(Task).join(Village, JOIN.LEFT_OUTER)
            .switch(Task).join(Town, JOIN.LEFT_OUTER)
            .switch(Task).join(Lawyer, JOIN.LEFT_OUTER)
            .switch(Task))


def overdue_filter(today: dt.date | None = None) -> Expression:
    """A WHERE clause on ``Task``: still open (or in progress) after its due date."""
    today = today or clock.today()
    return Task.status.in_(OPEN_STATUSES) & Task.due_on.is_null(False) & (Task.due_on < today)


def is_overdue(task: Task, today: dt.date | None = None) -> bool:
    today = today or clock.today()
    return task.status in OPEN_STATUSES and task.due_on is not None and task.due_on < today


# The lists' usual order, read from its index (``core.models.tasks.TASK_LIST_ORDER``):
# what is still to do first, then soonest due (no due date last), then by id.
LIST_ORDER = TASK_LIST_ORDER
SOONEST_DUE = TASK_LIST_ORDER[1:]


DAY_GROUPS = ("today", "week", "overdue", "open")


def scheduled_day(task: Task) -> dt.date | None:
    """The district date of the task's scheduled visit; None when it has none or the
    visit was cancelled. Reads ``task.event`` as loaded with the task (no query)."""
    event = task.event if task.event_id else None
    if event is None or event.starts_at is None or event.status == "cancelled":
        return None
    return clock.local_date(event.starts_at)


def day_group(task: Task, today: dt.date) -> str:
    """Where a lawyer finds an open task (``DAY_GROUPS``): "today" when it is scheduled or
    due today, even if it is overdue (it is today's work); else "overdue" when its due date
    passed; else "week" when it is scheduled or due in the rest of this week (to Sunday);
    else "open"."""
    days = [day for day in (scheduled_day(task), task.due_on) if day is not None]
    if today in days:
        return "today"
    if is_overdue(task, today):
        return "overdue"
    sunday = clock.week_start(today) + dt.timedelta(days=6)
    if any(today < day <= sunday for day in days):
        return "week"
    return "open"


def day_groups(tasks, today: dt.date) -> dict[str, list[Task]]:
    """The tasks by ``day_group``, each once, in the order given."""
    groups = {name: [] for name in DAY_GROUPS}
    for task in tasks:
        groups[day_group(task, today)].append(task)
    return groups


def list_tasks(user: User | None, *, program=None, task_type=None, town=None, village=None,
               lawyer=None, status: str | None = None, today: dt.date | None = None):
    """The tasks ``user`` may read, filtered (any filter may be None), with village, town
    and assignee joined (``with_related``), soonest due first (no due date last).
    ``status`` is a stored status or ``"overdue"``."""
    query = tasks_visible_to(user)
    filters = [(program, lambda v: Task.program == _slug(v)),
               (task_type, lambda v: Task.task_type == _slug(v)),
               (town, lambda v: Task.town == v),
               (village, lambda v: Task.village == v),
               (lawyer, lambda v: Task.assignee == v)]
    for value, condition in filters:
        if value:
            query = query.where(condition(value))
    if status == "overdue":
        query = query.where(overdue_filter(today))
    elif status:
        query = query.where(Task.status == status)
    return with_related(query).order_by(*SOONEST_DUE)


def get_task(user: User | None, task_id) -> Task:
    """The task ``task_id`` if ``user`` may read it, else ``NotFound`` (never say it exists)."""
    task = with_related(Task.select().where(Task.id == task_id)).first()
    if task is None or not can_view_task(user, task):
        raise NotFound(NOT_FOUND)
    return task


# --- assigning ---------------------------------------------------------------------------

def _placement(village: Village | None, town: Town | None) -> tuple[str, Town | int | None]:
    if village is not None:
        if town is not None and town.id != village.town_id:
            raise ValidationError(N_("%(village)s is not in %(town)s."), field="town",
                                  village=village.name, town=town.name)
        return "village", village.town_id
    if town is not None:
        return "town", town.id
    return "district", None


def _check_lawyer(lawyer) -> Lawyer:
    if not isinstance(lawyer, Lawyer):
        raise ValidationError(N_("Choose the lawyer who does the task."), field="assignee")
    if not lawyer.active:
        raise ValidationError(N_("%(lawyer)s is no longer active and cannot be given tasks."),
                              field="assignee", lawyer=lawyer.name)
    return lawyer


def _assignee_for(village: Village | None, assignee: Lawyer | None) -> Lawyer | None:
    """The lawyer given, or the village's paired lawyer; town and district tasks may have none."""
    if assignee is not None:
        return _check_lawyer(assignee)
    if village is None:
        return None
    pairing = (Pairing.select(Pairing, Lawyer).join(Lawyer)
               .where((Pairing.village == village) & (Pairing.status == "active")).first())
    if pairing is None:
        raise ValidationError(N_("%(village)s has no paired lawyer: choose who does the task."),
                              field="assignee", village=village.name)
    return pairing.lawyer


def _check_due(due_on) -> None:
    if due_on is not None and (not isinstance(due_on, dt.date)
                               or isinstance(due_on, dt.datetime)):
        raise ValidationError(N_("The due date must be a date."), field="due_on")


def _title(title: str, kind: TaskType) -> str:
    title = (title or "").strip()
    if len(title) > 200:
        raise ValidationError(N_("The title is too long (at most %(max)s characters)."),
                              field="title", max=200)
    return title or kind.name


def assign_task(actor: User | None, *, program, task_type, village: Village | None = None,
                town: Town | None = None, assignee: Lawyer | None = None,
                due_on: dt.date | None = None, title: str = "",
                data: dict | None = None) -> Task:
    """Give out one task: for ``village`` (level village), for ``town`` (level town), or for
    the district (neither). The assignee defaults to the village's paired lawyer; ``data``
    prefills the form (it is validated when the task is completed)."""
    kind = _task_type_of_program(program, task_type)
    _require(can_assign(actor, village=village, town=town),
             N_("You may not assign tasks there."))
    level, town_id = _placement(village, town)
    assignee = _assignee_for(village, assignee)
    _check_due(due_on)
    with transaction():
        task = Task.create(program=kind.program, task_type=kind.slug, level=level,
                           village=village, town=town_id, assignee=assignee, assigned_by=actor,
                           title=_title(title, kind), due_on=due_on, data=dict(data or {}))
        record(actor, "task.assign", obj=task,
               detail={"program": kind.program, "task_type": kind.slug, "level": level,
                       "assignee": assignee.id if assignee else None})
        if assignee is not None:
            notify("tasks_assigned", tasks=[task], actor=actor)
    return task


def bulk_targets(town: Town | None = None):
    """The (village, lawyer, town) of every active pairing of ``town`` or of the district:
    what ``assign_bulk`` makes one task for."""
    query = (Pairing.select(Pairing.village, Pairing.lawyer, Village.town)
             .join(Village).where(Pairing.status == "active").order_by(Village.code))
    if town is not None:
        query = query.where(Village.town == town.id)
    return query


def assign_bulk(actor: User | None, *, program, task_type, town: Town | None = None,
                due_on: dt.date | None = None, title: str = "") -> list[Task]:
    """One task for every village with an active pairing, of ``town`` or of the whole
    district, each assigned to the village's lawyer, in one transaction (all or none).
    Villages without a lawyer are left out (nobody could do the task)."""
    kind = _task_type_of_program(program, task_type)
    _require(manages_town(actor, town.id) if town is not None else is_district_manager(actor),
             N_("You may not assign tasks there."))
    _check_due(due_on)
    title = _title(title, kind)
    query = bulk_targets(town)
    now = clock.now_utc()
    rows = [dict(program=kind.program, task_type=kind.slug, level="village", village=village_id,
                 town=town_id, assignee=lawyer_id, assigned_by=actor, title=title,
                 due_on=due_on, data={}, status="open", created_at=now, updated_at=now)
            for village_id, lawyer_id, town_id in query.tuples()]
    if not rows:
        raise ValidationError(N_("No village there has a paired lawyer: nothing was assigned."))
    with transaction():
        ids = [row[0] for row in Task.insert_many(rows).returning(Task.id).tuples().execute()]
        record(actor, "task.assign_bulk",
               detail={"program": kind.program, "task_type": kind.slug,
                       "town": town.id if town is not None else None, "count": len(ids),
                       "tasks": ids})
        tasks = list(with_related(Task.select().where(Task.id.in_(ids))).order_by(Task.id))
        notify("tasks_assigned", tasks=tasks, actor=actor)
        return tasks


# --- changing a task ---------------------------------------------------------------------

def _require_open(task: Task) -> None:
    if task.status not in OPEN_STATUSES:
        raise ValidationError(N_("This task is %(status)s and can no longer be changed."),
                              status=task.status)


def _touch(task: Task, **fields) -> Task:
    for name, value in fields.items():
        setattr(task, name, value)
    task.updated_at = clock.now_utc()
    task.save()
    return task


def _change_event(event: Event, **fields) -> None:
    """Every change of an event bumps its sequence (calendar apps keep the higher one)."""
    for name, value in fields.items():
        setattr(event, name, value)
    event.sequence += 1
    event.updated_at = clock.now_utc()
    event.save()


def _publish(event_ids) -> None:
    publish_changes([event_id for event_id in event_ids if event_id])


def reassign_task(actor: User | None, task: Task, lawyer: Lawyer) -> Task:
    """Hand an open task (and its calendar slot, if scheduled) to another lawyer."""
    _require(can_manage_task(actor, task))
    _require_open(task)
    _check_lawyer(lawyer)
    if lawyer.id == task.assignee_id:
        raise ValidationError(N_("%(lawyer)s already has this task."), field="assignee",
                              lawyer=lawyer.name)
    event = _live_event(task)
    if event is not None:
        check_slot(lawyer, event.starts_at, event.ends_at, exclude=event)
    previous = task.assignee_id
    with transaction():
        _hand_task(task, lawyer, event)
        record(actor, "task.reassign", obj=task, detail={"from": previous, "to": lawyer.id})
        notify("tasks_assigned", tasks=[task], actor=actor)
    _publish([task.event_id])
    return task


def _hand_task(task: Task, lawyer: Lawyer, event: Event | None) -> None:
    """The task, and its calendar slot, to ``lawyer``; the previous lawyer's feed keeps the
    slot for a while as cancelled (core.events.hand_over)."""
    _touch(task, assignee=lawyer)
    if event is not None:
        hand_over(event, lawyer.id)
        _change_event(event)


def hand_over_tasks(actor: User | None, village: Village, *, from_lawyer: Lawyer,
                    to_lawyer: Lawyer) -> list[Task]:
    """A replaced lawyer's open tasks in ``village`` pass to the new lawyer, inside the
    caller's transaction. A task's calendar slot goes with it when the new lawyer is free
    then; otherwise the slot is cancelled, for the new lawyer to schedule the task again.
    Returns the tasks handed over (the caller publishes their events after the commit)."""
    tasks = list(with_related(Task.select().where(
        (Task.village == village.id) & (Task.assignee == from_lawyer.id)
        & Task.status.in_(OPEN_STATUSES))).order_by(Task.id))
    for task in tasks:
        event = _live_event(task)
        if event is not None:
            try:
                check_slot(to_lawyer, event.starts_at, event.ends_at, exclude=event)
            except ValidationError:
                reason = gettext_for(get_settings().locale)(HANDED_OVER_BUSY)
                _change_event(event, status="cancelled",
                              cancel_reason=reason % {"lawyer": to_lawyer.name})
                event = None
        _hand_task(task, to_lawyer, event)
    if tasks:
        record(actor, "task.hand_over", detail={"village": village.id, "from": from_lawyer.id,
                                                "to": to_lawyer.id,
                                                "tasks": [task.id for task in tasks]})
        notify("tasks_assigned", tasks=tasks, actor=actor)
    return tasks


def start_task(actor: User | None, task: Task) -> Task:
    """Mark an open task as in progress (again: nothing changes)."""
    _require(can_edit_task(actor, task))
    _require_open(task)
    if task.status == "open":
        with transaction():
            _touch(task, status="in_progress")
            record(actor, "task.start", obj=task)
    return task


def _live_event(task: Task) -> Event | None:
    if not task.event_id:
        return None
    event = Event.get_or_none(Event.id == task.event_id)
    return event if event is not None and event.status == "planned" else None


def schedule_task(actor: User | None, task: Task, *, starts_at: dt.datetime,
                  ends_at: dt.datetime) -> Event:
    """Put the task in the assignee's calendar (an Event of kind "task"), or move it there.
    The slot is checked as a session's is (``core.events.check_slot``: workday, not
    double-booked, travel gap). Aware or naive-UTC datetimes."""
    _require(can_edit_task(actor, task))
    _require_open(task)
    if not isinstance(starts_at, dt.datetime) or not isinstance(ends_at, dt.datetime):
        raise ValidationError(N_("Give the start and the end of the slot."), field="starts_at")
    starts_at, ends_at = clock.as_utc(starts_at), clock.as_utc(ends_at)
    event = Event.get_or_none(Event.id == task.event_id) if task.event_id else None
    check_slot(task.assignee if task.assignee_id else None, starts_at, ends_at, exclude=event,
               village=task.village if task.village_id else None)
    with transaction():
        if event is None:
            event = Event.create(uid=f"task-{uuid.uuid4()}@jiedui", kind="task",
                                 village=task.village_id, lawyer=task.assignee_id,
                                 starts_at=starts_at, ends_at=ends_at,
                                 title=task.title or task_type_for(task).name)
            _touch(task, event=event)
        else:
            _change_event(event, starts_at=starts_at, ends_at=ends_at, status="planned",
                          lawyer=task.assignee_id, cancel_reason="")
            _touch(task)
        record(actor, "task.schedule", obj=task,
               detail={"event": event.id, "starts_at": starts_at.isoformat(),
                       "ends_at": ends_at.isoformat()})
    _publish([event.id])
    return event


def cancel_task(actor: User | None, task: Task, *, reason: str) -> Task:
    """Cancel an open task with a reason; its calendar slot is cancelled too (feeds say so)."""
    _require(can_manage_task(actor, task))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(N_("Say why the task is cancelled."), field="reason")
    if task.status == "done":
        raise ValidationError(N_("This task is done; reopen it before cancelling it."))
    if task.status == "cancelled":
        raise ValidationError(N_("This task is cancelled already."))
    event = _live_event(task)
    with transaction():
        _touch(task, status="cancelled", cancel_reason=reason)
        if event is not None:
            _change_event(event, status="cancelled", cancel_reason=reason)
        record(actor, "task.cancel", obj=task, detail={"reason": reason})
    _publish([event.id if event else None])
    return task


def reopen_task(actor: User | None, task: Task) -> Task:
    """Open a done or cancelled task again: it no longer counts toward progress; its data
    stays to be corrected, and completing it again updates its work-log entry."""
    _require(can_manage_task(actor, task))
    if task.status in OPEN_STATUSES:
        raise ValidationError(N_("This task is open already."))
    previous = task.status
    with transaction():
        _touch(task, status="open", completed_at=None, completed_by=None, cancel_reason="")
        record(actor, "task.reopen", obj=task, detail={"from": previous})
        if previous == "done":
            progress_tally.count_again(task)
    return task


# --- the form ----------------------------------------------------------------------------

def _form_value(item) -> str:
    """A value as a browser would post it (WTForms parses strings)."""
    if item is True:
        return "y"
    if isinstance(item, dt.datetime):
        return item.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(item, dt.time):
        return item.strftime("%H:%M")
    if isinstance(item, dt.date):
        return item.isoformat()
    return str(item)


def as_formdata(formdata) -> MultiDict:
    """A ``MultiDict`` of strings from a request's form, or from a plain dict (an example,
    a test): lists give repeated keys, ``False``/``None`` are left out (an unticked box)."""
    if formdata is None:
        return MultiDict()
    if hasattr(formdata, "getlist"):
        return formdata
    pairs = []
    for key, value in formdata.items():
        for item in value if isinstance(value, list | tuple | set) else [value]:
            if item is not None and item is not False:
                pairs.append((key, _form_value(item)))
    return MultiDict(pairs)


def _locales(locale: str) -> list[str]:
    return [locale, locale.split("_")[0]]


def _json_safe(value):
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items() if key != "csrf_token"}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _form_errors(errors: dict) -> dict:
    # WTForms keeps form-wide errors under None: give them a key JSON and templates can use
    return {("_form" if key is None else key): value for key, value in errors.items()}


def build_form(task_type, *, formdata=None, data: dict | None = None, locale: str = "zh_CN"):
    """An instance of the task type's form: from posted ``formdata``, else prefilled with
    stored ``data`` (a task's JSON: ISO dates are read back as dates). Labels,
    descriptions and choices in ``locale`` (the plugin's catalog: ``core.localize``),
    WTForms' own messages too."""
    kind = task_type if isinstance(task_type, TaskType) else task_type_for(task_type)
    meta = {"locales": _locales(locale), "csrf": False}
    if formdata is not None:
        return localize_form(kind.form(formdata=as_formdata(formdata), meta=meta), kind, locale)
    form = kind.form(meta=meta)
    if data:
        form.process(formdata=None, data=_restore(form, data))
    return localize_form(form, kind, locale)


def _restore(form, data: dict) -> dict:
    """Stored JSON back to the Python values the form's fields hold."""
    from wtforms.fields import DateField, DateTimeField, DecimalField, TimeField
    values = dict(data)
    for field in form:
        value = values.get(field.name)
        if not isinstance(value, str) or not value:
            continue
        try:
            if isinstance(field, DateTimeField):
                values[field.name] = dt.datetime.fromisoformat(value)
            elif isinstance(field, DateField):
                values[field.name] = dt.date.fromisoformat(value)
            elif isinstance(field, TimeField):
                values[field.name] = dt.time.fromisoformat(value)
            elif isinstance(field, DecimalField):
                values[field.name] = decimal.Decimal(value)
        except (ValueError, decimal.InvalidOperation):
            pass  # the form shows it as it is
    return values


def choice_labels(field) -> dict[str, str]:
    """value -> label of a choice field as its form offers them (optgroups flattened); empty
    for any other field. Keys are text: stored JSON may hold a value as a number."""
    if getattr(field, "choices", None) is None:
        return {}
    return {str(choice.value): str(choice.label) for choice in field.iter_choices()}


def validate_task_data(task_type, formdata, *, locale: str = "zh_CN") -> tuple[dict, dict]:
    """Validate ``formdata`` (a request's form or a dict) with the task type's form.
    Returns (clean data, JSON-safe: dates as ISO text, decimals as text; errors by field:
    field -> list of messages in ``locale``, empty when valid)."""
    form = build_form(task_type, formdata=formdata, locale=locale)
    valid = form.validate()
    clean = _json_safe(form.data)
    return clean, ({} if valid else _form_errors(form.errors))


def subject_of(kind: TaskType, data: dict) -> str | None:
    """The counted subject (household, school, link …): the subject field's text."""
    if not kind.subject_field:
        return None
    value = data.get(kind.subject_field)
    text = "" if value is None else str(value).strip()
    if len(text) > SUBJECT_MAX:  # keep long subjects distinct: a prefix and a digest
        text = text[:SUBJECT_MAX - 41] + "#" + hashlib.sha1(text.encode()).hexdigest()
    return text or None


# --- completing --------------------------------------------------------------------------

def _work_content(task: Task, kind: TaskType) -> str:
    """What was done, and where: "走访重点人群 · 东浜村"."""
    place = task.village.name if task.village_id else (task.town.name if task.town_id else "")
    parts = [task.title.strip(), kind.name, place]
    return " · ".join(dict.fromkeys(part for part in parts if part))  # once each, in order


def work_duration(task: Task, kind: TaskType, data: dict) -> int:
    """The minutes a completion logs when none were given: the hours of the task type's
    ``duration_field`` (the form asked them already), else the length of the task's
    calendar slot, else 0."""
    hours = data.get(kind.duration_field) if kind.duration_field else None
    try:
        if hours not in (None, ""):
            return max(0, min(round(float(hours) * 60), 24 * 60))
    except (TypeError, ValueError):
        pass
    event = Event.get_or_none(Event.id == task.event_id) if task.event_id else None
    if event is not None and event.ends_at and event.starts_at:
        return max(0, min(int((event.ends_at - event.starts_at).total_seconds() // 60),
                          24 * 60))
    return 0


def _write_work_log(actor, task, kind, *, mode, result, duration_minutes, occurred_at,
                    category) -> None:
    """The work-log entry of the completion (DOMAIN 五.2: time, content, mode, result).
    Completing a reopened task updates its entry instead of adding a second one."""
    if not task.assignee_id:
        return  # a town or district task done without a lawyer: no lawyer's service to log
    fields = dict(lawyer=task.assignee_id, village=task.village_id, occurred_at=occurred_at,
                  duration_minutes=duration_minutes, mode=mode,
                  content=_work_content(task, kind), result=(result or "").strip(),
                  category=category, event=task.event_id, created_by=actor)
    entry = WorkLog.get_or_none(WorkLog.task == task)
    if entry is None:  # written now on the district's clock: its edit period starts
        WorkLog.create(task=task, created_at=clock.now_utc(), **fields)
    else:
        WorkLog.update(**fields).where(WorkLog.id == entry.id).execute()


def complete_task(actor: User | None, task: Task, formdata, *, mode: str = "onsite",
                  result: str = "", duration_minutes: int | None = None,
                  occurred_at: dt.datetime | None = None, category: str | None = None,
                  locale: str = "zh_CN") -> Task:
    """Complete ``task`` with its form's data. Invalid data raises ``ValidationError``
    whose ``errors`` holds the messages by field, and writes nothing. Otherwise: status
    done, subject copied, a work-log entry written, the audit log told, and
    ``task_completed`` sent to the plugins after the commit. The entry's duration is
    ``duration_minutes``, or ``work_duration``'s when None; its category ``category``, or
    the task type's duty; its time ``occurred_at``, or now."""
    _require(can_edit_task(actor, task))
    _require_open(task)
    if duration_minutes is not None:
        _check_work(mode, duration_minutes)
    kind = task_type_for(task)
    category = category or kind.duty
    if category is not None:
        check_category(category)
    data, errors = validate_task_data(kind, formdata, locale=locale)
    if errors:
        raise ValidationError(N_("Please correct the marked fields."), errors=errors)
    if duration_minutes is None:
        duration_minutes = work_duration(task, kind, data)
    _check_work(mode, duration_minutes)
    now = clock.now_utc()
    occurred_at = clock.as_utc(occurred_at) if occurred_at is not None else now
    subject = subject_of(kind, data)
    with transaction():
        done = (Task.update(status="done", data=data, subject=subject,
                            completed_at=now, completed_by=actor, updated_at=now)
                .where((Task.id == task.id) & Task.status.in_(OPEN_STATUSES)).execute())
        if not done:  # completed or cancelled by someone else meanwhile
            raise ValidationError(N_("This task was changed meanwhile; open it again."))
        task.status, task.data, task.subject = "done", data, subject
        task.completed_at, task.completed_by, task.updated_at = now, actor, now
        _write_work_log(actor, task, kind, mode=mode, result=result,
                        duration_minutes=duration_minutes, occurred_at=occurred_at,
                        category=category)
        record(actor, "task.complete", obj=task,
               detail={"program": task.program, "task_type": task.task_type,
                       "subject_set": task.subject is not None})
        progress_tally.count_again(task)
        notify("task_completed", task=task)
    return task


# --- reading the data --------------------------------------------------------------------

def task_data_for(user: User | None, task: Task, *, address: str = "") -> dict:
    """The task's form data as ``user`` may see it on its page (``core.privacy``: the
    fields they may not see read ``MASK``); the read is audited (``read_task``)."""
    return read_task(user, task, address=address).data


# --- recurring tasks (Schedule) ----------------------------------------------------------

def _day_matcher(cron: dict):
    from huey import crontab
    return crontab(day=cron.get("day", "*"), month=cron.get("month", "*"),
                   day_of_week=cron.get("day_of_week", "*"))


def next_firing_day(cron: dict, after: dt.date) -> dt.date | None:
    """The first day after ``after`` on which ``cron`` fires (within a year)."""
    matches = _day_matcher(cron)
    for offset in range(1, 367):
        day = after + dt.timedelta(days=offset)
        if matches(dt.datetime.combine(day, dt.time.min)):
            return day
    return None


def _schedule_units(schedule: Schedule) -> list[dict]:
    """One unit per village with an active pairing, per town, or the district."""
    if schedule.scope == "village":
        query = (Pairing.select(Village.code, Village.id, Village.town, Pairing.lawyer)
                 .join(Village).where(Pairing.status == "active").order_by(Village.code))
        return [dict(unit=code, level="village", village=village_id, town=town_id,
                     assignee=lawyer_id) for code, village_id, town_id, lawyer_id in query.tuples()]
    if schedule.scope == "town":
        return [dict(unit=code, level="town", village=None, town=town_id, assignee=None)
                for code, town_id in Town.select(Town.code, Town.id).order_by(Town.code).tuples()]
    return [dict(unit="district", level="district", village=None, town=None, assignee=None)]


def create_scheduled_tasks(schedule: Schedule, fired_at: dt.datetime) -> int:
    """The tasks of one firing of ``schedule`` at ``fired_at`` (district wall-clock time):
    one per unit, keyed "<schedule>:<unit>:<YYYY-MM-DDTHH:MM>", due the day before the
    next firing. Idempotent: a unit that has its task for this firing gets no second one.
    Returns how many were created."""
    kind = task_type_for(schedule.task_type)
    period = fired_at.strftime("%Y-%m-%dT%H:%M")
    next_day = next_firing_day(schedule.cron, fired_at.date())
    due_on = next_day - dt.timedelta(days=1) if next_day else None
    now = clock.now_utc()
    rows = [dict(program=kind.program, task_type=kind.slug, level=unit["level"],
                 village=unit["village"], town=unit["town"], assignee=unit["assignee"],
                 title=schedule.name, due_on=due_on, data={}, status="open",
                 schedule_key=f"{schedule.slug}:{unit['unit']}:{period}",
                 created_at=now, updated_at=now)
            for unit in _schedule_units(schedule)]
    with transaction():
        keys = [row["schedule_key"] for row in rows]
        existing = {key for key, in Task.select(Task.schedule_key)
                    .where(Task.schedule_key.in_(keys)).tuples()}
        missing = [row for row in rows if row["schedule_key"] not in existing]
        if missing:
            # a second consumer racing on the same firing: the unique key keeps one, and
            # the rows stamped with this run's ``now`` are the ones it created
            Task.insert_many(missing).on_conflict_ignore().execute()
            created = (Task.select().where(Task.schedule_key.in_(
                [row["schedule_key"] for row in missing]) & (Task.created_at == now)).count())
            if created:
                record(None, "task.schedule_create",
                       detail={"schedule": schedule.slug, "period": period, "count": created})
            return created
    return 0
