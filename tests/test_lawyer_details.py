"""A lawyer's disclosed details (五.6, 五.7): who may change the phone, WeChat, photo, name,
firm and licence number (core.lawyers), the checks on each, the audit, the lawyer's page
with its forms, and what the public page and the coordinators' warnings make of it."""
import base64
import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from core import disclosure, lawyers, photos
from core.config import get_settings
from core.errors import PermissionDenied, ValidationError
from core.importer import ImportFailed, import_file
from core.models import AuditLog, LawFirm, Lawyer
from core.phones import clean_phone
from tests.test_importer import sample_rows, write_csv

HTMX = {"HX-Request": "true"}
BAD_PHONE_ZH = "不是电话号码"
NOT_A_PHOTO_ZH = "这个文件不是照片"


def _png(width=2, height=3) -> bytes:
    """A real PNG (RGB, white), built by hand: signature, IHDR, IDAT, IEND."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    rows = b"".join(b"\0" + b"\xff\xff\xff" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# A real 16×16 baseline JPEG (CPython's Lib/test/imghdrdata/python.jpg).
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsO"
    "CwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"
    "EBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAA"
    "BwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQIDBAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/E"
    "ACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPk"
    "JWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kq"
    "cWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9"
    "XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolvw4KO"
    "p1KM6iCNvngZHwetf//Z"
)
PNG = _png()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\0" * 200


@pytest.fixture(autouse=True)
def _own_instance(tmp_path, monkeypatch):
    """Each test stores its photos in an instance folder of its own."""
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path / "instance"))


def _audits(action, lawyer):
    return list(AuditLog.select().where((AuditLog.action == action)
                                        & (AuditLog.object_id == str(lawyer.id)))
                .order_by(AuditLog.id))


def _fresh(lawyer):
    return Lawyer.get_by_id(lawyer.id)


def _stored_files():
    folder = get_settings().instance / "uploads" / photos.PHOTO_FOLDER
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


# --- the service: who may change what -----------------------------------------------------------

def test_a_district_coordinator_changes_every_detail_and_it_is_audited(district):
    lawyer, firm = district.lawyers[0], district.firms[1]
    licence = lawyer.licence_no
    lawyers.update_details(district.users.coordinator, lawyer, name=" 张  明明 ", firm=firm.id,
                           licence_no="13101200510000099", phone="0571-88886666",
                           wechat="zhangmm_law")
    lawyer = _fresh(lawyer)
    assert (lawyer.name, lawyer.firm_id, lawyer.licence_no, lawyer.phone, lawyer.wechat) == (
        "张 明明", firm.id, "13101200510000099", "0571-88886666", "zhangmm_law")
    (entry,) = _audits("lawyer.update", lawyer)
    assert entry.username == "coord"
    assert entry.detail["before"] == {"name": "张明", "firm": district.firms[0].id,
                                      "licence_no": licence,
                                      "phone": "13800000000", "wechat": ""}
    assert entry.detail["after"]["phone"] == "0571-88886666"
    assert entry.detail["after"]["firm"] == firm.id


def test_an_unchanged_save_writes_no_audit_entry(district):
    lawyer = district.lawyers[0]
    lawyers.update_details(district.users.admin, lawyer, phone="13800000000", wechat="")
    assert _audits("lawyer.update", lawyer) == []


def test_the_lawyer_changes_their_own_phone_and_wechat_only(district):
    me, other = district.lawyers[0], district.lawyers[1]
    user = district.users.lawyer
    lawyers.update_details(user, me, phone="139 0000 1111", wechat="zhangming_law")
    assert (_fresh(me).phone, _fresh(me).wechat) == ("139 0000 1111", "zhangming_law")
    assert _audits("lawyer.update", me)[0].username == "lawyer"
    for changes in ({"name": "张大明"}, {"firm": district.firms[1].id},
                    {"licence_no": "1"}, {"name": "张大明", "phone": "13900002222"}):
        with pytest.raises(PermissionDenied):
            lawyers.update_details(user, me, **changes)
    with pytest.raises(PermissionDenied):
        lawyers.update_details(user, other, phone="13900002222")
    with pytest.raises(PermissionDenied):
        lawyers.set_photo(user, other, io.BytesIO(PNG))
    assert (_fresh(me).name, _fresh(me).phone) == ("张明", "139 0000 1111")
    assert _fresh(other).phone == district.lawyers[1].phone and _fresh(other).photo == ""


@pytest.mark.parametrize("who", ["town_coordinator", "other_town_coordinator", "village"])
def test_town_coordinators_and_villages_change_nothing(district, who):
    user, lawyer = getattr(district.users, who), district.lawyers[0]
    with pytest.raises(PermissionDenied):
        lawyers.update_details(user, lawyer, phone="13900002222")
    with pytest.raises(PermissionDenied):
        lawyers.set_photo(user, lawyer, io.BytesIO(PNG))
    with pytest.raises(PermissionDenied):
        lawyers.remove_photo(user, lawyer)
    assert _fresh(lawyer).phone == "13800000000" and _stored_files() == []
    assert AuditLog.select().where(AuditLog.action.startswith("lawyer.")).count() == 0


@pytest.mark.parametrize("changes, field", [
    ({"phone": "12345"}, "phone"),
    ({"phone": "138000000001"}, "phone"),
    ({"phone": "tel:13800000000"}, "phone"),
    ({"wechat": "zhang ming"}, "wechat"),
    ({"wechat": "x" * 65}, "wechat"),
    ({"name": "  "}, "name"),
    ({"name": "张" * 51}, "name"),
    ({"licence_no": ""}, "licence_no"),
    ({"firm": 999999}, "firm"),
])
def test_a_refused_value_changes_nothing(district, changes, field):
    lawyer = district.lawyers[0]
    with pytest.raises(ValidationError) as caught:
        lawyers.update_details(district.users.coordinator, lawyer,
                               **{"phone": "13911112222", **changes})
    assert caught.value.field == field
    assert _fresh(lawyer).phone == "13800000000" and _audits("lawyer.update", lawyer) == []


def test_a_licence_number_belongs_to_one_lawyer(district):
    taken = district.lawyers[1].licence_no
    with pytest.raises(ValidationError) as caught:
        lawyers.update_details(district.users.admin, district.lawyers[0], licence_no=taken)
    assert caught.value.field == "licence_no"


@pytest.mark.parametrize("phone", ["13805710001", "+86 138 0571 0001", "0571-88886666",
                                   "(021) 5712 3456", "0571-88886666转801", "4008001234",
                                   "１３８０５７１０００１", ""])
def test_phone_numbers_as_people_write_them(district, phone):
    lawyers.update_details(None, district.lawyers[0], phone=phone)
    assert _fresh(district.lawyers[0]).phone == phone.replace(
        "１３８０５７１０００１", "13805710001")


def test_the_importer_checks_phones_by_the_same_rule(database, tmp_path):
    rows = sample_rows()
    rows[0]["lawyer_phone"] = rows[1]["lawyer_phone"] = "12345"
    with pytest.raises(ImportFailed) as caught:
        import_file(write_csv(tmp_path / "bad-phone.csv", rows))
    problems = caught.value.problems
    assert {p.row for p in problems} == {2, 3}
    with pytest.raises(ValidationError) as rule:
        clean_phone("12345")
    assert all(p.error.message == rule.value.message for p in problems)
    assert Lawyer.select().count() == 0


# --- the service: the photo ----------------------------------------------------------------------

@pytest.mark.parametrize("content", [PNG, JPEG], ids=["png", "jpeg"])
def test_a_photo_is_re_encoded_stored_by_its_hash_and_disclosed(district, content):
    lawyer = district.lawyers[0]
    lawyers.update_details(None, lawyer, wechat="zhangming_law")
    assert [w.missing for w in disclosure.warnings(None) if w.village_code == "T1V1"] == [
        ("photo",)]
    lawyers.set_photo(district.users.lawyer, lawyer, io.BytesIO(content))
    lawyer = _fresh(lawyer)
    stored = disclosure.photo_path(lawyer).read_bytes()
    sha256 = hashlib.sha256(stored).hexdigest()
    assert lawyer.photo == f"uploads/photos/{sha256[:2]}/{sha256}.jpg"
    assert stored != content and stored.startswith(b"\xff\xd8\xff")  # a JPEG of our own
    assert [path.read_bytes() for path in _stored_files()] == [stored]  # never the upload
    assert disclosure.public_village("T1V1").has_photo
    assert "T1V1" not in {w.village_code for w in disclosure.warnings(None)}  # complete now
    (entry,) = _audits("lawyer.photo", lawyer)
    assert entry.detail == {"before": "", "after": lawyer.photo, "sha256": sha256,
                            "size": len(stored)}


def _phone_photo_with_gps(width=4000, height=3000) -> bytes:
    """A phone camera's JPEG: EXIF with the camera, a GPS position and an orientation."""
    image = Image.new("RGB", (width, height), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "HUAWEI"  # Make
    exif[0x0112] = 6  # Orientation: rotated 90°
    gps = {1: "N", 2: (31.0, 14.0, 5.52), 3: "E", 4: (121.0, 28.0, 44.1)}  # Shanghai
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=70)
    return out.getvalue()


