"""What a village asks of its lawyer, and the lawyer's answers.

The plan asks villages to invite their lawyer to their major activities (五.5) and the
lawyer to collect residents' livelihood demands and pass them on (四.7); the office also
wants the village's word that the on-site work took place (五.4). Three requests, each
made by the village's own users (``core.access.speaks_for_village``) and belonging to the
village, not to one lawyer: its **current lawyer** (the active pairing's,
``core.access.is_village_lawyer``) answers, so when a lawyer is replaced what is still
pending is the new lawyer's at once.

- **Invitations** (``invite``): a day, a start and an end, a place, a title and a
  description. The lawyer accepts (``accept_invitation``) or declines with a reason
  (``decline_invitation``); the village may withdraw one still pending. Accepting puts the
  activity into the lawyer's calendar and feed: an event of kind ``activity`` (村(居)活动,
  which takes the lawyer's time — no double booking, the planner works around it — but
  counts toward no quota), or, for a legal-publicity invitation on a workday, the year's
  next planned publicity event of the pairing is moved to it (it keeps its plan slot, so
  held it counts as one of the two publicity events of the year, as any publicity event
  the lawyer moves). A time in the past, outside the pairing's term, or when the lawyer is
  booked (travel time between villages included) is refused. What the village typed (the
  title, place, description) stays on the invitation and the event's page: a feed shows
  only 村(居)活动 · <village>.
- **Demands** (``pass_on_demand``): a category, the text, optionally the resident's name
  and phone (shown in full on the demand's page — a read audited as ``demand.view`` — and
  masked in every list). The lawyer answers (``answer_demand``), which closes it;
  coordinators see the open demands of their scope.
- **Confirmations** (``confirm_session``): for a session or publicity event of the village
  that is over (held or not recorded), within ``CONFIRM_DAYS``, the village confirms that
  it took place or disputes it with a reason. One per event; a change keeps the earlier
  word in the audit log. A dispute (or its withdrawal) is told to the lawyer; the
  coordinators see the disputes of their scope. A dispute changes no record: the
  coordinator checks and corrects the event if needed.

Every change is audited (``invitation.*``, ``demand.*``, ``session.confirm|dispute``) and
told to the other side through the inbox (``core.notify``; kinds ``invitation``,
``invitation.answered``, ``demand``, ``demand.answered``, ``session.disputed``). A
pairing that ends (``pairing_changed``, from ``core.reactions``) hands back the accepted
activities after its end: their events are cancelled and the invitations wait for the next
lawyer's answer; a new lawyer is told what waits for them.
"""
import datetime as dt
import uuid

from peewee import JOIN

from core import clock
from core.access import is_village_lawyer, speaks_for_village, village_request_filter
from core.audit import record
from core.config import get_settings
from core.db import transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.events import cancel_event, clash, lawyer_busy, move_event, travel_gap
from core.feeds import publish_changes
from core.i18n import N_, gettext_for
from core.models import (Event, Invitation, Lawyer, Pairing, ResidentDemand,
                         SessionConfirmation, User, Village)
from core.notices import REASON
from core.notify import lawyer_users, notify_users, village_users
from core.pairings import active_pairing
from core.phones import clean_phone, mask_phone
from core.placements import KIND_WORDS, event_title
from core.text import clean_text
from core.vocabulary import (DEMAND_CATEGORIES, DEMAND_CATEGORY_LABELS, INVITATION_KINDS,
                             VERDICTS)
from core.workdays import workdays_between

MAX_TITLE = 100
MAX_PLACE = 200
MAX_TEXT = 2000
MAX_NAME = 50
CONFIRM_DAYS = 60  # how long after a session the village may confirm or dispute it
CONFIRMABLE_KINDS = tuple(KIND_WORDS)  # the on-site work: sessions and publicity events

INVITATION_LINK = "/requests/invitations/{id}"
DEMAND_LINK = "/requests/demands/{id}"
EVENT_LINK = "/calendar/events/{id}"
REQUESTS_LINK = "/requests/"

