"""The audit log: who did or read what, when, from where.

Every service writes its audit entries through ``record``, so an entry always has the
same shape: the user (and their name, kept when the user is deleted), an action such as
``"task.complete"`` or ``"task.view_sensitive"``, the object it is about and a JSON detail.
Entries are never edited: the model refuses updates and deletes (``AuditLog``), and no
route changes it. Administrators read it through ``search`` (the page and the export
share it) and export it with ``export_entries``, which is itself audited.

People read it in words (``describe``): each action by its label (``ACTION_LABELS``: every
action recorded has one, ``tests/test_audit_words.py`` fails on a new one without), the
object and every id of the detail by name (one query per kind of row per page), each
change as "field: before → after" with the field's label, times in the district's zone.
"""
import datetime as dt
import json
import re
from contextvars import ContextVar
from dataclasses import dataclass, field

from peewee import JOIN, Model

from core import clock
from core.i18n import N_
from core.localize import name_of
from core.models import (AuditLog, CaseFile, Event, FeedToken, Invitation, LawFirm, Lawyer,
                         MajorMatter, Pairing, Problem, ResidentDemand, Task, Town, User,
                         Village, WechatGroup, WorkLog)
from core import spreadsheet
from core.vocabulary import (DEMAND_CATEGORY_LABELS, DUTY_LABELS, EVENT_KIND_LABELS,
                             EVENT_STATUS_LABELS, INVITATION_KIND_LABELS,
                             MATTER_CATEGORY_LABELS, ROLE_LABELS, TASK_LEVEL_LABELS,
                             TASK_STATUS_LABELS, VERDICT_LABELS, WORK_MODE_LABELS)

# The client's address for the request being served; the web layer sets it before each
# request, so services need not pass it down. Empty for the CLI and jobs.
request_address: ContextVar[str] = ContextVar("request_address", default="")

# the export: the entry in words, then as stored (the action's code, the object, the JSON)
EXPORT_COLUMNS = ("at", "username", "action", "object", "changes", "address", "code",
                  "object_type", "object_id", "detail")


def record(user: User | None, action: str, *, obj: Model | None = None,
           detail: dict | None = None, address: str = "") -> AuditLog:
    """Write one entry. ``user`` None is the operator (CLI, jobs); ``address`` is the
    client's IP address, by default that of the request being served."""
    address = address or request_address.get()
    return AuditLog.create(
        user=user, username=user.username if user is not None else "",
        action=action,
        object_type=obj._meta.table_name if obj is not None else "",
        object_id=str(obj.get_id()) if obj is not None else "",
        detail=detail or {}, address=address or "")


def entries_for(obj: Model):
    """The audit entries about ``obj``, newest first."""
    return (AuditLog.select()
            .where((AuditLog.object_type == obj._meta.table_name)
                   & (AuditLog.object_id == str(obj.get_id())))
            .order_by(AuditLog.at.desc(), AuditLog.id.desc()))


# --- reading the log ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilter:
    """What an administrator narrows the log to; empty values filter nothing. Dates are
    district dates, both included."""
    username: str = ""      # part of the user name
    action: str = ""        # exact
    object_type: str = ""   # exact (a table name, e.g. "task")
    object_id: str = ""     # exact
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    address: str = ""       # the start of the address ("10.0." finds a subnet)

    def as_detail(self) -> dict:
        """The filter as JSON for the export's own audit entry (only what was set)."""
        return {name: value.isoformat() if isinstance(value, dt.date) else value
                for name, value in vars(self).items() if value}


