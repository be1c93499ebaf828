"""The coordinator's desk (core.desk, /home of coordinators and administrators): each count
against rows made here, in the viewer's scope, data problems by cause, and the page."""
import datetime as dt
import re

from playhouse.test_utils import count_queries

from core import desk
from core.models import Lawyer, MajorMatter, Rating, ReturnVisit, Task
from tests.planning_support import make_event, now, utc  # noqa: F401 (fixture)

D = dt.date
NOW = utc(2026, 7, 1, 10)  # a Wednesday; the pairings' terms began on 1 January


def counts(user, at=NOW) -> dict[str, int]:
    return {item.key: item.count for item in desk.needs(user, at)}


def matter(pairing, reported_at, title="群体性纠纷", **fields) -> MajorMatter:
    return MajorMatter.create(category="mass_incident", title=title, lawyer=pairing.lawyer,
                              village=pairing.village, occurred_at=reported_at,
                              reported_at=reported_at, deadline_at=reported_at, **fields)


def task(pairing, due_on, status="open") -> Task:
    return Task.create(program="family-visits", task_type="visit", village=pairing.village,
                       town=pairing.village.town, assignee=pairing.lawyer, title="走访",
                       due_on=due_on, status=status)


# --- what needs the user ------------------------------------------------------------------------

def test_major_matters_waiting_and_past_the_time_to_acknowledge(district):
    first, other_town = district.pairings[0], district.pairings[3]
    matter(first, NOW - dt.timedelta(minutes=10))  # waiting, not yet overdue
    matter(first, NOW - dt.timedelta(hours=3))  # waiting and overdue
    matter(other_town, NOW - dt.timedelta(hours=3))
    matter(first, NOW - dt.timedelta(hours=5), acknowledged_at=NOW, status="acknowledged")
    matter(first, NOW - dt.timedelta(hours=5), status="closed")
    found = counts(district.users.coordinator)
    assert (found["matters_waiting"], found["matters_overdue"]) == (3, 2)
    town = counts(district.users.town_coordinator)
    assert (town["matters_waiting"], town["matters_overdue"]) == (2, 1)


def test_past_sessions_not_recorded(district):
    first, other_town = district.pairings[0], district.pairings[3]
    make_event(first, D(2026, 6, 2))  # over, still planned
    make_event(first, D(2026, 6, 3), kind="publicity")
    make_event(first, D(2026, 6, 4), status="held")
    make_event(first, D(2026, 6, 5), status="cancelled")
    made_up = make_event(first, D(2026, 6, 9))
    make_event(first, D(2026, 7, 6), makeup_for=made_up.id)  # a live make-up replaces it
    make_event(first, D(2026, 7, 8))  # to come
    make_event(other_town, D(2026, 6, 2))
    assert counts(district.users.coordinator)["unrecorded"] == 3
    assert counts(district.users.town_coordinator)["unrecorded"] == 2
    assert counts(district.users.other_town_coordinator)["unrecorded"] == 1


def test_overdue_tasks(district):
    first, other_town = district.pairings[0], district.pairings[3]
    task(first, D(2026, 6, 30))
    task(first, D(2026, 6, 1), status="in_progress")
    task(first, D(2026, 6, 1), status="done")
    task(first, D(2026, 7, 1))  # due today: not overdue yet
    task(first, None)
    task(other_town, D(2026, 6, 1))
    assert counts(district.users.admin)["tasks_overdue"] == 3
    assert counts(district.users.town_coordinator)["tasks_overdue"] == 2


def test_return_visits_to_do(district):
    for pairing in district.pairings:
        ReturnVisit.create(pairing=pairing, period="2026Q3", due_on=D(2026, 9, 30))
    ReturnVisit.create(pairing=district.pairings[0], period="2026Q2", due_on=D(2026, 6, 30),
                       status="done")
    assert counts(district.users.coordinator)["visits_due"] == 4
    assert counts(district.users.town_coordinator)["visits_due"] == 3


