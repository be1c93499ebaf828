"""``jiedui import FILE``: the documented layout, upsert by codes, all or nothing."""
import csv
import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from core import hookimpl
from core.arrangements import Arrangement
from core.importer import COLUMNS, ImportFailed, UnreadableFile, import_file
from core.models import (District, LawFirm, Lawyer, Pairing, Town, Village, WechatGroup,
                         WechatGroupMember)
from core.pairings import active_pairing
from core.plugins import get_plugin_manager
from tests.cli_support import Ran, run_jiedui

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
D = dt.date
T = dt.time
ZH = {c.key: c.zh for c in COLUMNS}


def same(text):  # gettext without a catalog: the English msgids
    return text


def sample_rows() -> list[dict]:
    """The sample's rows as dicts keyed by English column names, every value as text."""
    with (SAMPLES / "district.csv").open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        keys = [next(c.key for c in COLUMNS if c.zh == label) for label in header]
        return [dict(zip(keys, row)) for row in reader]


def write_csv(path: Path, rows: list[dict], *, english=False, encoding="utf-8",
              keys=None) -> Path:
    keys = keys or [c.key for c in COLUMNS]
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(keys if english else [ZH[k] for k in keys])
        for row in rows:
            writer.writerow([row.get(k, "") for k in keys])
    return path


def snapshot() -> dict:
    """Everything the importer may write, to show that nothing changed."""
    models = (District, Town, Village, LawFirm, Lawyer, Pairing, WechatGroup, WechatGroupMember)
    return {m.__name__: sorted(tuple(sorted(r.items())) for r in m.select().dicts())
            for m in models}


def problems_of(caught) -> list[str]:
    return [p.describe(same) for p in caught.value.problems]


# --- the sample --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["district.csv", "district.xlsx"])
def test_sample_imports(database, name):
    summary = import_file(SAMPLES / name)
    assert summary["rows"] == 10
    assert {k: summary[k]["created"] for k in ("towns", "villages", "firms", "lawyers",
                                               "pairings")} == \
        {"towns": 2, "villages": 10, "firms": 2, "lawyers": 5, "pairings": 9}
    assert District.get().name == "本区" and District.get().code == "district"
    unpaired = [v.name for v in Village.select() if active_pairing(v) is None]
    assert unpaired == ["后山村"]
    village = Village.get(Village.code == "330199101201")
    assert (village.name, village.kind, village.town.name) == ("石桥村", "village", "青石镇")
    assert Village.get(Village.code == "330199002001").kind == "community"
    pairing = active_pairing(village)
    assert (pairing.lawyer.name, pairing.lawyer.firm.name) == ("周文彬", "明理律师事务所")
    assert (pairing.term_start, pairing.term_end) == (D(2026, 1, 1), D(2028, 12, 31))
    assert pairing.arrangement == Arrangement(1, 1, T(9, 0), T(12, 30))  # 每月第一个周二上午 9:00-12:30
    assert village.address == "青石镇石桥村村民委员会"
    by_code = {p.village.code: p.arrangement for p in Pairing.select()}
    assert by_code["330199101202"] == Arrangement(2, 1, T(8, 30), T(12, 0))  # 上午: JIEDUI_MORNING
    assert by_code["330199101203"] == Arrangement(1, 3, T(14, 0), T(17, 30))  # in its parts
    assert by_code["330199101001"] == Arrangement(3, 2, T(8, 30), T(12, 0))
    assert by_code["330199002201"] == Arrangement(5, 2, T(9, 0), T(12, 30))  # 最后一个
    assert by_code["330199101204"].hours >= 3.5  # none given: one the lawyer can keep
    assert WechatGroup.get(WechatGroup.pairing == pairing).name == "石桥村结对律师服务微信群"
    lawyer = Lawyer.get(Lawyer.licence_no == "13301202010111111")
    assert (lawyer.phone, lawyer.wechat) == ("13805710001", "zhouwenbin_law")
    assert Town.get(Town.code == "330199101").office_head == "陈国平"


