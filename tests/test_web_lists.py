"""The lists and detail pages of villages, towns, lawyers and law firms: search, pages,
HTMX fragments, and who sees what."""
import datetime as dt
import re

import pytest

from core.db import db
from core.arrangements import Arrangement
from core.models import Assistant, LawFirm, Village
from core.pairings import end_pairing, pair
from tests.factories import make_lawyer

D = dt.date
HTMX = {"HX-Request": "true"}


def content(html: str) -> str:
    """The page's own content, without the navigation (which links one's own village);
    a fragment (HTMX) is all content."""
    return html[html.find("<main"):] if "<main" in html else html


def village_names(html: str) -> list[str]:
    """The village names linked in a page, in order."""
    return re.findall(r'href="/villages/[^"/?]+">([^<]+)</a>', content(html))


def lawyer_names(html: str) -> list[str]:
    return re.findall(r'href="/lawyers/\d+">([^<]+)</a>', content(html))


def cell_after(html: str, label: str, name: str) -> str:
    """The text of the ``data-label=label`` cell in the row that links ``name``."""
    row = next(r for r in html.split("<tr") if f">{name}</a>" in r)
    return re.search(rf'data-label="{label}"[^>]*>([^<]*)<', row).group(1).strip()


def get(client, url, **kwargs):
    response = client.get(url, **kwargs)
    return response, response.get_data(as_text=True)


@pytest.fixture
def english(client):
    client.set_cookie("lang", "en")
    return client


# --- villages -------------------------------------------------------------------------

def test_village_list_shows_town_lawyer_term_or_no_lawyer(district, login, english):
    client = login(district.users.admin)
    response, html = get(client, "/villages/")
    assert response.status_code == 200
    assert village_names(html) == ["东湖1村", "东湖2村", "东湖3村", "西山1村", "西山2村", "西山3村"]
    assert ">张明</a>" in html and "2028-12-31" in html
    assert html.count("No lawyer") == 2  # 西山2村 and 西山3村
    assert "6 villages" in html


def test_village_search_narrows_by_name_code_and_town(district, login):
    client = login(district.users.admin)
    assert village_names(get(client, "/villages/?q=东湖2")[1]) == ["东湖2村"]
    assert village_names(get(client, "/villages/?q=T2V3")[1]) == ["西山3村"]
    assert village_names(get(client, "/villages/?q=西山街道")[1]) == ["西山1村", "西山2村", "西山3村"]
    assert village_names(get(client, "/villages/?q=  东湖3村  ")[1]) == ["东湖3村"]


def test_village_filter_by_town_keeps_search(district, login):
    client = login(district.users.admin)
    assert village_names(get(client, "/villages/?town=T2")[1]) == ["西山1村", "西山2村", "西山3村"]
    assert village_names(get(client, "/villages/?town=T2&q=1村")[1]) == ["西山1村"]
    assert village_names(get(client, "/villages/?town=NOPE")[1]) == []


def test_village_list_pages_keep_the_search(district, login, app):
    app.config["PER_PAGE"] = 2
    client = login(district.users.admin)
    response, html = get(client, "/villages/?page=2")
    assert village_names(html) == ["东湖3村", "西山1村"]
    assert 'href="/villages/?page=1"' in html and 'href="/villages/?page=3"' in html
    assert 'hx-get="/villages/?page=3"' in html  # the same link swaps only the results
    response, html = get(client, "/villages/?q=村&town=T1&page=2")
    assert village_names(html) == ["东湖3村"]
    assert re.search(r'href="/villages/\?[^"]*page=1[^"]*"', html)
    prev = re.search(r'href="(/villages/\?[^"]*)" rel="prev"', html).group(1)
    assert "q=%E6%9D%91" in prev and "town=T1" in prev
    assert 'rel="next"' not in html  # last page


def test_page_past_the_end_shows_the_last_page(district, login, app):
    app.config["PER_PAGE"] = 4
    client = login(district.users.admin)
    assert village_names(get(client, "/villages/?page=99")[1]) == ["西山2村", "西山3村"]


