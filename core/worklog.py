"""The work log (工作日志, DOMAIN 五.2): every service a lawyer gives, with its time,
duration, village, mode, content and result.

Entries come from three places, all written here or checked by the rules here: a lawyer
(or a coordinator for a lawyer of their scope) logs a service with ``log_service``; a
completed task writes its entry (``core.tasks``, which checks mode and duration with
``check_work``); a held session or publicity event writes one through ``log_held_event``.

Who reads what (``logs_visible_to``): administrators everything, coordinators the entries
of the villages of their scope, lawyers their own entries, village users none. The entry a
task wrote is shown as its task is to the reader (``core.privacy.log_views``: of a
sensitive task they may not see, only its type and month), here and on the task's page.
"""
import datetime as dt

from peewee import JOIN

from core import clock, spreadsheet
from core.access import can_log_for, can_manage_village, record_filter
from core.audit import record
from core.db import transaction
from core.errors import PermissionDenied, ValidationError
from core.i18n import N_
from core.models import (WORK_MODES, CaseFile, Event, Lawyer, Pairing, User, Village,
                         WorkLog)
from core.privacy import audit_views, log_views

MAX_DURATION = 24 * 60
CONTENT_MAX = 5000
FUTURE_SLACK = dt.timedelta(minutes=5)  # clocks of phones and servers differ a little
HELD_CONTENT = {"session": "坐班", "publicity": "现场法制宣传"}  # domain words, stored as data

EXPORT_COLUMNS = ("occurred_at", "lawyer", "village", "mode", "duration_minutes", "content",
                  "result", "case")


# --- the rules ---------------------------------------------------------------------------

def check_work(mode: str, duration_minutes) -> None:
    """How the service was given, and for how long (0 to 24 hours, whole minutes)."""
    if mode not in WORK_MODES:
        raise ValidationError(N_("Choose how the service was given."), field="mode")
    if isinstance(duration_minutes, bool) or not isinstance(duration_minutes, int) \
            or not 0 <= duration_minutes <= MAX_DURATION:
        raise ValidationError(N_("The duration must be between 0 and %(max)s minutes."),
                              field="duration_minutes", max=MAX_DURATION)


def _is_paired(lawyer: Lawyer, village: Village) -> bool:
    """Has the lawyer served the village (a pairing now or before)? A lawyer may log a
    service given before their term ended."""
    return Pairing.select().where((Pairing.lawyer == lawyer.id)
                                  & (Pairing.village == village.id)).exists()


def _require_scope(actor: User | None, lawyer: Lawyer, village: Village) -> None:
    if not can_log_for(actor, lawyer):
        raise PermissionDenied(N_("You may log only your own services."))
    if actor is not None and actor.role != "lawyer" and not can_manage_village(actor, village):
        raise PermissionDenied(N_("You may not log services for %(village)s."),
                               village=village.name)
    if not _is_paired(lawyer, village):
        raise ValidationError(N_("%(lawyer)s is not paired with %(village)s."),
                              field="village", lawyer=lawyer.name, village=village.name)


def _check_case(case: CaseFile | None, lawyer: Lawyer) -> None:
    if case is None:
        return
    if case.lawyer_id != lawyer.id:
        raise ValidationError(N_("The case %(number)s belongs to another lawyer."),
                              field="case", number=case.number)
    if case.status != "open":
        raise ValidationError(N_("The case %(number)s is closed."), field="case",
                              number=case.number)


def log_service(actor: User | None, *, lawyer: Lawyer, village: Village,
                occurred_at: dt.datetime, duration_minutes: int, mode: str, content: str,
                result: str = "", case: CaseFile | None = None) -> WorkLog:
    """Write one work-log entry; a broken rule raises and writes nothing. ``occurred_at``
    is an instant (aware, or naive UTC) not in the future."""
    if village is None:
        raise ValidationError(N_("Choose the village served."), field="village")
    _require_scope(actor, lawyer, village)
    content = (content or "").strip()
    if not content:
        raise ValidationError(N_("Say what the service was."), field="content")
    if len(content) > CONTENT_MAX:
        raise ValidationError(N_("The content may have at most %(max)s characters."),
                              field="content", max=CONTENT_MAX)
    check_work(mode, duration_minutes)
    if occurred_at is None:
        raise ValidationError(N_("Give the date and time of the service."), field="occurred_at")
    occurred_at = clock.as_utc(occurred_at)
    if occurred_at > clock.now_utc() + FUTURE_SLACK:
        raise ValidationError(N_("A service can be logged only once it has happened."),
                              field="occurred_at")
    _check_case(case, lawyer)
    with transaction():
        entry = WorkLog.create(lawyer=lawyer, village=village, occurred_at=occurred_at,
                               duration_minutes=duration_minutes, mode=mode, content=content,
                               result=(result or "").strip(),
                               case_id=case.id if case is not None else None,
                               created_by=actor)
        record(actor, "worklog.create", obj=entry,
               detail={"lawyer": lawyer.id, "village": village.id, "mode": mode})
    return entry