def test_committed_samples_are_what_make_sample_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_sample", SAMPLES / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    assert (tmp_path / "district.csv").read_bytes() == (SAMPLES / "district.csv").read_bytes()

    def cells(path):
        return [list(r) for r in load_workbook(path).worksheets[0].iter_rows(values_only=True)]
    assert cells(tmp_path / "district.xlsx") == cells(SAMPLES / "district.xlsx")


def test_importing_twice_changes_nothing(database):
    import_file(SAMPLES / "district.csv")
    before = snapshot()
    summary = import_file(SAMPLES / "district.xlsx")  # the same content, as a workbook
    assert snapshot() == before
    for kind, count in (("towns", 2), ("villages", 10), ("firms", 2), ("lawyers", 5),
                        ("pairings", 9)):
        assert summary[kind] == {"created": 0, "updated": 0, "unchanged": count}, kind


def test_changed_rows_update_the_records_they_match(database, tmp_path):
    import_file(SAMPLES / "district.csv")
    rows = sample_rows()
    rows[0].update(lawyer_phone="13900000000", term_end="2029-06-30", onsite_half_day="下午")
    rows[1].update(lawyer_phone="13900000000")  # the same lawyer: must agree with row 2
    rows[5].update(village_name="后山社区", kind="社区")
    summary = import_file(write_csv(tmp_path / "changed.csv", rows))
    assert summary["lawyers"] == {"created": 0, "updated": 1, "unchanged": 4}
    assert summary["villages"] == {"created": 0, "updated": 1, "unchanged": 9}
    assert summary["pairings"] == {"created": 0, "updated": 1, "unchanged": 8}
    assert Lawyer.get(Lawyer.licence_no == rows[0]["licence_no"]).phone == "13900000000"
    village = Village.get(Village.code == rows[0]["village_code"])
    pairing = active_pairing(village)
    assert (pairing.term_end, pairing.arrangement) == (
        D(2029, 6, 30), Arrangement(1, 1, T(14, 0), T(17, 30)))  # the half-day's hours win
    assert WechatGroup.select().where(WechatGroup.pairing == pairing).count() == 1
    assert Pairing.select().count() == 9  # updated in place, no second pairing
    assert Village.get(Village.code == rows[5]["village_code"]).kind == "community"


def test_a_lawyer_can_move_to_another_firm(database, tmp_path):
    import_file(SAMPLES / "district.csv")
    rows = [r for r in sample_rows() if r["licence_no"] == "13301202014155555"]
    rows[0]["firm"] = "新成立律师事务所"
    summary = import_file(write_csv(tmp_path / "moved.csv", rows))
    assert summary["firms"]["created"] == 1 and summary["lawyers"]["updated"] == 1
    assert Lawyer.get(Lawyer.licence_no == "13301202014155555").firm.name == "新成立律师事务所"


# --- formats -----------------------------------------------------------------------------

