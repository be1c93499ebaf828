"""Pairing services: pair a lawyer with a village, change the term, end, replace.

The rule *one village, one active lawyer* lives here (checked, with a clear
message) and in the database (a partial unique index), so a race between two
writers still cannot break it.
"""
import datetime as dt

from peewee import IntegrityError

from core import arrangements
from core.access import require_manage_village
from core.arrangements import Arrangement
from core.audit import record
from core.clock import now_utc
from core.config import get_settings
from core.db import db, transaction
from core.errors import ConflictError, ValidationError
from core.feeds import publish_changes
from core.i18n import N_, gettext_for
from core.models import Lawyer, Pairing, User, Village, WechatGroup, WechatGroupMember
from core.plugins import notify
from core.tasks import hand_over_tasks

ONE_ACTIVE_MESSAGE = N_("%(village)s already has an active lawyer (%(lawyer)s). "
                        "End that pairing or replace the lawyer instead.")


def default_group_name(village: Village) -> str:
    return f"{village.name}结对律师服务微信群"


def active_pairing(village: Village) -> Pairing | None:
    return (Pairing.select().where((Pairing.village == village) & (Pairing.status == "active"))
            .first())


def _check_terms(term_start, term_end):
    if not isinstance(term_start, dt.date) or not isinstance(term_end, dt.date):
        raise ValidationError(N_("The term needs a start and an end date."), field="term_start")
    if term_end < term_start:
        raise ValidationError(N_("The term cannot end (%(end)s) before it starts (%(start)s)."),
                              field="term_end", start=term_start.isoformat(),
                              end=term_end.isoformat())


def _other_arrangements(lawyer: Lawyer, term_start: dt.date, term_end: dt.date,
                        exclude: Pairing | None = None):
    """The lawyer's other active pairings whose terms overlap this one."""
    query = (Pairing.select(Pairing, Village).join(Village)
             .where((Pairing.lawyer == lawyer.id) & (Pairing.status == "active")
                    & (Pairing.term_start <= term_end) & (Pairing.term_end >= term_start)))
    if exclude is not None:
        query = query.where(Pairing.id != exclude.id)
    return list(query)


def check_arrangement(lawyer: Lawyer, arrangement: Arrangement, term_start: dt.date,
                      term_end: dt.date, exclude: Pairing | None = None) -> Arrangement:
    """The half-day rule, and no clash with the lawyer's other villages: an arrangement a
    lawyer could not keep would be published and then planned elsewhere every month."""
    settings = get_settings()
    arrangements.check(arrangement, settings.min_session_hours)
    gap = dt.timedelta(minutes=settings.travel_gap_minutes)
    for other in _other_arrangements(lawyer, term_start, term_end, exclude):
        if other.village_id != getattr(exclude, "village_id", None) and \
                arrangement.meets(other.arrangement, gap):
            gettext = gettext_for(settings.locale)
            raise ValidationError(
                N_("%(lawyer)s is at %(village)s then (%(arrangement)s); choose another week, "
                   "weekday or hours."), field="onsite_weekday", lawyer=lawyer.name,
                village=other.village.name,
                arrangement=arrangements.describe(other.arrangement, gettext))
    return arrangement


def free_arrangement(lawyer: Lawyer, village: Village, term_start: dt.date,
                     term_end: dt.date) -> Arrangement:
    """An arrangement for a pairing made without one: the first of
    ``arrangements.candidates`` that keeps clear of the lawyer's other villages."""
    settings = get_settings()
    gap = dt.timedelta(minutes=settings.travel_gap_minutes)
    taken = [p.arrangement for p in _other_arrangements(lawyer, term_start, term_end)
             if p.village_id != village.id]
    options = arrangements.candidates(village.id, settings.morning, settings.afternoon)
    return next((option for option in options
                 if not any(option.meets(other, gap) for other in taken)),
                next(arrangements.candidates(village.id, settings.morning, settings.afternoon)))