# Notices, stored in the district's language (JIEDUI_LOCALE).
INVITED = N_("%(village)s invites you: %(title)s (%(when)s)")
ACCEPTED = N_("%(lawyer)s accepted your invitation: %(title)s (%(when)s)")
DECLINED = N_("%(lawyer)s declined your invitation: %(title)s (%(when)s)")
WITHDRAWN = N_("%(village)s withdrew its invitation: %(title)s (%(when)s)")
DEMAND_PASSED = N_("%(village)s passes on a resident's demand: %(category)s")
DEMAND_ANSWERED = N_("%(lawyer)s answered the resident's demand: %(category)s")
DISPUTED = N_("%(village)s disputes the %(kind)s of %(when)s")
UNDISPUTED = N_("%(village)s now confirms the %(kind)s of %(when)s took place")
WAITING = N_("%(village)s: %(invitations)d invitations and %(demands)d residents' demands "
             "await your answer")
HANDED_BACK = N_("The village's lawyer changed; the invitation waits for the new lawyer's "
                 "answer.")


# --- masking ------------------------------------------------------------------------------------

def mask_name(name: str) -> str:
    """A resident's name as a list shows it: its first character, the rest ``*`` (张**)."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def masked_contact(demand: ResidentDemand) -> str:
    """The resident's contact as lists show it (张** · 138****0001); "" for none."""
    return " · ".join(part for part in (mask_name(demand.contact_name),
                                        mask_phone(demand.contact_phone)) if part)


# --- who may --------------------------------------------------------------------------------

def _require_village(actor: User | None, village: Village | None) -> Village:
    if village is None or not speaks_for_village(actor, village):
        raise PermissionDenied(N_("Only the village's own users may ask its lawyer."))
    return village


def _require_lawyer(actor: User | None, village: Village) -> None:
    if not is_village_lawyer(actor, village):
        raise PermissionDenied(N_("Only the village's current lawyer may answer."))


def _answered(row, actor: User | None, village: Village,
              now: dt.datetime | None) -> Lawyer | None:
    """Mark ``row`` (an invitation, a demand) answered now by ``actor`` for their lawyer —
    the operator's answer is the village's current lawyer's. Returns that lawyer."""
    if actor is not None and actor.lawyer_id:
        lawyer = actor.lawyer
    else:
        pairing = active_pairing(village)
        lawyer = pairing.lawyer if pairing is not None else None
    row.lawyer, row.answered_by, row.answered_at = lawyer, actor, now or clock.now_utc()
    return lawyer


# --- reading ---------------------------------------------------------------------------------

def invitations_visible_to(user: User | None):
    return (Invitation.select(Invitation, Village).join(Village)
            .where(village_request_filter(user, Invitation)))


def demands_visible_to(user: User | None):
    return (ResidentDemand.select(ResidentDemand, Village).join(Village)
            .where(village_request_filter(user, ResidentDemand)))


def disputes_visible_to(user: User | None):
    """The disputed sessions of ``user``'s villages, each with its event and village."""
    return (SessionConfirmation.select(SessionConfirmation, Event, Village)
            .join(Event).switch(SessionConfirmation).join(Village)
            .where((SessionConfirmation.verdict == "disputed")
                   & village_request_filter(user, SessionConfirmation)))


def get_invitation(user: User | None, invitation_id) -> Invitation:
    """The invitation, if ``user`` may read it; else NotFound (as if it did not exist)."""
    found = invitations_visible_to(user).where(Invitation.id == invitation_id).first()
    if found is None:
        raise NotFound(N_("No such invitation."))
    return found


def get_demand(user: User | None, demand_id) -> ResidentDemand:
    found = demands_visible_to(user).where(ResidentDemand.id == demand_id).first()
    if found is None:
        raise NotFound(N_("No such demand."))
    return found


def view_demand(user: User | None, demand_id, *, address: str = "") -> ResidentDemand:
    """The demand for its page, which shows the resident's contact in full: that read is
    audited (``demand.view``) when there is a contact to see."""
    demand = get_demand(user, demand_id)
    if demand.contact_name or demand.contact_phone:
        record(user, "demand.view", obj=demand, address=address)
    return demand


