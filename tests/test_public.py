"""Public disclosure (五.6, 五.7): the directory, the village page, the contact cards, and the
coordinators' warnings and WeChat group register."""
import base64
import datetime as dt
import re
import uuid

import pytest

from core import clock, disclosure
from core.config import load_settings
from core.errors import NotFound
from core.models import (Assistant, Event, Pairing, Task, User, WechatGroup, WechatGroupMember)

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


@pytest.fixture
def disclosed(district):
    """Village T1V1 with a full disclosure, private data around it, and calendar events."""
    pairing, lawyer = district.pairings[0], district.lawyers[0]
    lawyer.wechat = "zhangming-law"
    lawyer.photo = _photo_file("zhang.jpg")
    lawyer.save()
    pairing.onsite_week, pairing.onsite_weekday = 1, 1  # 每月第一个星期二上午 9:00–12:30
    pairing.onsite_start, pairing.onsite_end = dt.time(9, 0), dt.time(12, 30)
    pairing.save()
    Assistant.create(lawyer=lawyer, name="助理小周", phone="13912345678")
    group = WechatGroup.get(WechatGroup.pairing == pairing)
    WechatGroupMember.create(group=group, name="村委刘书记", role="village_committee",
                             phone="13700001111")
    WechatGroupMember.create(group=group, name="调解员陈阿姨", role="mediation")
    User.update(display_name="协调员孙科长").where(User.id == district.users.coordinator.id).execute()
    Task.create(program="family-visits", task_type="visit", village=district.villages[0],
                title="排查王家婚姻纠纷", data={"household": "王家"})
    return district


def _photo_file(name: str, content: bytes = JPEG) -> str:
    folder = load_settings().instance / "photos"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(content)
    return f"photos/{name}"


def _event(district, kind="session", days=3, status="planned", village=0, title=""):
    starts = clock.now_utc().replace(microsecond=0) + dt.timedelta(days=days)
    return Event.create(uid=str(uuid.uuid4()), kind=kind, village=district.villages[village],
                        pairing=district.pairings[0], lawyer=district.lawyers[0],
                        starts_at=starts, ends_at=starts + dt.timedelta(hours=3, minutes=30),
                        status=status, title=title)


# --- the public page ---------------------------------------------------------------------------

def test_public_page_shows_the_disclosed_fields_without_login(disclosed, client):
    response = client.get("/v/T1V1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for shown in ("东湖1村", "张明", "明德律师事务所", "13800000000", "zhangming-law",
                  "每月第一个星期二上午 9:00–12:30", "2026-01-01", "2028-12-31",
                  "东湖1村结对律师服务微信群",
                  "/v/T1V1/photo", "/v/T1V1/card"):
        assert shown in page, shown
    assert page.count('<li>', page.index('class="duties"')) >= len(disclosure.DUTIES)
    assert 'id="rate-form"' in page  # residents rate their lawyer here (web/feedback.py)


def test_public_page_hides_everything_private(disclosed, client):
    page = client.get("/v/T1V1").get_data(as_text=True)
    for private in ("13912345678", "助理小周", "村委刘书记", "13700001111", "调解员陈阿姨",
                    "协调员孙科长", "coord", "排查王家婚姻纠纷", "王家", "licence", "1310"):
        assert private not in page, private


def test_public_page_lists_the_next_five_planned_sessions_in_district_time(disclosed, client):
    events = [_event(disclosed, days=d) for d in (1, 2, 3, 4, 5, 6)]
    _event(disclosed, kind="publicity", days=0.5)
    _event(disclosed, days=-1)  # past
    _event(disclosed, days=0.2, status="cancelled")
    _event(disclosed, kind="task", days=0.3, title="走访王家")  # programme work: never public
    _event(disclosed, days=0.4, village=1)  # another village
    shown = disclosure.public_village("T1V1").next_events
    assert [e.kind for e in shown] == ["publicity", "session", "session", "session", "session"]
    assert shown[1].starts_at == clock.to_local(events[0].starts_at)
    assert shown[1].starts_at.utcoffset() == dt.timedelta(hours=8)
    page = client.get("/v/T1V1").get_data(as_text=True)
    weekday = "星期一 星期二 星期三 星期四 星期五 星期六 星期日".split()[shown[1].starts_at.weekday()]
    assert (f"{shown[1].starts_at:%Y-%m-%d} {weekday}</strong>\n"
            f"        {shown[1].starts_at:%H:%M}–{shown[1].ends_at:%H:%M}") in page
    assert "走访王家" not in page


