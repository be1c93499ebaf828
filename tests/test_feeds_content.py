"""What each feed shows of an event, and that calendars learn of every change of it:
no calendar-level UID, SEQUENCE and LAST-MODIFIED that follow what is shown (contacts
included), cancelled titles, tasks without their typed titles, the coordinators' short
feeds, placement notes and hand-overs (core.feeds, core.placements)."""
import datetime as dt
import re

import icalendar
import pytest

from core import clock, feeds
from core.models import Event, EventHandover, FeedSnapshot, Holiday
from tests.feed_helpers import add_event, at, calendar_district, later, local_day  # noqa: F401
from tests.planning_support import now  # noqa: F401 (fixture)

PHONE = re.compile(r"\d{3,4}-\d{7,8}|1\d{10}")


@pytest.fixture
def cal(district):
    return calendar_district(district)


def vevents(body: bytes) -> dict:
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def stored(key: str) -> bytes:
    return bytes(FeedSnapshot.get(FeedSnapshot.key == key).body)


def readable(body: bytes) -> str:
    """The feed unfolded, without its UID lines (random hex may look like a phone)."""
    unfolded = body.decode().replace("\r\n ", "").splitlines()
    return "\n".join(line for line in unfolded if not line.startswith("UID:"))


def every_key(cal) -> list[str]:
    return [f"lawyer:{cal.lawyer.id}", f"town:{cal.town.code}", "district",
            f"village:{cal.village.code}"]


# --- 1. no calendar-level UID ----------------------------------------------------------------

def test_no_feed_has_a_uid_outside_its_events(cal):
    for key in every_key(cal):
        body = feeds.render_feed(key)
        lines = body.split(b"\r\n")
        uid_lines = [n for n, line in enumerate(lines) if line.startswith(b"UID:")]
        assert len(uid_lines) == len(vevents(body)), key
        first_event = lines.index(b"BEGIN:VEVENT")
        assert min(uid_lines) > first_event, key  # vdirsyncer names items by the first UID
        assert "UID" not in icalendar.Calendar.from_ical(body), key


# --- 2. SEQUENCE and LAST-MODIFIED follow what is shown ---------------------------------------

def test_first_publication_remembers_what_is_shown_without_bumping(cal):
    before = {e.id: e.sequence for e in Event.select()}
    feeds.publish(f"lawyer:{cal.lawyer.id}")
    after = {e.id: (e.sequence, e.shown_hash) for e in Event.select()}
    session = cal.events.session
    assert after[session.id][0] == before[session.id] == 2
    assert re.fullmatch(r"2:[0-9a-f]{64}", after[session.id][1])
    assert after[cal.events.other_town.id][1] == ""  # in no feed published yet
    feeds.publish(f"lawyer:{cal.lawyer.id}")  # nothing changed: nothing written
    assert {e.id: (e.sequence, e.shown_hash) for e in Event.select()} == after


def test_a_contact_change_bumps_sequence_and_last_modified_of_what_shows_it(cal, district,
                                                                           later):
    from core.groups import edit_member
    keys = every_key(cal)
    for key in keys:
        feeds.publish(key)
    session = cal.events.session
    first = vevents(stored(keys[0]))[session.uid]
    changed_at = later(2)
    edit_member(district.users.coordinator, cal.contacts.committee, name="王主任",
                role="village_committee", phone="13800009999")  # republishes at once
    again = vevents(stored(keys[0]))[session.uid]
    assert again["SEQUENCE"] == first["SEQUENCE"] + 1 == 3
    expected = changed_at.replace(microsecond=0, tzinfo=dt.timezone.utc)
    assert again["LAST-MODIFIED"].dt == again["DTSTAMP"].dt == expected
    assert again["LAST-MODIFIED"].dt > first["LAST-MODIFIED"].dt
    # every feed shows the same SEQUENCE (the public one too, which shows no contacts),
    # bumped once however many feeds show the event
    for key in keys[1:]:
        assert vevents(stored(key))[session.uid]["SEQUENCE"] == 3, key
    assert Event.get_by_id(session.id).sequence == 3
    later(3)
    assert feeds.publish_all()
    assert Event.get_by_id(session.id).sequence == 3  # nothing new: no bump
    other = vevents(stored(keys[1]))[cal.events.other_lawyer.uid]
    assert other["SEQUENCE"] == 0  # another village's group: unchanged


