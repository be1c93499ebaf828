"""Events in a lawyer's calendar: half-day slots, the double-booking rule, and the changes
people make (move, record that it took place, cancel).

The rule "a lawyer is never in two places at once" lives in ``clash``: two events of one
lawyer may not overlap, and between two villages there must be the travel gap. The planner
applies it to its in-memory busy lists, ``check_slot`` to the database; both call ``clash``.

Every change bumps ``sequence`` and ``updated_at`` (calendar apps take the higher SEQUENCE),
then the feeds the event appears in are republished after the commit.
"""
import datetime as dt
import uuid
from dataclasses import dataclass

from core import clock
from core.access import can_edit_event, can_manage_event
from core.audit import record
from core.config import get_settings
from core.db import transaction
from core.errors import PermissionDenied, ValidationError
from core.feeds import publish_changes
from core.i18n import N_, gettext_for
from core.models import Event, EventHandover, Lawyer, Pairing, SignIn, User, Village
from core.placements import KIND_WORDS, event_title
from core.plugins import notify
from core.worklog import log_held_event
from core.workdays import workdays_between

HALF_DAY_NAMES = {"am": "morning", "pm": "afternoon"}
CHANGES = ("added", "moved", "cancelled", "reinstated", "reassigned")
MISSED_REASON = N_("Not held; made up on %(day)s.")


@dataclass(frozen=True)
class EventChange:
    """One change of one event, as the ``events_changed`` hook hands it to plugins:
    ``change`` is one of CHANGES; a move keeps the ``previous_start``, a hand-over (or a
    replacement's re-planning) the ``previous_lawyer_id``."""
    event: Event
    change: str
    previous_start: dt.datetime | None = None
    previous_lawyer_id: int | None = None


def hand_over(event: Event, lawyer_id: int | None, now: dt.datetime | None = None) -> None:
    """Give ``event`` to another lawyer (set, not saved: the caller saves and bumps it) and
    remember that it left the previous one, whose feed keeps it for a while as cancelled
    (core.feeds) instead of dropping it silently."""
    _record_handover(event, event.lawyer_id, lawyer_id, now)
    event.lawyer = lawyer_id


def _record_handover(event: Event, from_id: int | None, to_id: int | None,
                     now: dt.datetime | None = None) -> None:
    if from_id and from_id != to_id and event.id is not None:
        EventHandover.create(event=event.id, lawyer=from_id, to_lawyer=to_id,
                             handed_at=now or clock.now_utc())


# --- slots ---------------------------------------------------------------------------------

def slot_hours(half_day: str, settings=None) -> tuple[dt.time, dt.time]:
    """The configured wall-clock start and end of a half-day (``JIEDUI_MORNING`` /
    ``JIEDUI_AFTERNOON``)."""
    if half_day not in HALF_DAY_NAMES:
        raise ValidationError(N_("The half-day must be morning or afternoon."),
                              field="half_day")
    settings = settings or get_settings()
    return settings.morning if half_day == "am" else settings.afternoon


def session_times(day: dt.date, half_day: str, settings=None) -> tuple[dt.datetime, dt.datetime]:
    """The configured morning or afternoon slot of a district date, as stored (naive UTC)."""
    start, end = slot_hours(half_day, settings)
    return clock.utc_from_local(day, start), clock.utc_from_local(day, end)


# --- the double-booking rule ---------------------------------------------------------------

@dataclass(frozen=True)
class Busy:
    """A stretch of a lawyer's time taken by an event (naive UTC)."""
    event_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    village_id: int | None
    title: str = ""


def clash(starts_at: dt.datetime, ends_at: dt.datetime, village_id: int | None, others,
          gap: dt.timedelta) -> Busy | None:
    """The first of ``others`` that [starts_at, ends_at) overlaps, or comes closer to than
    ``gap`` when it is at another village (the lawyer must travel); None when free."""
    for other in others:
        same_place = village_id is not None and other.village_id == village_id
        margin = dt.timedelta(0) if same_place else gap
        if other.starts_at < ends_at + margin and starts_at < other.ends_at + margin:
            return other
    return None


def travel_gap(settings=None) -> dt.timedelta:
    return dt.timedelta(minutes=(settings or get_settings()).travel_gap_minutes)


def _local_text(instant: dt.datetime) -> str:
    return clock.to_local(instant).strftime("%Y-%m-%d %H:%M")