def test_htmx_search_gets_only_the_results_fragment(district, login):
    client = login(district.users.admin)
    response, html = get(client, "/villages/?q=东湖1", headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in html and 'type="search"' not in html
    assert village_names(html) == ["东湖1村"]
    assert "HX-Request" in response.headers.get("Vary", "")
    full, page = get(client, "/villages/?q=东湖1")
    assert "<html" in page and 'id="results"' in page
    assert "HX-Request" in full.headers.get("Vary", "")


def test_back_button_gets_the_whole_page_with_the_search_term(district, login):
    """The list is kept out of htmx's history cache, so Back asks the server, which must
    answer with the full page (search box filled in), not the fragment."""
    client = login(district.users.admin)
    html = get(client, "/villages/")[1]
    assert re.search(r'<form class="toolbar search-box"[^>]*hx-history="false"', html)
    restore = {**HTMX, "HX-History-Restore-Request": "true"}
    response, html = get(client, "/villages/?q=东湖1", headers=restore)
    assert "<html" in html and 'value="东湖1"' in html and village_names(html) == ["东湖1村"]


def test_search_box_searches_as_you_type_with_htmx(district, login):
    client = login(district.users.admin)
    for url in ("/villages/", "/towns/", "/lawyers/", "/firms/"):
        html = get(client, url + "?q=abc")[1]
        box = re.search(r'<input type="search"[^>]*>', html, re.S).group(0)
        assert 'name="q"' in box and 'value="abc"' in box
        assert f'hx-get="{url}"' in box
        assert 'hx-trigger="input changed delay:300ms, search"' in box
        assert 'hx-target="#results"' in box and 'hx-push-url="true"' in box
        assert f'<form class="toolbar search-box" method="get" action="{url}"' in html


def test_town_coordinator_sees_only_their_town(district, login):
    client = login(district.users.town_coordinator)
    html = get(client, "/villages/")[1]
    assert village_names(html) == ["东湖1村", "东湖2村", "东湖3村"]
    assert village_names(get(client, "/villages/?town=T2")[1]) == []
    assert get(client, "/villages/T1V2")[0].status_code == 200
    assert get(client, "/villages/T2V1")[0].status_code == 404
    assert get(client, "/villages/NO-SUCH")[0].status_code == 404


def test_lawyer_and_village_users_see_only_their_villages(district, login):
    client = login(district.users.lawyer)
    assert village_names(get(client, "/villages/")[1]) == ["东湖1村"]
    assert get(client, "/villages/T1V2")[0].status_code == 404
    client = login(district.users.village)
    assert village_names(get(client, "/villages/")[1]) == ["东湖1村"]
    assert get(client, "/villages/T1V1")[0].status_code == 200
    assert get(client, "/villages/T1V3")[0].status_code == 404


def test_village_page_loads_the_pairing_panel(district, login, english):
    client = login(district.users.admin)
    response, html = get(client, "/villages/T1V1")
    assert response.status_code == 200
    assert "东湖1村" in html and "东湖镇" in html and "东湖镇司法所" in html
    assert ('<div id="pairing-panel" hx-get="/pairings/village/T1V1/panel" '
            'hx-trigger="load">') in html
    assert ">张明</a>" in html and "2026-01-01 – 2028-12-31" in html  # without JS too
    html = get(client, "/villages/T2V3")[1]
    assert "No lawyer" in html and "Residential community" in html


# --- towns ----------------------------------------------------------------------------

def test_town_list_counts_villages_and_pairings(district, login, english):
    client = login(district.users.admin)
    response, html = get(client, "/towns/")
    assert response.status_code == 200
    assert cell_after(html, "Judicial office", "东湖镇") == "东湖镇司法所"
    assert cell_after(html, "Paired", "东湖镇") == "3"
    assert cell_after(html, "Paired", "西山街道") == "1"
    assert 'href="/villages/?town=T2">3</a>' in html
    assert "西山街道" not in get(client, "/towns/?q=东湖")[1]
    assert "东湖镇" not in get(client, "/towns/?q=T2")[1]


def test_town_coordinator_sees_only_their_town_in_towns(district, login):
    client = login(district.users.town_coordinator)
    html = get(client, "/towns/")[1]
    assert "东湖镇" in html and "西山街道" not in html
    assert get(client, "/towns/T1")[0].status_code == 200
    assert get(client, "/towns/T2")[0].status_code == 404


def test_town_page_lists_paired_and_unpaired_villages(district, login, english):
    client = login(district.users.admin)
    response, html = get(client, "/towns/T2")
    assert response.status_code == 200
    assert "西山街道司法所" in html and "1 / 3" in html
    assert village_names(html) == ["西山1村", "西山2村", "西山3村"]
    assert html.count('class="unpaired"') == 2 and ">赵强</a>" in html


# --- lawyers --------------------------------------------------------------------------

def test_lawyer_list_search_by_name_licence_and_phone(district, login, english):
    client = login(district.users.admin)
    response, html = get(client, "/lawyers/")
    assert response.status_code == 200
    assert sorted(lawyer_names(html)) == sorted(["张明", "李华", "王芳", "赵强"])
    assert cell_after(html, "Active villages", "张明") == "1"
    assert lawyer_names(get(client, "/lawyers/?q=李")[1]) == ["李华"]
    licence = district.lawyers[2].licence_no
    assert lawyer_names(get(client, f"/lawyers/?q={licence}")[1]) == ["王芳"]
    assert lawyer_names(get(client, "/lawyers/?q=13800000003")[1]) == ["赵强"]


def test_lawyer_and_village_users_may_not_list_lawyers_or_firms(district, login):
    for user in (district.users.lawyer, district.users.village):
        client = login(user)
        for url in ("/lawyers/", "/firms/", f"/firms/{district.firms[0].id}"):
            assert client.get(url).status_code == 403, (user.username, url)


def test_town_coordinator_sees_all_lawyers_but_counts_only_their_villages(district, login,
                                                                          english):
    client = login(district.users.town_coordinator)
    html = get(client, "/lawyers/")[1]
    assert sorted(lawyer_names(html)) == sorted(["张明", "李华", "王芳", "赵强"])
    assert cell_after(html, "Active villages", "张明") == "1"
    assert cell_after(html, "Active villages", "赵强") == "0"  # 西山1村 is another town's


@pytest.fixture
def busy_lawyer(district):
    """张明: 东湖1村 (from the district), 西山2村 now, and 西山3村 in the past."""
    zhang = district.lawyers[0]
    pair(None, lawyer=zhang, village=district.villages[4], term_start=D(2026, 1, 1),
         term_end=D(2027, 12, 31),
         arrangement=Arrangement(1, 1, dt.time(9, 0), dt.time(12, 30)))
    past = pair(None, lawyer=zhang, village=district.villages[5], term_start=D(2026, 1, 1),
                term_end=D(2026, 12, 31))
    end_pairing(None, past, ended_on=D(2026, 3, 31), reason="调任")
    Assistant.create(lawyer=zhang, name="小刘", phone="13900000001")
    return zhang


def test_lawyer_page_lists_all_their_villages_and_past_pairings(district, busy_lawyer,
                                                                login, english):
    client = login(district.users.admin)
    response, html = get(client, f"/lawyers/{busy_lawyer.id}")
    assert response.status_code == 200
    assert busy_lawyer.licence_no in html and "13800000000" in html and "明德律师事务所" in html
    assert "小刘" in html and "13900000001" in html
    active, past = html.split("Past pairings")
    assert village_names(active) == ["东湖1村", "西山2村"]
    assert "2026-01-01 – 2027-12-31" in active
    assert "The first Tuesday of each month, Morning 9:00–12:30" in active
    assert "西山3村" in past and "2026-01-01 – 2026-03-31" in past and "调任" in past


def test_lawyer_sees_their_own_page_with_all_villages(district, busy_lawyer, login):
    client = login(district.users.lawyer)
    response, html = get(client, f"/lawyers/{busy_lawyer.id}")
    assert response.status_code == 200
    assert "东湖1村" in html and "西山2村" in html and "西山3村" in html


def test_lawyer_cannot_open_another_lawyers_page(district, login):
    client = login(district.users.lawyer)
    assert client.get(f"/lawyers/{district.lawyers[1].id}").status_code == 404
    assert client.get("/lawyers/999999").status_code == 404
    client = login(district.users.village)
    assert client.get(f"/lawyers/{district.lawyers[0].id}").status_code == 403


def test_town_coordinator_sees_lawyer_with_only_their_villages(district, busy_lawyer, login):
    client = login(district.users.town_coordinator)
    response, html = get(client, f"/lawyers/{busy_lawyer.id}")
    assert response.status_code == 200
    assert "东湖1村" in html
    assert "西山2村" not in html and "西山3村" not in html


# --- firms ----------------------------------------------------------------------------

def test_firm_list_counts_lawyers_and_active_pairings(district, busy_lawyer, login, english):
    LawFirm.create(name="空白律师事务所", phone="021-1234", address="示范路1号")
    client = login(district.users.admin)
    response, html = get(client, "/firms/")
    assert response.status_code == 200
    assert cell_after(html, "Lawyers", "明德律师事务所") == "2"  # 张明, 王芳
    assert cell_after(html, "Active pairings", "明德律师事务所") == "3"  # 张明 ×2, 王芳
    assert cell_after(html, "Active pairings", "正义律师事务所") == "2"
    assert cell_after(html, "Lawyers", "空白律师事务所") == "0"
    assert "示范路1号" in html
    html = get(client, "/firms/?q=正义")[1]
    assert "正义律师事务所" in html and "明德律师事务所" not in html


def test_firm_page_lists_its_lawyers_with_active_villages(district, busy_lawyer, login,
                                                         english):
    client = login(district.users.admin)
    response, html = get(client, f"/firms/{district.firms[0].id}")
    assert response.status_code == 200
    assert sorted(lawyer_names(html)) == ["张明", "王芳"]
    assert cell_after(html, "Active villages", "张明") == "2"
    assert client.get("/firms/999999").status_code == 404
    client = login(district.users.town_coordinator)
    html = get(client, f"/firms/{district.firms[0].id}")[1]
    assert cell_after(html, "Active villages", "张明") == "1"


# --- bad input and queries ------------------------------------------------------------

LISTS = ("/villages/", "/towns/", "/lawyers/", "/firms/")


@pytest.mark.parametrize("query", ["page=-1", "page=abc", "page=0", "page=99999999999",
                                   "q=" + "x" * 500, "q=%25", "q=_", "q=%25_%5C", "q=%27%22",
                                   "town=%25", "page=2&page=x"])
@pytest.mark.parametrize("url", LISTS)
def test_garbage_query_string_gives_a_sane_page(district, login, url, query):
    client = login(district.users.admin)
    response, html = get(client, f"{url}?{query}")
    assert response.status_code == 200
    assert "<html" in html


@pytest.mark.parametrize("url", LISTS)
def test_a_nul_byte_is_a_bad_request_not_an_error(district, login, url):
    """No field ever holds a NUL; PostgreSQL would fail on it deep in a query."""
    client = login(district.users.admin)
    for query in ("q=%00", "town=%00"):
        assert client.get(f"{url}?{query}").status_code == 400


def test_unreadable_codes_are_not_found(district, login):
    client = login(district.users.admin)
    for url in ("/villages/%00", "/towns/%00", "/villages/T1V1%0A", "/towns/%E2%80%8B"):
        assert client.get(url).status_code == 404, url


def test_wildcards_are_searched_literally(district, login):
    client = login(district.users.admin)
    for query in ("%25", "_", "%5C"):
        assert village_names(get(client, f"/villages/?q={query}")[1]) == []
    Village.create(town=district.towns[0], code="T1_X", name="百分%村")
    assert village_names(get(client, "/villages/?q=%25")[1]) == ["百分%村"]
    assert village_names(get(client, "/villages/?q=_")[1]) == ["百分%村"]  # code T1_X


def test_long_search_is_cut_not_refused(district, login):
    client = login(district.users.admin)
    response, html = get(client, "/villages/?q=" + "东" * 500)
    assert response.status_code == 200 and village_names(html) == []
    assert 'value="' + "东" * 50 + '"' in html


def test_search_term_is_escaped_in_the_page(district, login):
    client = login(district.users.admin)
    html = get(client, "/villages/?q=<script>alert(1)</script>")[1]
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("url", ["/villages/T1V1", "/towns/T1", "/lawyers/1", "/firms/1",
                                 *LISTS])
def test_anonymous_user_is_sent_to_login(district, client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def count_queries(monkeypatch):
    executed = []
    real = db.obj.execute_sql

    def counting(sql, *args, **kwargs):
        if sql != "SELECT 1":  # the liveness check of a connection left open (core.db)
            executed.append(sql)
        return real(sql, *args, **kwargs)
    monkeypatch.setattr(db.obj, "execute_sql", counting)
    return executed


@pytest.mark.parametrize("url", LISTS)
def test_lists_use_a_fixed_number_of_queries(district, login, monkeypatch, url):
    """Counts come from grouped queries: more rows must not mean more queries."""
    client = login(district.users.admin)
    executed = count_queries(monkeypatch)
    client.get(url)
    few = len(executed)
    for i in range(6):
        firm = LawFirm.create(name=f"新律师事务所{i}")
        lawyer = make_lawyer(f"新律师{i}", firm)
        village = Village.create(town=district.towns[i % 2], code=f"N{i}", name=f"新{i}村")
        pair(None, lawyer=lawyer, village=village, term_start=D(2026, 1, 1),
             term_end=D(2026, 12, 31))
    executed.clear()
    assert client.get(url).status_code == 200
    assert len(executed) == few


def test_menu_offers_lawyer_and_firm_lists_only_to_those_who_may_open_them(district, login):
    html = get(login(district.users.coordinator), "/villages/")[1]
    assert 'href="/lawyers/"' in html and 'href="/firms/"' in html
    html = get(login(district.users.lawyer), "/villages/")[1]
    assert 'href="/lawyers/"' not in html and 'href="/firms/"' not in html
    assert f'href="/lawyers/{district.lawyers[0].id}"' in html  # their own page
    html = get(login(district.users.village), "/villages/")[1]
    assert 'href="/lawyers/"' not in html and 'href="/firms/"' not in html


def test_many_towns_are_typed_in_the_filter_with_suggestions(district, login, monkeypatch):
    """A province has 1,300 towns: beyond ``TOWN_SELECT_MAX`` the lists' town filter is a
    text field (it works without JS: the search form sends it) where the town's code or
    name is typed, with suggestions from the reader's scope; a district keeps its select."""
    client = login(district.users.admin)
    assert '<select name="town"' in get(client, "/villages/")[1]
    from web import listing
    monkeypatch.setattr(listing, "TOWN_SELECT_MAX", 1)
    for page in ("/villages/", "/tasks/", "/requests/", "/calendar/quota", "/assessment/",
                 "/coverage"):
        html = get(client, page)[1]
        assert '<select name="town"' not in html, page
        field = re.search(r'<input type="search" name="town"[^>]*>', html)
        assert field and 'hx-get="/tasks/suggest/towns"' in field.group(0), page
    assert village_names(get(client, "/villages/?town=西山街道")[1]) == [
        "西山1村", "西山2村", "西山3村"]  # a typed name filters as the code does
    assert village_names(get(client, "/villages/?town=T2")[1]) == ["西山1村", "西山2村", "西山3村"]
    assert village_names(get(client, "/villages/?town=西山")[1]) == []  # a part names no town
    # the coverage, the quota page and the assessment table filter by the typed name too
    for page in ("/coverage", "/calendar/quota", "/assessment/"):
        for town in ("西山街道", "T2"):  # the town's one pairing, not the other town's
            rows = content(get(client, f"{page}?town={town}")[1])
            assert "西山1村" in rows and "东湖1村" not in rows, (page, town)
        rows = content(get(client, f"{page}?town=西山")[1])
        assert "西山1村" not in rows and "东湖1村" not in rows, page
    suggested = get(client, "/tasks/suggest/towns?town=西")[1]
    assert re.findall(r'<option value="([^"]+)">([^<]+)', suggested) == [("T2", "西山街道")]
    assert "<option" in get(client, "/tasks/suggest/towns?town=T")[1]
    other = login(district.users.other_town_coordinator)
    assert "T1" not in get(other, "/tasks/suggest/towns?town=T")[1]  # only their scope