def test_low_ratings_still_to_follow_up(district):
    first, other_town = district.pairings[0], district.pairings[3]
    for score in (1, 2, 3, 5):
        Rating.create(pairing=first, period="2026Q3", score=score)
    Rating.create(pairing=first, period="2026Q3", score=1, followed_up=True)
    Rating.create(pairing=first, period="2026Q3", score=1, excluded=True)
    Rating.create(pairing=other_town, period="2026Q3", score=2)
    assert counts(district.users.coordinator)["low_ratings"] == 3
    assert counts(district.users.town_coordinator)["low_ratings"] == 2
    assert counts(district.users.other_town_coordinator)["low_ratings"] == 1


def test_this_weeks_sessions(district):
    first, other_town = district.pairings[0], district.pairings[3]
    make_event(first, D(2026, 6, 29))  # Monday of this week
    make_event(first, D(2026, 7, 5), kind="publicity")  # its Sunday
    make_event(first, D(2026, 7, 2), status="cancelled")
    make_event(first, D(2026, 7, 6))  # next week
    make_event(first, D(2026, 6, 28))  # last week
    make_event(other_town, D(2026, 7, 3))
    today = D(2026, 7, 1)
    assert desk.week_sessions(district.users.coordinator, today).count == 3
    found = desk.week_sessions(district.users.town_coordinator, today)
    assert found.count == 2 and found.args == {"month": "2026-06"}


# --- where the programme is behind, and the data problems ------------------------------------

def test_behind_pace_grouped_by_town_and_by_lawyer(district, now):
    now(NOW)
    make_event(district.pairings[1], D(2026, 2, 3), status="held")
    found = desk.desk(district.users.coordinator)
    assert found.behind_count == 4  # half the year gone, nothing (or one session) held
    assert [(g.name, g.count, g.args) for g in found.behind_towns] == [
        ("东湖镇", 3, {"town": "T1"}), ("西山街道", 1, {"town": "T2"})]
    assert {g.name for g in found.behind_lawyers} == {"张明", "李华", "王芳", "赵强"}
    assert found.most_behind[-1].lawyer.name == "李华"  # it held one: the least behind
    town = desk.desk(district.users.other_town_coordinator)
    assert town.behind_count == 1
    assert [row.village.code for row in town.most_behind] == ["T2V1"]


def test_data_problems_by_cause_not_by_village(district, now):
    now(NOW)
    Lawyer.update(wechat="wx").where(Lawyer.id == district.lawyers[0].id).execute()
    problems = {p.cause: p for p in desk.data_problems(district.users.coordinator, D(2026, 7, 1))}
    assert set(problems) == {"photo", "wechat"}  # every lawyer has a phone
    assert (problems["photo"].count, problems["photo"].villages) == (4, 4)
    assert (problems["wechat"].count, problems["wechat"].args) == (3, {"missing": "wechat"})
    town = {p.cause: p.count for p in desk.data_problems(district.users.other_town_coordinator,
                                                         D(2026, 7, 1))}
    assert town == {"photo": 1, "wechat": 1}


def test_terms_ending_are_a_problem_by_pairing(district, now):
    now(NOW)
    pairing = district.pairings[0]
    pairing.term_end = D(2026, 7, 20)
    pairing.save()
    problems = {p.cause: p.count for p in desk.data_problems(district.users.admin, D(2026, 7, 1))}
    assert problems["term_ending"] == 1 and "term_ended" not in problems


def test_the_desk_costs_the_same_for_more_villages(district, now):
    now(NOW)
    with count_queries() as few:
        desk.desk(district.users.coordinator)
    for pairing in district.pairings:
        make_event(pairing, D(2026, 6, 2))
        task(pairing, D(2026, 6, 1))
        Rating.create(pairing=pairing, period="2026Q3", score=1)
    with count_queries() as more:
        desk.desk(district.users.coordinator)
    assert more.count == few.count <= 25


# --- the page ------------------------------------------------------------------------------------

