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

Every entry has a category: which of the lawyer's ten duties in the plan (四.1–10,
``core.vocabulary.DUTIES``) the service was. A lawyer chooses it when logging; a completed
task's entry takes its task type's duty (``TaskType.duty``); a held session or publicity
event is legal publicity and consultation (四.2). Entries from before categories existed
may have none (未分类) until someone corrects them.

Corrections (``edit_entry``): the entry's author (``core.access.is_record_author``: its
lawyer, the coordinators of its village) may change it, and add or remove its photos
(``add_photo``, ``remove_photo``), for ``JIEDUI_RECORDS_EDIT_DAYS`` days after it was
written (``core.access.record_edit_until``); then it is locked. Every change is audited
with each changed field's value before and after (``worklog.update``). An entry a task or a
held event wrote keeps its village and time (they are the task's and the event's); its
content, result, category, mode and duration can be completed.

Photos (``WorkLogPhoto``) are re-encoded without their metadata and stored by
``core.photos``, with a small copy for thumbnails; they are served only to a reader who may
read the entry in full (``photo_for``): never to one who sees a task's entry restricted
(``core.privacy``), whose photo would show what the restriction hides.
"""
import datetime as dt
from pathlib import Path

from peewee import JOIN, fn

from core import clock, photos, spreadsheet
from core.access import (can_log_for, can_manage_village, can_read_log, record_filter,
                         require_record_edit)
from core.audit import record
from core.db import transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from core.models import (DUTIES, WORK_MODES, CaseFile, Event, Lawyer, Pairing, User, Village,
                         WorkLog, WorkLogPhoto)
from core.privacy import audit_views, log_views
from core.text import clean_text

MAX_DURATION = 24 * 60
CONTENT_MAX = 5000
FUTURE_SLACK = dt.timedelta(minutes=5)  # clocks of phones and servers differ a little
# What a held event's entry says it was (domain words, stored as data): "在东浜村坐班", then
# what the lawyer said at the sign-out, or what a session usually is when nothing was said
HELD_CONTENT = {"session": "在{village}坐班", "publicity": "在{village}开展现场法制宣传"}
HELD_USUALLY = {"session": "，接待村(居)民法律咨询"}
HELD_DUTY = "publicity"  # 四.2: regular legal publicity, answering legal questions
MAX_PHOTOS = 9  # photos of one entry (a phone's share sheet sends at most nine)
THUMB_SIDE = 320  # pixels, the thumbnails' longest side
NOT_FOUND = N_("There is no such work-log entry, or you may not open it.")

EXPORT_COLUMNS = ("occurred_at", "lawyer", "village", "mode", "category", "duration_minutes",
                  "content", "result", "case")


# --- the rules ---------------------------------------------------------------------------

def check_work(mode: str, duration_minutes) -> None:
    """How the service was given, and for how long (0 to 24 hours, whole minutes)."""
    if mode not in WORK_MODES:
        raise ValidationError(N_("Choose how the service was given."), field="mode")
    if isinstance(duration_minutes, bool) or not isinstance(duration_minutes, int) \
            or not 0 <= duration_minutes <= MAX_DURATION:
        raise ValidationError(N_("The duration must be between 0 and %(max)s minutes."),
                              field="duration_minutes", max=MAX_DURATION)


def check_category(category) -> str:
    """One of the lawyer's ten duties (``DUTIES``)."""
    if category not in DUTIES:
        raise ValidationError(N_("Choose which of the lawyer's duties the service was."),
                              field="category")
    return category


def _check_content(content) -> str:
    return clean_text(content, "content", CONTENT_MAX,
                      required=N_("Say what the service was."))


def _check_result(result) -> str:
    return clean_text(result, "result", CONTENT_MAX)


def _check_time(occurred_at) -> dt.datetime:
    if occurred_at is None:
        raise ValidationError(N_("Give the date and time of the service."), field="occurred_at")
    occurred_at = clock.as_utc(occurred_at)
    if occurred_at > clock.now_utc() + FUTURE_SLACK:
        raise ValidationError(N_("A service can be logged only once it has happened."),
                              field="occurred_at")
    return occurred_at


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
                category: str | None, result: str = "",
                case: CaseFile | None = None) -> WorkLog:
    """Write one work-log entry; a broken rule raises and writes nothing. ``occurred_at``
    is an instant (aware, or naive UTC) not in the future; ``category`` one of the lawyer's
    ten duties (``DUTIES``)."""
    if village is None:
        raise ValidationError(N_("Choose the village served."), field="village")
    _require_scope(actor, lawyer, village)
    content = _check_content(content)
    check_category(category)
    check_work(mode, duration_minutes)
    occurred_at = _check_time(occurred_at)
    result = _check_result(result)
    _check_case(case, lawyer)
    with transaction():
        entry = WorkLog.create(lawyer=lawyer, village=village, occurred_at=occurred_at,
                               duration_minutes=duration_minutes, mode=mode, content=content,
                               result=result, category=category,
                               case_id=case.id if case is not None else None,
                               created_by=actor, created_at=clock.now_utc())
        record(actor, "worklog.create", obj=entry,
               detail={"lawyer": lawyer.id, "village": village.id, "mode": mode,
                       "category": category})
    return entry