def test_unpaired_and_unknown_villages(district, client):
    page = client.get("/v/T1V1".replace("T1V1", "T2V3"))
    assert page.status_code == 200  # T2V3 has no lawyer
    assert "T2V3/card" not in page.get_data(as_text=True)
    assert client.get("/v/NOPE").status_code == 404
    with pytest.raises(NotFound):
        disclosure.public_village("NOPE")


def test_photo_is_served_only_from_the_instance_folder(disclosed, client):
    response = client.get("/v/T1V1/photo")
    assert response.status_code == 200 and response.data == JPEG
    assert response.mimetype == "image/jpeg"
    lawyer = disclosed.lawyers[0]
    for bad in ("../../../../etc/passwd", "/etc/hosts", "photos/missing.jpg",
                _photo_file("x.svg", b"<svg onload='alert(1)'/>")):
        lawyer.photo = bad
        lawyer.save()
        assert client.get("/v/T1V1/photo").status_code == 404, bad
        assert disclosure.public_village("T1V1").has_photo is False
    assert client.get("/v/T2V3/photo").status_code == 404  # no lawyer


# --- the directory -----------------------------------------------------------------------------

def test_directory_lists_every_village_with_its_lawyer(district, client):
    entries = disclosure.directory()
    assert len(entries) == 6
    assert (entries[0].name, entries[0].lawyer_name, entries[0].firm_name) == (
        "东湖1村", "张明", "明德律师事务所")
    assert entries[-1].lawyer_name == ""  # T2V3: no lawyer
    page = client.get("/v/").get_data(as_text=True)
    assert "/v/T1V1" in page and "张明" in page and "西山3村" in page


