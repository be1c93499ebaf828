"""The charts page and the desk's chart block: server-drawn SVG that is valid XML, with the
right number of bars and points, an accessible name and description, a status in words
and patterns (not colour alone), no inline style, and the viewer's share of the target."""
import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from flask import render_template

from core import clock
from core import tasks as service
from tests.factories import session
from tests.sample_programme import PROGRAM, TASK_TYPE, good_data, sample_programme  # noqa: F401

SVG = "{http://www.w3.org/2000/svg}"
pytestmark = pytest.mark.usefixtures("sample_programme")


@pytest.fixture
def login(login, client):
    client.set_cookie("lang", "en")
    return login


@pytest.fixture
def midyear(monkeypatch):
    moment = dt.datetime(2026, 7, 1, 4)
    monkeypatch.setattr(clock, "now_utc", lambda: moment)
    monkeypatch.setattr(clock, "today", lambda: clock.local_date(moment))
    return moment


@pytest.fixture
def work(district, midyear):
    """Two households visited in town 1 (January and March), a session held in January
    and one planned in February that was not held."""
    for household, when in (("王大明", dt.datetime(2026, 1, 10, 2)),
                            ("李四", dt.datetime(2026, 3, 10, 2))):
        task = service.assign_task(None, program=PROGRAM, task_type=TASK_TYPE,
                                   village=district.villages[0])
        service.complete_task(None, task, good_data(household=household))
        type(task).update(completed_at=when).where(type(task).id == task.id).execute()
    session(district.pairings[0], dt.date(2026, 1, 12))
    session(district.pairings[0], dt.date(2026, 2, 9), status="planned")


def svgs(html: str, css_class: str) -> list[ET.Element]:
    """Every <svg class="… css_class …"> of the page, parsed as XML (fails if invalid)."""
    found = re.findall(r'<svg class="[^"]*\b%s\b.*?</svg>' % css_class, html, re.S)
    return [ET.fromstring(svg) for svg in found]


def accessible(svg: ET.Element) -> tuple[str, str]:
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return title.text, desc.text


def test_chart_page_draws_each_chart_as_valid_accessible_svg(work, district, login):
    html = login(district.users.coordinator).get("/programmes/charts").get_data(as_text=True)
    assert "style=" not in html
    [pace] = svgs(html, "pace-chart")
    title, desc = accessible(pace)
    assert "2 of 100 done" in title and "Far behind pace" in title
    bars = pace.findall(f"{SVG}rect[@class]")
    columns = [b for b in bars if b.get("class").startswith("bar ")]
    assert len(columns) == 7  # January to July have begun
    assert [c.get("class") for c in columns][0] == "bar far_behind"
    # the pace line: the year's start and the end of each of the 12 months
    line = pace.find(f"{SVG}polyline").get("points").split()
    assert len(line) == 13 and len(pace.findall(f"{SVG}circle")) == 12
    assert pace.find(f"{SVG}line[@class='target-line']") is not None
    assert "M1 1" in desc and "M3 2" in desc  # done by the end of January and March
    # the patterns that say the status without colour
    assert {p.get("id").rsplit("-", 1)[-1] for p in pace.iter(f"{SVG}pattern")} == {
        "behind", "far_behind"}

    [sessions] = svgs(html, "session-chart")
    title, _desc = accessible(sessions)
    assert "1 held of 2 planned" in title
    months = sessions.findall(f"{SVG}g[@class='month']")
    assert len(months) == 12
    february = months[1].find(f"{SVG}rect[@class='held far_behind']")
    assert february is not None  # planned, over, not held

    bar_lists = svgs(html, "bar-list")
    overview, towns, town_sessions, *lawyers = bar_lists
    assert "1 of 2, 2 expected by today" in accessible(town_sessions)[1]  # 东湖镇's sessions
    assert len(overview.findall(f"{SVG}g")) == 1            # one programme
    assert [t.text for t in towns.iter(f"{SVG}text") if t.get("class") == "row-label"] == [
        "东湖镇", "西山街道"]
    assert len(lawyers) == 4                                  # four paired lawyers
    zhang = lawyers[0] if "张明" in accessible(lawyers[0])[0] else None
    assert zhang is None or len(zhang.findall(f"{SVG}g")) == 2  # sessions and publicity
    assert "District target" in html


def test_town_coordinator_sees_the_towns_share_on_the_charts(work, district, login):
    html = login(district.users.town_coordinator).get("/programmes/charts").get_data(
        as_text=True)
    assert "Town target = district target × 3/6" in html
    [pace] = svgs(html, "pace-chart")
    assert "2 of 50 done" in accessible(pace)[0]
    assert accessible(pace)[0].endswith("Town target = district target × 3/6")  # the figure says
    [towns] = svgs(html, "bar-list")[1:2]
    labels = [t.text for t in towns.iter(f"{SVG}text") if t.get("class") == "row-label"]
    assert labels == ["东湖镇"]


