"""Inspections of a village's service (检查, DOMAIN 五.4).

The plan's office checks that the work systems are kept: a coordinator of the village's
scope (``core.access.can_inspect``) records a **visit** (走访检查) or an unannounced **spot
check** (抽查) of one village: the day (not in the future), a checklist — each item the plan
names for a village's service (``core.vocabulary.INSPECTION_ITEMS``: sessions held and
hours posted, publicity, the work log, one file per case, major matters, the information
board, the contact card, the WeChat group) marked as meeting the standard, falling short,
or not checked, at least one checked — the findings (required when an item falls short) and
what must be put right (the follow-up) with its due date. When the follow-up is done the
coordinator records the day and what was done (``close_follow_up``).

An inspection belongs to the pairing that served the village on its day (its lawyer's),
and counts in that pairing's assessment (``core.assessment``: a deduction per item falling
short and per follow-up not done by its due date). Who reads inspections:
``core.access.inspection_filter`` (managers of the village's scope, the pairing's lawyer).
Every change is audited (``inspection.record``, ``inspection.follow_up``) and the lawyer
is told of a new inspection through the inbox (kind ``inspection``).
"""
import datetime as dt

from core import clock
from core.access import can_inspect, can_read_inspection, inspection_filter
from core.audit import record
from core.db import transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import N_, gettext_for
from core.config import get_settings
from core.models import Inspection, Lawyer, Pairing, Town, User, Village
from core.notify import lawyer_users, notify_users
from core.text import clean_text
from core.vocabulary import INSPECTION_ITEMS, INSPECTION_KINDS, INSPECTION_RESULTS

MAX_TEXT = 2000
LINK = "/inspections/{id}"
NOTICE = N_("%(village)s was inspected on %(day)s: %(failed)d items fall short")


def link(inspection: Inspection) -> str:
    return LINK.format(id=inspection.id)


# --- reading -------------------------------------------------------------------------------

def inspections_visible_to(user: User | None):
    """The inspections ``user`` may read, newest first, with village, town and lawyer."""
    return (Inspection.select(Inspection, Village, Town)
            .join(Village).join(Town)
            .where(inspection_filter(user))
            .order_by(Inspection.inspected_on.desc(), Inspection.id.desc()))


def filtered(user: User | None, *, town: int | None = None, village: int | None = None,
             outcome: str | None = None, today: dt.date | None = None):
    """The list's query: ``inspections_visible_to`` narrowed to a town, a village, and an
    outcome (``passed``: every checked item met the standard; ``failed``: an item fell
    short; ``follow_up_open``: a follow-up not yet done). The outcome is read from the
    checklist, so it filters in Python over the already narrowed rows."""
    query = inspections_visible_to(user)
    if town:
        query = query.where(Village.town == town)
    if village:
        query = query.where(Inspection.village == village)
    if outcome == "follow_up_open":
        return query.where((Inspection.follow_up != "") & Inspection.follow_up_done_on.is_null())
    if outcome in ("passed", "failed"):
        rows = list(query)
        return [row for row in rows if bool(failed_items(row)) == (outcome == "failed")]
    return query


def get_inspection(user: User | None, inspection_id) -> Inspection:
    inspection = Inspection.get_or_none(Inspection.id == inspection_id)
    if inspection is None or not can_read_inspection(user, inspection):
        raise NotFound(N_("There is no such inspection."))
    return inspection


def of_village(user: User | None, village: Village):
    return inspections_visible_to(user).where(Inspection.village == village.id)


def of_pairing(pairing: Pairing, year: int | None = None):
    """The inspections counted for ``pairing`` (of ``year``, when given), oldest first."""
    query = Inspection.select().where(Inspection.pairing == pairing.id)
    if year is not None:
        query = query.where((Inspection.inspected_on >= dt.date(year, 1, 1))
                            & (Inspection.inspected_on <= dt.date(year, 12, 31)))
    return query.order_by(Inspection.inspected_on, Inspection.id)


def failed_items(inspection: Inspection) -> list[str]:
    """The checklist items that fell short, in the plan's order."""
    checklist = inspection.checklist or {}
    return [item for item in INSPECTION_ITEMS if checklist.get(item) == "fail"]


def checked_items(inspection: Inspection) -> list[str]:
    checklist = inspection.checklist or {}
    return [item for item in INSPECTION_ITEMS if checklist.get(item) in ("pass", "fail")]


def follow_up_open(inspection: Inspection) -> bool:
    return bool(inspection.follow_up) and inspection.follow_up_done_on is None


def follow_up_late(inspection: Inspection, today: dt.date | None = None) -> bool:
    """A follow-up not done by its due date: still open after it, or done after it."""
    if not inspection.follow_up or inspection.follow_up_due is None:
        return False
    if inspection.follow_up_done_on is not None:
        return inspection.follow_up_done_on > inspection.follow_up_due
    return (today or clock.today()) > inspection.follow_up_due


# --- recording ------------------------------------------------------------------------------

def serving_pairing(village: Village, day: dt.date) -> Pairing | None:
    """The pairing whose term covers ``day`` (the active one first)."""
    return (Pairing.select().where((Pairing.village == village.id) & (Pairing.term_start <= day)
                                   & (Pairing.term_end >= day))
            .order_by((Pairing.status == "active").desc(), Pairing.term_start.desc()).first())


