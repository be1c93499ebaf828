"""Write the sample import files samples/district.csv and samples/district.xlsx.

Run ``.venv/bin/python samples/make_sample.py`` after changing the rows below or the
column layout (core.importer.COLUMNS, docs/import.md); the tests check that the committed
files are what this script writes. The data is made up.
"""
import csv
import datetime as dt
import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from core.importer import COLUMNS

HERE = Path(__file__).resolve().parent
D = dt.date
TERM = (D(2026, 1, 1), D(2028, 12, 31))

TOWNS = {
    "330199101": ("青石镇", "青石司法所", "陈国平"),
    "330199002": ("河畔街道", "河畔司法所", "林晓燕"),
}
FIRMS = ("明理律师事务所", "正衡律师事务所")
# licence number: (name, firm, phone, WeChat)
LAWYERS = {
    "13301202010111111": ("周文彬", FIRMS[0], "13805710001", "zhouwenbin_law"),
    "13301202011122222": ("吴佳怡", FIRMS[0], "13805710002", ""),
    "13301202012133333": ("郑海涛", FIRMS[1], "13805710003", "zhenghaitao"),
    "13301202013144444": ("王丽君", FIRMS[1], "13805710004", ""),
    "13301202014155555": ("孙志强", FIRMS[1], "", ""),
}
L = list(LAWYERS)
# (town code, village code, village name, kind, address, lawyer licence or None, the on-site
#  arrangement: in words (驻点时间), or in its parts (week, weekday, half-day, start, end))
VILLAGES = (
    ("330199101", "330199101201", "石桥村", "村", "青石镇石桥村村民委员会", L[0],
     "每月第一个周二上午 9:00-12:30", ()),
    ("330199101", "330199101202", "桃源村", "村", "", L[0], "每月第二个周二上午", ()),
    ("330199101", "330199101203", "柳湾村", "村", "", L[1], "",
     ("第一", "周四", "下午", "", "")),
    ("330199101", "330199101204", "竹林村", "村", "", L[1], "", ()),
    ("330199101", "330199101001", "青石社区", "社区", "青石镇青石路88号", L[2], "",
     ("3", "周三", "", "8:30", "12:00")),
    ("330199101", "330199101205", "后山村", "村", "", None, "", ()),
    ("330199002", "330199002001", "滨河社区", "社区", "", L[3], "每月第一个周一下午 14:00-17:30", ()),
    ("330199002", "330199002002", "新桥社区", "社区", "", L[3], "每月第三个周一下午", ()),
    ("330199002", "330199002003", "望江社区", "社区", "", L[4], "每月第二个周五上午", ()),
    ("330199002", "330199002201", "江口村", "村", "", L[2], "每月最后一个周三上午 9:00-12:30", ()),
)
PARTS = ("onsite_week", "onsite_weekday", "onsite_half_day", "onsite_start", "onsite_end")


def rows() -> list[dict]:
    """One dict per village, keyed by the English column names; dates as dates."""
    result = []
    for town, code, name, kind, address, licence, words, parts in VILLAGES:
        town_name, office, head = TOWNS[town]
        row = dict(town_code=town, town_name=town_name, judicial_office=office,
                   office_head=head, village_code=code, village_name=name, kind=kind,
                   address=address)
        if licence:
            lawyer, firm, phone, wechat = LAWYERS[licence]
            row.update(firm=firm, lawyer_name=lawyer, licence_no=licence, lawyer_phone=phone,
                       lawyer_wechat=wechat, term_start=TERM[0], term_end=TERM[1],
                       onsite_hours=words, **dict(zip(PARTS, parts)))
        result.append(row)
    return result


def _text(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else (value or "")


def write_csv(path: Path) -> None:
    """UTF-8 with a BOM, so that Excel opens the Chinese text correctly."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.zh for c in COLUMNS])
        for row in rows():
            writer.writerow([_text(row.get(c.key)) for c in COLUMNS])


def write_xlsx(path: Path) -> None:
    """Codes and phone numbers as text cells (Excel would drop leading zeros and round
    long numbers), the term as real date cells."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "结对名单"
    sheet.append([c.zh for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows():
        sheet.append([row.get(c.key) or None for c in COLUMNS])
    for column_cells in sheet.iter_cols(min_row=2):
        for cell in column_cells:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            elif cell.value is not None:
                cell.number_format = "@"
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = 16
    workbook.properties.created = workbook.properties.modified = dt.datetime(2026, 1, 1)
    workbook.save(path)


def main(directory: Path = HERE) -> None:
    write_csv(directory / "district.csv")
    write_xlsx(directory / "district.xlsx")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
