"""Major-matter reports (重大事项报告, DOMAIN 五.3).

A lawyer reports a matter of one of the five categories with when it happened; a report
made after the category's deadline (``JIEDUI_MATTER_DEADLINES``) is marked late. The
coordinators of the village (or the district's) are notified at once. The bureau
acknowledges, follows up with notes and closes with a resolution. A report nobody
acknowledged within ``JIEDUI_ESCALATE_AFTER_MINUTES`` is escalated by a job: level 1
notifies the town coordinators again, level 2 (after twice the time) the district's,
level 3 (after three times the time) the leadership group of the district and of the
matter's town (``core.notify.leaders_for``).

Reads are audited, one entry per read: a report's page (``view_matter``, ``matter.view``)
and a page of the list (``audit_list``, ``matter.list`` with the ids it showed).
"""
import datetime as dt

from core import clock
from core.access import can_handle_matter, record_filter, village_filter
from core.audit import record
from core.config import get_settings
from core.db import transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import N_, gettext_for
from core.models import (MATTER_CATEGORIES, MajorMatter, MatterNote, Task, User, Village,
                         WorkLog)
from core.notify import (coordinators_for, district_coordinators, lawyer_users, leaders_for,
                         local_coordinators, notify_users)
from core.plugins import notify
from core.text import clean_text
from core.vocabulary import MATTER_CATEGORY_LABELS, MATTER_STATUS_LABELS

# the labels' one home is core.vocabulary
CATEGORY_LABELS, STATUS_LABELS = MATTER_CATEGORY_LABELS, MATTER_STATUS_LABELS
CLOCK_SKEW = dt.timedelta(minutes=5)
# Escalation: 1 the village's or town's coordinators, 2 the district's, 3 the leadership group
LAST_LEVEL = 3  # a phone's clock a little ahead is not "the future"
MAX_TITLE = 200
MAX_TEXT = 10_000


def deadlines() -> dict[str, dt.timedelta]:
    return get_settings().matter_deadlines


def link(matter: MajorMatter) -> str:
    return f"/matters/{matter.id}"


# --- who may see and handle ----------------------------------------------------------------

def matters_visible_to(user: User | None):
    """Lawyers their own reports; coordinators those of their villages (district
    coordinators also those with no village)."""
    return MajorMatter.select().where(record_filter(user, MajorMatter))


def get_matter(user: User | None, matter_id) -> MajorMatter:
    """The matter, if ``user`` may read it; else NotFound (as if it did not exist)."""
    matter = matters_visible_to(user).where(MajorMatter.id == matter_id).first()
    if matter is None:
        raise NotFound(N_("No such major matter."))
    return matter


def view_matter(user: User | None, matter_id, *, address: str = "") -> MajorMatter:
    """The matter for its page (as ``get_matter``), the read audited (``matter.view``)."""
    matter = get_matter(user, matter_id)
    record(user, "matter.view", obj=matter, address=address)
    return matter


def audit_list(user: User | None, matters, *, address: str = "") -> None:
    """One page of the list of reports was shown: one ``matter.list`` entry with the ids
    of the reports on it; nothing for an empty page."""
    ids = [matter.id for matter in matters]
    if ids:
        record(user, "matter.list", detail={"matters": ids}, address=address)


def _require_handle(user: User | None, matter: MajorMatter) -> None:
    if not can_handle_matter(user, matter):
        raise PermissionDenied(N_("Only the coordinators of the village may handle this report."))


def _require_open(matter: MajorMatter) -> None:
    if matter.status == "closed":
        raise ValidationError(N_("This report is closed."))


# --- reporting ---------------------------------------------------------------------------


def _source(actor: User, work_log, task):
    """The work-log entry and task the report comes from: they must be the lawyer's own."""
    if work_log is not None and work_log.lawyer_id != actor.lawyer_id:
        raise ValidationError(N_("This work-log entry is not yours."), field="work_log")
    if task is not None and task.assignee_id != actor.lawyer_id:
        raise ValidationError(N_("This task is not yours."), field="task")
    return work_log, task