def confirmable_events(village: Village, now: dt.datetime | None = None):
    """The village's sessions and publicity events that are over (held or not recorded,
    not cancelled) within the last ``CONFIRM_DAYS`` days, latest first, each with its
    confirmation (``event.confirmation``, None when the village has said nothing) and
    lawyer."""
    now = now or clock.now_utc()
    return (Event.select(Event, SessionConfirmation, Lawyer)
            .join(SessionConfirmation, JOIN.LEFT_OUTER, attr="confirmation",
                  on=(SessionConfirmation.event == Event.id))
            .switch(Event).join(Lawyer, JOIN.LEFT_OUTER)
            .where((Event.village == village.id) & Event.kind.in_(CONFIRMABLE_KINDS)
                   & (Event.status != "cancelled") & (Event.ends_at <= now)
                   & (Event.ends_at > now - dt.timedelta(days=CONFIRM_DAYS)))
            .order_by(Event.starts_at.desc(), Event.id.desc()))


def awaiting_confirmation(village: Village, now: dt.datetime | None = None):
    """``confirmable_events`` the village has not confirmed or disputed yet."""
    return confirmable_events(village, now).where(SessionConfirmation.id.is_null())


def confirmation_of(event: Event) -> SessionConfirmation | None:
    return SessionConfirmation.get_or_none(SessionConfirmation.event == event.id)


def awaiting_lawyer(user: User):
    """(pending invitations, open demands) of the villages ``user`` is the current lawyer
    of, soonest or oldest first (queries, not yet run)."""
    mine = (Pairing.select(Pairing.village)
            .where((Pairing.lawyer == user.lawyer_id) & (Pairing.status == "active")))
    invitations = (Invitation.select(Invitation, Village).join(Village)
                   .where(Invitation.village.in_(mine) & (Invitation.status == "pending"))
                   .order_by(Invitation.starts_at, Invitation.id))
    demands = (ResidentDemand.select(ResidentDemand, Village).join(Village)
               .where(ResidentDemand.village.in_(mine) & (ResidentDemand.status == "open"))
               .order_by(ResidentDemand.created_at, ResidentDemand.id))
    return invitations, demands


# --- the clock and the lawyer's time -------------------------------------------------------------

def _local_text(instant: dt.datetime) -> str:
    return clock.to_local(instant).strftime("%Y-%m-%d %H:%M")


def _times(day, start, end) -> tuple[dt.datetime, dt.datetime]:
    if not isinstance(day, dt.date):
        raise ValidationError(N_("Enter the day of the activity."), field="day")
    if not isinstance(start, dt.time):
        raise ValidationError(N_("Enter when it starts."), field="start")
    if not isinstance(end, dt.time):
        raise ValidationError(N_("Enter when it ends."), field="end")
    if end <= start:
        raise ValidationError(N_("The end must be after the start."), field="end")
    return clock.utc_from_local(day, start), clock.utc_from_local(day, end)


def _check_time(village: Village, starts_at: dt.datetime, ends_at: dt.datetime,
                now: dt.datetime, exclude_id: int | None = None) -> Pairing:
    """The village's active pairing, if the activity is still to come, within its term
    and the lawyer is free then (with the travel time to and from another village)."""
    if starts_at <= now:
        raise ValidationError(N_("That time has passed: choose a day and time still to come."),
                              field="day")
    pairing = active_pairing(village)
    if pairing is None:
        raise ValidationError(N_("%(village)s has no lawyer now; the judicial office pairs "
                                 "one."), village=village.name)
    day = clock.local_date(starts_at)
    if not pairing.term_start <= day <= pairing.term_end:
        raise ValidationError(N_("%(day)s is outside the pairing's term (%(start)s to "
                                 "%(end)s)."), field="day", day=day.isoformat(),
                              start=pairing.term_start.isoformat(),
                              end=pairing.term_end.isoformat())
    gap = travel_gap()
    others = lawyer_busy(pairing.lawyer_id, starts_at - gap, ends_at + gap, exclude_id)
    other = clash(starts_at, ends_at, village.id, others, gap)
    if other is not None:  # never the other event's title: a task's may name a resident
        raise ValidationError(N_("%(lawyer)s is booked from %(start)s to %(end)s (with the "
                                 "travel between villages); choose another time."),
                              field="start", lawyer=pairing.lawyer.name,
                              start=_local_text(other.starts_at), end=_local_text(other.ends_at))
    return pairing


