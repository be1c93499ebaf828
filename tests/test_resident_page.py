"""The resident's page (/v/<code>) and what makes it worth scanning the card for: a big call
button, the WeChat ID to copy, the service group's join QR code while it works (uploaded by a
coordinator on the group register, re-encoded without its metadata), the sessions with their
weekday and place, the 12348 hotline, big rating choices — and a page light enough for a
slow connection (static files gzipped, a compact QR code, pictures lazy)."""
import datetime as dt
import gzip
import html as html_lib
import io
import re
import uuid

import pytest
import qrcode
from PIL import Image

from core import clock, disclosure, groups
from core.errors import PermissionDenied, ValidationError
from core.models import AuditLog, Event, Rating, Village, WechatGroup
from core.pairings import replace_lawyer
from core.phones import dial_uri, readable
from web.feeds import qr_svg

HX = {"HX-Request": "true"}
CHINESE_NOT_A_PICTURE = "这个文件不是照片"
# What a resident's phone loads for the page (HTML, CSS, JS; pictures are lazy), gzipped
# as a browser asks for it: 41 KB on 2026-12-07 with a join QR code and five sessions
# (bench/RESULTS.md has chromium's 2G figures); room for other parts, not for a regression.
PAGE_BUDGET_BYTES = 60 * 1024


@pytest.fixture
def group(district):
    """The WeChat group of 东湖1村 (T1V1, lawyer 张明, phone 13800000000)."""
    return WechatGroup.get(WechatGroup.pairing == district.pairings[0])