def search(criteria: AuditFilter | None = None):
    """The entries matching ``criteria``, newest first: the page and the export use it."""
    criteria = criteria or AuditFilter()
    query = AuditLog.select()
    if criteria.username:
        query = query.where(AuditLog.username.contains(criteria.username))
    if criteria.action:
        query = query.where(AuditLog.action == criteria.action)
    if criteria.object_type:
        query = query.where(AuditLog.object_type == criteria.object_type)
    if criteria.object_id:
        query = query.where(AuditLog.object_id == criteria.object_id)
    if criteria.date_from:
        query = query.where(AuditLog.at >= clock.utc_from_local(criteria.date_from, dt.time()))
    if criteria.date_to:
        end = clock.utc_from_local(criteria.date_to + dt.timedelta(days=1), dt.time())
        query = query.where(AuditLog.at < end)
    if criteria.address:
        query = query.where(AuditLog.address.startswith(criteria.address))
    return query.order_by(AuditLog.at.desc(), AuditLog.id.desc())


def actions_present() -> list[str]:
    """Every action the log holds, sorted: the choices of the action filter."""
    return [action for (action,) in
            AuditLog.select(AuditLog.action).distinct().order_by(AuditLog.action).tuples()]


def object_types_present() -> list[str]:
    return [kind for (kind,) in
            AuditLog.select(AuditLog.object_type).where(AuditLog.object_type != "")
            .distinct().order_by(AuditLog.object_type).tuples()]


def detail_text(entry: AuditLog) -> str:
    """The JSON detail, indented and with Chinese left readable."""
    return json.dumps(entry.detail or {}, ensure_ascii=False, indent=2, sort_keys=True)


# --- the log in words --------------------------------------------------------------------------

