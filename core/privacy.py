"""How much of a task a reader sees: the one rule for the task page, the task lists, the
programme ledgers (.xlsx), the work log, the progress trend, the calendar and every export.

A reader who may see a task's sensitive fields (``core.access.can_see_sensitive``: its
assignee, the coordinators of its scope, administrators, the operator) sees it **in
full**. Anyone else who may read it — a village's users, another lawyer of the village —
sees it **restricted**:

- of the form's fields only the task type's ``public_fields`` (``core.registry.TaskType``);
  every other field reads ``MASK``, filled or not, so an empty field and a hidden one look
  the same (a masked "risk signs" must not say that there were some);
- of a *sensitive* task type (one with ``sensitive_fields``) also no title (the type's
  name stands for it), no free text around it (the work log's content and result, the
  reason for cancelling), no duration and no time finer than the month: the due date,
  the completion, a scheduled slot, the work-log entry's time. In a village, the day and
  hour of a household visit say which family was visited. Its calendar slot is left out
  of the calendars such a reader opens;
- a task whose plugin is gone is treated as sensitive in every field.

Every view is audited, one entry per page view, list or export (never per field):
``task.view_sensitive`` when a reader sees filled sensitive fields of a task on its page
(``read_task``), ``task.view_masked`` when a page, a list or an export shows tasks
restricted (``read_task``, ``audit_views``), so the log says who looked at what even
when they could not see the sensitive fields.
"""
import datetime as dt
from dataclasses import dataclass

from peewee import JOIN, Expression

from core import clock
from core.access import can_see_sensitive, sensitive_task_filter
from core.audit import record
from core.models import Task, User, Village, WorkLog
from core.plugins import get_registry
from core.registry import TaskType

MASK = "***"


def month_of(value: dt.date | dt.datetime) -> str:
    """The month of a date, or of a stored instant (naive UTC) in the district: "2026-03"."""
    if isinstance(value, dt.datetime):
        value = clock.to_local(value)
    return f"{value.year:04d}-{value.month:02d}"


def _filled(value) -> bool:
    return value not in (None, "", [], {})


@dataclass(frozen=True)
class LogLine:
    """A work-log entry as one reader may see it: ``occurred_at`` in district time (naive)
    or its month as text; ``duration_minutes`` None when withheld."""
    occurred_at: dt.datetime | str
    duration_minutes: int | None
    content: str
    result: str


@dataclass(frozen=True)
class TaskView:
    """One task as one reader may see it (``task_view``)."""
    task: Task
    kind: TaskType | None  # None: the task's plugin is not loaded
    full: bool             # the reader sees everything

    @property
    def hidden_fields(self) -> tuple[str, ...]:
        """The form's fields this reader does not see (``MASK`` in their place)."""
        if self.full:
            return ()
        data = self.task.data or {}
        if self.kind is None:
            return tuple(data)
        # an allow-list: a stored field the form no longer has is not public either
        stale = (name for name in data if name not in self.kind.field_names)
        return tuple(dict.fromkeys([*self.kind.private_fields, *stale]))

    @property
    def coarse(self) -> bool:
        """Title, free text and duration withheld, times shown as their month."""
        return not self.full and (self.kind is None or self.kind.is_sensitive)

    @property
    def masked(self) -> bool:
        """Does this reader miss anything of the task?"""
        return bool(self.hidden_fields) or self.coarse

    @property
    def data(self) -> dict:
        """The form's data: the hidden fields read ``MASK``, filled or not."""
        data = dict(self.task.data or {})
        data.update(dict.fromkeys(self.hidden_fields, MASK))
        return data

    @property
    def shown_fields(self) -> list[str]:
        """The filled fields this reader sees."""
        hidden = set(self.hidden_fields)
        return [name for name, value in (self.task.data or {}).items()
                if name not in hidden and _filled(value)]

    @property
    def sensitive_shown(self) -> list[str]:
        """The filled sensitive fields this reader sees (audited as they are read)."""
        data = self.task.data or {}
        if not self.full:
            return []
        names = list(data) if self.kind is None else list(self.kind.sensitive_fields)
        return [name for name in names if _filled(data.get(name))]

    @property
    def type_name(self) -> str:
        return self.kind.name if self.kind is not None else self.task.task_type

    @property
    def title(self) -> str:
        """The task's title; the type's name for a reader who may not see it."""
        if self.coarse:
            return self.type_name
        return (self.task.title or "").strip() or self.type_name

    def time(self, value):
        """A date, or a stored instant (naive UTC), as this reader may know it: the date,
        or the instant in district time (naive), in full; else its month as text."""
        if value is None:
            return None
        if self.coarse:
            return month_of(value)
        if isinstance(value, dt.datetime):
            return clock.to_local(value).replace(tzinfo=None)
        return value

    def text(self, value: str | None) -> str:
        """Free text about the task (a reason, a result): empty when withheld."""
        return "" if self.coarse else (value or "")

    def log_line(self, entry: WorkLog) -> LogLine:
        """The task's work-log entry as this reader may see it: restricted, the entry of a
        sensitive task says only its type and month (its content repeats the title)."""
        if self.coarse:
            return LogLine(month_of(entry.occurred_at), None, self.type_name, "")
        return LogLine(self.time(entry.occurred_at), entry.duration_minutes, entry.content,
                       entry.result or "")


