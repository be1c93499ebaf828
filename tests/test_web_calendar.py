"""The calendar UI: month and agenda views, an event's forms (move, record held, cancel), the
quota, planning runs and the holiday table — HTMX fragments, 422 on refusal, scope."""
import datetime as dt
import io
import re
import threading
import uuid
from contextlib import contextmanager

import pytest

from core import clock, planner, workdays
from core.models import Event, Holiday, PlanRun
from core.users import create_user
from tests.factories import PASSWORD, counted

HX = {"HX-Request": "true"}
D, T = dt.date, dt.time


@pytest.fixture
def login(login, client):
    """Log in with the English UI, so assertions do not depend on the zh_CN catalog."""
    client.set_cookie("lang", "en")
    return login


def make_event(pairing, day, start=T(8, 30), end=T(12, 0), kind="session", **fields):
    return counted(Event.create(uid=f"{uuid.uuid4().hex}@test", kind=kind,
                                village=pairing.village_id, pairing=pairing.id,
                                lawyer=pairing.lawyer_id,
                                starts_at=clock.utc_from_local(day, start),
                                ends_at=clock.utc_from_local(day, end),
                                title=f"坐班 · {pairing.village.name}", **fields))


def workday_from(day: dt.date, step: int = 1) -> dt.date:
    """The first workday on or after ``day`` (before it, with ``step=-1``)."""
    while not workdays.is_workday(day):
        day += dt.timedelta(days=step)
    return day


def weekend_after(day: dt.date) -> dt.date:
    """A Saturday after ``day`` that is not a make-up workday."""
    day += dt.timedelta(days=(5 - day.weekday()) % 7)
    while workdays.is_workday(day):
        day += dt.timedelta(days=7)
    return day


def events_snapshot():
    """Every event as stored, to show that a refusal wrote nothing."""
    return [tuple(row) for row in Event.select().order_by(Event.id).tuples()]


def day_cell(html: str, day: dt.date) -> str:
    match = re.search(rf'data-date="{day.isoformat()}">(.*?)</td>', html, re.S)
    assert match, f"no cell for {day}"
    return match.group(1)


def text(response) -> str:
    return response.get_data(as_text=True)


# --- month grid and agenda -------------------------------------------------------------------

def test_month_grid_puts_events_on_their_district_days_and_times(district, login):
    pairing = district.pairings[0]
    make_event(pairing, D(2027, 4, 8))
    # 07:00 in Shanghai is 23:00 UTC the day before: it belongs to the 9th
    early = make_event(pairing, D(2027, 4, 9), T(7, 0), T(11, 0), kind="publicity")
    assert early.starts_at == dt.datetime(2027, 4, 8, 23, 0)
    response = login(district.users.lawyer).get("/calendar/?month=2027-04")
    html = text(response)
    assert response.status_code == 200 and "<html" in html
    assert "Calendar of 张明" in html and "April 2027" in html
    eighth, ninth = day_cell(html, D(2027, 4, 8)), day_cell(html, D(2027, 4, 9))
    assert "08:30</time>–<time" in eighth and "12:00" in eighth and "On-site session" in eighth
    assert "东湖1村" in eighth
    assert "07:00" in ninth and "Legal publicity" in ninth and "07:00" not in eighth
    # weeks start on Monday: April 2027 starts on a Thursday, so Monday 29 March comes first
    assert re.findall(r'data-date="([\d-]+)"', html)[0] == "2027-03-29"
    assert html.index(">Mon<") < html.index(">Sun<")
    assert "张明" not in eighth  # the lawyer's own calendar does not repeat their name


def test_days_off_and_make_up_workdays_are_marked(district, login):
    workdays.sync_official_holidays([2026])  # the official notice: 2026-10-01..07 off
    response = login(district.users.admin).get("/calendar/?month=2026-10")
    html = text(response)
    first = re.search(r'<td class="([^"]*)"\s+data-date="2026-10-01"', html).group(1)
    assert "off" in first.split()
    assert "国庆节" in day_cell(html, D(2026, 10, 1))
    makeup = [day for day, (kind, _name) in workdays.workdays_between(
        D(2026, 9, 28), D(2026, 11, 1)).exceptions.items() if kind == "workday"]
    assert makeup, "the 2026 notice has make-up workdays around National Day"
    cls = re.search(rf'<td class="([^"]*)"\s+data-date="{makeup[0].isoformat()}"', html).group(1)
    assert "makeup" in cls.split() and "off" not in cls.split()
    assert "Make-up workday" in day_cell(html, makeup[0])


def test_cancelled_events_are_struck_and_held_ones_ticked(district, login):
    pairing = district.pairings[0]
    make_event(pairing, D(2027, 4, 12), status="cancelled", cancel_reason="下雨")
    make_event(pairing, D(2027, 4, 13), status="held")
    html = text(login(district.users.lawyer).get("/calendar/?month=2027-04"))
    cancelled, held = day_cell(html, D(2027, 4, 12)), day_cell(html, D(2027, 4, 13))
    assert "status-cancelled" in cancelled and "<del>" in cancelled and "(Cancelled)" in cancelled
    assert "status-held" in held and "✓" in held and "<del>" not in held


