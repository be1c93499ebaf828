"""Return visits, residents' ratings and satisfaction (DOMAIN 五.4)."""
import datetime as dt

import pytest

from core import feedback, jobs
from core.config import ConfigError, parse_months
from core.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from core.models import Notification, Rating, ReturnVisit, User, Village
from core.pairings import end_pairing, pair
from tests.factories import make_lawyer

D = dt.date
T = dt.datetime
JAN = T(2026, 1, 10, 2)  # a morning in 2026Q1, UTC


# --- quarters ---------------------------------------------------------------------------------

def test_quarters():
    assert [feedback.period_of(D(2026, m, 1)) for m in (1, 3, 4, 9, 10, 12)] == [
        "2026Q1", "2026Q1", "2026Q2", "2026Q3", "2026Q4", "2026Q4"]
    assert feedback.quarter_bounds("2026Q4") == (D(2026, 10, 1), D(2026, 12, 31))
    assert feedback.quarter_bounds("2024Q1") == (D(2024, 1, 1), D(2024, 3, 31))
    assert feedback.recent_periods(D(2026, 2, 1), 3) == ["2025Q3", "2025Q4", "2026Q1"]
    for bad in ("2026Q5", "2026Q", "26Q1", "2026-1", ""):
        with pytest.raises(ValidationError):
            feedback.parse_period(bad)


def test_return_visit_months_are_checked():
    assert parse_months("10, 1,4,7") == (1, 4, 7, 10)
    for bad in ("13", "0,4", "jan", ""):
        with pytest.raises(ConfigError, match="JIEDUI_RETURN_VISIT_MONTHS"):
            parse_months(bad)


# --- return visits ------------------------------------------------------------------------

def test_a_quarter_opens_one_visit_per_active_pairing_once(district):
    users = district.users
    assert feedback.create_return_visits(D(2026, 4, 1)) == 4
    assert feedback.create_return_visits(D(2026, 5, 20)) == 0  # same quarter: idempotent
    visits = {v.pairing_id: v for v in ReturnVisit.select()}
    assert set(visits) == {p.id for p in district.pairings}
    assert {v.period for v in visits.values()} == {"2026Q2"}
    assert {v.due_on for v in visits.values()} == {D(2026, 6, 30)}
    # villages 0-2 are in town 1, village 3 in town 2
    assert [visits[p.id].assignee_id for p in district.pairings] == [
        users.town_coordinator.id] * 3 + [users.other_town_coordinator.id]


def test_next_quarter_skips_ended_pairings_and_gives_a_town_without_coordinator_to_the_district(
        district):
    end_pairing(None, district.pairings[1], ended_on=D(2026, 6, 1))
    User.update(active=False).where(User.id == district.users.other_town_coordinator.id).execute()
    assert feedback.create_return_visits(D(2026, 7, 1)) == 3
    visits = {v.pairing_id: v for v in ReturnVisit.select().where(ReturnVisit.period == "2026Q3")}
    assert district.pairings[1].id not in visits
    assert visits[district.pairings[3].id].assignee_id == district.users.coordinator.id


def test_a_visit_with_no_coordinator_anywhere_is_still_opened(district):
    User.update(active=False).where(User.role == "coordinator").execute()
    assert feedback.create_return_visits(D(2026, 7, 1)) == 4
    assert {v.assignee_id for v in ReturnVisit.select()} == {None}


def test_the_job_runs_daily_at_eight_district_time(district, monkeypatch):
    validate = jobs.OPEN_RETURN_VISITS_AT
    assert validate(T(2026, 4, 1, 0, 0))  # 1 April 08:00 in Shanghai
    assert validate(T(2026, 4, 2, 0, 0))  # and every other day: it catches up
    assert validate(T(2026, 2, 17, 0, 0))
    assert not validate(T(2026, 4, 1, 8, 0))  # 08:00 UTC is 16:00 district time
    assert not validate(T(2026, 3, 31, 16, 0))  # midnight of 1 April, district time
    monkeypatch.setattr(feedback.clock, "today", lambda: D(2026, 10, 1))
    jobs.open_return_visits()
    jobs.open_return_visits()
    assert ReturnVisit.select().where(ReturnVisit.period == "2026Q4").count() == 4


def test_a_missed_first_day_is_caught_up_by_the_next_daily_run(district, monkeypatch):
    """The consumer was down on 1 April (or Jiedui was installed in May): the next daily run
    opens the quarter's visits, the run after it nothing more."""
    monkeypatch.setattr(feedback.clock, "today", lambda: D(2026, 5, 20))
    assert jobs.open_return_visits.call_local() == 4
    assert jobs.open_return_visits.call_local() == 0
    assert {v.period for v in ReturnVisit.select()} == {"2026Q2"}


