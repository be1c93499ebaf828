"""Calendar feeds (core.feeds): what a subscribed calendar app reads, checked with three
independent readers; tokens; publishing into snapshots; the ``feed-token`` command."""
import datetime as dt
import hashlib
import logging
import re
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from ical.calendar_stream import IcsCalendarStream

from core import clock, feeds
from core.config import ConfigError, FeedAlarm, load_settings, parse_feed_alarms
from core.errors import PermissionDenied, ValidationError
from core.models import Event, FeedSnapshot, FeedToken, Lawyer, WechatGroup, WechatGroupMember
from core.users import create_user
from tests import cli_support
from tests.factories import PASSWORD
from tests.feed_helpers import SH, add_event, at, calendar_district, local_day, utc
from tests.planning_support import now  # noqa: F401 (fixture)
from tests.planning_support import published  # noqa: F401 (fixture)

SHANGHAI = ZoneInfo(SH)


@pytest.fixture
def cal(district):
    return calendar_district(district)


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def vevents(body: bytes) -> dict:
    return {str(e["UID"]): e for e in parse(body).walk("VEVENT")}


def lines(body: bytes) -> list[bytes]:
    return body.split(b"\r\n")


# --- the three readers agree ----------------------------------------------------------------

def test_lawyer_feed_means_the_same_in_three_readers(cal):
    body = feeds.render_feed(f"lawyer:{cal.lawyer.id}")
    e = cal.events
    mine = {e.session, e.afternoon, e.publicity, e.cancelled, e.task}
    expected = {ev.uid: (at_local(ev.starts_at), at_local(ev.ends_at)) for ev in mine}
    live = {ev.uid for ev in mine - {e.cancelled}}

    # icalendar
    found = vevents(body)
    assert set(found) == set(expected)
    for uid, (start, end) in expected.items():
        assert found[uid].start == start and found[uid].end == end
        assert str(found[uid].start.tzinfo) == SH
        assert found[uid]["DTSTART"].params["TZID"] == SH
    assert found[e.cancelled.uid]["STATUS"] == "CANCELLED"
    assert {u for u, v in found.items() if v["STATUS"] == "CONFIRMED"} == live

    # ical
    calendar = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    by_uid = {event.uid: event for event in calendar.events}
    assert set(by_uid) == set(expected)
    for uid, (start, end) in expected.items():
        assert by_uid[uid].dtstart == start and by_uid[uid].dtend == end
        assert by_uid[uid].dtstart.utcoffset() == dt.timedelta(hours=8)
    assert by_uid[e.cancelled.uid].status.value == "CANCELLED"
    assert {u for u, v in by_uid.items() if v.status.value == "CONFIRMED"} == live
    assert by_uid[e.session.uid].summary == f"坐班 · {cal.village.name}"

    # recurring-ical-events (returns cancelled events too: filtered here, as a client would)
    occurrences = recurring_ical_events.of(parse(body)).between(
        dt.datetime.now(SHANGHAI) - dt.timedelta(days=1),
        dt.datetime.now(SHANGHAI) + dt.timedelta(days=60))
    assert {str(o["UID"]) for o in occurrences} == set(expected)
    happening = {str(o["UID"]): o for o in occurrences if o.get("STATUS") != "CANCELLED"}
    assert set(happening) == live
    for uid in live:
        assert happening[uid]["DTSTART"].dt == expected[uid][0]
        assert happening[uid]["DTSTART"].dt.tzinfo.key == SH


def at_local(instant: dt.datetime) -> dt.datetime:
    return instant.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI)


def test_feed_declares_calendar_properties_and_a_compact_zone(cal):
    body = feeds.render_feed(f"lawyer:{cal.lawyer.id}")
    text = body.decode("utf-8")
    for line in ("BEGIN:VCALENDAR", "VERSION:2.0", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
                 f"X-WR-CALNAME:结对律师 · {cal.lawyer.name}", f"X-WR-TIMEZONE:{SH}",
                 "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H"):
        assert line in lines(body) or line.encode() in lines(body), line
    assert re.search(r"^PRODID:-//Jiedui//", text, re.M)
    zones = parse(body).walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == [SH]
    # Compact: no transition history before 2000 (China has had no DST since 1991).
    assert len(zones[0].subcomponents) == 1
    assert zones[0].subcomponents[0]["DTSTART"].dt.year == 2000
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")