# Every action a service records, by its label (msgids). A plugin's own action has none:
# it is shown readably from its name (``action_label``).
ACTION_LABELS = {
    "user.create": N_("Create a user"), "user.update": N_("Change a user"),
    "user.disable": N_("Disable a user"), "user.enable": N_("Enable a user"),
    "user.end_sessions": N_("End a user's sessions"), "user.unlock": N_("Unlock a user"),
    "user.reset_password": N_("Reset a user's password"),
    "user.change_password": N_("Change one's own password"),
    "user.notice_settings": N_("Change notice settings"),
    "matter.view": N_("Read a major matter"), "matter.list": N_("List major matters"),
    "matter.report": N_("Report a major matter"),
    "matter.acknowledge": N_("Acknowledge a major matter"),
    "matter.note": N_("Add a note to a major matter"), "matter.close": N_("Close a major matter"),
    "matter.escalate": N_("Escalate a major matter"),
    "task.view_sensitive": N_("Read a task's sensitive fields"),
    "task.view_masked": N_("Read tasks without their sensitive fields"),
    "task.assign": N_("Assign a task"), "task.assign_bulk": N_("Assign tasks to many villages"),
    "task.reassign": N_("Give a task to another lawyer"),
    "task.hand_over": N_("Hand tasks over to the new lawyer"), "task.start": N_("Start a task"),
    "task.schedule": N_("Schedule a task"), "task.cancel": N_("Cancel a task"),
    "task.reopen": N_("Reopen a task"), "task.complete": N_("Complete a task"),
    "task.schedule_create": N_("Create the scheduled tasks"),
    "feed_token.create": N_("Create a calendar feed link"),
    "feed_token.revoke": N_("Revoke a calendar feed link"),
    "ledger.export": N_("Export a programme's register"),
    "wechat_group.rename": N_("Rename a WeChat group"),
    "wechat_group.set_admin": N_("Set a WeChat group's administrator"),
    "wechat_group.add_member": N_("Add a member to a WeChat group"),
    "wechat_group.edit_member": N_("Change a WeChat group member"),
    "wechat_group.remove_member": N_("Remove a member from a WeChat group"),
    "wechat_group.join_qr": N_("Upload a WeChat group's join QR code"),
    "wechat_group.remove_join_qr": N_("Remove a WeChat group's join QR code"),
    "progress.set_target": N_("Set a programme's target"),
    "worklog.create": N_("Write a work-log entry"),
    "worklog.update": N_("Correct a work-log entry"),
    "worklog.photo_add": N_("Add a photo to a work-log entry"),
    "worklog.photo_remove": N_("Remove a photo from a work-log entry"),
    "worklog.photo_view": N_("Open a work-log photo"), "worklog.export": N_("Export the work log"),
    "lawyer.update": N_("Change a lawyer's details"), "lawyer.photo": N_("Change a lawyer's photo"),
    "problem.resolve": N_("Mark a problem resolved"),
    "village.update": N_("Change a village's address"),
    "return_visit.complete": N_("Record a return visit"),
    "rating_code.issue": N_("Print rating codes"), "rating.followed_up": N_("Follow up a rating"),
    "rating.exclude": N_("Exclude a rating"),
    "rating_burst.exclude": N_("Exclude a burst of ratings"),
    "pairing.pair": N_("Pair a lawyer with a village"), "pairing.update": N_("Change a pairing"),
    "pairing.end": N_("End a pairing"), "pairing.replace": N_("Replace a village's lawyer"),
    "event.sign_in": N_("Sign in at a session"), "event.sign_out": N_("Sign out of a session"),
    "event.move": N_("Move an event"), "event.held": N_("Record an event as held"),
    "event.cancel": N_("Cancel an event"), "event.reinstate": N_("Reinstate an event"),
    "event.confirm": N_("Confirm a proposed change of an event"),
    "event.makeup": N_("Schedule a make-up"), "event.dismiss": N_("Dismiss a proposed change"),
    "event.add": N_("Add an event"),
    "case.view": N_("Read a case file"), "case.list": N_("List case files"),
    "case.open": N_("Open a case file"), "case.update": N_("Correct a case file"),
    "case.close": N_("Close a case file"), "case.attach": N_("Attach a file to a case"),
    "attachment.download": N_("Download a case's attachment"),
    "demand.view": N_("Read a resident's demand"),
    "demand.create": N_("Pass on a resident's demand"),
    "demand.answer": N_("Answer a resident's demand"),
    "invitation.create": N_("Invite the lawyer"), "invitation.accept": N_("Accept an invitation"),
    "invitation.decline": N_("Decline an invitation"),
    "invitation.withdraw": N_("Withdraw an invitation"),
    "invitation.reopen": N_("Reopen an invitation"),
    "login_invitation.issue": N_("Issue a login invitation"),
    "login_invitation.send": N_("Send a login invitation by e-mail"),
    "login_invitation.accept": N_("Choose a password through an invitation"),
    "report.export": N_("Export a report"), "register.export": N_("Export a register"),
    "session.confirm": N_("Confirm a session took place"),
    "session.dispute": N_("Dispute a session"),
    "assessment.export": N_("Export the assessment"),
    "assessment.export_sheet": N_("Export a pairing's assessment sheet"),
    "audit.export": N_("Export the audit log"),
    "village.export": N_("Export the list of villages"),
    "lawyer.export": N_("Export the list of lawyers"),
    "task.export": N_("Export the list of tasks"),
    "quota.export": N_("Export the quota"),
    "inspection.record": N_("Record an inspection"),
    "inspection.follow_up": N_("Record an inspection's follow-up done"),
}

# What an entry is about (its object's table), by its label.
OBJECT_LABELS = {
    "user": N_("User"), "task": N_("Task"), "event": N_("Event"), "pairing": N_("Pairing"),
    "village": N_("Village"), "town": N_("Town"), "lawyer": N_("Lawyer"),
    "law_firm": N_("Law firm"), "major_matter": N_("Major matter"), "case_file": N_("Case file"),
    "attachment": N_("Attachment"), "work_log": N_("Work-log entry"),
    "invitation": N_("Invitation"), "resident_demand": N_("Resident's demand"),
    "wechat_group": N_("WeChat group"), "feed_token": N_("Calendar feed link"),
    "problem": N_("Problem"), "return_visit": N_("Return visit"), "rating": N_("Rating"),
    "rating_burst": N_("Burst of ratings"), "program_target": N_("Programme target"),
    "inspection": N_("Inspection"),
}

