"""Pairing forms: pair, change the term, end, replace — HTMX fragments, 422 on refusal."""
import datetime as dt
import re

import pytest

from core import clock
from core.errors import ConflictError
from core.i18n import gettext_for
from core.models import Pairing, WechatGroup
from core.arrangements import Arrangement
from core.pairings import ONE_ACTIVE_MESSAGE, active_pairing, default_term_end

HX = {"HX-Request": "true"}
D = dt.date


@pytest.fixture
def login(login, client):
    """Log in with the English UI, so assertions do not depend on the zh_CN catalog."""
    client.set_cookie("lang", "en")
    return login


@pytest.fixture
def coordinator(district, login):
    return login(district.users.coordinator)


def arrangement_data(prefix, week="1", weekday="1", start="09:00", end="12:30"):
    return {f"{prefix}-onsite_week": week, f"{prefix}-onsite_weekday": weekday,
            f"{prefix}-onsite_start": start, f"{prefix}-onsite_end": end}


def pair_data(lawyer, start="2026-03-01", end="2029-02-28", **extra):
    return {"pair-lawyer": str(lawyer.id), "pair-term_start": start, "pair-term_end": end,
            **arrangement_data("pair"), **extra}


def snapshot():
    """Everything a pairing change writes, to show that a refusal wrote nothing."""
    return [tuple(row) for row in Pairing.select().order_by(Pairing.id).tuples()], \
        WechatGroup.select().count()


def field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<span class="field-error" id="{field_id}-error">([^<]*)<', html)
    return match.group(1) if match else ""


# --- the panel -----------------------------------------------------------------------------

