"""Events people change: slots in the district's time zone, the double-booking rule with
its travel gap, who may change an event, and move / record as held / cancel."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.config import ConfigError, load_settings, parse_publicity_days
from core.errors import PermissionDenied, ValidationError
from core.events import (can_edit_event, cancel_event, check_slot, move_event, record_held,
                         session_times)
from core.models import Event
from core.pairings import pair
from tests.planning_support import make_event, now, published, utc  # noqa: F401 (fixtures)
from tests.tasks_support import programme  # noqa: F401 (fixture)

D = dt.date
MONDAY = D(2026, 3, 2)


# --- settings ----------------------------------------------------------------------------

def test_default_slots_are_half_days_in_the_district_zone(database):
    assert session_times(MONDAY, "am") == (dt.datetime(2026, 3, 2, 0, 30),
                                           dt.datetime(2026, 3, 2, 4, 0))
    assert session_times(MONDAY, "pm") == (dt.datetime(2026, 3, 2, 6, 0),
                                           dt.datetime(2026, 3, 2, 9, 30))
    with pytest.raises(ValidationError):
        session_times(MONDAY, "evening")


def test_slots_follow_the_settings(database, monkeypatch):
    monkeypatch.setenv("JIEDUI_MORNING", "09:00-12:30")
    start, end = session_times(MONDAY, "am")
    assert start.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo("Asia/Shanghai")).time() \
        == dt.time(9, 0)
    assert end - start == dt.timedelta(hours=3.5)


def test_planning_settings_defaults():
    settings = load_settings({"JIEDUI_INSTANCE": "/tmp/jiedui-settings-test",
                              "JIEDUI_SECRET_KEY": "x"})
    assert settings.morning == (dt.time(8, 30), dt.time(12, 0))
    assert settings.afternoon == (dt.time(14, 0), dt.time(17, 30))
    assert (settings.min_session_hours, settings.travel_gap_minutes) == (3.5, 60)
    days = settings.publicity_days
    assert (3, 15) in days and (4, 15) in days and (12, 4) in days
    assert all((5, d) in days for d in range(1, 32)) and len(days) == 34


@pytest.mark.parametrize("name, value, words", [
    ("JIEDUI_MORNING", "8.30-12", "not a time range"),
    ("JIEDUI_MORNING", "12:00-08:30", "ends before it starts"),
    ("JIEDUI_MORNING", "25:00-26:00", "does not exist"),
    ("JIEDUI_MORNING", "09:00-11:00", "shorter than JIEDUI_MIN_SESSION_HOURS"),
    ("JIEDUI_AFTERNOON", "11:00-17:30", "starts (11:00) before JIEDUI_MORNING ends"),
    ("JIEDUI_MIN_SESSION_HOURS", "half", "not a number"),
    ("JIEDUI_MIN_SESSION_HOURS", "0", "more than zero"),
    ("JIEDUI_TRAVEL_GAP_MINUTES", "-5", "zero or more"),
    ("JIEDUI_TRAVEL_GAP_MINUTES", "1.5", "whole number"),
    ("JIEDUI_PUBLICITY_DAYS", "03-15,13-01", "not a day of the year"),
    ("JIEDUI_PUBLICITY_DAYS", "05-31..05-01", "ends before it starts"),
    ("JIEDUI_PUBLICITY_DAYS", "March 15", "MM-DD"),
])
def test_bad_planning_settings_fail_loudly_naming_the_setting(name, value, words):
    environ = {"JIEDUI_INSTANCE": "/tmp/jiedui-settings-test", "JIEDUI_SECRET_KEY": "x",
               name: value}
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert name in str(caught.value) and words in str(caught.value)


def test_publicity_days_parse_ranges_and_leap_day():
    assert parse_publicity_days("12-04, 02-28..03-01") == ((2, 28), (2, 29), (3, 1), (12, 4))
    assert parse_publicity_days("") == ()


# --- the double-booking rule -------------------------------------------------------------

@pytest.fixture
def booked(district, now, published):
    """张明 (village 1) has a session on Monday 2 March 2026, 08:30–12:00."""
    pairing = district.pairings[0]
    return make_event(pairing, MONDAY, "am", plan_key=f"{pairing.village.code}:2026:session:03")


def test_a_day_off_is_refused_and_a_make_up_saturday_allowed(district):
    lawyer = district.lawyers[0]
    with pytest.raises(ValidationError, match="day off"):
        check_slot(lawyer, *session_times(D(2026, 10, 1), "am"))
    with pytest.raises(ValidationError, match="weekend"):
        check_slot(lawyer, *session_times(D(2026, 3, 7), "am"))
    check_slot(lawyer, *session_times(D(2026, 2, 28), "am"))  # 调休补班


def test_overlap_is_refused_naming_what_is_booked(district, booked):
    with pytest.raises(ValidationError) as caught:
        check_slot(district.lawyers[0], utc(2026, 3, 2, 11), utc(2026, 3, 2, 13))
    assert "already booked" in str(caught.value) and "2026-03-02 08:30" in str(caught.value)


def test_another_village_needs_the_travel_gap(district, booked):
    lawyer, other_village = district.lawyers[0], district.villages[1]
    with pytest.raises(ValidationError, match="60 minutes to travel"):
        check_slot(lawyer, utc(2026, 3, 2, 12, 30), utc(2026, 3, 2, 16),
                   village=other_village)
    check_slot(lawyer, utc(2026, 3, 2, 13), utc(2026, 3, 2, 16, 30), village=other_village)
    # the same village needs no travel
    check_slot(lawyer, utc(2026, 3, 2, 12), utc(2026, 3, 2, 15, 30), village=booked.village)


def test_the_travel_gap_is_configurable(district, booked, monkeypatch):
    monkeypatch.setenv("JIEDUI_TRAVEL_GAP_MINUTES", "150")
    with pytest.raises(ValidationError, match="150 minutes"):
        check_slot(district.lawyers[0], *session_times(MONDAY, "pm"), village=district.villages[1])


def test_aware_datetimes_are_understood(district, booked):
    zone = ZoneInfo("Asia/Shanghai")
    with pytest.raises(ValidationError, match="already booked"):
        check_slot(district.lawyers[0], dt.datetime(2026, 3, 2, 9, tzinfo=zone),
                   dt.datetime(2026, 3, 2, 10, tzinfo=zone))


def test_cancelled_events_and_other_lawyers_do_not_block(district, booked):
    check_slot(district.lawyers[1], *session_times(MONDAY, "am"))
    Event.update(status="cancelled").where(Event.id == booked.id).execute()
    check_slot(district.lawyers[0], *session_times(MONDAY, "am"), village=district.villages[1])


# --- who may change an event -------------------------------------------------------------

def test_who_may_change_an_event(district, booked):
    users = district.users
    assert can_edit_event(None, booked) and can_edit_event(users.admin, booked)
    assert can_edit_event(users.coordinator, booked)
    assert can_edit_event(users.town_coordinator, booked)
    assert not can_edit_event(users.other_town_coordinator, booked)
    assert can_edit_event(users.lawyer, booked)  # 张明 himself
    assert not can_edit_event(users.village, booked)
    other = make_event(district.pairings[1], MONDAY, "pm")
    assert not can_edit_event(users.lawyer, other)


# --- move -------------------------------------------------------------------------------------

def test_move_changes_the_slot_and_bumps_the_sequence(district, booked, published, now):
    now(dt.datetime(2026, 2, 1))
    moved = move_event(district.users.lawyer, booked, starts_at=utc(2026, 3, 4, 14),
                       ends_at=utc(2026, 3, 4, 17, 30))
    fresh = Event.get_by_id(booked.id)
    assert (fresh.starts_at, fresh.sequence, fresh.uid) == (utc(2026, 3, 4, 14), 1, booked.uid)
    assert fresh.updated_at == dt.datetime(2026, 2, 1) and moved.sequence == 1
    assert published == [[booked.id]]


def _unchanged(event):
    fresh = Event.get_by_id(event.id)
    assert (fresh.starts_at, fresh.sequence, fresh.status) == (event.starts_at, event.sequence,
                                                               event.status)


@pytest.mark.parametrize("start, end, words", [
    (utc(2026, 3, 7, 8, 30), utc(2026, 3, 7, 12), "weekend"),
    (utc(2026, 3, 3, 8, 30), utc(2026, 3, 3, 11), "at least 3.5 hours"),
    (utc(2026, 4, 1, 8, 30), utc(2026, 4, 1, 12), "stays in its month"),
    (utc(2026, 3, 3, 12), utc(2026, 3, 3, 8, 30), "after the start"),
    (utc(2025, 11, 3, 8, 30), utc(2025, 11, 3, 12), "into the past"),
])
def test_move_refuses_a_bad_slot_and_changes_nothing(district, booked, published, start, end,
                                                     words):
    with pytest.raises(ValidationError, match=words):
        move_event(None, booked, starts_at=start, ends_at=end)
    _unchanged(booked)
    assert published == []


def test_move_refuses_double_booking(district, booked):
    other = make_event(district.pairings[0], D(2026, 3, 3), "am",
                       plan_key=f"{district.villages[0].code}:2026:publicity:01",
                       kind="publicity")
    with pytest.raises(ValidationError, match="already booked"):
        move_event(None, other, starts_at=booked.starts_at, ends_at=booked.ends_at)
    _unchanged(other)


def test_move_refuses_past_and_held_events(district, booked, now):
    now(utc(2026, 3, 2, 9))  # the session has begun
    with pytest.raises(ValidationError, match="has begun or is over"):
        move_event(None, booked, starts_at=utc(2026, 3, 4, 8, 30), ends_at=utc(2026, 3, 4, 12))
    now(utc(2026, 3, 2, 12, 30))
    record_held(None, booked, start=utc(2026, 3, 2, 8, 30), end=utc(2026, 3, 2, 12, 10))
    with pytest.raises(ValidationError, match="Only a planned event"):
        move_event(None, booked, starts_at=utc(2026, 3, 4, 8, 30), ends_at=utc(2026, 3, 4, 12))


def test_move_stays_inside_the_term(district, now, published):
    pairing = pair(None, lawyer=district.lawyers[2], village=district.villages[5],
                   term_start=D(2026, 3, 1), term_end=D(2026, 3, 15))
    event = make_event(pairing, D(2026, 3, 2), plan_key=f"{pairing.village.code}:2026:session:03")
    with pytest.raises(ValidationError, match="outside the pairing's term"):
        move_event(None, event, starts_at=utc(2026, 3, 16, 8, 30), ends_at=utc(2026, 3, 16, 12))


@pytest.mark.parametrize("role", ["other_town_coordinator", "village"])
def test_move_by_someone_outside_is_refused(district, booked, role):
    with pytest.raises(PermissionDenied):
        move_event(getattr(district.users, role), booked, starts_at=utc(2026, 3, 4, 8, 30),
                   ends_at=utc(2026, 3, 4, 12))
    _unchanged(booked)


# --- record as held ----------------------------------------------------------------------

def test_record_held_keeps_the_actual_times(district, booked, now, published):
    now(dt.datetime(2026, 3, 3))
    record_held(district.users.town_coordinator, booked, start=utc(2026, 3, 2, 8, 45),
                end=utc(2026, 3, 2, 12, 20))
    fresh = Event.get_by_id(booked.id)
    assert (fresh.status, fresh.held_start, fresh.held_end, fresh.sequence) == (
        "held", utc(2026, 3, 2, 8, 45), utc(2026, 3, 2, 12, 20), 1)
    assert fresh.starts_at == booked.starts_at  # the plan stays as it was
    assert published == [[booked.id]]


@pytest.mark.parametrize("start, end, words", [
    (utc(2026, 3, 2, 9), utc(2026, 3, 2, 12), "at least 3.5 hours; this one lasted 3:00"),
    (utc(2026, 3, 2, 12), utc(2026, 3, 2, 9), "after the start"),
    (utc(2026, 3, 9, 8, 30), utc(2026, 3, 9, 12), "once it has ended"),
])
def test_record_held_refuses_a_short_or_future_session(district, booked, now, start, end, words):
    now(dt.datetime(2026, 3, 3))
    with pytest.raises(ValidationError, match=words):
        record_held(None, booked, start=start, end=end)
    _unchanged(booked)


def test_a_publicity_event_may_be_shorter(district, now):
    now(dt.datetime(2026, 3, 3))
    event = make_event(district.pairings[0], MONDAY, "pm", kind="publicity")
    record_held(None, event, start=utc(2026, 3, 2, 14), end=utc(2026, 3, 2, 16))
    assert Event.get_by_id(event.id).status == "held"


def test_a_cancelled_event_cannot_be_recorded(district, booked, now):
    now(dt.datetime(2026, 3, 3))
    cancel_event(None, booked, reason="村里开会")
    with pytest.raises(ValidationError, match="cancelled event"):
        record_held(None, booked, start=utc(2026, 3, 2, 8, 30), end=utc(2026, 3, 2, 12))


# --- cancel ------------------------------------------------------------------------------

def test_cancel_keeps_the_event_with_its_reason(district, booked, published):
    cancel_event(district.users.lawyer, booked, reason="  村委换届  ")
    fresh = Event.get_by_id(booked.id)
    assert (fresh.status, fresh.cancel_reason, fresh.sequence, fresh.uid) == (
        "cancelled", "村委换届", 1, booked.uid)
    assert published == [[booked.id]]
    with pytest.raises(ValidationError, match="cancelled already"):
        cancel_event(None, fresh, reason="again")


def test_cancel_needs_a_reason_and_refuses_a_held_event(district, booked, now):
    with pytest.raises(ValidationError) as caught:
        cancel_event(None, booked, reason="  ")
    assert caught.value.field == "reason"
    _unchanged(booked)
    now(dt.datetime(2026, 3, 3))
    record_held(None, booked, start=utc(2026, 3, 2, 8, 30), end=utc(2026, 3, 2, 12))
    with pytest.raises(ValidationError, match="took place"):
        cancel_event(None, Event.get_by_id(booked.id), reason="no")


def test_cancel_by_another_lawyer_is_refused(district, booked):
    from core.users import create_user
    other = create_user("lawyer2", "pass-word-1", "lawyer", lawyer=district.lawyers[1])
    with pytest.raises(PermissionDenied):
        cancel_event(other, booked, reason="not mine")
    _unchanged(booked)


# --- reinstating and making up ---------------------------------------------------------------

def test_only_a_coordinator_reinstates_and_only_what_is_still_to_come(district, now):
    from core.events import reinstate_event
    event = make_event(district.pairings[0], D(2026, 3, 3))
    cancel_event(district.users.lawyer, event, reason="生病")
    with pytest.raises(PermissionDenied):
        reinstate_event(district.users.lawyer, Event.get_by_id(event.id))
    with pytest.raises(PermissionDenied):
        reinstate_event(district.users.other_town_coordinator, Event.get_by_id(event.id))
    back = reinstate_event(district.users.town_coordinator, Event.get_by_id(event.id))
    assert (back.status, back.cancel_reason, back.sequence) == ("planned", "", 2)
    with pytest.raises(ValidationError):  # not cancelled any more
        reinstate_event(district.users.coordinator, back)
    cancel_event(None, back, reason="暴雨")
    now(utc(2026, 3, 4))
    with pytest.raises(ValidationError) as caught:
        reinstate_event(district.users.coordinator, Event.get_by_id(event.id))
    assert "make-up" in str(caught.value)


def test_a_reinstated_event_must_still_fit_the_lawyers_day(district, now):
    from core.events import reinstate_event
    event = make_event(district.pairings[0], D(2026, 3, 3))
    cancel_event(None, event, reason="暴雨")
    make_event(district.pairings[0], D(2026, 3, 3), plan_key=None, kind="task", title="调解")
    with pytest.raises(ValidationError) as caught:
        reinstate_event(district.users.coordinator, Event.get_by_id(event.id))
    assert "already booked" in str(caught.value)
    assert Event.get_by_id(event.id).status == "cancelled"


def test_a_make_up_counts_once_stays_in_its_year_and_is_for_missed_events_only(district, now):
    from core.events import add_makeup, live_makeup
    pairing = district.pairings[0]
    coordinator = district.users.coordinator
    event = make_event(pairing, D(2026, 3, 3), plan_key=f"{pairing.village.code}:2026:session:03")
    start, end = session_times(D(2026, 3, 10), "pm")
    with pytest.raises(ValidationError):  # still to come and planned: nothing to make up
        add_makeup(coordinator, event, starts_at=start, ends_at=end)
    now(utc(2026, 3, 5))  # it is over and nobody recorded it as held: missed
    with pytest.raises(PermissionDenied):
        add_makeup(district.users.lawyer, Event.get_by_id(event.id), starts_at=start,
                   ends_at=end)
    before = Event.select().count()
    for day, half, words in ((D(2027, 1, 5), "pm", "2026"),  # another year
                             (D(2026, 3, 14), "am", "2026-03-14")):  # a Saturday
        bad = session_times(day, half)
        with pytest.raises(ValidationError) as caught:
            add_makeup(coordinator, Event.get_by_id(event.id), starts_at=bad[0], ends_at=bad[1])
        assert words in str(caught.value)
    short = (start, start + dt.timedelta(hours=2))
    with pytest.raises(ValidationError) as caught:
        add_makeup(coordinator, Event.get_by_id(event.id), starts_at=short[0], ends_at=short[1])
    assert caught.value.field == "ends_at"
    assert Event.select().count() == before  # nothing written by a refusal
    makeup = add_makeup(coordinator, Event.get_by_id(event.id), starts_at=start, ends_at=end)
    missed = Event.get_by_id(event.id)
    assert (missed.status, missed.cancel_reason) == ("cancelled", "未按时举行，已安排于 2026-03-10 补班。")
    assert live_makeup(missed).id == makeup.id and makeup.title == "坐班（补） · 东湖1村"
    with pytest.raises(ValidationError):
        add_makeup(coordinator, missed, starts_at=start + dt.timedelta(days=1),
                   ends_at=end + dt.timedelta(days=1))


def test_a_held_make_up_counts_in_the_assessment(district, now):
    from core.assessment import assessment_sheet
    from core.events import add_makeup
    pairing = district.pairings[0]
    event = make_event(pairing, D(2026, 3, 3), plan_key=f"{pairing.village.code}:2026:session:03")
    now(utc(2026, 3, 5))
    start, end = session_times(D(2026, 3, 6), "am")
    makeup = add_makeup(None, event, starts_at=start, ends_at=end)
    now(utc(2026, 3, 7))
    record_held(None, makeup, start=start, end=end)
    sheet = assessment_sheet(pairing, 2026)
    assert sheet.figures.sessions_held == 1


def test_a_replaced_lawyers_scheduled_task_moves_with_the_task_or_waits_for_a_new_time(
        district, now, programme):
    from core.models import EventHandover, Task
    from core.pairings import replace_lawyer
    from core.tasks import assign_task, schedule_task
    village = district.villages[0]
    free = assign_task(None, program=programme, task_type="test_visit", village=village)
    busy = assign_task(None, program=programme, task_type="test_visit", village=village)
    schedule_task(None, free, starts_at=utc(2026, 3, 10, 9), ends_at=utc(2026, 3, 10, 11))
    schedule_task(None, busy, starts_at=utc(2026, 3, 12, 9), ends_at=utc(2026, 3, 12, 11))
    new_lawyer = district.lawyers[3]
    make_event(district.pairings[3], D(2026, 3, 12))  # 赵强 is at his own village then
    replace_lawyer(None, district.pairings[0], lawyer=new_lawyer, on=D(2026, 3, 1))
    free, busy = Task.get_by_id(free.id), Task.get_by_id(busy.id)
    assert free.assignee_id == busy.assignee_id == new_lawyer.id
    moved, waiting = Event.get_by_id(free.event_id), Event.get_by_id(busy.event_id)
    assert (moved.lawyer_id, moved.status) == (new_lawyer.id, "planned")
    assert waiting.status == "cancelled" and "赵强" in waiting.cancel_reason
    assert EventHandover.get(EventHandover.event == moved.id).lawyer_id == \
        district.lawyers[0].id