def test_a_change_the_hourly_republish_finds_is_bumped_too(cal, later):
    """A town's judicial office, a village's name: changed without a service that
    republishes (an import); the hourly republish finds the change and bumps."""
    key = f"lawyer:{cal.lawyer.id}"
    feeds.publish(key)
    cal.town.office_phone = "0571-88880000"
    cal.town.save()
    later(1)
    feeds.publish_all()
    session = vevents(stored(key))[cal.events.session.uid]
    assert "0571-88880000" in str(session["DESCRIPTION"]) and session["SEQUENCE"] == 3


def test_a_service_change_bumps_once_not_twice(cal, district, later):
    from core.events import cancel_event
    key = f"lawyer:{cal.lawyer.id}"
    feeds.publish(key)
    later(1)
    cancel_event(district.users.coordinator, cal.events.afternoon, reason="暴雨")
    shown = vevents(stored(key))[cal.events.afternoon.uid]
    assert shown["STATUS"] == "CANCELLED" and shown["SEQUENCE"] == 1
    assert Event.get_by_id(cal.events.afternoon.id).sequence == 1


# --- 3. cancelled titles ---------------------------------------------------------------------

def test_cancelled_events_say_so_in_their_title_in_every_feed(cal):
    for key in every_key(cal):
        found = vevents(feeds.render_feed(key))
        cancelled = found[cal.events.cancelled.uid]
        assert cancelled["STATUS"] == "CANCELLED", key
        assert cancelled["SUMMARY"] == f"（已取消）坐班 · {cal.village.name}", key
        assert found[cal.events.session.uid]["SUMMARY"] == f"坐班 · {cal.village.name}", key


# --- 4. no typed task title in any feed ------------------------------------------------------

RESIDENT = "张小明"
TYPED = f"走访留守儿童{RESIDENT}（10岁）"


def test_a_task_title_naming_a_resident_never_reaches_a_feed(district):
    """Tasks of several programmes with a resident's name typed in the title (and in the
    data): every feed names the task's type and village only, and so do its reminders."""
    from core.models import Task
    from core.plugins import get_registry
    from core.tasks import assign_task, schedule_task
    from core.workdays import is_workday
    village = district.villages[0]
    day = clock.today() + dt.timedelta(days=14)
    chosen = [("family_visits", "household_visit", {"household": RESIDENT}),
              ("key_populations", "person_visit", {"person": RESIDENT}),
              ("legal_aid", "aid_case", {"applicant": RESIDENT}),
              ("village_rules", "rule_draft", {"title": RESIDENT})]
    events = {}
    for hour, (program, task_type, data) in zip((8, 10, 14, 16), chosen):
        while not is_workday(day):
            day += dt.timedelta(days=1)
        task = assign_task(None, program=program, task_type=task_type, village=village,
                           title=TYPED, data=data)
        schedule_task(None, task, starts_at=clock.utc_from_local(day, dt.time(hour)),
                      ends_at=clock.utc_from_local(day, dt.time(hour, 50)))
        events[Task.get_by_id(task.id).event.uid] = task_type
    registry = get_registry()
    keys = [f"lawyer:{district.lawyers[0].id}", f"town:{village.town.code}", "district"]
    for key in keys:
        body = feeds.render_feed(key)
        assert RESIDENT not in body.decode(), key
        found = vevents(body)
        for uid, task_type in events.items():
            name = registry.task_types[task_type].name
            assert found[uid]["SUMMARY"] == f"{name} · {village.name}", key
            assert found[uid].categories == [registry.programs[
                registry.task_types[task_type].program].name]
            for alarm in found[uid].walk("VALARM"):
                assert alarm["DESCRIPTION"] == f"{name} · {village.name}"
    assert vevents(feeds.render_feed(keys[0]))[next(iter(events))].walk("VALARM")
    assert RESIDENT not in feeds.render_feed(f"village:{village.code}").decode()