def test_town_and_district_views_name_the_lawyer(district, login):
    make_event(district.pairings[0], D(2027, 4, 8))
    make_event(district.pairings[3], D(2027, 4, 8), T(14, 0), T(17, 30))
    town = text(login(district.users.town_coordinator).get("/calendar/town/T1?month=2027-04"))
    cell = day_cell(town, D(2027, 4, 8))
    assert "东湖1村" in cell and "张明" in cell and "西山1村" not in cell
    other = text(login(district.users.admin).get("/calendar/town/T2?month=2027-04"))
    cell = day_cell(other, D(2027, 4, 8))
    assert "赵强" in cell and "14:00" in cell and "张明" not in cell


def test_the_district_month_counts_its_days_and_towns(district, login):
    """However many villages, the district's month counts (by day, by town) and leads into
    a town's or a village's month, which lists the events."""
    make_event(district.pairings[0], D(2027, 4, 8))
    make_event(district.pairings[3], D(2027, 4, 8), T(14, 0), T(17, 30))
    make_event(district.pairings[3], D(2027, 4, 9), status="cancelled")
    client = login(district.users.admin)
    whole = text(client.get("/calendar/?month=2027-04"))
    assert "District calendar" in whole and "2 events this month" in whole
    cell = day_cell(whole, D(2027, 4, 8))
    assert '<p class="day-count">2 events</p>' in cell and "张明" not in cell
    assert "day-count" not in day_cell(whole, D(2027, 4, 9))  # cancelled: not counted
    # counted on its district date, not on the UTC date it begins on (the 11th, 16:30)
    make_event(district.pairings[1], D(2027, 4, 12), T(0, 30), T(2, 0))
    whole = text(client.get("/calendar/?month=2027-04"))
    assert "day-count" not in day_cell(whole, D(2027, 4, 11))
    assert '<p class="day-count">1 event</p>' in day_cell(whole, D(2027, 4, 12))
    assert re.findall(r'href="/calendar/town/(T\d)\?month=2027-04">', whole) == ["T1", "T2"]
    agenda = text(client.get("/calendar/?month=2027-04&view=agenda"))
    assert re.findall(r'<li class="agenda-day[^>]*data-date="([\d-]+)"', agenda) == [
        "2027-04-08", "2027-04-12"]
    assert 'class="event ' not in agenda
    found = client.get("/calendar/find?q=西山1村&month=2027-04")
    assert found.status_code == 302
    assert found.headers["Location"].endswith("/calendar/village/T2V1?month=2027-04")
    several = text(client.get("/calendar/find?q=东湖&month=2027-04"))
    assert 'href="/calendar/town/T1?month=2027-04"' in several
    assert 'href="/calendar/village/T1V2?month=2027-04"' in several
    none = text(login(district.users.other_town_coordinator).get("/calendar/find?q=东湖"))
    assert "No town or village of your scope matches" in none and "/calendar/town/T1" not in none


def test_agenda_lists_the_days_with_events(district, login):
    make_event(district.pairings[0], D(2027, 4, 8))
    make_event(district.pairings[0], D(2027, 4, 20), T(14, 0), T(17, 30))
    html = text(login(district.users.lawyer).get("/calendar/?month=2027-04&view=agenda"))
    days = re.findall(r'<li class="agenda-day[^>]*data-date="([\d-]+)"', html)
    assert days == ["2027-04-08", "2027-04-20"]
    assert "month-grid" not in html and "2 events this month" in html


def test_htmx_navigation_swaps_the_calendar_fragment(district, login):
    client = login(district.users.lawyer)
    lawyer_id = district.lawyers[0].id
    response = client.get(f"/calendar/lawyer/{lawyer_id}?month=2027-04", headers=HX)
    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section id="calendar"')
    assert "HX-Request" in response.headers["Vary"]
    for month in ("2027-03", "2027-05"):
        url = f"/calendar/lawyer/{lawyer_id}?month={month}"
        link = re.search(rf'<a href="{re.escape(url)}" hx-get="{re.escape(url)}"([^>]*)>', html)
        assert link, f"no link to {month}"
        assert 'hx-target="#calendar"' in link.group(1) and 'hx-push-url="true"' in link.group(1)
    assert f'hx-get="/calendar/lawyer/{lawyer_id}?month=2027-04&amp;view=agenda"' in html
    assert 'hx-trigger="calendarChanged from:body"' in html
    full = client.get(f"/calendar/lawyer/{lawyer_id}?month=2027-04")
    assert "<html" in text(full) and "HX-Request" in full.headers["Vary"]


