"""Bad files (issue 6): the importer (``jiedui import``), the holiday CSV and the case-file
uploads are fuzzed with hypothesis. Each either takes the whole file or refuses it with a
clear message (a ``JieduiError`` naming the rows), never another exception, and a refused
file leaves the database and the uploads folder as they were."""
import csv
import hashlib
import io
import itertools
import zipfile

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from core import cases, workdays
from core.errors import ValidationError
from core.importer import COLUMNS, ImportFailed, UnreadableFile, import_file
from core.models import Attachment
from tests.fuzz_support import FUZZ, changed_tables, files_under, fingerprint, nasty_text
from tests.test_cases import DOCX, PDF, PNG, office_zip
from tests.test_importer import sample_rows

ZH = [c.key for c in COLUMNS]
LABELS = [c.zh for c in COLUMNS] + [c.key for c in COLUMNS]
SAMPLE = sample_rows()
_serial = itertools.count()


def same(text):  # gettext without a catalog: the English msgids
    return text


def _write(folder, suffix: str, table: list[list[str]], encoding="utf-8"):
    """The table as a .csv or .xlsx file with a name of its own (examples share a folder)."""
    path = folder / f"fuzz-{next(_serial)}{suffix}"
    if suffix == ".xlsx":
        sheet_book = Workbook()
        for cells in table:
            # Excel cannot hold these characters at all, so no real workbook has them
            sheet_book.active.append([ILLEGAL_CHARACTERS_RE.sub("", c) for c in cells])
        sheet_book.save(path)
    else:
        with path.open("w", encoding=encoding, errors="replace", newline="") as out:
            csv.writer(out).writerows(table)
    return path


def _refused_cleanly(path) -> str:
    """Import ``path``: the summary on success, else the problem text; either way, a
    refusal wrote nothing and every message reads as a sentence."""
    before = fingerprint()
    try:
        summary = import_file(path)
    except ImportFailed as failed:
        assert failed.problems, "ImportFailed without the rows"
        assert all(p.describe(same).startswith("row ") for p in failed.problems)
        assert changed_tables(before, fingerprint()) == []
        return failed.translate(same)
    except UnreadableFile as unreadable:
        assert changed_tables(before, fingerprint()) == []
        return unreadable.translate(same)
    return summary


# --- the importer ----------------------------------------------------------------------------

def _cell(key):
    """A cell: the sample's value for that column (so some files import), or a nasty one."""
    offered = sorted({row[key] for row in SAMPLE})
    return st.one_of(st.sampled_from(offered), nasty_text)


rows = st.lists(st.tuples(*[_cell(key) for key in ZH]).map(list), min_size=1, max_size=4)


@settings(FUZZ, max_examples=60)
@given(table=rows, suffix=st.sampled_from([".csv", ".xlsx"]))
@example(table=[[*[SAMPLE[0][k] for k in ZH[:5]], "石桥\x00村", *[SAMPLE[0][k] for k in ZH[6:]]]],
         suffix=".csv")  # PostgreSQL refuses a NUL: now a bad cell
def test_fuzzed_cells_import_all_or_name_the_bad_rows(database, tmp_path, table, suffix):
    header = [c.zh for c in COLUMNS]
    outcome = _refused_cleanly(_write(tmp_path, suffix, [header, *table]))
    if isinstance(outcome, dict):
        assert outcome["rows"] == len([r for r in table if any(c.strip() for c in r)])


headers = st.lists(st.one_of(st.sampled_from(LABELS), st.text(max_size=12)), max_size=20)


@settings(FUZZ, max_examples=40)
@given(header=headers, table=st.lists(st.lists(nasty_text, max_size=20), max_size=3),
       suffix=st.sampled_from([".csv", ".xlsx"]))
def test_fuzzed_headers_are_refused_with_a_message(database, tmp_path, header, table, suffix):
    _refused_cleanly(_write(tmp_path, suffix, [header, *table]))