# The fields of the details, by their labels; a field without one shows its name.
FIELD_LABELS = {
    "program": N_("Programme"), "task_type": N_("Task type"), "level": N_("Level"),
    "assignee": N_("Lawyer"), "lawyer": N_("Lawyer"), "village": N_("Village"),
    "town": N_("Town"), "user": N_("User"), "tasks": N_("Tasks"), "count": N_("Count"),
    "reason": N_("Reason"), "starts_at": N_("Starts"), "ends_at": N_("Ends"),
    "status": N_("Status"), "cancel_reason": N_("Reason for cancelling"),
    "held_start": N_("Held from"), "held_end": N_("Held until"),
    "held_late": N_("Recorded late"), "placement": N_("Placement"),
    "arranged_on": N_("Arranged on"), "proposal": N_("Proposed change"),
    "pairing": N_("Pairing"), "term_start": N_("Term starts"), "term_end": N_("Term ends"),
    "onsite_week": N_("On-site week"), "onsite_weekday": N_("On-site weekday"),
    "onsite_start": N_("On-site from"), "onsite_end": N_("On-site until"),
    "ended_on": N_("Ended on"), "replaced": N_("Replaced pairing"),
    "from_lawyer": N_("Previous lawyer"), "username": N_("User name"),
    "display_name": N_("Display name"), "role": N_("Role"), "address": N_("Address"),
    "name": N_("Name"), "phone": N_("Phone"), "wechat": N_("WeChat"),
    "licence_no": N_("Licence number"), "firm": N_("Law firm"), "email": N_("E-mail"),
    "by_email": N_("Notices by e-mail"), "verdict": N_("Verdict"), "period": N_("Period"),
    "satisfaction": N_("Satisfaction"), "score": N_("Score"), "category": N_("Category"),
    "mode": N_("Mode"), "late": N_("Late"), "number": N_("Number"), "fields": N_("Fields"),
    "shown": N_("Fields shown"), "via": N_("Where"), "entries": N_("Entries"),
    "rows": N_("Rows"), "year": N_("Year"), "metric": N_("Metric"), "target": N_("Target"),
    "event": N_("Event"), "makes_up": N_("Makes up for"), "invitation": N_("Invitation"),
    "kind": N_("Kind"), "filter": N_("Filter"), "feed_tokens_revoked": N_("Feed links revoked"),
    "failures": N_("Failed logins"), "photo": N_("Photo"), "attachment": N_("Attachment"),
    "case": N_("Case file"), "sha256": N_("Checksum"), "size": N_("Size (bytes)"),
    "signin": N_("Sign-in"), "at": N_("At"), "position": N_("Position given"),
    "accuracy_m": N_("Accuracy (m)"), "residents": N_("Residents"), "photos": N_("Photos"),
    "admin_name": N_("Administrator"), "member": N_("Member"), "label": N_("Label"),
    "key": N_("Key"), "created": N_("Created"), "matters": N_("Major matters"),
    "cases": N_("Case files"), "burst": N_("Burst of ratings"), "ratings": N_("Ratings"),
    "cancelled_event": N_("Cancelled event"), "counts_as_publicity": N_("Counts as publicity"),
    "contact": N_("Contact given"), "content": N_("Content"), "result": N_("Result"),
    "minutes": N_("Minutes"), "title": N_("Title"), "join_qr": N_("Join QR code"),
    "rows_with_sensitive_shown": N_("Rows with the sensitive fields shown"),
    "rows_with_sensitive_masked": N_("Rows with the sensitive fields masked"),
    "day": N_("Day"), "failed": N_("Items falling short"),
    "follow_up_due": N_("Follow-up due by"), "done_on": N_("Done on"),
    "people": N_("People"), "register": N_("Register"),
}

