"""The 工作台 on a phone inside WeChat (375 × 812): a lawyer lands on it after login and sees
today's and this week's sessions and the sessions not yet recorded — exactly those the
database holds — and reaches their quota and assessment without a 403; a village user
lands on theirs, sees the next session and the lawyer's contact, and every link on it
opens; a lawyer copies a new feed address to the clipboard and revokes the device.

Screenshots: lawyer-home and village-home (test-output/screenshots/); the lawyer's is also
copied to docs/screenshots/lawyer-home.png, where the README shows it, by `make screenshots`."""
import datetime as dt
import sqlite3
import subprocess
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LIVE, WECHAT_USER_AGENT, log_in

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the demo's district time (JIEDUI_TIMEZONE default)
VILLAGE_USER = ("phonehome-village", "Cun-e2e-7421!")  # this test's own village login


def _db():
    return sqlite3.connect(LIVE["instance"] / "jiedui.db")


def _utc_text(day: dt.date) -> str:
    """Midnight of a district date as stored (naive UTC text)."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)
    return start.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")


def _lawyer_truth() -> dict:
    """What the database says the demo lawyer's home must show, as event ids."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
    today = dt.datetime.now(SHANGHAI).date()
    monday = today - dt.timedelta(days=today.weekday())
    with _db() as conn:
        lawyer = conn.execute("SELECT lawyer_id FROM user WHERE username = 'lawyer'").fetchone()[0]

        def ids(sql, *params):
            return [row[0] for row in conn.execute(
                "SELECT id FROM event WHERE lawyer_id = ? AND kind IN ('session', 'publicity') "
                "AND " + sql + " ORDER BY starts_at, id", (lawyer, *params))]
        return {
            "today": ids("status != 'cancelled' AND starts_at >= ? AND starts_at < ?",
                         _utc_text(today), _utc_text(today + dt.timedelta(days=1))),
            "week": ids("status != 'cancelled' AND starts_at >= ? AND starts_at < ?",
                        _utc_text(today + dt.timedelta(days=1)),
                        _utc_text(monday + dt.timedelta(days=7))),
            # today's are shown under today, with their sign-in
            "unrecorded": ids("status = 'planned' AND ends_at <= ? AND starts_at < ? AND id NOT "
                              "IN (SELECT makeup_for_id FROM event WHERE makeup_for_id IS NOT "
                              "NULL AND status != 'cancelled')", now, _utc_text(today)),
        }


def _shown(page, section: str) -> list[int]:
    return [int(item.get_attribute("id").removeprefix("visit-"))
            for item in page.locator(f"#{section} li.visit").all()]


def test_a_lawyer_lands_on_the_desk_and_reaches_quota_and_assessment(phone, live_server):
    log_in(phone, live_server, "lawyer")
    assert urlsplit(phone.url).path == "/home"
    expect(phone.locator("h1")).to_have_text("工作台")
    truth = _lawyer_truth()
    assert _shown(phone, "home-today") == truth["today"]
    if not truth["today"]:
        expect(phone.locator("#home-today .home-none")).to_be_visible()
    assert _shown(phone, "home-week") == truth["week"]
    if truth["unrecorded"]:
        expect(phone.locator("#unrecorded-count")).to_have_text(str(len(truth["unrecorded"])))
        shown = _shown(phone, "home-unrecorded")
        assert shown and set(shown) <= set(truth["unrecorded"])
        record = phone.locator("#home-unrecorded a.record-held").first
        assert "open=held" in record.get_attribute("href")
    else:
        assert phone.locator("#home-unrecorded").count() == 0
    phone.shot("lawyer-home", docs=True)

    with phone.expect_navigation():
        phone.click("#home-quota-link")
    assert urlsplit(phone.url).path == "/calendar/quota"
    assert phone.locator("tr[id^=quota-]").count() >= 1
    phone.go_back()
    with phone.expect_navigation():
        phone.locator(".village-year a.assessment-link").first.click()
    assert urlsplit(phone.url).path.startswith("/assessment/")
    assert phone.locator(".breadcrumbs a[href='/home']").count() == 1
    phone.go_back()
    with phone.expect_navigation():
        phone.click("#home-assessment-link")
    assert phone.locator("table.assessment-table tbody tr").count() >= 1
    assert phone.console_errors == []


