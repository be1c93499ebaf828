"""Programme work: tasks, the work log they write, and the audit log."""
from peewee import (SQL, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField,
                    JSONField, NodeList, TextField)

from core.clock import now_utc
from core.db import BaseModel
from core.models.calendar import Event
from core.models.organisation import Lawyer, Town, User, Village
from core.vocabulary import DUTIES, TASK_LEVELS, TASK_STATUSES, WORK_MODES  # noqa: F401 (models' API)
from core.errors import PermissionDenied
from core.i18n import N_



class Task(BaseModel):
    """A piece of programme work. ``program`` and ``task_type`` are plugin slugs; ``data``
    holds the task type's form, validated by its WTForms form; ``subject`` is the value of
    the task type's subject field (the household, the school …), copied out of ``data`` so
    that progress counts distinct subjects in one SQL aggregation on any database."""
    program = CharField(index=True)
    task_type = CharField()
    level = CharField(default="village")
    village = ForeignKeyField(Village, null=True, backref="tasks", on_delete="CASCADE")
    town = ForeignKeyField(Town, null=True, backref="tasks", on_delete="CASCADE")
    assignee = ForeignKeyField(Lawyer, null=True, backref="tasks", on_delete="SET NULL")
    assigned_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    title = CharField(default="")
    due_on = DateField(null=True, index=True)
    event = ForeignKeyField(Event, null=True, on_delete="SET NULL")  # when scheduled
    status = CharField(default="open", index=True)
    data = JSONField(default=dict)
    subject = CharField(null=True)
    schedule_key = CharField(null=True, unique=True)  # set by a Schedule: one task per period
    completed_at = DateTimeField(null=True)
    completed_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    cancel_reason = TextField(default="")
    created_at = DateTimeField(default=now_utc)
    updated_at = DateTimeField(default=now_utc)

    class Meta:
        indexes = ((("assignee", "status"), False),
                   (("status", "due_on"), False))  # the overdue ones (migration 0022)


# The lists' usual order: what is still to do first, soonest due first, no due date last,
# then by id — and the index that holds it (migration 0024), so that a page of a million
# tasks is read from the index instead of sorting them all. Written with constants (no
# parameters) and ``due_on IS NULL`` spelt out, so that SQLite and PostgreSQL match the
# index to the ORDER BY (``core.tasks.LIST_ORDER`` orders by exactly these).
TASK_LIST_ORDER = (NodeList((Task.status, SQL("IN ('done', 'cancelled')")), parens=True),
                   Task.due_on.is_null(), Task.due_on, Task.id)
Task.add_index(Task.index(*TASK_LIST_ORDER, name="task_list_order"))
# A town's done tasks by when (core.progress_tally counts a town again; migration 0025).
Task.add_index(Task.index(Task.town, Task.status, Task.completed_at, name="task_town_done"))
# A metric's done tasks by when, with all that counting them reads (a distinct subject's
# town, village and subject; the lawyer), so a metric's year is counted from the index
# alone: its weekly trend, the progress counted again per town and per lawyer (migration
# 0028; it replaces the index of program and status, its first columns).
Task.add_index(Task.index(Task.program, Task.task_type, Task.status, Task.completed_at,
                          Task.town, Task.village, Task.subject, Task.assignee,
                          name="task_metric_done"))



class WorkLog(BaseModel):
    """工作日志: one service, with its time, content, mode and result (DOMAIN 五.2)."""
    lawyer = ForeignKeyField(Lawyer, backref="work_logs", on_delete="CASCADE")
    village = ForeignKeyField(Village, null=True, backref="work_logs", on_delete="SET NULL")
    occurred_at = DateTimeField(index=True)  # UTC
    duration_minutes = IntegerField(default=0)
    mode = CharField(default="onsite")
    content = TextField()
    result = TextField(default="")
    task = ForeignKeyField(Task, null=True, backref="work_logs", on_delete="SET NULL")
    event = ForeignKeyField(Event, null=True, on_delete="SET NULL")
    case_id = IntegerField(null=True, index=True)  # the CaseFile (一案一档) it belongs to
    # which of the lawyer's ten duties (四.1–10, core.vocabulary.DUTIES); None: 未分类
    category = CharField(null=True, index=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=now_utc)


class WorkLogPhoto(BaseModel):
    """A photo of a work-log entry (the proof of a service): re-encoded, without metadata,
    stored under the uploads folder by its hash (``core.photos``), with a small copy for
    the thumbnails. ``path`` and ``thumb`` are relative to the instance folder."""
    entry = ForeignKeyField(WorkLog, backref="photos", on_delete="CASCADE")
    path = CharField()
    thumb = CharField()
    sha256 = CharField(index=True)
    size = IntegerField()
    width = IntegerField()
    height = IntegerField()
    uploaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    uploaded_at = DateTimeField(default=now_utc)


class AuditLog(BaseModel):
    """Who did or read what, when, from where. Written by services; never edited."""
    at = DateTimeField(default=now_utc, index=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    username = CharField(default="")  # kept when the user is gone
    action = CharField()  # e.g. "task.view_sensitive", "pairing.end"
    object_type = CharField(default="")
    object_id = CharField(default="")
    detail = JSONField(default=dict)
    address = CharField(default="")

    # Append-only: an entry is inserted once and never changed or removed by the app, so
    # the log can be trusted to say what happened. A whole-database reset (the demo's
    # --reset, the tests' TRUNCATE) removes the rows below the model, on purpose.
    def save(self, *args, force_insert: bool = False, **kwargs):
        if self.get_id() is not None and not force_insert:
            raise _append_only()
        return super().save(*args, force_insert=force_insert, **kwargs)

    @classmethod
    def update(cls, *args, **kwargs):
        raise _append_only()

    @classmethod
    def delete(cls):
        raise _append_only()

    def delete_instance(self, *args, **kwargs):
        raise _append_only()


def _append_only():
    return PermissionDenied(N_("The audit log cannot be changed."))


class ProgramTarget(BaseModel):
    """A district's target for a programme metric in a year, overriding the plugin's
    default (100)."""
    metric = CharField()
    year = IntegerField()
    target = IntegerField()

    class Meta:
        indexes = ((("metric", "year"), True),)