def _when(invitation: Invitation) -> str:
    start, end = clock.to_local(invitation.starts_at), clock.to_local(invitation.ends_at)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"


def _gettext():
    return gettext_for(get_settings().locale)


def _tell(users, *, kind: str, title: str, body: str = "", link: str = "",
          actor: User | None = None) -> None:
    """An inbox message (and the e-mail copy whoever asked for it), never to the actor,
    never to the shared channels: it is about one village."""
    notify_users([u for u in users if actor is None or u.id != actor.id], kind=kind,
                 title=title, body=body, link=link, outside=False)


def _lawyer_users_of(village: Village) -> list[User]:
    pairing = active_pairing(village)
    if pairing is None:
        return []
    return lawyer_users([pairing.lawyer_id])[pairing.lawyer_id]


def _village_users_of(village: Village) -> list[User]:
    return village_users([village.id])[village.id]


# --- invitations ------------------------------------------------------------------------------

def invite(actor: User | None, village: Village, *, kind: str = "activity", title: str,
           place: str, day: dt.date | None, start: dt.time | None, end: dt.time | None,
           description: str = "", now: dt.datetime | None = None) -> Invitation:
    """The village invites its current lawyer to an activity; the lawyer is told."""
    _require_village(actor, village)
    if kind not in INVITATION_KINDS:
        raise ValidationError(N_("Choose what kind of activity it is."), field="kind")
    title = clean_text(title, "title", MAX_TITLE, one_line=True,
                       required=N_("Say what the activity is, e.g. 村民代表大会."))
    place = clean_text(place, "place", MAX_PLACE, one_line=True,
                       required=N_("Say where it takes place."))
    description = clean_text(description, "description", MAX_TEXT)
    starts_at, ends_at = _times(day, start, end)
    now = now or clock.now_utc()
    _check_time(village, starts_at, ends_at, now)
    with transaction():
        invitation = Invitation.create(
            village=village, kind=kind, title=title, place=place, description=description,
            day=clock.local_date(starts_at), starts_at=starts_at, ends_at=ends_at,
            created_by=actor, created_at=now)
        record(actor, "invitation.create", obj=invitation,
               detail={"village": village.id, "kind": kind, "starts_at": starts_at.isoformat(),
                       "ends_at": ends_at.isoformat()})
        _tell(_lawyer_users_of(village), kind="invitation", actor=actor,
              title=_gettext()(INVITED) % {"village": village.name, "title": title,
                                           "when": _when(invitation)},
              body=place, link=INVITATION_LINK.format(id=invitation.id))
    return invitation


def _require_pending(invitation: Invitation) -> None:
    if invitation.status == "withdrawn":
        raise ValidationError(N_("The village withdrew this invitation."))
    if invitation.status != "pending":
        raise ValidationError(N_("This invitation has been answered already."))


def _publicity_to_move(pairing: Pairing, starts_at: dt.datetime,
                       now: dt.datetime) -> Event | None:
    """The pairing's next planned publicity event of the activity's year, still to come,
    when the activity is on a workday (publicity events are planned on workdays only)."""
    day = clock.local_date(starts_at)
    if not workdays_between(day, day).is_workday(day):
        return None
    return (Event.select().where(
        (Event.pairing == pairing.id) & (Event.kind == "publicity")
        & (Event.status == "planned") & (Event.starts_at > now)
        & Event.plan_key.contains(f":{day.year}:publicity:"))
        .order_by(Event.starts_at, Event.id).first())