def _held_times(event: Event) -> dict:
    minutes = int((event.held_end - event.held_start).total_seconds() // 60)
    return dict(occurred_at=event.held_start,
                duration_minutes=max(0, min(minutes, MAX_DURATION)))


def _held_content(event: Event, content: str = "") -> str:
    """坐班, or 坐班：<what was done> when the lawyer said it (at the sign-out)."""
    kind = HELD_CONTENT.get(event.kind) or event.title or event.kind
    return f"{kind}：{content}" if content else kind


def _held_entry(actor: User | None, event: Event, content: str = "",
                result: str = "") -> dict:
    """The fields of the work-log entry a held event writes."""
    return dict(lawyer=event.lawyer_id, village=event.village_id, mode="onsite",
                content=_held_content(event, content), result=result,
                event=event.id, created_by=actor, **_held_times(event))


def _is_loggable(event: Event) -> bool:
    return bool(event.lawyer_id) and event.status == "held" and event.held_start is not None


def log_held_event(actor: User | None, event: Event, *, content: str = "",
                   result: str = "") -> WorkLog | None:
    """The work-log entry of a held session or publicity event: one per event, saying
    ``content`` (what was done) and ``result`` when given (a sign-out gives both). Recording
    it again corrects the times of the entry it wrote (and its words, when given); an entry
    a completed task wrote for the event stands for it, and none is added."""
    if not _is_loggable(event):
        return None
    entry = WorkLog.select().where(WorkLog.event == event.id).order_by(WorkLog.id).first()
    if entry is not None:
        if entry.task_id is None:  # ours (a logged service never names an event)
            words = {"content": _held_content(event, content)} if content else {}
            if result:
                words["result"] = result
            WorkLog.update(**_held_times(event), **words).where(WorkLog.id == entry.id).execute()
        return entry
    return WorkLog.create(**_held_entry(actor, event, content, result))


def log_held_events(actor: User | None, events) -> int:
    """``log_held_event`` for many events at once (a bulk load): adds the entries of the
    held events that have none yet, in a few statements. Returns how many were added."""
    events = [event for event in events if _is_loggable(event)]
    logged = {event_id for (event_id,) in WorkLog.select(WorkLog.event)
              .where(WorkLog.event.in_([event.id for event in events])).tuples()}
    rows = [_held_entry(actor, event) for event in events if event.id not in logged]
    with transaction():
        for batch in range(0, len(rows), 500):
            WorkLog.insert_many(rows[batch:batch + 500]).execute()
    return len(rows)


# --- reading -----------------------------------------------------------------------------



def logs_visible_to(user: User | None):
    """The entries ``user`` may read, with lawyer and village joined, newest first."""
    return (WorkLog.select(WorkLog, Lawyer, Village)
            .join(Lawyer).switch(WorkLog).join(Village, JOIN.LEFT_OUTER)
            .where(record_filter(user, WorkLog))
            .order_by(WorkLog.occurred_at.desc(), WorkLog.id.desc()))


def filter_logs(query, *, lawyer_id: int | None = None, village_id: int | None = None,
                mode: str | None = None, date_from: dt.date | None = None,
                date_to: dt.date | None = None):
    """Narrow a query of ``logs_visible_to``; dates are district dates, both included."""
    if lawyer_id:
        query = query.where(WorkLog.lawyer == lawyer_id)
    if village_id:
        query = query.where(WorkLog.village == village_id)
    if mode:
        query = query.where(WorkLog.mode == mode)
    if date_from:
        query = query.where(WorkLog.occurred_at >= clock.utc_from_local(date_from, dt.time()))
    if date_to:
        end = clock.utc_from_local(date_to + dt.timedelta(days=1), dt.time())
        query = query.where(WorkLog.occurred_at < end)
    return query


def case_numbers(entries) -> dict[int, str]:
    ids = {entry.case_id for entry in entries if entry.case_id}
    if not ids:
        return {}
    return dict(CaseFile.select(CaseFile.id, CaseFile.number).where(CaseFile.id.in_(ids))
                .tuples())


def export_logs(query, *, headers: dict[str, str] | None = None,
                mode_labels: dict[str, str] | None = None, user: User | None = None,
                address: str = "") -> bytes:
    """The entries of ``query`` as an .xlsx workbook (bytes). ``headers`` maps each of
    ``EXPORT_COLUMNS`` to its (translated) heading; ``mode_labels`` names the modes.
    Times are in the district's zone; an entry of a task shows what ``user`` may see of
    it (``core.privacy``). The export is audited."""
    headers, mode_labels = headers or {}, mode_labels or {}
    entries = list(query)
    numbers = case_numbers(entries)
    of_tasks = log_views(user, entries)
    lines = {entry_id: line for entry_id, (line, _view) in of_tasks.items()}
    rows = []
    for entry in entries:
        line = lines.get(entry.id)
        rows.append([line.occurred_at if line else
                     clock.to_local(entry.occurred_at).replace(tzinfo=None),
                     entry.lawyer.name, entry.village.name if entry.village_id else "",
                     mode_labels.get(entry.mode, entry.mode),
                     line.duration_minutes if line else entry.duration_minutes,
                     line.content if line else entry.content,
                     line.result if line else entry.result, numbers.get(entry.case_id, "")])
    workbook = spreadsheet.workbook()
    spreadsheet.add_sheet(
        workbook, "worklog", [headers.get(column, column) for column in EXPORT_COLUMNS], rows,
        widths={index: 50 if column in ("content", "result") else 18
                for index, column in enumerate(EXPORT_COLUMNS)},
        formats={0: "yyyy-mm-dd hh:mm"})
    record(user, "worklog.export", address=address, detail={"entries": len(entries)})
    audit_views(user, [view for _line, view in of_tasks.values()], via="worklog",
                address=address)
    return spreadsheet.to_bytes(workbook)
