"""Case files (一案一档): numbering per year, who opens and reads them, uploads checked by
content and stored by hash, downloads only for those who may read the case."""
import datetime as dt
import hashlib
import html as html_lib
import io
import re
import zipfile

import pytest

from core import access, cases
from core.errors import NotFound, PermissionDenied, ValidationError
from core.models import Attachment, AuditLog, CaseFile
from core.worklog import log_service
from tests.planning_support import now, utc  # noqa: F401 (fixtures)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256))


def office_zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = office_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


@pytest.fixture(autouse=True)
def instance(tmp_path, monkeypatch):
    """Uploads go to this test's own instance folder."""
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path / "instance"))
    return tmp_path / "instance"


@pytest.fixture
def today(now):
    now(dt.datetime(2026, 3, 10, 2, 0))


def _open(district, actor="lawyer", **fields):
    values = dict(title="王某土地承包纠纷", lawyer=district.lawyers[0],
                  village=district.villages[0], category="矛盾纠纷调解",
                  opened_on=dt.date(2026, 3, 2))
    values.update(fields)
    return cases.open_case(getattr(district.users, actor) if actor else None, **values)


@pytest.fixture
def case(district, today):
    return _open(district)


# --- opening, numbering, closing -----------------------------------------------------------

def test_numbers_run_per_year(district, today):
    numbers = [_open(district).number, _open(district).number,
               _open(district, opened_on=dt.date(2025, 12, 30)).number, _open(district).number]
    assert numbers == ["2026-0001", "2026-0002", "2025-0001", "2026-0003"]
    assert AuditLog.select().where(AuditLog.action == "case.open").count() == 4


def test_a_number_taken_meanwhile_is_retried(district, today, monkeypatch):
    first = _open(district)
    real = cases._next_number
    calls = []

    def stale(year):  # the first attempt sees the table before `first` was committed
        calls.append(year)
        return first.number if len(calls) == 1 else real(year)
    monkeypatch.setattr(cases, "_next_number", stale)
    assert _open(district).number == "2026-0002"
    assert len(calls) == 2 and CaseFile.select().count() == 2


@pytest.mark.parametrize("fields, words", [
    (dict(title="  "), "Give the case a title"),
    (dict(title="x" * 201), "at most 200"),
    (dict(opened_on=dt.date(2026, 3, 11)), "in the future"),
    (dict(village=None), "Choose the village"),
    (dict(village="second"), "not paired"),
])
def test_bad_cases_are_refused(district, today, fields, words):
    if fields.get("village") == "second":
        fields["village"] = district.villages[1]
    with pytest.raises(ValidationError, match=words):
        _open(district, **fields)
    assert CaseFile.select().count() == 0


@pytest.mark.parametrize("actor", ["village", "other_town_coordinator"])
def test_opening_outside_ones_scope_is_refused(district, today, actor):
    with pytest.raises(PermissionDenied):
        _open(district, actor)
    assert CaseFile.select().count() == 0


def test_a_lawyer_cannot_open_a_case_for_another_lawyer(district, today):
    with pytest.raises(PermissionDenied):
        _open(district, lawyer=district.lawyers[1], village=district.villages[1])


def test_close_once_and_not_before_opening(district, case):
    with pytest.raises(ValidationError, match="before it was opened"):
        cases.close_case(district.users.lawyer, case, closed_on=dt.date(2026, 3, 1))
    cases.close_case(district.users.town_coordinator, case, closed_on=dt.date(2026, 3, 9))
    fresh = CaseFile.get_by_id(case.id)
    assert (fresh.status, fresh.closed_on) == ("closed", dt.date(2026, 3, 9))
    with pytest.raises(ValidationError, match="closed already"):
        cases.close_case(district.users.lawyer, fresh)
    with pytest.raises(PermissionDenied):
        cases.close_case(district.users.other_town_coordinator, _open(district))


def test_log_entries_belong_to_an_open_case_of_their_lawyer(district, case):
    entry = log_service(district.users.lawyer, lawyer=district.lawyers[0],
                        village=district.villages[0], occurred_at=utc(2026, 3, 9, 9),
                        duration_minutes=30, mode="phone", content="电话沟通", case=case,
                        category="contracts")
    assert [e.id for e in cases.case_logs(case)] == [entry.id]
    cases.close_case(None, case)
    with pytest.raises(ValidationError, match="closed"):
        log_service(district.users.lawyer, lawyer=district.lawyers[0],
                    village=district.villages[0], occurred_at=utc(2026, 3, 9, 10),
                    duration_minutes=30, mode="phone", content="电话沟通", case=case,
                        category="contracts")