def _a_village_to_watch() -> str:
    """A village with a lawyer, preferably one with a session still to come (an earlier test
    of the shared server ends the first village's pairing)."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
    with _db() as conn:
        row = conn.execute(
            "SELECT v.code FROM village v JOIN pairing p ON p.village_id = v.id "
            "AND p.status = 'active' LEFT JOIN event e ON e.village_id = v.id "
            "AND e.status = 'planned' AND e.kind IN ('session', 'publicity') AND e.starts_at >= ? "
            "GROUP BY v.id ORDER BY COUNT(e.id) = 0, MIN(e.starts_at), v.id DESC LIMIT 1",
            (now,)).fetchone()
    return row[0]


def _village_login() -> tuple[str, bool]:
    """This test's village user (made once, through the command line), and whether its
    village has a session to come."""
    code = _a_village_to_watch()
    with _db() as conn:
        exists = conn.execute("SELECT 1 FROM user WHERE username = ?",
                              (VILLAGE_USER[0],)).fetchone()
    if not exists:
        result = subprocess.run(
            [str(LIVE["jiedui"]), "user", "add", "--username", VILLAGE_USER[0],
             "--password", VILLAGE_USER[1], "--role", "village", "--village", code],
            env=LIVE["env"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
    with _db() as conn:
        coming = conn.execute(
            "SELECT 1 FROM event e JOIN user u ON u.village_id = e.village_id "
            "WHERE u.username = ? AND e.status = 'planned' AND e.starts_at >= ? "
            "AND e.kind IN ('session', 'publicity')", (VILLAGE_USER[0], now)).fetchone()
    return code, coming is not None


def test_a_village_user_sees_the_next_session_and_the_lawyer_and_every_link_opens(
        phone, live_server):
    code, coming = _village_login()
    phone.goto(live_server + "/login")
    phone.fill("input[name=username]", VILLAGE_USER[0])
    phone.fill("input[name=password]", VILLAGE_USER[1])
    with phone.expect_navigation():
        phone.click("button[type=submit]")
    assert urlsplit(phone.url).path == "/home"
    if coming:
        expect(phone.locator("#home-next .next-when")).to_be_visible()
        assert phone.locator("#home-next .next-place").inner_text().strip()
    else:
        expect(phone.locator("#home-next .home-none")).to_be_visible()
    lawyer = phone.locator("#home-lawyer")
    expect(lawyer.locator(".lawyer-name")).not_to_be_empty()
    call = lawyer.locator("a.call-button")
    assert call.get_attribute("href").startswith("tel:")
    assert call.bounding_box()["height"] >= 44
    phone.shot("village-home")

    hrefs = {a.get_attribute("href") for a in phone.locator("a[href]").all()}
    pages = {urljoin(phone.url, href) for href in hrefs
             if not href.startswith(("tel:", "mailto:", "webcal:", "#"))}
    assert f"{live_server}/v/{code}" in pages
    answers = {}
    for url in sorted(pages):
        response = phone.request.get(url, headers={"User-Agent": WECHAT_USER_AGENT})
        landed = urlsplit(response.url).path
        answers[url] = response.status if landed != "/login" else "sent to login"
    assert {url: status for url, status in answers.items() if status != 200} == {}
    assert phone.console_errors == []


def test_a_lawyer_copies_a_feed_address_and_revokes_the_device(phone, live_server):
    phone.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    log_in(phone, live_server, "lawyer")
    phone.goto(live_server + "/calendar/feeds")
    label = "工作台测试手机"
    phone.fill("input[name=label]", label)
    phone.click("form.feed-add button[type=submit]")
    created = phone.locator(".feed-created")
    created.wait_for()
    expect(created.locator(".subscribe-wechat")).to_be_visible()  # WeChat's browser: say so
    expect(created.locator(".feed-qr img")).to_be_hidden()  # for another device, folded
    address = created.locator("input.feed-url").input_value()
    assert address.startswith(live_server + "/feeds/") and address.endswith(".ics")
    mail = created.locator("a.send-to-computer").get_attribute("href")
    assert mail.startswith("mailto:") and "feeds%2F" in mail
    copy = created.locator("button[data-copy]")
    assert copy.bounding_box()["height"] >= 44
    copy.click()
    status = created.locator(".copy-status")
    expect(status).not_to_be_empty()
    assert status.inner_text() in ("已复制。", "已选中地址：请用手机或电脑的“复制”功能复制。")
    if status.inner_text() == "已复制。":
        assert phone.evaluate("navigator.clipboard.readText()") == address
    created.locator(".subscribe-other-device summary").click()
    expect(created.locator(".feed-qr img")).to_be_visible()

    row = phone.locator(".feed-token-list tr", has_text=label)
    expect(row).to_have_count(1)
    phone.once("dialog", lambda dialog: dialog.accept())
    row.locator("button", has_text="撤销").click()
    expect(phone.locator(".feed-token-list tr", has_text=label)).to_have_count(0)
    assert phone.console_errors == []
