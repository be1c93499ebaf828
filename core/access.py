"""Who may see and change what. Every service and view asks here.

Roles: ``admin`` (everything), ``coordinator`` (manages the villages of their
scope: the district, one town), ``leader`` (the leadership group, 领导小组: reads what
the coordinators of their scope read — the district, one town, or, for a firm head, the
work of one law firm's lawyers — and changes nothing), ``lawyer`` (reads their own
villages), ``village`` (reads their own village). ``actor=None`` is the operator on the
server (CLI, jobs) and is trusted.

A leader changes nothing because every predicate that admits a change names the roles
that act (a coordinator in scope, the lawyer, the village) and never ``leader``; the read
filters below answer for it. Leaders see no task's sensitive fields (they follow the
work; they do not handle a resident's case).

Tasks: who may assign, manage, edit and view a task, and see its sensitive fields
(``can_see_sensitive`` and its SQL twin ``sensitive_task_filter``). How much of a task a
reader then sees is ``core.privacy``'s rule, built on these.
"""
import datetime as dt

from peewee import Expression

from core import clock
from core.config import get_settings
from core.errors import PermissionDenied, ValidationError
from core.i18n import N_
from core.models import (CaseFile, Event, Inspection, Lawyer, MajorMatter, Pairing, Task, Town,
                         User, Village, WechatGroup, WorkLog)
from core.vocabulary import MANAGERS, READERS, ROLES

SCOPED = ("coordinator", "leader")  # roles whose scope is the district, a town (or a village)


def is_firm_head(user: User | None) -> bool:
    """A leader whose scope is one law firm: reads that firm's lawyers' work."""
    return user is not None and user.role == "leader" and user.firm_id is not None


def firm_lawyers(user: User):
    """The ids of the firm head's lawyers (a subquery)."""
    return Lawyer.select(Lawyer.id).where(Lawyer.firm == user.firm_id)


def _paired_villages(lawyers):
    """The villages ``lawyers`` (an id, or a subquery of ids) are actively paired with."""
    condition = (Pairing.lawyer.in_(lawyers) if not isinstance(lawyers, int)
                 else Pairing.lawyer == lawyers)
    return Pairing.select(Pairing.village).where(condition & (Pairing.status == "active"))


def is_district_wide(user: User | None) -> bool:
    """Reads the whole district: the operator, administrators, and the coordinators and
    leaders with no town, village or firm."""
    return user is None or user.role == "admin" or (
        user.role in SCOPED and not user.town_id and not user.village_id
        and not user.firm_id)


def village_filter(user: User | None) -> Expression | bool:
    """A WHERE clause on ``Village`` selecting the villages ``user`` may read."""
    if user is None or user.role == "admin":
        return True
    if is_firm_head(user):
        return Village.id.in_(_paired_villages(firm_lawyers(user)))
    if user.role in SCOPED:
        if user.village_id:
            return Village.id == user.village_id
        if user.town_id:
            return Village.town == user.town_id
        return True
    if user.role == "lawyer" and user.lawyer_id:
        return Village.id.in_(_paired_villages(user.lawyer_id))
    if user.role == "village" and user.village_id:
        return Village.id == user.village_id
    return False


def town_filter(user: User | None) -> Expression | bool:
    """A WHERE clause on ``Town`` selecting the towns ``user`` may read."""
    if is_district_wide(user):
        return True
    return Town.id.in_(Village.select(Village.town).where(village_filter(user)))


def record_filter(user: User | None, model) -> Expression | bool:
    """A WHERE clause on a lawyer's record (``model`` has ``lawyer`` and ``village``: work-log
    entries, case files, major-matter reports): a lawyer reads their own records, a
    coordinator those of the villages of their scope, a district coordinator all of them
    (records with no village too); a leader as a coordinator of the same scope, a firm
    head the records of the firm's lawyers."""
    if user is None or user.role == "admin":
        return True
    if user.role == "lawyer" and user.lawyer_id:
        return model.lawyer == user.lawyer_id
    if is_firm_head(user):
        return model.lawyer.in_(firm_lawyers(user))
    if user.role in SCOPED:
        villages = village_filter(user)
        if villages is True:
            return True
        return model.village.in_(Village.select(Village.id).where(villages))
    return False


def can_read_village(user: User | None, village: Village) -> bool:
    return Village.select().where((Village.id == village.id) & village_filter(user)).exists()