def _zip_of(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


workbook_parts = st.sampled_from(["[Content_Types].xml", "xl/workbook.xml", "_rels/.rels",
                                  "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml",
                                  "xl/sharedStrings.xml", "xl/styles.xml", "docProps/app.xml"])
random_files = st.one_of(
    st.binary(max_size=400),
    st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),
    st.lists(st.tuples(workbook_parts, st.binary(max_size=200)), max_size=6,
             unique_by=lambda member: member[0]).map(_zip_of),
)


@settings(FUZZ, max_examples=60)
@given(data=random_files, suffix=st.sampled_from([".csv", ".xlsx"]))
@example(data="镇街编码,镇街名称\n".encode("gbk") + bytes([0x81, 0x20]), suffix=".csv")
def test_random_bytes_are_refused_as_unreadable(database, tmp_path, data, suffix):
    path = tmp_path / f"fuzz-{next(_serial)}{suffix}"
    path.write_bytes(data)
    outcome = _refused_cleanly(path)
    assert not isinstance(outcome, dict)


def _bomb(inner: str = "xl/worksheets/sheet1.xml", megabytes: int = 60) -> bytes:
    """A workbook whose sheet unpacks from about 60 KB to ``megabytes`` of zeros."""
    return _zip_of([("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>"),
                    (inner, b"0" * (megabytes * 1024 * 1024))])


def test_a_zip_bomb_workbook_is_refused_before_it_is_unpacked(database, tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_bomb())
    with pytest.raises(UnreadableFile, match="unpacks to far more than it weighs"):
        import_file(path)


def test_a_workbook_with_a_path_out_of_the_archive_is_refused(database, tmp_path):
    path = tmp_path / "evil.xlsx"
    path.write_bytes(_zip_of([("[Content_Types].xml", b"<Types/>"),
                              ("../../escape.xml", b"<x/>")]))
    with pytest.raises(UnreadableFile, match="path that is not allowed"):
        import_file(path)
    assert not (tmp_path.parent / "escape.xml").exists()


def test_a_workbook_with_a_zip_bomb_inside_is_refused(database, tmp_path):
    path = tmp_path / "nested.xlsx"
    path.write_bytes(_zip_of([("[Content_Types].xml", b"<Types/>"),
                              ("xl/embeddings/inner.xlsx", _bomb(megabytes=5))]))
    with pytest.raises(UnreadableFile, match="unpacks to far more than it weighs"):
        import_file(path)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_csv_from_excel_in_each_encoding_imports(database, tmp_path, encoding):
    table = [[c.zh for c in COLUMNS], *[[row[k] for k in ZH] for row in SAMPLE]]
    summary = import_file(_write(tmp_path, ".csv", table, encoding=encoding))
    assert summary["rows"] == len(SAMPLE) and summary["villages"]["created"] == len(SAMPLE)


# --- the holiday CSV ------------------------------------------------------------------------------

holiday_lines = st.lists(st.tuples(
    st.one_of(st.dates().map(lambda d: d.isoformat()), nasty_text),
    st.sampled_from(["off", "workday", "休", "班", "", "x"]),
    st.one_of(st.sampled_from(["春节", ""]), nasty_text),
).map(list), min_size=0, max_size=4)


@settings(FUZZ, max_examples=50)
@given(lines=holiday_lines, raw=st.one_of(st.none(), st.binary(max_size=200)))
@example(lines=[["2027-02-01", "off", "节\x00日"]], raw=None)  # PostgreSQL refuses a NUL
@example(lines=[["2027-02-01", "off", "节" * 300]], raw=None)  # longer than the column
@example(lines=[["2027-02-01", "off", "春节"]], raw=None)
def test_holiday_files_import_or_are_refused_cleanly(district, tmp_path, lines, raw):
    path = tmp_path / f"holidays-{next(_serial)}.csv"
    if raw is None:
        with path.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(lines)
    else:
        path.write_bytes(raw)
    before = fingerprint()
    try:
        count = workdays.import_holidays(path, actor=district.users.admin)
    except ValidationError as error:
        assert error.translate(same)
        assert changed_tables(before, fingerprint()) == []
    else:
        assert 0 < count <= len(lines)