def test_gbk_csv_from_a_chinese_excel_imports(database, tmp_path):
    path = write_csv(tmp_path / "gbk.csv", sample_rows(), encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    summary = import_file(path)
    assert summary["villages"]["created"] == 10
    assert Village.get(Village.code == "330199101001").name == "青石社区"


def test_english_headers_and_other_ways_of_writing_cells(database, tmp_path):
    rows = [dict(r, onsite_hours="") for r in sample_rows()[:4]]
    rows[0].update(term_start="2026/1/1", term_end="2028年12月31日", onsite_week="1",
                   onsite_weekday="3", onsite_half_day="PM", kind="village")
    rows[1].update(term_start="2026/1/1", term_end="2028年12月31日",  # same lawyer, other village
                   onsite_week="最后", onsite_weekday="星期三", onsite_half_day="am",
                   kind="community")
    rows[2].update(onsite_week="second", onsite_weekday="Friday", onsite_half_day="",
                   onsite_start="9:00", onsite_end="12:30")
    rows[3].update(onsite_hours="第四个礼拜五 下午")
    import_file(write_csv(tmp_path / "english.csv", rows, english=True))
    found = [active_pairing(Village.get(Village.code == r["village_code"])) for r in rows]
    assert [p.arrangement for p in found] == [
        Arrangement(1, 2, T(14, 0), T(17, 30)), Arrangement(5, 2, T(8, 30), T(12, 0)),
        Arrangement(2, 4, T(9, 0), T(12, 30)), Arrangement(4, 4, T(14, 0), T(17, 30))]
    assert (found[0].term_start, found[0].term_end) == (D(2026, 1, 1), D(2028, 12, 31))
    assert Village.get(Village.code == rows[1]["village_code"]).kind == "community"


def numeric_workbook(path: Path, **changes) -> Path:
    """The sample's first row in a workbook, with real date and number cells."""
    workbook = Workbook()
    sheet = workbook.active
    keys = [c.key for c in COLUMNS if c.key not in ("office_head", "lawyer_wechat")]
    sheet.append([ZH[k] for k in keys])
    row = dict(sample_rows()[0], town_code=330199101, village_code=330199101201,
               lawyer_phone=13805710001.0, term_start=dt.datetime(2026, 1, 1),
               term_end=D(2028, 12, 31), onsite_hours="", onsite_week=2, onsite_weekday=2,
               onsite_start=dt.time(9, 0), onsite_end=dt.time(12, 30), **changes)
    sheet.append([row[k] for k in keys])
    workbook.save(path)
    return path


def test_xlsx_with_date_cells_and_number_cells(database, tmp_path):
    import_file(numeric_workbook(tmp_path / "numbers.xlsx"))
    pairing = active_pairing(Village.get(Village.code == "330199101201"))
    assert pairing.village.town.code == "330199101"
    assert pairing.lawyer.phone == "13805710001"
    assert (pairing.term_start, pairing.term_end, pairing.arrangement) == \
        (D(2026, 1, 1), D(2028, 12, 31), Arrangement(2, 1, T(9, 0), T(12, 30)))


def test_licence_number_typed_as_a_number_is_refused(database, tmp_path):
    """Excel keeps 15 digits of a number: a 17-digit licence number typed as one is wrong."""
    with pytest.raises(ImportFailed) as caught:
        import_file(numeric_workbook(tmp_path / "n.xlsx", licence_no=13301202010111111))
    assert problems_of(caught) == [
        "row 2, 执业证号: This number is too long for Excel to keep exactly; format the "
        "column as text and type the number again."]


def test_a_file_of_villages_only_needs_no_lawyer_columns(database, tmp_path):
    keys = ["town_code", "town_name", "judicial_office", "village_code", "village_name", "kind"]
    summary = import_file(write_csv(tmp_path / "places.csv", sample_rows(), keys=keys))
    assert summary["villages"]["created"] == 10 and Pairing.select().count() == 0


def test_new_district_is_named_by_the_option(database):
    import_file(SAMPLES / "district.csv", district_name="青山区")
    assert [d.name for d in District.select()] == ["青山区"]


# --- bad rows ----------------------------------------------------------------------------

def test_three_bad_rows_import_nothing_and_are_all_reported(database, tmp_path):
    rows = sample_rows()
    rows[1]["village_name"] = ""  # spreadsheet row 3
    rows[4]["kind"] = "镇"  # row 6
    rows[7]["term_start"] = "2026-13-01"  # row 9
    with pytest.raises(ImportFailed) as caught:
        import_file(write_csv(tmp_path / "bad.csv", rows))
    assert problems_of(caught) == [
        "row 3, 村居名称: This cell is empty; 村居名称 is required.",
        "row 6, 类型: 镇 is not a kind of village; write 村, 社区, village, community.",
        "row 9, 聘期开始: 2026-13-01 is not a date; write it as 2026-01-01, 2026/1/1, "
        "2026年1月1日.",
    ]
    assert caught.value.params["count"] == 3
    assert "nothing was imported" in str(caught.value)
    assert District.select().count() == 0 and Village.select().count() == 0
    assert Lawyer.select().count() == 0 and Pairing.select().count() == 0


def mutate(rows, index, **values):
    rows[index].update(values)


BAD_ROWS = [
    # (what is wrong, change to the sample rows, row, column, words in the reason)
    ("end before start", lambda r: mutate(r, 2, term_end="2025-12-31"), 4, "聘期结束",
     "cannot end (2025-12-31) before it starts (2026-01-01)"),
    ("bad weekday", lambda r: mutate(r, 0, onsite_weekday="周八"), 2, "坐班星期",
     "周八 is not a weekday"),
    ("bad half-day", lambda r: mutate(r, 0, onsite_half_day="晚上"), 2, "坐班时段",
     "晚上 is not a half-day"),
    ("bad week", lambda r: mutate(r, 0, onsite_week="第六"), 2, "坐班周次",
     "第六 is not a week of the month"),
    ("bad time", lambda r: mutate(r, 0, onsite_start="25:00"), 2, "开始时间",
     "25:00 is not a time of day"),
    ("words without a weekday", lambda r: mutate(r, 0, onsite_hours="每月一次"), 2, "驻点时间",
     "does not say which week and weekday"),
    ("shorter than half a day", lambda r: mutate(r, 0, onsite_hours="每月第一个周二 9:00-12:00"), 2,
     "结束时间", "at least half a day (3.5 hours)"),
    ("on a weekend", lambda r: mutate(r, 0, onsite_hours="每月第一个周六上午"), 2, "坐班星期",
     "on a weekday, Monday to Friday"),
    ("the lawyer is elsewhere then", lambda r: mutate(r, 1, onsite_hours="每月第一个周二上午"), 3,
     "坐班星期", "is at 石桥村 then"),
    ("village twice", lambda r: mutate(r, 3, village_code=r[0]["village_code"]), 5, "村居编码",
     "330199101201 is already used in row 2"),
    ("licence with two names", lambda r: mutate(r, 1, lawyer_name="周文斌"), 3, "律师姓名",
     "13301202010111111 has 律师姓名 周文斌 here but 周文彬 in row 2"),
    ("town with two names", lambda r: mutate(r, 7, town_name="河畔镇"), 9, "镇街名称",
     "330199002 has 镇街名称 河畔镇 here but 河畔街道 in row 8"),
    ("lawyer without licence", lambda r: mutate(r, 3, licence_no=""), 5, "执业证号",
     "执业证号 is required"),
    ("hours but no lawyer", lambda r: mutate(r, 5, onsite_hours="每月第一个周一上午"), 7, "律师姓名",
     "律师姓名 is required"),
    ("missing town code", lambda r: mutate(r, 0, town_code=""), 2, "镇街编码",
     "镇街编码 is required"),
    ("text too long", lambda r: mutate(r, 0, onsite_hours="每" * 300), 2, "驻点时间",
     "longer than 255 characters"),
]


@pytest.mark.parametrize("change, row, column, reason", [b[1:] for b in BAD_ROWS],
                         ids=[b[0] for b in BAD_ROWS])
def test_each_kind_of_bad_row_is_reported_and_nothing_written(database, tmp_path, change, row,
                                                              column, reason):
    rows = sample_rows()
    change(rows)
    with pytest.raises(ImportFailed) as caught:
        import_file(write_csv(tmp_path / "bad.csv", rows))
    reported = problems_of(caught)
    assert any(p.startswith(f"row {row}, {column}: ") and reason in p for p in reported), reported
    assert Village.select().count() == 0 and Pairing.select().count() == 0


def test_second_lawyer_for_a_paired_village_is_refused_and_nothing_written(district, tmp_path):
    before = snapshot()
    new_village = dict(sample_rows()[0], town_code="T1", town_name="东湖镇",
                       judicial_office="东湖镇司法所", village_code="T1V9", village_name="新村")
    paired_elsewhere = dict(new_village, village_code="T1V1",
                            village_name=district.villages[0].name)
    with pytest.raises(ImportFailed) as caught:
        import_file(write_csv(tmp_path / "second.csv", [new_village, paired_elsewhere]))
    assert problems_of(caught) == [
        f"row 3: {district.villages[0].name} already has an active lawyer (张明). "
        "End that pairing or replace the lawyer instead."]
    assert snapshot() == before  # not even the good row, nor the new lawyer


def test_same_lawyer_for_a_paired_village_updates_the_term(district, tmp_path):
    lawyer, village = district.lawyers[0], district.villages[0]
    row = dict(town_code="T1", town_name="东湖镇", judicial_office="东湖镇司法所",
               village_code=village.code, village_name=village.name, kind="村",
               firm=lawyer.firm.name, lawyer_name=lawyer.name, licence_no=lawyer.licence_no,
               term_start="2026-01-01", term_end="2027-12-31", onsite_weekday="周三")
    summary = import_file(write_csv(tmp_path / "term.csv", [row]))
    assert summary["district"] == "示范区" and District.select().count() == 1
    assert summary["pairings"] == {"created": 0, "updated": 1, "unchanged": 0}
    pairing = active_pairing(village)
    assert pairing.id == district.pairings[0].id
    assert (pairing.term_end, pairing.arrangement.weekday) == (D(2027, 12, 31), 2)
    assert pairing.arrangement.week == district.pairings[0].arrangement.week  # the rest kept


def test_village_code_under_another_town_is_a_bad_row(district, tmp_path):
    before = snapshot()
    row = dict(town_code="T2", town_name="西山街道", judicial_office="西山街道司法所",
               village_code="T1V3", village_name="东湖3村", kind="社区")
    with pytest.raises(ImportFailed) as caught:
        import_file(write_csv(tmp_path / "moved.csv", [row]))
    assert problems_of(caught) == [
        "row 2, 镇街编码: The village T1V3 (东湖3村) belongs to the town T1, not T2."]
    assert snapshot() == before


def test_inactive_lawyer_is_a_bad_row(district, tmp_path):
    lawyer = district.lawyers[3]
    lawyer.active = False
    lawyer.save()
    row = dict(town_code="T2", town_name="西山街道", judicial_office="西山街道司法所",
               village_code="T2V3", village_name="西山3村", kind="社区", firm=lawyer.firm.name,
               lawyer_name=lawyer.name, licence_no=lawyer.licence_no,
               term_start="2026-01-01", term_end="2026-12-31")
    with pytest.raises(ImportFailed) as caught:
        import_file(write_csv(tmp_path / "inactive.csv", [row]))
    assert problems_of(caught) == [
        "row 2, 律师姓名: 赵强 is no longer active and cannot be paired."]


def test_plugins_hear_of_pairings_only_when_the_import_commits(database, tmp_path):
    heard = []

    class Listener:
        @hookimpl
        def pairing_changed(self, pairing, change):
            heard.append((pairing.village.code, change))

    pm = get_plugin_manager()
    pm.register(Listener(), name="test-import-listener")
    try:
        rows = sample_rows()
        rows[-1]["term_end"] = "2020-01-01"
        with pytest.raises(ImportFailed):
            import_file(write_csv(tmp_path / "bad.csv", rows))
        assert heard == []
        import_file(SAMPLES / "district.csv")
        assert len(heard) == 9 and {change for _, change in heard} == {"paired"}
        assert all(Pairing.select().where(Pairing.village == Village.get(Village.code == code))
                   .exists() for code, _ in heard)
    finally:
        pm.unregister(name="test-import-listener")


# --- bad files ---------------------------------------------------------------------------

def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


BAD_FILES = [
    ("text file", "list.txt", "镇街编码,村居编码\n".encode(), "list.txt is not an .xlsx or .csv"),
    ("old excel", "list.xls", b"\xd0\xcf\x11\xe0", "list.xls is not an .xlsx or .csv"),
    ("empty csv", "empty.csv", b"", "empty.csv is empty"),
    ("blank csv", "blank.csv", b"\r\n,,\r\n", "blank.csv is empty"),
    ("empty xlsx", "empty.xlsx", b"", "empty.xlsx is empty"),
    ("not a workbook", "fake.xlsx", b"PK but not really", "could not be read as an Excel"),
    ("header only", "header.csv", ",".join(ZH.values()).encode(), "has a header row but no "
     "villages"),
    ("no header row", "data.csv", "330199101,青石镇,青石司法所\n".encode(),
     "is not a header row"),
    ("unknown column", "unknown.csv", "镇街编码,镇街名称,司法所,村居编码,村居名称,类型,备注\n"
     "1,a,b,2,c,村,x\n".encode(), "Unknown column(s) in the header row: 备注"),
    ("missing columns", "missing.csv", "镇街编码,村居编码\n1,2\n".encode(),
     "Required column(s) missing from the header row: 镇街名称 (town_name), 司法所 "
     "(judicial_office), 村居名称 (village_name), 类型 (kind)"),
    ("half the lawyer columns", "half.csv", "镇街编码,镇街名称,司法所,村居编码,村居名称,类型,"
     "律师姓名\n1,a,b,2,c,村,d\n".encode(), "missing from the header row: 律师事务所 (firm), "
     "执业证号 (licence_no), 聘期开始 (term_start), 聘期结束 (term_end)"),
    ("column twice", "twice.csv", "镇街编码,town_code\n1,2\n".encode(), "appears twice"),
    ("binary", "binary.csv", bytes(range(128, 256)) * 4, "neither UTF-8 nor GBK"),
]


@pytest.mark.parametrize("name, data, words", [b[1:] for b in BAD_FILES],
                         ids=[b[0] for b in BAD_FILES])
def test_unreadable_files_give_a_clear_error_and_write_nothing(database, tmp_path, name, data,
                                                              words):
    with pytest.raises(UnreadableFile) as caught:
        import_file(write_bytes(tmp_path / name, data))
    assert words in caught.value.translate(same)
    assert District.select().count() == 0


# --- the command -------------------------------------------------------------------------

def run_cli(instance: Path, *args) -> Ran:
    return run_jiedui(instance, *args)


def test_cli_imports_a_good_file_and_refuses_a_bad_one(tmp_path):
    instance = tmp_path / "instance"
    good = run_cli(instance, "import", str(SAMPLES / "district.xlsx"), "--district-name", "青山区")
    assert good.returncode == 0, good.stderr
    summary = json.loads(good.stdout)
    assert summary["district"] == "青山区" and summary["pairings"]["created"] == 9

    rows = sample_rows()
    rows[0]["kind"] = "镇"
    rows[2]["lawyer_name"] = "吴佳"  # row 5 has the same licence as 吴佳怡
    bad = run_cli(instance, "import", str(write_csv(tmp_path / "bad.csv", rows)))
    assert bad.returncode != 0
    assert "row 2, 类型: 镇 is not a kind of village" in bad.stderr
    assert "row 5, 律师姓名: 13301202011122222 has 律师姓名 吴佳怡 here but 吴佳 in row 4." \
        in bad.stderr
    assert "bad.csv has 2 bad row(s); nothing was imported." in bad.stderr

    wrong = run_cli(instance, "import", str(write_bytes(tmp_path / "list.txt", b"x")))
    assert wrong.returncode != 0 and "list.txt is not an .xlsx or .csv file" in wrong.stderr

    stats = run_cli(instance, "import", str(SAMPLES / "district.csv"))
    assert json.loads(stats.stdout)["villages"] == {"created": 0, "updated": 0, "unchanged": 10}