# --- corrections ---------------------------------------------------------------------------

EDITABLE = ("village", "occurred_at", "duration_minutes", "mode", "category", "content",
            "result", "case")
FIXED_WHEN_AUTOMATIC = ("village", "occurred_at")  # the task's or the event's


def is_automatic(entry: WorkLog) -> bool:
    """Written by a completed task or a held event, not logged by hand."""
    return bool(entry.task_id or entry.event_id)


def editable_fields(entry: WorkLog) -> tuple[str, ...]:
    fixed = FIXED_WHEN_AUTOMATIC if is_automatic(entry) else ()
    return tuple(name for name in EDITABLE if name not in fixed)


def _audited(name: str, value):
    """A field's value as the audit log keeps it (JSON)."""
    if isinstance(value, dt.datetime):
        return clock.to_local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _current(entry: WorkLog, name: str):
    if name == "village":
        return entry.village_id
    if name == "case":
        return entry.case_id
    return getattr(entry, name)


def _checked_change(entry: WorkLog, name: str, value):
    """A new value of one field, checked as ``log_service`` checks it; stored form."""
    lawyer = entry.lawyer
    if name == "village":
        if value is None:
            raise ValidationError(N_("Choose the village served."), field="village")
        if not _is_paired(lawyer, value):
            raise ValidationError(N_("%(lawyer)s is not paired with %(village)s."),
                                  field="village", lawyer=lawyer.name, village=value.name)
        return value.id
    if name == "occurred_at":
        return _check_time(value)
    if name == "category":
        return check_category(value)
    if name == "content":
        return _check_content(value)
    if name == "result":
        return _check_result(value)
    if name == "case":
        if value is not None and value.id != entry.case_id:
            _check_case(value, lawyer)
        return value.id if value is not None else None
    return value  # mode and duration: checked together below


