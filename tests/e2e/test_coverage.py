"""A coordinator logs in to the demo district in a real browser and sees full coverage."""
import pytest

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
    count = page.locator("#coverage-count")
    count.wait_for()
    assert count.inner_text().strip() == "131 / 131"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.screenshot(path=str(tmp_path / "coverage.png"), full_page=False)
    # No inline script or style was blocked by the content security policy.
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_wrong_password_stays_on_login(page, live_server):
    page.goto(live_server + "/login")
    page.fill("input[name=username]", DEMO_LOGINS["coordinator"][0])
    page.fill("input[name=password]", "wrong-password-1")
    page.click("button[type=submit]")
    assert "/login" in page.url
    assert page.locator(".flash-error").count() == 1