def can_manage_village(user: User | None, village: Village) -> bool:
    if user is None or user.role == "admin":
        return True
    if user.role != "coordinator":
        return False
    if user.village_id:
        return user.village_id == village.id
    if user.town_id:
        return user.town_id == village.town_id
    return True


def is_district_manager(user: User | None) -> bool:
    """May change what belongs to the whole district (law firms, lawyers, towns)."""
    return user is None or user.role == "admin" or (
        user.role == "coordinator" and not user.town_id and not user.village_id)


def can_edit_event(user: User | None, event) -> bool:
    """May change a calendar event (move it, record it held, cancel it) and print its rating
    codes: a coordinator of the event's village (or the district, for an event without
    one), an administrator, or the event's lawyer."""
    if user is None or user.role == "admin":
        return True
    if user.role == "coordinator":
        if event.village_id is None:
            return is_district_manager(user)
        return can_manage_village(user, event.village)
    if user.role == "lawyer":
        return user.lawyer_id is not None and user.lawyer_id == event.lawyer_id
    return False


# --- calendar ----------------------------------------------------------------------------

def can_plan(user: User | None, town: Town | None) -> bool:
    """Administrators and district coordinators plan the district or any town; a town
    coordinator plans their own town only."""
    if user is None or user.role == "admin":
        return True
    if user.role != "coordinator" or user.village_id:
        return False
    if user.town_id:
        return town is not None and town.id == user.town_id
    return True


def can_manage_event(user: User | None, event: Event) -> bool:
    """Reinstating, making up and confirming what re-planning proposes are the village's
    coordinators' (and administrators') decisions, not the lawyer's."""
    if user is None:
        return True
    return event.village_id is not None and can_manage_village(user, event.village)


def require_manage_village(user: User | None, village: Village) -> None:
    if not can_manage_village(user, village):
        raise PermissionDenied(N_("You may not manage the pairing of %(village)s."),
                               village=village.name)


def lawyer_filter(user: User | None) -> Expression | bool:
    """A WHERE clause on ``Lawyer`` selecting the lawyers ``user`` may read (as
    ``can_read_lawyer``): all for managers and leaders, a firm head's firm's, a lawyer
    themself."""
    if is_firm_head(user):
        return Lawyer.firm == user.firm_id
    if user is None or user.role in READERS:
        return True
    if user.role == "lawyer" and user.lawyer_id:
        return Lawyer.id == user.lawyer_id
    return False


def can_read_lawyer(user: User | None, lawyer: Lawyer) -> bool:
    """Managers read every lawyer (they pair them with villages), and so do leaders (a firm
    head: the firm's lawyers); a lawyer reads only themself."""
    if is_firm_head(user):
        return lawyer.firm_id == user.firm_id
    if user is None or user.role in READERS:
        return True
    return user.role == "lawyer" and user.lawyer_id == lawyer.id


# --- tasks ---------------------------------------------------------------------------

def _task_town_id(task: Task) -> int | None:
    if task.town_id:
        return task.town_id
    return task.village.town_id if task.village_id else None


def manages_town(user: User | None, town_id: int | None) -> bool:
    if is_district_manager(user):
        return True
    return (user.role == "coordinator" and not user.village_id and town_id is not None
            and user.town_id == town_id)


def can_assign(user: User | None, *, village: Village | None = None,
               town: Town | None = None) -> bool:
    """May ``user`` give out tasks for ``village``, for ``town`` (town level), or for the
    district (neither)?"""
    if village is not None:
        return can_manage_village(user, village)
    if town is not None:
        return manages_town(user, town.id)
    return is_district_manager(user)


def can_manage_task(user: User | None, task: Task) -> bool:
    """Reassign, cancel, reopen: admins, coordinators of the task's scope."""
    if is_district_manager(user):
        return True
    if user.role != "coordinator":
        return False
    if task.level == "village":
        if user.village_id:
            return user.village_id == task.village_id
        return user.town_id is not None and user.town_id == _task_town_id(task)
    if task.level == "town":
        return manages_town(user, task.town_id)
    return False


def is_assignee(user: User | None, task: Task) -> bool:
    return (user is not None and user.role == "lawyer" and user.lawyer_id is not None
            and task.assignee_id == user.lawyer_id)


def can_edit_task(user: User | None, task: Task) -> bool:
    """Start, schedule, complete: the managers of the task and its assignee."""
    return can_manage_task(user, task) or is_assignee(user, task)


