"""The 工作台 (core.home, web/home.py): what counts as not recorded, where a week begins and
ends, where a task shows, that a replaced lawyer and a village see only their own, the
lawyer's own quota and assessment, and that every link a village user sees opens."""
import datetime as dt
import re

import pytest
from playhouse.test_utils import count_queries

from core import clock, home
from core import tasks as task_service
from core.matters import report_matter
from core.models import AuditLog, Event, Task, Village
from core.pairings import replace_lawyer
from core.users import create_user
from tests.factories import PASSWORD, make_lawyer
from tests.planning_support import make_event, now, utc  # noqa: F401 (fixture)
from tests.sample_programme import PROGRAM, TASK_TYPE, sample_programme  # noqa: F401

D = dt.date
WEDNESDAY = D(2026, 3, 11)  # a week of 9 (Monday) to 15 March (Sunday) 2026


def ids(visits) -> list[int]:
    return [visit.event.id for visit in visits]


# --- not recorded yet -------------------------------------------------------------------------

def test_a_past_session_still_planned_and_not_made_up_is_not_recorded(district, now):
    now(utc(2026, 3, 11, 10))
    mine, other = district.pairings[0], district.pairings[1]
    missed = make_event(mine, D(2026, 3, 2))
    publicity = make_event(mine, D(2026, 3, 3), "pm", kind="publicity")
    made_up = make_event(mine, D(2026, 3, 4))
    make_event(mine, D(2026, 3, 12), "pm", makeup_for=made_up.id)  # a live make-up replaces it
    still_missed = make_event(mine, D(2026, 3, 5))
    make_event(mine, D(2026, 3, 13), makeup_for=still_missed.id, status="cancelled")
    make_event(mine, D(2026, 3, 6), status="held")
    make_event(mine, D(2026, 3, 6), "pm", status="cancelled")
    make_event(mine, D(2026, 3, 10), kind="task")  # a task's visit is recorded by its task
    make_event(mine, WEDNESDAY)  # 08:30–12:00, still going on at 10:00
    make_event(mine, D(2026, 3, 20))  # to come
    make_event(other, D(2026, 3, 2), "pm")  # another lawyer's

    found = home.lawyer_home(district.users.lawyer)

    assert found.unrecorded_count == 3
    assert ids(found.unrecorded) == [still_missed.id, publicity.id, missed.id]  # latest first


def test_the_home_lists_at_most_a_few_unrecorded_and_counts_them_all(district, now):
    now(utc(2026, 12, 1, 9))
    pairing = district.pairings[0]
    for month in range(1, 12):
        make_event(pairing, D(2026, month, 10))
    found = home.lawyer_home(district.users.lawyer)
    assert found.unrecorded_count == 11
    assert len(found.unrecorded) == home.UNRECORDED_SHOWN
    assert found.unrecorded[0].day == D(2026, 11, 10)


# --- the week ---------------------------------------------------------------------------------

def test_today_and_the_rest_of_the_week_to_sunday(district, now):
    now(utc(2026, 3, 11, 7))
    pairing = district.pairings[0]
    monday = make_event(pairing, D(2026, 3, 9))
    today = make_event(pairing, WEDNESDAY, "pm")
    make_event(pairing, D(2026, 3, 12), status="cancelled")
    friday = make_event(pairing, D(2026, 3, 13), kind="publicity")
    sunday = make_event(pairing, D(2026, 3, 15))
    next_monday = make_event(pairing, D(2026, 3, 16))

    found = home.lawyer_home(district.users.lawyer)

    assert found.today == WEDNESDAY and found.week_end == D(2026, 3, 15)
    assert ids(found.today_visits) == [today.id]
    assert ids(found.week_visits) == [friday.id, sunday.id]
    assert monday.id not in ids(found.week_visits) + ids(found.today_visits)
    assert next_monday.id not in ids(found.week_visits)
    assert found.next_visit is None  # the week still has visits
    visit = found.today_visits[0]
    assert (visit.weekday, visit.starts.strftime("%H:%M"), visit.ends.strftime("%H:%M")) == (
        2, "14:00", "17:30")


def test_on_sunday_the_week_is_over_and_the_next_visit_is_named(district, now):
    now(utc(2026, 3, 15, 9))
    pairing = district.pairings[0]
    next_monday = make_event(pairing, D(2026, 3, 16))
    make_event(pairing, D(2026, 3, 17))
    found = home.lawyer_home(district.users.lawyer)
    assert found.week_end == D(2026, 3, 15)
    assert found.today_visits == [] and found.week_visits == []
    assert found.next_visit.event.id == next_monday.id