def test_a_pairing_started_mid_quarter_gets_its_visit_on_the_next_daily_run(district,
                                                                            monkeypatch):
    assert feedback.create_return_visits(D(2026, 4, 1)) == 4
    village = Village.create(town=district.towns[0], code="NEW1", name="新结对村")
    late = pair(None, lawyer=make_lawyer("新律师", district.firms[0]), village=village,
                term_start=D(2026, 5, 15), term_end=D(2027, 5, 14))
    assert feedback.create_return_visits(D(2026, 5, 14)) == 0  # the term has not begun
    today = D(2026, 5, 15)
    monkeypatch.setattr(feedback.clock, "today", lambda: today)
    assert jobs.open_return_visits.call_local() == 1
    assert jobs.open_return_visits.call_local() == 0
    visit = ReturnVisit.get(ReturnVisit.pairing == late.id)
    assert (visit.period, visit.due_on, visit.assignee_id) == (
        "2026Q2", D(2026, 6, 30), district.users.town_coordinator.id)
    assert ReturnVisit.select().count() == 5


def test_the_months_keep_their_cadence():
    """JIEDUI_RETURN_VISIT_MONTHS still says which quarters have visits, and from when."""
    assert feedback.open_period(D(2026, 5, 20), (1, 4, 7, 10)) == "2026Q2"
    assert feedback.open_period(D(2026, 5, 20), (1, 7)) is None  # no visits in Q2
    assert feedback.open_period(D(2026, 9, 30), (1, 7)) == "2026Q3"
    assert feedback.open_period(D(2026, 1, 31), (2, 5, 8, 11)) is None  # opens 1 February
    assert feedback.open_period(D(2026, 3, 31), (2, 5, 8, 11)) == "2026Q1"


def test_the_daily_run_creates_nothing_in_a_quarter_without_visits(district):
    assert feedback.create_return_visits(D(2026, 5, 20), months=(1, 7)) == 0
    assert feedback.create_return_visits(D(2026, 7, 2), months=(1, 7)) == 4


@pytest.fixture
def visit(district):
    feedback.create_return_visits(D(2026, 4, 1))
    return ReturnVisit.get(ReturnVisit.pairing == district.pairings[0])


def test_the_town_coordinator_records_a_visit(district, visit):
    done = feedback.complete_return_visit(district.users.town_coordinator, visit,
                                          contact=" 村主任 ", satisfaction="4", comments="好")
    done = ReturnVisit.get_by_id(done.id)
    assert (done.status, done.contact, done.satisfaction, done.comments) == (
        "done", "村主任", 4, "好")
    assert done.done_by_id == district.users.town_coordinator.id and done.done_at


@pytest.mark.parametrize("who", ["other_town_coordinator", "lawyer", "village"])
def test_only_coordinators_in_scope_record_visits(district, visit, who):
    with pytest.raises(PermissionDenied):
        feedback.complete_return_visit(getattr(district.users, who), visit,
                                       contact="村主任", satisfaction=5)
    assert ReturnVisit.get_by_id(visit.id).status == "open"


@pytest.mark.parametrize("fields", [
    dict(contact="村主任", satisfaction=0), dict(contact="村主任", satisfaction=6),
    dict(contact="村主任", satisfaction="x"), dict(contact="村主任", satisfaction=None),
    dict(contact="  ", satisfaction=3), dict(contact="村主任", satisfaction=3, comments="x" * 2001),
])
def test_a_bad_visit_record_is_refused(district, visit, fields):
    with pytest.raises(ValidationError):
        feedback.complete_return_visit(district.users.coordinator, visit, **fields)
    assert ReturnVisit.get_by_id(visit.id).status == "open"


# --- residents' ratings -------------------------------------------------------------------

def test_one_rating_per_device_and_quarter(district):
    rating = feedback.rate_lawyer("T1V1", device_id="device-a", score=5, comment=" 很好 ", now=JAN)
    assert (rating.pairing_id, rating.period, rating.score, rating.comment) == (
        district.pairings[0].id, "2026Q1", 5, "很好")
    assert rating.device_hash == feedback.device_hash("device-a") != "device-a"
    with pytest.raises(ConflictError, match="already rated .* this quarter"):
        feedback.rate_lawyer("T1V1", device_id="device-a", score=4, now=JAN + dt.timedelta(days=30))
    feedback.rate_lawyer("T1V1", device_id="device-b", score=4, now=JAN)  # another device
    feedback.rate_lawyer("T1V2", device_id="device-a", score=4, now=JAN)  # another village
    feedback.rate_lawyer("T1V1", device_id="device-a", score=4, now=T(2026, 4, 2))  # next quarter
    assert Rating.select().count() == 4