def test_event_properties_name_kind_place_and_contacts(cal):
    e = cal.events
    e.session.updated_at = dt.datetime(2026, 1, 5, 6, 7, 8)
    e.session.save()
    found = vevents(feeds.render_feed(f"lawyer:{cal.lawyer.id}"))
    session = found[e.session.uid]
    assert session["SUMMARY"] == f"坐班 · {cal.village.name}"
    # a place a map app finds: district, town and village (the village has no address)
    assert session["LOCATION"] == f"示范区{cal.town.name}{cal.village.name}"
    assert session["URL"] == f"http://127.0.0.1:5000/calendar/events/{e.session.id}"
    assert session.categories == ["坐班"]
    assert session["SEQUENCE"] == 2
    assert session["LAST-MODIFIED"].dt == dt.datetime(2026, 1, 5, 6, 7, 8, tzinfo=dt.timezone.utc)
    assert session["DTSTAMP"].dt == dt.datetime(2026, 1, 5, 6, 7, 8, tzinfo=dt.timezone.utc)
    description = str(session["DESCRIPTION"])
    assert cal.town.judicial_office in description
    assert "0571-88886666" in description
    assert cal.group.name == f"{cal.village.name}结对律师服务微信群"
    assert cal.group.name in description
    # the village side of the group, by role in the plan's order, with their phones, then
    # the event's page
    lines = description.splitlines()
    assert lines[-5:] == ["村(居)两委：王主任 13800001111", "调委会：赵调解 13800002222",
                          "党员：孙党员", "", str(session["URL"])]
    assert cal.lawyer.name not in description  # the lawyer's own feed: not its own contact

    assert found[e.publicity.uid].categories == ["法制宣传"]
    assert found[e.publicity.uid]["SUMMARY"] == f"法制宣传 · {cal.village.name}"
    cancelled = found[e.cancelled.uid]
    assert cancelled["SEQUENCE"] == 1 and "村委会换届选举" in str(cancelled["DESCRIPTION"])


def test_a_village_address_is_the_location(cal):
    cal.village.address = "上海市示范区东湖镇东湖1村村民委员会"
    cal.village.save()
    for key in (f"lawyer:{cal.lawyer.id}", f"town:{cal.town.code}", "district",
                f"village:{cal.village.code}"):
        found = vevents(feeds.render_feed(key))[cal.events.session.uid]
        assert found["LOCATION"] == "上海市示范区东湖镇东湖1村村民委员会", key


def test_the_public_feed_links_to_the_village_page(cal, app):
    found = vevents(feeds.render_feed(f"village:{cal.village.code}"))
    assert {str(event["URL"]) for event in found.values()} == {
        f"http://127.0.0.1:5000/v/{cal.village.code}"}
    with app.test_request_context():  # the paths the feeds link to are the web's routes
        from flask import url_for
        assert url_for("calendar.event", event_id=7) == feeds.EVENT_PATH.format(id=7)
        assert url_for("public.village", code="T1V1") == feeds.VILLAGE_PATH.format(code="T1V1")
        assert url_for("feeds.village_feed", code="T1V1") == feeds.VILLAGE_FEED_PATH.format(
            code="T1V1")


def test_a_task_without_its_task_row_shows_neither_title_nor_description(cal):
    task = vevents(feeds.render_feed(f"lawyer:{cal.lawyer.id}"))[cal.events.task.uid]
    assert task.categories == ["项目任务"]
    assert task["SUMMARY"] == f"项目任务 · {cal.village.name}"
    assert "走访家庭" not in str(task["SUMMARY"])  # the event's title
    assert "李某某" not in str(task["DESCRIPTION"])
    assert "13912345678" not in str(task["DESCRIPTION"])


def test_held_session_shows_the_recorded_times(cal):
    session = cal.events.session
    start = at(local_day(10), 8, 45)
    session.status, session.held_start = "held", utc(start)
    session.held_end = utc(start + dt.timedelta(hours=4))
    session.save()
    found = vevents(feeds.render_feed(f"lawyer:{cal.lawyer.id}"))[session.uid]
    assert found.start == start and found.end == start + dt.timedelta(hours=4)
    assert found["STATUS"] == "CONFIRMED" and not found.walk("VALARM")


# --- alarms ----------------------------------------------------------------------------------

def triggers(event) -> list[dt.timedelta]:
    return sorted(alarm["TRIGGER"].dt for alarm in event.walk("VALARM"))


def test_default_alarms_the_evening_before_and_an_hour_before(cal):
    found = vevents(feeds.render_feed(f"lawyer:{cal.lawyer.id}"))
    # 08:30: the day before at 18:00 is 14 h 30 min earlier.
    assert triggers(found[cal.events.session.uid]) == [-dt.timedelta(hours=14, minutes=30),
                                                       -dt.timedelta(hours=1)]
    assert triggers(found[cal.events.afternoon.uid]) == [-dt.timedelta(hours=20),
                                                         -dt.timedelta(hours=1)]
    alarm = found[cal.events.session.uid].walk("VALARM")[0]
    assert alarm["ACTION"] == "DISPLAY" and alarm["DESCRIPTION"] == f"坐班 · {cal.village.name}"
    assert triggers(found[cal.events.cancelled.uid]) == []


