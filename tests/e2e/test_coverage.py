"""A coordinator logs in to the demo district in a real browser and sees full coverage."""
import pytest
from playwright.sync_api import expect

from core.demo import DEMO_LOGINS

pytestmark = pytest.mark.e2e


def _log_in(page, base, role):
    username, password = DEMO_LOGINS[role]
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_coordinator_sees_131_of_131(page, live_server, tmp_path):
    _log_in(page, live_server, "coordinator")
    # the desk says it as one headline, and leads to the coverage list that says it again
    page.locator("#desk-coverage").wait_for()
    assert page.locator("#desk-coverage .big").inner_text().strip() == "131 / 131"
    page.locator("#desk-coverage a").click()
    count = page.locator("#coverage-count")
    count.wait_for()
    assert count.inner_text().strip() == "131 / 131"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.screenshot(path=str(tmp_path / "coverage.png"), full_page=False)
    # Nothing failed to load and no inline script or style was blocked by the CSP.
    assert page.console_errors == []


def test_wrong_password_stays_on_login(page, live_server):
    page.goto(live_server + "/login")
    page.fill("input[name=username]", DEMO_LOGINS["coordinator"][0])
    page.fill("input[name=password]", "wrong-password-1")
    page.click("button[type=submit]")
    assert "/login" in page.url
    assert page.locator(".flash-error").count() == 1


def test_ending_a_pairing_updates_the_page_without_reload(page, live_server):
    """HTMX: the panel opens beside the table, the end form asks for confirmation,
    and the headline drops to 130 / 131 with no full page load. (Runs last: it changes
    the shared demo data.)"""
    _log_in(page, live_server, "coordinator")
    page.locator("#desk-coverage").wait_for()
    page.goto(live_server + "/coverage")
    page.locator("#coverage-count").wait_for()
    page.evaluate("window.__still_the_same_page = true")
    page.locator("button", has_text="编辑").first.click()
    panel = page.locator(".pairing-panel")
    panel.wait_for()
    panel.locator("summary", has_text="结束结对").click()
    page.once("dialog", lambda dialog: dialog.accept())
    panel.locator("button.danger", has_text="结束结对").click()
    expect(page.locator("#coverage-count")).to_have_text("130 / 131")
    assert page.evaluate("window.__still_the_same_page") is True
    assert panel.locator(".badge.bad").count() >= 1  # the village now has no lawyer
