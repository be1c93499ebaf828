"""The coordinator's desk at an office PC (1280 × 900): the demo district's coordinator lands
on it after login; it fits in three screens, nothing shifts after it is painted (cumulative
layout shift measured by a PerformanceObserver), it shows a data problem grouped by cause
and a village behind pace, and a keyboard reaches the list that fixes the problem. Then
every page a coordinator and an administrator reach from it passes axe-core (nothing
critical or serious), with the landmarks, no overflow and no small target.

Screenshots: desk-coordinator (the first screen, also docs/screenshots/ by `make
screenshots`, shown in the README), desk-coordinator-full (the whole page) and desk-menu (a
navigation menu open)."""
import re
import sqlite3
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESK_VIEWPORT, LIVE, log_in
from tests.e2e.pagecheck import AXE, page_problems
from tests.e2e.test_phone_pages import crawl, route_of  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e

PAGES_PER_ROLE = 70  # more than the routes a coordinator or an administrator reaches
# Sums the layout shifts not caused by input, from the first paint on. Added through the
# debugging protocol before the page's own scripts: the CSP does not apply to it.
LAYOUT_SHIFT_JS = """
window.__layoutShift = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) { window.__layoutShift += entry.value; }
  }
}).observe({type: "layout-shift", buffered: true});
"""


def _photo_truth() -> int:
    """How many lawyers of active pairings have no photo, as the database says."""
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as db:
        return db.execute("SELECT COUNT(DISTINCT l.id) FROM lawyer l JOIN pairing p"
                          " ON p.lawyer_id = l.id AND p.status = 'active'"
                          " WHERE l.photo IS NULL OR l.photo = ''").fetchone()[0]


def _paired_truth() -> int:
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as db:
        return db.execute("SELECT COUNT(DISTINCT village_id) FROM pairing"
                          " WHERE status = 'active'").fetchone()[0]


def _villages_truth() -> int:
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as db:
        return db.execute("SELECT COUNT(*) FROM village").fetchone()[0]


def test_the_coordinators_desk_fits_three_screens_and_does_not_shift(desk, live_server):
    desk.add_init_script(LAYOUT_SHIFT_JS)
    log_in(desk, live_server, "coordinator")
    assert urlsplit(desk.url).path == "/home"
    desk.wait_for_load_state("networkidle")
    desk.wait_for_timeout(1000)  # anything that would arrive late has arrived
    desk.shot("desk-coordinator", docs=True)
    desk.shot("desk-coordinator-full", full_page=True)

    height = desk.evaluate("() => document.scrollingElement.scrollHeight")
    assert height <= 3 * DESK_VIEWPORT["height"], f"the desk is {height} px tall"
    shift = desk.evaluate("() => window.__layoutShift")
    assert shift < 0.1, f"cumulative layout shift {shift:.3f}"
    assert desk.console_errors == []

    # the headline is the database's (the shared demo may have lost a pairing in another test)
    expect(desk.locator("#desk-coverage")).to_contain_text(
        re.compile(rf"{_paired_truth()} / {_villages_truth()}\s*村\(居\)已结对"))
    problem = desk.locator("#desk-problem-photo a")  # one line for the cause, not per village
    expect(problem).to_have_text(f"{_photo_truth()} 名律师没有照片")
    assert desk.locator("#desk-problems li").count() <= 5
    behind = desk.locator("#desk-behind .desk-groups a[href^='/assessment/']")
    expect(behind.first).to_be_visible()

    # by keyboard: the problem's link opens the lawyers to fix, each with its form's link
    problem.focus()
    with desk.expect_navigation():
        desk.keyboard.press("Enter")
    assert urlsplit(desk.url).path == "/lawyers/" and "missing=photo" in desk.url
    fixes = desk.locator(".missing-list a[href*='#lawyer-details']")
    expect(fixes.first).to_be_visible()
    assert fixes.count() == min(_photo_truth(), 25)  # a page of the list
    # and the behind-pace village's sheet opens
    desk.go_back()
    sheet = desk.locator("#desk-behind a[href^='/assessment/'][href*='year=']").first
    name = sheet.inner_text()
    sheet.click()
    expect(desk.locator("main")).to_contain_text(name)


def test_the_desk_navigation_has_six_entries_and_works_by_keyboard(desk, live_server):
    log_in(desk, live_server, "coordinator")
    top = desk.locator(".nav-bar > li > a, .nav-bar > li > details > summary")
    assert [item.inner_text().strip() for item in top.all()] == [
        "工作台", "结对", "日程", "任务与项目", "工作制度", "系统"]
    menu = desk.locator("details.nav-more > summary", has_text="工作制度")
    menu.focus()
    desk.keyboard.press("Enter")
    expect(desk.locator("details.nav-more[open]")).to_have_count(1)
    link = desk.locator("details.nav-more[open] a", has_text="重大事项")
    expect(link).to_be_visible()
    desk.shot("desk-menu")
    # the open menu covers the page's links: axe would count them as obscured targets
    problems = page_problems(desk, axe=False)
    desk.keyboard.press("Escape")
    expect(desk.locator("details.nav-more[open]")).to_have_count(0)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_every_page_of_the_desk_passes_at_1280(desk, live_server, role, route_of):
    assert AXE.exists(), "axe-core is missing: `make browser` installs it from npm"
    started = time.monotonic()
    log_in(desk, live_server, role)
    report = crawl(desk, live_server, "/home", PAGES_PER_ROLE, route_of)
    problems = [problem for found in report.values() for problem in found]
    for link in desk.eval_on_selector_all("nav.mainnav a[href^='/']",
                                          "els => els.map(a => a.getAttribute('href'))"):
        if link.startswith("/lang/"):
            continue
        response = desk.request.get(live_server + link)
        if response.status >= 400:
            problems.append(f"nav link {link} answers {response.status}")
    print(f"{role}: {len(report)} pages in {time.monotonic() - started:.1f} s")
    assert problems == [], "\n".join(problems)
