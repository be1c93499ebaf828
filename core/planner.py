"""Planning a year: on-site sessions (坐班) and publicity events (法制宣传) per village.

The quota is per village and year (DOMAIN 五.1): 12 half-day sessions, one in each month,
and 2 publicity events, pro rata for the months a pairing's term covers. Each month of
the year belongs to the pairing whose term covers most of it (the newer one on a tie), so
a village whose lawyer is replaced mid-year still has one session a month.

Every planned event has a slot key, ``Event.plan_key``:
``<village code>:<year>:session:<month>`` and ``<village code>:<year>:publicity:<n>``.
Re-planning finds the events by key and changes only what it must:

- an event that is right (in its slot's days, on a workday, with the slot's lawyer, not
  double-booked) is left alone, so planning twice changes nothing;
- a future event with another lawyer (a replacement) is reassigned, moved if the new
  lawyer is busy then; one on a new day off or outside the term is moved within its month;
- a future event whose slot has no pairing any more is cancelled (kept, for the feeds);
- past events (begun before now) and held events are never touched.

A slot that cannot be filled is a shortfall: stored per (pairing, year, kind), reported
by the CLI and the UI, never dropped. Planning loads the year's events and holidays at
once and keeps each lawyer's busy time in memory: no query per candidate slot.
"""
import bisect
import calendar as stdlib_calendar
import datetime as dt
import math
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from peewee import chunked

from core import clock
from core.access import village_filter
from core.config import load_settings
from core.db import transaction
from core.events import Busy, clash
from core.feeds import publish_changes
from core.i18n import N_
from core.models import Event, Lawyer, Pairing, Shortfall, Town, User, Village
from core.workdays import check_year, has_official_data, sync_official_holidays, workdays_between

SESSIONS_PER_YEAR = 12  # one in each month of the term: a session's slot number is its month
PUBLICITY_PER_YEAR = 2
HALF_DAYS = ("am", "pm")
WRITE_EVERY = 10  # villages per transaction (and per progress report)
TITLES = {"session": "坐班", "publicity": "法制宣传"}  # the programme's own words

# Why the planner cancelled an event (shown with it; a slot needed again revives these).
CANCEL_NO_PAIRING = N_("No lawyer is paired with the village on this date any more.")
CANCEL_NO_SLOT = N_("After a change no free half-day was left for this event.")
PLANNER_REASONS = (CANCEL_NO_PAIRING, CANCEL_NO_SLOT)

# Why a quota is not met.
SHORT_NO_WORKDAY = N_("The term has no workday in some months.")
SHORT_BOOKED = N_("The lawyer has no free half-day left in some months.")
SHORT_NO_FUTURE = N_("A change left no free half-day for an event still to come.")
SHORT_CANCELLED = N_("Some events were cancelled and are not replaced.")
SHORT_NOT_PLANNED = N_("Not planned yet: run the planning of this year.")


# --- who owns which month ---------------------------------------------------------------

def _month_days(year: int, month: int) -> list[dt.date]:
    return [dt.date(year, month, d)
            for d in range(1, stdlib_calendar.monthrange(year, month)[1] + 1)]


def month_owners(pairings, year: int) -> dict[int, Pairing]:
    """month -> the pairing whose term covers most of it (the newer one on a tie)."""
    owners = {}
    for month in range(1, 13):
        first = dt.date(year, month, 1)
        last = dt.date(year, month, stdlib_calendar.monthrange(year, month)[1])
        best = None
        for pairing in pairings:
            low, high = max(pairing.term_start, first), min(pairing.term_end, last)
            if low > high:
                continue
            score = ((high - low).days, pairing.term_start, pairing.id)
            if best is None or score > best[0]:
                best = (score, pairing)
        if best is not None:
            owners[month] = best[1]
    return owners


def quota_for_months(months: int) -> tuple[int, int]:
    """(sessions, publicity events) for a term covering ``months`` months of a year,
    rounded up: a partial term owes its share, at least one of each."""
    return (math.ceil(SESSIONS_PER_YEAR * months / 12),
            math.ceil(PUBLICITY_PER_YEAR * months / 12))