def accept_invitation(actor: User | None, invitation: Invitation,
                      now: dt.datetime | None = None) -> Invitation:
    """The current lawyer accepts: the activity goes into their calendar and feed (see the
    module's notes for which event), the village is told."""
    village = invitation.village
    _require_lawyer(actor, village)
    _require_pending(invitation)
    now = now or clock.now_utc()
    if invitation.starts_at <= now:
        raise ValidationError(N_("The activity's time has passed; it can no longer be "
                                 "accepted."))
    pairing = active_pairing(village)
    moving = (_publicity_to_move(pairing, invitation.starts_at, now)
              if pairing is not None and invitation.kind == "publicity" else None)
    pairing = _check_time(village, invitation.starts_at, invitation.ends_at, now,
                          exclude_id=moving.id if moving is not None else None)
    lawyer = pairing.lawyer
    with transaction():
        if moving is not None:  # a lawyer's own move: the planner keeps it there
            event = move_event(actor, moving, starts_at=invitation.starts_at,
                               ends_at=invitation.ends_at)
        else:
            event = Event.create(
                uid=f"{uuid.uuid4().hex}@jiedui", kind="activity", village=village.id,
                pairing=pairing.id, lawyer=lawyer.id, starts_at=invitation.starts_at,
                ends_at=invitation.ends_at, status="planned",
                title=event_title("activity", village.name), created_at=now, updated_at=now)
            record(actor, "event.add", obj=event,
                   detail={"invitation": invitation.id, "kind": "activity",
                           "starts_at": event.starts_at.isoformat(),
                           "ends_at": event.ends_at.isoformat(), "lawyer": lawyer.id})
        invitation.status, invitation.event = "accepted", event
        _answered(invitation, actor, village, now)
        invitation.save()
        record(actor, "invitation.accept", obj=invitation,
               detail={"event": event.id, "counts_as_publicity": event.kind == "publicity"})
        _tell(_village_users_of(village), kind="invitation.answered", actor=actor,
              title=_gettext()(ACCEPTED) % {"lawyer": lawyer.name, "title": invitation.title,
                                            "when": _when(invitation)},
              link=INVITATION_LINK.format(id=invitation.id))
    if moving is None:
        publish_changes([event.id])  # the lawyer's feed (move_event publishes its own)
    return invitation


def decline_invitation(actor: User | None, invitation: Invitation, reason: str,
                       now: dt.datetime | None = None) -> Invitation:
    """The current lawyer declines, saying why; the village is told."""
    village = invitation.village
    _require_lawyer(actor, village)
    _require_pending(invitation)
    reason = clean_text(reason, "reason", MAX_TEXT,
                        required=N_("Say why you decline, so the village can plan."))
    with transaction():
        invitation.status, invitation.reason = "declined", reason
        lawyer = _answered(invitation, actor, village, now)
        invitation.save()
        record(actor, "invitation.decline", obj=invitation, detail={"reason": reason})
        gettext = _gettext()
        _tell(_village_users_of(village), kind="invitation.answered", actor=actor,
              title=gettext(DECLINED) % {"lawyer": lawyer.name if lawyer else "",
                                         "title": invitation.title, "when": _when(invitation)},
              body=gettext(REASON) % {"reason": reason},
              link=INVITATION_LINK.format(id=invitation.id))
    return invitation


def withdraw_invitation(actor: User | None, invitation: Invitation) -> Invitation:
    """The village takes back an invitation the lawyer has not answered; the lawyer is
    told. (An accepted activity that will not happen is cancelled on its event's page by
    the lawyer or a coordinator.)"""
    village = _require_village(actor, invitation.village)
    _require_pending(invitation)
    with transaction():
        invitation.status = "withdrawn"
        invitation.save()
        record(actor, "invitation.withdraw", obj=invitation)
        _tell(_lawyer_users_of(village), kind="invitation", actor=actor,
              title=_gettext()(WITHDRAWN) % {"village": village.name, "title": invitation.title,
                                             "when": _when(invitation)},
              link=INVITATION_LINK.format(id=invitation.id))
    return invitation


# --- residents' demands ---------------------------------------------------------------------