def test_coordinator_and_public_feeds_carry_no_alarms(cal):
    for key in (f"town:{cal.town.code}", "district", f"village:{cal.village.code}"):
        assert b"BEGIN:VALARM" not in feeds.render_feed(key), key


def test_alarms_follow_the_setting(cal, monkeypatch):
    monkeypatch.setenv("JIEDUI_FEED_ALARMS", "-PT30M, -P2D@09:00")
    found = vevents(feeds.render_feed(f"lawyer:{cal.lawyer.id}"))
    assert triggers(found[cal.events.session.uid]) == [
        -dt.timedelta(days=2) + dt.timedelta(minutes=30), -dt.timedelta(minutes=30)]
    monkeypatch.setenv("JIEDUI_FEED_ALARMS", "")
    assert b"BEGIN:VALARM" not in feeds.render_feed(f"lawyer:{cal.lawyer.id}")


def test_alarm_setting_is_parsed_with_clear_errors():
    assert parse_feed_alarms("-P1D@18:00,-PT1H") == (
        FeedAlarm(-dt.timedelta(days=1), dt.time(18, 0)), FeedAlarm(-dt.timedelta(hours=1)))
    assert parse_feed_alarms(" ") == ()
    assert load_settings({"JIEDUI_INSTANCE": load_settings().instance}).feed_alarms == (
        FeedAlarm(-dt.timedelta(days=1), dt.time(18, 0)), FeedAlarm(-dt.timedelta(hours=1)))
    for bad, says in (("1 hour", "is not a duration"), ("PT1H", "is after the start"),
                      ("-P1D@25:00", "clock time HH:MM"), ("-PT2H@18:00", "whole days"),
                      ("-P", "is not a duration")):
        with pytest.raises(ConfigError, match=f"JIEDUI_FEED_ALARMS: .*{says}"):
            parse_feed_alarms(bad)
    with pytest.raises(ConfigError, match="JIEDUI_FEED_ALARMS"):
        load_settings({"JIEDUI_INSTANCE": str(load_settings().instance),
                       "JIEDUI_FEED_ALARMS": "tomorrow"})


# --- text, window ----------------------------------------------------------------------------

def test_long_chinese_text_is_folded_without_breaking_characters(cal):
    long_text = "结对律师在村委会坐班，解答村民关于土地承包、婚姻家庭、劳动争议的法律问题。" * 8
    cal.events.session.description = long_text
    cal.events.session.save()
    body = feeds.render_feed(f"lawyer:{cal.lawyer.id}")
    for line in lines(body):
        assert len(line) <= 75, line
        line.decode("utf-8")  # each physical line is whole UTF-8: no character was split
    assert any(line.startswith(b" ") for line in lines(body))  # it was folded
    uid = cal.events.session.uid
    assert long_text in str(vevents(body)[uid]["DESCRIPTION"])
    ical_event = {e.uid: e for e in IcsCalendarStream.calendar_from_ics(body.decode()).events}[uid]
    assert long_text in ical_event.description
    occurrence = [o for o in recurring_ical_events.of(parse(body)).at(local_day(10))
                  if str(o["UID"]) == uid][0]
    assert long_text in str(occurrence["DESCRIPTION"])


def test_window_is_90_days_back_to_400_ahead_and_cancellations_stay_30_days(cal):
    p = cal.pairing
    now = clock.now_utc()
    inside = [add_event(p, start=at(local_day(-89), 9)), add_event(p, start=at(local_day(399), 9))]
    outside = [add_event(p, start=at(local_day(-92), 9)), add_event(p, start=at(local_day(402), 9))]
    recent = add_event(p, start=at(local_day(-20), 9), status="cancelled",
                       updated_at=now - dt.timedelta(days=29))
    stale = add_event(p, start=at(local_day(-40), 9), status="cancelled",
                      updated_at=now - dt.timedelta(days=31))
    uids = set(vevents(feeds.render_feed(f"lawyer:{cal.lawyer.id}")))
    assert {e.uid for e in inside + [recent]} <= uids
    assert not {e.uid for e in outside + [stale]} & uids


def test_an_empty_feed_is_still_a_valid_calendar(district):
    body = feeds.render_feed(f"lawyer:{district.lawyers[2].id}")
    assert parse(body).walk("VEVENT") == []
    assert IcsCalendarStream.calendar_from_ics(body.decode()).events == []
    assert [str(z["TZID"]) for z in parse(body).walk("VTIMEZONE")] == [SH]


# --- scopes ----------------------------------------------------------------------------------

