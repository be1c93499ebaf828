"""Every page each role reaches, on a 375 px phone: axe-core finds nothing critical or
serious, nothing is wider than the screen, no tap target is under 24 px, the landmarks and
headings are there, nothing errs in the console, and no link leads to a refusal.

The pages are found as a person would find them: from the first page after login and its
navigation, following same-origin links, one URL per route (numbers and codes are
normalised). Downloads, logging out and the language switch are not followed.
"""
import re
import time
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from tests.e2e.conftest import log_in
from tests.e2e.pagecheck import AXE, page_problems

pytestmark = pytest.mark.e2e

ROLES = ["admin", "coordinator", "town coordinator", "leader", "firm head", "lawyer", "village"]
PAGES_PER_ROLE = 25  # 8–25 s a role
PUBLIC_PAGES = 6
NOT_FOLLOWED = re.compile(
    r"^/(logout|lang/|static/|feeds/)|\.(xlsx|ics|csv|docx|zip|png|jpe?g|svg|pdf)$"
    r"|/photo$|/attachments/")


@pytest.fixture(scope="module")
def route_of():
    """The route a path belongs to (its endpoint): /villages/3301-012 and /villages/3302-001
    are one page to check, /programmes/legal_aid and /programmes/family_visits too."""
    from web import create_app
    adapter = create_app({"TESTING": True}).url_map.bind("localhost")

    def route(path: str) -> str:
        try:
            endpoint, _args = adapter.match(urlsplit(path).path, method="GET")
        except (HTTPException, RequestRedirect):
            return urlsplit(path).path
        return endpoint
    return route


def _links(page, base):
    hrefs = page.evaluate("""() => [...document.querySelectorAll('a[href]')]
        .filter(a => !a.hasAttribute('download'))
        .map(a => a.getAttribute('href'))""")
    for href in hrefs:
        url = urljoin(page.url, href)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != base or NOT_FOLLOWED.search(parts.path):
            continue
        yield parts.path + (f"?{parts.query}" if parts.query else "")


def _settle(page):
    """Wait for the page's own requests (panels loaded on `load`) to finish."""
    page.wait_for_load_state("load")
    page.wait_for_function("() => !document.querySelector('.htmx-request')", timeout=5000)


def crawl(phone, base, start, limit, route_of):
    """Visit up to `limit` routes reachable from `start`, checking each page. Returns
    {path: problems}."""
    queue = deque([start])
    seen_routes = set()
    report = {}
    while queue and len(report) < limit:
        path = queue.popleft()
        route = route_of(path)
        if route in seen_routes:
            continue
        seen_routes.add(route)
        phone.console_errors.clear()
        response = phone.goto(base + path)
        _settle(phone)
        problems = []
        if response is None or response.status >= 400:
            problems.append(f"{base + path}: answers {response.status if response else '—'}")
        else:
            problems += page_problems(phone)
        problems += [f"{phone.url}: console: {error}" for error in phone.console_errors]
        report[path] = problems
        for link in _links(phone, base):
            if route_of(link) not in seen_routes:
                queue.append(link)
    return report


def _nav_links(phone, base):
    return sorted(set(_links_in(phone, base, "nav a[href]")))


def _links_in(phone, base, selector):
    for href in phone.eval_on_selector_all(selector, "els => els.map(a => a.href)"):
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" == base and not NOT_FOLLOWED.search(parts.path):
            yield parts.path + (f"?{parts.query}" if parts.query else "")


def _open_panel(phone):
    """Open the first HTMX panel of the page (a link or button that swaps a target), and
    say where focus went. None when the page has none."""
    opener = phone.locator("main a[hx-get][hx-target^='#']:visible,"
                           " main button[hx-get][hx-target^='#']:visible").first
    if opener.count() == 0:
        return None
    target = opener.get_attribute("hx-target")
    opener.click()
    phone.wait_for_function(
        "(t) => { const el = document.querySelector(t);"
        " return el && el.children.length && !document.querySelector('.htmx-request')"
        " && el.contains(document.activeElement); }", arg=target, timeout=5000)
    return target