def test_bad_month_shows_this_month(district, login):
    client = login(district.users.admin)
    for value in ("2027-13", "nonsense", "1999-01", "2027-4"):
        response = client.get(f"/calendar/?month={value}")
        assert response.status_code == 200
        assert f'data-date="{clock.today().replace(day=1).isoformat()}"' in text(response), value


# --- who sees which calendar -----------------------------------------------------------------

def test_own_calendar_is_the_start_for_each_role(district, login):
    expect = {"lawyer": "Calendar of 张明", "village": "Calendar of 东湖1村",
              "town_coordinator": "Calendar of 东湖镇", "coordinator": "District calendar",
              "admin": "District calendar"}
    for role, heading in expect.items():
        html = text(login(getattr(district.users, role)).get("/calendar/"))
        assert f"<h1>{heading}</h1>" in html, role


def test_town_coordinator_cannot_open_another_towns_calendar(district, login):
    client = login(district.users.town_coordinator)
    assert client.get("/calendar/town/T1").status_code == 200
    assert client.get("/calendar/town/T2").status_code == 404
    assert client.get("/calendar/village/T2V1").status_code == 404
    assert client.get("/calendar/town/NOPE").status_code == 404


def test_town_coordinator_sees_only_their_towns_events_of_a_lawyer(district, login):
    # 赵强 works in town 2; an extra event of his in town 1 is visible to its coordinator
    other = district.pairings[3]
    make_event(other, D(2027, 4, 8))
    html = text(login(district.users.town_coordinator).get(
        f"/calendar/lawyer/{other.lawyer_id}?month=2027-04"))
    assert "西山1村" not in day_cell(html, D(2027, 4, 8))


def test_a_lawyer_cannot_open_another_lawyers_calendar(district, login):
    client = login(district.users.lawyer)
    assert client.get(f"/calendar/lawyer/{district.lawyers[0].id}").status_code == 200
    assert client.get(f"/calendar/lawyer/{district.lawyers[1].id}").status_code == 404
    assert client.get("/calendar/village/T1V1").status_code == 200  # their own village
    assert client.get("/calendar/village/T1V2").status_code == 404
    assert client.get("/calendar/town/T1").status_code == 403


def test_village_user_sees_their_village_only(district, login):
    make_event(district.pairings[0], D(2027, 4, 8))
    make_event(district.pairings[1], D(2027, 4, 9))
    client = login(district.users.village)
    html = text(client.get("/calendar/village/T1V1?month=2027-04"))
    assert "Calendar of 东湖1村" in html
    assert "张明" in day_cell(html, D(2027, 4, 8))  # the village's calendar names its lawyer
    assert "event" not in day_cell(html, D(2027, 4, 9)) and "东湖2村" not in html
    assert client.get("/calendar/village/T1V2").status_code == 404
    assert client.get(f"/calendar/lawyer/{district.lawyers[0].id}").status_code == 403


# --- an event and its forms ------------------------------------------------------------------

@pytest.fixture
def upcoming(district):
    """A session of 张明 at 东湖1村 two weeks ahead, and the next workday after it."""
    day = workday_from(clock.today() + dt.timedelta(days=14))
    return make_event(district.pairings[0], day), workday_from(day + dt.timedelta(days=1))


def test_event_page_shows_forms_to_editors_only(district, login, upcoming):
    event, _next_day = upcoming
    for role in ("lawyer", "town_coordinator", "admin"):
        html = text(login(getattr(district.users, role)).get(f"/calendar/events/{event.id}",
                                                             headers=HX))
        assert f'hx-post="/calendar/events/{event.id}/move"' in html, role
        assert f'hx-post="/calendar/events/{event.id}/held"' in html
        assert html.count("hx-confirm=") == 1  # cancelling asks first
    html = text(login(district.users.village).get(f"/calendar/events/{event.id}", headers=HX))
    assert "东湖1村" in html and "张明" in html and "<form" not in html
    for role in ("other_town_coordinator",):
        assert login(getattr(district.users, role)).get(
            f"/calendar/events/{event.id}").status_code == 404
    other_lawyer = create_user("lawyer-2", PASSWORD, "lawyer", lawyer=district.lawyers[1])
    assert login(other_lawyer).get(f"/calendar/events/{event.id}").status_code == 404


def test_move_to_the_afternoon_of_another_day(district, login, upcoming):
    event, next_day = upcoming
    client = login(district.users.lawyer)
    response = client.post(f"/calendar/events/{event.id}/move", headers=HX,
                           data={"move-day": next_day.isoformat(), "move-half_day": "pm"})
    assert response.status_code == 200, text(response)
    assert response.headers["HX-Trigger"] == "calendarChanged"
    event = Event.get_by_id(event.id)
    assert event.starts_at == clock.utc_from_local(next_day, T(14, 0))
    assert event.ends_at == clock.utc_from_local(next_day, T(17, 30))
    assert event.sequence == 1
    assert f"Moved to {next_day.isoformat()} at 14:00." in text(response)
    # the refreshed calendar shows it there
    html = text(client.get(f"/calendar/?month={next_day:%Y-%m}", headers=HX))
    assert f'id="calendar-event-{event.id}"' in day_cell(html, next_day)