def _pairings_touching(year: int, village_ids=None, where=None):
    query = (Pairing.select(Pairing, Village, Town, Lawyer).join(Village).join(Town)
             .switch(Pairing).join(Lawyer)
             .where((Pairing.term_start <= dt.date(year, 12, 31))
                    & (Pairing.term_end >= dt.date(year, 1, 1))))
    if village_ids is not None:
        query = query.where(Pairing.village.in_(list(village_ids)))
    if where is not None:
        query = query.where(where)
    by_village = defaultdict(list)
    for pairing in query.order_by(Pairing.term_start, Pairing.id):
        by_village[pairing.village_id].append(pairing)
    return by_village


def required(pairing: Pairing, year: int) -> tuple[int, int]:
    """(sessions, publicity events) ``pairing`` owes in ``year``: pro rata for the months
    of its term in the year (a month shared with another pairing counts for the one
    covering most of it)."""
    pairings = _pairings_touching(year, [pairing.village_id])[pairing.village_id]
    owned = sum(1 for owner in month_owners(pairings, year).values() if owner.id == pairing.id)
    return quota_for_months(owned)


# --- slots -------------------------------------------------------------------------------

@dataclass
class Slot:
    key: str
    kind: str
    pairing: Pairing
    window: list[dt.date]  # where to place it (its month; a part of the term for publicity)
    allowed: frozenset  # where an existing event may stay