def report_matter(actor: User, *, category: str, title: str, description: str = "",
                  occurred_at: dt.datetime, village: Village | None = None,
                  work_log: WorkLog | None = None, task: Task | None = None,
                  now: dt.datetime | None = None) -> MajorMatter:
    """A lawyer reports a major matter; returns it, marked late when reported after the
    category's deadline. Coordinators are notified; plugins hear ``major_matter_reported``."""
    if actor is None or actor.role != "lawyer" or not actor.lawyer_id:
        raise PermissionDenied(N_("Only a lawyer reports a major matter."))
    if category not in MATTER_CATEGORIES:
        raise ValidationError(N_("Choose one of the five categories."), field="category")
    title = clean_text(title, "title", MAX_TITLE, required=N_("Give the matter a title."),
                       one_line=True)  # a title is one line (an e-mail Subject, a list)
    description = clean_text(description, "description", MAX_TEXT)
    if occurred_at is None:
        raise ValidationError(N_("Say when the matter happened."), field="occurred_at")
    now = now or clock.now_utc()
    occurred_at = clock.as_utc(occurred_at)
    if occurred_at > now + CLOCK_SKEW:
        raise ValidationError(N_("The matter cannot have happened in the future."),
                              field="occurred_at")
    work_log, task = _source(actor, work_log, task)
    village = village or (work_log.village if work_log else None) or (task.village if task else None)
    if village is not None and not Village.select().where(
            (Village.id == village.id) & village_filter(actor)).exists():
        raise ValidationError(N_("You are not the lawyer of this village."), field="village")
    deadline_at = occurred_at + deadlines()[category]
    with transaction():
        matter = MajorMatter.create(
            category=category, title=title, description=description, lawyer=actor.lawyer_id,
            village=village, work_log=work_log, task=task, occurred_at=occurred_at,
            reported_at=now, deadline_at=deadline_at, late=now > deadline_at)
        record(actor, "matter.report", obj=matter,
               detail={"category": category, "late": matter.late})
        _announce(matter, coordinators_for(village), kind="matter.reported",
                  title=N_("Major matter reported: %(title)s"))
        notify("major_matter_reported", matter=matter)
    return matter


def _announce(matter: MajorMatter, users, *, kind: str, title: str, key: str | None = None,
              body: str = "") -> list:
    """An inbox message about ``matter``. Messages are stored, so they are written once in
    the district's language (``JIEDUI_LOCALE``), as the feeds are."""
    lawyer = matter.lawyer.name
    place = matter.village.name if matter.village_id else ""
    text = gettext_for(get_settings().locale)(title) % {"title": matter.title}
    details = " · ".join(part for part in (lawyer, place, body) if part)
    return notify_users(users, kind=kind, title=text, body=details, link=link(matter),
                        dedupe_key=key)


# --- handling ----------------------------------------------------------------------------

def _lawyer_users(matter: MajorMatter) -> list[User]:
    return lawyer_users([matter.lawyer_id]).get(matter.lawyer_id, [])


def acknowledge(actor: User | None, matter: MajorMatter,
                now: dt.datetime | None = None) -> MajorMatter:
    """The bureau has seen the report: escalation stops, the lawyer is told."""
    _require_handle(actor, matter)
    _require_open(matter)
    if matter.acknowledged_at is not None:
        raise ValidationError(N_("This report has been acknowledged already."))
    with transaction():
        _acknowledge(actor, matter, now or clock.now_utc())
        matter.status = "acknowledged"
        matter.save()
        record(actor, "matter.acknowledge", obj=matter)
        _announce(matter, _lawyer_users(matter), kind="matter.acknowledged",
                  title=N_("Your report was acknowledged: %(title)s"))
    return matter


def _acknowledge(actor: User | None, matter: MajorMatter, now: dt.datetime) -> None:
    if matter.acknowledged_at is None:
        matter.acknowledged_at, matter.acknowledged_by = now, actor