def test_move_with_explicit_times(district, login, upcoming):
    event, next_day = upcoming
    response = login(district.users.town_coordinator).post(
        f"/calendar/events/{event.id}/move", headers=HX,
        data={"move-day": next_day.isoformat(), "move-half_day": "custom",
              "move-start": "09:00", "move-end": "12:30"})
    assert response.status_code == 200, text(response)
    assert Event.get_by_id(event.id).starts_at == clock.utc_from_local(next_day, T(9, 0))


def test_move_to_a_weekend_is_refused_with_422_and_nothing_written(district, login, upcoming):
    event, _next_day = upcoming
    saturday = weekend_after(clock.today() + dt.timedelta(days=14))
    before = events_snapshot()
    response = login(district.users.lawyer).post(
        f"/calendar/events/{event.id}/move", headers=HX,
        data={"move-day": saturday.isoformat(), "move-half_day": "am"})
    html = text(response)
    assert response.status_code == 422 and "HX-Trigger" not in response.headers
    assert f"{saturday.isoformat()} is a weekend day and not a make-up workday." in html
    assert 'class="field-error"' in html or 'class="error"' in html
    assert events_snapshot() == before


def test_move_to_a_day_off_names_the_holiday(district, login, upcoming):
    event, next_day = upcoming
    workdays.sync_official_holidays([next_day.year])
    Holiday.delete().where(Holiday.day == next_day).execute()
    Holiday.create(day=next_day, kind="off", name="区庆", source="manual")
    before = events_snapshot()
    response = login(district.users.lawyer).post(
        f"/calendar/events/{event.id}/move", headers=HX,
        data={"move-day": next_day.isoformat(), "move-half_day": "am"})
    assert response.status_code == 422
    assert f"{next_day.isoformat()} is a day off (区庆)." in text(response)
    assert events_snapshot() == before


def test_double_booking_is_refused(district, login, upcoming):
    event, next_day = upcoming
    # 张明 is already at another village that morning
    busy = make_event(district.pairings[0], next_day)
    busy.village = district.villages[1]
    busy.save()
    before = events_snapshot()
    response = login(district.users.lawyer).post(
        f"/calendar/events/{event.id}/move", headers=HX,
        data={"move-day": next_day.isoformat(), "move-half_day": "am"})
    assert response.status_code == 422
    assert "张明 is already booked from" in text(response)
    assert events_snapshot() == before


def test_move_form_errors_stay_next_to_the_form(district, login, upcoming):
    event, next_day = upcoming
    before = events_snapshot()
    client = login(district.users.lawyer)
    response = client.post(f"/calendar/events/{event.id}/move", headers=HX,
                           data={"move-day": next_day.isoformat(), "move-half_day": "custom"})
    assert response.status_code == 422
    assert "Choose morning or afternoon, or enter both times." in text(response)
    response = client.post(f"/calendar/events/{event.id}/move", headers=HX,
                           data={"move-day": "someday", "move-half_day": "am"})
    assert response.status_code == 422 and 'id="move-day-error"' in text(response)
    assert events_snapshot() == before


def test_record_that_a_past_session_took_place(district, login):
    day = workday_from(clock.today() - dt.timedelta(days=10), step=-1)
    event = make_event(district.pairings[0], day)
    response = login(district.users.lawyer).post(
        f"/calendar/events/{event.id}/held", headers=HX,
        data={"held-day": day.isoformat(), "held-start": "08:40", "held-end": "12:15"})
    assert response.status_code == 200, text(response)
    assert response.headers["HX-Trigger"] == "calendarChanged"
    event = Event.get_by_id(event.id)
    assert event.status == "held"
    assert event.held_start == clock.utc_from_local(day, T(8, 40))
    assert event.held_end == clock.utc_from_local(day, T(12, 15))
    assert "08:40" in text(response) and "Held" in text(response)


def test_a_session_shorter_than_half_a_day_is_refused(district, login):
    day = workday_from(clock.today() - dt.timedelta(days=10), step=-1)
    event = make_event(district.pairings[0], day)
    before = events_snapshot()
    response = login(district.users.lawyer).post(
        f"/calendar/events/{event.id}/held", headers=HX,
        data={"held-day": day.isoformat(), "held-start": "09:00", "held-end": "10:30"})
    assert response.status_code == 422
    assert ("An on-site session must last at least 3.5 hours; this one lasted 1:30."
            in text(response))
    assert events_snapshot() == before