def test_contacts_cost_one_query_per_feed_not_one_per_event(cal, district):
    from playhouse.test_utils import count_queries
    for key in (f"town:{cal.town.code}", f"lawyer:{cal.lawyer.id}"):
        feeds.render_feed(key)  # warm: the registry, the zone
        with count_queries() as before:
            feeds.render_feed(key)
        for pairing in district.pairings[:3]:  # more events, of every pairing of the town
            for days in range(40, 50):
                add_event(pairing, start=at(local_day(days), 8, 30))
        with count_queries() as after:
            found = vevents(feeds.render_feed(key))
        assert after.count == before.count, key
    described = [str(e["DESCRIPTION"]) for e in found.values()]
    assert sum("王主任 13800001111" in text for text in described) >= 14  # p0's old and new


def test_town_and_district_feeds_hold_their_scope_and_name_the_lawyer(cal):
    e = cal.events
    town = vevents(feeds.render_feed(f"town:{cal.town.code}"))
    assert e.other_lawyer.uid in town and e.session.uid in town
    assert e.other_town.uid not in town
    assert cal.lawyer.name in str(town[e.session.uid]["DESCRIPTION"])
    assert f"X-WR-CALNAME:结对律师 · {cal.town.name}".encode() in feeds.render_feed(
        f"town:{cal.town.code}")
    district = vevents(feeds.render_feed("district"))
    assert {e.other_town.uid, e.session.uid, e.task.uid} <= set(district)


def test_public_village_feed_says_nothing_private(cal, district):
    e = cal.events
    add_event(village=cal.village, lawyer=district.lawyers[1], start=at(local_day(40), 9))
    body = feeds.render_feed(f"village:{cal.village.code}")
    found = vevents(body)
    assert set(found) >= {e.session.uid, e.publicity.uid, e.cancelled.uid}
    assert e.task.uid not in found
    assert not {e.other_lawyer.uid, e.other_town.uid} & set(found)
    text = body.decode()
    assert "DESCRIPTION" not in text and "VALARM" not in text
    # no phone numbers (UIDs are random hex and may hold a run of digits: leave them out)
    unfolded = text.replace("\r\n ", "").splitlines()
    readable = "\n".join(line for line in unfolded if not line.startswith("UID:"))
    assert not re.search(r"\d{3,4}-?\d{7,8}|1\d{10}", readable)
    for private in (cal.lawyer.name, cal.town.judicial_office, "微信群", "村委会换届选举",
                    "李某某", "陈所长", "王主任", "赵调解", "孙党员"):
        assert private not in text
    assert found[e.cancelled.uid]["STATUS"] == "CANCELLED"


def test_unknown_keys_are_not_found(district):
    from core.errors import NotFound
    for key in ("lawyer:999", "town:nowhere", "village:nowhere", "lawyer:x", "weird", ""):
        with pytest.raises(NotFound):
            feeds.render_feed(key)


# --- publishing ------------------------------------------------------------------------------

def test_publishing_twice_keeps_etag_and_time(cal):
    key = f"lawyer:{cal.lawyer.id}"
    first = feeds.publish(key)
    assert first.etag == '"' + hashlib.sha256(bytes(first.body)).hexdigest() + '"'
    second = feeds.publish(key)
    assert (second.id, second.etag, second.generated_at) == (
        first.id, first.etag, first.generated_at)
    assert FeedSnapshot.select().count() == 1


def test_snapshots_follow_an_event_change(cal):
    keys = [f"lawyer:{cal.lawyer.id}", f"town:{cal.town.code}", "district",
            f"village:{cal.village.code}", f"town:{cal.events.other_town.village.town.code}"]
    before = {key: feeds.publish(key).etag for key in keys}
    session = cal.events.session
    new_start = at(local_day(11), 14)
    Event.update(starts_at=utc(new_start), ends_at=utc(new_start + dt.timedelta(hours=3.5)),
                 sequence=Event.sequence + 1, updated_at=clock.now_utc()).where(
        Event.id == session.id).execute()
    feeds.publish_changes([session.id])  # huey runs it at once in the tests
    after = {key: FeedSnapshot.get(FeedSnapshot.key == key).etag for key in keys}
    assert [k for k in keys if after[k] != before[k]] == keys[:4]  # not the other town
    stored = FeedSnapshot.get(FeedSnapshot.key == keys[0])
    moved = vevents(bytes(stored.body))[session.uid]
    assert moved.start == new_start and moved["SEQUENCE"] == 3