def can_see_sensitive(user: User | None, task: Task) -> bool:
    """The task type's sensitive fields: only for the assignee and the coordinators of
    the task's scope (and the operator)."""
    return can_edit_task(user, task)


def can_view_task(user: User | None, task: Task) -> bool:
    """May ``user`` read ``task``: exactly the tasks ``task_filter`` selects."""
    return Task.select().where((Task.id == task.id) & task_filter(user)).exists()


def task_filter(user: User | None) -> Expression | bool:
    """A WHERE clause on ``Task`` selecting the tasks ``user`` may read: all for
    administrators and district coordinators; a town's or village's for their coordinators;
    a lawyer's own and those of the villages they are paired with; a village's own. A
    leader reads as a coordinator of the same scope; a firm head as the firm's lawyers."""
    if user is None or user.role == "admin":
        return True
    if is_firm_head(user):
        lawyers = firm_lawyers(user)
        return Task.assignee.in_(lawyers) | Task.village.in_(_paired_villages(lawyers))
    if user.role in SCOPED:
        if user.village_id:
            return (Task.level == "village") & (Task.village == user.village_id)
        if user.town_id:
            # Task.town is set for village tasks; the village test catches any that lack it
            in_town = Village.select(Village.id).where(Village.town == user.town_id)
            return (Task.town == user.town_id) | Task.village.in_(in_town)
        return True
    if user.role == "lawyer" and user.lawyer_id:
        return ((Task.assignee == user.lawyer_id)
                | Task.village.in_(_paired_villages(user.lawyer_id)))
    if user.role == "village" and user.village_id:
        return Task.village == user.village_id
    return False


def whole_towns(user: User | None) -> bool | list[int] | None:
    """The towns whose work is exactly what ``user`` may read of the programme tasks
    (``task_filter``) and of the on-site sessions (``core.calendar_views.event_filter``):
    True for all of them and the district's own, ``[town id]`` for a town's coordinator or
    leader, None when the scope is not whole towns (a lawyer, a village, a firm head). The
    figures kept per town (``core.town_tally``) serve the first two; the others are
    counted from their own tasks and events. Keep it in step with both filters."""
    if user is None or user.role == "admin":
        return True
    if is_firm_head(user):
        return None
    if user.role in SCOPED and not user.village_id:
        return [user.town_id] if user.town_id else True
    return None


def sensitive_task_filter(user: User | None) -> Expression | bool:
    """A WHERE clause on ``Task`` selecting the tasks whose sensitive fields ``user`` may
    see (as ``can_see_sensitive``): all for administrators and district coordinators, those
    of their scope for other coordinators (as ``task_filter``), their own for a lawyer,
    none for a village."""
    if user is None or user.role == "admin":
        return True
    if user.role == "coordinator":
        return task_filter(user)  # a coordinator manages every task they may read
    if user.role == "lawyer" and user.lawyer_id:
        return Task.assignee == user.lawyer_id
    return False


# --- records, groups, sheets ---------------------------------------------------------------

def can_log_for(user: User | None, lawyer: Lawyer) -> bool:
    """Lawyers log their own services; managers may log for others (scope checked on the
    village)."""
    if user is None or user.role in MANAGERS:
        return True
    return user.role == "lawyer" and user.lawyer_id == lawyer.id


def can_read_case(user: User | None, case: CaseFile) -> bool:
    """Exactly the case files ``record_filter`` selects."""
    return CaseFile.select().where((CaseFile.id == case.id) & record_filter(user, CaseFile)).exists()


def can_read_log(user: User | None, entry: WorkLog) -> bool:
    """Exactly the work-log entries ``record_filter`` selects (what the reader sees of an
    entry a task wrote is ``core.privacy``'s rule)."""
    return WorkLog.select().where((WorkLog.id == entry.id)
                                 & record_filter(user, WorkLog)).exists()


def is_record_author(user: User | None, record) -> bool:
    """Who writes a work-log entry or a case file (``record``: one of them), and so may
    correct it: the record's own lawyer, the coordinators who manage its village (they log
    services and open case files for the lawyers of their scope; the district's for a record
    without a village), administrators and the operator."""
    if user is None or user.role == "admin":
        return True
    if user.role == "lawyer":
        return user.lawyer_id is not None and user.lawyer_id == record.lawyer_id
    if user.role == "coordinator":
        if record.village_id is None:
            return is_district_manager(user)
        return can_manage_village(user, record.village)
    return False


