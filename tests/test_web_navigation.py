"""The navigation (web/navigation.py, base.html): each role's main places and the others
under "More", never a link the role is refused, a page's landmarks, the favicon."""
import re

import pytest

from web import navigation

ROLES = ["admin", "coordinator", "town_coordinator", "lawyer", "village"]


def main_places(html: str) -> list[str]:
    """The hrefs of the bottom bar (on a wide screen: the top bar), "More" left out."""
    bar = html[html.index('<ul class="nav-bar">'):html.index('<li class="nav-more-item">')]
    return re.findall(r'href="([^"]+)"', bar)


def nav_links(html: str) -> list[str]:
    nav = html[html.index('<nav class="mainnav"'):html.index("</nav>")]
    return [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', nav)
            if not href.startswith("/lang/")]


def page_of(client, path="/"):
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_lawyer_has_calendar_tasks_and_work_log_at_hand(client, login, district):
    html = page_of(login(district.users.lawyer))
    places = main_places(html)
    assert {"/calendar/", "/tasks/mine", "/records/log"} <= set(places)
    assert len(places) <= navigation.MAIN_PLACES
    assert ">更多<" in html  # the other places, under "More"
    assert f'href="/lawyers/{district.lawyers[0].id}"' in html  # their own page, in the menu
    # Their own assessment: a page that opens for them (the list of their pairings once
    # it admits lawyers, else the sheet of their first pairing).
    assessment = re.search(r'<a href="([^"]+)">我的考核</a>', html).group(1)
    assert assessment.startswith("/assessment/")
    assert client.get(assessment).status_code == 200


def test_a_village_has_its_own_page_calendar_and_what_it_asks_of_its_lawyer(client, login,
                                                                          district):
    html = page_of(login(district.users.village))
    places = main_places(html)
    assert {"/home", "/calendar/", "/village/requests",
            f"/villages/{district.villages[0].code}"} <= set(places)
    assert "/tasks/" in html  # under More
    assert len(places) <= navigation.MAIN_PLACES


def desk_menus(html: str) -> dict[str, list[str]]:
    """The desk navigation's top-level menus: summary -> the hrefs in its panel."""
    nav = html[html.index('<nav class="mainnav"'):html.index("</nav>")]
    menus = re.findall(r'<summary[^>]*>([^<]+)</summary>(.*?)</details>', nav, re.S)
    return {name: re.findall(r'href="(/[^"l][^"]*)"', panel) for name, panel in menus}


@pytest.mark.parametrize("role", ["admin", "coordinator", "town_coordinator"])
def test_managers_have_the_desk_and_a_menu_per_group(client, login, district, role):
    html = page_of(login(getattr(district.users, role)))
    assert main_places(html) == ["/home"] and ">工作台</a>" in html
    menus = desk_menus(html)
    assert 1 + len(menus) <= 6 and list(menus)[-1] == "系统"
    assert set(menus) <= {"结对", "日程", "任务与项目", "工作制度", "系统"}
    assert {"/calendar/", "/calendar/quota"} <= set(menus["日程"])
    assert "/tasks/" in menus["任务与项目"] and "/matters/" in menus["工作制度"]
    assert "/coverage" in menus["结对"] and "/account" in menus["系统"]
    assert "更多" not in html
    if role == "admin":
        assert "/admin/users" in menus["系统"]


@pytest.mark.parametrize("role", ROLES)
def test_no_link_in_the_navigation_is_refused(client, login, district, role):
    """Every place in a role's navigation opens (the village role included: no 403)."""
    client = login(getattr(district.users, role))
    links = nav_links(page_of(client, "/calendar/"))
    assert len(links) >= 4
    for link in links:
        assert client.get(link).status_code in (200, 302), link


def test_a_town_coordinator_finds_their_town(client, login, district):
    html = page_of(login(district.users.town_coordinator))
    assert f"/towns/{district.towns[0].code}" in nav_links(html)


def test_a_place_not_built_or_not_open_to_the_role_is_left_out(client, login, district,
                                                               monkeypatch, app):
    """An entry whose endpoint is not registered is skipped; one whose view does not admit
    the role is skipped until it does (a lawyer's "My progress")."""
    entries = (navigation.Entry("nowhere.index", "Nowhere", "work", main=("lawyer",)),
               *navigation.ENTRIES)
    monkeypatch.setattr(navigation, "ENTRIES", entries)
    quota = app.view_functions["calendar.quota"]
    monkeypatch.setattr(quota, "access_rule", ("roles", ("admin", "coordinator")))
    client = login(district.users.lawyer)
    html = page_of(client, "/calendar/")
    assert "Nowhere" not in html and 'href="/calendar/quota"' not in html
    monkeypatch.setattr(quota, "access_rule", ("roles", ("admin", "coordinator", "lawyer")))
    html = page_of(client, "/calendar/")
    assert "/calendar/quota" in nav_links(html) and "我的进度" in html


def test_the_current_place_is_marked(client, login, district):
    html = page_of(login(district.users.lawyer), "/tasks/mine")
    assert '<a href="/tasks/mine" aria-current="page">' in html


def test_the_administrators_see_open_problems_in_the_menu(client, login, district):
    from core import problems
    problems.report("feed", "feed:district", "calendar feed district failed")
    html = page_of(login(district.users.admin), "/calendar/")
    assert re.search(r'id="problems-nav"[^>]*>[^<]*<span class="badge bad"[^>]*>1<', html)


@pytest.mark.parametrize("path", ["/login", "/no-such-page", "/v/T1V1", "/v/"])
def test_every_page_has_a_skip_link_a_main_landmark_and_one_heading(client, district, path):
    html = client.get(path).get_data(as_text=True)
    first_focusable = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", html[
        html.index("<body"):]).group(0)
    assert 'href="#main"' in first_focusable and "跳到正文" in html
    assert html.count("<main") == 1 and '<main id="main"' in html
    assert len(re.findall(r"<h1\b", html)) == 1
    for nav in re.findall(r"<nav\b[^>]*>", html):
        assert "aria-label=" in nav, nav


def test_a_refused_page_has_its_heading_too(client, login, district):
    response = login(district.users.village).get("/lawyers/")
    assert response.status_code == 403
    assert len(re.findall(r"<h1\b", response.get_data(as_text=True))) == 1


def test_the_favicon_is_served_and_cached(client, district):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml" and b"<svg" in response.data
    assert response.cache_control.max_age == 86400
