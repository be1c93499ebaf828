"""Pairing services: pair a lawyer with a village, change the term, end, replace.

The rule *one village, one active lawyer* lives here (checked, with a clear
message) and in the database (a partial unique index), so a race between two
writers still cannot break it.
"""
import datetime as dt

from peewee import IntegrityError

from core.access import require_manage_village
from core.audit import record
from core.clock import now_utc
from core.db import db, transaction
from core.errors import ConflictError, ValidationError
from core.i18n import N_
from core.models import (HALF_DAYS, Lawyer, Pairing, User, Village, WechatGroup,
                         WechatGroupMember)
from core.plugins import notify

ONE_ACTIVE_MESSAGE = N_("%(village)s already has an active lawyer (%(lawyer)s). "
                        "End that pairing or replace the lawyer instead.")


def default_group_name(village: Village) -> str:
    return f"{village.name}结对律师服务微信群"


def active_pairing(village: Village) -> Pairing | None:
    return (Pairing.select().where((Pairing.village == village) & (Pairing.status == "active"))
            .first())


def _check_terms(term_start, term_end, preferred_weekday=None, preferred_half_day=None):
    if not isinstance(term_start, dt.date) or not isinstance(term_end, dt.date):
        raise ValidationError(N_("The term needs a start and an end date."), field="term_start")
    if term_end < term_start:
        raise ValidationError(N_("The term cannot end (%(end)s) before it starts (%(start)s)."),
                              field="term_end", start=term_start.isoformat(),
                              end=term_end.isoformat())
    if preferred_weekday is not None and preferred_weekday not in range(7):
        raise ValidationError(N_("The preferred weekday must be Monday to Sunday."),
                              field="preferred_weekday")
    if preferred_half_day not in (None, "", *HALF_DAYS):
        raise ValidationError(N_("The preferred half-day must be morning or afternoon."),
                              field="preferred_half_day")


def _conflict(village: Village) -> ConflictError:
    current = active_pairing(village)
    return ConflictError(ONE_ACTIVE_MESSAGE, village=village.name,
                         lawyer=current.lawyer.name if current else "?")


def _create_group(pairing: Pairing, carry_from: Pairing | None = None) -> WechatGroup:
    """The service group: the lawyer and assistants, plus the village side of the old group."""
    lawyer = pairing.lawyer
    group = WechatGroup.create(pairing=pairing, name=default_group_name(pairing.village),
                               admin_name=lawyer.name)
    members = [dict(name=lawyer.name, role="lawyer", phone=lawyer.phone)]
    members += [dict(name=a.name, role="assistant", phone=a.phone) for a in lawyer.assistants]
    if carry_from is not None:
        old = WechatGroup.get_or_none(WechatGroup.pairing == carry_from)
        if old is not None:
            old_members = old.members.where(WechatGroupMember.role.not_in(("lawyer", "assistant")))
            group.name = old.name
            group.save()
            members += [dict(name=m.name, role=m.role, phone=m.phone) for m in old_members]
    for member in members:
        WechatGroupMember.create(group=group, **member)
    return group


def _insert_pairing(lawyer, village, term_start, term_end, onsite_hours,
                    preferred_weekday, preferred_half_day, carry_from=None) -> Pairing:
    if not lawyer.active:
        raise ValidationError(N_("%(lawyer)s is no longer active and cannot be paired."),
                              field="lawyer", lawyer=lawyer.name)
    if active_pairing(village) is not None:
        raise _conflict(village)
    try:
        with db.atomic():
            pairing = Pairing.create(
                lawyer=lawyer, village=village, term_start=term_start, term_end=term_end,
                onsite_hours=onsite_hours or "", preferred_weekday=preferred_weekday,
                preferred_half_day=preferred_half_day or None)
    except IntegrityError as exc:  # another writer paired the village first
        raise _conflict(village) from exc
    _create_group(pairing, carry_from)
    return pairing


def pair(actor: User | None, *, lawyer: Lawyer, village: Village, term_start: dt.date,
         term_end: dt.date, onsite_hours: str = "", preferred_weekday: int | None = None,
         preferred_half_day: str | None = None) -> Pairing:
    """Pair ``lawyer`` with ``village`` for a term; the village must have no active lawyer."""
    require_manage_village(actor, village)
    _check_terms(term_start, term_end, preferred_weekday, preferred_half_day)
    with transaction():
        pairing = _insert_pairing(lawyer, village, term_start, term_end, onsite_hours,
                                  preferred_weekday, preferred_half_day)
        record(actor, "pairing.pair", obj=pairing, detail=_terms(pairing))
        notify("pairing_changed", pairing=pairing, change="paired")
    return pairing