def edit_entry(actor: User | None, entry: WorkLog, **changes) -> WorkLog:
    """Correct ``entry``: some of ``village`` (a Village), ``occurred_at``,
    ``duration_minutes``, ``mode``, ``category``, ``content``, ``result`` and ``case`` (a
    CaseFile or None). Only its author, until it is locked; an automatic entry keeps its
    village and time. Each changed field is audited with its value before and after
    (``worklog.update``); nothing is written when a value is refused or nothing changed."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"unknown work-log fields {sorted(unknown)}")
    entry = WorkLog.get_by_id(entry.id)  # as stored: "before" is what the audit says
    require_record_edit(actor, entry)
    fixed = sorted(set(changes) - set(editable_fields(entry)))
    if fixed:
        raise ValidationError(N_("The village and the time of an entry written by a task or "
                                 "a session are those of the task or the session."),
                              field=fixed[0])
    if actor is not None and actor.role == "coordinator" and "village" in changes \
            and changes["village"] is not None \
            and not can_manage_village(actor, changes["village"]):
        raise PermissionDenied(N_("You may not log services for %(village)s."),
                               village=changes["village"].name)
    values = {name: _checked_change(entry, name, value) for name, value in changes.items()}
    check_work(values.get("mode", entry.mode),
               values.get("duration_minutes", entry.duration_minutes))
    before = {name: _current(entry, name) for name in values}
    changed = [name for name in values if values[name] != before[name]]
    if not changed:
        return entry
    columns = {"case": "case_id"}  # the entry keeps its case file's id, not a reference
    with transaction():
        WorkLog.update(**{columns.get(n, n): values[n] for n in changed}) \
            .where(WorkLog.id == entry.id).execute()
        record(actor, "worklog.update", obj=entry,
               detail={"before": {n: _audited(n, before[n]) for n in changed},
                       "after": {n: _audited(n, values[n]) for n in changed}})
    return WorkLog.get_by_id(entry.id)


def get_entry(user: User | None, entry_id: int) -> WorkLog:
    """The entry, or NotFound when it does not exist or ``user`` may not read it."""
    entry = logs_visible_to(user).where(WorkLog.id == entry_id).first()
    if entry is None:
        raise NotFound(NOT_FOUND)
    return entry


def reads_in_full(user: User | None, entry: WorkLog) -> bool:
    """Does ``user`` read ``entry`` as it is (not an entry of a task they see restricted)?"""
    if not can_read_log(user, entry):
        return False
    view = log_views(user, [entry]).get(entry.id)
    return view is None or not view[1].masked


# --- photos ---------------------------------------------------------------------------------

def entry_photos(entry: WorkLog) -> list[WorkLogPhoto]:
    return list(WorkLogPhoto.select().where(WorkLogPhoto.entry == entry.id)
                .order_by(WorkLogPhoto.uploaded_at, WorkLogPhoto.id))


def photo_counts(entries) -> dict[int, int]:
    """entry id -> how many photos it has (one query for a page of entries)."""
    ids = [entry.id for entry in entries]
    if not ids:
        return {}
    return dict(WorkLogPhoto.select(WorkLogPhoto.entry, fn.COUNT(WorkLogPhoto.id))
                .where(WorkLogPhoto.entry.in_(ids)).group_by(WorkLogPhoto.entry).tuples())


def add_photo(actor: User | None, entry: WorkLog, stream) -> WorkLogPhoto:
    """Check, re-encode (no EXIF, no GPS) and store an uploaded photo (``stream``: a binary
    file object) of ``entry``, with its thumbnail; its author only, until it is locked, at
    most ``MAX_PHOTOS`` per entry. Audited (``worklog.photo_add``)."""
    require_record_edit(actor, entry)
    if WorkLogPhoto.select().where(WorkLogPhoto.entry == entry.id).count() >= MAX_PHOTOS:
        raise ValidationError(N_("An entry has at most %(max)s photos."), field="file",
                              max=MAX_PHOTOS)
    data = photos.read_photo(stream)
    path, sha256 = photos.store_photo(data)
    thumb, _thumb_sha = photos.store_photo(photos.reencode_photo(data, longest=THUMB_SIDE))
    width, height = photos.pixel_size(data)
    with transaction():
        photo = WorkLogPhoto.create(entry=entry.id, path=path, thumb=thumb, sha256=sha256,
                                    size=len(data), width=width, height=height,
                                    uploaded_by=actor)
        record(actor, "worklog.photo_add", obj=entry,
               detail={"photo": photo.id, "sha256": sha256, "size": len(data)})
    return photo


def remove_photo(actor: User | None, photo: WorkLogPhoto) -> None:
    """Take a photo off its entry (its author, until the entry is locked). Audited
    (``worklog.photo_remove``); the file stays, as attachments' files do, and is no longer
    served."""
    entry = photo.entry
    require_record_edit(actor, entry)
    with transaction():
        photo.delete_instance()
        record(actor, "worklog.photo_remove", obj=entry,
               detail={"photo": photo.id, "sha256": photo.sha256})


def photo_for(user: User | None, photo_id: int, *, thumbnail: bool = False,
              address: str = "") -> tuple[WorkLogPhoto, Path]:
    """(photo, its file) for a reader who may read its entry in full; NotFound otherwise,
    as for a photo that does not exist. Opening the photo itself (not its thumbnail) is
    audited (``worklog.photo_view``), as reads of case files' attachments are."""
    photo = WorkLogPhoto.get_or_none(WorkLogPhoto.id == photo_id)
    if photo is None or not reads_in_full(user, photo.entry):
        raise NotFound(N_("There is no such photo, or you may not open it."))
    path = photos.stored_picture(photo.thumb if thumbnail else photo.path)
    if path is None:
        raise NotFound(N_("The file is missing."))
    if not thumbnail:
        record(user, "worklog.photo_view", obj=photo.entry,
               detail={"photo": photo.id}, address=address)
    return photo, path