def test_lawyer_sees_their_own_villages_and_no_town_comparison(work, district, login):
    html = login(district.users.lawyer).get("/programmes/charts").get_data(as_text=True)
    assert "Towns compared" not in html
    assert "Your target = district target × 1/6" in html
    lawyers = svgs(html, "bar-list")[1:]  # no town comparisons
    assert len(lawyers) == 1 and "张明" in accessible(lawyers[0])[0]
    assert login(district.users.village).get("/programmes/charts").status_code == 403


def test_desk_block_renders_for_a_user(work, district, app):
    with app.test_request_context("/"):
        html = render_template("charts/_desk.html", user=district.users.town_coordinator)
    assert "style=" not in html
    assert len(svgs(html, "bar-list")) == 1 and len(svgs(html, "session-chart")) == 1
    assert "3/6" in html


def test_programme_page_shows_the_monthly_chart_against_pace(work, district, login):
    html = login(district.users.town_coordinator).get(f"/programmes/{PROGRAM}").get_data(
        as_text=True)
    [pace] = svgs(html, "pace-chart")
    assert "2 of 50 done" in accessible(pace)[0]
    assert "<span class=\"big\">2</span> / 50" in html


def test_lawyers_home_shows_sessions_against_pace(district, login, midyear):
    """By 1 July half the term's year is past: with no session of the 12 held the lawyer
    is far behind, and the bar says so in words, with a mark where it should be."""
    html = login(district.users.lawyer).get("/home").get_data(as_text=True)
    bars = svgs(html, "pace-bar")
    assert len(bars) == 2  # the one village's sessions and publicity events
    sessions = bars[0]
    assert "far_behind" in sessions.get("class")
    assert sessions.get("aria-label").startswith("On-site sessions: 0 of 12, 5 expected by today")
    assert sessions.find(f"{SVG}line[@class='pace-mark']") is not None
    assert 'class="pace-status far_behind">Far behind pace<' in html
    assert "<progress" not in html.split('id="home-villages"')[1].split("</section>")[0]
    assert "style=" not in html



def test_the_lawyers_figures_come_a_page_at_a_time(work, district, login, app):
    """A province has thousands of lawyers: the charts draw a page of them, by name, each
    worked out from their own villages; the pager swaps only that part."""
    app.config["PER_PAGE"] = 3
    client = login(district.users.coordinator)
    names = sorted(lawyer.name for lawyer in district.lawyers)
    first = client.get("/programmes/charts").get_data(as_text=True)
    shown = re.findall(r'<figcaption><strong>([^<]+)</strong>', first)
    assert len(shown) == 3 and "Page 1 of 2" in first
    second = client.get("/programmes/charts?page=2", headers={"HX-Request": "true"})
    html = second.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith("<section")
    rest = re.findall(r'<figcaption><strong>([^<]+)</strong>', html)
    assert sorted(shown + rest) == names  # each lawyer once, in the database's name order
    assert len(svgs(html, "bar-list")) == 1 and "Towns compared" not in html


def row_labels(svg: ET.Element) -> list[str]:
    return [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "row-label"]


def test_many_towns_are_charted_as_those_furthest_behind_and_listed_in_a_table(
        work, district, login, monkeypatch):
    """A province's 1,300 towns do not fit a chart: beyond ``TOWNS_CHARTED`` the charts
    show the towns furthest behind their pace (those to call), and link to every town in a
    table; a district's towns are all charted (the test above)."""
    from web import programs
    monkeypatch.setattr(programs, "TOWNS_CHARTED", 1)
    monkeypatch.setattr(programs, "TOWNS_SHOWN", 1)
    client = login(district.users.coordinator)
    html = client.get("/programmes/charts").get_data(as_text=True)
    _overview, towns, town_sessions, *_lawyers = svgs(html, "bar-list")
    assert row_labels(towns) == ["西山街道"]  # nothing done; 东湖镇 has done 2
    assert row_labels(town_sessions) == ["东湖镇"]  # 1 of 2 held; 西山街道 planned none
    assert "The town furthest behind" in accessible(towns)[0]
    table_url = re.search(r'href="(/programmes/charts/towns[^"]*)"', html).group(1)
    table = client.get(table_url.replace("&amp;", "&")).get_data(as_text=True)
    assert "2 towns" in table
    assert table.index("西山街道") < table.index("东湖镇")  # furthest behind first
    assert "2 / 50" in table and "1 / 2" in table  # 东湖镇's work and sessions
    by_name = client.get("/programmes/charts/towns?sort=town").get_data(as_text=True)
    assert by_name.index("东湖镇") < by_name.index("西山街道")
    own = login(district.users.town_coordinator).get("/programmes/charts/towns")
    assert "东湖镇" in own.get_data(as_text=True)
    assert "西山街道" not in own.get_data(as_text=True)
    assert login(district.users.lawyer).get("/programmes/charts/towns").status_code == 403


def test_the_lawyers_pager_answers_with_the_lawyers_alone(work, district, login, app):
    app.config["PER_PAGE"] = 1
    client = login(district.users.coordinator)
    html = client.get("/programmes/charts?page=2", headers={"HX-Request": "true"}).get_data(
        as_text=True)
    assert 'id="chart-lawyers"' in html and "Towns compared" not in html
    assert len(svgs(html, "bar-list")) == 1
