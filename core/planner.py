"""Planning a year: on-site sessions (坐班) and publicity events (法制宣传) per village.

The quota is per village and year (DOMAIN 五.1): 12 half-day sessions, one in each month,
and 2 publicity events, pro rata for the months the village has a lawyer. Each month's
session belongs to the pairing whose term covers the month's arranged day (else the one
covering most of the month, the newer on a tie); the village's publicity events are
shared among its pairings by the months each holds (largest remainder, the newer on a tie),
so a replacement neither adds to the village's quota nor leaves a lawyer owing what only
a successor could still do (``village_quota``).

Sessions fall on the pairing's on-site arrangement (``core.arrangements``: e.g. the second
Tuesday of each month, 9:00–12:30), so the hours the village publishes are the hours
planned. When the arranged day is a day off, outside the term, or taken by the lawyer's
other work, the session goes to the nearest workday of the same month at the same hours,
and the event says why (``Event.placement``, ``Event.arranged_on``). Publicity events take
the arrangement's hours on a workday near a legal publicity day.

Every planned event has a slot key, ``Event.plan_key``:
``<village code>:<year>:session:<month>`` and ``<village code>:<year>:publicity:<n>``.
Re-planning finds the events by key and changes only what it must:

- an event where the plan wants it (or moved there by a person, and still fitting) is left
  alone, so planning twice changes nothing;
- a future event with another lawyer (a replacement) is reassigned (the previous lawyer's
  feed keeps it as cancelled), moved if the new lawyer is busy then; one off its arranged
  place (a new arrangement, a new day off) is moved;
- a future event whose slot has no pairing any more is cancelled (kept, for the feeds);
- past events (begun before now) and held events are never touched;
- an event that starts within ``JIEDUI_REPLAN_NOTICE_DAYS`` (7) is never moved or
  cancelled silently: the change is stored as its ``proposal`` for a coordinator to
  confirm (``core.events.confirm_proposal``).

A slot that cannot be filled is a shortfall: stored per (pairing, year, kind), reported
by the CLI and the UI, never dropped. A cancelled or missed event is made up by a person
(``core.events.add_makeup``); the planner proposes the day (the event's ``proposal``).
Planning loads the year's events and holidays at once and keeps each lawyer's busy time in
memory: no query per candidate slot.
"""
import bisect
import calendar as stdlib_calendar
import datetime as dt
import functools
import json
import math
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from peewee import Case, ForeignKeyField, Query, chunked

from core import clock
from core.access import sheet_pairings, sheet_village_filter
from core.config import get_settings
from core.db import db, is_sqlite, transaction
from core.events import Busy, EventChange, clash
from core.placements import event_title
from core.feeds import publish_changes
from core.i18n import N_
from core.models import Event, EventHandover, Lawyer, Pairing, Shortfall, Town, User, Village
from core.plugins import notify
from core.workdays import check_year, has_official_data, sync_official_holidays, workdays_between

SESSIONS_PER_YEAR = 12  # one in each month of the term: a session's slot number is its month
PUBLICITY_PER_YEAR = 2
WRITE_EVERY = 25  # villages per transaction (and per progress report)
# Villages held in memory at once (with their lawyers' busy time): planning a province
# streams through it this many villages at a time, so its memory does not grow with it.
CHUNK_VILLAGES = 400
BATCH = 400  # rows per INSERT / ids per IN (…) (SQLite allows 999 variables and more)

# Why the planner cancelled an event (shown with it; a slot needed again revives these).
CANCEL_NO_PAIRING = N_("No lawyer is paired with the village on this date any more.")
CANCEL_NO_SLOT = N_("After a change no free half-day was left for this event.")
PLANNER_REASONS = (CANCEL_NO_PAIRING, CANCEL_NO_SLOT)

# Why a quota is not met.
SHORT_NO_WORKDAY = N_("The term has no workday in some months.")
SHORT_BOOKED = N_("The lawyer has no free half-day left in some months.")
SHORT_NO_FUTURE = N_("A change left no free half-day for an event still to come.")
SHORT_CANCELLED = N_("Some events were cancelled or missed: schedule their make-ups.")
SHORT_NOT_PLANNED = N_("Not planned yet: run the planning of this year.")


# --- who owns which month, and the quota ---------------------------------------------------

@functools.lru_cache(maxsize=1024)
def _month_days(year: int, month: int) -> tuple[dt.date, ...]:
    return tuple(dt.date(year, month, d)
                 for d in range(1, stdlib_calendar.monthrange(year, month)[1] + 1))


@functools.lru_cache(maxsize=65536)
def _day_in(arrangement, year: int, month: int) -> dt.date:
    """``arrangement.day_in`` (an arrangement is a frozen value: its days never change)."""
    return arrangement.day_in(year, month)


@functools.lru_cache(maxsize=1 << 18)
def _zoned_times(arrangement, day: dt.date, zone) -> tuple[dt.datetime, dt.datetime]:
    return arrangement.times_on(day)