def record_edit_until(record) -> dt.datetime:
    """Until when (a stored, naive UTC instant) a work-log entry or a case file may be
    corrected: ``JIEDUI_RECORDS_EDIT_DAYS`` (7) days after it was written; it is locked
    after that, for everyone."""
    return record.created_at + dt.timedelta(days=get_settings().records.edit_days)


def is_record_locked(record, now: dt.datetime | None = None) -> bool:
    return (now or clock.now_utc()) >= record_edit_until(record)


def can_edit_record(user: User | None, record, now: dt.datetime | None = None) -> bool:
    """Change a work-log entry or a case file (its fields, an entry's photos): its author
    (``is_record_author``) until it is locked (``record_edit_until``)."""
    return is_record_author(user, record) and not is_record_locked(record, now)


def require_record_edit(user: User | None, record) -> None:
    """``can_edit_record`` or a refusal that says why: not its author (PermissionDenied),
    or locked since when (a ValidationError, nothing changed)."""
    if not is_record_author(user, record):
        raise PermissionDenied(N_("Only the author of this record may change it."))
    if is_record_locked(record):
        until = clock.to_local(record_edit_until(record))
        raise ValidationError(N_("This record was locked on %(until)s; it can no longer be "
                                 "changed."), until=until.strftime("%Y-%m-%d %H:%M"))


def can_handle_matter(user: User | None, matter: MajorMatter) -> bool:
    """Acknowledge, follow up, close: administrators and the coordinators in scope."""
    if matter.village_id is None:
        return is_district_manager(user)
    return can_manage_village(user, matter.village)


def can_read_group(user: User | None, group: WechatGroup) -> bool:
    """Those who manage the village, and the group's own paired lawyer; leaders those of
    their scope (a firm head: the groups of the firm's lawyers' pairings)."""
    pairing = group.pairing
    if can_manage_village(user, pairing.village):
        return True
    if user.role == "leader":
        return can_read_sheet(user, pairing)
    return user.role == "lawyer" and user.lawyer_id == pairing.lawyer_id


def can_change_group(user: User | None, group: WechatGroup) -> bool:
    """Members and group details: those who manage the village."""
    return can_manage_village(user, group.pairing.village)


def can_read_sheet(user: User | None, pairing: Pairing) -> bool:
    """A pairing's assessment sheet and quota row: its own lawyer (an ended pairing too),
    and the managers and leaders of its village; a firm head's lawyers' (ended ones too) —
    exactly the pairings ``sheet_filter`` selects."""
    if user is None:
        return True
    if user.role == "lawyer":
        return bool(user.lawyer_id) and pairing.lawyer_id == user.lawyer_id
    if is_firm_head(user):
        return pairing.lawyer.firm_id == user.firm_id
    return user.role in READERS and can_read_village(user, pairing.village)


def can_read_long_job(user: User | None, job) -> bool:
    """A queued job's progress, message and file (``core.longwork``): the user who asked
    for it, and an administrator; the operator (None) too. Anyone else is told there is no
    such job, so a job's number gives nothing away."""
    if user is None:
        return True
    return job.user_id == user.id or user.role == "admin"


def sheet_filter(user: User | None) -> Expression | bool:
    """A WHERE clause on ``Pairing`` selecting the pairings whose quota row and assessment
    sheet ``user`` may read (``can_read_sheet``): a lawyer's own, ended ones too; those of
    the villages a manager may read; none for a village user."""
    return lawyer_work_filter(user, Pairing)


def lawyer_work_filter(user: User | None, model) -> Expression | bool:
    """A WHERE clause on rows that judge a lawyer's work in a village (``model`` has
    ``lawyer`` and ``village``: pairings' sheets, inspections): a lawyer's own, ended
    pairings' too; a firm head's, the firm's lawyers'; a manager's or leader's, those of the
    villages of their scope; none for a village user."""
    if user is None or user.role == "admin":
        return True
    if user.role == "lawyer":
        return model.lawyer == user.lawyer_id if user.lawyer_id else False
    if is_firm_head(user):
        return model.lawyer.in_(firm_lawyers(user))
    if user.role not in READERS:
        return False
    villages = village_filter(user)
    if villages is True or villages is False:
        return villages
    return model.village.in_(Village.select(Village.id).where(villages))