# Fields whose values are ids of rows of a kind (``_LOADERS``), shown by their names; an
# action may say what its own fields hold.
REFERENCES = {"village": "village", "lawyer": "lawyer", "assignee": "lawyer",
              "from_lawyer": "lawyer", "user": "user", "town": "town", "pairing": "pairing",
              "replaced": "pairing", "event": "event", "makes_up": "event",
              "cancelled_event": "event", "tasks": "task", "matters": "major_matter",
              "cases": "case_file", "case": "case_file", "invitation": "invitation",
              "firm": "law_firm"}
ACTION_REFERENCES = {"task.reassign": {"from": "lawyer", "to": "lawyer"},
                     "task.hand_over": {"from": "lawyer", "to": "lawyer"}}
# what "from" and "to" of an action's detail are
FROM_TO_FIELDS = {"task.reassign": "assignee", "task.hand_over": "assignee",
                  "task.reopen": "status", "progress.set_target": "target"}
# the labels of a field's values (enums), by the entry's object where they differ
VALUE_LABELS = {"role": ROLE_LABELS, "level": TASK_LEVEL_LABELS, "mode": WORK_MODE_LABELS,
                "verdict": VERDICT_LABELS, "status": {**EVENT_STATUS_LABELS, **TASK_STATUS_LABELS},
                "kind": {**INVITATION_KIND_LABELS, **EVENT_KIND_LABELS},
                "category": {**DEMAND_CATEGORY_LABELS, **DUTY_LABELS, **MATTER_CATEGORY_LABELS}}
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")  # stored UTC


def _village_of(row) -> str:
    return row.village.name if getattr(row, "village", None) is not None else ""


def _joined(*parts) -> str:
    return " · ".join(str(part) for part in parts if part)


def _load(model, ids, text, *joins):
    rows = model.select(model, *joins)
    for joined in joins:
        rows = rows.switch(model).join(joined, JOIN.LEFT_OUTER)
    return {row.id: text(row) for row in rows.where(model.id.in_(ids))}


# kind -> how to read the names of its rows: one query for all the ids of a page
_LOADERS = {
    "village": lambda ids: _load(Village, ids, lambda v: v.name),
    "town": lambda ids: _load(Town, ids, lambda t: t.name),
    "lawyer": lambda ids: _load(Lawyer, ids, lambda l: l.name),
    "law_firm": lambda ids: _load(LawFirm, ids, lambda f: f.name),
    "user": lambda ids: _load(User, ids, lambda u: u.display_name or u.username),
    "pairing": lambda ids: _load(Pairing, ids, lambda p: _joined(p.village.name, p.lawyer.name),
                                 Village, Lawyer),
    "task": lambda ids: _load(Task, ids, lambda t: _joined(t.title, _village_of(t)), Village),
    "event": lambda ids: _load(Event, ids, lambda e: _joined(
        _village_of(e), clock.to_local(e.starts_at).strftime("%Y-%m-%d %H:%M")), Village),
    "major_matter": lambda ids: _load(MajorMatter, ids, lambda m: _joined(m.title, _village_of(m)),
                                      Village),
    "case_file": lambda ids: _load(CaseFile, ids, lambda c: c.number),
    "work_log": lambda ids: _load(WorkLog, ids, lambda w: _joined(
        _village_of(w), clock.to_local(w.occurred_at).strftime("%Y-%m-%d %H:%M")), Village),
    "invitation": lambda ids: _load(Invitation, ids, lambda i: _joined(i.title, _village_of(i)),
                                    Village),
    "resident_demand": lambda ids: _load(ResidentDemand, ids, _village_of, Village),
    "wechat_group": lambda ids: _load(WechatGroup, ids, lambda g: g.name),
    "feed_token": lambda ids: _load(FeedToken, ids, lambda t: t.label),
    "problem": lambda ids: _load(Problem, ids, lambda p: p.key),
}


