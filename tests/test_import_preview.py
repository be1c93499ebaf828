"""The roster import as the browser uses it: headers as the UI writes them, CSV in the
encodings Excel writes, a preview that explains every bad row and writes nothing, and an
import that does what its preview said, reporting its progress."""
import io
from pathlib import Path

import pytest

from core import importer
from core.errors import ValidationError
from core.importer import (COLUMNS, HEADER_ALIASES, ImportFailed, apply, header_form, preview)
from core.models import Lawyer, Pairing, Town, Village
from tests.test_importer import sample_rows, snapshot, write_csv

ZH = {c.key: c.zh for c in COLUMNS}
# The headers as the web's own pages and tables label the columns.
UI_HEADERS = {"town_code": "镇(街道)编码", "town_name": "镇（街道）", "village_code": "村(居)编码",
              "village_name": "村(居)名称", "kind": "类型", "judicial_office": "司法所",
              "firm": "律师事务所", "lawyer_name": "律师", "licence_no": "执业证号",
              "lawyer_phone": "电话", "lawyer_wechat": "微信号", "term_start": "聘期开始",
              "term_end": "Term ends", "onsite_hours": "驻点时间"}


def zh(text):
    return text


def write_rows(path: Path, header: list[str], rows: list[list[str]], encoding="utf-8-sig"):
    lines = [",".join(header)] + [",".join(cells) for cells in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def test_every_alias_names_one_column():
    seen = {}
    for column in COLUMNS:
        for label in (column.key, column.zh, *HEADER_ALIASES.get(column.key, ())):
            assert seen.setdefault(header_form(label), column.key) == column.key, label


def test_the_headers_the_ui_shows_are_accepted(database, tmp_path):
    rows = sample_rows()
    keys = list(UI_HEADERS)
    path = tmp_path / "ui.csv"
    write_rows(path, [UI_HEADERS[k] for k in keys], [[r.get(k, "") for k in keys] for r in rows])
    summary = apply(path)
    assert summary["villages"]["created"] == 10 and summary["pairings"]["created"] == 9


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_in_the_encodings_excel_writes(database, tmp_path, encoding):
    path = write_csv(tmp_path / f"{encoding}.csv", sample_rows(), encoding=encoding)
    result = preview(path)
    assert result.ok, [p.describe(zh) for p in result.problems]
    assert result.summary["lawyers"]["created"] == 5
    assert apply(path)["lawyers"]["created"] == 5
    assert Village.get(Village.code == "330199101201").name == "石桥村"


def test_preview_explains_a_bad_row_and_writes_nothing(database, tmp_path):
    rows = sample_rows()
    rows[2]["kind"] = "镇"
    path = write_csv(tmp_path / "bad.csv", rows)
    before = snapshot()
    result = preview(path)
    assert not result.ok and result.bad_rows == 1
    [problem] = result.problems
    assert problem.row == 4 and problem.column == "类型"
    text = problem.describe(zh)
    assert "镇" in text and "村, 社区" in text  # what is wrong and what to write instead
    assert snapshot() == before
    assert not Town.select().exists()


def test_preview_finds_the_rules_that_need_the_database(district, tmp_path):
    """A village already paired with another lawyer is a bad row in the preview too."""
    village = district.villages[0]
    rows = [{"town_code": village.town.code, "town_name": village.town.name,
             "judicial_office": "所", "village_code": village.code, "village_name": village.name,
             "kind": "村", "firm": "新律所", "lawyer_name": "新律师",
             "licence_no": "99999999999999999", "term_start": "2026-01-01",
             "term_end": "2027-12-31"}]
    path = write_csv(tmp_path / "other.csv", rows)
    result = preview(path)
    assert [p.row for p in result.problems] == [2]
    assert "already has an active lawyer" in result.problems[0].describe(zh)
    assert not Lawyer.select().where(Lawyer.licence_no == "99999999999999999").exists()


def test_apply_does_what_the_preview_said_and_reports_progress(database, tmp_path):
    path = write_csv(tmp_path / "good.csv", sample_rows())
    said = preview(path)
    assert said.ok and said.rows == 10
    seen = []
    done = apply(path, progress=lambda n, total: seen.append((n, total)))
    assert done == said.summary
    assert Village.select().count() == said.summary["villages"]["created"] == 10
    assert Pairing.select().count() == said.summary["pairings"]["created"]
    assert seen[-1] == (10, 10) and seen == sorted(seen)
    again = preview(path)
    assert again.summary["villages"] == {"created": 0, "updated": 0, "unchanged": 10}


def test_apply_of_a_bad_file_writes_nothing(database, tmp_path):
    rows = sample_rows()
    rows[0]["term_start"] = "某天"
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(ImportFailed) as caught:
        apply(path)
    assert caught.value.problems[0].row == 2
    assert not Village.select().exists()


def test_a_staged_upload_is_previewed_and_imported_once(database, tmp_path):
    data = write_csv(tmp_path / "x.csv", sample_rows()).read_bytes()
    token = importer.stage(io.BytesIO(data), "结对名单.csv")
    said = importer.preview_staged(token)
    assert said.name == "结对名单.csv" and said.ok
    assert not Village.select().exists()
    importer.apply_staged(token)
    assert Village.select().count() == 10
    with pytest.raises(ValidationError) as gone:
        importer.apply_staged(token)
    assert "Upload the file again" in gone.value.translate(zh)
    with pytest.raises(ValidationError):
        importer.staged("../../etc/passwd")


def test_staging_refuses_other_types_and_large_files(database, monkeypatch):
    with pytest.raises(ValidationError):
        importer.stage(io.BytesIO(b"x"), "roster.xls")
    monkeypatch.setenv("JIEDUI_MAX_UPLOAD_MB", "0.001")
    with pytest.raises(ValidationError) as large:
        importer.stage(io.BytesIO(b"x" * 5000), "roster.csv")
    assert "larger than" in large.value.translate(zh)


def test_a_lawyers_email_is_imported(database, tmp_path):
    rows = sample_rows()
    rows[0]["lawyer_email"] = "zhou@example.cn"
    apply(write_csv(tmp_path / "mail.csv", rows))
    assert Lawyer.get(Lawyer.licence_no == rows[0]["licence_no"]).email == "zhou@example.cn"
    rows[0]["lawyer_email"] = "not an address"
    result = preview(write_csv(tmp_path / "bad.csv", rows))
    assert [(p.row, p.column) for p in result.problems] == [(2, "律师邮箱")]


def test_the_command_checks_a_file_without_writing(tmp_path):
    import json

    from tests.cli_support import run_jiedui
    instance = tmp_path / "instance"
    good = write_csv(tmp_path / "good.csv", sample_rows())
    checked = run_jiedui(instance, "import", str(good), "--check")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["villages"]["created"] == 10
    rows = sample_rows()
    rows[0]["kind"] = "镇"
    bad = run_jiedui(instance, "import", str(write_csv(tmp_path / "bad.csv", rows)), "--check")
    assert bad.returncode != 0 and "row 2, 类型: 镇 is not a kind of village" in bad.stderr
    # nothing was written: the real import still creates everything
    done = run_jiedui(instance, "import", str(good))
    assert json.loads(done.stdout)["villages"]["created"] == 10