# --- 5. the coordinators' feeds --------------------------------------------------------------

def test_coordinator_feeds_say_village_lawyer_and_link_and_no_phone(cal):
    for key in (f"town:{cal.town.code}", "district"):
        body = feeds.render_feed(key)
        assert not PHONE.search(readable(body)), key
        for private in ("微信群", "王主任", "司法所", cal.town.office_head):
            assert private not in body.decode(), (key, private)
        session = vevents(body)[cal.events.session.uid]
        assert str(session["DESCRIPTION"]).splitlines() == [
            f"{cal.village.name}（{cal.town.name}）", f"律师：{cal.lawyer.name}",
            f"http://127.0.0.1:5000/calendar/events/{cal.events.session.id}"]


def test_coordinator_feeds_have_a_shorter_window(cal):
    p = cal.pairing
    assert (feeds.COORDINATOR_WINDOW_BACK, feeds.COORDINATOR_WINDOW_AHEAD) == (
        dt.timedelta(days=31), dt.timedelta(days=183))
    inside = [add_event(p, start=at(local_day(-30), 9)), add_event(p, start=at(local_day(182), 9))]
    outside = [add_event(p, start=at(local_day(-33), 9)), add_event(p, start=at(local_day(185), 9))]
    lawyer = set(vevents(feeds.render_feed(f"lawyer:{cal.lawyer.id}")))
    uids = set(vevents(feeds.render_feed(f"town:{cal.town.code}")))
    assert {e.uid for e in inside} <= uids and not {e.uid for e in outside} & uids
    assert {e.uid for e in inside + outside} <= lawyer  # the lawyer's window is wider


def test_the_district_feed_holds_a_week_back_and_a_month_ahead(cal):
    p = cal.pairing
    assert (feeds.DISTRICT_WINDOW_BACK, feeds.DISTRICT_WINDOW_AHEAD) == (
        dt.timedelta(days=7), dt.timedelta(days=31))
    inside = [add_event(p, start=at(local_day(-6), 9)), add_event(p, start=at(local_day(30), 9))]
    outside = [add_event(p, start=at(local_day(-9), 9)), add_event(p, start=at(local_day(33), 9))]
    body = feeds.render_feed("district")
    uids = set(vevents(body))
    assert {e.uid for e in inside} <= uids and not {e.uid for e in outside} & uids
    assert {e.uid for e in outside} <= set(vevents(feeds.render_feed(f"town:{cal.town.code}")))
    assert "X-WR-CALDESC:本区最近7天和未来31天的活动（至多1000项" in readable(body)


# --- 7. placement notes ----------------------------------------------------------------------