def pass_on_demand(actor: User | None, village: Village, *, category: str, text: str,
                   contact_name: str = "", contact_phone: str = "",
                   now: dt.datetime | None = None) -> ResidentDemand:
    """The village records a resident's demand for its lawyer, who is told (not of the
    text: it is read on the demand's page)."""
    _require_village(actor, village)
    if category not in DEMAND_CATEGORIES:
        raise ValidationError(N_("Choose what the demand is about."), field="category")
    text = clean_text(text, "text", MAX_TEXT, required=N_("Write the resident's demand."))
    contact_name = clean_text(contact_name, "contact_name", MAX_NAME, one_line=True)
    contact_phone = clean_phone(contact_phone, "contact_phone")
    with transaction():
        demand = ResidentDemand.create(
            village=village, category=category, text=text, contact_name=contact_name,
            contact_phone=contact_phone, created_by=actor, created_at=now or clock.now_utc())
        record(actor, "demand.create", obj=demand,
               detail={"village": village.id, "category": category,
                       "contact": bool(contact_name or contact_phone)})
        gettext = _gettext()
        _tell(_lawyer_users_of(village), kind="demand", actor=actor,
              title=gettext(DEMAND_PASSED) % {"village": village.name,
                                              "category": _category_text(category, gettext)},
              link=DEMAND_LINK.format(id=demand.id))
    return demand


def _category_text(category: str, gettext) -> str:
    return gettext(DEMAND_CATEGORY_LABELS.get(category, category))


def answer_demand(actor: User | None, demand: ResidentDemand, answer: str,
                  now: dt.datetime | None = None) -> ResidentDemand:
    """The current lawyer answers, which closes the demand; the village is told."""
    village = demand.village
    _require_lawyer(actor, village)
    if demand.status != "open":
        raise ValidationError(N_("This demand has been answered already."))
    answer = clean_text(answer, "answer", MAX_TEXT,
                        required=N_("Write your answer to the resident's demand."))
    with transaction():
        demand.status, demand.answer = "answered", answer
        lawyer = _answered(demand, actor, village, now)
        demand.save()
        record(actor, "demand.answer", obj=demand)
        gettext = _gettext()
        _tell(_village_users_of(village), kind="demand.answered", actor=actor,
              title=gettext(DEMAND_ANSWERED) % {
                  "lawyer": lawyer.name if lawyer else "",
                  "category": _category_text(demand.category, gettext)},
              link=DEMAND_LINK.format(id=demand.id))
    return demand


# --- confirming that a session took place ------------------------------------------------------

def confirm_session(actor: User | None, event: Event, *, verdict: str, reason: str = "",
                    now: dt.datetime | None = None) -> SessionConfirmation:
    """The village's word on a session or publicity event that is over: "confirmed" (it
    took place) or "disputed" (with the reason). Saying it again changes the word (audited
    with the earlier one); a dispute, or taking one back, is told to the event's lawyer."""
    village = _require_village(actor, event.village if event.village_id else None)
    if event.kind not in CONFIRMABLE_KINDS:
        raise ValidationError(N_("Only on-site sessions and publicity events are confirmed."))
    if event.status == "cancelled":
        raise ValidationError(N_("This event was cancelled; there is nothing to confirm."))
    now = now or clock.now_utc()
    if event.ends_at > now:
        raise ValidationError(N_("A session can be confirmed only once it is over."))
    if event.ends_at <= now - dt.timedelta(days=CONFIRM_DAYS):
        raise ValidationError(N_("Sessions that ended more than %(days)s days ago can no "
                                 "longer be confirmed or disputed."), days=CONFIRM_DAYS)
    if verdict not in VERDICTS:
        raise ValidationError(N_("Say whether it took place."), field="verdict")
    reason = clean_text(reason, "reason", MAX_TEXT,
                        required=(N_("Say what did not take place as recorded.")
                                  if verdict == "disputed" else None))
    existing = confirmation_of(event)
    before = ({"verdict": existing.verdict, "reason": existing.reason}
              if existing is not None else None)
    after = {"verdict": verdict, "reason": reason}
    if before == after:
        return existing
    with transaction():
        if existing is None:
            existing = SessionConfirmation.create(event=event, village=village, verdict=verdict,
                                                  reason=reason, by=actor, at=now)
        else:
            existing.verdict, existing.reason, existing.by, existing.at = \
                verdict, reason, actor, now
            existing.save()
        record(actor, "session.dispute" if verdict == "disputed" else "session.confirm",
               obj=event, detail={"before": before, "after": after})
        if verdict == "disputed" or (before or {}).get("verdict") == "disputed":
            _tell_lawyer_of_dispute(actor, event, village, verdict, reason)
    return existing