def _times_on(arrangement, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``arrangement.times_on`` (in the district's zone of the moment)."""
    return _zoned_times(arrangement, day, clock.zone())


def _arrangement(pairing: Pairing):
    """The pairing's arrangement, made once per pairing row the planner loaded."""
    found = pairing.__dict__.get("_planned_arrangement")
    if found is None:
        found = pairing.__dict__["_planned_arrangement"] = pairing.arrangement
    return found


@functools.lru_cache(maxsize=4096)
def _frozen(days: tuple) -> frozenset:
    return frozenset(days)


def _covered_days(pairing: Pairing, year: int, month: int) -> tuple[dt.date, ...]:
    """The days of the month inside the pairing's term."""
    days = _month_days(year, month)
    if pairing.term_start <= days[0] and days[-1] <= pairing.term_end:
        return days
    return tuple(d for d in days if pairing.term_start <= d <= pairing.term_end)


def _covers(pairing: Pairing, day: dt.date) -> bool:
    return pairing.term_start <= day <= pairing.term_end


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, stdlib_calendar.monthrange(year, month)[1])


def month_owners(pairings, year: int) -> dict[int, Pairing]:
    """month -> the pairing that owes its session: the one whose term covers its own
    arranged day of the month (a successor who starts before a session the predecessor
    could no longer hold takes it over); else, or among several, the one whose term covers
    most of the month, the newer on a tie."""
    if isinstance(pairings, (list, tuple)) and len(pairings) == 1:
        # Nobody to share the year with (nearly every village): each month its term touches.
        # No arranged day to work out — the desk and the assessment ask this of every
        # village in scope.
        (only,) = pairings
        if only.term_start.year > year or only.term_end.year < year:
            return {}
        first = only.term_start.month if only.term_start.year == year else 1
        last = only.term_end.month if only.term_end.year == year else 12
        return dict.fromkeys(range(first, last + 1), only)
    owners = {}
    for month in range(1, 13):
        first = dt.date(year, month, 1)
        last = _month_end(year, month)
        best = None
        for pairing in pairings:
            low, high = max(pairing.term_start, first), min(pairing.term_end, last)
            if low > high:
                continue
            arranged = _covers(pairing, _day_in(_arrangement(pairing), year, month))
            score = (arranged, (high - low).days, pairing.term_start, pairing.id)
            if best is None or score > best[0]:
                best = (score, pairing)
        if best is not None:
            owners[month] = best[1]
    return owners


def quota_for_months(months: int) -> tuple[int, int]:
    """(sessions, publicity events) a village with a lawyer for ``months`` months of a year
    is owed, rounded up: a partial year owes its share, at least one of each."""
    return (math.ceil(SESSIONS_PER_YEAR * months / 12),
            math.ceil(PUBLICITY_PER_YEAR * months / 12))


@dataclass(frozen=True)
class Quota:
    """What one pairing owes in a year: a session in each of its ``months`` (the
    ``month_owners``) and its share of the village's publicity events."""
    months: tuple[int, ...]
    sessions: int
    publicity: int


def village_quota(pairings, year: int) -> dict[int, Quota]:
    """pairing id -> its Quota in ``year``, for the pairings of one village (every pairing
    of the village touching the year, so that the shares add up to the village's quota).
    A pairing that owns no month owes nothing and is left out."""
    owners = month_owners(pairings, year)
    months = defaultdict(list)
    for month, pairing in sorted(owners.items()):
        months[pairing.id].append(month)
    total = quota_for_months(len(owners))[1]
    order = sorted((p for p in pairings if p.id in months), key=lambda p: (p.term_start, p.id))
    exact = {p.id: total * len(months[p.id]) / len(owners) for p in order} if owners else {}
    shares = {pairing_id: math.floor(value + 1e-9) for pairing_id, value in exact.items()}
    left = total - sum(shares.values())
    # the largest remainders first; on a tie the newer pairing, which can still hold it
    by_remainder = sorted(order, key=lambda p: (exact[p.id] - shares[p.id], p.term_start, p.id),
                          reverse=True)
    for pairing in by_remainder[:left]:
        shares[pairing.id] += 1
    return {p.id: Quota(tuple(months[p.id]), len(months[p.id]), shares[p.id]) for p in order}


def _pairings_touching(year: int, village_ids=None, where=None, *, light: bool = False):
    """village id -> its pairings touching ``year`` (in term order), with their village,
    town and lawyer; ``light``: only the village's id, code and name and the lawyer's id
    and name (what planning needs)."""
    if light:
        query = (Pairing.select(Pairing, Village.id, Village.code, Village.name, Lawyer.id,
                                Lawyer.name).join(Village).switch(Pairing).join(Lawyer))
    else:
        query = (Pairing.select(Pairing, Village, Town, Lawyer).join(Village).join(Town)
                 .switch(Pairing).join(Lawyer))
    query = query.where((Pairing.term_start <= dt.date(year, 12, 31))
                        & (Pairing.term_end >= dt.date(year, 1, 1)))
    if village_ids is not None:
        query = query.where(Pairing.village.in_(list(village_ids)))
    if where is not None:
        query = query.where(where)
    by_village = defaultdict(list)
    for pairing in query.order_by(Pairing.term_start, Pairing.id):
        by_village[pairing.village_id].append(pairing)
    return by_village


def required(pairing: Pairing, year: int) -> tuple[int, int]:
    """(sessions, publicity events) ``pairing`` owes in ``year`` (``village_quota``)."""
    pairings = _pairings_touching(year, [pairing.village_id])[pairing.village_id]
    quota = village_quota(pairings, year).get(pairing.id)
    return (quota.sessions, quota.publicity) if quota else (0, 0)


# --- slots -------------------------------------------------------------------------------

@dataclass
class Slot:
    key: str
    kind: str
    pairing: Pairing
    window: list[dt.date]  # where to place it (its month; a part of the term for publicity)
    allowed: frozenset  # where an existing event may stay
    arranged: dt.date | None = None  # a session's arranged day (the pairing's arrangement)


def village_slots(village: Village, pairings, year: int) -> list[Slot]:
    """The slots the village needs in ``year``: a session in every month some pairing
    owns, on its arranged day, and each pairing's share of the publicity events spread
    over its months (``village_quota``)."""
    quota = village_quota(pairings, year)
    by_id = {pairing.id: pairing for pairing in pairings}
    slots = []
    owned_days = defaultdict(list)
    for pairing_id, share in quota.items():
        pairing = by_id[pairing_id]
        for month in share.months:
            days = _covered_days(pairing, year, month)
            owned_days[pairing_id].extend(days)
            slots.append(Slot(f"{village.code}:{year}:session:{month:02d}", "session", pairing,
                              list(days), _frozen(days),
                              _day_in(_arrangement(pairing), year, month)))
    slots.sort(key=lambda slot: slot.key)
    number = 0
    for pairing_id, share in quota.items():  # in term order, so the numbering follows time
        months, count = share.months, share.publicity
        allowed = frozenset(owned_days[pairing_id])
        for part in range(count):
            chunk = set(months[part * len(months) // count:(part + 1) * len(months) // count])
            number += 1
            window = [d for d in owned_days[pairing_id] if d.month in chunk]
            slots.append(Slot(f"{village.code}:{year}:publicity:{number:02d}", "publicity",
                              by_id[pairing_id], window, allowed))
    return slots


# --- the plan of a year ------------------------------------------------------------------

@dataclass(frozen=True)
class Placement:
    """Where the plan puts an event: its times (naive UTC), why there (``PLACEMENTS``),
    and the arranged day it left (a session not on its arranged day)."""
    starts_at: dt.datetime
    ends_at: dt.datetime
    placement: str
    arranged_on: dt.date | None = None

    @property
    def times(self) -> tuple[dt.datetime, dt.datetime]:
        return self.starts_at, self.ends_at


@dataclass
class _Change:
    """What planning one village writes, and what it tells (``events_changed``)."""
    new: list = field(default_factory=list)  # dicts for Event.insert_many
    updated: list = field(default_factory=list)  # Event objects to save
    handovers: list = field(default_factory=list)  # dicts for EventHandover.insert_many
    proposals: list = field(default_factory=list)  # (event id, proposal or None): no bump
    told: list = field(default_factory=list)  # (Event, change, previous start, lawyer)


class _YearPlan:
    """The year in memory: workdays, and for the villages being planned (``load``) their
    lawyers' busy time, the events by key and the arranged days their lawyers hold."""

    def __init__(self, year: int, now: dt.datetime, settings):
        self.year, self.now, self.settings = year, now, settings
        self.today = clock.local_date(now)
        self.soon = now + dt.timedelta(days=settings.replan_notice_days)
        self.gap = dt.timedelta(minutes=settings.travel_gap_minutes)
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        self.workdays = workdays_between(first, last)
        self.days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
        self.publicity_distance = self._publicity_distance(settings.publicity_days)
        self.summary = dict(year=year, pairings=0, villages=0, created=0, moved=0,
                            reassigned=0, cancelled=0, unchanged=0, proposed=0, shortfalls=[],
                            official=has_official_data(year))
        self.low = clock.utc_from_local(first, dt.time()) - dt.timedelta(days=2)
        self.high = clock.utc_from_local(last, dt.time()) + dt.timedelta(days=2)
        self._publicity_orders = {}  # (allowed, window, weekday) -> the days, best first
        self._clear()

    def _clear(self) -> None:
        self.busy = defaultdict(lambda: defaultdict(list))  # lawyer -> date -> [Busy]
        self.events = defaultdict(dict)  # village code -> plan key -> Event
        self.made_up = set()  # ids of events with a make-up that is not cancelled
        # lawyer -> date -> the arranged sessions of their villages (Busy): a session moved
        # off its own day keeps clear of them, so one move does not push another
        self.reserved = defaultdict(lambda: defaultdict(list))
        self.slots = {}  # village id -> its slots (village_slots), worked out once

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

    def load(self, villages: list, pairings: dict, scope) -> None:
        """Hold in memory what planning ``villages`` needs, and nothing else: their events
        of the year by key (and which have a make-up), their lawyers' busy time in the year
        (in every village: a lawyer may serve several towns) and the arranged days of those
        lawyers' sessions in the villages planned (``scope``: a condition on Village, None
        for every village). A few queries, whatever the number of events."""
        self._clear()
        village_ids = [village.id for village in villages]
        codes = {village.code for village in villages}
        lawyers = sorted({p.lawyer_id for ps in pairings.values() for p in ps})
        for batch in chunked(lawyers, BATCH):
            rows = (Event.select(Event.id, Event.lawyer, Event.starts_at, Event.ends_at,
                                 Event.village, Event.title)
                    .where((Event.status != "cancelled") & Event.lawyer.in_(batch)
                           & (Event.starts_at < self.high) & (Event.ends_at > self.low))
                    .tuples())
            for event_id, lawyer_id, starts_at, ends_at, village_id, title in rows:
                self._occupy(lawyer_id, Busy(event_id, starts_at, ends_at, village_id, title))
        keyed_ids = []
        for batch in chunked(village_ids, BATCH):
            keyed = _events(Event.select().where(Event.village.in_(batch)
                                                 & Event.plan_key.contains(f":{self.year}:")))
            for event in keyed:
                code = _key_village(event.plan_key)
                if _key_year(event.plan_key) == self.year and code in codes:
                    self.events[code][event.plan_key] = event
                    keyed_ids.append(event.id)
        for batch in chunked(keyed_ids, BATCH):
            # (the window in Python: in SQL it tempts SQLite to scan the year by starts_at)
            makeups = (Event.select(Event.makeup_for, Event.starts_at, Event.ends_at)
                       .where(Event.makeup_for.in_(batch) & (Event.status != "cancelled"))
                       .tuples())
            self.made_up.update(event_id for event_id, starts_at, ends_at in makeups
                                if starts_at < self.high and ends_at > self.low)
        for village in villages:
            self.slots[village.id] = village_slots(village, pairings.get(village.id, []),
                                                   self.year)
        self._reserve(lawyers, scope, {v.id: self.slots[v.id] for v in villages})

    def _reserve(self, lawyers: list[int], scope, known: dict) -> None:
        """Hold each session's arranged day (a workday in its owner's term) for it: the
        sessions of ``lawyers`` in every village planned (``scope``); ``known``: the slots
        of the villages in memory already."""
        slots, others = dict(known), set()
        for batch in chunked(lawyers, BATCH):
            theirs = Pairing.select(Pairing.village).where(
                Pairing.lawyer.in_(batch) & (Pairing.term_start <= dt.date(self.year, 12, 31))
                & (Pairing.term_end >= dt.date(self.year, 1, 1))).tuples()
            others.update(village_id for (village_id,) in theirs if village_id not in known)
        for batch in chunked(sorted(others), BATCH):
            for village_id, village_pairings in _pairings_touching(
                    self.year, batch, where=scope, light=True).items():
                slots[village_id] = village_slots(village_pairings[0].village,
                                                  village_pairings, self.year)
        wanted = set(lawyers)
        for village_id, village_slots_ in slots.items():
            for slot in village_slots_:
                if slot.pairing.lawyer_id not in wanted:
                    continue
                day = slot.arranged
                if day is None or day not in slot.allowed or not self.workdays.is_workday(day):
                    continue
                start, end = _times_on(_arrangement(slot.pairing), day)
                self.reserved[slot.pairing.lawyer_id][day].append(
                    Busy(None, start, end, village_id))

    def _clear_of_reserved(self, lawyer_id: int, start: dt.datetime, end: dt.datetime,
                           village_id: int) -> bool:
        held = [b for b in self.reserved[lawyer_id].get(clock.local_date(start), ())
                if b.village_id != village_id]
        return clash(start, end, village_id, held, self.gap) is None

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

    def place(self, slot: Slot, village: Village, *, future_only: bool,
              exclude_id: int | None = None) -> Placement | None:
        """Where the slot's event goes: a session on its arranged day, else the nearest
        workday of its month at the same hours; a publicity event near a publicity day.
        Only days still to come with ``future_only``; None when no day is free."""
        arrangement = _arrangement(slot.pairing)
        lawyer_id = slot.pairing.lawyer_id

        def free(day, keep_clear=False):
            start, end = _times_on(arrangement, day)
            if (future_only and start < self.now) or not self.workdays.is_workday(day):
                return None
            if not self.is_free(lawyer_id, start, end, village.id, exclude_id):
                return None
            if keep_clear and not self._clear_of_reserved(lawyer_id, start, end, village.id):
                return None
            return start, end

        if slot.kind == "publicity":
            days = self._publicity_days(slot, arrangement.weekday)
            for keep_clear in (True, False):  # clear of the lawyer's arranged sessions first
                for day in days:
                    times = free(day, keep_clear)
                    if times:
                        return Placement(*times, "publicity")
            return None
        target = slot.arranged
        if target in slot.allowed:
            times = free(target)
            if times:
                return Placement(*times, "arranged")
        reason = ("term" if target not in slot.allowed
                  else "day_off" if not self.workdays.is_workday(target) else "busy")
        nearest = sorted(slot.allowed - {target}, key=lambda d: (abs((d - target).days), d))
        for keep_clear in (True, False):  # clear of the lawyer's other arranged days first
            for day in nearest:
                times = free(day, keep_clear)
                if times:
                    return Placement(*times, reason, target)
        return None

    def _publicity_days(self, slot: Slot, weekday: int) -> list[dt.date]:
        """A publicity slot's days, best first: in its window, still to come, near a
        publicity day, on the arrangement's weekday, earlier."""
        key = (slot.allowed, tuple(slot.window), weekday)
        days = self._publicity_orders.get(key)
        if days is None:  # villages with the same term and weekday share the order
            window = set(slot.window)
            days = self._publicity_orders[key] = sorted(slot.allowed, key=lambda day: (
                day not in window, day < self.today, self.publicity_distance.get(day, 0),
                day.weekday() != weekday, day))
        return days

    def first_free(self, pairing: Pairing, village: Village, kind: str) -> Placement | None:
        """The first day still to come in the year (after today), inside the pairing's term,
        when its lawyer is free at its arranged hours: where a make-up would go."""
        arrangement = _arrangement(pairing)
        for day in self.days:
            if day <= self.today or not _covers(pairing, day) or \
                    not self.workdays.is_workday(day):
                continue
            start, end = _times_on(arrangement, day)
            if self.is_free(pairing.lawyer_id, start, end, village.id):
                return Placement(start, end, "makeup")
        return None


def _events(query) -> list[Event]:
    """The query's events, made from their rows' values without a setattr per field (a
    peewee model row costs several times its values; a re-plan reads a year of them)."""
    events = []
    for row in query.dicts():
        event = Event(__no_default__=True)
        event.__data__ = row
        event._dirty.clear()
        events.append(event)
    return events


def _key_village(plan_key: str) -> str:
    return plan_key.rsplit(":", 3)[0]


def _key_year(plan_key: str) -> int | None:
    try:
        return int(plan_key.rsplit(":", 3)[1])
    except (IndexError, ValueError):
        return None


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


class _VillagePlanner:
    """Plans one village's slots against the year in memory; collects the writes."""

    def __init__(self, plan: _YearPlan, village: Village, pairings):
        self.plan, self.village, self.pairings = plan, village, pairings
        self.change = _Change()
        self.slots = plan.slots.get(village.id)
        if self.slots is None:
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
        if event.status == "cancelled" and event.cancel_reason not in PLANNER_REASONS:
            self._missed(slot, event)  # a person cancelled it: only a make-up replaces it
            return True
        if self._untouchable(event):
            if event.status == "planned" and event.ends_at <= self.plan.now:
                self._missed(slot, event)  # over, and not recorded as held
            elif event.status == "cancelled":
                self._missed(slot, event)
            return True
        if event.status == "cancelled":
            return False  # the planner cancelled it: a slot needed again revives it
        lawyer_id = slot.pairing.lawyer_id
        if event.pairing_id != slot.pairing.id or event.lawyer_id != lawyer_id:
            return False
        fits = self._fits(slot, event, lawyer_id)
        if event.placement == "manual" or (slot.arranged is not None
                                           and slot.arranged < self.plan.today):
            settled = fits  # moved by a person, or its arranged day has passed: kept
        else:
            wanted = self.plan.place(slot, self.village, future_only=True,
                                     exclude_id=event.id)
            settled = fits and wanted is not None and _on(event, wanted)
        if settled:
            self._propose(event, None)
        return settled

    def _missed(self, slot: Slot, event: Event) -> None:
        """A cancelled or missed event: a shortfall, and the day its make-up could take,
        unless a make-up was added already."""
        if event.id in self.plan.made_up:
            self._propose(event, None)
            return
        if event.status == "planned" and event.ends_at > self.plan.now:
            return
        if event.status != "planned":
            self._short(slot, SHORT_CANCELLED)
        found = self.plan.first_free(slot.pairing, self.village, slot.kind)
        self._propose(event, None if found is None else {
            "makeup": True, "starts_at": _iso(found.starts_at), "ends_at": _iso(found.ends_at)})

    def _short(self, slot: Slot, reason: str) -> None:
        self.missing[slot.pairing.id].append((slot.kind, reason))

    # changes -----------------------------------------------------------------------------

    def _propose(self, event: Event, proposal: dict | None) -> None:
        if (event.proposal or None) != proposal:
            event.proposal = proposal
            self.change.proposals.append((event.id, proposal))

    def _soon(self, event: Event) -> bool:
        """An event still to come within the notice days: never changed silently."""
        return event.status == "planned" and self.plan.now <= event.starts_at < self.plan.soon

    def _touch(self, event: Event, **fields) -> None:
        for name, value in fields.items():
            setattr(event, name, value)
        event.sequence += 1
        event.updated_at = self.plan.now
        event.proposal = None
        self.change.updated.append(event)

    def _tell(self, event, change: str, previous_start=None, previous_lawyer=None) -> None:
        self.change.told.append((event, change, previous_start, previous_lawyer))

    def _drop(self, event: Event) -> None:
        """A slot the village no longer has: cancel its event if it is still to come."""
        if self._untouchable(event) or event.status == "cancelled":
            return
        if self._soon(event):
            self._propose(event, {"status": "cancelled", "cancel_reason": CANCEL_NO_PAIRING})
            self.plan.summary["proposed"] += 1
            return
        self.plan._release(event)
        self._touch(event, status="cancelled", cancel_reason=CANCEL_NO_PAIRING)
        self._tell(event, "cancelled")
        self.plan.summary["cancelled"] += 1

    def _fix(self, slot: Slot, event: Event | None) -> None:
        if event is None:
            self._create(slot)
            return
        lawyer_id = slot.pairing.lawyer_id
        self.plan._release(event)
        target = self._target(slot, event, lawyer_id)
        if target is None:
            if self._soon(event):
                self._keep(event, {"status": "cancelled", "cancel_reason": CANCEL_NO_SLOT})
            elif event.status != "cancelled":
                self._touch(event, status="cancelled", cancel_reason=CANCEL_NO_SLOT)
                self._tell(event, "cancelled")
                self.plan.summary["cancelled"] += 1
            self._short(slot, SHORT_NO_FUTURE)
            return
        moved = target.times != (event.starts_at, event.ends_at)
        revived = event.status == "cancelled"
        if self._soon(event) and moved:
            self._keep(event, {"starts_at": _iso(target.starts_at),
                               "ends_at": _iso(target.ends_at), "lawyer": lawyer_id,
                               "pairing": slot.pairing.id, "placement": target.placement,
                               "arranged_on": _iso(target.arranged_on)})
            return
        previous_start, previous_lawyer = event.starts_at, event.lawyer_id
        if previous_lawyer and previous_lawyer != lawyer_id:
            self.change.handovers.append(dict(event=event.id, lawyer=previous_lawyer,
                                              to_lawyer=lawyer_id, handed_at=self.plan.now))
        self._touch(event, starts_at=target.starts_at, ends_at=target.ends_at, lawyer=lawyer_id,
                    pairing=slot.pairing.id, status="planned", cancel_reason="",
                    placement=target.placement, arranged_on=target.arranged_on)
        self.plan._occupy(lawyer_id, Busy(event.id, target.starts_at, target.ends_at,
                                          self.village.id, event.title))
        if revived:
            self._tell(event, "added")
            self.plan.summary["created"] += 1
        elif moved:
            self._tell(event, "moved", previous_start=previous_start)
            self.plan.summary["moved"] += 1
        elif previous_lawyer != lawyer_id:
            self._tell(event, "reassigned", previous_lawyer=previous_lawyer)
            self.plan.summary["reassigned"] += 1
        else:  # a new pairing of the same lawyer, or only why it is there changed
            self.plan.summary["reassigned"] += 1

    def _target(self, slot: Slot, event: Event, lawyer_id: int) -> Placement | None:
        """Where the event should be now: where it is, when a person put it there (or its
        arranged day has passed) and it still fits; else where the plan places it."""
        keep = event.placement == "manual" or (slot.arranged is not None
                                               and slot.arranged < self.plan.today)
        if keep and event.status != "cancelled" and self._fits(slot, event, lawyer_id):
            return Placement(event.starts_at, event.ends_at, event.placement or "manual",
                             event.arranged_on)
        return self.plan.place(slot, self.village, future_only=True, exclude_id=event.id)

    def _keep(self, event: Event, proposal: dict) -> None:
        """An event starting soon stays as it is (and keeps its time in the lawyer's day);
        the change becomes its proposal, for a coordinator to confirm."""
        if event.lawyer_id:
            self.plan._occupy(event.lawyer_id, Busy(event.id, event.starts_at, event.ends_at,
                                                    self.village.id, event.title))
        self._propose(event, proposal)
        self.plan.summary["proposed"] += 1

    def _create(self, slot: Slot) -> None:
        found = self.plan.place(slot, self.village, future_only=False)
        if found is None:
            workday = any(self.plan.workdays.is_workday(d) for d in slot.allowed)
            self._short(slot, SHORT_BOOKED if workday else SHORT_NO_WORKDAY)
            return
        title = event_title(slot.kind, self.village.name)
        self.change.new.append(dict(
            uid=f"{uuid.uuid4().hex}@jiedui", kind=slot.kind, plan_key=slot.key,
            village=self.village.id, pairing=slot.pairing.id, lawyer=slot.pairing.lawyer_id,
            starts_at=found.starts_at, ends_at=found.ends_at, status="planned", sequence=0,
            title=title, placement=found.placement, arranged_on=found.arranged_on,
            created_at=self.plan.now, updated_at=self.plan.now))
        self._tell(slot.key, "added")
        self.plan._occupy(slot.pairing.lawyer_id,
                          Busy(None, found.starts_at, found.ends_at, self.village.id, title))
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


def _on(event: Event, placement: Placement) -> bool:
    """Is the event where (and as) the plan places it?"""
    return ((event.starts_at, event.ends_at) == placement.times
            and event.placement == placement.placement
            and event.arranged_on == placement.arranged_on)


# what the planner changes in an event it keeps (``_VillagePlanner._touch``)
_TOUCHED = ("starts_at", "ends_at", "lawyer", "pairing", "status", "cancel_reason",
            "placement", "arranged_on", "sequence", "updated_at")


_PG_CASTS = {"starts_at": "timestamp", "ends_at": "timestamp", "updated_at": "timestamp",
             "arranged_on": "date", "lawyer": "integer", "pairing": "integer",
             "sequence": "integer"}
_AS_IS = frozenset((str, int, dt.datetime, dt.date, type(None)))


def _insert_events(rows: list[dict]) -> None:
    """INSERT the new events in batches, ignoring a slot a planning running at the same
    time made already (keep the one made): one prepared statement for all of them, without
    building SQL per row."""
    if not rows:
        return
    given = set(rows[0])
    fields = [field for field in Event._meta.sorted_fields if not field.primary_key
              and (field.name in given or field.default is not None)]
    defaults = {field.name: field.default for field in fields if field.name not in given}
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    marks = ", ".join([db.param] * len(fields))
    sql = f'INSERT INTO "event" ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING'

    def value(row, field):
        if field.name in row:
            found = row[field.name]
            # the drivers take these as they are (peewee's db_value would return them)
            return found if type(found) in _AS_IS else field.db_value(found)
        default = defaults[field.name]
        return field.db_value(default() if callable(default) else default)
    values = [[value(row, field) for field in fields] for row in rows]
    cursor = db.cursor()
    if is_sqlite():  # one prepared statement, run for each row
        for batch in chunked(values, BATCH):
            cursor.executemany(sql, batch)
        return
    for batch in chunked(values, 100):  # the drivers send rows one by one: 100 in a VALUES
        many = ", ".join([f"({marks})"] * len(batch))
        cursor.execute(f'INSERT INTO "event" ({columns}) VALUES {many} ON CONFLICT DO NOTHING',
                       [item for row in batch for item in row])


def _update_events(events: list[Event]) -> None:
    """Write the fields the planner changed in these events: one UPDATE … CASE per batch
    (and their proposals cleared: a changed event waits for no confirmation)."""
    for batch in chunked(events, 100):
        update = {}
        for name in _TOUCHED:
            field = Event._meta.fields[name]
            attr = field.object_id_name if isinstance(field, ForeignKeyField) else name
            case = Case(Event.id, [(event.id, field.case_value(getattr(event, attr)))
                                   for event in batch])
            # PostgreSQL types a CASE of NULLs as text: say what the column takes
            update[field] = case if is_sqlite() or name not in _PG_CASTS else \
                case.cast(_PG_CASTS[name])
        update[Event.proposal] = None
        Event.update(update).where(Event.id.in_([event.id for event in batch])).execute()


def _created(rows: list[dict], village_ids: list[int], year: int) -> dict[str, Event]:
    """plan key -> the Event each new row is now (its id read back; the rest as written).
    A slot another planning made first is the other one's event, read as stored."""
    created, others = {}, []
    by_key = {row["plan_key"]: row for row in rows}
    defaults = Event._meta.get_default_dict() if rows else {}
    for batch in chunked(village_ids if rows else [], BATCH):  # the villages' keyed events
        found = Event.select(Event.plan_key, Event.id, Event.uid).where(
            Event.village.in_(batch) & Event.plan_key.contains(f":{year}:")).tuples()
        for plan_key, event_id, uid in found:
            row = by_key.get(plan_key)
            if row is None:
                continue
            if uid != row["uid"]:
                others.append(plan_key)
                continue
            event = Event(__no_default__=True)  # the row as written, without a setattr a field
            event.__data__ = {**defaults, **row, "id": event_id}
            event._dirty.clear()
            created[plan_key] = event
    others += [key for key in by_key if key not in created and key not in others]
    for batch in chunked(others, BATCH):
        created.update({e.plan_key: e for e in Event.select().where(Event.plan_key.in_(batch))})
    return created


def _write(changes: list[_Change], shortfalls: list[dict], village_ids: list[int],
           year: int) -> tuple[list[int], list[EventChange]]:
    """Some villages' writes in one transaction: events, hand-overs and proposals, then
    their pairings' shortfall rows, each kind in a few statements. Returns the ids of the
    events written and what to tell of them."""
    updated = [event for change in changes for event in change.updated]
    new = [row for change in changes for row in change.new]
    with transaction():
        _update_events(updated)
        _insert_events(new)
        handovers = [row for change in changes for row in change.handovers]
        for batch in chunked(handovers, BATCH // 4):
            EventHandover.insert_many(batch).execute()
        proposals = defaultdict(list)  # the same proposal (none, most often): one UPDATE
        for change in changes:
            for event_id, proposal in change.proposals:
                proposals[json.dumps(proposal, sort_keys=True)].append(event_id)
        for proposal, event_ids in proposals.items():
            for batch in chunked(event_ids, BATCH):
                Event.update(proposal=json.loads(proposal)).where(
                    Event.id.in_(batch)).execute()
        # every pairing the villages ever had: one no longer in the year keeps no stale row
        Shortfall.delete().where((Shortfall.year == year) & Shortfall.pairing.in_(
            Pairing.select(Pairing.id).where(Pairing.village.in_(village_ids)))).execute()
        for batch in chunked(shortfalls, 100):
            Shortfall.insert_many(batch).execute()
    ids = [event.id for event in updated]
    created = _created(new, village_ids, year)
    ids += [event.id for event in created.values()]
    told = []
    for change in changes:
        for event, kind, previous_start, previous_lawyer in change.told:
            event = created.get(event) if isinstance(event, str) else event
            if event is not None:
                told.append(EventChange(event, kind, previous_start, previous_lawyer))
    return ids, told


def _scope(year: int, town: Town | None, village_ids):
    """The villages to plan, by code: those with a pairing in the year, or planned events
    in it (their ids only: the villages are loaded a chunk at a time); and the condition on
    Village that names them, None for every village."""
    where = None
    if town is not None:
        where = Village.town == town.id
    if village_ids is not None:  # ids, or a query selecting them (a burst of re-plans)
        ids = village_ids if isinstance(village_ids, Query) else list(village_ids)
        where = Village.id.in_(ids) if where is None else where & Village.id.in_(ids)
    paired = Pairing.select(Pairing.village).where(
        (Pairing.term_start <= dt.date(year, 12, 31)) & (Pairing.term_end >= dt.date(year, 1, 1)))
    with_events = Event.select(Event.village).where(
        Event.plan_key.contains(f":{year}:") & Event.village.is_null(False))
    if village_ids is not None:  # a few villages: their own events, not the year's
        paired = paired.where(Pairing.village.in_(ids))
        with_events = with_events.where(Event.village.in_(ids))
    query = Village.select(Village.id).where(Village.id.in_(paired)
                                             | Village.id.in_(with_events.distinct()))
    if where is not None:
        query = query.where(where)
    return [village_id for (village_id,) in query.order_by(Village.code).tuples()], where


def plan_year(year: int, *, town: Town | None = None, progress=None, villages=None) -> dict:
    """Plan ``year`` for every village (of ``town``; or only ``villages``: ids, or a query
    selecting them) and return
    the summary: pairings, villages, created, moved, reassigned, cancelled, unchanged,
    shortfalls [{pairing, village, village_code, kind, required, planned, reason}],
    official (False: the year's holidays are an estimate), seconds.

    ``progress(done, total)`` is called as villages are written (a few at a time, each
    few in one transaction). Idempotent.

    The villages are planned in the order of their codes, ``CHUNK_VILLAGES`` at a time:
    each chunk loads its villages, pairings and events and its lawyers' busy time (what
    earlier chunks wrote included), so a re-plan of a few villages reads only what they
    and their lawyers need, and a province is planned in memory that does not grow (its
    feeds and notices follow each chunk: a lawyer whose villages fall in two chunks is told
    twice)."""
    started = time.perf_counter()
    check_year(year)
    sync_official_holidays([year], replan=False)  # this planning applies them
    settings = get_settings()
    plan = _YearPlan(year, clock.now_utc(), settings)
    scope, where = _scope(year, town, villages)
    changed, told = [], []
    try:
        for low in range(0, len(scope), CHUNK_VILLAGES):
            chunk_ids = scope[low:low + CHUNK_VILLAGES]
            chunk = []
            for batch in chunked(chunk_ids, BATCH):
                chunk.extend(Village.select().where(Village.id.in_(batch)))
            chunk.sort(key=lambda village: village.code)
            pairings = {}
            for batch in chunked(chunk_ids, BATCH):
                pairings.update(_pairings_touching(year, batch, light=True))
            plan.load(chunk, pairings, where)
            for first in range(0, len(chunk), WRITE_EVERY):
                villages_ = chunk[first:first + WRITE_EVERY]
                planned = [_plan_village(plan, v, pairings.get(v.id, [])) for v in villages_]
                ids, changes = _write([change for change, _rows in planned],
                                      [row for _change, rows in planned for row in rows],
                                      [v.id for v in villages_], year)
                changed += ids
                told += changes
                if progress is not None:
                    progress(low + first + len(villages_), len(scope))
            if low + CHUNK_VILLAGES < len(scope):  # a province: told chunk by chunk
                _tell(changed, told)
                changed, told = [], []
    finally:
        _tell(changed, told)  # what was committed, even if a later village failed
    plan.summary["villages"] = len(scope)
    plan.summary["seconds"] = round(time.perf_counter() - started, 2)
    return plan.summary


def _tell(changed: list[int], told: list[EventChange]) -> None:
    """Feeds and people hear of what was written: one call for the whole planning (people
    get one notice, not one a village), or for each chunk of a planning bigger than one,
    so that memory does not hold a province's events until the end."""
    publish_changes(changed)
    if told:
        notify("events_changed", changes=told, actor=None)


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
    empty when it is; ``partial``: the pairing holds only ``months`` months of the year;
    ``missed``: its cancelled or missed events that no make-up replaces yet (each with the
    planner's proposed day in ``proposal``)."""
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
    missed: list = field(default_factory=list)

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
        return (N_("The pairing holds %(months)s months of %(year)s: %(sessions)s sessions "
                   "and %(publicity)s publicity events are expected."),
                dict(months=self.months, year=self.year, sessions=self.required_sessions,
                     publicity=self.required_publicity))


def _slot_states(events: list[Event], makeups: dict[int, str], now: dt.datetime) -> dict:
    """plan key -> (status that counts, the event if it waits for a make-up). A cancelled
    or missed event counts as its live make-up does."""
    states = {}
    for event in events:
        status, missed = event.status, None
        is_missed = status == "cancelled" or (status == "planned" and event.ends_at <= now)
        if is_missed and event.id in makeups:
            status = makeups[event.id]
        elif is_missed:
            missed = event
        states[event.plan_key] = (status, missed)
    return states


def quota_status(user: User | None, year: int, village_ids=None) -> list[QuotaRow]:
    """Per pairing in ``user``'s scope that owes something in ``year``: required, planned
    (not cancelled, or made up), held and remaining sessions and publicity events, any
    shortfall, and the events waiting for a make-up. A lawyer's scope is their own
    pairings (``core.access.sheet_filter``); the quota of each village is worked out from
    all of its pairings, as the planner shares it. ``village_ids``: only these villages
    (a page of the quota list: its cost follows the page, not the district)."""
    villages = sheet_village_filter(user)
    if village_ids is not None:
        if not village_ids or villages is False:
            return []
        chosen = Village.id.in_(list(village_ids))
        villages = chosen if villages is True else chosen & villages
    pairings = _pairings_touching(year, where=villages)
    keyed = list(Event.select(Event.id, Event.plan_key, Event.status, Event.kind,
                              Event.starts_at, Event.ends_at, Event.proposal, Event.village)
                 .join(Village).where(Event.plan_key.contains(f":{year}:") & villages))
    live = (Event.select(Event.makeup_for, Event.status)
            .where(Event.makeup_for.in_([e.id for e in keyed] or [0])
                   & (Event.status != "cancelled")).tuples())
    makeups = {}
    for made_up, status in live:  # a held make-up wins over a planned one
        makeups[made_up] = "held" if "held" in (status, makeups.get(made_up)) else status
    states = _slot_states(keyed, makeups, clock.now_utc())
    stored = {(row.pairing_id, row.kind): row.reason.split("\n") for row in
              Shortfall.select().where((Shortfall.year == year)
                                       & Shortfall.pairing.in_([p.id for ps in pairings.values()
                                                                for p in ps]))}
    rows = []
    for village_pairings in pairings.values():
        village = village_pairings[0].village
        slots = village_slots(village, village_pairings, year)
        for pairing in sheet_pairings(user, village_pairings):
            mine = [s for s in slots if s.pairing.id == pairing.id]
            if not mine:
                continue
            counts, missed = {}, []
            for kind in ("session", "publicity"):
                found = [states.get(s.key, (None, None)) for s in mine if s.kind == kind]
                counts[kind] = (len(found),
                                sum(1 for status, _ in found if status in ("planned", "held")),
                                sum(1 for status, _ in found if status == "held"))
                missed += [event for _, event in found if event is not None]
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
                shortfall=list(dict.fromkeys(shortfall)),
                missed=sorted(missed, key=lambda e: e.starts_at)))
    rows.sort(key=lambda r: (r.village.town.code, r.village.code, r.pairing.term_start))
    return rows
