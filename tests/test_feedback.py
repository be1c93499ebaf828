"""Return visits, residents' ratings and satisfaction (DOMAIN 五.4)."""
import datetime as dt

import pytest

from core import feedback, jobs
from core.config import ConfigError, parse_months
from core.errors import (ConflictError, NotFound, PermissionDenied, TooManyAttempts,
                         ValidationError)
from core.models import AuditLog, Notification, Rating, ReturnVisit, User, Village
from core.pairings import end_pairing, pair
from tests.factories import make_lawyer, session, verified_rating
from tests.planning_support import now  # noqa: F401 (a fixture)

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
    with pytest.raises(ConflictError, match="many ratings without a code in the last hour"):
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


def test_a_low_verified_rating_asks_the_coordinators_to_follow_up_and_tells_the_lawyer(
        district, codes):
    users = district.users
    feedback.rate_lawyer("T1V1", code=codes[0], score=3, now=JAN)
    assert not Notification.select().exists()
    low = feedback.rate_lawyer("T1V1", code=codes[1], score=2, comment="不回电话", now=JAN)
    notified = {n.user_id: n for n in Notification.select()}
    assert set(notified) == {users.town_coordinator.id, users.coordinator.id, users.lawyer.id}
    note = notified[users.town_coordinator.id]
    assert (note.kind, note.body, note.link) == ("low_rating", "不回电话", "/feedback/ratings")
    # the lawyer: the score and where to see their ratings, nothing of who gave it
    told = notified[users.lawyer.id]
    assert told.kind == "low_rating" and "2" in told.title and "东湖1村" in told.title
    assert "不回电话" not in told.title + told.body and codes[1] not in told.title + told.body
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
    """A verified rating (it counts), and an anonymous 5/5 beside it (it does not)."""
    verified_rating(pairing, period, score)
    Rating.create(pairing=pairing, period=period, device_hash=device, score=5)


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
    assert "jiedui_device" not in again.headers.get("Set-Cookie", "")  # the device keeps its id
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


# --- ratings that residents own: codes, limits, bursts ------------------------------------------

SESSION_DAY = D(2026, 1, 9)  # the day before JAN, 08:30-12:00 district time
FLOODER = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def held(district):
    """A session of pairing 0 (东湖1村, 张明) held on SESSION_DAY."""
    return session(district.pairings[0], SESSION_DAY)


@pytest.fixture
def codes(district, held):
    """Five rating codes the lawyer printed for the session that morning."""
    return feedback.issue_codes(district.users.lawyer, held, 5, now=JAN - dt.timedelta(days=1))


def _figures(pairing, year=2026):
    from core.assessment import assess
    return next(row for row in assess(year) if row.pairing.id == pairing.id)


def _slip_codes(html: str) -> list[str]:
    import re
    return [code.replace(" ", "") for code in re.findall(r"<strong>([A-Z]{4} [A-Z]{4})</strong>",
                                                          html)]


