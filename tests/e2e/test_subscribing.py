"""Subscribing on a phone-sized screen (375 px): the lawyer's feed page and the public village
page fit without sideways scrolling, the copy button copies (or selects) the address, and in
WeChat the page says first how to leave WeChat's browser. No console error (the CSP allows
the script: it is a file, not inline)."""
import sqlite3

import pytest

from core.demo import DEMO_LOGINS
from tests.e2e.conftest import LIVE

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 740}
WECHAT_UA = ("Mozilla/5.0 (Linux; Android 14; 23049RAD8C Build/UKQ1.230804.001) "
             "AppleWebKit/537.36 Chrome/116.0 Mobile Safari/537.36 XWEB/1160117 "
             "MicroMessenger/8.0.49.2600(0x2800313D) WeChat/arm64 Weixin NetType/WIFI")


@pytest.fixture
def phone(browser):
    """A page in a phone-sized window that may use the clipboard."""
    contexts = []

    def open_page(user_agent=None):
        options = {"locale": "zh-CN", "viewport": PHONE}
        if user_agent:
            options["user_agent"] = user_agent
        context = browser.new_context(**options)
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
        return page
    yield open_page
    for context in contexts:
        context.close()


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _a_village_code() -> str:
    """A village with a lawyer (other tests of the shared server end pairings)."""
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as conn:
        return conn.execute("SELECT v.code FROM village v JOIN pairing p ON p.village_id = v.id "
                            "WHERE p.status = 'active' ORDER BY v.id DESC LIMIT 1").fetchone()[0]


def test_a_lawyer_adds_an_address_and_copies_it_on_a_phone(phone, live_server, tmp_path):
    page = phone()
    username, password = DEMO_LOGINS["lawyer"]
    page.goto(live_server + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.goto(live_server + "/calendar/feeds")
    page.fill("input[name=label]", "小米手机")
    page.click("form.feed-add button[type=submit]")
    copy = page.locator(".feed-created button[data-copy]")
    copy.wait_for()
    copy.click()
    status = page.locator(".feed-created .copy-status")
    status.wait_for(state="visible")
    page.wait_for_function("document.querySelector('.feed-created .copy-status').textContent")
    assert status.inner_text() in ("已复制。", "已选中地址：请用手机或电脑的“复制”功能复制。")
    if status.inner_text() == "已复制。":
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith(live_server + "/feeds/") and copied.endswith(".ics")
    assert _fits(page)
    page.screenshot(path=str(tmp_path / "feeds-375.png"), full_page=True)
    assert page.console_errors == []


def test_the_village_page_fits_a_phone_and_speaks_to_wechat_first(phone, live_server, tmp_path):
    code = _a_village_code()
    page = phone()
    page.goto(f"{live_server}/v/{code}")
    assert page.locator("a.button[href^='webcal://']").count() == 1
    assert page.locator(".subscribe-wechat").count() == 0
    assert _fits(page)
    assert page.console_errors == []

    wechat = phone(WECHAT_UA)
    wechat.goto(f"{live_server}/v/{code}")
    hint = wechat.locator(".subscribe-wechat")
    assert hint.is_visible() and "在浏览器打开" in hint.inner_text()
    first = wechat.evaluate("""() => {
        const hint = document.querySelector('.subscribe-wechat');
        const link = document.querySelector("a.button[href^='webcal://']");
        return !!(hint.compareDocumentPosition(link) & Node.DOCUMENT_POSITION_FOLLOWING);
    }""")
    assert first, "the WeChat hint comes before the webcal link"
    assert _fits(wechat)
    wechat.screenshot(path=str(tmp_path / "village-wechat-375.png"), full_page=True)
    assert wechat.console_errors == []
