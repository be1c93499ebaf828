"""Sorting and filtering the lists (web.listing.Sorting): in the URL, so a sorted, filtered
view is bookmarked, paged and exported as it is shown; an unknown key is ignored."""
import io
import re
from html import unescape

import pytest
from openpyxl import load_workbook

from core.demo import DEMO_LOGINS
from core.models import Lawyer, Pairing, Task, Village

HTMX = {"HX-Request": "true"}


@pytest.fixture
def coordinator(demo_db, app, client):
    """The demo's district coordinator, reading English; 10 rows a page."""
    app.config["PER_PAGE"] = 10
    username, password = DEMO_LOGINS["coordinator"]
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302
    client.set_cookie("lang", "en")
    return client


def cells(html: str, label: str) -> list[str]:
    """The texts of the ``data-label=label`` cells of a page, in order (tags dropped)."""
    found = re.findall(rf'<td data-label="{re.escape(label)}"[^>]*>(.*?)</td>', html, re.S)
    return [unescape(re.sub(r"<[^>]+>", " ", cell)).split()[0] if cell.strip() else ""
            for cell in found]


def text(client, url, **kwargs) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def totals(html: str) -> list[float]:
    return [float(value) for value in cells(html, "Total")]


# --- the assessment (computed rows, sorted before paging) ------------------------------------

def test_assessment_by_score_ascending_puts_the_lowest_first(coordinator):
    ascending = totals(text(coordinator, "/assessment/?sort=score"))
    everything = []
    page = 1
    while True:
        html = text(coordinator, f"/assessment/?sort=score&page={page}")
        everything += totals(html)
        if 'rel="next"' not in html:
            break
        page += 1
    assert everything == sorted(everything) and ascending == everything[:10]
    assert len(set(everything)) > 1  # the demo's scores differ: the order means something
    descending = totals(text(coordinator, "/assessment/?sort=score&dir=desc"))
    assert descending[0] == max(everything)
    # the header says how the table is sorted, and its link turns the order round
    html = text(coordinator, "/assessment/?sort=score")
    header = re.search(r'<th[^>]*aria-sort="ascending"[^>]*>.*?</th>', html, re.S).group(0)
    assert "Total" in header and "dir=desc" in header and "sort=score" in header


def test_assessment_filtered_to_a_grade_keeps_the_filter_and_sort_on_every_page(coordinator):
    html = text(coordinator, "/assessment/?grade=pass&sort=village")
    grades = cells(html, "Grade")
    assert grades and set(grades) == {"Pass"}
    links = re.findall(r'<a href="([^"]+)" rel="next"', html)
    assert links, "more than one page of passing pairings in the demo"
    nxt = unescape(links[0])
    assert "grade=pass" in nxt and "sort=village" in nxt and "page=2" in nxt
    second = text(coordinator, nxt, headers=HTMX)
    assert "<html" not in second and set(cells(second, "Grade")) == {"Pass"}
    names = cells(html, "Village") + cells(second, "Village")
    assert names == sorted(names)


def test_assessment_filtered_to_a_town(coordinator):
    from core.models import Town
    town = Town.select().order_by(Town.code).first()
    html = text(coordinator, f"/assessment/?town={town.code}")
    assert set(cells(html, "Town")) == {town.name}
    assert text(coordinator, "/assessment/?town=nowhere").count('data-label="Town"') == 0


def test_an_unknown_sort_key_shows_the_usual_order(coordinator):
    usual = text(coordinator, "/assessment/")
    odd = text(coordinator, "/assessment/?sort=total;DROP%20TABLE%20pairing&dir=sideways")
    assert cells(odd, "Village") == cells(usual, "Village")
    assert "aria-sort" not in odd
    lawyers = text(coordinator, "/lawyers/?sort=password_hash")
    assert cells(lawyers, "Name") == cells(text(coordinator, "/lawyers/"), "Name")