def test_the_coordinators_desk_page(district, login, now):
    now(NOW)
    make_event(district.pairings[0], D(2026, 6, 2))
    task(district.pairings[3], D(2026, 6, 1))
    html = login(district.users.coordinator).get("/home").get_data(as_text=True)
    assert "<h1>工作台</h1>" in html
    assert re.search(r'<span class="big">4 / 6</span>\s*村\(居\)已结对', html)
    assert re.search(r'id="desk-unrecorded">\s*<a href="/calendar/quota">\s*<span class="big">1<', html)
    assert re.search(r'<a href="/tasks/\?overdue=1">\s*<span class="big">1<', html)
    assert '<a href="/lawyers/?missing=photo">4 名律师没有照片</a>' in html
    assert 'href="/assessment/behind?town=T1"' in html
    assert "hx-trigger" not in html[html.index("<main"):]  # nothing arrives after the page


def test_a_town_coordinator_sees_only_their_town(district, login, now):
    now(NOW)
    task(district.pairings[3], D(2026, 6, 1))  # in the other town
    html = login(district.users.town_coordinator).get("/home").get_data(as_text=True)
    assert re.search(r'<span class="big">3 / 3</span>', html)
    assert re.search(r'<a href="/tasks/\?overdue=1">\s*<span class="big">0<', html)
    assert "西山街道" not in html and 'href="/assessment/behind?town=T1"' in html
    assert "3 名律师没有照片" in html


def test_the_administrators_desk(district, login, now):
    now(NOW)
    response = login(district.users.admin).get("/home")
    assert response.status_code == 200 and 'id="desk-problems"' in response.get_data(as_text=True)


def test_the_lawyers_without_a_photo_each_with_the_link_that_fixes_it(district, login, now):
    now(NOW)
    client = login(district.users.town_coordinator)
    html = client.get("/lawyers/?missing=photo").get_data(as_text=True)
    assert html.count('class="missing-list"') == 1
    for lawyer in district.lawyers[:3]:
        assert f'href="/lawyers/{lawyer.id}#lawyer-details">补充{lawyer.name}的信息' in html
    assert district.lawyers[3].name not in html  # not serving in the town
    assert client.get("/lawyers/?missing=nonsense").status_code == 200


def test_the_lists_the_desk_links_to_narrow_as_counted(district, login, now):
    now(NOW)
    matter(district.pairings[0], NOW - dt.timedelta(hours=3))
    matter(district.pairings[0], NOW - dt.timedelta(minutes=5), title="刚报告")
    client = login(district.users.coordinator)
    overdue = client.get("/matters/?status=reported&overdue=1").get_data(as_text=True)
    assert "群体性纠纷" in overdue and "刚报告" not in overdue
    assert "刚报告" in client.get("/matters/?status=reported").get_data(as_text=True)
    behind = client.get("/assessment/behind?town=T2").get_data(as_text=True)
    assert "西山1村" in behind and "东湖1村" not in behind
    lawyer = district.lawyers[0].id
    behind = client.get(f"/assessment/behind?lawyer={lawyer}").get_data(as_text=True)
    assert "东湖1村" in behind and "东湖2村" not in behind


def test_everybody_starts_on_their_home(district, login):
    for user in (district.users.admin, district.users.town_coordinator):
        assert login(user).get("/").headers["Location"].endswith("/home")


def test_the_pairings_behind_pace_are_listed_a_page_at_a_time(district, app, login, now):
    """The list the desk links to: every pairing behind, in town and village order, a page
    at a time, with how many there are."""
    now(NOW)
    app.config["PER_PAGE"] = 3
    client = login(district.users.coordinator)
    first = client.get("/assessment/behind").get_data(as_text=True)
    second = client.get("/assessment/behind?page=2").get_data(as_text=True)
    assert "4 个结对" in first  # how many, on every page
    villages = [v.name for v in district.villages]
    assert all(name in first for name in villages[:3]) and villages[3] not in first
    assert villages[3] in second and villages[0] not in second
    assert 'href="/assessment/behind?page=2"' in first