def test_the_lawyers_feed_says_why_a_session_is_not_on_its_arranged_day(cal):
    from playhouse.test_utils import count_queries
    p = cal.pairing
    national_day = dt.date(2026, 10, 13)  # a Tuesday
    Holiday.create(day=national_day, kind="off", name="国庆节")
    off = add_event(p, start=at(local_day(40), 9), placement="day_off", arranged_on=national_day)
    busy = add_event(p, start=at(local_day(41), 9), placement="busy",
                     arranged_on=dt.date(2026, 11, 3))
    term = add_event(p, start=at(local_day(42), 9), placement="term",
                     arranged_on=dt.date(2026, 12, 29))
    manual = add_event(p, start=at(local_day(43), 9), placement="manual",
                       arranged_on=dt.date(2026, 11, 10))
    makeup = add_event(p, start=at(local_day(44), 9), placement="makeup",
                       makeup_for=cal.events.cancelled)
    arranged = add_event(p, start=at(local_day(45), 9), placement="arranged")
    missed_day = clock.local_date(cal.events.cancelled.starts_at)
    weekday = "一二三四五六日"[missed_day.weekday()]
    expected = {
        off: "原定10月13日（星期二）为休息日（国庆节），改在最近的工作日",
        busy: "原定11月3日（星期二），律师当天另有安排，改在最近的空闲工作日",
        term: "原定12月29日（星期二）不在结对期内，改在期内最近的工作日",
        manual: "原定11月10日（星期二），已人工调整",
        makeup: f"补{missed_day.month}月{missed_day.day}日（星期{weekday}）的坐班",
    }
    key = f"lawyer:{cal.lawyer.id}"
    feeds.render_feed(key)  # PostgreSQL: the connection PREPAREs the feeds' queries once
    with count_queries() as counted:
        found = vevents(feeds.render_feed(key))
    for event, note in expected.items():
        assert str(found[event.uid]["DESCRIPTION"]).splitlines()[1] == note
    assert str(found[arranged.uid]["DESCRIPTION"]).splitlines()[1].startswith("司法所")
    # the holidays' names and the made-up days are read with the events: no query more
    add_event(p, start=at(local_day(46), 9), placement="day_off",
              arranged_on=dt.date(2026, 10, 6))
    add_event(p, start=at(local_day(47), 9), placement="makeup", makeup_for=busy)
    with count_queries() as more:
        feeds.render_feed(key)
    assert more.count == counted.count


def test_the_event_page_shows_the_same_note(cal, client, login, district):
    event = add_event(cal.pairing, start=at(local_day(40), 9), placement="busy",
                      arranged_on=dt.date(2026, 11, 3))
    login(district.users.lawyer)
    page = client.get(f"/calendar/events/{event.id}").get_data(as_text=True)
    assert "原定11月3日（星期二），律师当天另有安排，改在最近的空闲工作日" in page


# --- 8. hand-overs ---------------------------------------------------------------------------

def test_a_replaced_lawyers_feed_lists_the_moved_events_as_cancelled(district, now):
    from core.pairings import replace_lawyer
    from core.planner import plan_year
    year = 2027
    now(clock.utc_from_local(dt.date(year - 1, 12, 1), dt.time()))
    plan_year(year)
    first, successor = district.lawyers[0], district.lawyers[2]
    village = district.villages[0]
    earlier = {e.uid for e in Event.select().where(
        (Event.village == village.id) & (Event.starts_at < clock.utc_from_local(
            dt.date(year, 7, 1), dt.time())))}
    replace_lawyer(None, district.pairings[0], lawyer=successor, on=dt.date(year, 7, 1))
    plan_year(year, villages=[village.id])
    moved = list(Event.select().where((Event.village == village.id)
                                      & (Event.lawyer == successor.id)))
    assert len(moved) >= 6
    # the first lawyer's feed was never published: the hand-overs, not its snapshot, say
    # that it must be
    assert f"lawyer:{first.id}" in feeds.keys_for_events([e.id for e in moved])
    old = vevents(feeds.render_feed(f"lawyer:{first.id}"))
    new = vevents(feeds.render_feed(f"lawyer:{successor.id}"))
    for event in moved:
        gone, there = old[event.uid], new[event.uid]
        assert (gone["STATUS"], there["STATUS"]) == ("CANCELLED", "CONFIRMED")
        assert gone["SEQUENCE"] == there["SEQUENCE"] == event.sequence >= 1
        assert str(gone["SUMMARY"]).startswith("（已取消）")
        description = str(gone["DESCRIPTION"])
        assert successor.name in description and successor.phone not in description
        assert not gone.walk("VALARM")
    assert {old[uid]["STATUS"] for uid in earlier} == {"CONFIRMED"}  # before July: still theirs
    # thirty days on, the hand-overs are gone from the first lawyer's feed
    month_later = clock.now_utc() + feeds.CANCELLED_KEPT + dt.timedelta(hours=1)
    assert not {e.uid for e in moved} & set(vevents(feeds.render_feed(
        f"lawyer:{first.id}", now=month_later)))
    assert EventHandover.select().where(EventHandover.lawyer == first.id).count() >= len(moved)


