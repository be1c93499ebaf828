"""The audit log: who did or read what, when, from where.

Every service writes its audit entries through ``record``, so an entry always has the
same shape: the user (and their name, kept when the user is deleted), an action such as
``"task.complete"`` or ``"task.view_sensitive"``, the object it is about and a JSON detail.
Entries are never edited: the model refuses updates and deletes (``AuditLog``), and no
route changes it. Administrators read it through ``search`` (the page and the export
share it) and export it with ``export_entries``, which is itself audited.
"""
import datetime as dt
import json
from contextvars import ContextVar
from dataclasses import dataclass

from peewee import Model

from core import clock
from core.models import AuditLog, User
from core import spreadsheet

# The client's address for the request being served; the web layer sets it before each
# request, so services need not pass it down. Empty for the CLI and jobs.
request_address: ContextVar[str] = ContextVar("request_address", default="")

EXPORT_COLUMNS = ("at", "username", "action", "object_type", "object_id", "address", "detail")


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


def export_entries(criteria: AuditFilter, *, headers: dict[str, str] | None = None,
                   user: User | None = None, address: str = "", progress=None) -> bytes:
    """The entries matching ``criteria`` as an .xlsx workbook (bytes), times in the
    district's zone. ``headers`` maps each of ``EXPORT_COLUMNS`` to its (translated)
    heading. The export is audited ("audit.export") after the rows are read, so it does
    not list itself. ``progress(done, total)``, if given, follows the rows (a long job's
    bar, ``core.longwork``)."""
    entries = list(search(criteria))
    headers = headers or {}

    def row(done, entry):
        if progress is not None:
            progress(done, len(entries))
        return [clock.to_local(entry.at).replace(tzinfo=None), entry.username, entry.action,
                entry.object_type, entry.object_id, entry.address,
                json.dumps(entry.detail or {}, ensure_ascii=False, sort_keys=True)]
    rows = (row(done, entry) for done, entry in enumerate(entries))
    workbook = spreadsheet.workbook()
    spreadsheet.add_sheet(
        workbook, "audit", [headers.get(column, column) for column in EXPORT_COLUMNS], rows,
        widths={index: 60 if column == "detail" else 18
                for index, column in enumerate(EXPORT_COLUMNS)},
        formats={0: "yyyy-mm-dd hh:mm:ss"})
    record(user, "audit.export", address=address,
           detail={"entries": len(entries), "filter": criteria.as_detail()})
    return spreadsheet.to_bytes(workbook)
