"""A village invites its lawyer to a meeting from a phone; the lawyer, on theirs, accepts;
the activity is then in the lawyer's calendar feed, and the village sees the answer.

The shared server's demo village may have lost its lawyer to another test (ending a
pairing): the village here is another of the demo lawyer's, with a login of its own."""
import datetime as dt
import re
import sqlite3
import subprocess
import time
import urllib.request

import pytest

from tests.e2e.conftest import LIVE, PHONE_VIEWPORT, SCREENSHOTS, WECHAT_USER_AGENT, log_in

pytestmark = pytest.mark.e2e


def _query(sql: str, *params):
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as conn:
        return conn.execute(sql, params).fetchone()


VILLAGE_LOGIN = ("e2e-invites-village", "village-invites-2026")


def _own_village_login() -> None:
    """A village user for the last village (by code) the demo lawyer is paired with."""
    code, = _query("SELECT v.code FROM village v JOIN pairing p ON p.village_id = v.id "
                   "JOIN user u ON u.lawyer_id = p.lawyer_id WHERE u.username = 'lawyer' "
                   "AND p.status = 'active' ORDER BY v.code DESC")
    username, password = VILLAGE_LOGIN
    result = subprocess.run([str(LIVE["jiedui"]), "user", "add", "--username", username,
                             "--password", password, "--role", "village", "--village", code],
                            env=LIVE["env"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _log_in_as(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def _feed_url(base: str, lawyer_id: int) -> str:
    result = subprocess.run([str(LIVE["jiedui"]), "feed-token", "--lawyer", str(lawyer_id),
                             "--label", "e2e village invites"],
                            env=LIVE["env"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return next(u for u in re.findall(r"https?://\S+\.ics", result.stdout) if u.startswith(base))


def _feed_holds(url: str, uid: str, seconds: float = 60) -> str:
    """The feed once it holds ``uid`` (the consumer publishes it after the commit)."""
    deadline = time.monotonic() + seconds
    while True:
        request = urllib.request.Request(url, headers={"User-Agent": "e2e"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read().decode()
        if uid in body or time.monotonic() > deadline:
            return body
        time.sleep(1)


def _second_phone(browser):
    """Another phone (the lawyer's), as the phone fixture makes one."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE_VIEWPORT,
                                  user_agent=WECHAT_USER_AGENT, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: page.console_errors.append(msg.text)
            if msg.type == "error" else None)
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))

    def shot(name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), caret="initial")

    page.shot = shot
    return context, page


def test_a_village_invites_its_lawyer_who_accepts_into_the_feed(live_server, phone, browser):
    title = f"村民议事会 {time.strftime('%H%M%S')}"
    day = dt.date.today() + dt.timedelta(days=20)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)

    # the village invites (in the evening: the lawyer's on-site hours are by day)
    _own_village_login()
    _log_in_as(phone, live_server, *VILLAGE_LOGIN)
    phone.goto(live_server + "/village/requests")
    phone.select_option("select[name=invite-kind]", "activity")
    phone.fill("input[name=invite-title]", title)
    phone.fill("input[name=invite-day]", day.isoformat())
    phone.fill("input[name=invite-start]", "19:00")
    phone.fill("input[name=invite-end]", "20:30")
    phone.fill("input[name=invite-place]", "村委会二楼会议室")
    phone.fill("textarea[name=invite-description]", "讨论村规民约修订，请律师列席")
    phone.shot("village-invites-form", full_page=True)
    phone.click("#invite button[type=submit]")
    phone.wait_for_selector("text=答复将显示在这里")
    assert phone.locator(".request-title", has_text=title).count() == 1
    phone.shot("village-invites-sent")

    # the lawyer accepts on their phone
    context, lawyer = _second_phone(browser)
    try:
        log_in(lawyer, live_server, "lawyer")
        lawyer.goto(live_server + "/requests/awaiting")
        item = lawyer.locator("#lawyer-home-requests li.request-item", has_text=title)
        item.wait_for()
        lawyer.shot("lawyer-invitation-awaits")
        item.get_by_role("button", name="接受").click()
        lawyer.wait_for_selector("text=已加入您的日程")
        lawyer.shot("lawyer-invitation-accepted")
        assert lawyer.console_errors == []
    finally:
        context.close()

    # it is in the lawyer's feed
    lawyer_id, uid = _query(
        "SELECT e.lawyer_id, e.uid FROM invitation i JOIN event e ON e.id = i.event_id "
        "WHERE i.title = ? AND i.status = 'accepted'", title)
    body = _feed_holds(_feed_url(live_server, lawyer_id), uid)
    assert uid in body and "村(居)活动" in body and title not in body
    assert f"DTSTART;TZID=Asia/Shanghai:{day:%Y%m%d}T190000" in body

    # the village sees the answer
    phone.goto(live_server + "/village/requests")
    answered = phone.locator("li.request-item", has_text=title)
    assert "已接受" in answered.inner_text()
    phone.shot("village-invitation-answered")
    assert phone.console_errors == []
    assert (SCREENSHOTS / "lawyer-invitation-accepted.png").exists()
