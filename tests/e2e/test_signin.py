"""A lawyer signs in and out at today's session on a phone (签到): the phone gives its
position, the sign-out carries what was done, the residents served and a photo from the
camera; the session is then held and the work log holds the entry. Screenshots of each
step go to the test output. (It holds the demo lawyer's session of today on the shared
server; other tests must not count on it staying unrecorded.)"""
import datetime as dt
import io
import re
import sqlite3

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import LIVE, log_in

pytestmark = pytest.mark.e2e

POSITION = {"latitude": 31.0325, "longitude": 121.227, "accuracy": 18}
CONTENT = "解答土地流转咨询三起，讲解民法典相邻关系"


def _camera_photo() -> bytes:
    image = Image.new("RGB", (1600, 1200), (40, 110, 180))
    exif = image.getexif()
    exif[0x010F] = "PhoneMaker"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _signed_in_hours_ago(event_id: int, hours: float = 4) -> None:
    """As if the lawyer had signed in at the start of the session: a session lasts half a
    day (JIEDUI_MIN_SESSION_HOURS), which a test does not wait for."""
    earlier = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=hours)
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as conn:
        conn.execute("UPDATE sign_in SET signed_in_at = ? WHERE event_id = ?",
                     (earlier.isoformat(sep=" "), event_id))


def _open_todays_session(phone, base) -> int:
    """The lawyer's home (工作台): today's session with its sign-in button showing. Returns
    the event's id."""
    phone.goto(base + "/home")
    form = phone.locator(".signin-form").first
    expect(form).to_be_visible()
    return int(re.search(r"/signins/events/(\d+)/in", form.get_attribute("action")).group(1))


def test_a_lawyer_signs_in_and_out_at_todays_session_with_a_photo(phone, live_server):
    phone.context.grant_permissions(["geolocation"], origin=live_server)
    phone.context.set_geolocation(POSITION)
    log_in(phone, live_server, "lawyer")
    event_id = _open_todays_session(phone, live_server)
    phone.shot("signin-1-before")

    phone.locator(f"#signin-action-{event_id} .signin-button").click()
    action = phone.locator(f"#signin-action-{event_id}")
    expect(phone.locator(".flash").filter(has_text="签到")).to_contain_text("已记录位置（误差约 18 米）")
    expect(action.locator(".signout-form")).to_be_visible()
    expect(action).to_contain_text("已签到")
    assert action.locator(".signin-button").bounding_box()["height"] >= 44
    phone.shot("signin-2-signed-in")

    _signed_in_hours_ago(event_id)
    form = action.locator(".signout-form")
    form.locator("textarea").fill(CONTENT)
    form.locator("input[type=number]").fill("12")
    form.locator("input[type=file]").set_input_files(
        [{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": _camera_photo()}])
    phone.shot("signin-3-signing-out")
    form.locator(".signin-button").click()
    expect(action.locator(".flash")).to_contain_text("已登记为已举行")
    phone.shot("signin-4-signed-out")

    phone.goto(f"{live_server}/calendar/events/{event_id}")
    section = phone.locator(f"#event-{event_id}")
    expect(section.locator(".badge.ok").first).to_have_text("已举行")
    expect(section).to_contain_text("约 ±18 米")
    expect(section).to_contain_text("现场签到")
    thumb = section.locator(".signin-thumbs img")
    expect(thumb).to_have_count(1)
    thumb.scroll_into_view_if_needed()
    loaded = thumb.evaluate("img => img.complete ? img.naturalWidth : new Promise(done => {"
                            " img.addEventListener('load', () => done(img.naturalWidth));"
                            " setTimeout(() => done(img.naturalWidth), 10000); })")
    assert loaded > 0  # served to the lawyer (wait_for_function would need eval: the CSP)
    assert section.locator(".signin-form, .signout-form").count() == 0
    phone.shot("signin-5-held", full_page=True)

    phone.goto(live_server + "/records/log")
    entry = phone.get_by_text(f"：{CONTENT}", exact=False)
    expect(entry).to_be_visible()
    expect(phone.locator("body")).to_contain_text("服务群众 12 人。")
    entry.scroll_into_view_if_needed()
    phone.shot("signin-5b-work-log")
    assert phone.console_errors == []


def _signed_in_months() -> list[str]:
    """The months (YYYY-MM) of the demo's signed-in sessions, newest first."""
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as conn:
        rows = conn.execute("SELECT DISTINCT substr(datetime(e.starts_at, '+8 hours'), 1, 7) "
                            "FROM sign_in s JOIN event e ON e.id = s.event_id "
                            "WHERE s.signed_out_at IS NOT NULL ORDER BY 1 DESC").fetchall()
    return [month for (month,) in rows]


def test_a_town_coordinator_sees_sign_ins_on_the_calendar_and_the_quota(phone, live_server):
    months = _signed_in_months()
    if not months:
        pytest.skip("the year has just begun: the demo has held nothing yet")
    log_in(phone, live_server, "town coordinator")
    phone.goto(live_server + "/calendar/quota")
    expect(phone.locator("#total-proofs")).to_contain_text("签到")
    row = phone.locator("tr:has(.held-proof .proof-signin)").first
    expect(row).to_be_visible()
    row.scroll_into_view_if_needed()
    phone.shot("signin-6-quota")

    phone.goto(live_server + f"/calendar/?view=agenda&month={months[0]}")
    signed = phone.locator("li.event:has(.signin-mark) a").first
    expect(signed).to_be_visible()
    phone.shot("signin-7-calendar-marks")
    signed.click()
    aside = phone.locator("#event-aside .event-detail")
    expect(aside).to_contain_text("已签退")
    expect(aside).to_contain_text("现场签到")
    phone.shot("signin-8-coordinator-event", full_page=True)
    assert phone.console_errors == []
