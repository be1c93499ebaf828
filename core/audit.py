"""The audit log: who did or read what, when, from where.

Every service writes its audit entries through ``record``, so an entry always has the
same shape: the user (and their name, kept when the user is deleted), an action such as
``"task.complete"`` or ``"task.view_sensitive"``, the object it is about and a JSON detail.
Entries are never edited.
"""
from peewee import Model

from core.models import AuditLog, User


def record(user: User | None, action: str, *, obj: Model | None = None,
           detail: dict | None = None, address: str = "") -> AuditLog:
    """Write one entry. ``user`` None is the operator (CLI, jobs); ``address`` is the
    client's IP address when a request caused it."""
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
