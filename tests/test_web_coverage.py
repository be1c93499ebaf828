"""The coverage page: who is paired, grouped by town, in the user's scope, in one query."""
import datetime as dt
import re

import pytest

from core import clock
from core.coverage import coverage
from core.db import db
from core.models import Village
from core.pairings import end_pairing, update_pairing

HX = {"HX-Request": "true"}


@pytest.fixture
def login(login, client):
    """Log in with the English UI, so assertions do not depend on the zh_CN catalog."""
    client.set_cookie("lang", "en")
    return login


def headline(html: str) -> str:
    return re.search(r'id="coverage-count">([^<]*)<', html).group(1)


def unpaired_rows(html: str) -> list[str]:
    return re.findall(r'<tr class="unpaired" id="village-row-([^"]+)"', html)


def test_district_coordinator_sees_all_villages_and_the_two_unpaired(district, login):
    response = login(district.users.coordinator).get("/coverage")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert headline(html) == "4 / 6"
    assert unpaired_rows(html) == ["T2V2", "T2V3"]
    assert html.count("No lawyer") == 2
    assert "2 without a lawyer" in html
    for village in district.villages:
        assert village.name in html
    assert "东湖镇司法所" in html and "西山街道司法所" in html
    # each paired row names its lawyer (linked to the lawyer's page), firm and term
    assert f'href="/lawyers/{district.lawyers[0].id}"' in html
    assert "明德律师事务所" in html and "2026-01-01 – 2028-12-31" in html
    assert 'href="/villages/T1V1"' in html


def test_admin_sees_the_whole_district(district, login):
    html = login(district.users.admin).get("/coverage").get_data(as_text=True)
    assert headline(html) == "4 / 6"


def test_town_coordinator_sees_only_their_town(district, login):
    html = login(district.users.town_coordinator).get("/coverage").get_data(as_text=True)
    assert headline(html) == "3 / 3"
    assert "Full coverage" in html
    assert "东湖1村" in html and "西山" not in html
    other = login(district.users.other_town_coordinator).get("/coverage").get_data(as_text=True)
    assert headline(other) == "1 / 3"
    assert unpaired_rows(other) == ["T2V2", "T2V3"] and "东湖" not in other


def test_only_unpaired_filter_keeps_the_totals(district, login):
    html = login(district.users.coordinator).get("/coverage?unpaired=1").get_data(as_text=True)
    assert headline(html) == "4 / 6"
    assert unpaired_rows(html) == ["T2V2", "T2V3"]
    assert "东湖1村" not in html
    assert re.search(r'<input type="checkbox" name="unpaired" value="1"\s+checked', html)


def test_town_filter_shows_one_town(district, login):
    html = login(district.users.coordinator).get("/coverage?town=T1").get_data(as_text=True)
    assert headline(html) == "4 / 6"
    assert "东湖1村" in html and "西山1村" not in html
    assert '<option value="T1" selected>' in html


def test_unknown_town_shows_no_rows_not_an_error(district, login):
    response = login(district.users.coordinator).get("/coverage?town=NOPE&unpaired=yes")
    assert response.status_code == 200
    assert "No villages match these filters." in response.get_data(as_text=True)