def _check_days(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    first = clock.local_date(starts_at)
    last = clock.local_date(ends_at - dt.timedelta(microseconds=1))
    calendar = workdays_between(first, last)
    day = first
    while day <= last:
        if not calendar.is_workday(day):
            name = calendar.name(day)
            if name:
                raise ValidationError(N_("%(day)s is a day off (%(name)s)."), field="starts_at",
                                      day=day.isoformat(), name=name)
            raise ValidationError(N_("%(day)s is a weekend day and not a make-up workday."),
                                  field="starts_at", day=day.isoformat())
        day += dt.timedelta(days=1)


def lawyer_busy(lawyer_id: int, starts_at: dt.datetime, ends_at: dt.datetime,
                exclude_id: int | None = None) -> list[Busy]:
    """The lawyer's events that are not cancelled around [starts_at, ends_at)."""
    query = (Event.select(Event.id, Event.starts_at, Event.ends_at, Event.village, Event.title)
             .where((Event.lawyer == lawyer_id) & (Event.status != "cancelled")
                    & (Event.starts_at < ends_at) & (Event.ends_at > starts_at)))
    if exclude_id is not None:
        query = query.where(Event.id != exclude_id)
    return [Busy(e.id, e.starts_at, e.ends_at, e.village_id, e.title) for e in query]


def check_slot(lawyer: Lawyer | None, starts_at: dt.datetime, ends_at: dt.datetime, *,
               exclude: Event | None = None, village: Village | None = None) -> None:
    """Refuse (ValidationError) a slot on a day off, or one that double-books the lawyer or
    leaves no travel gap between two villages. ``exclude`` is the event being moved (its
    village is the place unless ``village`` is given). Aware or naive-UTC datetimes."""
    starts_at, ends_at = clock.as_utc(starts_at), clock.as_utc(ends_at)
    if ends_at <= starts_at:
        raise ValidationError(N_("The end must be after the start."), field="ends_at")
    _check_days(starts_at, ends_at)
    if lawyer is None:
        return
    gap = travel_gap()
    village_id = village.id if village is not None else (exclude.village_id if exclude else None)
    others = lawyer_busy(lawyer.id, starts_at - gap, ends_at + gap,
                         exclude.id if exclude is not None else None)
    other = clash(starts_at, ends_at, village_id, others, gap)
    if other is None:
        return
    params = dict(lawyer=lawyer.name, title=other.title, start=_local_text(other.starts_at),
                  end=_local_text(other.ends_at))
    if other.starts_at < ends_at and starts_at < other.ends_at:
        raise ValidationError(N_("%(lawyer)s is already booked from %(start)s to %(end)s "
                                 "(%(title)s)."), field="starts_at", **params)
    raise ValidationError(N_("%(lawyer)s needs %(minutes)s minutes to travel between villages, "
                             "and is booked from %(start)s to %(end)s (%(title)s)."),
                          field="starts_at", minutes=int(gap.total_seconds() // 60), **params)


# --- who may change an event ---------------------------------------------------------------

def _require_edit(actor: User | None, event: Event) -> None:
    if not can_edit_event(actor, event):
        raise PermissionDenied(N_("You may not change this event."))


# --- changes -------------------------------------------------------------------------------

def plan_window(event: Event) -> tuple[int, int | None] | None:
    """(year, month) a planned session must stay in, (year, None) for a publicity event;
    None for an event the planner did not make. From the plan key
    ``<village>:<year>:<kind>:<nn>`` (a session's nn is its month)."""
    if not event.plan_key:
        return None
    parts = event.plan_key.rsplit(":", 3)
    year, kind, number = int(parts[1]), parts[2], int(parts[3])
    return (year, number) if kind == "session" else (year, None)


def _check_plan_window(event: Event, starts_at: dt.datetime) -> None:
    """A planned event stays where the plan needs it: a session in its month (one in each
    month of the term), a publicity event in its year; both inside the pairing's term."""
    window = plan_window(event)
    day = clock.local_date(starts_at)
    if window is not None:
        year, month = window
        if day.year != year or (month is not None and day.month != month):
            if month is not None:
                raise ValidationError(N_("A session stays in its month (%(month)s): one "
                                         "session is planned in each month of the term."),
                                      field="starts_at", month=f"{year}-{month:02d}")
            raise ValidationError(N_("A publicity event stays in its year (%(year)s)."),
                                  field="starts_at", year=year)
    pairing = event.pairing if event.pairing_id else None
    if pairing is not None and not pairing.term_start <= day <= pairing.term_end:
        raise ValidationError(N_("%(day)s is outside the pairing's term (%(start)s to "
                                 "%(end)s)."), field="starts_at", day=day.isoformat(),
                              start=pairing.term_start.isoformat(),
                              end=pairing.term_end.isoformat())


def _check_session_length(event: Event, start: dt.datetime, end: dt.datetime) -> None:
    hours = get_settings().min_session_hours
    if event.kind == "session" and (end - start) < dt.timedelta(hours=hours):
        raise ValidationError(N_("An on-site session lasts at least %(hours)s hours."),
                              field="ends_at", hours=f"{hours:g}")


def _save_change(actor: User | None, action: str, event: Event, *, then=None,
                 **fields) -> Event:
    """Save the changed fields and audit the change as ``action``; ``then(event)`` runs in
    the same transaction."""
    before = {name: _audited(event.__data__.get(name)) for name in fields}
    for name, value in fields.items():
        setattr(event, name, value)
    event.sequence += 1
    event.updated_at = clock.now_utc()
    with transaction():
        event.save()
        record(actor, action, obj=event,
               detail={"before": before, "after": {n: _audited(v) for n, v in fields.items()}})
        if then is not None:
            then(event)
    publish_changes([event.id])
    return event


def _audited(value):
    """A field's value as the audit log's JSON keeps it."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return getattr(value, "id", value)  # a related row (a lawyer): its id


def move_event(actor: User | None, event: Event, *, starts_at: dt.datetime,
               ends_at: dt.datetime) -> Event:
    """Move an event still to come to another slot (same checks as the planner)."""
    _require_edit(actor, event)
    if event.status != "planned":
        raise ValidationError(N_("Only a planned event can be moved; this one is %(status)s."),
                              status=event.status)
    now = clock.now_utc()
    if event.starts_at < now:
        raise ValidationError(N_("This event has begun or is over; it can no longer be moved."))
    if SignIn.select().where(SignIn.event == event.id).exists():  # core.signins
        raise ValidationError(N_("The lawyer has signed in at this event; it can no longer be "
                                 "moved."))
    start, end = clock.as_utc(starts_at), clock.as_utc(ends_at)
    if start < now:
        raise ValidationError(N_("An event cannot be moved into the past."), field="starts_at")
    if end <= start:
        raise ValidationError(N_("The end must be after the start."), field="ends_at")
    _check_session_length(event, start, end)
    _check_plan_window(event, start)
    check_slot(event.lawyer if event.lawyer_id else None, start, end, exclude=event)
    previous = event.starts_at
    placed = {}
    if event.placement and event.placement != "makeup":  # the planner keeps a hand's move
        arranged = event.arranged_on or (clock.local_date(previous)
                                         if event.placement == "arranged" else None)
        placed = dict(placement="manual", arranged_on=arranged)
    moved = _save_change(actor, "event.move", event, starts_at=start, ends_at=end,
                         **_no_proposal(event), **placed)
    _tell(actor, [EventChange(moved, "moved", previous_start=previous)])
    return moved


def record_held(actor: User | None, event: Event, *, start: dt.datetime,
                end: dt.datetime, content: str = "", result: str = "") -> Event:
    """Record that the event took place, with its actual start and end; a session must
    have lasted at least half a day (``JIEDUI_MIN_SESSION_HOURS``). Its work-log entry
    says ``content`` and ``result`` when given (a sign-out's, ``core.signins``). Recorded
    for the first time on a later day than it took place or was planned, it is marked as
    recorded late (``held_late``); correcting the times later changes no mark."""
    _require_edit(actor, event)
    if event.status == "cancelled":
        raise ValidationError(N_("A cancelled event cannot be recorded as held."))
    start, end = clock.as_utc(start), clock.as_utc(end)
    if end <= start:
        raise ValidationError(N_("The end must be after the start."), field="end")
    if end > clock.now_utc() + dt.timedelta(minutes=5):  # a little slack for clocks
        raise ValidationError(N_("An event can be recorded only once it has ended."),
                              field="end")
    hours = get_settings().min_session_hours
    if event.kind == "session" and (end - start) < dt.timedelta(hours=hours):
        raise ValidationError(N_("An on-site session must last at least %(hours)s hours; "
                                 "this one lasted %(actual)s."), field="end",
                              hours=f"{hours:g}", actual=_duration_text(end - start))
    late = {}
    if event.status != "held":
        late["held_late"] = clock.today() > min(clock.local_date(event.starts_at),
                                                clock.local_date(start))
    # the held event is a service of the lawyer: it goes into the work log (once)
    return _save_change(actor, "event.held", event,
                        then=lambda held: log_held_event(actor, held, content=content,
                                                         result=result),
                        status="held", held_start=start, held_end=end, **late)


def _duration_text(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def cancel_event(actor: User | None, event: Event, *, reason: str) -> Event:
    """Cancel an event with a reason; it stays (feeds show it as cancelled)."""
    _require_edit(actor, event)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(N_("Say why the event is cancelled."), field="reason")
    if event.status == "held":
        raise ValidationError(N_("This event took place; it cannot be cancelled."))
    if event.status == "cancelled":
        raise ValidationError(N_("This event is cancelled already."))
    cancelled = _save_change(actor, "event.cancel", event, status="cancelled",
                             cancel_reason=reason, **_no_proposal(event))
    _tell(actor, [EventChange(cancelled, "cancelled")])
    return cancelled


def _no_proposal(event: Event) -> dict:
    """A person's change makes re-planning's proposal for the event moot: clear it."""
    return {"proposal": None} if event.proposal else {}


def _tell(actor: User | None, changes: list[EventChange]) -> None:
    """The ``events_changed`` hook (after the commit: the change is saved already)."""
    if changes:
        notify("events_changed", changes=changes, actor=actor)


# --- making up for what did not happen -------------------------------------------------------

def _require_manage(actor: User | None, event: Event, message: str) -> None:
    if not can_manage_event(actor, event):
        raise PermissionDenied(message)


def live_makeup(event: Event) -> Event | None:
    """The make-up added for ``event`` that is not cancelled, if any."""
    return (Event.select().where((Event.makeup_for == event.id) & (Event.status != "cancelled"))
            .order_by(Event.id).first())


def missed(event: Event, now: dt.datetime | None = None) -> bool:
    """A session or publicity event that will not count as it stands: cancelled, or over
    without being recorded as held. Such an event can be made up (``add_makeup``)."""
    if event.kind not in KIND_WORDS or event.status == "held":
        return False
    return event.status == "cancelled" or event.ends_at <= (now or clock.now_utc())


def reinstate_event(actor: User | None, event: Event) -> Event:
    """Put a cancelled event back where it was, if it is still to come, the lawyer is free
    then and nothing made it up meanwhile."""
    _require_manage(actor, event, N_("Only a coordinator of the village may reinstate an "
                                     "event."))
    if event.status != "cancelled":
        raise ValidationError(N_("Only a cancelled event can be reinstated."))
    if event.starts_at < clock.now_utc():
        raise ValidationError(N_("This event's time has passed; add a make-up session "
                                 "instead."))
    if live_makeup(event) is not None:
        raise ValidationError(N_("A make-up was added for this event; cancel the make-up "
                                 "first."))
    pairing = Pairing.get_or_none(Pairing.id == event.pairing_id) if event.pairing_id else None
    if pairing is None or not (pairing.term_start <= clock.local_date(event.starts_at)
                               <= pairing.term_end):
        raise ValidationError(N_("No lawyer is paired with the village on this date."))
    check_slot(pairing.lawyer, event.starts_at, event.ends_at, exclude=event)
    fields = {"status": "planned", "cancel_reason": "", **_no_proposal(event)}
    if event.lawyer_id != pairing.lawyer_id:
        fields["lawyer"] = pairing.lawyer_id
    reinstated = _save_change(actor, "event.reinstate", event, **fields)
    _tell(actor, [EventChange(reinstated, "reinstated")])
    return reinstated


def makeup_pairing(event: Event, day: dt.date) -> Pairing:
    """The pairing a make-up of ``event`` on ``day`` belongs to: the event's own, when its
    term covers the day; else the village's pairing whose term does (a successor makes up
    what the village is owed)."""
    candidates = list(Pairing.select().where(
        (Pairing.village == event.village_id) & (Pairing.term_start <= day)
        & (Pairing.term_end >= day)).order_by(Pairing.term_start.desc(), Pairing.id.desc()))
    own = [p for p in candidates if p.id == event.pairing_id]
    if own or candidates:
        return (own or candidates)[0]
    raise ValidationError(N_("No lawyer is paired with the village on %(day)s."),
                          field="day", day=day.isoformat())


def add_makeup(actor: User | None, event: Event, *, starts_at: dt.datetime,
               ends_at: dt.datetime) -> Event:
    """A make-up (补) of a missed ``event`` on any workday of the same year: a new event of
    the same kind that counts for the missed one's slot (quota, assessment). A missed event
    still marked planned is cancelled with the make-up's day as its reason."""
    _require_manage(actor, event, N_("Only a coordinator of the village may add a make-up."))
    now = clock.now_utc()
    if not missed(event, now):
        raise ValidationError(N_("Only a cancelled event, or one that is over and was not "
                                 "held, can be made up."))
    if live_makeup(event) is not None:
        raise ValidationError(N_("A make-up was added for this event already."))
    start, end = clock.as_utc(starts_at), clock.as_utc(ends_at)
    if end <= start:
        raise ValidationError(N_("The end must be after the start."), field="end")
    day, year = clock.local_date(start), _slot_year(event)
    if day.year != year:
        raise ValidationError(N_("A make-up stays in the year it makes up for (%(year)s)."),
                              field="day", year=year)
    _check_session_length(event, start, end)
    pairing = makeup_pairing(event, day)
    lawyer = pairing.lawyer
    check_slot(lawyer, start, end, village=event.village)
    settings = get_settings()
    village = event.village
    makeup = Event(uid=f"{uuid.uuid4().hex}@jiedui", kind=event.kind, village=village.id,
                   pairing=pairing.id, lawyer=lawyer.id, starts_at=start, ends_at=end,
                   status="planned", title=event_title(event.kind, village.name, makeup=True),
                   placement="makeup", makeup_for=event.id, created_at=now, updated_at=now)
    with transaction():
        makeup.save()
        record(actor, "event.makeup", obj=makeup,
               detail={"makes_up": event.id, "starts_at": start.isoformat(),
                       "ends_at": end.isoformat(), "lawyer": lawyer.id})
        changed = [makeup.id]
        if event.status == "planned":  # over and never held: say so in its place
            gettext = gettext_for(settings.locale)
            event.status = "cancelled"
            event.cancel_reason = gettext(MISSED_REASON) % {"day": day.isoformat()}
            event.sequence += 1
            event.updated_at = now
            event.save()
            changed.append(event.id)
    publish_changes(changed)
    _tell(actor, [EventChange(makeup, "added")])
    return makeup


def _slot_year(event: Event) -> int:
    window = plan_window(event)
    return window[0] if window else clock.local_date(event.starts_at).year


# --- re-planning's proposals ------------------------------------------------------------------

def confirm_proposal(actor: User | None, event: Event) -> Event:
    """Carry out what re-planning proposed for an event that starts soon (a new time, a new
    lawyer, or its cancellation), after checking it still fits."""
    _require_manage(actor, event, N_("Only a coordinator of the village may confirm a "
                                     "proposed change."))
    proposal = event.proposal
    if not proposal:
        raise ValidationError(N_("There is no proposed change for this event."))
    if event.status != "planned" or event.starts_at < clock.now_utc():
        raise ValidationError(N_("This event is no longer planned to come; nothing to "
                                 "confirm."))
    previous = (event.starts_at, event.lawyer_id)
    if proposal.get("status") == "cancelled":
        done = _save_change(actor, "event.confirm", event, status="cancelled",
                            cancel_reason=proposal.get("cancel_reason", ""), proposal=None)
        _tell(actor, [EventChange(done, "cancelled")])
        return done
    start = dt.datetime.fromisoformat(proposal["starts_at"])
    end = dt.datetime.fromisoformat(proposal["ends_at"])
    lawyer = Lawyer.get_or_none(Lawyer.id == proposal.get("lawyer"))
    check_slot(lawyer, start, end, exclude=event)
    lawyer_id = lawyer.id if lawyer else None
    arranged = proposal.get("arranged_on")
    done = _save_change(actor, "event.confirm", event,
                        then=lambda e: _record_handover(e, previous[1], lawyer_id),
                        starts_at=start, ends_at=end,
                        lawyer=lawyer_id, pairing=proposal.get("pairing"),
                        placement=proposal.get("placement", event.placement),
                        arranged_on=dt.date.fromisoformat(arranged) if arranged else None,
                        proposal=None)
    change = "moved" if start != previous[0] else "reassigned"
    _tell(actor, [EventChange(done, change, previous_start=previous[0],
                              previous_lawyer_id=previous[1])])
    return done


def dismiss_proposal(actor: User | None, event: Event) -> Event:
    """Keep the event as it is: re-planning then treats it as placed by hand."""
    _require_manage(actor, event, N_("Only a coordinator of the village may dismiss a "
                                     "proposed change."))
    if not event.proposal:
        raise ValidationError(N_("There is no proposed change for this event."))
    event.proposal = None
    with transaction():
        Event.update(proposal=None, placement="manual").where(Event.id == event.id).execute()
        record(actor, "event.dismiss", obj=event)
    event.placement = "manual"
    return event