def _conflict(village: Village) -> ConflictError:
    current = active_pairing(village)
    return ConflictError(ONE_ACTIVE_MESSAGE, village=village.name,
                         lawyer=current.lawyer.name if current else "?")


def _latest_group(village: Village) -> WechatGroup | None:
    """The village's most recent WeChat group (of its latest pairing that had one)."""
    return (WechatGroup.select().join(Pairing).where(Pairing.village == village.id)
            .order_by(Pairing.term_start.desc(), Pairing.id.desc()).first())


def _create_group(pairing: Pairing, carry_from: WechatGroup | None = None) -> WechatGroup:
    """The service group: the lawyer and assistants, plus the village side (and the name)
    of the village's previous group, which outlives a change of lawyer."""
    lawyer = pairing.lawyer
    group = WechatGroup.create(pairing=pairing, name=default_group_name(pairing.village),
                               admin_name=lawyer.name)
    members = [dict(name=lawyer.name, role="lawyer", phone=lawyer.phone)]
    members += [dict(name=a.name, role="assistant", phone=a.phone) for a in lawyer.assistants]
    if carry_from is not None:
        old_members = carry_from.members.where(
            WechatGroupMember.role.not_in(("lawyer", "assistant")))
        group.name = carry_from.name
        # the same WeChat group: its join QR code goes on working until it expires
        group.join_qr, group.join_qr_expires = carry_from.join_qr, carry_from.join_qr_expires
        group.save()
        members += [dict(name=m.name, role=m.role, phone=m.phone)
                    for m in old_members.order_by(WechatGroupMember.id)]
    for member in members:
        WechatGroupMember.create(group=group, **member)
    return group


def _insert_pairing(lawyer, village, term_start, term_end, arrangement) -> Pairing:
    if not lawyer.active:
        raise ValidationError(N_("%(lawyer)s is no longer active and cannot be paired."),
                              field="lawyer", lawyer=lawyer.name)
    if active_pairing(village) is not None:
        raise _conflict(village)
    carry_from = _latest_group(village)
    try:
        with db.atomic():
            pairing = Pairing.create(
                lawyer=lawyer, village=village, term_start=term_start, term_end=term_end,
                onsite_week=arrangement.week, onsite_weekday=arrangement.weekday,
                onsite_start=arrangement.start, onsite_end=arrangement.end)
    except IntegrityError as exc:  # another writer paired the village first
        raise _conflict(village) from exc
    _create_group(pairing, carry_from)
    return pairing


def _arrangement_for(lawyer, village, term_start, term_end, arrangement, exclude=None):
    if arrangement is None:
        return free_arrangement(lawyer, village, term_start, term_end)
    return check_arrangement(lawyer, arrangement, term_start, term_end, exclude)


def pair(actor: User | None, *, lawyer: Lawyer, village: Village, term_start: dt.date,
         term_end: dt.date, arrangement: Arrangement | None = None) -> Pairing:
    """Pair ``lawyer`` with ``village`` for a term; the village must have no active lawyer.
    Without an ``arrangement`` one that fits the lawyer's other villages is chosen. The
    village side of the village's previous WeChat group stays in the new one."""
    require_manage_village(actor, village)
    _check_terms(term_start, term_end)
    if active_pairing(village) is not None:
        raise _conflict(village)
    arrangement = _arrangement_for(lawyer, village, term_start, term_end, arrangement)
    with transaction():
        pairing = _insert_pairing(lawyer, village, term_start, term_end, arrangement)
        record(actor, "pairing.pair", obj=pairing, detail=_terms(pairing))
        notify("pairing_changed", pairing=pairing, change="paired")
    return pairing