def test_htmx_request_gets_the_fragment_only(district, login):
    response = login(district.users.coordinator).get("/coverage?unpaired=1", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith("<section")
    assert 'id="coverage"' in html and headline(html) == "4 / 6"
    assert "HX-Request" in response.headers.get("Vary", "")
    # the fragment refreshes itself, keeping its filter, when a pairing changes
    assert 'hx-trigger="pairingChanged from:body"' in html
    assert 'hx-get="/coverage?unpaired=1"' in html


def test_full_page_has_filters_and_panel_slot(district, login):
    response = login(district.users.coordinator).get("/coverage")
    html = response.get_data(as_text=True)
    assert "<html" in html and 'id="pairing-aside"' in html
    assert 'hx-push-url="true"' in html
    assert "HX-Request" in response.headers.get("Vary", "")
    assert 'hx-get="/pairings/village/T2V2/panel"' in html


def test_term_that_has_run_out_is_flagged(district, login):
    update_pairing(None, district.pairings[1], term_start=dt.date(2020, 1, 1),
                   term_end=clock.today() - dt.timedelta(days=1))
    html = login(district.users.coordinator).get("/coverage").get_data(as_text=True)
    row = re.search(r'id="village-row-T1V2".*?</tr>', html, re.S).group(0)
    assert "Term over" in row
    assert headline(html) == "4 / 6"  # still paired: the warning asks for a renewal
    assert "1 terms have run out" in html


def test_ended_pairing_leaves_village_unpaired(district, login):
    end_pairing(None, district.pairings[0], ended_on=dt.date(2026, 3, 1))
    html = login(district.users.coordinator).get("/coverage").get_data(as_text=True)
    assert headline(html) == "3 / 6"
    assert unpaired_rows(html) == ["T1V1", "T2V2", "T2V3"]


def test_everybody_starts_on_their_desk_and_only_managers_open_the_coverage(district, login):
    for user in (district.users.admin, district.users.coordinator, district.users.lawyer,
                 district.users.village):
        response = login(user).get("/")
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/home")
    for user in (district.users.lawyer, district.users.village):
        assert login(user).get("/coverage").status_code == 403


def test_anonymous_is_sent_to_login(district, client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_coverage_is_a_fixed_number_of_queries(district, monkeypatch):
    """One query for the page, not one per village."""
    statements = []
    real = db.obj.execute_sql

    def counting(sql, *args, **kwargs):
        statements.append(sql)
        return real(sql, *args, **kwargs)

    monkeypatch.setattr(db.obj, "execute_sql", counting)
    small = coverage(district.users.coordinator)
    few = len(statements)
    town = district.towns[1]
    for i in range(20):
        Village.create(town=town, code=f"X{i}", name=f"新村{i}")
    statements.clear()
    large = coverage(district.users.coordinator)
    assert len(statements) == few == 1
    assert (small.paired, small.total, large.paired, large.total) == (4, 6, 4, 26)


def test_core_coverage_groups_by_town_in_code_order(district):
    result = coverage(district.users.admin)
    assert [(t.code, t.paired, t.total) for t in result.towns] == [("T1", 3, 3), ("T2", 1, 3)]
    assert [r.code for r in result.towns[1].rows] == ["T2V1", "T2V2", "T2V3"]
    assert result.unpaired == 2 and not result.complete
    assert coverage(district.users.lawyer).total == 1  # a lawyer's scope: their villages


def test_a_big_scope_is_paged_with_the_totals_of_the_whole_scope(district, login):
    """Thousands of villages are read a page at a time; the headline, the town figures and
    the towns to look at still count every village of the scope (in SQL)."""
    town = district.towns[1]
    for i in range(60):
        Village.create(town=town, code=f"T2X{i:02d}", name=f"新村{i}")
    client = login(district.users.coordinator)
    first = client.get("/coverage").get_data(as_text=True)
    assert headline(first) == "4 / 66"
    assert len(re.findall(r'id="village-row-', first)) == 50
    assert "Page 1 of 2" in first and 'href="/coverage?page=2"' in first
    assert re.search(r'class="town-count bad">1 / 63<', first)  # the whole town's figure
    assert "Towns to look at" in first and 'href="/coverage?town=T2"' in first
    second = client.get("/coverage?page=2").get_data(as_text=True)
    assert headline(second) == "4 / 66"
    assert len(re.findall(r'id="village-row-', second)) == 16
    assert "T2X59" in second and "T2X00" not in second
    unpaired = client.get("/coverage?unpaired=1&page=2", headers=HX).get_data(as_text=True)
    assert len(unpaired_rows(unpaired)) == 12  # 62 without a lawyer, 50 on the first page
    assert 'hx-get="/coverage?unpaired=1&amp;page=2"' in unpaired


def test_a_town_is_summed_in_sql_as_the_rows_say(district):
    from core.coverage import summary
    found = summary(district.users.coordinator)
    assert [(t.code, t.paired, t.total) for t in found.all_towns] == [("T1", 3, 3), ("T2", 1, 3)]
    assert (found.paired, found.total, found.term_over) == (4, 6, 0)
    assert summary(district.users.lawyer).total == coverage(district.users.lawyer).total == 1


def test_the_desk_reads_the_totals_the_coverage_page_adds_up(district):
    """The desk shows the scope's totals alone (one aggregate row, not a row per town):
    the same figures the coverage page adds up over its towns, for every scope, a term
    run out included."""
    from core.coverage import summary, totals
    pairing = district.pairings[0]
    update_pairing(district.users.admin, pairing, term_start=pairing.term_start,
                   term_end=clock.today() - dt.timedelta(days=1))
    for user in vars(district.users).values():
        whole, alone = summary(user), totals(user)
        assert (alone.total, alone.paired, alone.term_over) == (
            whole.total, whole.paired, whole.term_over), user.username
    assert totals(district.users.coordinator).term_over == 1
    assert (totals(district.users.other_town_coordinator).total,
            totals(district.users.other_town_coordinator).paired) == (3, 1)