def task_view(user: User | None, task: Task) -> TaskView:
    """How much of ``task`` ``user`` sees (no audit: ``read_task`` and ``audit_views`` write
    it). The caller has checked that ``user`` may read the task at all."""
    return TaskView(task, get_registry().task_types.get(task.task_type),
                    can_see_sensitive(user, task))


def read_task(user: User | None, task: Task, *, address: str = "") -> TaskView:
    """A page view of one task: the view, and its audit entry — ``task.view_sensitive``
    (the filled sensitive fields shown) or ``task.view_masked`` (what was shown of a
    restricted task); nothing when there is neither."""
    view = task_view(user, task)
    if view.full:
        if view.sensitive_shown:
            record(user, "task.view_sensitive", obj=task,
                   detail={"fields": view.sensitive_shown}, address=address)
    elif view.masked:
        record(user, "task.view_masked", obj=task,
               detail={"via": "page", "shown": view.shown_fields}, address=address)
    return view


def audit_views(user: User | None, views, *, via: str, address: str = "", **detail) -> None:
    """One list or export showed ``views``: one ``task.view_masked`` entry naming the tasks
    it showed restricted (``via`` says where: "list", "ledger", "worklog" …); nothing
    when it showed none."""
    masked = [view.task.id for view in views if view.masked]
    if masked:
        record(user, "task.view_masked", address=address,
               detail={"via": via, "tasks": masked, **detail})


def log_views(user: User | None, entries) -> dict[int, tuple[LogLine, TaskView]]:
    """The work-log entries written by tasks, as ``user`` may see them: entry id -> (line,
    the task's view, for ``audit_views``), one query for the tasks. Entries of no task are
    not in it: they are shown as they are."""
    entries = [entry for entry in entries if entry.task_id]
    ids = list({entry.task_id for entry in entries})
    tasks = {task.id: task for task in  # the village read along: the access rule may ask
             Task.select(Task, Village).join(Village, JOIN.LEFT_OUTER)
             .where(Task.id.in_(ids))} if ids else {}
    result = {}
    for entry in entries:
        task = tasks.get(entry.task_id)
        if task is not None:
            view = task_view(user, task)
            result[entry.id] = (view.log_line(entry), view)
    return result


# --- the same rule as SQL ----------------------------------------------------------------

def open_task_types() -> list[str]:
    """The registered task types without sensitive fields: their title and times are
    shown to whoever may read the task."""
    return [slug for slug, kind in get_registry().task_types.items() if not kind.is_sensitive]


def full_view_filter(user: User | None) -> Expression | bool:
    """A WHERE clause on ``Task``: the tasks ``user`` sees with their title and exact times
    (``TaskView.coarse`` is false): those whose sensitive fields they may see, and those
    of a type without sensitive fields."""
    sensitive = sensitive_task_filter(user)
    if sensitive is True:
        return True
    types = open_task_types()
    open_types = Task.task_type.in_(types) if types else False
    if sensitive is False:
        return open_types
    return sensitive if open_types is False else (sensitive | open_types)


def sees_in_full(user: User | None, task_types) -> bool:
    """Whether ``user`` sees every task of these types in full (``full_view_filter``
    holds for all of them): they have no sensitive fields, or the user may see those."""
    return full_view_filter(user) is True or set(task_types) <= set(open_task_types())


def withheld_task_events(user: User | None):
    """A query of the ids of the calendar events (kind "task") whose task ``user`` sees
    only restricted: calendars leave them out (a slot's day and hour would tell). None
    when there are none to leave out."""
    full = full_view_filter(user)
    if full is True:
        return None
    query = Task.select(Task.event).where(Task.event.is_null(False))
    if full is False:
        return query
    # NOT IN over ids, not NOT(full): a NULL in full (a task with no assignee) would
    # leave the event in
    return query.where(Task.id.not_in(Task.select(Task.id).where(full)))
