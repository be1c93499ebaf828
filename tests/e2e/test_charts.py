"""A coordinator at an office PC opens the charts of the demo district: every programme
against its pace line, sessions by month, the towns, each lawyer's 12 + 2 — drawn on the
server, with no console error (the CSP refuses inline styles), nothing axe-core calls
critical or serious; and a town coordinator's figures say they show the town's share."""
import pytest

from tests.e2e.conftest import log_in
from tests.e2e.pagecheck import axe_violations, page_problems, structure

pytestmark = pytest.mark.e2e



def test_coordinator_reads_the_charts_against_pace(desk, live_server):
    log_in(desk, live_server, "coordinator")
    desk.goto(live_server + "/programmes/charts")
    assert desk.locator("h1").inner_text().startswith("图表")
    assert "区目标" in desk.locator(".target-note").first.inner_text()
    assert desk.locator("svg.pace-chart").count() == 10        # the ten programmes
    assert desk.locator("svg.session-chart").count() == 1
    towns = desk.locator("svg.bar-list").nth(1)
    assert towns.locator("g.row").count() == 8                 # the demo's eight towns
    assert desk.locator("svg.bar-list").count() >= 2 + 25      # and a page of lawyers' figures
    # every bar says its status in words, not by colour alone
    overview = desk.locator("svg.bar-list").first
    assert overview.locator("text.row-value").first.text_content().split("·")[-1].strip() in (
        "按进度", "稍落后", "明显落后")
    desk.locator("#charts-overview").scroll_into_view_if_needed()
    desk.shot("charts-coordinator", docs=True)
    assert axe_violations(desk) == []
    assert structure(desk) == []
    assert desk.console_errors == []


def test_town_coordinator_sees_the_towns_share(desk, live_server):
    log_in(desk, live_server, "town coordinator")
    desk.goto(live_server + "/programmes/")
    note = desk.locator(".target-note").first.inner_text()
    assert "本镇目标 = 区目标 ×" in note
    desk.goto(live_server + "/programmes/charts")
    assert desk.locator("svg.bar-list").nth(1).locator("g.row").count() == 1  # their town
    assert desk.console_errors == []


@pytest.mark.parametrize("role, path", [
    ("coordinator", "/programmes/charts"), ("coordinator", "/programmes/"),
    ("town coordinator", "/programmes/family_visits"), ("lawyer", "/home"),
])
def test_the_pace_pages_pass_the_phone_checks(phone, live_server, role, path):
    """On a 375 px phone: no overflow, no small target, landmarks, axe-core."""
    log_in(phone, live_server, role)
    phone.goto(live_server + path)
    phone.shot("pace-" + role.replace(" ", "-") + path.replace("/", "-").rstrip("-"), full_page=True)
    assert page_problems(phone) == []
    assert phone.console_errors == []