def _clean_checklist(checklist) -> dict[str, str]:
    checklist = dict(checklist or {})
    unknown = [item for item in checklist if item not in INSPECTION_ITEMS]
    if unknown:
        raise ValidationError(N_("There is no checklist item %(item)s."), field="checklist",
                              item=unknown[0])
    cleaned = {}
    for item in INSPECTION_ITEMS:
        result = checklist.get(item) or "unchecked"
        if result not in INSPECTION_RESULTS:
            raise ValidationError(N_("Choose whether each item meets the standard, falls short "
                                     "or was not checked."), field=f"item_{item}")
        cleaned[item] = result
    if all(result == "unchecked" for result in cleaned.values()):
        raise ValidationError(N_("Mark at least one checklist item as meeting the standard or "
                                 "falling short."), field=f"item_{INSPECTION_ITEMS[0]}")
    return cleaned


def _check_day(day, today: dt.date) -> dt.date:
    if not isinstance(day, dt.date):
        raise ValidationError(N_("Give the day of the inspection."), field="inspected_on")
    if day > today:
        raise ValidationError(N_("The inspection cannot be recorded before it took place "
                                 "(%(day)s is in the future)."), field="inspected_on",
                              day=day.isoformat())
    return day


def record_inspection(actor: User | None, village: Village, *, inspected_on: dt.date,
                      kind: str, checklist: dict, findings: str = "", follow_up: str = "",
                      follow_up_due: dt.date | None = None, address: str = "") -> Inspection:
    """Record an inspection of ``village`` (see the module); nothing is written when a
    value breaks a rule."""
    if village is None or not can_inspect(actor, village):
        raise PermissionDenied(N_("You may not inspect %(village)s: it is not in your scope."),
                               village=village.name if village else "")
    today = clock.today()
    day = _check_day(inspected_on, today)
    if kind not in INSPECTION_KINDS:
        raise ValidationError(N_("Choose a visit or a spot check."), field="kind")
    cleaned = _clean_checklist(checklist)
    required = (N_("Say what falls short in the findings.")
                if "fail" in cleaned.values() else None)
    findings = clean_text(findings, "findings", MAX_TEXT, required=required)
    follow_up = clean_text(follow_up, "follow_up", MAX_TEXT)
    if follow_up:
        if not isinstance(follow_up_due, dt.date):
            raise ValidationError(N_("Give the day by which the follow-up is due."),
                                  field="follow_up_due")
        if follow_up_due < day:
            raise ValidationError(N_("The follow-up cannot be due (%(due)s) before the "
                                     "inspection (%(day)s)."), field="follow_up_due",
                                  due=follow_up_due.isoformat(), day=day.isoformat())
    else:
        follow_up_due = None
    pairing = serving_pairing(village, day)
    with transaction():
        inspection = Inspection.create(
            village=village, pairing=pairing, lawyer=pairing.lawyer_id if pairing else None,
            inspected_on=day, kind=kind, checklist=cleaned, findings=findings,
            follow_up=follow_up, follow_up_due=follow_up_due, created_by=actor)
        failed = failed_items(inspection)
        record(actor, "inspection.record", obj=inspection, address=address, detail={
            "village": village.id, "day": day.isoformat(), "kind": kind,
            "failed": failed, "follow_up_due": follow_up_due.isoformat() if follow_up_due
            else None})
        if pairing is not None:
            gettext = gettext_for(get_settings().locale)
            users = lawyer_users([pairing.lawyer_id]).get(pairing.lawyer_id, [])
            notify_users(users, kind="inspection", link=link(inspection), outside=False,
                         title=gettext(NOTICE) % {"village": village.name,
                                                  "day": day.isoformat(),
                                                  "failed": len(failed)},
                         body=findings)
    return inspection


def close_follow_up(actor: User | None, inspection: Inspection, *, done_on: dt.date,
                    note: str = "", address: str = "") -> Inspection:
    """Record the follow-up done on ``done_on`` (not before the inspection, not in the
    future) with what was done."""
    if not can_inspect(actor, inspection.village):
        raise PermissionDenied(N_("You may not inspect %(village)s: it is not in your scope."),
                               village=inspection.village.name)
    if not inspection.follow_up:
        raise ValidationError(N_("This inspection asked for no follow-up."), field="done_on")
    if inspection.follow_up_done_on is not None:
        raise ValidationError(N_("The follow-up is already recorded as done."), field="done_on")
    if not isinstance(done_on, dt.date):
        raise ValidationError(N_("Give the day the follow-up was done."), field="done_on")
    if done_on > clock.today() or done_on < inspection.inspected_on:
        raise ValidationError(N_("The follow-up must be done between the inspection "
                                 "(%(day)s) and today."), field="done_on",
                              day=inspection.inspected_on.isoformat())
    note = clean_text(note, "note", MAX_TEXT,
                      required=N_("Say what was done to put it right."))
    with transaction():
        inspection.follow_up_done_on, inspection.follow_up_note = done_on, note
        inspection.save()
        record(actor, "inspection.follow_up", obj=inspection, address=address,
               detail={"village": inspection.village_id, "done_on": done_on.isoformat(),
                       "late": follow_up_late(inspection)})
    return inspection


def lawyer_of(inspection: Inspection) -> Lawyer | None:
    return inspection.lawyer if inspection.lawyer_id else None