# --- case-file uploads ------------------------------------------------------------------------------

@pytest.fixture
def case(district, tmp_path, monkeypatch):
    """An open case of lawyer 0; uploads go to this test's own instance folder."""
    import datetime as dt
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path / "instance"))
    return cases.open_case(district.users.lawyer, title="土地承包纠纷", lawyer=district.lawyers[0],
                           village=district.villages[0], opened_on=dt.date(2026, 3, 2))


PATH_TRICKS = ("../../x.pdf", "/etc/passwd", "C:\\x.pdf", "..", ".", "a/b.pdf", "a\\b.pdf",
               "x\x00.pdf", "é" * 1000 + ".pdf", "合同.pdf", "\u202egpj.exe", "CON", " ",
               "..\\..\\boot.ini", "file:///etc/passwd", "%2e%2e%2fx.pdf")
contents = st.one_of(st.binary(max_size=300), st.sampled_from([PDF, PNG, DOCX, b"\x00" * 10]),
                     st.binary(max_size=100).map(lambda b: PDF[:8] + b),
                     st.binary(max_size=100).map(lambda b: b"PK\x03\x04" + b))
names = st.one_of(st.sampled_from(PATH_TRICKS), st.text(max_size=40),
                  st.sampled_from(["a.pdf", "a.exe", "a.docx", "a.txt", "a.html", "a.svg"]))