def sheet_village_filter(user: User | None) -> Expression | bool:
    """A WHERE clause on ``Village``: the villages with a pairing in ``sheet_filter``. A
    village's quota is shared among its pairings of the year (a replacement splits it), so
    the quota and the assessment load every pairing of these villages and then keep the
    readable ones (``sheet_pairings``)."""
    if user is not None and (user.role == "lawyer" or is_firm_head(user)):
        pairings = sheet_filter(user)
        if pairings is False:
            return False
        return Village.id.in_(Pairing.select(Pairing.village).where(pairings))
    return village_filter(user) if user is None or user.role in READERS else False


def sheet_pairings(user: User | None, pairings) -> list[Pairing]:
    """Of ``pairings`` (of the villages ``sheet_village_filter`` selects), those whose
    sheet ``user`` may read, without a query: a lawyer's own; a manager's all (the village
    filter chose them); a firm head's lawyers'."""
    if user is not None and user.role == "lawyer":
        return [p for p in pairings if user.lawyer_id and p.lawyer_id == user.lawyer_id]
    if is_firm_head(user):
        lawyers = {lawyer.id for lawyer in firm_lawyers(user)}
        return [p for p in pairings if p.lawyer_id in lawyers]
    return list(pairings)


# --- what a village asks of its lawyer (core.village_requests) ------------------------------

def speaks_for_village(user: User | None, village: Village) -> bool:
    """Invite the lawyer, pass on a resident's demand, confirm or dispute a session: the
    village's own users (and the operator), nobody else — not even a coordinator."""
    if user is None:
        return True
    return user.role == "village" and user.village_id == village.id


def is_village_lawyer(user: User | None, village: Village) -> bool:
    """Answer the village's invitations and demands: the lawyer of its active pairing (a
    replacement passes what is pending to the new lawyer with the pairing)."""
    if user is None:
        return True
    return user.role == "lawyer" and bool(user.lawyer_id) and Pairing.select().where(
        (Pairing.village == village.id) & (Pairing.status == "active")
        & (Pairing.lawyer == user.lawyer_id)).exists()


def village_request_filter(user: User | None, model) -> Expression | bool:
    """A WHERE clause on a village's request (``model`` has ``village``: invitations,
    demands, confirmations): those of the villages ``user`` may read — a village's users
    their own, a lawyer those of the villages they are paired with now, a coordinator
    those of their scope, administrators all."""
    villages = village_filter(user)
    if villages is True or villages is False:
        return villages
    return model.village.in_(Village.select(Village.id).where(villages))


def coordinator_scope(user: User | None) -> tuple[Village | None, Town | None]:
    """The one village or one town a coordinator's (or a leader's) scope is limited to;
    (None, None) for the district's managers and leaders and the operator. (A firm head's
    scope is no village or town: ``is_firm_head``.)"""
    if user is None or user.role not in SCOPED:
        return None, None
    if user.village_id:
        return user.village, None
    if user.town_id:
        return None, user.town
    return None, None


# --- inspections of a village's service (core.inspections) ----------------------------------

def can_inspect(user: User | None, village: Village) -> bool:
    """Record or follow up an inspection of ``village``: those who manage it (a town's
    coordinator their town's villages, the district's managers every village)."""
    return can_manage_village(user, village)


def inspection_filter(user: User | None) -> Expression | bool:
    """A WHERE clause on ``Inspection``: a manager reads those of the villages of their
    scope (a leader as a coordinator of the same scope, a firm head those of the firm's
    lawyers), a lawyer those of their own pairings (ended ones too, as their sheets), a
    village user none (an inspection judges the lawyer's work)."""
    return lawyer_work_filter(user, Inspection)


def can_read_inspection(user: User | None, inspection: Inspection) -> bool:
    return Inspection.select().where((Inspection.id == inspection.id)
                                     & inspection_filter(user)).exists()


# Access rules on views. They only mark the view; the web app enforces the mark on
# every request and refuses a view without one, so a forgotten rule fails closed.
# Plugins mark their own views with these too (they cannot import web).
def allow(*roles: str):
    """Admit logged-in users with one of ``roles``; the view then checks the object's scope."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def mark(view):
        view.access_rule = ("roles", tuple(roles))
        return view
    return mark


def public(view):
    """Admit anyone, logged in or not."""
    view.access_rule = ("public", ())
    return view