def add_note(actor: User | None, matter: MajorMatter, text: str,
             now: dt.datetime | None = None) -> MatterNote:
    """A follow-up step; the report is then being followed (and counts as acknowledged)."""
    _require_handle(actor, matter)
    _require_open(matter)
    text = clean_text(text, "text", MAX_TEXT, required=N_("Write what was done."))
    now = now or clock.now_utc()
    with transaction():
        note = MatterNote.create(matter=matter, user=actor, at=now, text=text)
        _acknowledge(actor, matter, now)
        matter.status = "following"
        matter.save()
        record(actor, "matter.note", obj=matter)
    return note


def close_matter(actor: User | None, matter: MajorMatter, resolution: str,
                 now: dt.datetime | None = None) -> MajorMatter:
    """Close the report with its resolution; the lawyer is told."""
    _require_handle(actor, matter)
    _require_open(matter)
    resolution = clean_text(resolution, "resolution", MAX_TEXT,
                            required=N_("Write the resolution."))
    now = now or clock.now_utc()
    with transaction():
        _acknowledge(actor, matter, now)
        matter.status, matter.resolution, matter.closed_at = "closed", resolution, now
        matter.save()
        record(actor, "matter.close", obj=matter)
        _announce(matter, _lawyer_users(matter), kind="matter.closed",
                  title=N_("Your report was closed: %(title)s"))
    return matter


# --- escalation (a job) ------------------------------------------------------------------

def _escalation_recipients(matter: MajorMatter, level: int) -> list[User]:
    """Level 1: the coordinators of the village or its town (the district's when the town
    has none); level 2: the district's; level 3: the leadership group of the matter's town
    and of the district."""
    if level >= 3:
        return leaders_for(matter.village if matter.village_id is not None else None)
    if level == 1 and matter.village_id is not None:
        local = local_coordinators(matter.village)
        if local:
            return local
    return district_coordinators()


def waiting_filter():
    """A WHERE clause on ``MajorMatter``: open and not acknowledged by anybody yet."""
    return MajorMatter.acknowledged_at.is_null() & (MajorMatter.status != "closed")


def overdue_filter(now: dt.datetime | None = None):
    """A WHERE clause on ``MajorMatter``: waiting (``waiting_filter``) past the time to
    acknowledge it (``JIEDUI_ESCALATE_AFTER_MINUTES``), i.e. due to be escalated."""
    now = now or clock.now_utc()
    return waiting_filter() & (MajorMatter.reported_at <= now - get_settings().escalate_after)


def escalate_overdue(now: dt.datetime | None = None) -> list[MajorMatter]:
    """Escalate every unacknowledged open report to the level its age calls for; returns
    those escalated now. Idempotent: the level is stored and each message has a dedupe key,
    so a second run (or two consumers) notify nobody twice."""
    now = now or clock.now_utc()
    after = get_settings().escalate_after
    pending = (MajorMatter.select()
               .where(overdue_filter(now) & (MajorMatter.escalation_level < LAST_LEVEL))
               .order_by(MajorMatter.id))
    escalated = []
    for matter in pending:
        level = min(LAST_LEVEL, (now - matter.reported_at) // after)
        if level <= matter.escalation_level:
            continue
        with transaction():
            # the level first: a second consumer escalating the same report at the same
            # moment waits for this row, then finds it escalated and does nothing
            if not MajorMatter.update(escalation_level=level, escalated_at=now).where(
                    (MajorMatter.id == matter.id)
                    & (MajorMatter.escalation_level < level)).execute():
                continue
            for step in range(matter.escalation_level + 1, level + 1):
                _announce(matter, _escalation_recipients(matter, step),
                          kind="matter.escalated", key=f"matter:{matter.id}:escalate:{step}",
                          title=N_("Not yet acknowledged: %(title)s"))
            record(None, "matter.escalate", obj=matter, detail={"level": level})
        escalated.append(MajorMatter.get_by_id(matter.id))
    return escalated
