"""Helpers for the planning tests: a settable clock, recorded feed publishing, events made
by hand, and the checks every plan must pass (the issue's "done when")."""
import datetime as dt
from collections import defaultdict

import pytest

from core import clock
from core.config import load_settings
from core.models import Event, Pairing, Shortfall
from core.planner import quota_status
from core.workdays import workdays_between

D = dt.date


def utc(year, month, day, hour=0, minute=0) -> dt.datetime:
    """A naive UTC instant from a district wall-clock time (Asia/Shanghai, UTC+8)."""
    return clock.utc_from_local(D(year, month, day), dt.time(hour, minute))


@pytest.fixture
def now(monkeypatch):
    """``now(datetime)`` sets the clock (naive UTC) for the services; starts at
    2025-12-01, before the planned year, so every event of 2026 is still to come."""
    current = {"value": dt.datetime(2025, 12, 1)}
    monkeypatch.setattr(clock, "now_utc", lambda: current["value"])
    monkeypatch.setattr(clock, "today", lambda: clock.local_date(current["value"]))

    def set_now(value: dt.datetime) -> dt.datetime:
        current["value"] = value
        return value
    return set_now


@pytest.fixture
def published(monkeypatch):
    """The event ids handed to ``core.reactions.publish_affected`` (the feeds to
    republish), one list per call."""
    import core.reactions
    calls = []
    monkeypatch.setattr(core.reactions, "publish_affected",
                        lambda ids: calls.append(list(ids)))
    return calls


def make_event(pairing: Pairing, day: dt.date, half: str = "am", kind: str = "session",
               plan_key: str | None = None, **fields) -> Event:
    from core.events import session_times
    starts_at, ends_at = session_times(day, half)
    values = dict(uid=f"test-{Event.select().count()}-{day}-{half}@jiedui", kind=kind,
                  plan_key=plan_key, village=pairing.village_id, pairing=pairing.id,
                  lawyer=pairing.lawyer_id, starts_at=starts_at, ends_at=ends_at,
                  title=f"{kind} {day}")
    values.update(fields)
    from tests.factories import counted
    return counted(Event.create(**values))


def snapshot(year: int) -> dict:
    """plan key -> the planned event's identity and state, to compare two plans."""
    return {e.plan_key: dict(uid=e.uid, starts_at=e.starts_at, ends_at=e.ends_at,
                             lawyer=e.lawyer_id, pairing=e.pairing_id, status=e.status,
                             sequence=e.sequence)
            for e in Event.select().where(Event.plan_key.contains(f":{year}:"))}


def assert_plan_sound(year: int) -> None:
    """What the issue promises of every plan:

    - sessions and publicity events only on workdays, inside their pairing's term, the
      pairing's lawyer doing them, at least half a day for a session, a session in its month;
    - no lawyer in two places at once, with the travel gap between two villages;
    - every pairing's quota planned, or its shortfall stored with the right numbers."""
    settings = load_settings()
    gap = dt.timedelta(minutes=settings.travel_gap_minutes)
    calendar = workdays_between(D(year, 1, 1), D(year, 12, 31))
    events = list(Event.select().where(Event.plan_key.contains(f":{year}:")
                                       & (Event.status != "cancelled")))
    pairings = {p.id: p for p in Pairing.select()}
    for event in events:
        day = clock.local_date(event.starts_at)
        assert calendar.is_workday(day), f"{event.plan_key} on a day off: {day}"
        pairing = pairings[event.pairing_id]
        assert pairing.term_start <= day <= pairing.term_end, f"{event.plan_key} outside term"
        assert event.lawyer_id == pairing.lawyer_id, f"{event.plan_key}: not the pairing's lawyer"
        if event.kind == "session":
            assert event.ends_at - event.starts_at >= dt.timedelta(
                hours=settings.min_session_hours)
            assert day.month == int(event.plan_key.rsplit(":", 1)[1]), event.plan_key
    assert_no_double_booking(gap)
    for row in quota_status(None, year):
        for kind, required, planned in (
                ("session", row.required_sessions, row.planned_sessions),
                ("publicity", row.required_publicity, row.planned_publicity)):
            stored = Shortfall.get_or_none((Shortfall.pairing == row.pairing.id)
                                           & (Shortfall.year == year) & (Shortfall.kind == kind))
            if planned >= required:
                assert stored is None, f"stale shortfall for {row.village.code} {kind}"
            else:
                assert stored is not None, f"{row.village.code} {kind}: {planned} of " \
                                           f"{required} planned and no shortfall reported"
                assert (stored.required, stored.planned) == (required, planned)
                assert stored.reason


def assert_no_double_booking(gap: dt.timedelta) -> None:
    by_lawyer_day = defaultdict(list)
    for event in Event.select().where((Event.status != "cancelled") & Event.lawyer.is_null(False)):
        by_lawyer_day[(event.lawyer_id, clock.local_date(event.starts_at))].append(event)
    for events in by_lawyer_day.values():
        for i, a in enumerate(events):
            for b in events[i + 1:]:
                margin = dt.timedelta(0) if a.village_id == b.village_id else gap
                assert not (a.starts_at < b.ends_at + margin and b.starts_at < a.ends_at + margin), \
                    f"lawyer {a.lawyer_id} double-booked: {a.plan_key} and {b.plan_key}"


def assert_sessions_on_arrangement(year: int, *, busy_ok: bool = False,
                                   since: dt.datetime | None = None) -> dict:
    """What a village publishes is what is planned: every session of ``year`` not moved by
    hand (or made up) lies on its pairing's arrangement (the week, the weekday and the
    hours), or — the arranged day being a day off, or outside the pairing's term (and with
    ``busy_ok`` taken by the lawyer's other work) — on a workday of the same month at the
    same hours, naming the arranged day it left. Sessions that began before ``since`` (placed
    under an earlier arrangement) are left out. Returns the count per placement."""
    calendar = workdays_between(D(year, 1, 1), D(year, 12, 31))
    pairings = {p.id: p for p in Pairing.select()}
    counts = defaultdict(int)
    sessions = Event.select().where(Event.plan_key.contains(f":{year}:session:")
                                    & (Event.status != "cancelled"))
    for event in sessions:
        if since is not None and event.starts_at < since:
            continue
        counts[event.placement] += 1
        if event.placement == "manual":
            continue
        pairing = pairings[event.pairing_id]
        arrangement = pairing.arrangement
        start, end = clock.to_local(event.starts_at), clock.to_local(event.ends_at)
        month = int(event.plan_key.rsplit(":", 1)[1])
        arranged = arrangement.day_in(year, month)
        assert (start.time(), end.time()) == (arrangement.start, arrangement.end), \
            f"{event.plan_key} at {start:%H:%M}-{end:%H:%M}, published {arrangement}"
        if event.placement == "arranged":
            assert start.date() == arranged, f"{event.plan_key} on {start.date()}, not {arranged}"
            continue
        assert event.arranged_on == arranged and start.date().month == month, event.plan_key
        if event.placement == "day_off":
            assert not calendar.is_workday(arranged), f"{event.plan_key}: {arranged} is a workday"
        elif event.placement == "term":
            assert not pairing.term_start <= arranged <= pairing.term_end, event.plan_key
        else:
            assert busy_ok and event.placement == "busy", \
                f"{event.plan_key} left its arranged day: {event.placement}"
    return dict(counts)