def test_the_export_link_and_the_export_carry_the_filter_and_the_sort(coordinator):
    html = text(coordinator, "/assessment/?grade=pass&sort=score&dir=desc", headers=HTMX)
    link = unescape(re.search(r'href="(/assessment/export\.xlsx[^"]*)"', html).group(1))
    assert "grade=pass" in link and "sort=score" in link and "dir=desc" in link
    assert "page=" not in link  # the export holds every page
    response = coordinator.get(link)
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).active.values)[1:]
    grade_at, total_at = len(rows[0]) - 1, len(rows[0]) - 2
    assert {row[grade_at] for row in rows} == {"Pass"}
    scores = [float(row[total_at]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    everything = list(load_workbook(io.BytesIO(
        coordinator.get("/assessment/export.xlsx").data)).active.values)[1:]
    assert len(rows) < len(everything)


# --- the quota (computed rows) ---------------------------------------------------------------

def test_quota_sorted_by_sessions_held_and_filtered_to_those_behind(coordinator):
    held = [int(value) for value in cells(text(coordinator, "/calendar/quota?sort=held"),
                                          "Sessions held")]
    assert held == sorted(held)
    most = [int(value) for value in
            cells(text(coordinator, "/calendar/quota?sort=held&dir=desc"), "Sessions held")]
    assert most == sorted(most, reverse=True) and most[0] >= held[-1]
    remaining = [int(v) for v in cells(text(coordinator, "/calendar/quota?sort=remaining"),
                                       "Sessions remaining")]
    assert remaining == sorted(remaining)

    from core import clock
    from core.assessment import behind_pace
    from core.models import User
    user = User.get(User.username == DEMO_LOGINS["coordinator"][0])
    today = clock.today()
    late = behind_pace(today.year, today, user)
    html = text(coordinator, f"/calendar/quota?behind=1&year={today.year}")
    assert f"{len(late)} pairing" in html
    shown = set(cells(html, "Village"))
    assert shown <= {row.village.name for row in late}
    if len(late) > 10:
        assert "behind=1" in unescape(re.search(r'<a href="([^"]+)" rel="next"', html).group(1))


# --- lists from SQL (sorted in the query) ----------------------------------------------------

def test_lawyers_sorted_by_villages_and_name_and_filtered_by_firm(coordinator):
    counts = [int(v) for v in cells(text(coordinator, "/lawyers/?sort=villages&dir=desc"),
                                    "Active villages")]
    assert counts and counts == sorted(counts, reverse=True)
    names = cells(text(coordinator, "/lawyers/?sort=name&dir=desc"), "Name")
    assert names == sorted(names, reverse=True)
    lawyer = Lawyer.select().order_by(Lawyer.id).first()
    html = text(coordinator, f"/lawyers/?firm={lawyer.firm_id}&sort=name")
    expected = sorted(l.name for l in Lawyer.select().where(Lawyer.firm == lawyer.firm_id))
    assert cells(html, "Name") == expected[:10]
    assert f'<option value="{lawyer.firm_id}" selected>' in html


def test_villages_sorted_by_lawyer_and_filtered_to_those_without_one(coordinator):
    html = text(coordinator, "/villages/?sort=village&dir=desc")
    names = cells(html, "Village")
    assert names == sorted(names, reverse=True)
    nxt = unescape(re.search(r'<a href="([^"]+)" rel="next"', html).group(1))
    assert "sort=village" in nxt and "dir=desc" in nxt
    following = cells(text(coordinator, nxt), "Village")
    assert following and following[0] <= names[-1]
    # the hidden fields keep the order when the search form is sent again
    assert '<input type="hidden" name="sort" value="village" form="list-search">' in html
    unpaired = Village.select().count() - (Pairing.select(Pairing.village).distinct()
                                           .where(Pairing.status == "active").count())
    html = text(coordinator, "/villages/?paired=no")
    assert f"{unpaired} village" in html
    assert text(coordinator, "/villages/?paired=maybe").count('data-label="Village"') == 0


def test_tasks_sorted_by_due_date_and_status_with_the_filters_kept(coordinator):
    html = text(coordinator, "/tasks/?sort=due&dir=desc&status=open")
    assert "aria-sort=\"descending\"" in html
    statuses = cells(html, "Status")
    assert statuses and set(statuses) == {"Open"}
    header = re.search(r'<th[^>]*>\s*<a class="sort-link" href="([^"]+)"[^>]*>Lawyer', html)
    link = unescape(header.group(1))
    assert "status=open" in link and "sort=lawyer" in link
    lawyers = cells(text(coordinator, link), "Lawyer")
    assert lawyers == sorted(lawyers)
    due = [day for day in cells(html, "Due") if day != "—"]
    assert due == sorted(due, reverse=True)
    assert Task.select().where(Task.status == "open").count() > 10  # several pages