def test_a_visit_says_where_a_map_app_finds_the_village(district, now):
    now(utc(2026, 3, 11, 7))
    pairing = district.pairings[0]
    make_event(pairing, WEDNESDAY)
    assert home.lawyer_home(district.users.lawyer).today_visits[0].place == "示范区东湖镇东湖1村"
    Village.update(address="东湖镇人民路 1 号").where(Village.id == pairing.village_id).execute()
    assert home.lawyer_home(district.users.lawyer).today_visits[0].place == "东湖镇人民路 1 号"


# --- tasks: today, this week, overdue (core.tasks.day_group: tests/test_tasks.py) ---------

def test_the_home_groups_tasks_as_my_tasks_does(district, now, sample_programme):
    now(utc(2026, 3, 11, 7))
    village = district.villages[0]
    late = task_service.assign_task(None, program=PROGRAM, task_type=TASK_TYPE, village=village,
                                    due_on=D(2026, 3, 2))
    task_service.schedule_task(None, late, starts_at=utc(2026, 3, 11, 14),
                               ends_at=utc(2026, 3, 11, 16))
    due = task_service.assign_task(None, program=PROGRAM, task_type=TASK_TYPE, village=village,
                                   due_on=D(2026, 3, 13))
    overdue = task_service.assign_task(None, program=PROGRAM, task_type=TASK_TYPE,
                                       village=village, due_on=D(2026, 3, 3))
    task_service.assign_task(None, program=PROGRAM, task_type=TASK_TYPE, village=village,
                             due_on=D(2026, 5, 1))  # later: not on the home
    found = home.lawyer_home(district.users.lawyer)
    assert {name: [t.id for t in tasks] for name, tasks in found.tasks.items()} == {
        "today": [late.id], "week": [due.id], "overdue": [overdue.id]}


# --- only one's own ---------------------------------------------------------------------------

def test_a_replaced_lawyer_sees_only_their_own_pairings(district, now):
    now(utc(2026, 3, 11, 7))
    old = district.pairings[0]
    newcomer = make_lawyer("孙丽", district.firms[0])
    new = replace_lawyer(None, old, lawyer=newcomer, on=D(2026, 3, 1))
    Event.delete().execute()  # only the events below (replacing re-plans nothing here)
    february = make_event(old, D(2026, 2, 10))
    march = make_event(new, D(2026, 3, 2))
    coming = make_event(new, D(2026, 3, 12))
    newcomer_user = create_user("sunli", PASSWORD, "lawyer", lawyer=newcomer)

    before = home.lawyer_home(district.users.lawyer)
    assert ids(before.unrecorded) == [february.id]
    assert before.week_visits == [] and before.today_visits == []
    assert [row.pairing.id for row in before.villages] == [old.id]  # the ended pairing
    assert before.villages[0].quota.required_sessions == 2  # January and February

    after = home.lawyer_home(newcomer_user)
    assert ids(after.unrecorded) == [march.id] and ids(after.week_visits) == [coming.id]
    assert [row.pairing.id for row in after.villages] == [new.id]
    assert after.villages[0].quota.required_sessions == 10
    assert after.villages[0].marks.pairing.id == new.id


def test_a_village_sees_its_own_next_session_only(district, now):
    now(utc(2026, 3, 11, 7))
    own, other = district.pairings[0], district.pairings[1]
    make_event(own, D(2026, 3, 10))  # past
    make_event(other, D(2026, 3, 12))  # sooner, but another village's
    make_event(own, D(2026, 3, 13), status="cancelled")
    next_one = make_event(own, D(2026, 3, 16), "pm")
    later = make_event(own, D(2026, 4, 13), kind="publicity")

    found = home.village_home(district.users.village)

    assert found.village.id == own.village_id
    assert found.next_visit.starts_at == clock.to_local(next_one.starts_at)
    assert [e.starts_at for e in found.later] == [clock.to_local(later.starts_at)]
    assert found.public.lawyer_name == district.lawyers[0].name
    assert found.place == "示范区东湖镇东湖1村"


def test_the_home_reads_only_the_users_own_rows(district, now):
    """One query per section: more villages, lawyers and events elsewhere in the district
    cost the lawyer's home nothing."""
    now(utc(2026, 3, 11, 7))
    make_event(district.pairings[0], WEDNESDAY, "pm")
    with count_queries() as few:
        home.lawyer_home(district.users.lawyer)
    for pairing in district.pairings[1:]:
        for day in (D(2026, 3, 2), WEDNESDAY, D(2026, 3, 12)):
            make_event(pairing, day)
    with count_queries() as more:
        home.lawyer_home(district.users.lawyer)
    assert more.count == few.count <= 20