def _held_times(event: Event) -> dict:
    minutes = int((event.held_end - event.held_start).total_seconds() // 60)
    return dict(occurred_at=event.held_start,
                duration_minutes=max(0, min(minutes, MAX_DURATION)))


def held_content(event: Event, village_name: str | None = None, content: str = "") -> str:
    """What a held event's entry says was done, and where: "在东浜村坐班：<content>" with what
    the lawyer said at the sign-out, else "在东浜村坐班，接待村(居)民法律咨询"."""
    if village_name is None:
        village_name = event.village.name if event.village_id else ""
    words = HELD_CONTENT.get(event.kind)
    if not (words and village_name):
        done = event.title or event.kind
        return f"{done}：{content}" if content else done
    done = words.format(village=village_name)
    return f"{done}：{content}" if content else done + HELD_USUALLY.get(event.kind, "")


def _held_entry(actor: User | None, event: Event, village_name: str | None = None,
                content: str = "", result: str = "") -> dict:
    """The fields of the work-log entry a held event writes."""
    return dict(lawyer=event.lawyer_id, village=event.village_id, mode="onsite",
                content=held_content(event, village_name, content), result=result,
                category=HELD_DUTY, event=event.id, created_by=actor,
                created_at=clock.now_utc(), **_held_times(event))


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
            words = {"content": held_content(event, content=content)} if content else {}
            if result:
                words["result"] = result
            WorkLog.update(**_held_times(event), **words).where(WorkLog.id == entry.id).execute()
        return entry
    return WorkLog.create(**_held_entry(actor, event, content=content, result=result))


def log_held_events(actor: User | None, events) -> int:
    """``log_held_event`` for many events at once (a bulk load): adds the entries of the
    held events that have none yet, in a few statements. Returns how many were added."""
    events = [event for event in events if _is_loggable(event)]
    logged = {event_id for (event_id,) in WorkLog.select(WorkLog.event)
              .where(WorkLog.event.in_([event.id for event in events])).tuples()}
    names = dict(Village.select(Village.id, Village.name)
                 .where(Village.id.in_({event.village_id for event in events})).tuples())
    rows = [_held_entry(actor, event, names.get(event.village_id, ""))
            for event in events if event.id not in logged]
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


UNCATEGORISED = "none"  # the category filter's value for the entries without one


def filter_logs(query, *, lawyer_id: int | None = None, village_id: int | None = None,
                mode: str | None = None, category: str | None = None,
                date_from: dt.date | None = None, date_to: dt.date | None = None):
    """Narrow a query of ``logs_visible_to``; dates are district dates, both included;
    ``category`` a duty, or ``UNCATEGORISED`` for the entries without one."""
    if category == UNCATEGORISED:
        query = query.where(WorkLog.category.is_null())
    elif category:
        query = query.where(WorkLog.category == category)
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
                mode_labels: dict[str, str] | None = None,
                category_labels: dict[str | None, str] | None = None,
                user: User | None = None, address: str = "", progress=None) -> bytes:
    """The entries of ``query`` as an .xlsx workbook (bytes). ``headers`` maps each of
    ``EXPORT_COLUMNS`` to its (translated) heading; ``mode_labels`` names the modes,
    ``category_labels`` the duties (its key None: the entries without one).
    Times are in the district's zone; an entry of a task shows what ``user`` may see of
    it (``core.privacy``). The export is audited. ``progress(done, total)``, if given, is
    told how many rows are made (a long job's bar, ``core.longwork``)."""
    headers, mode_labels = headers or {}, mode_labels or {}
    category_labels = category_labels or {}
    entries = list(query)
    if progress is not None:
        progress(0, len(entries))  # the bar knows its length before the rows are read
    numbers = case_numbers(entries)
    of_tasks = log_views(user, entries)
    lines = {entry_id: line for entry_id, (line, _view) in of_tasks.items()}
    rows = []
    for done, entry in enumerate(entries):
        if progress is not None:
            progress(done, len(entries))
        line = lines.get(entry.id)
        rows.append([line.occurred_at if line else
                     clock.to_local(entry.occurred_at).replace(tzinfo=None),
                     entry.lawyer.name, entry.village.name if entry.village_id else "",
                     mode_labels.get(entry.mode, entry.mode),
                     category_labels.get(entry.category, entry.category or ""),
                     line.duration_minutes if line else entry.duration_minutes,
                     line.content if line else entry.content,
                     line.result if line else entry.result, numbers.get(entry.case_id, "")])
    workbook = spreadsheet.workbook()
    spreadsheet.add_sheet(
        workbook, "worklog", [headers.get(column, column) for column in EXPORT_COLUMNS], rows,
        widths={index: 50 if column in ("content", "result") else 18
                for index, column in enumerate(EXPORT_COLUMNS)},
        formats={0: "yyyy-mm-dd hh:mm"})
    if progress is not None:
        progress(len(entries), len(entries))
    record(user, "worklog.export", address=address, detail={"entries": len(entries)})
    audit_views(user, [view for _line, view in of_tasks.values()], via="worklog",
                address=address)
    return spreadsheet.to_bytes(workbook)