# --- 9. one statement a feed -----------------------------------------------------------------

def test_every_feed_is_one_statement_and_still_says_everything(cal, district):
    """Issue 15: a feed's owner, events, hand-overs, contacts, task kinds, holidays' names
    and made-up days are read in ONE statement, for every kind of key (SQLite and
    PostgreSQL), and the lawyer's feed still says all of them."""
    from playhouse.test_utils import count_queries
    from core.errors import NotFound
    from core.events import hand_over
    from core.models import Task
    from core.plugins import get_registry
    from core.tasks import assign_task, schedule_task
    from core.workdays import is_workday
    p, lawyer, successor = cal.pairing, cal.lawyer, district.lawyers[2]
    handed = cal.events.afternoon  # handed over: the lawyer's feed lists it as cancelled
    hand_over(handed, successor.id)
    handed.save()
    day = clock.today() + dt.timedelta(days=14)
    while not is_workday(day):
        day += dt.timedelta(days=1)
    task = assign_task(None, program="family_visits", task_type="household_visit",
                       village=cal.village, data={"household": "王某某"})
    schedule_task(None, task, starts_at=clock.utc_from_local(day, dt.time(14)),
                  ends_at=clock.utc_from_local(day, dt.time(16)))
    task_event = Task.get_by_id(task.id).event
    Holiday.create(day=dt.date(2026, 10, 13), kind="off", name="国庆节")
    off = add_event(p, start=at(local_day(40), 9), placement="day_off",
                    arranged_on=dt.date(2026, 10, 13))
    makeup = add_event(p, start=at(local_day(44), 9), placement="makeup",
                       makeup_for=cal.events.cancelled)
    no_pairing = add_event(village=cal.village, lawyer=lawyer, start=at(local_day(50), 9))
    users = district.users
    keys = set(every_key(cal)) | {feeds.feed_key_for(user) for user in (
        users.lawyer, users.coordinator, users.town_coordinator, users.other_town_coordinator)}
    assert {key.partition(":")[0] for key in keys} == {"lawyer", "town", "village", "district"}
    for key in sorted(keys) + ["lawyer:999999"]:
        try:
            feeds.render_feed(key)  # warm: PostgreSQL PREPAREs the statement once
        except NotFound:
            pass
        with count_queries() as counted:
            try:
                feeds.render_feed(key)
            except NotFound:
                assert key == "lawyer:999999"
        assert counted.count == 1, key

    found = vevents(feeds.render_feed(f"lawyer:{lawyer.id}"))
    gone = found[handed.uid]
    assert gone["STATUS"] == "CANCELLED" and successor.name in str(gone["DESCRIPTION"])
    for event in (cal.events.session, no_pairing):  # the group's village side, to call
        assert "王主任 13800001111" in str(found[event.uid]["DESCRIPTION"])
    registry = get_registry()
    assert found[task_event.uid]["SUMMARY"] == (
        f"{registry.task_types['household_visit'].name} · {cal.village.name}")
    assert found[task_event.uid].categories == ["走访100+家庭"]
    assert str(found[off.uid]["DESCRIPTION"]).splitlines()[1] == (
        "原定10月13日（星期二）为休息日（国庆节），改在最近的工作日")
    missed_day = clock.local_date(cal.events.cancelled.starts_at)
    assert str(found[makeup.uid]["DESCRIPTION"]).splitlines()[1].startswith(
        f"补{missed_day.month}月{missed_day.day}日")