@pytest.mark.parametrize("who, visible", [
    ("admin", True), ("coordinator", True), ("town_coordinator", True),
    ("other_town_coordinator", False), ("lawyer", True), ("village", False),
])
def test_who_reads_a_case(district, case, who, visible):
    user = getattr(district.users, who)
    assert access.can_read_case(user, case) is visible
    assert (case.id in {c.id for c in cases.case_visible_to(user)}) is visible


# --- uploads -------------------------------------------------------------------------------

@pytest.mark.parametrize("data, mime", [
    (PDF, "application/pdf"), (PNG, "image/png"), (b"\xff\xd8\xff\xe0" + b"\x00" * 20,
                                                   "image/jpeg"),
    (DOCX, cases.MIME_DOCX),
    (office_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}),
     cases.MIME_XLSX),
    ("会议记录\n第二行\n".encode(), cases.MIME_TEXT),
])
def test_allowed_files_are_stored_by_hash(district, case, instance, data, mime):
    attachment = cases.attach_file(district.users.lawyer, case, "文件.bin", io.BytesIO(data))
    digest = hashlib.sha256(data).hexdigest()
    assert (attachment.mime, attachment.sha256, attachment.size, attachment.filename) == (
        mime, digest, len(data), "文件.bin")
    stored = instance / "uploads" / digest[:2] / digest
    assert stored.read_bytes() == data


@pytest.mark.parametrize("name, data, words", [
    ("setup.pdf", EXE, "not accepted"),  # an .exe renamed .pdf
    ("notes.docx", office_zip({"word/document.xml": b"x"}), "not accepted"),  # no content types
    ("archive.docx", office_zip({"[Content_Types].xml": b"x", "other.xml": b"y"}),
     "not accepted"),  # a zip, but neither Word nor Excel
    ("evil.docx", office_zip({"[Content_Types].xml": b"x", "word/document.xml": b"y",
                              "../../escape.txt": b"z"}), "path that is not allowed"),
    ("bomb.docx", office_zip({"[Content_Types].xml": b"x",
                              "word/document.xml": b"\x00" * (30 * 1024 * 1024)}),
     "unpacks to far more"),
    ("../../etc/passwd.pdf", PDF, "folder or a path"),
    ("..\\boot.ini.pdf", PDF, "folder or a path"),
    ("empty.txt", b"", "empty"),
])
def test_bad_uploads_are_refused(district, case, instance, name, data, words):
    with pytest.raises(ValidationError, match=words):
        cases.attach_file(district.users.lawyer, case, name, io.BytesIO(data))
    assert Attachment.select().count() == 0
    assert not (instance / "uploads").exists() or not any(
        p.is_file() for p in (instance / "uploads").rglob("*"))
    assert not (instance.parent / "escape.txt").exists()


def test_an_oversized_upload_is_refused(district, case, monkeypatch):
    monkeypatch.setenv("JIEDUI_MAX_UPLOAD_MB", "1")
    with pytest.raises(ValidationError, match="larger than 1 MB"):
        cases.attach_file(district.users.lawyer, case, "big.pdf",
                          io.BytesIO(PDF + b"0" * (1024 * 1024)))
    assert Attachment.select().count() == 0


def test_only_readers_of_the_case_open_its_files(district, case):
    attachment = cases.attach_file(district.users.lawyer, case, "a.pdf", io.BytesIO(PDF))
    path, mime, name = cases.open_attachment(district.users.town_coordinator, attachment)
    assert (path.read_bytes(), mime, name) == (PDF, "application/pdf", "a.pdf")
    for who in ("other_town_coordinator", "village"):
        with pytest.raises(NotFound):
            cases.open_attachment(getattr(district.users, who), attachment)
    with pytest.raises(PermissionDenied):
        cases.attach_file(district.users.other_town_coordinator, case, "b.pdf", io.BytesIO(PDF))


# --- web -----------------------------------------------------------------------------------