def village_slots(village: Village, pairings, year: int) -> list[Slot]:
    """The slots the village needs in ``year``: a session in every month some pairing
    owns, and each owner's publicity events spread over its months."""
    owners = month_owners(pairings, year)
    slots = []
    owned_days = defaultdict(list)
    for month, pairing in sorted(owners.items()):
        days = [d for d in _month_days(year, month)
                if pairing.term_start <= d <= pairing.term_end]
        owned_days[pairing.id].extend(days)
        slots.append(Slot(f"{village.code}:{year}:session:{month:02d}", "session", pairing,
                          days, frozenset(days)))
    number = 0
    for pairing in pairings:  # in term order, so the numbering follows time
        months = [m for m, owner in sorted(owners.items()) if owner.id == pairing.id]
        count = quota_for_months(len(months))[1]
        allowed = frozenset(owned_days[pairing.id])
        for part in range(count):
            chunk = set(months[part * len(months) // count:(part + 1) * len(months) // count])
            number += 1
            window = [d for d in owned_days[pairing.id] if d.month in chunk]
            slots.append(Slot(f"{village.code}:{year}:publicity:{number:02d}", "publicity",
                              pairing, window, allowed))
    return slots


# --- the plan of a year ------------------------------------------------------------------

@dataclass
class _Change:
    """What planning one village writes."""
    new: list = field(default_factory=list)  # dicts for Event.insert_many
    updated: list = field(default_factory=list)  # Event objects to save


class _YearPlan:
    """The year in memory: workdays, slot times, each lawyer's busy time, the events by key."""

    def __init__(self, year: int, now: dt.datetime, settings):
        self.year, self.now, self.settings = year, now, settings
        self.gap = dt.timedelta(minutes=settings.travel_gap_minutes)
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        self.workdays = workdays_between(first, last)
        self.days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
        self.times = {}
        for day in self.days:
            for half, (start, end) in (("am", settings.morning), ("pm", settings.afternoon)):
                self.times[(day, half)] = (clock.utc_from_local(day, start),
                                           clock.utc_from_local(day, end))
        self.publicity_distance = self._publicity_distance(settings.publicity_days)
        self.summary = dict(year=year, pairings=0, villages=0, created=0, moved=0,
                            reassigned=0, cancelled=0, unchanged=0, shortfalls=[],
                            official=has_official_data(year))
        self.busy = defaultdict(lambda: defaultdict(list))  # lawyer -> date -> [Busy]
        self.events = defaultdict(dict)  # village code -> plan key -> Event
        self._load_events()

    def _publicity_distance(self, month_days) -> dict[dt.date, int]:
        """Days from each date to the nearest publicity day of the year (0: on one)."""
        targets = sorted(dt.date(self.year, m, d) for m, d in month_days
                         if not (m == 2 and d == 29 and not stdlib_calendar.isleap(self.year)))
        if not targets:
            return {day: 0 for day in self.days}
        distance = {}
        for day in self.days:
            i = bisect.bisect_left(targets, day)
            near = [abs((targets[j] - day).days) for j in (i - 1, i) if 0 <= j < len(targets)]
            distance[day] = min(near)
        return distance

    def _load_events(self) -> None:
        low = clock.utc_from_local(dt.date(self.year, 1, 1), dt.time()) - dt.timedelta(days=2)
        high = clock.utc_from_local(dt.date(self.year, 12, 31), dt.time()) + dt.timedelta(days=2)
        busy = (Event.select(Event.id, Event.lawyer, Event.starts_at, Event.ends_at,
                             Event.village, Event.title)
                .where((Event.status != "cancelled") & Event.lawyer.is_null(False)
                       & (Event.starts_at < high) & (Event.ends_at > low)))
        for event in busy:
            self._occupy(event.lawyer_id, Busy(event.id, event.starts_at, event.ends_at,
                                               event.village_id, event.title))
        keyed = Event.select().where(Event.plan_key.contains(f":{self.year}:"))
        for event in keyed:
            if _key_year(event.plan_key) == self.year:
                self.events[_key_village(event.plan_key)][event.plan_key] = event

    # busy time -----------------------------------------------------------------------

    def _occupy(self, lawyer_id: int, busy: Busy) -> None:
        self.busy[lawyer_id][clock.local_date(busy.starts_at)].append(busy)

    def _release(self, event: Event) -> None:
        if event.lawyer_id is None:
            return
        day = self.busy[event.lawyer_id][clock.local_date(event.starts_at)]
        day[:] = [b for b in day if b.event_id != event.id]

    def is_free(self, lawyer_id: int, start: dt.datetime, end: dt.datetime,
                village_id: int, exclude_id: int | None = None) -> bool:
        day = clock.local_date(start)
        lawyer = self.busy[lawyer_id]
        others = [b for d in (day - dt.timedelta(days=1), day, day + dt.timedelta(days=1))
                  for b in lawyer.get(d, ()) if exclude_id is None or b.event_id != exclude_id]
        return clash(start, end, village_id, others, self.gap) is None

    # choosing a slot -------------------------------------------------------------------

    def candidates(self, slot: Slot, village: Village, *, future_only: bool):
        """(start, end) of each half-day on a workday the slot allows, best first: in its
        window, still to come, near a publicity day (publicity), on the preferred weekday,
        at the preferred half-day, earlier."""
        weekday, half = preference(slot.pairing, village)
        window = set(slot.window)
        ranked = []
        for day in sorted(slot.allowed):
            if not self.workdays.is_workday(day):
                continue
            publicity = self.publicity_distance.get(day, 0) if slot.kind == "publicity" else 0
            weekday_distance = min((day.weekday() - weekday) % 7, (weekday - day.weekday()) % 7)
            for h in HALF_DAYS:
                start, end = self.times[(day, h)]
                past = start < self.now
                if past and future_only:
                    continue
                ranked.append(((day not in window, past, publicity, weekday_distance,
                                h != half, day, h), start, end))
        ranked.sort(key=lambda item: item[0])
        return [(start, end) for _key, start, end in ranked]

    def find(self, slot: Slot, village: Village, *, future_only: bool, exclude_id=None):
        lawyer_id = slot.pairing.lawyer_id
        for start, end in self.candidates(slot, village, future_only=future_only):
            if self.is_free(lawyer_id, start, end, village.id, exclude_id):
                return start, end
        return None


def _key_village(plan_key: str) -> str:
    return plan_key.rsplit(":", 3)[0]


def _key_year(plan_key: str) -> int | None:
    try:
        return int(plan_key.rsplit(":", 3)[1])
    except (IndexError, ValueError):
        return None


def preference(pairing: Pairing, village: Village) -> tuple[int, str]:
    """The pairing's preferred weekday and half-day; without one, a fixed spread over the
    week derived from the village, so a lawyer's villages do not all want Monday morning."""
    weekday = pairing.preferred_weekday
    if weekday is None:
        weekday = village.id % 5
    half = pairing.preferred_half_day or ("am" if (village.id // 5) % 2 == 0 else "pm")
    return weekday, half


class _VillagePlanner:
    """Plans one village's slots against the year in memory; collects the writes."""

    def __init__(self, plan: _YearPlan, village: Village, pairings):
        self.plan, self.village, self.pairings = plan, village, pairings
        self.change = _Change()
        self.slots = village_slots(village, pairings, plan.year)
        self.missing = defaultdict(list)  # pairing id -> [(kind, reason)]

    def run(self) -> _Change:
        wanted = {slot.key for slot in self.slots}
        events = self.plan.events[self.village.code]
        for key, event in sorted(events.items()):
            if key not in wanted:
                self._drop(event)
        # Events that stay as they are first, so the ones that move see the others' times.
        pending = []
        for slot in self.slots:
            event = events.get(slot.key)
            if event is not None and self._settled(slot, event):
                self.plan.summary["unchanged"] += 1
            else:
                pending.append(slot)
        for slot in pending:
            self._fix(slot, events.get(slot.key))
        return self.change

    # an event's state ------------------------------------------------------------------

    def _untouchable(self, event: Event) -> bool:
        return event.status == "held" or event.starts_at < self.plan.now

    def _fits(self, slot: Slot, event: Event, lawyer_id: int) -> bool:
        day = clock.local_date(event.starts_at)
        return (day in slot.allowed and self.plan.workdays.is_workday(day)
                and self.plan.workdays.is_workday(
                    clock.local_date(event.ends_at - dt.timedelta(microseconds=1)))
                and self.plan.is_free(lawyer_id, event.starts_at, event.ends_at,
                                      self.village.id, exclude_id=event.id))

    def _settled(self, slot: Slot, event: Event) -> bool:
        if self._untouchable(event):
            if event.status == "cancelled":
                self._short(slot, SHORT_CANCELLED)
            return True
        if event.status == "cancelled":
            if event.cancel_reason not in PLANNER_REASONS:  # a person cancelled it
                self._short(slot, SHORT_CANCELLED)
                return True
            return False
        return (event.pairing_id == slot.pairing.id and event.lawyer_id == slot.pairing.lawyer_id
                and self._fits(slot, event, slot.pairing.lawyer_id))

    def _short(self, slot: Slot, reason: str) -> None:
        self.missing[slot.pairing.id].append((slot.kind, reason))

    # changes -----------------------------------------------------------------------------

    def _touch(self, event: Event, **fields) -> None:
        for name, value in fields.items():
            setattr(event, name, value)
        event.sequence += 1
        event.updated_at = self.plan.now
        self.change.updated.append(event)

    def _drop(self, event: Event) -> None:
        """A slot the village no longer has: cancel its event if it is still to come."""
        if self._untouchable(event) or event.status == "cancelled":
            return
        self.plan._release(event)
        self._touch(event, status="cancelled", cancel_reason=CANCEL_NO_PAIRING)
        self.plan.summary["cancelled"] += 1

    def _fix(self, slot: Slot, event: Event | None) -> None:
        lawyer_id = slot.pairing.lawyer_id
        if event is None:
            self._create(slot)
            return
        self.plan._release(event)
        if self._fits(slot, event, lawyer_id):
            times = (event.starts_at, event.ends_at)
        else:
            times = self.plan.find(slot, self.village, future_only=True, exclude_id=event.id)
        if times is None:
            if event.status != "cancelled":
                self._touch(event, status="cancelled", cancel_reason=CANCEL_NO_SLOT)
                self.plan.summary["cancelled"] += 1
            self._short(slot, SHORT_NO_FUTURE)
            return
        moved = times != (event.starts_at, event.ends_at)
        revived = event.status == "cancelled"
        self._touch(event, starts_at=times[0], ends_at=times[1], lawyer=lawyer_id,
                    pairing=slot.pairing.id, status="planned", cancel_reason="")
        self.plan._occupy(lawyer_id, Busy(event.id, times[0], times[1], self.village.id,
                                          event.title))
        if revived:
            self.plan.summary["created"] += 1
        elif moved:
            self.plan.summary["moved"] += 1
        else:  # a new lawyer (or pairing) at the same time
            self.plan.summary["reassigned"] += 1

    def _create(self, slot: Slot) -> None:
        times = self.plan.find(slot, self.village, future_only=False)
        if times is None:
            workday = any(self.plan.workdays.is_workday(d) for d in slot.allowed)
            self._short(slot, SHORT_BOOKED if workday else SHORT_NO_WORKDAY)
            return
        title = f"{TITLES[slot.kind]} · {self.village.name}"
        self.change.new.append(dict(
            uid=f"{uuid.uuid4().hex}@jiedui", kind=slot.kind, plan_key=slot.key,
            village=self.village.id, pairing=slot.pairing.id, lawyer=slot.pairing.lawyer_id,
            starts_at=times[0], ends_at=times[1], status="planned", sequence=0, title=title,
            created_at=self.plan.now, updated_at=self.plan.now))
        self.plan._occupy(slot.pairing.lawyer_id,
                          Busy(None, times[0], times[1], self.village.id, title))
        self.plan.summary["created"] += 1

    # quota -------------------------------------------------------------------------------

    def shortfalls(self) -> list[dict]:
        rows = []
        for pairing in self.pairings:
            slots = [s for s in self.slots if s.pairing.id == pairing.id]
            for kind in ("session", "publicity"):
                mine = [s for s in slots if s.kind == kind]
                reasons = list(dict.fromkeys(r for k, r in self.missing[pairing.id] if k == kind))
                if not mine or not reasons:
                    continue
                rows.append(dict(pairing=pairing.id, year=self.plan.year, kind=kind,
                                 required=len(mine), planned=len(mine) - len(
                                     [r for k, r in self.missing[pairing.id] if k == kind]),
                                 reason="\n".join(reasons)))
        return rows


def _write(changes: list[_Change], shortfalls: list[dict], village_ids: list[int],
           year: int) -> list:
    """Some villages' writes in one transaction: events, then their pairings' shortfall
    rows. Returns the ids of the events written."""
    updated = [event for change in changes for event in change.updated]
    new = [row for change in changes for row in change.new]
    with transaction():
        for event in updated:
            event.save()
        for batch in chunked(new, 100):
            # a planning running at the same time made the same slot: keep the one made
            Event.insert_many(batch).on_conflict_ignore().execute()
        # every pairing the villages ever had: one no longer in the year keeps no stale row
        Shortfall.delete().where((Shortfall.year == year) & Shortfall.pairing.in_(
            Pairing.select(Pairing.id).where(Pairing.village.in_(village_ids)))).execute()
        for batch in chunked(shortfalls, 100):
            Shortfall.insert_many(batch).execute()
    ids = [event.id for event in updated]
    for batch in chunked([row["plan_key"] for row in new], 200):
        ids += [e.id for e in Event.select(Event.id).where(Event.plan_key.in_(batch))]
    return ids


def _scope(year: int, town: Town | None, village_ids) -> tuple[list[Village], dict]:
    """The villages to plan: those with a pairing in the year, or planned events in it."""
    where = None
    if town is not None:
        where = Village.town == town.id
    if village_ids is not None:
        ids = list(village_ids)
        where = Village.id.in_(ids) if where is None else where & Village.id.in_(ids)
    pairings = _pairings_touching(year, where=where)
    with_events = (Event.select(Event.village).distinct()
                   .where(Event.plan_key.contains(f":{year}:") & Event.village.is_null(False)))
    query = Village.select().where(Village.id.in_(list(pairings)) | Village.id.in_(with_events))
    if where is not None:
        query = query.where(where)
    return list(query.order_by(Village.code)), pairings


def plan_year(year: int, *, town: Town | None = None, progress=None, villages=None) -> dict:
    """Plan ``year`` for every village (of ``town``; or only ``villages``, ids) and return
    the summary: pairings, villages, created, moved, reassigned, cancelled, unchanged,
    shortfalls [{pairing, village, village_code, kind, required, planned, reason}],
    official (False: the year's holidays are an estimate), seconds.

    ``progress(done, total)`` is called as villages are written (a few at a time, each
    few in one transaction). Idempotent."""
    started = time.perf_counter()
    check_year(year)
    sync_official_holidays([year], replan=False)  # this planning applies them
    settings = load_settings()
    plan = _YearPlan(year, clock.now_utc(), settings)
    scope, pairings = _scope(year, town, villages)
    changed = []
    try:
        for first in range(0, len(scope), WRITE_EVERY):
            villages_ = scope[first:first + WRITE_EVERY]
            planned = [_plan_village(plan, v, pairings.get(v.id, [])) for v in villages_]
            changed += _write([change for change, _rows in planned],
                              [row for _change, rows in planned for row in rows],
                              [v.id for v in villages_], year)
            if progress is not None:
                progress(first + len(villages_), len(scope))
    finally:
        publish_changes(changed)  # what was committed, even if a later village failed
    plan.summary["villages"] = len(scope)
    plan.summary["seconds"] = round(time.perf_counter() - started, 2)
    return plan.summary


def _plan_village(plan: _YearPlan, village: Village, pairings) -> tuple[_Change, list]:
    """Plan one village in memory: its writes and its shortfall rows."""
    planner = _VillagePlanner(plan, village, pairings)
    change = planner.run()
    shortfalls = planner.shortfalls()
    owners = {slot.pairing.id for slot in planner.slots}
    plan.summary["pairings"] += sum(1 for p in pairings if p.id in owners and p.status == "active")
    by_pairing = {p.id: p for p in pairings}
    for row in shortfalls:
        pairing = by_pairing[row["pairing"]]
        reasons = row["reason"].split("\n")
        plan.summary["shortfalls"].append(dict(
            pairing=pairing.id, village=village.name, village_code=village.code,
            lawyer=pairing.lawyer.name, kind=row["kind"], required=row["required"],
            planned=row["planned"], reason=reasons[0], reasons=reasons))
    return change, shortfalls


# --- the quota, for people -----------------------------------------------------------------

@dataclass
class QuotaRow:
    """One pairing's year against its quota. ``shortfall``: why it is not met (msgids),
    empty when it is; ``partial``: the term covers only ``months`` months of the year."""
    pairing: Pairing
    village: Village
    lawyer: Lawyer
    year: int
    months: int
    required_sessions: int
    planned_sessions: int
    held_sessions: int
    required_publicity: int
    planned_publicity: int
    held_publicity: int
    shortfall: list

    @property
    def remaining_sessions(self) -> int:
        return max(self.required_sessions - self.held_sessions, 0)

    @property
    def remaining_publicity(self) -> int:
        return max(self.required_publicity - self.held_publicity, 0)

    @property
    def partial(self) -> bool:
        return self.months < 12

    @property
    def note(self) -> tuple[str, dict] | None:
        """What a partial term owes, as (msgid, params) for the UI to translate."""
        if not self.partial:
            return None
        return (N_("The term covers %(months)s months of %(year)s: %(sessions)s sessions and "
                   "%(publicity)s publicity events are expected."),
                dict(months=self.months, year=self.year, sessions=self.required_sessions,
                     publicity=self.required_publicity))


def quota_status(user: User | None, year: int) -> list[QuotaRow]:
    """Per pairing in ``user``'s scope that owes something in ``year``: required, planned
    (not cancelled), held and remaining sessions and publicity events, and any shortfall."""
    pairings = _pairings_touching(year, where=village_filter(user))
    keyed = (Event.select(Event.plan_key, Event.status)
             .join(Village).where(Event.plan_key.contains(f":{year}:") & village_filter(user))
             .tuples())
    status_by_key = {key: status for key, status in keyed}
    stored = {(row.pairing_id, row.kind): row.reason.split("\n") for row in
              Shortfall.select().where((Shortfall.year == year)
                                       & Shortfall.pairing.in_([p.id for ps in pairings.values()
                                                                for p in ps]))}
    rows = []
    for village_pairings in pairings.values():
        village = village_pairings[0].village
        slots = village_slots(village, village_pairings, year)
        for pairing in village_pairings:
            mine = [s for s in slots if s.pairing.id == pairing.id]
            if not mine:
                continue
            counts = {}
            for kind in ("session", "publicity"):
                states = [status_by_key.get(s.key) for s in mine if s.kind == kind]
                counts[kind] = (len(states), sum(1 for s in states if s in ("planned", "held")),
                                sum(1 for s in states if s == "held"))
            shortfall = []
            for kind in ("session", "publicity"):
                required_, planned, _held = counts[kind]
                if planned < required_:
                    shortfall += stored.get((pairing.id, kind), [SHORT_NOT_PLANNED])
            rows.append(QuotaRow(
                pairing=pairing, village=village, lawyer=pairing.lawyer, year=year,
                months=sum(1 for s in mine if s.kind == "session"),
                required_sessions=counts["session"][0], planned_sessions=counts["session"][1],
                held_sessions=counts["session"][2], required_publicity=counts["publicity"][0],
                planned_publicity=counts["publicity"][1], held_publicity=counts["publicity"][2],
                shortfall=list(dict.fromkeys(shortfall))))
    rows.sort(key=lambda r: (r.village.town.code, r.village.code, r.pairing.term_start))
    return rows