def _upload_checked(site_login, case, instance, name, data):
    """POST the upload; accepted files are stored under their hash only, refused ones leave
    nothing behind."""
    client = site_login
    before, files = fingerprint(), files_under(instance)
    response = client.post(f"/records/cases/{case.id}/attachments",
                           data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code in (303, 400, 422), (name, response.status_code)
    if response.status_code == 303:
        digest = hashlib.sha256(data).hexdigest()
        assert files_under(instance) <= files | {f"uploads/{digest[:2]}/{digest}"}
        stored = Attachment.select().order_by(Attachment.id.desc()).first()
        assert stored.sha256 == digest
        # the name is for display only, and shows no folder
        assert not set(stored.filename) & {"/", "\\", "\x00"}
        assert not stored.filename.startswith("..") and len(stored.filename) <= 150
    else:
        assert changed_tables(before, fingerprint()) == []
        assert files_under(instance) == files
        if response.status_code == 422:
            assert "alert" in response.get_data(as_text=True) or response.data
    return response.status_code


@settings(FUZZ, max_examples=80)
@given(name=names, data=contents)
@example(name="../../x.pdf", data=PDF)
@example(name="C:\\x.pdf", data=PDF)
@example(name="x\x00.pdf", data=PDF)
def test_uploads_are_stored_by_hash_or_refused_leaving_nothing(district, case, login, tmp_path,
                                                                name, data):
    client = login(district.users.lawyer)
    _upload_checked(client, case, tmp_path / "instance", name, data)


@pytest.mark.parametrize("name", ["../../x.pdf", "/etc/passwd", "..", "a/b.pdf",
                                  "..\\..\\boot.ini", "file:///etc/passwd"])
def test_names_with_a_path_are_refused(district, case, login, tmp_path, name):
    client = login(district.users.lawyer)
    assert _upload_checked(client, case, tmp_path / "instance", name, PDF) in (400, 422)


@pytest.mark.parametrize("name, shown", [("C:\\x.pdf", "C:x.pdf"), ("x\x00.pdf", "x.pdf"),
                                         ("é" * 1000 + ".pdf", "é" * 146 + ".pdf")])
def test_odd_names_are_kept_for_display_only(district, case, login, tmp_path, name, shown):
    """Werkzeug reads a backslash in the header as an escape; a NUL is dropped; a long
    name is cut. The file itself lives under its hash whatever the name."""
    client = login(district.users.lawyer)
    assert _upload_checked(client, case, tmp_path / "instance", name, PDF) == 303
    assert Attachment.get().filename == shown


@pytest.mark.parametrize("data", [
    _bomb("word/document.xml", 40),
    office_zip({"[Content_Types].xml": b"x", "word/document.xml": b"y",
                "nested.zip": _bomb("word/document.xml", 40)}),
    office_zip({"[Content_Types].xml": b"x", "word/document.xml": b"y",
                **{f"part{i}.xml": b"" for i in range(cases.ZIP_MAX_ENTRIES + 1)}}),
    office_zip({"[Content_Types].xml": b"x", "word/document.xml": b"y",
                "a.docx": office_zip({"b.docx": office_zip({"c.txt": b"z"})})}),
], ids=["bomb", "bomb-in-zip", "too-many-parts", "zip-in-zip-in-zip"])
def test_zip_bombs_are_refused_through_the_web(district, case, login, tmp_path, data):
    client = login(district.users.lawyer)
    assert _upload_checked(client, case, tmp_path / "instance", "report.docx", data) == 422


def test_an_oversized_upload_is_refused_leaving_nothing(district, case, login, tmp_path,
                                                        monkeypatch):
    monkeypatch.setenv("JIEDUI_MAX_UPLOAD_MB", "0.01")  # about 10 KB
    client = login(district.users.lawyer)
    for size in (11 * 1024, 2 * 1024 * 1024):
        assert _upload_checked(client, case, tmp_path / "instance", "big.pdf",
                               PDF + b"0" * size) == 422


@settings(FUZZ, max_examples=40)
@given(data=st.one_of(st.binary(max_size=300), holiday_lines.map(
    lambda lines: "\n".join(",".join(line) for line in lines).encode("utf-8", "replace"))),
    name=names)
@example(data="2027-02-01,off,春节\n".encode("gbk"), name="holidays.csv")
@example(data=b"0" * (65 * 1024), name="big.csv")
def test_holiday_uploads_are_imported_or_refused_leaving_nothing(district, login, data, name):
    client = login(district.users.admin)
    manual_only = {workdays.Holiday: "source = 'manual'"}
    before = fingerprint(only=manual_only)
    response = client.post("/calendar/holidays/import",
                           data={"import-file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code in (302, 400, 422), response.status_code
    if response.status_code != 302:
        assert changed_tables(before, fingerprint(only=manual_only)) == []



def test_a_document_embedding_a_spreadsheet_is_accepted():
    """One level of embedding is what Word does with a pasted table: not a bomb."""
    sheet = office_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
    document = office_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>",
                           "word/embeddings/Sheet1.xlsx": sheet})
    assert cases.sniff_type(document) == cases.MIME_DOCX


# --- regressions found by the fuzzing ------------------------------------------------------------

def test_a_cell_with_a_nul_is_a_bad_row(database, tmp_path):
    """SQLite stored it; PostgreSQL refused it deep in the write (not a row problem)."""
    row = [SAMPLE[0][k] for k in ZH]
    row[ZH.index("village_name")] = "石桥\x00村"
    with pytest.raises(ImportFailed) as caught:
        import_file(_write(tmp_path, ".csv", [[c.zh for c in COLUMNS], row]))
    assert [p.describe(same) for p in caught.value.problems] == [
        "row 2, 村居名称: This cell holds a control character (such as a NUL); type the "
        "text again."]


@pytest.mark.parametrize("name", ["节\x00日", "节" * 101])
def test_a_holiday_name_with_a_nul_or_too_long_is_refused(district, tmp_path, name):
    path = tmp_path / "holidays.csv"
    path.write_text(f"2027-02-01,off,{name}\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="Line 1: the name must be at most 100"):
        workdays.import_holidays(path, actor=district.users.admin)
    assert not workdays.Holiday.select().where(workdays.Holiday.source == "manual").exists()