def _tell_lawyer_of_dispute(actor: User | None, event: Event, village: Village,
                            verdict: str, reason: str) -> None:
    if not event.lawyer_id:
        return
    gettext = _gettext()
    params = {"village": village.name, "kind": KIND_WORDS.get(event.kind, event.kind),
              "when": _local_text(event.starts_at)}
    disputed = verdict == "disputed"
    _tell(lawyer_users([event.lawyer_id])[event.lawyer_id], kind="session.disputed",
          actor=actor, title=gettext(DISPUTED if disputed else UNDISPUTED) % params,
          body=gettext(REASON) % {"reason": reason} if disputed else "",
          link=EVENT_LINK.format(id=event.id))


# --- the village's overviews (the homes) -------------------------------------------------------

def village_overview(village: Village, *, limit: int = 5, now: dt.datetime | None = None) -> dict:
    """What the village has asked of its lawyer lately and the answers, and the sessions
    awaiting its word: four queries."""
    invitations = list(Invitation.select().where(Invitation.village == village.id)
                       .order_by(Invitation.status != "pending", Invitation.created_at.desc(),
                                 Invitation.id.desc()).limit(limit))
    demands = list(ResidentDemand.select().where(ResidentDemand.village == village.id)
                   .order_by(ResidentDemand.status != "open", ResidentDemand.created_at.desc(),
                             ResidentDemand.id.desc()).limit(limit))
    awaiting = list(awaiting_confirmation(village, now).limit(limit))
    pairing = (Pairing.select(Pairing, Lawyer).join(Lawyer)
               .where((Pairing.village == village.id) & (Pairing.status == "active")).first())
    return {"invitations": invitations, "demands": demands, "awaiting": awaiting,
            "pairing": pairing}


def lawyer_overview(user: User, *, limit: int = 5) -> dict:
    """What awaits the lawyer's answer: the first few pending invitations and open demands
    of their villages, and how many there are (four queries)."""
    invitations, demands = awaiting_lawyer(user)
    return {"invitations": list(invitations.limit(limit)), "invitation_count": invitations.count(),
            "demands": list(demands.limit(limit)), "demand_count": demands.count()}


# --- when a pairing begins or ends (core.reactions) -----------------------------------------------

def pairing_changed(pairing: Pairing, change: str) -> None:
    """A pairing ended (alone or replaced): the activities it accepted after its end are
    cancelled and their invitations wait for the next lawyer. A pairing began: its lawyer
    is told what of the village waits for an answer."""
    if change == "ended":
        _hand_back_after(pairing)
    elif change == "paired" and pairing.status == "active":
        _tell_what_waits(pairing)


def _hand_back_after(pairing: Pairing) -> None:
    end = clock.utc_from_local(pairing.term_end + dt.timedelta(days=1), dt.time())
    later = max(end, clock.now_utc())
    accepted = (Invitation.select(Invitation, Event).join(Event)
                .where((Invitation.village == pairing.village_id)
                       & (Invitation.status == "accepted") & (Event.kind == "activity")
                       & (Event.lawyer == pairing.lawyer_id) & (Event.status == "planned")
                       & (Event.starts_at >= later)))
    reason = _gettext()(HANDED_BACK)
    for invitation in accepted:
        with transaction():
            cancel_event(None, invitation.event, reason=reason)
            Invitation.update(status="pending", event=None, lawyer=None, answered_by=None,
                              answered_at=None, reason="").where(
                Invitation.id == invitation.id).execute()
            record(None, "invitation.reopen", obj=invitation,
                   detail={"pairing": pairing.id, "cancelled_event": invitation.event_id})


def _tell_what_waits(pairing: Pairing) -> None:
    village = pairing.village
    invitations = (Invitation.select().where((Invitation.village == village.id)
                                             & (Invitation.status == "pending")).count())
    demands = (ResidentDemand.select().where((ResidentDemand.village == village.id)
                                             & (ResidentDemand.status == "open")).count())
    if not invitations and not demands:
        return
    _tell(lawyer_users([pairing.lawyer_id])[pairing.lawyer_id], kind="invitation",
          title=_gettext()(WAITING) % {"village": village.name, "invitations": invitations,
                                       "demands": demands},
          link=REQUESTS_LINK)