# --- the pages --------------------------------------------------------------------------------

def test_the_lawyer_starts_on_the_desk_and_reaches_quota_and_assessment(district, login, now):
    now(utc(2026, 3, 11, 7))
    pairing = district.pairings[0]
    missed = make_event(pairing, D(2026, 3, 2))
    today = make_event(pairing, WEDNESDAY, "pm")
    client = login(district.users.lawyer)
    assert client.get("/").headers["Location"].endswith("/home")
    page = client.get("/home").get_data(as_text=True)
    assert f'id="visit-{today.id}"' in page and '<span id="unrecorded-count"' not in page
    assert re.search(r'id="unrecorded-count">1<', page)
    assert f'href="/calendar/events/{missed.id}?open=held"' in page
    for link in ("/calendar/quota?year=2026", f"/assessment/{pairing.id}?year=2026",
                 "/assessment/?year=2026"):
        assert f'href="{link}"' in page, link
        assert client.get(link).status_code == 200, link


def test_today_s_session_offers_the_sign_in_and_a_past_one_the_late_record(district, login,
                                                                            now):
    """Today's row carries the one-tap sign-in (签到); a past session not yet recorded links
    to recording it by hand (marked late), since signing in is only possible on the day."""
    now(utc(2026, 3, 11, 7))
    missed = make_event(district.pairings[0], D(2026, 3, 2))
    today = make_event(district.pairings[0], WEDNESDAY, "pm")
    page = login(district.users.lawyer).get("/home").get_data(as_text=True)
    assert f'action="/signins/events/{today.id}/in"' in page
    assert f"/calendar/events/{today.id}?open=held" not in page
    assert f'href="/calendar/events/{missed.id}?open=held"' in page
    assert f"/signins/events/{missed.id}/in" not in page


def test_open_major_matters_on_the_home_are_a_read_and_audited(district, login, now):
    now(utc(2026, 3, 11, 7))
    matter = report_matter(district.users.lawyer, category="collective", title="征地补偿集体上访",
                           occurred_at=utc(2026, 3, 10, 9), village=district.villages[0])
    page = login(district.users.lawyer).get("/home").get_data(as_text=True)
    assert "征地补偿集体上访" in page and f'href="/matters/{matter.id}"' in page
    entry = AuditLog.select().where(AuditLog.action == "matter.list").order_by(
        AuditLog.id.desc()).first()
    assert entry is not None and entry.detail["matters"] == [matter.id]


def test_every_link_on_the_village_desk_opens_for_the_village(district, login, now):
    now(utc(2026, 3, 11, 7))
    make_event(district.pairings[0], D(2026, 3, 16))
    client = login(district.users.village)
    page = client.get("/home").get_data(as_text=True)
    assert "tel:13800000000" in page and district.lawyers[0].name in page
    links = set(re.findall(r'href="(/[^"]*)"', page))
    assert "/calendar/village/T1V1?view=agenda" in links and "/v/T1V1" in links
    refused = {link: client.get(link, follow_redirects=True).status_code for link in links}
    assert {link: status for link, status in refused.items() if status != 200} == {}


def test_managers_get_the_coordinators_desk(district, login):
    response = login(district.users.coordinator).get("/home")
    assert response.status_code == 200 and 'id="desk-needs"' in response.get_data(as_text=True)


def test_a_login_without_a_lawyer_or_village_still_gets_a_desk(district, login):
    bare = create_user("bare-lawyer", PASSWORD, "lawyer", lawyer=district.lawyers[3])
    bare.lawyer = None  # its lawyer was removed (the link is SET NULL)
    bare.save()
    page = login(bare).get("/home")
    assert page.status_code == 200
    assert "not linked to a lawyer" in page.get_data(as_text=True) or \
        "尚未关联律师" in page.get_data(as_text=True)


def test_a_session_of_today_that_is_over_is_listed_once_under_today(district, now):
    """Its sign-in stays open until the day ends: it is under today, not counted again as a
    past session to record by hand."""
    now(utc(2026, 3, 11, 7))  # 15:00 in the district: the morning session is over
    pairing = district.pairings[0]
    morning = make_event(pairing, WEDNESDAY, "am")
    desk = home.lawyer_home(district.users.lawyer)
    assert [visit.event.id for visit in desk.today_visits] == [morning.id]
    assert desk.unrecorded_count == 0 and desk.unrecorded == []
