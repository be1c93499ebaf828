"""Events in a lawyer's calendar: half-day slots, the double-booking rule, and the changes
people make (move, record that it took place, cancel).

The rule "a lawyer is never in two places at once" lives in ``clash``: two events of one
lawyer may not overlap, and between two villages there must be the travel gap. The planner
applies it to its in-memory busy lists, ``check_slot`` to the database; both call ``clash``.

Every change bumps ``sequence`` and ``updated_at`` (calendar apps take the higher SEQUENCE),
then the feeds the event appears in are republished after the commit.
"""
import datetime as dt
from dataclasses import dataclass

from core import clock
from core.access import can_manage_village, is_district_manager
from core.audit import record
from core.config import load_settings
from core.db import transaction
from core.errors import PermissionDenied, ValidationError
from core.feeds import publish_changes
from core.i18n import N_
from core.models import Event, Lawyer, User, Village
from core.worklog import log_held_event

HALF_DAY_NAMES = {"am": "morning", "pm": "afternoon"}


# --- slots ---------------------------------------------------------------------------------

def slot_hours(half_day: str, settings=None) -> tuple[dt.time, dt.time]:
    """The configured wall-clock start and end of a half-day (``JIEDUI_MORNING`` /
    ``JIEDUI_AFTERNOON``)."""
    if half_day not in HALF_DAY_NAMES:
        raise ValidationError(N_("The half-day must be morning or afternoon."),
                              field="half_day")
    settings = settings or load_settings()
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
    return dt.timedelta(minutes=(settings or load_settings()).travel_gap_minutes)


def _local_text(instant: dt.datetime) -> str:
    return clock.to_local(instant).strftime("%Y-%m-%d %H:%M")


def _check_days(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    from core.workdays import workdays_between
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

def can_edit_event(user: User | None, event: Event) -> bool:
    """A coordinator of the event's village (or the district, for an event without one),
    an administrator, or the event's lawyer."""
    if user is None or user.role == "admin":
        return True
    if user.role == "coordinator":
        if event.village_id is None:
            return is_district_manager(user)
        return can_manage_village(user, event.village)
    if user.role == "lawyer":
        return user.lawyer_id is not None and user.lawyer_id == event.lawyer_id
    return False


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
    hours = load_settings().min_session_hours
    if event.kind == "session" and (end - start) < dt.timedelta(hours=hours):
        raise ValidationError(N_("An on-site session lasts at least %(hours)s hours."),
                              field="ends_at", hours=f"{hours:g}")


def _save_change(actor: User | None, action: str, event: Event, *, then=None,
                 **fields) -> Event:
    """Save the changed fields and audit the change as ``action``; ``then(event)`` runs in
    the same transaction."""
    before = {name: _audited(getattr(event, name)) for name in fields}
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
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


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
    start, end = clock.as_utc(starts_at), clock.as_utc(ends_at)
    if start < now:
        raise ValidationError(N_("An event cannot be moved into the past."), field="starts_at")
    if end <= start:
        raise ValidationError(N_("The end must be after the start."), field="ends_at")
    _check_session_length(event, start, end)
    _check_plan_window(event, start)
    check_slot(event.lawyer if event.lawyer_id else None, start, end, exclude=event)
    return _save_change(actor, "event.move", event, starts_at=start, ends_at=end)


def record_held(actor: User | None, event: Event, *, start: dt.datetime,
                end: dt.datetime) -> Event:
    """Record that the event took place, with its actual start and end; a session must
    have lasted at least half a day (``JIEDUI_MIN_SESSION_HOURS``)."""
    _require_edit(actor, event)
    if event.status == "cancelled":
        raise ValidationError(N_("A cancelled event cannot be recorded as held."))
    start, end = clock.as_utc(start), clock.as_utc(end)
    if end <= start:
        raise ValidationError(N_("The end must be after the start."), field="end")
    if end > clock.now_utc() + dt.timedelta(minutes=5):  # a little slack for clocks
        raise ValidationError(N_("An event can be recorded only once it has ended."),
                              field="end")
    hours = load_settings().min_session_hours
    if event.kind == "session" and (end - start) < dt.timedelta(hours=hours):
        raise ValidationError(N_("An on-site session must last at least %(hours)s hours; "
                                 "this one lasted %(actual)s."), field="end",
                              hours=f"{hours:g}", actual=_duration_text(end - start))
    # the held event is a service of the lawyer: it goes into the work log (once)
    return _save_change(actor, "event.held", event,
                        then=lambda held: log_held_event(actor, held), status="held",
                        held_start=start, held_end=end)


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
    return _save_change(actor, "event.cancel", event, status="cancelled",
                        cancel_reason=reason)