def test_a_village_takes_a_sane_number_of_ratings_per_hour(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_RATINGS_PER_HOUR", "2")
    for minute, device in ((0, "d1"), (10, "d2")):
        feedback.rate_lawyer("T1V1", device_id=device, score=4,
                             now=JAN + dt.timedelta(minutes=minute))
    with pytest.raises(ConflictError, match="many ratings in the last hour"):
        feedback.rate_lawyer("T1V1", device_id="d3", score=4, now=JAN + dt.timedelta(minutes=50))
    feedback.rate_lawyer("T1V2", device_id="d3", score=4, now=JAN + dt.timedelta(minutes=50))
    feedback.rate_lawyer("T1V1", device_id="d3", score=4, now=JAN + dt.timedelta(minutes=61))
    assert Rating.select().count() == 4


@pytest.mark.parametrize("code, fields, error", [
    ("NOPE", dict(score=3), NotFound),
    ("T1V3", dict(score=3), ValidationError),  # village 2 of town 1... is paired; 3 is not
    ("T1V1", dict(score=0), ValidationError),
    ("T1V1", dict(score=6), ValidationError),
    ("T1V1", dict(score="five"), ValidationError),
    ("T1V1", dict(score=3, comment="x" * 501), ValidationError),
    ("T1V1", dict(score=3, device_id=""), ValidationError),
])
def test_a_bad_rating_is_refused(district, code, fields, error):
    if code == "T1V3":
        end_pairing(None, district.pairings[2], ended_on=D(2026, 1, 5))
    fields.setdefault("device_id", "device-a")
    with pytest.raises(error):
        feedback.rate_lawyer(code, now=JAN, **fields)
    assert not Rating.select().exists()


def test_a_low_rating_asks_the_coordinators_to_follow_up_and_tells_the_lawyer(district):
    users = district.users
    feedback.rate_lawyer("T1V1", device_id="d1", score=3, now=JAN)
    assert not Notification.select().exists()
    low = feedback.rate_lawyer("T1V1", device_id="d2", score=2, comment="不回电话", now=JAN)
    notified = {n.user_id: n for n in Notification.select()}
    assert set(notified) == {users.town_coordinator.id, users.coordinator.id, users.lawyer.id}
    note = notified[users.town_coordinator.id]
    assert (note.kind, note.body, note.link) == ("low_rating", "不回电话", "/feedback/ratings")
    # the lawyer: the score and where to see their ratings, nothing of who gave it
    told = notified[users.lawyer.id]
    assert told.kind == "low_rating" and "2" in told.title and "东湖1村" in told.title
    assert "不回电话" not in told.title + told.body and "d2" not in told.title + told.body
    assert told.link == f"/assessment/{district.pairings[0].id}?year=2026"
    with pytest.raises(PermissionDenied):
        feedback.mark_followed_up(users.other_town_coordinator, low)
    assert not Rating.get_by_id(low.id).followed_up
    feedback.mark_followed_up(users.town_coordinator, low)
    assert Rating.get_by_id(low.id).followed_up


# --- satisfaction -------------------------------------------------------------------------

def _visit(pairing, period, score, status="done"):
    ReturnVisit.create(pairing=pairing, period=period, due_on=D(2026, 3, 31), status=status,
                       satisfaction=score if status == "done" else None)


def _rating(pairing, period, score, device):
    Rating.create(pairing=pairing, period=period, device_hash=device, score=score)


@pytest.fixture
def answers(district):
    p = district.pairings  # 0-2 in town 1, 3 in town 2
    _visit(p[0], "2026Q1", 4)
    _visit(p[1], "2026Q1", 2)
    _visit(p[2], "2026Q1", None, status="open")  # not answered yet: not counted
    _visit(p[3], "2026Q1", 5)
    _visit(p[0], "2026Q2", 5)
    _rating(p[0], "2026Q1", 5, "a")
    _rating(p[0], "2026Q1", 2, "b")
    _rating(p[3], "2026Q2", 1, "a")
    return district


def test_satisfaction_per_pairing_town_and_district(answers):
    d = answers
    table = feedback.satisfaction()
    assert table.periods == ["2026Q1", "2026Q2"]
    district_q1 = table.district.scores["2026Q1"]
    assert (district_q1.visit_average, district_q1.visits) == (3.67, 3)
    assert (district_q1.rating_average, district_q1.ratings) == (3.5, 2)
    towns = {line.key: line for line in table.towns}
    assert towns[d.towns[0].id].scores["2026Q1"].visit_average == 3.0
    assert towns[d.towns[1].id].scores["2026Q2"].rating_average == 1.0
    pairings = {line.key: line for line in table.pairings}
    assert pairings[d.pairings[0].id].scores["2026Q2"].visit_average == 5.0
    assert pairings[d.pairings[0].id].label == f"{d.villages[0].name} · {d.lawyers[0].name}"
    assert d.pairings[2].id not in pairings


def test_satisfaction_of_one_town_still_compares_with_the_district(answers):
    d = answers
    table = feedback.satisfaction(town=d.towns[0], period="2026Q1")
    assert table.periods == ["2026Q1"]
    assert [line.key for line in table.towns] == [d.towns[0].id]
    assert {line.key for line in table.pairings} == {d.pairings[0].id, d.pairings[1].id}
    assert table.district.scores["2026Q1"].visits == 3
    one = feedback.satisfaction(pairing=d.pairings[3])
    assert [line.key for line in one.pairings] == [d.pairings[3].id]
    assert [line.key for line in one.towns] == [d.towns[1].id]


# --- web ----------------------------------------------------------------------------------

def test_coordinators_see_and_record_the_visits_of_their_scope(district, visit, login):
    client = login(district.users.town_coordinator)
    client.set_cookie("lang", "en")  # assertions read the English msgids
    page = client.get("/feedback/visits").get_data(as_text=True)
    assert district.villages[0].name in page and district.villages[3].name not in page
    assert "2026Q2" in client.get("/feedback/visits?period=2026Q2&status=open").get_data(
        as_text=True)
    assert "No return visit matches" in client.get("/feedback/visits?status=done").get_data(
        as_text=True)
    response = client.post(f"/feedback/visits/{visit.id}", headers={"HX-Request": "true"},
                           data={"contact": "村主任", "satisfaction": "9", "comments": ""})
    assert response.status_code == 422 and "1 to 5" in response.get_data(as_text=True)
    response = client.post(f"/feedback/visits/{visit.id}", headers={"HX-Request": "true"},
                           data={"contact": "村主任", "satisfaction": "4", "comments": ""})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "returnVisitDone"
    assert ReturnVisit.get_by_id(visit.id).satisfaction == 4
    other = ReturnVisit.get(ReturnVisit.pairing == district.pairings[3])
    assert client.get(f"/feedback/visits/{other.id}").status_code == 404
    assert client.post(f"/feedback/visits/{other.id}",
                       data={"contact": "x", "satisfaction": "1"}).status_code == 404
    assert ReturnVisit.get_by_id(other.id).status == "open"


def test_lawyers_cannot_open_the_feedback_pages(district, visit, login):
    client = login(district.users.lawyer)
    for url in ("/feedback/visits", "/feedback/satisfaction", "/feedback/ratings",
                f"/feedback/visits/{visit.id}"):
        assert client.get(url).status_code == 403


def test_satisfaction_and_low_ratings_pages(answers, login):
    d = answers
    client = login(d.users.coordinator)
    client.set_cookie("lang", "en")  # assertions read the English msgids
    assert client.get("/feedback/satisfaction").status_code == 200
    low = Rating.get(Rating.score == 1)  # in town 2
    page = client.get("/feedback/ratings").get_data(as_text=True)
    assert "1/5" in page and "5/5" not in page
    town1 = login(d.users.town_coordinator)
    assert "1/5" not in town1.get("/feedback/ratings").get_data(as_text=True)
    assert town1.post(f"/feedback/ratings/{low.id}/followed-up").status_code == 404
    client = login(d.users.other_town_coordinator)
    response = client.post(f"/feedback/ratings/{low.id}/followed-up",
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Followed up" in response.get_data(as_text=True)
    assert Rating.get_by_id(low.id).followed_up
    assert "1/5" not in client.get("/feedback/ratings").get_data(as_text=True)
    assert "1/5" in client.get("/feedback/ratings?show=all").get_data(as_text=True)


def test_residents_rate_from_the_public_page_once_a_quarter(district, client):
    hx = {"HX-Request": "true"}
    client.set_cookie("lang", "en")  # assertions read the English msgids
    response = client.post("/v/T1V1/rate", data={"score": "5", "comment": "谢谢"}, headers=hx)
    assert response.status_code == 200 and "Thank you" in response.get_data(as_text=True)
    cookie = response.headers["Set-Cookie"]
    assert "jiedui_device=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age" in cookie
    again = client.post("/v/T1V1/rate", data={"score": "4"}, headers=hx)
    assert again.status_code == 422 and "already rated" in again.get_data(as_text=True)
    assert "Set-Cookie" not in again.headers  # the device keeps its id
    assert Rating.select().count() == 1
    assert client.post("/v/NOPE/rate", data={"score": "4"}).status_code == 404
    full = client.post("/v/T1V2/rate", data={"score": "7"})  # no htmx: a whole page
    assert full.status_code == 422 and "1 to 5" in full.get_data(as_text=True)
    assert "<html" in full.get_data(as_text=True)


def test_the_rating_form_partial_posts_to_the_rating_endpoint(district, app):
    from flask import render_template
    with app.test_request_context("/v/T1V1"):
        html = render_template("feedback/_rate_form.html", code="T1V1")
    assert 'hx-post="/v/T1V1/rate"' in html and 'name="csrf_token"' in html
    assert 'name="score"' in html and 'maxlength="500"' in html