def test_cancel_with_a_reason(district, login, upcoming):
    event, _next_day = upcoming
    client = login(district.users.town_coordinator)
    before = events_snapshot()
    response = client.post(f"/calendar/events/{event.id}/cancel", headers=HX,
                           data={"cancel-reason": "  "})
    assert response.status_code == 422 and "Say why the event is cancelled." in text(response)
    assert events_snapshot() == before
    response = client.post(f"/calendar/events/{event.id}/cancel", headers=HX,
                           data={"cancel-reason": "村委会换届选举"})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "calendarChanged"
    event = Event.get_by_id(event.id)
    assert (event.status, event.cancel_reason, event.sequence) == ("cancelled", "村委会换届选举", 1)
    html = text(response)
    assert "村委会换届选举" in html and "/move" not in html and "/cancel" not in html
    # a coordinator can put it back or make it up
    assert f"/calendar/events/{event.id}/reinstate" in html
    assert f"/calendar/events/{event.id}/makeup" in html


def test_a_coordinator_reinstates_a_cancelled_event(district, login, upcoming):
    event, _next_day = upcoming
    client = login(district.users.town_coordinator)
    client.post(f"/calendar/events/{event.id}/cancel", data={"cancel-reason": "暴雨"})
    lawyer = login(district.users.lawyer)
    assert lawyer.post(f"/calendar/events/{event.id}/reinstate", headers=HX).status_code == 403
    client = login(district.users.town_coordinator)
    response = client.post(f"/calendar/events/{event.id}/reinstate", headers=HX)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "calendarChanged"
    event = Event.get_by_id(event.id)
    assert (event.status, event.cancel_reason, event.sequence) == ("planned", "", 2)


def test_a_coordinator_adds_a_make_up_for_a_cancelled_event(district, login, upcoming):
    event, next_day = upcoming
    client = login(district.users.town_coordinator)
    client.post(f"/calendar/events/{event.id}/cancel", data={"cancel-reason": "暴雨"})
    page = text(client.get(f"/calendar/events/{event.id}?open=makeup", headers=HX))
    assert re.search(r"<details[^>]*\bopen\b[^>]*>\s*<summary>Add a make-up", page)
    before = events_snapshot()
    day_off = next(d for d in (next_day + dt.timedelta(days=n) for n in range(-20, 20))
                   if d.year == next_day.year and not workdays.is_workday(d))
    response = client.post(f"/calendar/events/{event.id}/makeup", headers=HX, data={
        "makeup-day": day_off.isoformat(), "makeup-start": "09:00", "makeup-end": "12:30"})
    assert response.status_code == 422 and day_off.isoformat() in text(response)
    assert events_snapshot() == before
    response = client.post(f"/calendar/events/{event.id}/makeup", headers=HX, data={
        "makeup-day": next_day.isoformat(), "makeup-start": "14:00", "makeup-end": "17:30"})
    assert response.status_code == 200, text(response)
    makeup = Event.get(Event.makeup_for == event.id)
    assert (makeup.kind, makeup.lawyer_id, makeup.placement) == (
        event.kind, event.lawyer_id, "makeup")
    assert clock.to_local(makeup.starts_at).date() == next_day
    assert f"/calendar/events/{makeup.id}" in text(client.get(f"/calendar/events/{event.id}"))