def test_an_event_handed_to_another_lawyer_stays_cancelled_in_the_first_lawyers_feed(
        cal, district):
    from core.events import hand_over
    first, second = f"lawyer:{cal.lawyer.id}", f"lawyer:{district.lawyers[2].id}"
    feeds.publish(first)
    feeds.publish(second)
    session = cal.events.session
    hand_over(session, district.lawyers[2].id)
    session.sequence += 1
    session.save()
    feeds.publish_changes([session.id])
    old = vevents(bytes(FeedSnapshot.get(FeedSnapshot.key == first).body))[session.uid]
    new = vevents(bytes(FeedSnapshot.get(FeedSnapshot.key == second).body))[session.uid]
    assert (old["STATUS"], new["STATUS"]) == ("CANCELLED", "CONFIRMED")
    assert old["SEQUENCE"] == new["SEQUENCE"] == 3
    assert old["SUMMARY"] == f"（已取消）坐班 · {cal.village.name}"
    description = str(old["DESCRIPTION"])
    assert district.lawyers[2].name in description
    assert district.lawyers[2].phone not in description
    assert "王主任" not in description  # the village's contacts are no longer theirs to call
    assert not old.walk("VALARM")


def test_a_feed_that_fails_does_not_stop_the_others(cal, monkeypatch, caplog):
    real = feeds._prepare

    def broken_for_town(key, now):
        if key.startswith("town:"):
            raise RuntimeError("boom")
        return real(key, now)
    monkeypatch.setattr(feeds, "_prepare", broken_for_town)
    with caplog.at_level(logging.ERROR, logger="core.feeds"):
        results = feeds.publish_events([cal.events.session.id])
    assert results[f"town:{cal.town.code}"] == "failed"
    assert results["district"] == results[f"lawyer:{cal.lawyer.id}"] == "published"
    assert FeedSnapshot.get_or_none(FeedSnapshot.key == "district") is not None
    assert f"town:{cal.town.code}" in caplog.text


def test_publish_all_refreshes_published_feeds_and_token_feeds(cal, district):
    feeds.publish(f"village:{cal.village.code}")
    feeds.create_token(None, district.users.town_coordinator, "iPad")
    results = feeds.publish_all()
    assert results == {f"village:{cal.village.code}": "published",
                       f"town:{cal.town.code}": "published"}


# --- tokens ----------------------------------------------------------------------------------

def test_token_is_random_shown_once_and_stored_hashed(district):
    lawyer = district.users.lawyer
    token, raw = feeds.create_token(lawyer, lawyer, "  iPhone  ")
    assert token.label == "iPhone"
    assert len(raw) == 43 and raw not in token.token_hash
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert feeds.find_token(raw).id == token.id
    assert feeds.feed_key_for(lawyer) == f"lawyer:{district.lawyers[0].id}"
    _, other = feeds.create_token(lawyer, lawyer, "Outlook")
    assert other != raw


def test_revoked_unknown_and_malformed_tokens_find_nothing(district):
    lawyer = district.users.lawyer
    token, raw = feeds.create_token(None, lawyer, "iPhone")
    feeds.revoke_token(lawyer, token)
    feeds.revoke_token(lawyer, token)  # twice: no error, same state
    assert FeedToken.get_by_id(token.id).revoked_at is not None
    for candidate in (raw, raw[:-1] + ("A" if raw[-1] != "A" else "B"), "", "x" * 43,
                      "../../etc/passwd", raw + "x"):
        assert feeds.find_token(candidate) is None
    _, live = feeds.create_token(None, lawyer, "iPhone")  # the name is free again
    lawyer.active = False
    lawyer.save()
    assert feeds.find_token(live) is None  # a disabled login's feeds stop too


def test_token_rules(district):
    u = district.users
    for label, says in (("", "Name the device"), ("x" * 61, "at most")):
        with pytest.raises(ValidationError, match=says):
            feeds.create_token(u.lawyer, u.lawyer, label)
    feeds.create_token(u.lawyer, u.lawyer, "iPhone")
    with pytest.raises(ValidationError, match="already have a feed named iPhone"):
        feeds.create_token(u.lawyer, u.lawyer, "iPhone")
    with pytest.raises(PermissionDenied):
        feeds.create_token(u.admin, u.lawyer, "Work PC")
    token = FeedToken.get()
    with pytest.raises(PermissionDenied):
        feeds.revoke_token(u.coordinator, token)
    with pytest.raises(ValidationError, match="Only lawyers and coordinators"):
        feeds.create_token(u.village, u.village, "iPhone")
    assert FeedToken.select().count() == 1
    assert FeedToken.get().revoked_at is None


def test_each_user_gets_the_feed_of_their_scope(district):
    u = district.users
    assert feeds.feed_key_for(u.town_coordinator) == f"town:{district.towns[0].code}"
    assert feeds.feed_key_for(u.coordinator) == "district"
    assert feeds.feed_key_for(u.admin) == "district"
    scoped = create_user("coord-v", PASSWORD, "coordinator", village=district.villages[0])
    assert feeds.feed_key_for(scoped) == f"village:{district.villages[0].code}"