def test_a_lawyer_opens_a_case_and_uploads_through_the_web(district, today, login):
    client = login(district.users.lawyer)
    response = client.post("/records/cases/new", data={
        "village": district.villages[0].id, "title": "合同审查", "category": "合同",
        "opened_on": "2026-03-09"})
    assert response.status_code == 303
    case = CaseFile.get()
    assert (case.number, case.lawyer_id) == ("2026-0001", district.lawyers[0].id)
    response = client.post(f"/records/cases/{case.id}/attachments",
                           data={"file": (io.BytesIO(PDF), "合同.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    attachment = Attachment.get()
    download = client.get(f"/records/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E5%90%88%E5%90%8C.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    page = client.get(f"/records/cases/{case.id}").get_data(as_text=True)
    assert "合同.pdf" in page and "2026-0001" in page


def test_a_refused_upload_says_why(district, case, login):
    client = login(district.users.lawyer)
    response = client.post(f"/records/cases/{case.id}/attachments",
                           data={"file": (io.BytesIO(EXE), "setup.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert Attachment.select().count() == 0


def test_an_oversized_request_is_refused_before_it_is_read(district, case, login, monkeypatch):
    monkeypatch.setenv("JIEDUI_MAX_UPLOAD_MB", "1")
    client = login(district.users.lawyer)
    response = client.post(f"/records/cases/{case.id}/attachments",
                           data={"file": (io.BytesIO(PDF + b"0" * (3 * 1024 * 1024)), "a.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert Attachment.select().count() == 0


def test_cases_and_files_outside_the_scope_answer_404(district, case, login):
    attachment = cases.attach_file(district.users.lawyer, case, "a.pdf", io.BytesIO(PDF))
    client = login(district.users.other_town_coordinator)
    assert client.get(f"/records/cases/{case.id}").status_code == 404
    assert client.get(f"/records/attachments/{attachment.id}").status_code == 404
    assert client.post(f"/records/cases/{case.id}/close").status_code == 404
    assert client.get("/records/attachments/999").status_code == 404
    assert login(district.users.village).get(
        f"/records/attachments/{attachment.id}").status_code == 403
    assert CaseFile.get_by_id(case.id).status == "open"


def test_close_through_the_web(district, case, login):
    client = login(district.users.town_coordinator)
    assert client.post(f"/records/cases/{case.id}/close").status_code == 303
    closed = CaseFile.get_by_id(case.id)
    assert (closed.status, closed.closed_on) == ("closed", dt.date(2026, 3, 10))  # today
    listing = client.get("/records/cases?status=closed", headers={"HX-Request": "true"})
    assert listing.status_code == 200 and case.number in listing.get_data(as_text=True)
    still_open = client.get("/records/cases?status=open", headers={"HX-Request": "true"})
    assert still_open.status_code == 200 and case.number not in still_open.get_data(as_text=True)


def test_the_case_list_shows_the_scope_only(district, case, login):
    other = _open(district, None, lawyer=district.lawyers[3], village=district.villages[3],
                  title="赵强的案卷")
    page = login(district.users.lawyer).get("/records/cases")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert case.number in text and other.number not in text
    found = login(district.users.coordinator).get("/records/cases?q=赵强",
                                                  headers={"HX-Request": "true"})
    assert other.number in found.get_data(as_text=True)
    assert case.number not in found.get_data(as_text=True)


# --- the closing date ------------------------------------------------------------------------

HX = {"HX-Request": "true"}


def field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<span class="field-error" id="{field_id}-error">([^<]*)<', html)
    return html_lib.unescape(match.group(1)) if match else ""


def date_input(html: str) -> str:
    match = re.search(r'<input[^>]*name="closed_on"[^>]*>', html)
    assert match, "no closing date on the page"
    return match.group(0)


def test_the_close_form_offers_today_between_opening_and_today(district, case, login):
    html = login(district.users.lawyer).get(f"/records/cases/{case.id}").get_data(as_text=True)
    field = date_input(html)
    assert 'type="date"' in field and 'value="2026-03-10"' in field
    assert 'min="2026-03-02"' in field and 'max="2026-03-10"' in field


def test_close_on_an_earlier_date_through_the_web(district, case, login):
    client = login(district.users.lawyer)
    response = client.post(f"/records/cases/{case.id}/close", headers=HX,
                           data={"closed_on": "2026-03-05"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == f"/records/cases/{case.id}"
    closed = CaseFile.get_by_id(case.id)
    assert (closed.status, closed.closed_on) == ("closed", dt.date(2026, 3, 5))
    page = client.get(f"/records/cases/{case.id}").get_data(as_text=True)
    assert "2026-03-05" in page and 'name="closed_on"' not in page  # closed: no form


@pytest.mark.parametrize("typed, message", [
    ("2026-03-01", "结案日期不能早于建档日期。"),
    ("2026-03-11", "结案日期不能晚于今天。"),
])
def test_a_refused_closing_date_is_shown_next_to_it_and_kept(district, case, login, typed,
                                                            message):
    client = login(district.users.town_coordinator)
    response = client.post(f"/records/cases/{case.id}/close", headers=HX,
                           data={"closed_on": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html  # the form alone, swapped in
    assert '<div id="case-close">' in html
    assert field_error(html, "closed_on") == message
    assert f'value="{typed}"' in date_input(html)
    # without HTMX: the whole page, with the same message next to the date
    page = client.post(f"/records/cases/{case.id}/close", data={"closed_on": typed})
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)
    assert field_error(page.get_data(as_text=True), "closed_on") == message
    assert CaseFile.get_by_id(case.id).status == "open"
    assert AuditLog.select().where(AuditLog.action == "case.close").count() == 0


def test_a_date_that_is_no_date_is_refused_and_kept(district, case, login):
    response = login(district.users.lawyer).post(
        f"/records/cases/{case.id}/close", headers=HX, data={"closed_on": "2026-02-30"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "closed_on") == "不是有效的日期值。"
    assert 'value="2026-02-30"' in date_input(html)
    assert CaseFile.get_by_id(case.id).status == "open"


def test_closing_a_closed_case_says_so(district, case, login):
    cases.close_case(None, case, closed_on=dt.date(2026, 3, 4))
    response = login(district.users.lawyer).post(
        f"/records/cases/{case.id}/close", headers=HX, data={"closed_on": "2026-03-09"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<p class="error" role="alert">该案件档案已结案。</p>' in html
    assert 'name="closed_on"' not in html
    assert CaseFile.get_by_id(case.id).closed_on == dt.date(2026, 3, 4)


# --- reads are audited -------------------------------------------------------------------------

def reads(action):
    return [(entry.username, entry.object_type, entry.object_id, entry.detail, entry.address)
            for entry in AuditLog.select().where(AuditLog.action == action)
            .order_by(AuditLog.id)]


def test_each_read_of_a_case_file_and_its_attachments_is_audited(district, case, login):
    """A case file holds what a task does (a family's dispute): reading it is logged as a
    task's sensitive fields are, one entry per read."""
    attachment = cases.attach_file(district.users.lawyer, case, "离婚协议.pdf", io.BytesIO(PDF))
    client = login(district.users.town_coordinator)
    assert client.get(f"/records/cases/{case.id}").status_code == 200
    assert client.get(f"/records/cases/{case.id}").status_code == 200
    assert client.get(f"/records/attachments/{attachment.id}").status_code == 200
    assert reads("case.view") == [
        ("coord-t1", "case_file", str(case.id), {"number": case.number}, "127.0.0.1")] * 2
    # the file's name may name the parties: the entry names the case and the size only
    assert reads("attachment.download") == [
        ("coord-t1", "attachment", str(attachment.id), {"case": case.id, "size": len(PDF)},
         "127.0.0.1")]


def test_a_read_refused_is_not_audited_as_a_read(district, case, login):
    attachment = cases.attach_file(district.users.lawyer, case, "a.pdf", io.BytesIO(PDF))
    client = login(district.users.other_town_coordinator)
    assert client.get(f"/records/cases/{case.id}").status_code == 404
    assert client.get(f"/records/attachments/{attachment.id}").status_code == 404
    assert reads("case.view") == reads("attachment.download") == []


def test_a_page_of_the_case_list_is_audited_with_the_files_it_showed(district, case, login):
    other = _open(district, opened_on=dt.date(2026, 3, 3), title="李某赡养纠纷")
    client = login(district.users.lawyer)
    assert client.get("/records/cases").status_code == 200
    assert client.get("/records/cases?q=nothing-matches", headers=HX).status_code == 200
    assert reads("case.list") == [("lawyer", "", "", {"cases": [other.id, case.id]},
                                   "127.0.0.1")]  # an empty page shows no file: no entry