def qr_picture(width=1080, height=1500, exif=True) -> bytes:
    """A phone's screenshot of WeChat's group QR card: a JPEG with the camera's EXIF and a
    GPS position, as some phones write into screenshots and saved pictures."""
    code = qrcode.make("https://weixin.qq.com/g/example", box_size=10, border=4).convert("RGB")
    picture = Image.new("RGB", (width, height), "white")
    picture.paste(code.resize((700, 700)), ((width - 700) // 2, 400))
    out = io.BytesIO()
    info = Image.Exif()
    if exif:
        info[0x010F] = "HUAWEI"
        info[0x8825] = {1: "N", 2: (31.0, 14.0, 5.52), 3: "E", 4: (121.0, 28.0, 44.1)}
    picture.save(out, "JPEG", exif=info, quality=80)
    return out.getvalue()


def page_of(client, code="T1V1") -> str:
    response = client.get(f"/v/{code}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def fresh(group) -> WechatGroup:
    return WechatGroup.get_by_id(group.id)


def audits(action):
    return list(AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id))


# --- calling and copying -----------------------------------------------------------------------

def test_the_lawyer_is_called_with_one_big_button_showing_the_number(district, client):
    page = page_of(client)
    button = re.search(r'<a class="button call-button" href="tel:13800000000"[^>]*>(.*?)</a>',
                       page, re.S)
    assert button, "no call button"
    assert "给律师打电话" in button.group(1) and "138 0000 0000" in button.group(1)
    css = client.get("/static/app.css").get_data(as_text=True)
    assert re.search(r"\.call-button \{[^}]*min-height: 52px", css)  # ≥ 44 px


def test_phone_numbers_dial_and_read_well():
    assert dial_uri("13805710001") == "tel:13805710001"
    assert dial_uri("+86 138 0571 0001") == "tel:13805710001"
    assert dial_uri("0571-88886666转801") == "tel:057188886666,801"  # the extension after a pause
    assert dial_uri("") == ""
    assert readable("13805710001") == "138 0571 0001"
    assert readable("0571-88886666") == "0571-88886666"  # as the lawyer wrote it


def test_the_wechat_id_has_a_copy_button_that_announces_it(district, client):
    lawyer = district.lawyers[0]
    lawyer.wechat = "zhangming-law"
    lawyer.save()
    page = page_of(client)
    assert re.search(r'<input id="lawyer-wechat" type="text" readonly class="wechat-id" '
                     r'value="zhangming-law">', page)
    button = re.search(r'<button type="button" class="secondary copy-button" '
                       r'data-copy="lawyer-wechat"\s+data-copied="([^"]*)"[^>]*>([^<]*)</button>',
                       page)
    assert button and button.group(2) == "复制微信号"
    assert html_lib.unescape(button.group(1)).startswith("已复制")
    assert 'class="copy-status muted" role="status" aria-live="polite"' in page
    script = client.get("/static/app.js").get_data(as_text=True)
    assert "navigator.clipboard" in script and 'execCommand("copy")' in script  # the fallback


def test_no_wechat_no_copy_button(district, client):
    assert 'data-copy="lawyer-wechat"' not in page_of(client)  # the factories' lawyer has none


# --- 12348 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["T1V1", "T2V3"], ids=["paired", "no lawyer"])
def test_the_12348_hotline_is_always_there_to_call(district, client, code):
    page = page_of(client, code)
    assert 'href="tel:12348"' in page
    assert "12348 公共法律服务热线" in page


# --- sessions -----------------------------------------------------------------------------------

def _session_on(district, day: dt.date, village=0):
    start = clock.utc_from_local(day, dt.time(9, 0))
    return Event.create(uid=str(uuid.uuid4()), kind="session",
                        village=district.villages[village], pairing=district.pairings[village],
                        lawyer=district.lawyers[village], starts_at=start,
                        ends_at=start + dt.timedelta(hours=3, minutes=30))


def test_sessions_show_their_weekday_hours_and_the_village_address(district, client):
    day = clock.today() + dt.timedelta(days=8 - clock.today().weekday())  # next Tuesday
    _session_on(district, day)
    Village.update(address="东湖镇人民路1号村委会二楼").where(Village.code == "T1V1").execute()
    page = page_of(client)
    assert f"{day.isoformat()} 星期二</strong>" in page
    assert "09:00–12:30" in page
    assert "地点：东湖镇人民路1号村委会二楼" in page


def test_without_an_address_the_place_is_the_village_committee(district, client):
    _session_on(district, clock.today() + dt.timedelta(days=3))
    assert "地点：东湖1村村民委员会" in page_of(client)


# --- the join QR code: the coordinator's side ------------------------------------------------

def test_a_coordinator_uploads_the_qr_code_re_encoded_without_exif(district, group, client):
    upload = qr_picture()
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(0x8825)  # a GPS position inside
    groups.set_join_qr(district.users.town_coordinator, group, io.BytesIO(upload))
    group = fresh(group)
    assert group.join_qr.startswith("uploads/group-qr/") and group.join_qr.endswith(".jpg")
    assert group.join_qr_expires == clock.today() + dt.timedelta(days=7)  # WeChat's 7 days
    stored = groups.join_qr_path(group).read_bytes()
    served = client.get(f"/v/T1V1/group-qr?v=x").data  # anonymous: what residents download
    assert served == stored != upload
    with Image.open(io.BytesIO(served)) as published:
        assert not published.getexif() and max(published.size) == groups.JOIN_QR_LONGEST_SIDE
    assert b"HUAWEI" not in served and b"GPS" not in served
    (entry,) = audits("wechat_group.join_qr")
    assert entry.user_id == district.users.town_coordinator.id
    assert entry.detail["before"] == {"join_qr": "", "expires": None}
    assert entry.detail["after"] == {"join_qr": group.join_qr,
                                     "expires": group.join_qr_expires.isoformat()}


def test_the_expiry_is_at_most_7_days_ahead(district, group):
    today = clock.today()
    for wrong in (today, today + dt.timedelta(days=8), "2026-02-30", "下周"):
        with pytest.raises(ValidationError) as refused:
            groups.set_join_qr(None, group, io.BytesIO(qr_picture()), wrong)
        assert refused.value.field == "expires"
    assert fresh(group).join_qr == "" and not audits("wechat_group.join_qr")
    groups.set_join_qr(None, group, io.BytesIO(qr_picture()), today + dt.timedelta(days=3))
    assert fresh(group).join_qr_expires == today + dt.timedelta(days=3)


def test_only_coordinators_of_the_village_change_the_qr_code(district, group, client, login):
    users = district.users
    for outsider in (users.other_town_coordinator, users.lawyer, users.village):
        with pytest.raises(PermissionDenied):
            groups.set_join_qr(outsider, group, io.BytesIO(qr_picture()))
    url = f"/groups/{group.id}/join-qr"

    def data():
        return {"join_qr-file": (io.BytesIO(qr_picture()), "qr.jpg"),
                "join_qr-expires": (clock.today() + dt.timedelta(days=7)).isoformat()}
    assert client.post(url, data=data()).status_code == 302  # to the login
    login(users.other_town_coordinator)
    assert client.post(url, data=data(), headers=HX).status_code == 404  # not in scope
    for role_user in (users.lawyer, users.village):
        login(role_user)
        assert client.post(url, data=data(), headers=HX).status_code == 403
    assert fresh(group).join_qr == "" and not audits("wechat_group.join_qr")
    login(users.town_coordinator)
    response = client.post(url, data=data(), headers=HX)
    assert response.status_code == 200
    assert "的入群二维码已上传" in response.get_data(as_text=True)
    assert fresh(group).join_qr


def test_a_file_that_is_no_picture_is_refused_in_chinese_keeping_what_was_there(
        district, group, login):
    client = login(district.users.coordinator)
    groups.set_join_qr(None, group, io.BytesIO(qr_picture()))
    before = fresh(group).join_qr
    typed = (clock.today() + dt.timedelta(days=5)).isoformat()
    response = client.post(f"/groups/{group.id}/join-qr", headers=HX, data={
        "join_qr-file": (io.BytesIO(b"%PDF-1.7 not a picture"), "qr.pdf"),
        "join_qr-expires": typed})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(r'<span class="field-error" id="join_qr-file-error">([^<]*)<', html)
    assert error and CHINESE_NOT_A_PICTURE in html_lib.unescape(error.group(1))
    assert f'value="{typed}"' in html  # the day typed stays in the form, opened
    assert re.search(r'<details class="panel-form" open>\s*<summary>更换二维码', html)
    assert fresh(group).join_qr == before  # the QR code up before is still up
    assert len(audits("wechat_group.join_qr")) == 1
    response = client.post(f"/groups/{group.id}/join-qr", headers=HX,
                           data={"join_qr-expires": typed})
    assert response.status_code == 422 and "请选择微信群二维码的图片" in response.get_data(
        as_text=True)


def test_the_register_offers_upload_with_a_default_expiry_and_removal_asks_first(
        district, group, login):
    client = login(district.users.coordinator)
    html = client.get("/groups/village/T1V1").get_data(as_text=True)
    default = (clock.today() + dt.timedelta(days=7)).isoformat()
    assert (f'<input id="join_qr-expires" name="join_qr-expires" type="date" '
            f'value="{default}">') in html
    assert "上传二维码" in html and "删除二维码" not in html
    groups.set_join_qr(None, group, io.BytesIO(qr_picture()))
    html = client.get("/groups/village/T1V1").get_data(as_text=True)
    until = (clock.today() + dt.timedelta(days=6)).isoformat()
    assert f"居民可见至 {until}" in html and f"/groups/{group.id}/join-qr?v=" in html
    assert re.search(r'hx-confirm="删除“[^"]*”的入群二维码？居民将不再看到它。"', html)
    response = client.post(f"/groups/{group.id}/join-qr/remove", headers=HX)
    assert response.status_code == 200 and "的入群二维码已删除" in response.get_data(as_text=True)
    assert fresh(group).join_qr == "" and fresh(group).join_qr_expires is None
    (entry,) = audits("wechat_group.remove_join_qr")
    assert entry.detail["after"] == {"join_qr": "", "expires": None}
    groups.remove_join_qr(None, fresh(group))  # none left: nothing to do, nothing audited
    assert len(audits("wechat_group.remove_join_qr")) == 1


def test_the_paired_lawyer_sees_the_qr_code_on_the_register_but_no_form(district, group, login):
    groups.set_join_qr(None, group, io.BytesIO(qr_picture()))
    client = login(district.users.lawyer)
    html = client.get("/groups/village/T1V1").get_data(as_text=True)
    assert "居民可见至" in html and "join_qr-file" not in html
    assert client.get(f"/groups/{group.id}/join-qr").status_code == 200
    login(district.users.village)
    assert client.get(f"/groups/{group.id}/join-qr").status_code in (403, 404)


# --- the join QR code: what residents see -----------------------------------------------------

def test_residents_see_the_qr_code_only_while_it_works(district, group, client):
    page = page_of(client)
    assert "目前没有入群二维码" in page and "请联系律师或村(居)委会拉您入群" in page
    assert client.get("/v/T1V1/group-qr").status_code == 404
    groups.set_join_qr(None, group, io.BytesIO(qr_picture()))
    page = page_of(client)
    img = re.search(r'<img src="(/v/T1V1/group-qr\?v=\w+)"[^>]*>', page)
    assert img and 'loading="lazy"' in img.group(0)
    assert 'width="576" height="800"' in img.group(0)  # its size: nothing moves when it loads
    until = clock.today() + dt.timedelta(days=6)
    assert f"有效期至 {until.isoformat()}" in page and "目前没有入群二维码" not in page
    assert client.get(img.group(1)).status_code == 200

    # the day it expires (WeChat's code stops working): hidden, not served, residents asked
    WechatGroup.update(join_qr_expires=clock.today()).where(WechatGroup.id == group.id).execute()
    page = page_of(client)
    assert "/group-qr" not in page and "目前没有入群二维码" in page
    assert client.get(img.group(1)).status_code == 404
    assert not groups.join_qr_shown(fresh(group))
    assert groups.join_qr_shown(fresh(group), clock.today() - dt.timedelta(days=1))


def test_the_qr_code_goes_with_the_group_to_a_new_lawyer(district, group, client):
    groups.set_join_qr(None, group, io.BytesIO(qr_picture()))
    replace_lawyer(None, district.pairings[0], lawyer=district.lawyers[3], on=clock.today())
    assert disclosure.public_village("T1V1").lawyer_name == "赵强"
    assert "/v/T1V1/group-qr?v=" in page_of(client)


# --- ratings -----------------------------------------------------------------------------------

def test_rating_choices_are_big_labelled_targets_and_rate_as_before(district, client):
    page = page_of(client)
    choices = re.findall(r'<label class="rate-score"><input type="radio" name="score" '
                         r'value="(\d)" required>\s*<span class="score-number">\d</span> '
                         r'<span class="score-word">([^<]+)</span></label>', page)
    assert choices == [("1", "很不满意"), ("2", "不满意"), ("3", "一般"), ("4", "满意"),
                       ("5", "很满意")]
    css = client.get("/static/app.css").get_data(as_text=True)
    assert re.search(r"\.rate-score \{[^}]*min-height: 72px", css)  # ≥ 44 px
    assert re.search(r"\.rate-submit \{[^}]*min-height: 48px", css)
    response = client.post("/v/T1V1/rate", data={"score": "4"}, headers=HX)
    assert response.status_code == 200 and "谢谢" in response.get_data(as_text=True)
    assert [r.score for r in Rating.select()] == [4]
    refused = client.post("/v/T1V1/rate", data={"score": "9"}, headers=HX)
    assert refused.status_code == 422  # the rules are core.feedback's, unchanged


# --- light on a slow connection ------------------------------------------------------------

def test_static_files_are_gzipped_for_browsers_that_ask(district, client):
    plain = client.get("/static/htmx.min.js")
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    zipped = client.get("/static/htmx.min.js", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < len(plain.data) / 2
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    again = client.get("/static/htmx.min.js", headers={
        "Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    page = client.get("/v/T1V1", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in page.headers  # pages carry the CSRF token: never


def test_the_qr_code_svg_is_compact_and_holds_the_same_modules():
    text = "webcal://jiedui.example.org/v/310117001-001/calendar.ics"
    svg = qr_svg(text).decode()
    code = qrcode.QRCode(border=2)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    drawn = [[False] * len(matrix) for _ in matrix]
    for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)v1H\d+z", svg):
        for dx in range(int(width)):
            drawn[int(y)][int(x) + dx] = True
    assert drawn == [list(map(bool, row)) for row in matrix]
    assert len(svg) < 4000 and "style=" not in svg


def _first_view_weight(client, code="T1V1") -> int:
    """The bytes a phone loads for the page as a browser asks (gzip): the page, its style
    sheets, scripts and icon. Pictures are lazy and below the first view."""
    html = client.get(f"/v/{code}", headers={"Accept-Encoding": "gzip"}).data
    links = re.findall(rb'<(?:link[^>]*href|script[^>]*src)="(/static/[^"]+)"', html)
    total = len(html)
    for link in links:
        total += len(client.get(link.decode(), headers={"Accept-Encoding": "gzip"}).data)
    assert not re.search(rb'<img (?![^>]*loading="lazy")(?![^>]*src="data:)', html)
    return total


def test_the_page_stays_under_its_weight_budget(district, group, client):
    lawyer = district.lawyers[0]
    lawyer.wechat = "zhangming-law"
    lawyer.save()
    groups.set_join_qr(None, group, io.BytesIO(qr_picture()))
    for day in range(1, 6):
        _session_on(district, clock.today() + dt.timedelta(days=day))
    assert _first_view_weight(client) < PAGE_BUDGET_BYTES