def test_feed_urls():
    urls = feeds.feed_urls("abc", "https://jiedui.example.org/")
    assert urls == {"https": "https://jiedui.example.org/feeds/abc.ics",
                    "webcal": "webcal://jiedui.example.org/feeds/abc.ics"}


# --- jiedui feed-token -----------------------------------------------------------------------

SAMPLE = Path(__file__).parent.parent / "samples" / "district.csv"


def run_jiedui(instance: Path, *args) -> cli_support.Ran:
    return cli_support.run_jiedui(instance, *args, JIEDUI_BASE_URL="https://jiedui.example.org",
                                  JIEDUI_LOAD_PLUGINS="")  # it needs no programme plugins


def test_feed_token_command(tmp_path):
    assert run_jiedui(tmp_path, "import", str(SAMPLE)).returncode == 0

    no_login = run_jiedui(tmp_path, "feed-token", "--lawyer", "1", "--label", "iPhone")
    assert no_login.returncode != 0
    assert "has no login" in no_login.stderr and "jiedui user add" in no_login.stderr

    unknown = run_jiedui(tmp_path, "feed-token", "--lawyer", "999", "--label", "iPhone")
    assert unknown.returncode != 0 and "There is no lawyer with the id 999." in unknown.stderr

    assert run_jiedui(tmp_path, "user", "add", "--username", "zhou", "--password", PASSWORD,
                      "--role", "lawyer", "--lawyer", "1").returncode == 0
    blank = run_jiedui(tmp_path, "feed-token", "--lawyer", "1", "--label", " ")
    assert blank.returncode != 0 and "Name the device" in blank.stderr

    made = run_jiedui(tmp_path, "feed-token", "--lawyer", "1", "--label", "iPhone")
    assert made.returncode == 0, made.stderr
    https = re.search(r"https://jiedui\.example\.org/feeds/([\w-]{43})\.ics", made.stdout)
    webcal = re.search(r"webcal://jiedui\.example\.org/feeds/([\w-]{43})\.ics", made.stdout)
    assert https and webcal and https.group(1) == webcal.group(1)
    with sqlite3.connect(tmp_path / "jiedui.db") as connection:
        rows = connection.execute("SELECT label, token_hash FROM feed_token").fetchall()
    assert rows == [("iPhone", hashlib.sha256(https.group(1).encode()).hexdigest())]


# --- with the planner and the event services ----------------------------------------------

def test_planned_events_and_changes_reach_the_published_feeds(district, now):
    """The planner (core.planner) and the event services (core.events) publish through
    core.feeds.publish_changes (core.reactions queues the job; huey runs it at once in the
    tests)."""
    from core.events import cancel_event
    from core.pairings import replace_lawyer
    from core.planner import plan_year
    year = 2027  # inside the pairings' terms; from 1 December before, all of it is ahead
    now(clock.utc_from_local(dt.date(year - 1, 12, 1), dt.time()))  # and in the feed window
    plan_year(year)
    first, successor = district.lawyers[0], district.lawyers[2]
    first_key, successor_key = f"lawyer:{first.id}", f"lawyer:{successor.id}"
    feeds.publish(first_key)
    feeds.publish(successor_key)
    planned = list(Event.select().where(Event.lawyer == first).order_by(Event.starts_at))
    assert {e.uid for e in planned} <= set(vevents(bytes(feeds.snapshot_for(first_key).body)))

    cancel_event(None, planned[0], reason="暴雨")
    stored = vevents(bytes(FeedSnapshot.get(FeedSnapshot.key == first_key).body))
    assert stored[planned[0].uid]["STATUS"] == "CANCELLED"

    # A new lawyer from July: the re-plan hands the later events over, keeping their UIDs.
    replace_lawyer(None, district.pairings[0], lawyer=successor, on=dt.date(year, 7, 1))
    plan_year(year)
    handed = [e for e in planned if e.starts_at.date() >= dt.date(year, 7, 2)]
    assert handed
    old = vevents(bytes(FeedSnapshot.get(FeedSnapshot.key == first_key).body))
    new = vevents(bytes(FeedSnapshot.get(FeedSnapshot.key == successor_key).body))
    # the first lawyer's calendar removes them (cancelled), the successor's adds them
    assert {old[e.uid]["STATUS"] for e in handed} == {"CANCELLED"}
    assert {new[e.uid]["STATUS"] for e in handed} == {"CONFIRMED"}