def test_panel_shows_the_active_pairing_and_manager_forms(district, coordinator):
    response = coordinator.get("/pairings/village/T1V1/panel", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    assert "张明" in html and "明德律师事务所" in html and "2026-01-01 – 2028-12-31" in html
    assert "东湖1村结对律师服务微信群" in html and "Paired lawyer" in html
    pairing = district.pairings[0]
    for action in ("term", "end", "replace"):
        assert f'hx-post="/pairings/{pairing.id}/{action}"' in html
    assert html.count("hx-confirm=") == 2  # ending and replacing ask first
    assert "Pair a lawyer" not in html


def test_panel_of_unpaired_village_offers_pairing_with_default_term(district, coordinator):
    html = coordinator.get("/pairings/village/T2V2/panel", headers=HX).get_data(as_text=True)
    today = clock.today()
    assert "No lawyer" in html and "Pair a lawyer" in html
    assert f'value="{today.isoformat()}"' in html
    assert f'value="{default_term_end(today).isoformat()}"' in html
    assert '<optgroup label="明德律师事务所">' in html
    assert 'hx-post="/pairings/village/T2V2"' in html


def test_default_term_is_three_years_less_a_day():
    assert default_term_end(D(2026, 1, 1)) == D(2028, 12, 31)
    assert default_term_end(D(2024, 2, 29)) == D(2027, 2, 28)


def test_panel_without_htmx_is_a_full_page(district, coordinator):
    html = coordinator.get("/pairings/village/T1V1/panel").get_data(as_text=True)
    assert "<html" in html and "pairing-panel-T1V1" in html


def test_lawyer_and_village_users_read_the_panel_without_forms(district, login):
    for user in (district.users.lawyer, district.users.village):
        response = login(user).get("/pairings/village/T1V1/panel", headers=HX)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "张明" in html and "<form" not in html
        assert login(user).get("/pairings/village/T1V2/panel").status_code == 404


def test_unknown_village_is_404(district, coordinator):
    assert coordinator.get("/pairings/village/NOPE/panel").status_code == 404
    assert coordinator.post("/pairings/village/NOPE", data={}).status_code == 404
    assert coordinator.post("/pairings/9999/end", data={}).status_code == 404


# --- pairing -------------------------------------------------------------------------------

def test_pair_a_lawyer_with_htmx(district, coordinator):
    lawyer = district.lawyers[2]
    response = coordinator.post("/pairings/village/T2V2", data=pair_data(lawyer), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "pairingChanged"
    assert "HX-Request" in response.headers["Vary"] and "<html" not in html
    pairing = active_pairing(district.villages[4])
    assert (pairing.lawyer_id, pairing.term_start, pairing.term_end) == (
        lawyer.id, D(2026, 3, 1), D(2029, 2, 28))
    assert pairing.arrangement == Arrangement(1, 1, dt.time(9, 0), dt.time(12, 30))
    assert "王芳 is now the lawyer of 西山2村." in html
    assert "The first Tuesday of each month, Morning 9:00–12:30" in html
    # the coverage table, refreshed on pairingChanged, counts it
    fragment = coordinator.get("/coverage", headers=HX).get_data(as_text=True)
    assert 'id="coverage-count">5 / 6<' in fragment


def test_pair_without_htmx_redirects_back_with_a_message(district, coordinator):
    response = coordinator.post("/pairings/village/T2V2", data=pair_data(district.lawyers[2]),
                                headers={"Referer": "http://localhost/?unpaired=1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/?unpaired=1"
    assert active_pairing(district.villages[4]).lawyer_id == district.lawyers[2].id
    page = coordinator.get("/pairings/village/T2V2/panel").get_data(as_text=True)
    assert "王芳 is now the lawyer of 西山2村." in page


def test_redirect_back_never_leaves_the_site(district, coordinator):
    response = coordinator.post("/pairings/village/T2V2", data=pair_data(district.lawyers[2]),
                                headers={"Referer": "https://evil.example/phish"})
    assert response.headers["Location"] == "/pairings/village/T2V2/panel"


def test_second_active_lawyer_is_refused_with_422_and_nothing_written(district, coordinator):
    before = snapshot()
    response = coordinator.post("/pairings/village/T1V1", data=pair_data(district.lawyers[1]),
                                headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "HX-Trigger" not in response.headers
    expected = ConflictError(ONE_ACTIVE_MESSAGE, village="东湖1村", lawyer="张明")
    assert expected.translate(lambda msgid: msgid) in html
    assert snapshot() == before


def test_conflict_message_is_in_the_users_language(district, login, client):
    login(district.users.coordinator)
    client.set_cookie("lang", "zh_CN")
    response = client.post("/pairings/village/T1V1", data=pair_data(district.lawyers[1]),
                           headers=HX)
    expected = ConflictError(ONE_ACTIVE_MESSAGE, village="东湖1村", lawyer="张明")
    assert response.status_code == 422
    assert expected.translate(gettext_for("zh_CN")) in response.get_data(as_text=True)


@pytest.mark.parametrize("start, end, field", [
    ("2026-06-01", "2026-05-01", "pair-term_end"),   # ends before it starts (core rule)
    ("2026-06-01", "next year", "pair-term_end"),    # not a date
    ("", "2026-05-01", "pair-term_start"),           # missing
])
def test_pair_with_bad_dates_is_422_with_a_field_error(district, coordinator, start, end, field):
    before = snapshot()
    response = coordinator.post("/pairings/village/T2V2",
                                data=pair_data(district.lawyers[2], start=start, end=end),
                                headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, field)
    assert 'aria-invalid="true"' in html
    assert snapshot() == before


def test_pair_without_a_lawyer_or_with_a_bad_one_is_422(district, coordinator):
    before = snapshot()
    for value in ("", "abc", "9999"):
        response = coordinator.post("/pairings/village/T2V2",
                                    data=pair_data(district.lawyers[0], **{"pair-lawyer": value}),
                                    headers=HX)
        assert response.status_code == 422
        assert field_error(response.get_data(as_text=True), "pair-lawyer")
    assert snapshot() == before


def test_inactive_lawyer_cannot_be_chosen(district, coordinator):
    lawyer = district.lawyers[3]
    lawyer.active = False
    lawyer.save()
    html = coordinator.get("/pairings/village/T2V2/panel").get_data(as_text=True)
    select = re.search(r'<select id="pair-lawyer".*?</select>', html, re.S).group(0)
    assert "赵强" not in select and "张明" in select
    response = coordinator.post("/pairings/village/T2V2", data=pair_data(lawyer), headers=HX)
    assert response.status_code == 422 and active_pairing(district.villages[4]) is None


def test_failed_form_keeps_what_was_typed(district, coordinator):
    response = coordinator.post("/pairings/village/T2V2",
                                data=pair_data(district.lawyers[2], end="2026-01-01"), headers=HX)
    html = response.get_data(as_text=True)
    assert f'<option selected value="{district.lawyers[2].id}">' in html
    assert 'value="2026-01-01"' in html


# --- changing the term ---------------------------------------------------------------------

def test_change_term_and_arrangements(district, coordinator):
    pairing = district.pairings[0]
    response = coordinator.post(f"/pairings/{pairing.id}/term", headers=HX, data={
        "term-term_start": "2026-01-01", "term-term_end": "2027-06-30",
        **arrangement_data("term", week="5", weekday="2", start="14:00", end="17:30")})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "pairingChanged"
    pairing = Pairing.get_by_id(pairing.id)
    assert (pairing.term_end, pairing.arrangement) == (
        D(2027, 6, 30), Arrangement(5, 2, dt.time(14, 0), dt.time(17, 30)))
    assert "The last Wednesday of each month, Afternoon 14:00–17:30" in \
        response.get_data(as_text=True)
    assert "2026-01-01 – 2027-06-30" in response.get_data(as_text=True)


def test_change_term_with_end_before_start_is_refused(district, coordinator):
    pairing = district.pairings[0]
    before = snapshot()
    response = coordinator.post(f"/pairings/{pairing.id}/term", headers=HX, data={
        "term-term_start": "2026-01-01", "term-term_end": "2025-12-31", **arrangement_data("term")})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "before it starts" in field_error(html, "term-term_end")
    assert re.search(r"<details[^>]*\bopen\b[^>]*>\s*<summary>Change the term", html)
    assert snapshot() == before


def test_bad_weekday_is_refused(district, coordinator):
    pairing = district.pairings[0]
    before = snapshot()
    response = coordinator.post(f"/pairings/{pairing.id}/term", headers=HX, data={
        "term-term_start": "2026-01-01", "term-term_end": "2027-12-31",
        **arrangement_data("term", weekday="9")})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "term-onsite_weekday")
    assert snapshot() == before


def test_hours_shorter_than_half_a_day_are_refused_next_to_the_field(district, coordinator):
    pairing = district.pairings[0]
    before = snapshot()
    response = coordinator.post(f"/pairings/{pairing.id}/term", headers=HX, data={
        "term-term_start": "2026-01-01", "term-term_end": "2027-12-31",
        **arrangement_data("term", start="09:00", end="12:00")})
    assert response.status_code == 422
    assert "at least half a day (3.5 hours)" in field_error(response.get_data(as_text=True),
                                                            "term-onsite_end")
    assert snapshot() == before


# --- ending --------------------------------------------------------------------------------

def test_end_a_pairing(district, coordinator):
    pairing = district.pairings[0]
    response = coordinator.post(f"/pairings/{pairing.id}/end", headers=HX,
                                data={"end-ended_on": "2026-06-30", "end-reason": "工作调动"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "pairingChanged"
    pairing = Pairing.get_by_id(pairing.id)
    assert (pairing.status, pairing.ended_on, pairing.end_reason) == (
        "ended", D(2026, 6, 30), "工作调动")
    # the village is unpaired now; the old pairing is listed as past
    assert "Pair a lawyer" in html and "Past pairings" in html and "工作调动" in html
    assert 'id="coverage-count">3 / 6<' in coordinator.get("/coverage", headers=HX).get_data(as_text=True)


def test_end_before_the_term_starts_is_refused(district, coordinator):
    pairing = district.pairings[0]
    before = snapshot()
    response = coordinator.post(f"/pairings/{pairing.id}/end", headers=HX,
                                data={"end-ended_on": "2025-01-01"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "end-ended_on")
    assert snapshot() == before


def test_changing_an_ended_pairing_is_refused(district, coordinator):
    pairing = district.pairings[0]
    coordinator.post(f"/pairings/{pairing.id}/end", data={"end-ended_on": "2026-06-30"})
    before = snapshot()
    response = coordinator.post(f"/pairings/{pairing.id}/end", headers=HX,
                                data={"end-ended_on": "2026-07-30"})
    assert response.status_code == 422
    assert "This pairing has already ended." in response.get_data(as_text=True)
    response = coordinator.post(f"/pairings/{pairing.id}/term", headers=HX, data={
        "term-term_start": "2026-01-01", "term-term_end": "2027-12-31"})
    assert response.status_code == 422
    assert snapshot() == before


# --- replacing -----------------------------------------------------------------------------

def test_replace_the_lawyer(district, coordinator):
    old = district.pairings[0]
    new_lawyer = district.lawyers[3]
    response = coordinator.post(f"/pairings/{old.id}/replace", headers=HX, data={
        "replace-lawyer": str(new_lawyer.id), "replace-on": "2026-09-01",
        "replace-reason": "律师退休", **arrangement_data("replace")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "pairingChanged"
    old = Pairing.get_by_id(old.id)
    new = active_pairing(district.villages[0])
    assert (old.status, old.ended_on, old.end_reason) == ("ended", D(2026, 8, 31), "律师退休")
    assert (new.lawyer_id, new.term_start, new.term_end) == (
        new_lawyer.id, D(2026, 9, 1), D(2028, 12, 31))
    assert "赵强 is the lawyer of 东湖1村 from 2026-09-01." in html
    assert "Past pairings" in html


def test_replace_offers_other_lawyers_only(district, coordinator):
    html = coordinator.get("/pairings/village/T1V1/panel").get_data(as_text=True)
    select = re.search(r'<select id="replace-lawyer".*?</select>', html, re.S).group(0)
    assert "张明" not in select and "赵强" in select


def test_replace_starting_before_the_term_is_refused(district, coordinator):
    old = district.pairings[0]
    before = snapshot()
    response = coordinator.post(f"/pairings/{old.id}/replace", headers=HX, data={
        "replace-lawyer": str(district.lawyers[3].id), "replace-on": "2025-06-01",
        **arrangement_data("replace")})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "replace-on")
    assert snapshot() == before


def test_replace_with_garbage_date_is_refused(district, coordinator):
    old = district.pairings[0]
    before = snapshot()
    response = coordinator.post(f"/pairings/{old.id}/replace", headers=HX, data={
        "replace-lawyer": str(district.lawyers[3].id), "replace-on": "2026-13-45"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "replace-on")
    assert snapshot() == before


# --- who may ---------------------------------------------------------------------------------

def test_coordinator_of_another_town_cannot_see_or_change(district, login):
    client = login(district.users.other_town_coordinator)
    pairing = district.pairings[0]  # in town T1
    before = snapshot()
    assert client.get("/pairings/village/T1V1/panel").status_code == 404
    assert client.post("/pairings/village/T1V1",
                       data=pair_data(district.lawyers[1])).status_code == 404
    for action, data in (("term", {"term-term_start": "2026-01-01", "term-term_end": "2026-12-31"}),
                         ("end", {"end-ended_on": "2026-06-30"}),
                         ("replace", {"replace-lawyer": str(district.lawyers[3].id),
                                      "replace-on": "2026-09-01"})):
        assert client.post(f"/pairings/{pairing.id}/{action}", data=data).status_code == 404
    assert snapshot() == before
    # ...but manages their own town
    own = client.post("/pairings/village/T2V2", data=pair_data(district.lawyers[1]), headers=HX)
    assert own.status_code == 200


def test_lawyer_and_village_users_may_not_change_pairings(district, login):
    pairing = district.pairings[0]
    before = snapshot()
    for user in (district.users.lawyer, district.users.village):
        client = login(user)
        assert client.post("/pairings/village/T2V2",
                           data=pair_data(district.lawyers[1])).status_code == 403
        assert client.post(f"/pairings/{pairing.id}/end",
                           data={"end-ended_on": "2026-06-30"}).status_code == 403
    assert snapshot() == before


def test_anonymous_may_not_post(district, client):
    response = client.post("/pairings/village/T2V2", data=pair_data(district.lawyers[1]))
    assert response.status_code in (302, 401)
    assert active_pairing(district.villages[4]) is None