def update_pairing(actor: User | None, pairing: Pairing, *, term_start: dt.date,
                   term_end: dt.date, onsite_hours: str | None = None,
                   preferred_weekday: int | None = None,
                   preferred_half_day: str | None = None) -> Pairing:
    """Change the term and the on-site arrangements of an active pairing."""
    require_manage_village(actor, pairing.village)
    if pairing.status != "active":
        raise ValidationError(N_("This pairing has ended and can no longer be changed."))
    _check_terms(term_start, term_end, preferred_weekday, preferred_half_day)
    pairing.term_start, pairing.term_end = term_start, term_end
    if onsite_hours is not None:
        pairing.onsite_hours = onsite_hours
    pairing.preferred_weekday = preferred_weekday
    pairing.preferred_half_day = preferred_half_day or None
    pairing.updated_at = now_utc()
    with transaction():
        pairing.save()
        record(actor, "pairing.update", obj=pairing, detail=_terms(pairing))
        notify("pairing_changed", pairing=pairing, change="updated")
    return pairing


def _terms(pairing: Pairing) -> dict:
    """What an audit entry says about a pairing's arrangements."""
    return {"lawyer": pairing.lawyer_id, "village": pairing.village_id,
            "term_start": pairing.term_start.isoformat(),
            "term_end": pairing.term_end.isoformat(),
            "onsite_hours": pairing.onsite_hours,
            "preferred_weekday": pairing.preferred_weekday,
            "preferred_half_day": pairing.preferred_half_day}


def _close(pairing: Pairing, ended_on: dt.date, reason: str) -> None:
    if pairing.status != "active":
        raise ValidationError(N_("This pairing has already ended."))
    if ended_on < pairing.term_start:
        raise ValidationError(N_("A pairing cannot end (%(end)s) before its term starts "
                                 "(%(start)s)."), field="ended_on",
                              end=ended_on.isoformat(), start=pairing.term_start.isoformat())
    pairing.status, pairing.ended_on, pairing.end_reason = "ended", ended_on, reason or ""
    pairing.term_end = min(pairing.term_end, ended_on)
    pairing.updated_at = now_utc()
    pairing.save()


def end_pairing(actor: User | None, pairing: Pairing, *, ended_on: dt.date,
                reason: str = "") -> Pairing:
    """End a pairing on ``ended_on``; the village is then without a lawyer."""
    require_manage_village(actor, pairing.village)
    with transaction():
        _close(pairing, ended_on, reason)
        record(actor, "pairing.end", obj=pairing,
               detail={"ended_on": ended_on.isoformat(), "reason": reason or ""})
        notify("pairing_changed", pairing=pairing, change="ended")
    return pairing


def replace_lawyer(actor: User | None, pairing: Pairing, *, lawyer: Lawyer, on: dt.date,
                   term_end: dt.date | None = None, reason: str = "") -> Pairing:
    """End ``pairing`` the day before ``on`` and pair ``lawyer`` with the village from ``on``.

    Both happen or neither does. The new pairing keeps the on-site arrangements and the
    village side of the WeChat group; its term runs to ``term_end`` (default: the old end).
    """
    village = pairing.village
    require_manage_village(actor, village)
    if lawyer.id == pairing.lawyer_id:
        raise ValidationError(N_("%(lawyer)s is already the lawyer of %(village)s."),
                              field="lawyer", lawyer=lawyer.name, village=village.name)
    new_end = term_end or pairing.term_end
    _check_terms(on, new_end)
    if on <= pairing.term_start:
        raise ValidationError(N_("The new lawyer must start after the current term starts "
                                 "(%(start)s)."), field="on",
                              start=pairing.term_start.isoformat())
    with transaction():
        _close(pairing, on - dt.timedelta(days=1), reason)
        new = _insert_pairing(lawyer, village, on, new_end, pairing.onsite_hours,
                              pairing.preferred_weekday, pairing.preferred_half_day,
                              carry_from=pairing)
        record(actor, "pairing.replace", obj=new,
               detail={"replaced": pairing.id, "from_lawyer": pairing.lawyer_id,
                       "reason": reason or "", **_terms(new)})
        notify("pairing_changed", pairing=pairing, change="ended")
        notify("pairing_changed", pairing=new, change="paired")
    return new


def default_term_end(start: dt.date, years: int = 3) -> dt.date:
    """The last day of a term of ``years`` years from ``start`` (2026-01-01 → 2028-12-31)."""
    try:
        anniversary = start.replace(year=start.year + years)
    except ValueError:  # 29 February in a year that has none
        anniversary = dt.date(start.year + years, 3, 1)
    return anniversary - dt.timedelta(days=1)