def test_a_scheduled_programme_task_is_in_the_lawyer_feed_under_its_programme(district):
    """schedule_task puts a task in the calendar; the feed names its programme as the
    category (the ten programmes are installed plugins) and never its form data."""
    from core.clock import utc_from_local
    from core.models import Task
    from core.tasks import assign_task, schedule_task
    from core.workdays import is_workday
    day = clock.today() + dt.timedelta(days=14)
    while not is_workday(day):
        day += dt.timedelta(days=1)
    task = assign_task(None, program="family_visits", task_type="household_visit",
                       village=district.villages[0], data={"household": "王某某"})
    schedule_task(None, task, starts_at=utc_from_local(day, dt.time(14)),
                  ends_at=utc_from_local(day, dt.time(17, 30)))
    body = feeds.render_feed(f"lawyer:{district.lawyers[0].id}")
    found = vevents(body)
    event = found[Task.get_by_id(task.id).event.uid]
    assert event.categories == ["走访100+家庭"]
    assert "王某某" not in body.decode()


def test_a_task_event_is_named_in_the_feeds_language(district, monkeypatch):
    """JIEDUI_LOCALE=en: the programme and the task type by the plugin's English catalog."""
    from core.clock import utc_from_local
    from core.models import Task
    from core.tasks import assign_task, schedule_task
    from core.workdays import is_workday
    monkeypatch.setenv("JIEDUI_LOCALE", "en")
    day = clock.today() + dt.timedelta(days=14)
    while not is_workday(day):
        day += dt.timedelta(days=1)
    task = assign_task(None, program="family_visits", task_type="household_visit",
                       village=district.villages[0])
    schedule_task(None, task, starts_at=utc_from_local(day, dt.time(14)),
                  ends_at=utc_from_local(day, dt.time(17, 30)))
    event = vevents(feeds.render_feed(f"lawyer:{district.lawyers[0].id}"))[
        Task.get_by_id(task.id).event.uid]
    assert event.categories == ["Visit 100+ families"]
    assert "Household visit" in str(event["SUMMARY"])


# --- contacts change: the feeds follow at once (core.groups, core.lawyers) -----------------

@pytest.fixture
def no_hourly_republish(monkeypatch):
    """What follows must not wait for (nor call) the hourly republish."""
    def refuse():
        raise AssertionError("publish_all was called")
    monkeypatch.setattr(feeds, "publish_all", refuse)


def stored_description(key: str, event: Event) -> str:
    body = bytes(FeedSnapshot.get(FeedSnapshot.key == key).body)
    return str(vevents(body)[event.uid]["DESCRIPTION"])


def test_a_group_members_new_phone_reaches_the_lawyers_feed_at_once(cal, district,
                                                                    no_hourly_republish):
    from core.groups import edit_member, rename_group
    key = f"lawyer:{cal.lawyer.id}"
    feeds.publish(key)
    coordinator = district.users.coordinator
    edit_member(coordinator, cal.contacts.committee, name="王主任", role="village_committee",
                phone="13800009999")
    description = stored_description(key, cal.events.session)
    assert "王主任 13800009999" in description and "13800001111" not in description
    rename_group(coordinator, cal.group, "东湖1村法律服务群")
    assert "东湖1村法律服务群" in stored_description(key, cal.events.afternoon)


def test_a_lawyers_new_name_reaches_the_coordinators_town_feed_at_once(cal, district,
                                                                       no_hourly_republish):
    from core.lawyers import update_details
    key = f"town:{cal.town.code}"
    feeds.publish(key)
    assert "张明明" not in stored_description(key, cal.events.session)
    update_details(district.users.coordinator, cal.lawyer, name="张明明")
    assert "律师：张明明" in stored_description(key, cal.events.session)


def test_contact_changes_publish_the_events_that_show_those_contacts(cal, district, published):
    """A group: its village's events in the feeds' window (an event of the village without a
    pairing shows the active pairing's group too). A lawyer's name: their events, wherever
    they are. What the feeds do not show (the lawyer's side of the group, its administrator,
    a lawyer's WeChat or phone) republishes nothing."""
    from core import groups, lawyers
    coordinator, e = district.users.coordinator, cal.events
    no_pairing = add_event(village=cal.village, lawyer=None, start=at(local_day(25), 9))
    elsewhere = add_event(village=district.villages[4], lawyer=cal.lawyer,
                          start=at(local_day(40), 9))
    add_event(cal.pairing, start=at(local_day(500), 9))  # beyond the window
    village_events = sorted(ev.id for ev in (e.session, e.afternoon, e.publicity, e.cancelled,
                                             e.task, no_pairing))
    lawyer_events = sorted(ev.id for ev in (e.session, e.afternoon, e.publicity, e.cancelled,
                                            e.task, elsewhere))

    assistant = groups.add_member(coordinator, cal.group, name="李助理", role="assistant")
    groups.edit_member(coordinator, assistant, name="李助理", role="assistant",
                       phone="13900000009")
    groups.set_administrator(coordinator, cal.group, cal.contacts.committee)
    lawyers.update_details(coordinator, cal.lawyer, wechat="zhangming-law")
    lawyers.update_details(coordinator, cal.lawyer, phone="13700007777")  # in no feed
    assert published == []

    groups.rename_group(coordinator, cal.group, "东湖1村法律服务群")
    groups.add_member(coordinator, cal.group, name="钱代表", role="resident_rep")
    groups.edit_member(coordinator, assistant, name="李助理", role="resident_rep")
    groups.remove_member(coordinator, cal.contacts.party)
    assert published == [village_events] * 4

    published.clear()
    lawyers.update_details(coordinator, cal.lawyer, name="张明明")
    assert published == [lawyer_events]