def update_pairing(actor: User | None, pairing: Pairing, *, term_start: dt.date,
                   term_end: dt.date, arrangement: Arrangement | None = None) -> Pairing:
    """Change the term and the on-site arrangement of an active pairing (None: keep it);
    the village's planned years are re-planned to match (``pairing_changed``)."""
    require_manage_village(actor, pairing.village)
    if pairing.status != "active":
        raise ValidationError(N_("This pairing has ended and can no longer be changed."))
    _check_terms(term_start, term_end)
    arrangement = check_arrangement(pairing.lawyer, arrangement or pairing.arrangement,
                                    term_start, term_end, exclude=pairing)
    pairing.term_start, pairing.term_end = term_start, term_end
    pairing.onsite_week, pairing.onsite_weekday = arrangement.week, arrangement.weekday
    pairing.onsite_start, pairing.onsite_end = arrangement.start, arrangement.end
    pairing.updated_at = now_utc()
    with transaction():
        pairing.save()
        record(actor, "pairing.update", obj=pairing, detail=_terms(pairing))
        notify("pairing_changed", pairing=pairing, change="updated")
    return pairing


def _terms(pairing: Pairing) -> dict:
    """What an audit entry says about a pairing's arrangements."""
    arrangement = pairing.arrangement
    return {"lawyer": pairing.lawyer_id, "village": pairing.village_id,
            "term_start": pairing.term_start.isoformat(),
            "term_end": pairing.term_end.isoformat(),
            "onsite_week": arrangement.week, "onsite_weekday": arrangement.weekday,
            "onsite_start": arrangement.start.isoformat(timespec="minutes"),
            "onsite_end": arrangement.end.isoformat(timespec="minutes")}


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
    """End a pairing on ``ended_on``; the village is then without a lawyer. Its events
    after that day are cancelled by the re-planning that follows (``pairing_changed``);
    the WeChat group's village side waits for the next lawyer."""
    require_manage_village(actor, pairing.village)
    with transaction():
        _close(pairing, ended_on, reason)
        record(actor, "pairing.end", obj=pairing,
               detail={"ended_on": ended_on.isoformat(), "reason": reason or ""})
        notify("pairing_changed", pairing=pairing, change="ended")
    return pairing


def replace_lawyer(actor: User | None, pairing: Pairing, *, lawyer: Lawyer, on: dt.date,
                   term_end: dt.date | None = None, reason: str = "",
                   arrangement: Arrangement | None = None) -> Pairing:
    """End ``pairing`` the day before ``on`` and pair ``lawyer`` with the village from ``on``.

    Both happen or neither does. The new pairing keeps the on-site arrangement (unless a
    new one is given) and the WeChat group (its name and village side; the new lawyer takes
    the old one's place); the village's open tasks pass to the new lawyer now, and its
    future events in every planned year with the re-planning that follows. Its term runs
    to ``term_end`` (default: the old end)."""
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
    arrangement = check_arrangement(lawyer, arrangement or pairing.arrangement, on, new_end,
                                    exclude=pairing)
    with transaction():
        _close(pairing, on - dt.timedelta(days=1), reason)
        new = _insert_pairing(lawyer, village, on, new_end, arrangement)
        handed = hand_over_tasks(actor, village, from_lawyer=pairing.lawyer, to_lawyer=lawyer)
        record(actor, "pairing.replace", obj=new,
               detail={"replaced": pairing.id, "from_lawyer": pairing.lawyer_id,
                       "reason": reason or "", "tasks": [task.id for task in handed],
                       **_terms(new)})
        notify("pairing_changed", pairing=pairing, change="ended")
        notify("pairing_changed", pairing=new, change="paired")
        notify("lawyer_replaced", old=pairing, new=new, actor=actor)
    publish_changes(task.event_id for task in handed if task.event_id)
    return new


def default_term_end(start: dt.date, years: int = 3) -> dt.date:
    """The last day of a term of ``years`` years from ``start`` (2026-01-01 → 2028-12-31)."""
    try:
        anniversary = start.replace(year=start.year + years)
    except ValueError:  # 29 February in a year that has none
        anniversary = dt.date(start.year + years, 3, 1)
    return anniversary - dt.timedelta(days=1)