def test_a_phone_photo_is_published_without_its_gps_position_and_smaller(district, client):
    upload = _phone_photo_with_gps()
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(0x8825)  # the position is there
    lawyer = district.lawyers[0]
    lawyers.set_photo(None, lawyer, io.BytesIO(upload))
    served = client.get("/v/T1V1/photo").data  # anonymous: what every resident downloads
    with Image.open(io.BytesIO(served)) as published:
        exif, size = published.getexif(), published.size
    assert not exif  # no EXIF at all: no GPS, no camera
    assert b"HUAWEI" not in served and b"GPS" not in served
    assert size == (240, 320)  # turned upright (it was shot sideways), as the page shows it
    stored = Image.open(disclosure.photo_path(_fresh(lawyer)))
    assert stored.size == (900, 1200) and max(stored.size) == photos.PHOTO_LONGEST_SIDE


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` (its data would not fill it)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_refused_from_its_header(district):
    """20,000 × 20,000 is 1.6 GB once decoded: refused before decoding, nothing stored."""
    lawyer = district.lawyers[0]
    with pytest.raises(ValidationError) as caught:
        lawyers.set_photo(None, lawyer, io.BytesIO(_png_header(20000, 20000)))
    assert caught.value.field == "file" and "too many pixels" in str(caught.value)
    assert _fresh(lawyer).photo == "" and _stored_files() == []


def test_a_webp_picture_is_a_photo_too():
    webp = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8L" + b"\0" * 22
    assert photos.sniff_photo(webp) == ".webp"


@pytest.mark.parametrize("content", [
    EXE, b"", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    b"GIF89a" + b"\0" * 40, b"%PDF-1.7\n" + b"\0" * 40,
    b"\x89PNG\r\n\x1a\n" + b"\0" * 40,  # a signature and nothing behind it
    b"\xff\xd8\xff\xe0" + b"\0" * 64,  # a JPEG start and no frame
    PNG[:20],
])
def test_anything_but_a_picture_is_refused(district, content):
    lawyer = district.lawyers[0]
    with pytest.raises(ValidationError) as caught:
        lawyers.set_photo(district.users.coordinator, lawyer, io.BytesIO(content))
    assert caught.value.field == "file"
    assert _fresh(lawyer).photo == "" and _stored_files() == [] and not _audits(
        "lawyer.photo", lawyer)


def test_a_photo_over_the_limit_is_refused_without_reading_it_all(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_MAX_UPLOAD_MB", "0.01")  # 10 KB: smaller than the photo limit
    assert photos.photo_limit() == int(0.01 * 1024 * 1024)
    big = PNG + b"\0" * photos.photo_limit()
    with pytest.raises(ValidationError):
        lawyers.set_photo(None, district.lawyers[0], io.BytesIO(big))
    assert _fresh(district.lawyers[0]).photo == "" and _stored_files() == []
    monkeypatch.delenv("JIEDUI_MAX_UPLOAD_MB")
    assert photos.photo_limit() == photos.PHOTO_MAX_BYTES  # 5 MB under the default 10


def test_removing_the_photo_brings_the_warning_back(district):
    lawyer = district.lawyers[0]
    lawyers.update_details(None, lawyer, wechat="zhangming_law")
    lawyers.set_photo(None, lawyer, io.BytesIO(PNG))
    lawyers.remove_photo(district.users.lawyer, _fresh(lawyer))
    assert _fresh(lawyer).photo == "" and not disclosure.public_village("T1V1").has_photo
    assert [w.missing for w in disclosure.warnings(None) if w.village_code == "T1V1"] == [
        ("photo",)]
    assert [e.detail["after"] for e in _audits("lawyer.photo", lawyer)] == [
        _audits("lawyer.photo", lawyer)[0].detail["after"], ""]
    lawyers.remove_photo(None, _fresh(lawyer))  # none left: nothing to do, nothing audited
    assert len(_audits("lawyer.photo", lawyer)) == 2


# --- the web: the lawyer's page ------------------------------------------------------------------

def test_the_page_offers_each_user_the_forms_they_may_use(district, login):
    url = f"/lawyers/{district.lawyers[0].id}"
    page = login(district.users.coordinator).get(url).get_data(as_text=True)
    for name in ("details-name", "details-firm", "details-licence_no", "details-phone",
                 "details-wechat", "photo-file"):
        assert f'name="{name}"' in page, name
    assert 'enctype="multipart/form-data"' in page and 'id="lawyer-details"' in page
    page = login(district.users.lawyer).get(url).get_data(as_text=True)
    assert 'name="details-phone"' in page and 'name="photo-file"' in page
    assert 'name="details-name"' not in page and 'name="details-licence_no"' not in page
    page = login(district.users.town_coordinator).get(url).get_data(as_text=True)
    assert "details-phone" not in page and "photo-file" not in page
    assert "张明" in page and "13800000000" in page  # read only


def test_the_coordinator_saves_the_details_with_htmx(district, login):
    lawyer = district.lawyers[0]
    client = login(district.users.coordinator)
    response = client.post(f"/lawyers/{lawyer.id}/details", headers=HTMX, data={
        "details-name": "张明", "details-firm": str(district.firms[0].id),
        "details-licence_no": lawyer.licence_no, "details-phone": "0571-88886666",
        "details-wechat": "zhangming_law"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<h1 id="lawyer-heading" hx-swap-oob="true">')
    assert 'id="lawyer-details"' in page and "0571-88886666" in page and "<html" not in page
    assert (_fresh(lawyer).phone, _fresh(lawyer).wechat) == ("0571-88886666", "zhangming_law")


def test_without_htmx_a_saved_form_redirects_back(district, login):
    lawyer = district.lawyers[0]
    response = login(district.users.lawyer).post(
        f"/lawyers/{lawyer.id}/details",
        data={"details-phone": "13911112222", "details-wechat": "zm",
              "details-name": "改名", "details-licence_no": "1"})  # not the lawyer's fields
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/lawyers/{lawyer.id}")
    lawyer = _fresh(lawyer)
    assert (lawyer.phone, lawyer.wechat, lawyer.name) == ("13911112222", "zm", "张明")
    assert lawyer.licence_no == district.lawyers[0].licence_no


def test_a_bad_phone_is_answered_in_chinese_next_to_the_field_and_kept(district, login):
    lawyer = district.lawyers[0]
    client = login(district.users.lawyer)
    response = client.post(f"/lawyers/{lawyer.id}/details", headers=HTMX,
                           data={"details-phone": "12345", "details-wechat": "new_wechat"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert BAD_PHONE_ZH in page and 'class="field-error" id="details-phone-error"' in page
    assert 'value="12345"' in page and 'value="new_wechat"' in page  # nothing lost
    assert "<details class=\"panel-form\" open>" in page
    assert (_fresh(lawyer).phone, _fresh(lawyer).wechat) == ("13800000000", "")
    assert _audits("lawyer.update", lawyer) == []


@pytest.mark.parametrize("who, status", [("town_coordinator", 403),
                                         ("other_town_coordinator", 403), ("village", 403)])
def test_readers_and_others_cannot_post(district, login, who, status):
    client = login(getattr(district.users, who))
    lawyer = district.lawyers[0]
    for url, data in ((f"/lawyers/{lawyer.id}/details", {"details-phone": "13911112222"}),
                      (f"/lawyers/{lawyer.id}/photo", {"photo-file": (io.BytesIO(PNG), "a.png")}),
                      (f"/lawyers/{lawyer.id}/photo/remove", {})):
        assert client.post(url, data=data).status_code == status, url
    assert _fresh(lawyer).phone == "13800000000" and _fresh(lawyer).photo == ""


def test_a_lawyer_cannot_reach_another_lawyers_forms(district, login):
    other = district.lawyers[1]
    client = login(district.users.lawyer)
    assert client.post(f"/lawyers/{other.id}/details",
                       data={"details-phone": "13911112222"}).status_code == 404
    assert client.post(f"/lawyers/{other.id}/photo",
                       data={"photo-file": (io.BytesIO(PNG), "a.png")}).status_code == 404
    assert client.get(f"/lawyers/{other.id}/photo").status_code == 404
    assert _fresh(other).phone == district.lawyers[1].phone and _fresh(other).photo == ""


def test_an_uploaded_photo_is_shown_served_and_public(district, login, client):
    lawyer = district.lawyers[0]
    lawyers.update_details(None, lawyer, wechat="zhangming_law")
    login(district.users.coordinator)
    missing = client.get("/lawyers/?missing=photo").get_data(as_text=True)  # the desk's link
    assert f'href="/lawyers/{lawyer.id}#lawyer-details"' in missing  # where to fix it
    response = client.post(f"/lawyers/{lawyer.id}/photo", headers=HTMX,
                           data={"photo-file": (io.BytesIO(JPEG), "zhang.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    version = lawyers.photo_version(_fresh(lawyer))
    assert f'src="/lawyers/{lawyer.id}/photo?v={version}"' in page
    served = client.get(f"/lawyers/{lawyer.id}/photo?v={version}")
    stored = disclosure.photo_path(_fresh(lawyer)).read_bytes()  # the re-encoded picture
    assert served.status_code == 200 and served.data == stored
    assert served.mimetype == "image/jpeg" and "private" in served.headers["Cache-Control"]
    missing = client.get("/lawyers/?missing=photo").get_data(as_text=True)
    assert f'href="/lawyers/{lawyer.id}#lawyer-details"' not in missing  # complete now
    login(district.users.town_coordinator)  # reads the lawyer, photo included
    assert client.get(f"/lawyers/{lawyer.id}/photo").data == stored
    client.post("/logout")
    public = client.get("/v/T1V1").get_data(as_text=True)
    assert f'src="/v/T1V1/photo?v={version}"' in public
    assert client.get("/v/T1V1/photo").data == stored
    assert f'src="/v/T1V1/photo?v={version}"' in client.get("/v/T1V1/card").get_data(
        as_text=True)


def test_a_lawyer_without_pairing_shows_their_photo_on_their_page(district, login):
    lawyer = district.lawyers[0]
    from core.pairings import end_pairing
    end_pairing(None, district.pairings[0], ended_on=district.pairings[0].term_start)
    lawyers.set_photo(None, lawyer, io.BytesIO(PNG))
    client = login(district.users.lawyer)
    assert client.get("/v/T1V1/photo").status_code == 404  # no public page any more
    served = client.get(f"/lawyers/{lawyer.id}/photo")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"  # re-encoded


def test_an_exe_named_jpg_is_refused_in_chinese(district, login):
    lawyer = district.lawyers[0]
    response = login(district.users.lawyer).post(
        f"/lawyers/{lawyer.id}/photo", headers=HTMX,
        data={"photo-file": (io.BytesIO(EXE), "photo.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert NOT_A_PHOTO_ZH in page and 'id="photo-file-error"' in page
    assert _fresh(lawyer).photo == "" and _stored_files() == []


def test_an_oversized_or_missing_upload_is_refused(district, login, monkeypatch):
    lawyer = district.lawyers[0]
    client = login(district.users.coordinator)
    monkeypatch.setenv("JIEDUI_MAX_UPLOAD_MB", "0.01")
    big = PNG + b"\0" * (20 * 1024)
    response = client.post(f"/lawyers/{lawyer.id}/photo", headers=HTMX,
                           data={"photo-file": (io.BytesIO(big), "big.png")})
    assert response.status_code == 422 and "文件超过" in response.get_data(as_text=True)
    response = client.post(f"/lawyers/{lawyer.id}/photo", data={})
    assert response.status_code == 422 and 'id="photo-file-error"' in response.get_data(
        as_text=True)
    assert _fresh(lawyer).photo == "" and _stored_files() == []


@pytest.mark.parametrize("filename", ["../../../../tmp/evil.png", "..\\..\\evil.png",
                                      "/etc/passwd", "photo.png%00.exe", "照片.png"])
def test_the_file_name_plays_no_part(district, login, filename, tmp_path):
    lawyer = district.lawyers[0]
    instance = get_settings().instance
    before = {p for p in instance.parent.rglob("evil*")}
    response = login(district.users.lawyer).post(
        f"/lawyers/{lawyer.id}/photo", data={"photo-file": (io.BytesIO(PNG), filename)})
    assert response.status_code == 303
    photo = _fresh(lawyer).photo
    assert photo.startswith("uploads/photos/") and photo.endswith(".jpg")
    assert "evil" not in photo and "passwd" not in photo
    assert {p for p in instance.parent.rglob("evil*")} == before
    assert [p.name for p in _stored_files()] == [photo.rsplit("/", 1)[1]]


def test_the_photo_is_removed_after_a_confirmation(district, login):
    lawyer = district.lawyers[0]
    lawyers.set_photo(None, lawyer, io.BytesIO(PNG))
    client = login(district.users.lawyer)
    page = client.get(f"/lawyers/{lawyer.id}").get_data(as_text=True)
    assert f'hx-post="/lawyers/{lawyer.id}/photo/remove"' in page and "hx-confirm=" in page
    response = client.post(f"/lawyers/{lawyer.id}/photo/remove", headers=HTMX)
    assert response.status_code == 200 and _fresh(lawyer).photo == ""
    assert "photo/remove" not in response.get_data(as_text=True)
    assert client.get(f"/lawyers/{lawyer.id}/photo").status_code == 404


@pytest.mark.parametrize("value", ["", "²", "99999999999999999999", "a" * 2000, "<b>x</b>"])
def test_nasty_form_values_are_refused_without_writing(district, login, value):
    lawyer = district.lawyers[0]
    client = login(district.users.admin)
    before = list(Lawyer.select().dicts())
    response = client.post(f"/lawyers/{lawyer.id}/details", data={
        f"details-{name}": value for name in ("name", "firm", "licence_no", "phone", "wechat")})
    assert response.status_code == 422
    response = client.post(f"/lawyers/{lawyer.id}/photo", data={"photo-file": value})
    assert response.status_code == 422
    assert list(Lawyer.select().dicts()) == before
    assert LawFirm.select().count() == 2