def action_label(action: str, gettext=str) -> str:
    """The action in words: its label, else (a plugin's own) its name made readable."""
    label = ACTION_LABELS.get(action)
    if label is not None:
        return gettext(label)
    return action.replace("_", " ").replace(".", " · ")


@dataclass
class Words:
    """One entry as people read it."""
    entry: AuditLog
    at: dt.datetime  # the district's time
    who: str  # the user's display name (the user name kept, if the user is gone)
    action: str
    object_label: str = ""
    object_name: str = ""
    changes: list = field(default_factory=list)  # (field label, before, after)
    facts: list = field(default_factory=list)  # (field label, value)

    lines: list = field(default_factory=list)  # both, as "field: before → after", "field: value"

    @property
    def object(self) -> str:
        return _joined(self.object_label, self.object_name)


def _parts(entry: AuditLog) -> tuple[list, list]:
    """The entry's detail as (field, before, after) changes and (field, value) facts."""
    detail = entry.detail if isinstance(entry.detail, dict) else {"detail": entry.detail}
    changes, facts = [], []
    changed = detail.get("changed")
    if isinstance(changed, dict):  # user.update: {field: [before, after]}
        changes += [(name, *(pair if isinstance(pair, list) and len(pair) == 2
                              else (None, pair))) for name, pair in changed.items()]
    before, after = detail.get("before"), detail.get("after")
    if isinstance(before, dict) or isinstance(after, dict):
        before, after = before if isinstance(before, dict) else {}, \
            after if isinstance(after, dict) else {}
        changes += [(name, before.get(name), after.get(name))
                    for name in dict.fromkeys([*before, *after])]
    elif "before" in detail or "after" in detail:  # one value (a lawyer's photo)
        changes.append((entry.action.rsplit(".", 1)[-1], before, after))
    if "from" in detail or "to" in detail:
        changes.append((FROM_TO_FIELDS.get(entry.action, "value"), detail.get("from"),
                        detail.get("to")))
    handled = {"changed", "before", "after", "from", "to"}
    facts = [(name, value) for name, value in detail.items() if name not in handled]
    return changes, facts


def _kind(entry: AuditLog, name: str) -> str | None:
    return ACTION_REFERENCES.get(entry.action, {}).get(name) or REFERENCES.get(name)


def _ids(value) -> list[int]:
    values = value if isinstance(value, list) else [value]
    return [int(v) for v in values
            if isinstance(v, int) and not isinstance(v, bool)
            or isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 12]


class _Namer:
    """Names for the ids of a page's entries: one query per kind of row."""

    def __init__(self, wanted: dict[str, set[int]]):
        self.names = {kind: _LOADERS[kind](sorted(ids)) if ids else {}
                      for kind, ids in wanted.items() if kind in _LOADERS}

    def name(self, kind: str, value) -> str:
        found = self.names.get(kind, {})
        return "、".join(found.get(number, f"#{number}") for number in _ids(value)) or str(value)