def test_directory_search_as_you_type(district, client):
    assert [e.code for e in disclosure.directory("西山")] == ["T2V1", "T2V2", "T2V3"]
    assert [e.code for e in disclosure.directory("  东湖2 ")] == ["T1V2"]
    fragment = client.get("/v/?q=东湖2", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and "东湖2村" in text and "东湖1村" not in text
    assert "HX-Request" in fragment.headers["Vary"]
    for odd in ("%", "_", "x" * 500, "'; drop table village;--"):
        assert client.get("/v/", query_string={"q": odd}).status_code == 200


# --- contact cards -----------------------------------------------------------------------------

def _qr_svg(page: str) -> bytes:
    match = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert match, "no QR code"
    return base64.b64decode(match.group(1))


def test_card_has_a_qr_code_to_the_page_and_the_print_stylesheet(disclosed, client):
    response = client.get("/v/T1V1/card")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/static/print.css" in page and "style=" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # app.js (the copy button) only
    assert b"<svg" in _qr_svg(page)
    assert "http://127.0.0.1:5000/v/T1V1" in page  # the address the QR code carries
    for shown in ("张明", "13800000000", "zhangming-law", "东湖1村结对律师服务微信群"):
        assert shown in page
    assert "13912345678" not in page and "村委刘书记" not in page
    css = client.get("/static/print.css").get_data(as_text=True)
    assert "@page card { size: 105mm 148mm" in css and "@media print" in css  # A6
    assert "img-src 'self' data:" in response.headers["Content-Security-Policy"]


def test_town_sheet_has_a_card_per_paired_village(district, client):
    page = client.get("/v/town/T1/cards").get_data(as_text=True)
    assert page.count('class="contact-card"') == 3
    assert page.count("data:image/svg+xml;base64,") == 6  # the page's and the calendar's
    page = client.get("/v/town/T2/cards").get_data(as_text=True)
    assert page.count('class="contact-card"') == 1 and "西山3村" in page  # listed as unpaired
    assert client.get("/v/town/NOPE/cards").status_code == 404


def test_the_ics_feed_route_is_still_the_feeds_one(district, app):
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/v/T1V1/calendar.ics")[0] == "feeds.village_feed"
    assert adapter.match("/v/T1V1")[0] == "public.village"
    assert adapter.match("/v/town/T1/cards")[0] == "public.town_cards"


# --- coordinators: warnings --------------------------------------------------------------------

def _set_term_end(pairing, day):
    Pairing.update(term_end=day).where(Pairing.id == pairing.id).execute()


def _kinds(found):
    return {(w.village_code, w.kind) for w in found}


def test_warnings_for_terms_ending_soon_or_ended_and_missing_photo(disclosed):
    today = dt.date(2027, 6, 1)
    _set_term_end(disclosed.pairings[1], today + dt.timedelta(days=30))
    _set_term_end(disclosed.pairings[2], today - dt.timedelta(days=1))
    _set_term_end(disclosed.pairings[3], today + dt.timedelta(days=61))
    found = disclosure.warnings(None, today=today)
    terms = [w for w in found if w.kind != "incomplete"]
    assert [(w.village_code, w.kind, w.days_left) for w in terms] == [
        ("T1V3", "term_ended", -1), ("T1V2", "term_ending", 30)]
    incomplete = {w.village_code: w.missing for w in found if w.kind == "incomplete"}
    assert "T1V1" not in incomplete  # photo, phone and WeChat all disclosed
    assert incomplete["T1V2"] == ("photo", "wechat")
    disclosed.lawyers[1].phone = ""
    disclosed.lawyers[1].save()
    missing = {w.village_code: w.missing for w in disclosure.warnings(None, today=today)
               if w.kind == "incomplete"}
    assert missing["T1V2"] == ("photo", "phone", "wechat")


def test_ended_pairings_give_no_warning(disclosed):
    from core.pairings import end_pairing
    end_pairing(None, disclosed.pairings[1], ended_on=dt.date(2026, 3, 1), reason="test")
    assert "T1V2" not in {w.village_code for w in disclosure.warnings(None)}


def test_warnings_follow_the_coordinators_scope(disclosed, login):
    _set_term_end(disclosed.pairings[3], clock.today() + dt.timedelta(days=10))  # T2V1
    users = disclosed.users
    assert {w.village_code for w in disclosure.warnings(users.town_coordinator)} <= {
        "T1V1", "T1V2", "T1V3"}
    assert ("T2V1", "term_ending") in _kinds(disclosure.warnings(users.other_town_coordinator))
    client = login(users.town_coordinator)
    page = client.get("/warnings", headers={"HX-Request": "true"}).get_data(as_text=True)
    # the town's incomplete disclosures, by cause (one line per missing thing, not per village)
    assert 'href="/lawyers/?missing=wechat"' in page and "西山1村" not in page
    client = login(users.other_town_coordinator)
    page = client.get("/warnings").get_data(as_text=True)
    assert "西山1村" in page and "<html" in page


def test_the_desk_shows_the_warnings_by_cause(disclosed, login):
    page = login(disclosed.users.coordinator).get("/home").get_data(as_text=True)
    assert 'id="desk-problems"' in page and 'href="/lawyers/?missing=photo"' in page


def test_warnings_and_register_are_for_coordinators_only(district, client, login):
    assert client.get("/warnings").status_code == 302  # to the login page
    assert client.get("/wechat-groups").status_code == 302
    for user in (district.users.lawyer, district.users.village):
        session = login(user)
        assert session.get("/warnings").status_code == 403
        assert session.get("/wechat-groups").status_code == 403


# --- coordinators: the WeChat group register -----------------------------------------------

def test_register_counts_members_by_role_in_scope(disclosed, login):
    register = {g.village_code: g for g in disclosure.wechat_register(None)}
    assert set(register) == {"T1V1", "T1V2", "T1V3", "T2V1"}
    group = register["T1V1"]
    assert group.name == "东湖1村结对律师服务微信群" and group.admin_name == "张明"
    assert group.counts["lawyer"] == 1 and group.counts["village_committee"] == 1
    assert group.counts["mediation"] == 1 and group.counts["party_member"] == 0
    assert group.total == 3
    scoped = disclosure.wechat_register(disclosed.users.other_town_coordinator)
    assert [g.village_code for g in scoped] == ["T2V1"]
    page = login(disclosed.users.town_coordinator).get("/wechat-groups").get_data(as_text=True)
    assert "东湖1村结对律师服务微信群" in page and "西山1村" not in page
    assert "/villages/T1V1" in page


# --- subscribing to the village's calendar -----------------------------------------------------

WECHAT_UA = ("Mozilla/5.0 (Linux; Android 14; ALN-AL00 Build/HUAWEIALN-AL00) AppleWebKit/537.36 "
             "Chrome/116.0 Mobile Safari/537.36 XWEB/1160117 MMWEBSDK/20240404 "
             "MicroMessenger/8.0.49.2600(0x2800313D) WeChat/arm64 Weixin NetType/WIFI")


def _subscribe_parts(page: str, code: str) -> None:
    webcal = f"webcal://127.0.0.1:5000/v/{code}/calendar.ics"
    assert f'href="{webcal}"' in page
    field = re.search(r'<input id="([\w-]+)" type="text" readonly class="feed-url" '
                      rf'value="http://127.0.0.1:5000/v/{code}/calendar.ics">', page)
    assert field, "the https address in a field to copy"
    assert f'data-copy="{field.group(1)}"' in page and 'data-copied="已复制。"' in page


def test_the_village_page_offers_its_calendar_to_subscribe(disclosed, client):
    response = client.get("/v/T1V1")
    page = response.get_data(as_text=True)
    _subscribe_parts(page, "T1V1")
    assert page.count("data:image/svg+xml;base64,") == 1  # the webcal address as a QR code
    for phones in ("iPhone", "华为", "小米", "OPPO", "vivo", "Outlook"):
        assert phones in page, phones
    assert "您正在微信中打开本页" not in page  # not in WeChat: no WeChat hint
    assert "User-Agent" in response.headers["Vary"]  # WeChat gets another page
    assert '<script src="/static/app.js" defer></script>' in page


def test_in_wechat_the_village_page_says_first_how_to_leave_it(disclosed, client):
    page = client.get("/v/T1V1", headers={"User-Agent": WECHAT_UA}).get_data(as_text=True)
    hint = page.index("您正在微信中打开本页")
    assert hint < page.index("webcal://") and "在浏览器打开" in page
    assert page.index("在微信中") < page.index("iPhone 和 iPad")  # first among the steps


def test_the_card_prints_a_calendar_code_and_offers_the_address_on_screen(disclosed, client):
    page = client.get("/v/T1V1/card").get_data(as_text=True)
    card = page[page.index('<section class="contact-card"'):page.index("</section>")]
    assert card.count("data:image/svg+xml;base64,") == 2
    assert "webcal://127.0.0.1:5000/v/T1V1/calendar.ics" in card
    assert "data-copy" not in card  # nothing to press on paper
    below = page[page.index('class="screen-only card-subscribe"'):]
    _subscribe_parts(below, "T1V1")
    assert "华为" in below
    css = client.get("/static/print.css").get_data(as_text=True)
    assert ".card-qrs" in css and ".screen-only { display: none; }" in css


def test_the_copy_script_is_a_static_file():
    from pathlib import Path
    script = (Path(__file__).parent.parent / "web/static/app.js").read_text()
    assert "data-copy" in script and "navigator.clipboard" in script
    assert "execCommand(\"copy\")" in script and "setSelectionRange" in script  # the fallback


def test_a_replacement_from_a_later_day_leaves_the_old_lawyer_on_the_page_until_then(
        disclosed, client, monkeypatch):
    """The calendar keeps the old lawyer's sessions until the new one starts; so does the
    page residents read, saying who takes over from when."""
    from core.pairings import replace_lawyer
    today = clock.today()
    replace_lawyer(None, disclosed.pairings[0], lawyer=disclosed.lawyers[3],
                   on=today + dt.timedelta(days=10))
    page = client.get("/v/T1V1").get_data(as_text=True)
    assert "张明" in page and "13800000000" in page  # on duty until then
    successor = f"赵强（自 {(today + dt.timedelta(days=10)).isoformat()} 起）"
    assert successor in page
    tomorrow = today + dt.timedelta(days=10)
    monkeypatch.setattr(clock, "today", lambda: tomorrow)
    page = client.get("/v/T1V1").get_data(as_text=True)
    assert "赵强" in page and "张明" not in page and "起）" not in page