def test_actions_without_htmx_redirect_back_to_the_event(district, login, upcoming):
    event, _next_day = upcoming
    client = login(district.users.lawyer)
    response = client.post(f"/calendar/events/{event.id}/cancel",
                           data={"cancel-reason": "生病"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/calendar/events/{event.id}"
    assert "The event is cancelled." in text(client.get(f"/calendar/events/{event.id}"))


def test_who_may_change_an_event(district, login, upcoming):
    event, next_day = upcoming
    before = events_snapshot()
    data = {"move-day": next_day.isoformat(), "move-half_day": "pm"}
    url = f"/calendar/events/{event.id}/move"
    assert login(district.users.village).post(url, data=data).status_code == 403
    assert login(district.users.other_town_coordinator).post(url, data=data).status_code == 404
    other_lawyer = create_user("lawyer-2", PASSWORD, "lawyer", lawyer=district.lawyers[1])
    assert login(other_lawyer).post(url, data=data).status_code == 404
    assert login(district.users.admin).post("/calendar/events/99999/move",
                                            data=data).status_code == 404
    assert events_snapshot() == before


# --- quota -----------------------------------------------------------------------------------

def quota_cells(html: str, pairing_id: int) -> list[str]:
    row = re.search(rf'<tr id="quota-{pairing_id}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    return re.findall(r'class="num">(\d+)<', row)


def test_quota_counts_match_the_planned_events(district, login):
    planner.plan_year(2027)
    pairing = district.pairings[0]
    held = Event.select().where((Event.pairing == pairing.id) & (Event.kind == "session")).first()
    held.status = "held"
    held.save()
    response = login(district.users.coordinator).get("/calendar/quota?year=2027")
    html = text(response)
    assert response.status_code == 200
    for p in district.pairings:
        def count(kind, *statuses):
            return Event.select().where((Event.pairing == p.id) & (Event.kind == kind)
                                        & Event.status.in_(statuses)).count()
        sessions = count("session", "planned", "held")
        publicity = count("publicity", "planned", "held")
        held_sessions = count("session", "held")
        assert (sessions, publicity) == (12, 2)
        assert quota_cells(html, p.id) == [str(n) for n in (
            12, sessions, held_sessions, 12 - held_sessions, 2, publicity, 0, 2)]
    assert 'id="total-sessions">48 / 48<' in html and 'id="total-publicity">8 / 8<' in html
    assert "Every quota is planned" in html
    assert "no official holiday data for 2027" in html  # planned on an estimate


def test_quota_reports_partial_terms_and_shortfalls(district, login):
    from core.pairings import pair
    late = pair(None, lawyer=district.lawyers[1], village=district.villages[5],
                term_start=D(2027, 7, 1), term_end=D(2029, 6, 30))
    html = text(login(district.users.admin).get("/calendar/quota?year=2027"))
    row = re.search(rf'<tr id="quota-{late.id}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert ("The pairing holds 6 months of 2027: 6 sessions and 1 publicity events are "
            "expected.") in row
    assert quota_cells(html, late.id)[:2] == ["6", "0"]
    assert "Not planned yet: run the planning of this year." in row
    assert 'class="shortfall"' in html


def test_quota_search_town_filter_and_pages(district, login, app):
    app.config["PER_PAGE"] = 2
    client = login(district.users.admin)
    html = text(client.get("/calendar/quota?year=2027"))
    assert html.count('<tr id="quota-') == 2 and "Page 1 of 2" in html
    html = text(client.get("/calendar/quota?year=2027&page=2", headers=HX))
    assert html.count('<tr id="quota-') == 2 and "<html" not in html
    html = text(client.get("/calendar/quota?year=2027&town=T2"))
    assert re.findall(r'<tr id="quota-(\d+)"', html) == [str(district.pairings[3].id)]
    assert 'id="total-sessions">0 / 12<' in html
    html = text(client.get("/calendar/quota?year=2027&q=李华"))
    assert re.findall(r'<tr id="quota-(\d+)"', html) == [str(district.pairings[1].id)]


def test_quota_works_out_only_the_villages_of_its_page(district, login, app, monkeypatch):
    """A district of thousands of pairings: the page reads its pairings in SQL, works out
    the quota of its own villages only, and asks for a town before it totals them."""
    from web import calendar as calendar_views
    planner.plan_year(2027)
    asked = []
    real = planner.quota_status

    def quota_status(user, year, village_ids=None):
        asked.append(None if village_ids is None else set(village_ids))
        return real(user, year, village_ids)
    monkeypatch.setattr(planner, "quota_status", quota_status)
    monkeypatch.setattr(calendar_views, "QUOTA_TOTALS_UP_TO", 3)
    app.config["PER_PAGE"] = 2
    client = login(district.users.admin)
    html = text(client.get("/calendar/quota?year=2027&sort=lawyer&dir=desc"))
    ids = re.findall(r'<tr id="quota-(\d+)"', html)
    shown = [p for p in district.pairings if str(p.id) in ids]
    assert len(ids) == 2 and asked == [{p.village_id for p in shown}]  # the page's villages
    assert quota_cells(html, shown[0].id)[:2] == ["12", "12"]
    assert "Choose a town to see the totals of its pairings." in html
    assert "Page 1 of 2" in html
    html = text(client.get("/calendar/quota?year=2027&town=T1"))  # 3 pairings: totalled
    assert 'id="total-sessions">36 / 36<' in html
    asked.clear()
    client.get("/calendar/quota?year=2027&sort=held")  # a computed figure: every row
    assert asked == [None]


def test_quota_is_for_coordinators_in_their_scope_and_lawyers_of_their_own(district, login):
    html = text(login(district.users.town_coordinator).get("/calendar/quota?year=2027"))
    assert len(re.findall(r'<tr id="quota-', html)) == 3 and "西山1村" not in html
    own = text(login(district.users.lawyer).get("/calendar/quota?year=2027"))
    assert re.findall(r'<tr id="quota-(\d+)"', own) == [str(district.pairings[0].id)]
    assert "东湖2村" not in own and "Schedule a make-up" not in own
    assert login(district.users.village).get("/calendar/quota").status_code == 403


# --- planning --------------------------------------------------------------------------------

def test_plan_page_starts_a_run_and_shows_its_summary(district, login):
    client = login(district.users.coordinator)
    page = text(client.get("/calendar/plan?year=2027"))
    assert 'hx-post="/calendar/plan"' in page and 'hx-target="#plan-progress"' in page
    assert "no official holiday data for 2027" in page
    response = client.post("/calendar/plan", data={"year": "2027", "town": ""}, headers=HX)
    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    run = PlanRun.select().order_by(PlanRun.id.desc()).first()
    assert run.status == "done" and run.year == 2027  # huey runs at once in tests
    assert f'id="plan-run-{run.id}"' in html and "every 1s" not in html
    assert re.search(r"Events created</dt><dd>56<", html)
    assert Event.select().count() == 56
    assert "Every pairing&#39;s quota is planned." in html or "quota is planned" in html
    listed = text(client.get("/calendar/plan"))
    assert f'href="/calendar/plan/runs/{run.id}"' in listed


@contextmanager
def planning_in_progress():
    """A planning holding the planning lock from its own thread and connection, as a
    consumer's would (a run "running" without it is one whose consumer died)."""
    from core.db import db
    from core.locks import planning_lock
    held, finish = threading.Event(), threading.Event()

    def hold():
        try:
            with planning_lock():
                held.set()
                finish.wait(30)
        finally:
            db.close()
    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        yield
    finally:
        finish.set()
        holder.join()


def test_progress_fragment_polls_until_the_run_is_done(district, login):
    run = PlanRun.create(year=2027, status="running", done=1, total=4)
    client = login(district.users.admin)
    with planning_in_progress():
        html = text(client.get(f"/calendar/plan/runs/{run.id}", headers=HX))
    assert 'hx-trigger="every 1s"' in html and 'value="1"' in html and 'max="4"' in html
    assert "1 of 4 villages" in html  # the planner counts villages as it writes them
    assert f'hx-get="/calendar/plan/runs/{run.id}"' in html
    run.status, run.done = "done", 4
    run.summary = {"pairings": 4, "created": 3, "moved": 1, "cancelled": 2, "shortfalls": [
        {"pairing": district.pairings[0].id, "village": "东湖1村", "kind": "session",
         "required": 12, "planned": 11, "reason": planner.SHORT_BOOKED}]}
    run.save()
    html = text(client.get(f"/calendar/plan/runs/{run.id}", headers=HX))
    assert "every 1s" not in html and "Done" in html
    assert re.search(r"Events moved</dt><dd>1<", html) and "东湖1村" in html
    assert "The lawyer has no free half-day left in some months." in html


def test_a_run_left_running_by_a_dead_consumer_shows_as_stopped(district, login):
    run = PlanRun.create(year=2027, status="running", done=1, total=4)
    client = login(district.users.admin)
    html = text(client.get(f"/calendar/plan/runs/{run.id}", headers=HX))
    assert "every 1s" not in html and "Planning stopped before the end" in html
    assert "The job consumer stopped while planning" in html
    assert PlanRun.get_by_id(run.id).status == "failed"


def test_a_town_coordinator_plans_their_town_only(district, login):
    client = login(district.users.town_coordinator)
    page = text(client.get("/calendar/plan"))
    assert '<option value="T1">' in page and 'value="T2"' not in page
    assert "All towns" not in page.split('name="town"')[1].split("</select>")[0]
    assert client.post("/calendar/plan", data={"year": "2027", "town": "T2"}).status_code == 403
    assert client.post("/calendar/plan", data={"year": "2027", "town": ""}).status_code == 403
    assert PlanRun.select().count() == 0
    response = client.post("/calendar/plan", data={"year": "2027", "town": "T1"}, headers=HX)
    assert response.status_code == 200
    run = PlanRun.get()
    assert run.town_id == district.towns[0].id
    assert Event.select().where(Event.village == district.villages[3].id).count() == 0
    district_run = PlanRun.create(year=2027, status="done")
    assert client.get(f"/calendar/plan/runs/{district_run.id}").status_code == 404


def test_planning_is_for_managers(district, login):
    for role in ("lawyer", "village"):
        client = login(getattr(district.users, role))
        assert client.get("/calendar/plan").status_code == 403
        assert client.post("/calendar/plan", data={"year": "2027"}).status_code == 403
    assert PlanRun.select().count() == 0


# --- holidays --------------------------------------------------------------------------------

def test_holidays_list_shows_the_year_with_its_source(district, login):
    html = text(login(district.users.coordinator).get("/calendar/holidays?year=2026"))
    assert "2026-10-01" in html and "国庆节" in html and "Official notice" in html
    assert "no official holiday data" not in html
    assert "<form" not in html.split('id="holidays"')[1]  # coordinators read only
    html = text(login(district.users.coordinator).get("/calendar/holidays?year=2027"))
    assert "no official holiday data for 2027" in html and "Estimate" in html


def test_admin_adds_and_deletes_a_day(district, login):
    client = login(district.users.admin)
    response = client.post("/calendar/holidays", headers=HX, data={
        "add-day": "2027-03-12", "add-kind": "off", "add-name": "区庆"})
    assert response.status_code == 200, text(response)
    assert response.headers["HX-Trigger"] == "holidaysChanged"
    row = Holiday.get(Holiday.day == D(2027, 3, 12))
    assert (row.kind, row.name, row.source) == ("off", "区庆", "manual")
    assert "区庆" in text(response) and "/calendar/holidays/2027-03-12/delete" in text(response)
    response = client.post("/calendar/holidays/2027-03-12/delete", headers=HX)
    assert response.status_code == 200
    assert Holiday.get_or_none(Holiday.day == D(2027, 3, 12)) is None
    assert client.post("/calendar/holidays/2027-03-13/delete").status_code == 404
    assert client.post("/calendar/holidays/not-a-day/delete").status_code == 404


def test_adding_a_bad_day_is_refused_with_422(district, login):
    client = login(district.users.admin)
    response = client.post("/calendar/holidays", headers=HX, data={
        "add-day": "", "add-kind": "off", "add-name": "x"})
    assert response.status_code == 422 and 'id="add-day-error"' in text(response)
    response = client.post("/calendar/holidays", headers=HX, data={
        "add-day": "2027-03-12", "add-kind": "maybe"})
    assert response.status_code == 422 and 'id="add-kind-error"' in text(response)
    response = client.post("/calendar/holidays", headers=HX, data={
        "add-day": "1999-03-12", "add-kind": "off"})
    assert response.status_code == 422
    # next to the form, on this year's list
    assert '<p class="error" role="alert">The year must be between 2000 and 2100.</p>' in text(
        response)
    assert Holiday.select().where(Holiday.source == "manual").count() == 0


def test_coordinator_may_not_change_holidays(district, login):
    client = login(district.users.coordinator)
    workdays.sync_official_holidays([2026])
    before = Holiday.select().count()
    assert client.post("/calendar/holidays", data={
        "add-day": "2027-03-12", "add-kind": "off"}).status_code == 403
    assert client.post("/calendar/holidays/2026-10-01/delete").status_code == 403
    assert client.post("/calendar/holidays/import", data={}).status_code == 403
    assert Holiday.select().count() == before


def test_admin_imports_a_notice(district, login):
    client = login(district.users.admin)
    body = "date,kind,name\n2030-01-01,off,元旦\n2030-02-02,workday,调休补班\n".encode()
    response = client.post("/calendar/holidays/import?year=2030", headers=HX,
                           data={"import-file": (io.BytesIO(body), "notice.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, text(response)
    assert "2 days were imported." in text(response)
    assert Holiday.get(Holiday.day == D(2030, 2, 2)).kind == "workday"
    assert "no official holiday data for 2030" not in text(response)


def test_a_bad_import_names_the_line_and_writes_nothing(district, login):
    client = login(district.users.admin)
    workdays.sync_official_holidays([2030])
    before = [tuple(r) for r in Holiday.select().order_by(Holiday.day).tuples()]
    body = "2030-01-01,off,元旦\n2030-13-01,off,不存在\n".encode()
    response = client.post("/calendar/holidays/import?year=2030", headers=HX,
                           data={"import-file": (io.BytesIO(body), "notice.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Line 2: 2030-13-01 is not a date (YYYY-MM-DD)." in text(response)
    response = client.post("/calendar/holidays/import?year=2030", headers=HX, data={},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a CSV file." in text(response)
    assert [tuple(r) for r in Holiday.select().order_by(Holiday.day).tuples()] == before


def test_nav_links_to_the_calendar_for_every_role(district, login):
    for role in ("admin", "coordinator", "lawyer", "village"):
        html = text(login(getattr(district.users, role)).get("/villages/"))
        assert '<a href="/calendar/">Calendar</a>' in html, role


def test_a_busy_day_of_a_town_links_to_the_agenda(district, login):
    for hour in range(8, 17):
        make_event(district.pairings[hour % 3], D(2027, 4, 8), T(hour, 0), T(hour, 30))
    html = text(login(district.users.admin).get("/calendar/town/T1?month=2027-04"))
    cell = day_cell(html, D(2027, 4, 8))
    assert cell.count('class="event ') == 6
    assert 'href="/calendar/town/T1?month=2027-04&amp;view=agenda#day-2027-04-08">3 more</a>' in cell
    agenda = text(login(district.users.admin).get("/calendar/town/T1?month=2027-04&view=agenda"))
    assert agenda.count('class="event ') == 9 and 'id="day-2027-04-08"' in agenda


def test_a_held_event_can_only_have_its_times_corrected(district, login):
    day = workday_from(clock.today() - dt.timedelta(days=10), step=-1)
    event = make_event(district.pairings[0], day, status="held",
                       held_start=clock.utc_from_local(day, T(8, 45)),
                       held_end=clock.utc_from_local(day, T(12, 30)))
    client = login(district.users.lawyer)
    html = text(client.get(f"/calendar/events/{event.id}", headers=HX))
    assert f"/calendar/events/{event.id}/held" in html and 'value="08:45"' in html
    assert "/move" not in html and "/cancel" not in html
    before = events_snapshot()
    response = client.post(f"/calendar/events/{event.id}/cancel", headers=HX,
                           data={"cancel-reason": "记错了"})
    assert response.status_code == 422
    assert "This event took place; it cannot be cancelled." in text(response)
    assert events_snapshot() == before