def _text(value, name: str, kind: str | None, namer: _Namer, gettext, locale: str) -> str:
    """A value of the detail in words."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if kind is not None and _ids(value):
        return namer.name(kind, value)
    if isinstance(value, list):
        return "、".join(_text(item, name, None, namer, gettext, locale) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{gettext(FIELD_LABELS[key]) if key in FIELD_LABELS else key}: "
                         f"{_text(item, key, None, namer, gettext, locale)}"
                         for key, item in value.items())
    if isinstance(value, str):
        labels = VALUE_LABELS.get(name, {})
        if value in labels:
            return gettext(labels[value])
        if name == "program":
            return name_of("programme", value, locale)
        if name == "task_type":
            return name_of("task type", value, locale)
        if INSTANT.match(value):
            try:
                return clock.to_local(clock.as_utc(dt.datetime.fromisoformat(value))) \
                    .strftime("%Y-%m-%d %H:%M")
            except ValueError:
                return value
    return str(value)


def describe(entries, gettext=str, locale: str = "zh_CN") -> list[Words]:
    """``entries`` in words, in the reader's language (``gettext``, ``locale``): the
    action's label, the object and every id by name, the changes field by field, local
    times. One query per kind of row named, whatever the number of entries."""
    entries = list(entries)
    parts = [_parts(entry) for entry in entries]
    wanted: dict[str, set[int]] = {"user": set()}
    for entry, (changes, facts) in zip(entries, parts):
        if entry.user_id:
            wanted["user"].add(entry.user_id)
        if entry.object_type in _LOADERS and _ids(entry.object_id):
            wanted.setdefault(entry.object_type, set()).update(_ids(entry.object_id))
        for name, *values in [*changes, *facts]:
            kind = _kind(entry, name)
            if kind is not None:
                for value in values:
                    wanted.setdefault(kind, set()).update(_ids(value))
    namer = _Namer(wanted)
    words = []
    for entry, (changes, facts) in zip(entries, parts):
        def label(name):
            return gettext(FIELD_LABELS[name]) if name in FIELD_LABELS else name

        def shown(name, value, entry=entry):
            return _text(value, name, _kind(entry, name), namer, gettext, locale)
        who = (namer.names["user"].get(entry.user_id) if entry.user_id else None) \
            or entry.username
        words.append(Words(
            entry=entry, at=clock.to_local(entry.at), who=who,
            action=action_label(entry.action, gettext),
            object_label=(gettext(OBJECT_LABELS[entry.object_type])
                          if entry.object_type in OBJECT_LABELS else entry.object_type),
            object_name=(namer.name(entry.object_type, entry.object_id)
                         if entry.object_type in _LOADERS and _ids(entry.object_id)
                         else (f"#{entry.object_id}" if entry.object_id else "")),
            changes=[(label(name), shown(name, before), shown(name, after))
                     for name, before, after in changes],
            facts=[(label(name), shown(name, value)) for name, value in facts]))
        item = words[-1]
        item.lines = ([gettext("%(field)s: %(before)s → %(after)s") % {
                          "field": name, "before": before, "after": after}
                       for name, before, after in item.changes]
                      + [gettext("%(field)s: %(value)s") % {"field": name, "value": value}
                         for name, value in item.facts])
    return words


def export_entries(criteria: AuditFilter, *, headers: dict[str, str] | None = None,
                   user: User | None = None, address: str = "", gettext=str,
                   locale: str = "zh_CN", progress=None) -> bytes:
    """The entries matching ``criteria`` as an .xlsx workbook (bytes): each in the words of
    the page (``describe``, in the language of ``gettext``), then as stored. ``headers``
    maps each of ``EXPORT_COLUMNS`` to its (translated) heading. The export is audited
    ("audit.export") after the rows are read, so it does not list itself.
    ``progress(done, total)``, if given, follows the rows (a long job's bar,
    ``core.longwork``)."""
    entries = list(search(criteria))
    headers = headers or {}

    def row(done, words):
        if progress is not None:
            progress(done, len(entries))
        return [words.at.replace(tzinfo=None), words.who, words.action, words.object,
                "\n".join(words.lines), words.entry.address, words.entry.action,
                words.entry.object_type, words.entry.object_id,
                json.dumps(words.entry.detail or {}, ensure_ascii=False, sort_keys=True)]
    rows = (row(done, words)
            for done, words in enumerate(describe(entries, gettext, locale)))
    workbook = spreadsheet.workbook()
    spreadsheet.add_sheet(
        workbook, "audit", [headers.get(column, column) for column in EXPORT_COLUMNS], rows,
        widths={index: 60 if column in ("detail", "changes") else 18
                for index, column in enumerate(EXPORT_COLUMNS)},
        formats={0: "yyyy-mm-dd hh:mm:ss"})
    record(user, "audit.export", address=address,
           detail={"entries": len(entries), "filter": criteria.as_detail()})
    return spreadsheet.to_bytes(workbook)
