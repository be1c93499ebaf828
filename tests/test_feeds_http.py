"""Feeds over HTTP: the token URL with ETag / Last-Modified / 304, 404s that reveal nothing,
the public village feed, and the "my calendar feeds" page."""
import base64
import dataclasses
import datetime as dt
import re
import urllib.parse

import icalendar
import pytest
from werkzeug.http import http_date

from core import clock, feeds
from core.models import Event, FeedSnapshot, FeedToken
from tests.feed_helpers import at, calendar_district, local_day, utc


@pytest.fixture
def cal(district):
    return calendar_district(district)


@pytest.fixture
def lawyer_token(cal, district):
    token, raw = feeds.create_token(None, district.users.lawyer, "iPhone")
    return token, raw


def uids(body: bytes) -> set[str]:
    return {str(e["UID"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


# --- the token feed --------------------------------------------------------------------------

def test_feed_is_served_from_a_snapshot_rendered_on_first_fetch(client, cal, lawyer_token):
    token, raw = lawyer_token
    assert FeedSnapshot.select().count() == 0
    response = client.get(f"/feeds/{raw}.ics", headers={"User-Agent": "iOS/17.4 dataaccessd/1.0"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    snapshot = FeedSnapshot.get(FeedSnapshot.key == f"lawyer:{cal.lawyer.id}")
    assert response.headers["ETag"] == snapshot.etag
    assert response.headers["Last-Modified"] == http_date(
        snapshot.generated_at.replace(tzinfo=dt.timezone.utc))
    assert response.data == bytes(snapshot.body)
    assert cal.events.session.uid in uids(response.data)
    assert cal.events.other_lawyer.uid not in uids(response.data)
    used = FeedToken.get_by_id(token.id)
    assert used.last_client == "iOS/17.4 dataaccessd/1.0"
    assert clock.now_utc() - used.last_used_at < dt.timedelta(minutes=1)


def test_a_long_user_agent_is_truncated(client, cal, lawyer_token):
    token, raw = lawyer_token
    client.get(f"/feeds/{raw}.ics", headers={"User-Agent": "A" * 5000})
    assert FeedToken.get_by_id(token.id).last_client == "A" * feeds.CLIENT_MAX


def test_304_for_the_etag_and_for_if_modified_since(client, cal, lawyer_token):
    _, raw = lawyer_token
    first = client.get(f"/feeds/{raw}.ics")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]

    again = client.get(f"/feeds/{raw}.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag

    since = client.get(f"/feeds/{raw}.ics", headers={"If-Modified-Since": last_modified})
    assert since.status_code == 304 and since.data == b""

    stale = client.get(f"/feeds/{raw}.ics", headers={"If-None-Match": '"something-old"'})
    assert stale.status_code == 200 and stale.data == first.data


def test_a_changed_event_gives_a_new_etag_and_a_full_answer(client, cal, lawyer_token):
    _, raw = lawyer_token
    first = client.get(f"/feeds/{raw}.ics")
    session = cal.events.session
    Event.update(status="cancelled", sequence=Event.sequence + 1, cancel_reason="暴雨",
                 updated_at=clock.now_utc()).where(Event.id == session.id).execute()
    feeds.publish_changes([session.id])
    second = client.get(f"/feeds/{raw}.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    cancelled = [e for e in icalendar.Calendar.from_ical(second.data).walk("VEVENT")
                 if str(e["UID"]) == session.uid][0]
    assert cancelled["STATUS"] == "CANCELLED"


def test_revoked_and_unknown_tokens_get_the_same_bare_404(client, cal, district, lawyer_token):
    token, raw = lawyer_token
    assert client.get(f"/feeds/{raw}.ics").status_code == 200
    feeds.revoke_token(None, token)
    revoked = client.get(f"/feeds/{raw}.ics")
    unknown = client.get(f"/feeds/{'x' * 43}.ics")
    malformed = client.get("/feeds/short.ics")
    for response in (revoked, unknown, malformed):
        assert response.status_code == 404
        assert response.data == revoked.data
        assert response.headers["Content-Type"] == revoked.headers["Content-Type"]
        assert "ETag" not in response.headers and "Set-Cookie" not in response.headers
    assert cal.lawyer.name.encode() not in revoked.data


def test_a_coordinators_token_serves_their_towns_feed(client, cal, district):
    _, raw = feeds.create_token(None, district.users.town_coordinator, "Outlook")
    body = client.get(f"/feeds/{raw}.ics").data
    assert f"X-WR-CALNAME:结对律师 · {cal.town.name}".encode() in body
    assert {cal.events.session.uid, cal.events.other_lawyer.uid} <= uids(body)
    assert cal.events.other_town.uid not in uids(body)


# --- the public village feed -----------------------------------------------------------------

def test_public_village_feed_needs_no_login_and_holds_nothing_private(client, cal):
    response = client.get(f"/v/{cal.village.code}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    body = response.data.decode()
    e = cal.events
    assert uids(response.data) == {e.session.uid, e.afternoon.uid, e.publicity.uid,
                                   e.cancelled.uid}
    assert "DESCRIPTION" not in body
    # no phone number (UIDs are random and may hold a run of digits that looks like one)
    shown = "\n".join(line for line in body.splitlines() if not line.startswith("UID:"))
    assert not re.search(r"\d{3,4}-\d{7,8}|1\d{10}", shown)
    assert cal.lawyer.name not in body and "微信群" not in body
    assert "王主任" not in body and "赵调解" not in body  # the village side of the group
    again = client.get(f"/v/{cal.village.code}/calendar.ics",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_unknown_village_feed_is_404(client, cal):
    response = client.get("/v/NOPE/calendar.ics")
    assert response.status_code == 404
    assert FeedSnapshot.select().count() == 0



@pytest.fixture
def english(client):
    """The page in English, so the assertions read the msgids (zh is the default)."""
    client.set_cookie("lang", "en")

# --- my calendar feeds page ------------------------------------------------------------------

def test_page_lists_the_users_own_tokens(english, client, login, cal, district):
    feeds.create_token(None, district.users.lawyer, "iPhone 15")
    feeds.create_token(None, district.users.town_coordinator, "Someone else's")
    login(district.users.lawyer)
    page = client.get("/calendar/feeds").get_data(as_text=True)
    assert "iPhone 15" in page and "Someone else" not in page
    assert "Never" in page  # not fetched yet


def test_creating_a_token_shows_its_urls_once_with_a_qr_code(english, client, login, cal, district, app):
    app.config["JIEDUI_SETTINGS"] = dataclasses.replace(app.config["JIEDUI_SETTINGS"],
                                                        base_url="https://jiedui.example.org")
    login(district.users.lawyer)
    response = client.post("/calendar/feeds", data={"label": "iPhone 15"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    https = re.search(r"https://jiedui\.example\.org/feeds/([\w-]{43})\.ics", page)
    webcal = re.search(r"webcal://jiedui\.example\.org/feeds/([\w-]{43})\.ics", page)
    assert https and webcal and https.group(1) == webcal.group(1)
    raw = https.group(1)
    qr = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', page)
    svg = base64.b64decode(qr.group(1)).decode()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "<path" in svg
    assert "style=" not in svg
    assert "Add Subscribed Calendar" in page and "From URL" in page and "Subscribe from web" in page
    assert "<script" not in page.split("</head>")[1] and ' style="' not in page

    # The URL works, and the page never shows it again.
    client.post("/logout")
    assert client.get(f"/feeds/{raw}.ics").status_code == 200
    login(district.users.lawyer)
    listed = client.get("/calendar/feeds").get_data(as_text=True)
    assert raw not in listed and "iPhone 15" in listed


def test_htmx_create_answers_with_the_fragment(client, login, cal, district):
    login(district.users.lawyer)
    response = client.post("/calendar/feeds", data={"label": "Outlook"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "feedTokensChanged"
    page = response.get_data(as_text=True)
    assert 'id="feed-tokens"' in page and "<html" not in page and "webcal://" in page


def test_a_blank_or_duplicate_name_is_refused_and_nothing_is_written(english, client, login, district):
    login(district.users.lawyer)
    blank = client.post("/calendar/feeds", data={"label": "   "})
    assert blank.status_code == 422 and "Name the device" in blank.get_data(as_text=True)
    assert FeedToken.select().count() == 0
    client.post("/calendar/feeds", data={"label": "iPhone"})
    twice = client.post("/calendar/feeds", data={"label": "iPhone"})
    assert twice.status_code == 422 and "already have a feed" in twice.get_data(as_text=True)
    assert FeedToken.select().count() == 1


def test_revoking_stops_the_feed(english, client, login, cal, district):
    token, raw = feeds.create_token(None, district.users.lawyer, "iPhone 15")
    login(district.users.lawyer)
    page = client.get("/calendar/feeds").get_data(as_text=True)
    assert f'hx-post="/calendar/feeds/{token.id}/revoke"' in page and "hx-confirm=" in page
    response = client.post(f"/calendar/feeds/{token.id}/revoke")
    assert response.status_code == 302
    assert FeedToken.get_by_id(token.id).revoked_at is not None
    assert client.get(f"/feeds/{raw}.ics").status_code == 404
    assert "The feed iPhone 15 no longer works." in client.get("/calendar/feeds").get_data(
        as_text=True)  # the flash, once
    assert "iPhone 15" not in client.get("/calendar/feeds").get_data(as_text=True)


def test_nobody_revokes_someone_elses_token(client, login, district):
    token, raw = feeds.create_token(None, district.users.lawyer, "iPhone")
    login(district.users.coordinator)
    assert client.post(f"/calendar/feeds/{token.id}/revoke").status_code == 404
    assert FeedToken.get_by_id(token.id).revoked_at is None
    assert client.post("/calendar/feeds/9999/revoke").status_code == 404


def test_page_is_for_lawyers_and_coordinators(client, login, district):
    assert "/login" in client.get("/calendar/feeds").headers["Location"]
    login(district.users.village)
    assert client.get("/calendar/feeds").status_code == 403
    assert client.post("/calendar/feeds", data={"label": "x"}).status_code == 403
    assert FeedToken.select().count() == 0
    login(district.users.town_coordinator)
    page = client.get("/calendar/feeds").get_data(as_text=True)
    assert district.towns[0].name in page


def test_fetch_time_and_client_are_shown(client, login, cal, district):
    _, raw = feeds.create_token(None, district.users.lawyer, "iPhone")
    client.get(f"/feeds/{raw}.ics", headers={"User-Agent": "Google-Calendar-Importer"})
    login(district.users.lawyer)
    page = client.get("/calendar/feeds").get_data(as_text=True)
    assert "Google-Calendar-Importer" in page
    fetched = clock.now_utc().replace(tzinfo=dt.timezone.utc).astimezone(clock.zone())
    assert fetched.strftime("%Y-%m-%d") in page


def test_an_event_outside_the_window_is_not_served(client, cal, lawyer_token):
    _, raw = lawyer_token
    far = Event.create(uid="far@jiedui.test", kind="session", village=cal.village,
                       pairing=cal.pairing, lawyer=cal.lawyer,
                       starts_at=utc(at(local_day(500), 9)), ends_at=utc(at(local_day(500), 12)))
    assert far.uid not in uids(client.get(f"/feeds/{raw}.ics").data)


# --- gzip ------------------------------------------------------------------------------------

def test_gzip_is_stored_once_and_served_to_clients_that_ask(client, cal, lawyer_token,
                                                            monkeypatch):
    import gzip
    _, raw = lawyer_token
    plain = client.get(f"/feeds/{raw}.ics")
    snapshot = FeedSnapshot.get(FeedSnapshot.key == f"lawyer:{cal.lawyer.id}")
    assert gzip.decompress(bytes(snapshot.body_gzip)) == bytes(snapshot.body) == plain.data
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]

    def no_compressing(*args, **kwargs):
        raise AssertionError("compressed while serving")
    monkeypatch.setattr(gzip, "compress", no_compressing)  # stored at publishing, not here
    zipped = client.get(f"/feeds/{raw}.ics", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.status_code == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert zipped.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert zipped.data == bytes(snapshot.body_gzip)
    assert len(zipped.data) < len(plain.data) / 3
    etag = plain.headers["ETag"]
    assert zipped.headers["ETag"] == etag[:-1] + '-gzip"' != etag

    # 304 for each representation with its own ETag; the other's ETag gets the full answer
    again = client.get(f"/feeds/{raw}.ics", headers={"Accept-Encoding": "gzip",
                                                     "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == zipped.headers["ETag"]
    assert "Accept-Encoding" in again.headers["Vary"]
    assert client.get(f"/feeds/{raw}.ics", headers={"If-None-Match": etag}).status_code == 304
    crossed = client.get(f"/feeds/{raw}.ics", headers={"Accept-Encoding": "gzip",
                                                       "If-None-Match": etag})
    assert crossed.status_code == 200 and crossed.headers["Content-Encoding"] == "gzip"
    refused = client.get(f"/feeds/{raw}.ics", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data


def test_the_public_village_feed_is_gzipped_too(client, cal):
    response = client.get(f"/v/{cal.village.code}/calendar.ics",
                          headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["ETag"].endswith('-gzip"')
    again = client.get(f"/v/{cal.village.code}/calendar.ics",
                       headers={"Accept-Encoding": "gzip", "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_a_snapshot_stored_before_gzip_gets_it_at_the_next_publishing(client, cal,
                                                                     lawyer_token):
    _, raw = lawyer_token
    key = f"lawyer:{cal.lawyer.id}"
    snapshot = feeds.publish(key)
    FeedSnapshot.update(body_gzip=None).where(FeedSnapshot.id == snapshot.id).execute()
    served = client.get(f"/feeds/{raw}.ics", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in served.headers  # nothing compressed per request
    assert served.headers["ETag"] == snapshot.etag
    again = feeds.publish(key)
    assert (again.etag, again.generated_at) == (snapshot.etag, snapshot.generated_at)
    assert again.body_gzip is not None


# --- a change of what an event shows reaches the served feed ---------------------------------

def test_a_group_members_new_phone_bumps_the_served_sequence_and_last_modified(
        client, cal, district, lawyer_token, monkeypatch):
    from core.groups import edit_member
    _, raw = lawyer_token
    first = client.get(f"/feeds/{raw}.ics")
    session = [e for e in icalendar.Calendar.from_ical(first.data).walk("VEVENT")
               if str(e["UID"]) == cal.events.session.uid][0]
    later = clock.now_utc() + dt.timedelta(minutes=10)
    monkeypatch.setattr(clock, "now_utc", lambda: later)
    edit_member(district.users.coordinator, cal.contacts.committee, name="王主任",
                role="village_committee", phone="13800009999")
    second = client.get(f"/feeds/{raw}.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    changed = [e for e in icalendar.Calendar.from_ical(second.data).walk("VEVENT")
               if str(e["UID"]) == cal.events.session.uid][0]
    assert "13800009999" in str(changed["DESCRIPTION"])
    assert changed["SEQUENCE"] > session["SEQUENCE"]
    assert changed["LAST-MODIFIED"].dt > session["LAST-MODIFIED"].dt
    assert changed["DTSTAMP"].dt > session["DTSTAMP"].dt


# --- subscribing from the page ----------------------------------------------------------------

def test_a_new_address_comes_with_a_copy_button_and_the_phones_steps(client, login, cal,
                                                                    district):
    login(district.users.lawyer)
    response = client.post("/calendar/feeds", data={"label": "华为手机"})
    page = response.get_data(as_text=True)
    raw = re.search(r"/feeds/([\w-]{43})\.ics", page).group(1)
    assert f'href="webcal://127.0.0.1:5000/feeds/{raw}.ics"' in page
    field = re.search(rf'<input id="([\w-]+)" type="text" readonly class="feed-url" '
                      rf'value="http://127.0.0.1:5000/feeds/{raw}.ics">', page)
    assert field and f'data-copy="{field.group(1)}"' in page
    for phones in ("iPhone", "华为", "小米", "OPPO", "vivo", "Outlook", "ICSx⁵"):
        assert phones in page, phones
    assert "User-Agent" in response.headers["Vary"]
    assert "您正在微信中打开本页" not in page


def test_on_a_phone_the_address_comes_first_the_qr_code_is_for_another_device(
        client, login, cal, district):
    district.users.lawyer.email = "zhang@example.org"
    district.users.lawyer.save()
    login(district.users.lawyer)
    page = client.post("/calendar/feeds", data={"label": "小米手机"}).get_data(as_text=True)
    raw = re.search(r"/feeds/([\w-]{43})\.ics", page).group(1)
    address = f"http://127.0.0.1:5000/feeds/{raw}.ics"
    assert page.index(f'value="{address}"') < page.index("webcal://")  # copy first
    other = page[page.index('<details class="subscribe-other-device">'):]
    other = other[:other.index("</details>")]
    assert "data:image/svg+xml;base64," in other  # the QR code waits under "another device"
    assert page.count("data:image/svg+xml;base64,") == 1
    mail = re.search(r'href="(mailto:[^"]+)"', page).group(1)
    parsed = urllib.parse.urlsplit(mail.replace("&amp;", "&"))
    assert parsed.path == "zhang@example.org"
    body = urllib.parse.parse_qs(parsed.query)["body"][0]
    assert address in body and "\r\n" in body
    for step in ("添加已订阅的日历", "订阅日历（URL）", "日历账户", "较新的 ColorOS", "较新的 OriginOS",
                 "从 Internet 订阅"):
        assert step in page, step
    assert page.count('class="subscribe-steps"') >= 7  # step by step, one list per phone


def test_in_wechat_the_feed_page_explains_wechat_first(client, login, cal, district):
    # the whole visit in WeChat (a session is bound to its browser)
    client.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "Mobile/15E148 MicroMessenger/8.0.50(0x18003237) NetType/WIFI Language/zh_CN")
    login(district.users.lawyer)
    page = client.post("/calendar/feeds", data={"label": "iPhone"}).get_data(as_text=True)
    assert page.index("您正在微信中打开本页") < page.index("webcal://")
    assert page.index("在微信中") < page.index("iPhone 和 iPad")
    listed = client.get("/calendar/feeds").get_data(as_text=True)
    assert "在微信中" in listed and "在 Safari 中打开" in listed