def test_a_flood_of_anonymous_one_star_ratings_sinks_nobody(district, app, login, now):
    """The finding: a client that drops its cookie each time sent 30 one-star ratings in a
    minute. The lawyer's assessment is as it was, the coordinators hear of it once, the
    ratings are flagged, and a resident with a code is heard right after, and counts."""
    users, pairing = district.users, district.pairings[0]
    now(JAN)
    ReturnVisit.create(pairing=pairing, period="2026Q1", due_on=D(2026, 3, 31), status="done",
                       satisfaction=4)
    before = _figures(pairing)
    answers = [app.test_client().post("/v/T1V1/rate", data={"score": "1"}, environ_base=FLOODER)
               for _ in range(30)]
    assert [a.status_code for a in answers] == [200] * 10 + [429] * 20  # per address
    after = _figures(pairing)
    assert (after.total, after.figures.ratings) == (before.total, 0)
    notices = list(Notification.select())
    assert len(notices) == 1 and notices[0].kind == "rating_burst"
    assert notices[0].user_id == users.town_coordinator.id
    assert Rating.select().where(Rating.burst.is_null()).count() == 0  # all ten flagged
    page = login(users.town_coordinator).get("/feedback/ratings").get_data(as_text=True)
    assert 'id="burst-' in page and page.count('class="badge warn"') >= 10
    # the session's lawyer prints codes; a resident on the same network rates with one
    held = session(pairing, SESSION_DAY)
    sheet = login(users.lawyer).post(f"/calendar/events/{held.id}/rating-codes",
                                     data={"count": "3"})
    assert sheet.status_code == 200 and sheet.headers["Cache-Control"] == "no-store"
    code = _slip_codes(sheet.get_data(as_text=True))[0]
    resident = app.test_client()
    resident.set_cookie("lang", "en")
    answer = resident.post("/v/T1V1/rate", data={"score": "5", "code": code.lower()},
                           environ_base=FLOODER, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "Thank you" in answer.get_data(as_text=True)
    counted = _figures(pairing).figures
    assert (counted.ratings, counted.rating_average, counted.satisfaction) == (1, 5.0, 4.5)
    assert Notification.select().count() == 1


def test_anonymous_ratings_are_capped_per_village_but_a_code_still_works(district, app,
                                                                         codes, now):
    now(JAN)
    for n in range(32):
        status = app.test_client().post(
            "/v/T1V1/rate", data={"score": "2"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code
        assert status == (200 if n < 30 else 422), n  # JIEDUI_RATINGS_PER_HOUR
    other_village = app.test_client().post("/v/T1V2/rate", data={"score": "2"},
                                           environ_base={"REMOTE_ADDR": "198.51.100.99"})
    assert other_village.status_code == 200
    with_code = app.test_client().post("/v/T1V1/rate", data={"score": "2", "code": codes[0]},
                                       environ_base={"REMOTE_ADDR": "198.51.100.98"})
    assert with_code.status_code == 200
    verified = Rating.get(Rating.code.is_null(False))
    assert verified.pairing_id == district.pairings[0].id
    assert _figures(district.pairings[0]).figures.ratings == 1
    # anonymous low ratings notify nobody; the burst once; the verified low one as before
    kinds = sorted(n.kind for n in Notification.select())
    assert kinds.count("rating_burst") == 1 and kinds.count("low_rating") == 3


def test_the_per_address_limit_refuses_only_that_address(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_RATINGS_PER_ADDRESS", "2")
    monkeypatch.setenv("JIEDUI_RATINGS_BURST_COUNT", "10")
    for n in range(2):
        feedback.rate_lawyer("T1V1", device_id=f"a{n}", score=3, address="192.0.2.1", now=JAN)
    with pytest.raises(TooManyAttempts, match="from your network"):
        feedback.rate_lawyer("T1V1", device_id="a2", score=3, address="192.0.2.1", now=JAN)
    feedback.rate_lawyer("T1V1", device_id="b0", score=3, address="192.0.2.2", now=JAN)
    # an IPv6 subscriber is its /64: a new address in it is the same network
    for n, address in enumerate(("2001:db8:1:2::1", "2001:db8:1:2::ffff")):
        feedback.rate_lawyer("T1V1", device_id=f"v{n}", score=3, address=address, now=JAN)
    with pytest.raises(TooManyAttempts):
        feedback.rate_lawyer("T1V1", device_id="v2", score=3, address="2001:db8:1:2:aa::7",
                             now=JAN)
    # an hour later the address may rate again
    feedback.rate_lawyer("T1V1", device_id="a3", score=3, address="192.0.2.1",
                         now=JAN + dt.timedelta(minutes=61))


def test_only_a_keyed_daily_hash_of_the_address_is_kept_and_only_for_a_day(district, client,
                                                                            now):
    import hashlib
    now(JAN)
    address = "198.51.100.23"
    assert client.post("/v/T1V1/rate", data={"score": "4"},
                       environ_base={"REMOTE_ADDR": address}).status_code == 200
    rating = Rating.get()
    assert rating.address_hash and rating.address_hash != hashlib.sha256(
        address.encode()).hexdigest()
    assert rating.address_hash != feedback.address_hash(address, JAN + dt.timedelta(days=1))
    stored = [str(value) for row in Rating.select().tuples() for value in row]
    assert not any(address in value for value in stored)
    # the next anonymous rating a day later erases the hashes older than a day
    feedback.rate_lawyer("T1V2", device_id="d", score=4, address="192.0.2.1",
                         now=JAN + dt.timedelta(days=1, minutes=1))
    assert Rating.get_by_id(rating.id).address_hash == ""


def test_behind_a_proxy_the_forwarded_address_is_the_one_limited(district, monkeypatch, now):
    from web import create_app
    monkeypatch.setenv("JIEDUI_TRUSTED_PROXIES", "1")
    monkeypatch.setenv("JIEDUI_RATINGS_PER_ADDRESS", "1")
    now(JAN)
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})

    def rate(forwarded):
        return app.test_client().post("/v/T1V1/rate", data={"score": "4"},
                                      headers={"X-Forwarded-For": forwarded}).status_code
    assert [rate("192.0.2.7"), rate("192.0.2.7"), rate("192.0.2.8")] == [200, 429, 200]


def test_a_code_rates_once_for_its_village_and_its_time(district, held, codes):
    users = district.users
    with pytest.raises(ValidationError, match="not one of 西山1村"):  # another village
        feedback.rate_lawyer("T2V1", code=codes[0], score=5, now=JAN)
    rating = feedback.rate_lawyer("T1V1", code=f" {codes[0][:4].lower()}-{codes[0][4:]} ",
                                  score=5, now=JAN)
    assert (rating.pairing_id, rating.period, rating.device_hash) == (
        district.pairings[0].id, "2026Q1", None)
    with pytest.raises(ConflictError, match="used already"):
        feedback.rate_lawyer("T1V1", code=codes[0], score=1, now=JAN)
    # one device, several residents' codes: each code rates once, the device is no limit
    feedback.rate_lawyer("T1V1", code=codes[1], score=4, device_id="family-phone", now=JAN)
    with pytest.raises(ValidationError, match="works from the session"):
        feedback.rate_lawyer("T1V1", code=codes[2], score=4, now=T(2026, 1, 9, 0, 0))
    valid_until = feedback.code_valid_until(held)
    assert valid_until == D(2026, 2, 8)  # JIEDUI_RATING_CODE_DAYS after the session
    last_minute = feedback.clock.utc_from_local(valid_until, dt.time(23, 59))
    feedback.rate_lawyer("T1V1", code=codes[2], score=4, now=last_minute)
    with pytest.raises(ValidationError, match="worked until 2026-02-08"):
        feedback.rate_lawyer("T1V1", code=codes[3], score=4,
                             now=last_minute + dt.timedelta(minutes=1))
    with pytest.raises(ValidationError, match="letters"):
        feedback.rate_lawyer("T1V1", code="ABC", score=4, now=JAN)
    from core.events import cancel_event
    later = session(district.pairings[0], D(2026, 1, 12), status="planned")
    void = feedback.issue_codes(users.town_coordinator, later, 1, now=JAN)[0]
    cancel_event(users.town_coordinator, later, reason="下雪")
    with pytest.raises(ValidationError, match="not one of"):
        feedback.rate_lawyer("T1V1", code=void, score=4, now=T(2026, 1, 12, 3))
    assert Rating.select().count() == 3
    assert _figures(district.pairings[0]).figures.ratings == 3


def test_codes_are_kept_only_as_keyed_hashes_and_guessing_stops(district, codes, monkeypatch):
    import hashlib
    from core.models import RatingCode, RatingCodeMiss
    stored = {row.code_hash for row in RatingCode.select()}
    assert len(stored) == 5 and not set(codes) & stored
    assert not {hashlib.sha256(code.encode()).hexdigest() for code in codes} & stored
    assert all(len(code) == 8 and set(code) <= set(feedback.CODE_ALPHABET) for code in codes)
    assert not set("ILO") & set(feedback.CODE_ALPHABET)
    monkeypatch.setattr(feedback, "CODE_MISSES_PER_HOUR", 3)
    for guess in ("AAAAAAAA", "AAAAAAAB", "AAAAAAAC"):
        with pytest.raises(ValidationError):
            feedback.rate_lawyer("T1V1", code=guess, score=5, address="192.0.2.66", now=JAN)
    assert RatingCodeMiss.select().count() == 3
    with pytest.raises(TooManyAttempts):  # even a right code, from the guessing network
        feedback.rate_lawyer("T1V1", code=codes[0], score=5, address="192.0.2.66", now=JAN)
    feedback.rate_lawyer("T1V1", code=codes[0], score=5, address="192.0.2.67", now=JAN)


def test_who_may_print_codes_for_which_events(district, held):
    users, before = district.users, JAN - dt.timedelta(days=1)
    for who in ("other_town_coordinator", "village"):
        with pytest.raises(PermissionDenied):
            feedback.issue_codes(getattr(users, who), held, 5, now=before)
    for count in (0, 61, "x"):
        with pytest.raises(ValidationError, match="between 1 and 60"):
            feedback.issue_codes(users.lawyer, held, count, now=before)
    future = session(district.pairings[0], D(2026, 3, 9), status="planned")
    with pytest.raises(ValidationError, match="from 2026-03-02"):
        feedback.issue_codes(users.lawyer, future, 5, now=before)
    with pytest.raises(ValidationError, match="too late"):
        feedback.issue_codes(users.lawyer, held, 5, now=T(2026, 2, 9))
    task_event = session(district.pairings[0], SESSION_DAY, kind="task")
    with pytest.raises(ValidationError, match="sessions and publicity"):
        feedback.issue_codes(users.lawyer, task_event, 5, now=before)
    assert len(feedback.issue_codes(users.town_coordinator, held, 60, now=before)) == 60
    assert len(set(feedback.issue_codes(users.lawyer, held, 60, now=before))) == 60
    entry = AuditLog.select().where(AuditLog.action == "rating_code.issue").order_by(
        AuditLog.id.desc()).first()
    assert (entry.user_id, entry.object_id, entry.detail["count"]) == (
        users.lawyer.id, str(held.id), 60)
    feedback.issue_codes(users.lawyer, held, 60, now=before)
    with pytest.raises(ValidationError, match="at most 200"):
        feedback.issue_codes(users.lawyer, held, 21, now=before)


def _burst(district, count=6, village="T1V1"):
    """``count`` anonymous ratings of ``village`` within two minutes of JAN."""
    return [feedback.rate_lawyer(village, device_id=f"{village}-{n}", score=1,
                                 now=JAN + dt.timedelta(seconds=20 * n)) for n in range(count)]


def test_more_than_the_burst_count_within_the_minutes_is_one_burst_and_one_notice(district):
    from core.models import RatingBurst
    ratings = _burst(district, 5)
    assert not RatingBurst.select().exists() and not Notification.select().exists()
    _burst(district, 1, "T1V2")  # another village: its own count
    feedback.rate_lawyer("T1V1", device_id="sixth", score=5, now=JAN + dt.timedelta(minutes=3))
    calm = feedback.rate_lawyer("T1V1", device_id="7th", score=5,
                                now=JAN + dt.timedelta(minutes=12))  # 2 in the last 10 minutes
    burst = RatingBurst.get()
    assert (burst.village_id, burst.count, burst.started_at) == (
        district.villages[0].id, 6, ratings[0].created_at)
    assert Rating.get_by_id(calm.id).burst_id is None
    assert [n.kind for n in Notification.select()] == ["rating_burst"]
    # quiet for longer than the minutes: the next flood is a new burst, told again
    later = JAN + dt.timedelta(hours=2)
    for n in range(6):
        feedback.rate_lawyer("T1V1", device_id=f"later-{n}", score=1,
                             now=later + dt.timedelta(seconds=n))
    assert RatingBurst.select().count() == 2 and Notification.select().count() == 2


def test_excluding_flagged_ratings_is_audited_and_for_the_villages_coordinators(district,
                                                                               login, codes):
    from core.models import RatingBurst
    users = district.users
    flagged = [Rating.get_by_id(rating.id) for rating in _burst(district)]
    verified = feedback.rate_lawyer("T1V1", code=codes[0], score=1, now=JAN)
    burst = RatingBurst.get()
    for who in ("other_town_coordinator", "lawyer", "village"):
        with pytest.raises(PermissionDenied):
            feedback.exclude_rating(getattr(users, who), flagged[0])
        with pytest.raises(PermissionDenied):
            feedback.exclude_burst(getattr(users, who), burst)
    with pytest.raises(ValidationError, match="flagged"):
        feedback.exclude_rating(users.town_coordinator, verified)
    feedback.exclude_rating(users.town_coordinator, flagged[0])
    entry = AuditLog.get(AuditLog.action == "rating.exclude")
    assert (entry.user_id, entry.object_id) == (users.town_coordinator.id, str(flagged[0].id))
    # over the web: other towns' coordinators get 404, the village's exclude the burst
    other = login(users.other_town_coordinator)
    assert other.post(f"/feedback/ratings/{flagged[1].id}/exclude").status_code == 404
    assert other.post(f"/feedback/bursts/{burst.id}/exclude").status_code == 404
    assert login(users.lawyer).post(f"/feedback/bursts/{burst.id}/exclude").status_code == 403
    client = login(users.coordinator)
    client.set_cookie("lang", "en")
    response = client.post(f"/feedback/bursts/{burst.id}/exclude", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "ratingExcluded"
    assert Rating.select().where(Rating.excluded).count() == 6
    entry = AuditLog.get(AuditLog.action == "rating_burst.exclude")
    assert entry.user_id == users.coordinator.id
    assert sorted(entry.detail["ratings"]) == sorted(r.id for r in flagged[1:])
    assert 'id="burst-' not in client.get("/feedback/ratings").get_data(as_text=True)
    assert not Rating.get_by_id(verified.id).excluded


def test_the_ratings_page_says_which_ratings_count(district, login, codes):
    _burst(district)
    feedback.rate_lawyer("T1V1", code=codes[0], score=2, comment="有码", now=JAN)
    client = login(district.users.town_coordinator)
    client.set_cookie("lang", "en")
    page = client.get("/feedback/ratings").get_data(as_text=True)
    assert page.count("Counts in the assessment") == 1 and page.count("Does not count") == 6
    assert "code of the session on 2026-01-09" in page and "Bursts of anonymous ratings" in page
    flagged = client.get("/feedback/ratings?show=flagged").get_data(as_text=True)
    assert "有码" not in flagged and flagged.count("Does not count") == 6


def test_the_event_page_prints_a_sheet_of_codes_the_public_form_takes(district, login, app,
                                                                     now):
    now(JAN)
    held = session(district.pairings[0], SESSION_DAY)
    client = login(district.users.lawyer)
    client.set_cookie("lang", "en")
    page = client.get(f"/calendar/events/{held.id}").get_data(as_text=True)
    assert "Rating codes for residents" in page and f"/calendar/events/{held.id}/rating-codes" in page
    sheet = client.post(f"/calendar/events/{held.id}/rating-codes", data={"count": "4"})
    html = sheet.get_data(as_text=True)
    codes = _slip_codes(html)
    assert len(codes) == 4 and "shown only this once" in html and "2026-02-08" in html
    assert html.count('src="data:image/svg+xml') == 4  # each slip's QR: the page with its code
    assert "Codes printed for this event: 4, used: 0" in client.get(
        f"/calendar/events/{held.id}").get_data(as_text=True)
    # a resident scans the slip: the form has the code filled in
    resident = app.test_client()
    form = resident.get(f"/v/T1V1?rc={codes[0]}").get_data(as_text=True)
    assert f'value="{codes[0]}"' in form
    refused = resident.post("/v/T1V1/rate", data={"score": "9", "code": codes[0]},
                            headers={"HX-Request": "true"})
    assert refused.status_code == 422 and f'value="{codes[0]}"' in refused.get_data(as_text=True)
    # another lawyer's, a village user's or a planned session far ahead: no sheet
    other = session(district.pairings[1], SESSION_DAY)
    assert "rating-codes" not in client.get(f"/calendar/events/{other.id}").get_data(as_text=True)
    assert client.post(f"/calendar/events/{other.id}/rating-codes",
                       data={"count": "4"}).status_code in (403, 404)
    assert login(district.users.village).post(f"/calendar/events/{held.id}/rating-codes",
                                              data={"count": "4"}).status_code == 403


def test_the_rating_settings_are_checked(monkeypatch):
    from core.config import load_settings
    settings = load_settings({"JIEDUI_INSTANCE": load_settings().instance.as_posix()})
    assert (settings.ratings_per_hour, settings.ratings_per_address, settings.ratings_burst_count,
            settings.ratings_burst_minutes, settings.rating_code_days) == (30, 10, 5, 10, 30)
    for name in ("JIEDUI_RATINGS_PER_ADDRESS", "JIEDUI_RATINGS_BURST_COUNT",
                 "JIEDUI_RATINGS_BURST_MINUTES", "JIEDUI_RATING_CODE_DAYS"):
        with pytest.raises(ConfigError, match=name):
            load_settings({"JIEDUI_INSTANCE": settings.instance.as_posix(), name: "0"})