def _focused(phone):
    return phone.evaluate("() => document.activeElement ? document.activeElement.outerHTML"
                          ".slice(0, 120) : null")


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_a_role_passes_on_a_phone(phone, live_server, role, route_of):
    assert AXE.exists(), "axe-core is missing: `make browser` installs it from npm"
    started = time.monotonic()
    log_in(phone, live_server, role)
    home = urlsplit(phone.url)
    _settle(phone)
    phone.shot(f"home-{role.replace(' ', '-')}")
    # The first screen shows content: the top bar is one compact line, the page's heading
    # comes right after it, and the navigation waits at the bottom.
    assert phone.locator("header.topbar").bounding_box()["height"] <= 64
    assert phone.locator("main h1").bounding_box()["y"] < 200
    bar = phone.locator("nav.mainnav").bounding_box()
    assert bar["y"] + bar["height"] >= 812 - 1 and bar["height"] <= 72
    for item in phone.locator(".nav-bar > li > a, .nav-more > summary").all():
        assert item.bounding_box()["height"] >= 44, item.inner_text()
    nav = _nav_links(phone, live_server)
    assert nav, "the navigation shows no link"
    report = crawl(phone, live_server, home.path + (f"?{home.query}" if home.query else ""),
                   PAGES_PER_ROLE, route_of)
    problems = [problem for found in report.values() for problem in found]

    # No link of the navigation leads to a refusal.
    for link in nav:
        response = phone.request.get(live_server + link)
        if response.status >= 400:
            problems.append(f"nav link {link} answers {response.status}")

    # The menu of the other places (the desk navigation: each menu), opened, fits and has
    # large enough targets.
    phone.goto(live_server + home.path)
    _settle(phone)
    for menu in phone.locator("details.nav-more > summary").all():
        menu.click()
        problems += [f"(menu {menu.inner_text()} open) {p}"
                     for p in page_problems(phone, axe=False)]
        menu.click()

    # One HTMX panel: focus moves into what was swapped in; nothing errs.
    for path in report:
        phone.goto(live_server + path)
        _settle(phone)
        phone.console_errors.clear()
        try:
            target = _open_panel(phone)
        except PlaywrightTimeout:
            problems.append(f"{phone.url}: after opening a panel, focus is not in it "
                            f"(it is on {_focused(phone)})")
            break
        if target:
            problems += [f"{phone.url} (panel {target}) console: {e}" for e in phone.console_errors]
            break

    print(f"{role}: {len(report)} pages in {time.monotonic() - started:.1f} s")
    assert problems == [], "\n".join(problems)


def test_public_pages_pass_on_a_phone(phone, live_server, route_of):
    """A resident's page (/v/<code>, from the card's QR code) and what it links to."""
    phone.goto(live_server + "/v/")
    village = urlsplit(phone.locator("main a[href^='/v/']").first.get_attribute("href")).path
    assert route_of(village) == "public.village"
    report = crawl(phone, live_server, village, PUBLIC_PAGES, route_of)
    assert village in report
    problems = [problem for found in report.values() for problem in found]
    assert problems == [], "\n".join(problems)


def test_moving_an_event_keeps_focus_in_its_panel_and_says_so(phone, live_server):
    """A coordinator pages through the calendar and moves an event (the last of this
    month, to its own day: nothing another test sees changes): each swap puts focus on what
    was swapped in, the notice is read out, the calendar behind is refreshed, and the CSP
    refuses nothing (htmx settles no style attribute)."""
    log_in(phone, live_server, "coordinator")
    phone.goto(live_server + "/calendar/?view=agenda")  # the district's: counted by town
    town = phone.locator(".calendar-towns a").first.get_attribute("href")
    phone.goto(live_server + town + "&view=agenda")  # a town's agenda lists its events
    phone.locator("nav.month-nav a[rel=next]").click()
    expect(phone.locator("#calendar-month")).to_be_focused()
    phone.locator("nav.month-nav a", has_text="今天").click()
    expect(phone.locator("#calendar-month")).to_be_focused()
    phone.locator(".day-events .event a").last.click()
    expect(phone.locator(".event-detail h2")).to_be_focused()
    move = phone.locator("summary", has_text="调整日期或时间")
    if move.count() == 0:
        pytest.skip("no event ahead this month in the demo (the month's last days)")
    move.click()
    moved_to = phone.locator("#move-day").input_value()
    phone.locator("details[open] button[type=submit]").click()
    expect(phone.locator(".event-detail .flash")).to_contain_text(moved_to)
    expect(phone.locator(".event-detail h2")).to_be_focused()
    expect(phone.locator("#announcer")).to_contain_text(moved_to)
    assert phone.console_errors == []


def test_a_search_announces_how_many_it_found(phone, live_server):
    """Typing a search keeps focus in the box and reads out the new count."""
    log_in(phone, live_server, "coordinator")
    phone.goto(live_server + "/villages/")
    box = phone.locator("main input[type=search]")
    box.fill("社区")
    expect(phone.locator("#results .summary")).to_contain_text("社区")
    summary = " ".join(phone.locator("#results .summary").inner_text().split())
    expect(phone.locator("#announcer")).to_have_text(summary)
    expect(box).to_be_focused()
    assert phone.console_errors == []