def test_refused_contact_changes_publish_nothing(cal, district, published):
    from core import groups, lawyers
    coordinator = district.users.coordinator
    refused = [
        lambda: groups.edit_member(coordinator, cal.contacts.committee, name="王主任",
                                   role="village_committee", phone="12345"),
        lambda: groups.add_member(coordinator, cal.group, name=" ", role="mediation"),
        lambda: groups.rename_group(coordinator, cal.group, ""),
        lambda: groups.remove_member(coordinator, cal.group.members.where(
            WechatGroupMember.role == "lawyer").get()),
        lambda: groups.rename_group(district.users.other_town_coordinator, cal.group, "别的群"),
        lambda: lawyers.update_details(coordinator, cal.lawyer, phone="12345"),
        lambda: lawyers.update_details(district.users.lawyer, cal.lawyer, name="改名"),
    ]
    for change in refused:
        with pytest.raises((ValidationError, PermissionDenied)):
            change()
    assert published == []
    assert Lawyer.get_by_id(cal.lawyer.id).phone == cal.lawyer.phone


def test_a_contact_change_stands_when_the_queue_is_down(cal, district, monkeypatch, caplog):
    from core.groups import rename_group
    from core.lawyers import update_details

    from core import jobs

    def down(ids):
        raise ConnectionError("redis is down")
    monkeypatch.setattr(jobs, "publish_feeds", down)
    with caplog.at_level(logging.ERROR, logger="core.reactions"):
        rename_group(district.users.coordinator, cal.group, "东湖1村法律服务群")
        update_details(district.users.coordinator, cal.lawyer, phone="13700007777")
    assert "could not queue the feeds" in caplog.text
    assert WechatGroup.get_by_id(cal.group.id).name == "东湖1村法律服务群"
    assert Lawyer.get_by_id(cal.lawyer.id).phone == "13700007777"


# --- jiedui feed-token warns of an address phones cannot reach ------------------------------

@pytest.fixture
def feed_token_cli(tmp_path, monkeypatch):
    """``run(*args)`` runs ``jiedui`` on an instance with a lawyer who has a login;
    JIEDUI_BASE_URL and JIEDUI_LOCALE unset (Chinese, the default)."""
    monkeypatch.setenv("JIEDUI_LOAD_PLUGINS", "")
    monkeypatch.delenv("JIEDUI_BASE_URL", raising=False)

    def run(*args):
        return cli_support.run_jiedui(tmp_path, *args, locale=None)
    assert run("import", SAMPLE).returncode == 0
    assert run("user", "add", "--username", "zhou", "--password", PASSWORD, "--role", "lawyer",
               "--lawyer", "1").returncode == 0
    yield run, monkeypatch


def test_feed_token_warns_when_the_address_is_this_computers(feed_token_cli):
    run, monkeypatch = feed_token_cli
    made = run("feed-token", "--lawyer", "1", "--label", "iPhone")
    assert made.returncode == 0, made.stderr
    assert "http://127.0.0.1:5000/feeds/" in made.stdout
    assert "JIEDUI_BASE_URL" in made.stderr and "手机无法访问" in made.stderr

    monkeypatch.setenv("JIEDUI_BASE_URL", "https://jiedui.example.org")
    elsewhere = run("feed-token", "--lawyer", "1", "--label", "iPad")
    assert elsewhere.returncode == 0 and elsewhere.stderr == ""
    # set on purpose (a test machine, a demo on one computer): no warning either
    monkeypatch.setenv("JIEDUI_BASE_URL", "http://localhost:8000")
    chosen = run("feed-token", "--lawyer", "1", "--label", "Mac")
    assert chosen.returncode == 0 and chosen.stderr == ""


def test_what_counts_as_this_computer():
    from web.cli.calendar import _is_loopback
    for url in ("http://127.0.0.1:5000", "http://localhost", "http://[::1]:5000",
                "http://127.8.0.1", "http://app.localhost"):
        assert _is_loopback(url), url
    for url in ("https://jiedui.example.org", "http://192.168.1.20:5000", "http://10.0.0.5"):
        assert not _is_loopback(url), url
