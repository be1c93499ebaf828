"""``jiedui import FILE``: towns, villages, firms, lawyers and pairings from a spreadsheet.

The layout (one header row, one row per village, Chinese or English headers) is
documented in docs/import.md. Records are matched by their codes, so importing the
same file twice changes nothing. Pairings go through core.pairings, where the rule
*one village, one active lawyer* lives.

All or nothing: every row is applied inside one transaction, each in its own savepoint
so that one bad row cannot hide the next; if any row is bad, everything is rolled back
and ``ImportFailed`` lists every bad row with its spreadsheet row number.
"""
import csv
import datetime as dt
import io
import re
import secrets
import shutil
import time
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from peewee import IntegrityError

from core import arrangements
from core.arrangements import Arrangement
from core.config import get_settings
from core.db import db, transaction
from core.errors import JieduiError, ValidationError
from core.i18n import N_
from core.feeds import events_shown, publish_changes
from core.models import District, Event, LawFirm, Lawyer, Town, Village
from core.pairings import active_pairing, pair, update_pairing
from core.phones import clean_phone
from core.text import clean_email
from core.cases import require_safe_zip

DEFAULT_DISTRICT_NAME = "本区"
DEFAULT_DISTRICT_CODE = "district"
MAX_CELL_LENGTH = 255  # the database's CharField; PostgreSQL would refuse longer text
# Tabs and line breaks may stay; no other control character belongs in a cell (and
# PostgreSQL refuses a NUL in text).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Column:
    key: str  # the English header
    zh: str  # the Chinese header, as the office writes it
    required: bool  # the cell must be filled (lawyer columns: when the row names a lawyer)


COLUMNS = (
    Column("town_code", "镇街编码", True),
    Column("town_name", "镇街名称", True),
    Column("judicial_office", "司法所", True),
    Column("office_head", "所长", False),
    Column("village_code", "村居编码", True),
    Column("village_name", "村居名称", True),
    Column("kind", "类型", True),
    Column("address", "地址", False),
    Column("firm", "律师事务所", True),
    Column("lawyer_name", "律师姓名", True),
    Column("licence_no", "执业证号", True),
    Column("lawyer_phone", "律师电话", False),
    Column("lawyer_wechat", "律师微信", False),
    Column("term_start", "聘期开始", True),
    Column("term_end", "聘期结束", True),
    # The on-site arrangement (core.arrangements): in words ("每月第二个周二上午 9:00-12:30"),
    # or in its parts, which win over the words.
    Column("onsite_hours", "驻点时间", False),
    Column("onsite_week", "坐班周次", False),
    Column("onsite_weekday", "坐班星期", False),
    Column("onsite_half_day", "坐班时段", False),
    Column("onsite_start", "开始时间", False),
    Column("onsite_end", "结束时间", False),
    # where the lawyer's login invitation is sent by e-mail (core.login_invitations)
    Column("lawyer_email", "律师邮箱", False),
)
ARRANGEMENT_KEYS = ("onsite_hours", "onsite_week", "onsite_weekday", "onsite_half_day",
                    "onsite_start", "onsite_end")
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
# The labels the web itself shows for each imported column (its tables, forms and pages,
# in Chinese and in English), accepted as headers too: a sheet typed after the screen, or
# copied from it, imports as it is. One table; a label names one column only
# (tests/test_importer.py). Headers are compared after ``header_form``: full-width and
# half-width alike, without spaces, brackets, "-" or "_", without case.
HEADER_ALIASES = {
    "town_code": ("镇(街道)编码", "镇街道编码", "乡镇编码", "town code"),
    "town_name": ("镇(街道)", "镇(街道)名称", "镇街道名称", "乡镇名称", "town", "town name"),
    "judicial_office": ("司法所名称", "judicial office"),
    "office_head": ("司法所所长", "office head"),
    "village_code": ("村(居)编码", "村社区编码", "village code"),
    "village_name": ("村(居)", "村(居)名称", "村社区名称", "village", "village name"),
    "kind": ("村(居)类型", "kind", "what kind"),
    "address": ("村(居)地址", "address"),
    "firm": ("律所", "律师事务所名称", "law firm", "firm name"),
    "lawyer_name": ("律师", "姓名", "lawyer", "lawyer name"),
    "licence_no": ("律师执业证号", "licence number", "license number", "license no"),
    "lawyer_phone": ("律师手机", "电话", "手机", "phone"),
    "lawyer_wechat": ("律师微信号", "微信", "微信号", "wechat", "wechat id"),
    "lawyer_email": ("电子邮箱", "邮箱", "e-mail", "email"),
    "term_start": ("聘期开始日期", "term starts"),
    "term_end": ("聘期结束日期", "term ends"),
    "onsite_hours": ("坐班时间", "驻点安排", "坐班安排", "on-site arrangement"),
    "onsite_week": ("第几周", "week of the month"),
    "onsite_weekday": ("星期", "weekday"),
    "onsite_half_day": ("时段", "上午/下午", "half-day"),
    "onsite_start": ("starts",),
    "onsite_end": ("ends",),
}
PLACE_KEYS = ("town_code", "town_name", "judicial_office", "office_head", "village_code",
              "village_name", "kind", "address")
# A row whose lawyer cells are all empty is a village without a pairing.
LAWYER_KEYS = tuple(c.key for c in COLUMNS if c.key not in PLACE_KEYS)
# The lawyer columns come as a set: a file may leave them out entirely (villages only).
LAWYER_HEADERS = tuple(k for k in LAWYER_KEYS if COLUMN_BY_KEY[k].required)
REQUIRED_HEADERS = tuple(k for k in PLACE_KEYS if COLUMN_BY_KEY[k].required)

KINDS = {"村": "village", "行政村": "village", "village": "village",
         "社区": "community", "居": "community", "居委会": "community",
         "community": "community"}
WEEKDAY_NAMES = ("一", "二", "三", "四", "五", "六", "日")
WEEKDAYS = {
    **{f"{prefix}{name}": day for day, name in enumerate(WEEKDAY_NAMES)
       for prefix in ("周", "星期", "礼拜")},
    **{f"{prefix}天": 6 for prefix in ("周", "星期", "礼拜")},
    **{str(day + 1): day for day in range(7)},
    **{name: day for day, name in enumerate(("monday", "tuesday", "wednesday", "thursday",
                                              "friday", "saturday", "sunday"))},
    **{name: day for day, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
}
HALF_DAY_NAMES = {"上午": "am", "am": "am", "a.m.": "am", "morning": "am",
                  "下午": "pm", "pm": "pm", "p.m.": "pm", "afternoon": "pm"}
DATE_PATTERN = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                          r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
# A service's ValidationError.field, and the column that holds what it is about.
SERVICE_FIELDS = {"term_start": "term_start", "term_end": "term_end", "lawyer": "lawyer_name",
                  "onsite_week": "onsite_week", "onsite_weekday": "onsite_weekday",
                  "onsite_start": "onsite_start", "onsite_end": "onsite_end"}
WEEK_WORDS = {**{str(n): n for n in range(1, 5)},
              **{f"第{word}{suffix}": n for n, word in enumerate("一二三四", start=1)
                 for suffix in ("", "个", "周")},
              **{word: 5 for word in ("最后", "最后一个", "最后一周", "末", "last", "5")},
              **{word: n for n, word in enumerate(("first", "second", "third", "fourth"),
                                                  start=1)}}
CLOCK_PATTERN = re.compile(r"(\d{1,2})\s*[:：]\s*(\d{2})(?::\d{2})?")

ROW_PROBLEM = N_("row %(row)s: %(reason)s")
CELL_PROBLEM = N_("row %(row)s, %(column)s: %(reason)s")


class UnreadableFile(ValidationError):
    """The file as a whole cannot be imported (type, encoding, header); nothing was read."""

    def __init__(self, message: str, **params):
        super().__init__(message, field="file", **params)


@dataclass
class Problem:
    """One bad row (or cell): the spreadsheet row number, the column as headed, the reason."""
    row: int
    error: JieduiError
    column: str | None = None

    def describe(self, gettext) -> str:
        reason = self.error.translate(gettext)
        if self.column:
            return gettext(CELL_PROBLEM) % {"row": self.row, "column": self.column,
                                            "reason": reason}
        return gettext(ROW_PROBLEM) % {"row": self.row, "reason": reason}


class ImportFailed(JieduiError):
    """Some rows are bad; nothing was imported. ``problems`` lists every one."""

    def __init__(self, name: str, problems: list[Problem]):
        rows = len({p.row for p in problems})
        super().__init__(N_("%(name)s has %(count)s bad row(s); nothing was imported."),
                         name=name, count=rows)
        self.problems = problems


# --- reading the file --------------------------------------------------------------------

class LossyNumber(str):
    """A number cell too long for Excel to hold exactly (it keeps 15 digits): a licence
    number typed without text format has already lost its last digits."""


def _cell_text(value) -> str:
    """A cell as text. Excel hands whole numbers over as floats; codes must not end in ".0"."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and 1e15 <= abs(value) < float("inf"):
        return LossyNumber(str(int(value)))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:  # Excel on a Chinese Windows saves CSV in GBK; GB18030 is its superset
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnreadableFile(N_("%(name)s is neither UTF-8 nor GBK/GB18030 text."),
                             name=name) from None


def _read_csv(path: Path) -> list[list]:
    data = path.read_bytes()
    try:
        return list(csv.reader(io.StringIO(_decode(data, path.name), newline="")))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise UnreadableFile(N_("%(name)s could not be read as CSV: %(error)s"),
                             name=path.name, error=str(exc)) from exc


def _require_safe_workbook(path: Path) -> None:
    """The zip checks of uploaded Office files (core.cases): no zip bomb reaches openpyxl."""
    try:
        with zipfile.ZipFile(path) as archive:
            require_safe_zip(archive)
    except ValidationError as error:
        raise UnreadableFile(error.message, **error.params) from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise UnreadableFile(N_("%(name)s could not be read as an Excel workbook (.xlsx)."),
                             name=path.name) from exc


def _read_xlsx(path: Path) -> list[list]:
    from openpyxl import load_workbook
    _require_safe_workbook(path)
    unreadable = UnreadableFile(N_("%(name)s could not be read as an Excel workbook (.xlsx)."),
                                name=path.name)
    # A damaged workbook fails anywhere inside openpyxl and its XML parser, with any kind
    # of exception (KeyError, ParseError, TypeError...): each means "not a workbook".
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        raise unreadable from exc
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    except Exception as exc:  # noqa: BLE001
        raise unreadable from exc
    finally:
        workbook.close()


READERS = {".csv": _read_csv, ".xlsx": _read_xlsx}


def read_table(path) -> list[tuple[int, list[str]]]:
    """The non-empty rows of the file's first sheet as text, each with its spreadsheet
    row number (the first row is 1)."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnreadableFile(N_("%(name)s is not an .xlsx or .csv file; save it from Excel "
                                "as .xlsx or as CSV."), name=path.name)
    if path.stat().st_size == 0:
        raise UnreadableFile(N_("%(name)s is empty."), name=path.name)
    rows = [(number, [_cell_text(v) for v in cells])
            for number, cells in enumerate(reader(path), start=1)]
    return [(number, cells) for number, cells in rows if any(cells)]


def header_form(label: str) -> str:
    """A header as compared: full-width characters as half-width (（）→ ()), a trailing
    "*" (required) dropped, no spaces, brackets, "-" or "_", no case."""
    text = unicodedata.normalize("NFKC", label).strip().lstrip("\ufeff").rstrip("*").strip()
    return re.sub(r"[\s()\[\]【】_\-/]+", "", text.casefold())


def _header_index() -> dict[str, str]:
    index = {}
    for column in COLUMNS:
        for label in (column.key, column.zh, *HEADER_ALIASES.get(column.key, ())):
            index.setdefault(header_form(label), column.key)
    return index


HEADERS = _header_index()


def _header_key(label: str) -> str | None:
    return HEADERS.get(header_form(label))


def _join(labels) -> str:
    return ", ".join(labels)


def read_header(cells: list[str], name: str) -> dict[str, tuple[int, str]]:
    """Column key -> (position, header as written). Refuses unknown, doubled or missing
    columns, so a misspelt header is never silently ignored."""
    found: dict[str, tuple[int, str]] = {}
    unknown = []
    for position, label in enumerate(cells):
        if not label:
            continue  # Excel keeps formatted but empty columns at the right
        key = _header_key(label)
        if key is None:
            unknown.append(label)
        elif key in found:
            raise UnreadableFile(N_("The column %(column)s appears twice in the header row "
                                    "(as %(first)s and %(second)s)."), column=key,
                                 first=found[key][1], second=label)
        else:
            found[key] = (position, label)
    if not found:
        raise UnreadableFile(N_("The first row of %(name)s is not a header row: expected "
                                "column names such as %(example)s (see docs/import.md)."),
                             name=name, example="村居编码, village_code")
    if unknown:
        raise UnreadableFile(N_("Unknown column(s) in the header row: %(columns)s "
                                "(see docs/import.md for the column names)."),
                             columns=_join(unknown))
    wanted = REQUIRED_HEADERS + (LAWYER_HEADERS if set(LAWYER_KEYS) & set(found) else ())
    missing = [f"{COLUMN_BY_KEY[k].zh} ({k})" for k in wanted if k not in found]
    if missing:
        raise UnreadableFile(N_("Required column(s) missing from the header row: "
                                "%(columns)s."), columns=_join(missing))
    return found


# --- checking one row ---------------------------------------------------------------------

def parse_date(text: str) -> dt.date:
    match = DATE_PATTERN.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise ValidationError(N_("%(value)s is not a date; write it as %(examples)s."),
                              value=text, examples="2026-01-01, 2026/1/1, 2026年1月1日") from None


def parse_kind(text: str) -> str:
    kind = KINDS.get(text.casefold())
    if kind is None:
        raise ValidationError(N_("%(value)s is not a kind of village; write %(examples)s."),
                              value=text, examples="村, 社区, village, community")
    return kind


def parse_weekday(text: str) -> int:
    day = WEEKDAYS.get(text.casefold())
    if day is None:
        raise ValidationError(N_("%(value)s is not a weekday; write %(examples)s."),
                              value=text, examples="周一…周日, 星期一…星期日, 1…7, Monday…Sunday")
    return day


def parse_half_day(text: str) -> str:
    half = HALF_DAY_NAMES.get(text.casefold())
    if half is None:
        raise ValidationError(N_("%(value)s is not a half-day; write %(examples)s."),
                              value=text, examples="上午, 下午, am, pm")
    return half


def parse_week(text: str) -> int:
    week = WEEK_WORDS.get(text.casefold().replace(" ", ""))
    if week is None:
        raise ValidationError(N_("%(value)s is not a week of the month; write %(examples)s."),
                              value=text, examples="1…4, 第一…第四, 最后, last")
    return week


def parse_clock(text: str) -> dt.time:
    match = CLOCK_PATTERN.fullmatch(text.strip())
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValidationError(N_("%(value)s is not a time of day; write it as %(examples)s."),
                              value=text, examples="9:00, 14:30")
    return dt.time(int(match.group(1)), int(match.group(2)))


def parse_arrangement_words(text: str) -> Arrangement:
    settings = get_settings()
    found = arrangements.parse(text, settings.morning, settings.afternoon)
    if found is None:
        raise ValidationError(N_("%(value)s does not say which week and weekday; write it as "
                                 "%(example)s, or fill the week, weekday and time columns."),
                              value=text, example="每月第二个周二上午 9:00-12:30")
    return found


PARSERS = {"kind": parse_kind, "term_start": parse_date, "term_end": parse_date,
           "onsite_hours": parse_arrangement_words, "onsite_week": parse_week,
           "onsite_weekday": parse_weekday, "onsite_half_day": parse_half_day,
           "onsite_start": parse_clock, "onsite_end": parse_clock,
           "lawyer_phone": clean_phone,  # the rule of every phone number (core.phones)
           "lawyer_email": clean_email}


@dataclass
class Row:
    number: int
    values: dict  # column key -> parsed value; empty cells are absent

    @property
    def has_lawyer(self) -> bool:
        return any(key in self.values for key in LAWYER_KEYS)

    def get(self, key, default=None):
        return self.values.get(key, default)

    def arrangement(self, current: Arrangement | None = None) -> Arrangement | None:
        """The arrangement the row gives: its words, then its parts over them, then
        ``current`` for what it leaves out; None when it says nothing of one."""
        if not any(key in self.values for key in ARRANGEMENT_KEYS):
            return current
        base = self.values.get("onsite_hours") or current
        week = self.values.get("onsite_week", base.week if base else None)
        weekday = self.values.get("onsite_weekday", base.weekday if base else None)
        if week is None or weekday is None:
            raise ValidationError(N_("The on-site arrangement needs the week of the month "
                                     "and the weekday."), field="onsite_week")
        start, end = (base.start, base.end) if base else (None, None)
        if "onsite_half_day" in self.values:
            settings = get_settings()
            start, end = (settings.morning if self.values["onsite_half_day"] == "am"
                          else settings.afternoon)
        start = self.values.get("onsite_start", start)
        end = self.values.get("onsite_end", end)
        if start is None or end is None:
            raise ValidationError(N_("The on-site arrangement needs its hours: the start and "
                                     "end times, or morning or afternoon."),
                                  field="onsite_start")
        return Arrangement(week=week, weekday=weekday, start=start, end=end)


class RowChecker:
    """Parses rows and checks what can be checked without the database, including rules
    across rows (a village twice, one licence number with two names)."""

    def __init__(self, header: dict[str, tuple[int, str]]):
        self.header = header
        self.labels = {key: label for key, (_, label) in header.items()}
        self.problems: list[Problem] = []
        self.village_rows: dict[str, int] = {}
        # (kind, code) -> column key -> (value, the row that first gave it)
        self.seen: dict[tuple[str, str], dict[str, tuple[object, int]]] = {}

    def problem(self, number: int, error: JieduiError, key: str | None = None) -> None:
        self.problems.append(Problem(number, error, self.labels.get(key, key)))

    def check(self, number: int, cells: list[str]) -> Row | None:
        """The parsed row, or None when it is bad (its problems are recorded)."""
        before = len(self.problems)
        row = Row(number, self._parse_cells(number, cells))
        self._check_required(row)
        self._check_village_once(row)
        self._check_consistent(row, "town", row.get("town_code"),
                               ("town_name", "judicial_office", "office_head"))
        if row.has_lawyer:
            self._check_consistent(row, "lawyer", row.get("licence_no"),
                                   ("lawyer_name", "firm", "lawyer_phone", "lawyer_wechat",
                                    "lawyer_email"))
        return row if len(self.problems) == before else None

    def _parse_cells(self, number, cells) -> dict:
        values = {}
        for key, (position, _) in self.header.items():
            text = cells[position] if position < len(cells) else ""
            if not text:
                continue
            try:
                if isinstance(text, LossyNumber):
                    raise ValidationError(N_("This number is too long for Excel to keep "
                                             "exactly; format the column as text and type "
                                             "the number again."))
                if len(text) > MAX_CELL_LENGTH:
                    raise ValidationError(N_("This text is longer than %(limit)s characters."),
                                          limit=MAX_CELL_LENGTH)
                if CONTROL_CHARACTERS.search(text):
                    raise ValidationError(N_("This cell holds a control character (such as "
                                             "a NUL); type the text again."))
                values[key] = PARSERS.get(key, str)(text)
            except ValidationError as error:
                self.problem(number, error, key)
        return values

    def _check_required(self, row: Row) -> None:
        keys = [k for k in PLACE_KEYS if COLUMN_BY_KEY[k].required]
        if row.has_lawyer:
            keys += LAWYER_HEADERS
        for key in keys:
            if key not in row.values and not self._already_reported(row.number, key):
                self.problem(row.number, ValidationError(
                    N_("This cell is empty; %(column)s is required."),
                    column=self.labels.get(key, key)), key)

    def _already_reported(self, number, key) -> bool:
        label = self.labels.get(key, key)
        return any(p.row == number and p.column == label for p in self.problems)

    def _check_village_once(self, row: Row) -> None:
        code = row.get("village_code")
        if code is None:
            return
        first = self.village_rows.setdefault(code, row.number)
        if first != row.number:
            self.problem(row.number, ValidationError(
                N_("The village code %(code)s is already used in row %(first_row)s; each "
                   "village takes one row."), code=code, first_row=first), "village_code")

    def _check_consistent(self, row: Row, kind: str, code: str | None, keys) -> None:
        """A town or lawyer listed on several rows must be described the same way on each."""
        if code is None:
            return
        known = self.seen.setdefault((kind, code), {})
        for key in keys:
            mine = row.get(key)
            if mine is None:  # an empty cell agrees with anything
                continue
            theirs, their_row = known.setdefault(key, (mine, row.number))
            if mine != theirs:
                self.problem(row.number, ValidationError(
                    N_("%(code)s has %(column)s %(value)s here but %(other)s in row "
                       "%(first_row)s."), code=code, column=self.labels[key], value=mine,
                    other=theirs, first_row=their_row), key)


# --- writing ------------------------------------------------------------------------------

OUTCOMES = ("created", "updated", "unchanged")


@dataclass
class Summary:
    district: str = ""
    rows: int = 0
    outcomes: dict = field(default_factory=dict)  # (kind, key) -> outcome, first row wins

    def record(self, changes: list[tuple[str, str, str]]) -> None:
        for kind, key, outcome in changes:
            self.outcomes.setdefault((kind, key), outcome)

    def as_dict(self) -> dict:
        result = {"district": self.district, "rows": self.rows}
        for kind in ("towns", "villages", "firms", "lawyers", "pairings"):
            result[kind] = {o: 0 for o in OUTCOMES}
        for (kind, _), outcome in self.outcomes.items():
            result[kind][outcome] += 1
        return result


def _upsert(model, where, values: dict, **create_only):
    """Find the record by ``where``; create it, or change the fields that differ.
    Returns (record, outcome). ``values`` holds only the cells the file fills, so an
    empty optional cell keeps what is stored."""
    record = model.get_or_none(where)
    if record is None:
        return model.create(**create_only, **values), "created"
    changed = {k: v for k, v in values.items() if getattr(record, k) != v}
    if not changed:
        return record, "unchanged"
    for key, value in changed.items():
        setattr(record, key, value)
    record.save()
    return record, "updated"


def _filled(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def find_or_create_district(name: str | None) -> District:
    district = District.select().order_by(District.id).first()
    if district is None:
        district = District.create(code=DEFAULT_DISTRICT_CODE, name=name or DEFAULT_DISTRICT_NAME)
    return district


def _apply_place(row: Row, district: District, changes: list) -> Village:
    town, outcome = _upsert(Town, Town.code == row.get("town_code"), _filled(
        name=row.get("town_name"), judicial_office=row.get("judicial_office"),
        office_head=row.get("office_head")), district=district, code=row.get("town_code"))
    changes.append(("towns", town.code, outcome))
    code = row.get("village_code")
    existing = Village.get_or_none(Village.code == code)
    if existing is not None and existing.town_id != town.id:
        raise ValidationError(N_("The village %(code)s (%(village)s) belongs to the town "
                                 "%(town)s, not %(other)s."), field="town_code", code=code,
                              village=existing.name, town=existing.town.code, other=town.code)
    village, outcome = _upsert(Village, Village.code == code, _filled(
        town_id=town.id, name=row.get("village_name"), kind=row.get("kind"),
        address=row.get("address")), code=code)
    changes.append(("villages", code, outcome))
    return village


def _apply_lawyer(row: Row, changes: list) -> Lawyer:
    firm, outcome = _upsert(LawFirm, LawFirm.name == row.get("firm"), {}, name=row.get("firm"))
    changes.append(("firms", firm.name, outcome))
    licence_no = row.get("licence_no")
    lawyer, outcome = _upsert(Lawyer, Lawyer.licence_no == licence_no, _filled(
        name=row.get("lawyer_name"), firm_id=firm.id, phone=row.get("lawyer_phone"),
        wechat=row.get("lawyer_wechat"), email=row.get("lawyer_email")), licence_no=licence_no)
    changes.append(("lawyers", licence_no, outcome))
    return lawyer


def _apply_pairing(row: Row, village: Village, lawyer: Lawyer, changes: list) -> None:
    """Pair, or bring the active pairing with the same lawyer up to date. A village paired
    with another lawyer is refused by pair() (ConflictError): the file never silently
    replaces a lawyer."""
    current = active_pairing(village)
    if current is None or current.lawyer_id != lawyer.id:
        pair(None, lawyer=lawyer, village=village, term_start=row.get("term_start"),
             term_end=row.get("term_end"), arrangement=row.arrangement())
        changes.append(("pairings", village.code, "created"))
        return
    wanted = dict(term_start=row.get("term_start"), term_end=row.get("term_end"),
                  arrangement=row.arrangement(current.arrangement))
    if (current.term_start, current.term_end, current.arrangement) == tuple(wanted.values()):
        changes.append(("pairings", village.code, "unchanged"))
        return
    update_pairing(None, current, **wanted)
    changes.append(("pairings", village.code, "updated"))


def apply_row(row: Row, district: District) -> list[tuple[str, str, str]]:
    """Write one checked row; returns what it did as (kind, key, outcome)."""
    changes: list[tuple[str, str, str]] = []
    village = _apply_place(row, district, changes)
    if row.has_lawyer:
        lawyer = _apply_lawyer(row, changes)
        _apply_pairing(row, village, lawyer, changes)
    return changes


def _column_of(error: JieduiError) -> str | None:
    return SERVICE_FIELDS.get(getattr(error, "field", None), getattr(error, "field", None))


def _write(rows: list[Row], checker: RowChecker, district: District, summary: Summary) -> None:
    for row in rows:
        try:
            with db.atomic():  # a savepoint: a bad row leaves nothing behind
                changes = apply_row(row, district)
        except JieduiError as error:
            checker.problem(row.number, error, _column_of(error))
        except IntegrityError as exc:  # another writer got there first
            checker.problem(row.number, ValidationError(
                N_("This row could not be saved: %(error)s"), error=str(exc).splitlines()[0]))
        else:
            summary.record(changes)


class _DryRun(Exception):
    """Raised inside the preview's transaction so that it rolls back."""


# progress(done, total): rows handled so far, of the file's rows (a job's progress bar)
Progress = Callable[[int, int], None]


@dataclass
class Preview:
    """What importing a file would do, found by doing it and rolling back: nothing is
    written. ``problems`` lists every bad row (then nothing would be imported);
    ``summary`` counts what would be created, updated and left unchanged."""
    name: str
    rows: int
    problems: list[Problem]
    summary: dict

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_rows(self) -> int:
        return len({p.row for p in self.problems})


def _read(path: Path) -> tuple[RowChecker, list[Row], int]:
    """The checker (with the problems found in the cells), the readable rows and the
    number of data rows; ``UnreadableFile`` for a file-level problem."""
    table = read_table(path)
    if not table:
        raise UnreadableFile(N_("%(name)s is empty."), name=path.name)
    (_, header_cells), data = table[0], table[1:]
    checker = RowChecker(read_header(header_cells, path.name))
    if not data:
        raise UnreadableFile(N_("%(name)s has a header row but no villages."), name=path.name)
    rows = [row for row in (checker.check(number, cells) for number, cells in data) if row]
    return checker, rows, len(data)


def _run(path: Path, district_name: str | None, progress: Progress | None
         ) -> tuple[RowChecker, Summary]:
    """Check and write the file inside the caller's transaction."""
    checker, rows, total = _read(path)
    summary = Summary(rows=total)
    district = find_or_create_district(district_name)
    summary.district = district.name
    report = progress or (lambda done, total: None)
    bad = total - len(rows)  # rows refused on their cells count as handled
    report(bad, total)
    for done, row in enumerate(rows, start=bad + 1):
        _write([row], checker, district, summary)
        report(done, total)
    checker.problems.sort(key=lambda p: p.row)
    return checker, summary


def preview(path, *, district_name: str | None = None) -> Preview:
    """Everything ``apply`` would check and do, without writing: the file is imported in
    a transaction that is then rolled back (so the rules that need the database — the
    active lawyer, the town of an existing village — are checked as well, and no plugin
    hears of anything). ``UnreadableFile`` when the file cannot be read at all."""
    path = Path(path)
    found: list = []
    try:
        with transaction():
            found.extend(_run(path, district_name, None))
            raise _DryRun()
    except _DryRun:
        pass
    checker, summary = found
    return Preview(name=path.name, rows=summary.rows, problems=checker.problems,
                   summary=summary.as_dict())


def apply(path, *, district_name: str | None = None,
          progress: Progress | None = None) -> dict:
    """Import the file at ``path`` (layout: docs/import.md) in one transaction, calling
    ``progress(done, total)`` as the rows are written.

    Returns the summary: for towns, villages, firms, lawyers and pairings how many were
    created, updated and unchanged, plus the number of rows. Raises ``UnreadableFile``
    when the file cannot be read at all, ``ImportFailed`` (nothing written) when any row
    is bad. ``district_name`` names the district if there is none yet.
    """
    path = Path(path)
    # Plugins hear of the new pairings only once they are committed.
    with transaction():
        checker, summary = _run(path, district_name, progress)
        if checker.problems:
            raise ImportFailed(path.name, checker.problems)
    _publish_updated(summary)
    return summary.as_dict()


def _publish_updated(summary: Summary) -> None:
    """The feeds show a town's judicial office, a village's name and address and a
    lawyer's name: republish those of the events of what the file updated (new pairings
    publish their own, through the planning)."""
    updated = {kind: [key for (k, key), outcome in summary.outcomes.items()
                      if k == kind and outcome == "updated"]
               for kind in ("towns", "villages", "lawyers")}
    if not any(updated.values()):
        return
    villages = (Village.select(Village.id).join(Town)
                .where(Town.code.in_(updated["towns"] or [""])
                       | Village.code.in_(updated["villages"] or [""])))
    lawyers = Lawyer.select(Lawyer.id).where(Lawyer.licence_no.in_(updated["lawyers"] or [""]))
    publish_changes(events_shown((Event.village.in_(villages)) | Event.lawyer.in_(lawyers)))


import_file = apply  # ``jiedui import FILE``


# --- a file uploaded in the browser, kept for its confirmation -------------------------------
# The upload is stored under the instance folder by a random token; the preview and the
# confirmed import read it from there (the form carries only the token), and a job runner can
# be handed ``apply_staged(token, progress)`` (web/district.py runs it as a long job).
STAGED_FOLDER = "imports"
STAGED_LIFETIME_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
GONE = N_("This upload is no longer kept (it was imported already, or is older than a day). "
          "Upload the file again.")


def _staging() -> Path:
    folder = get_settings().instance / STAGED_FOLDER
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
    return folder


def stage(stream, filename: str, district_name: str | None = None) -> str:
    """Keep an uploaded file (``stream``) for its preview and confirmation, with the name
    of the district to create if there is none yet; returns its token. Only .xlsx and .csv
    are kept, at most ``JIEDUI_MAX_UPLOAD_MB``; files older than a day are removed."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in READERS:
        raise UnreadableFile(N_("%(name)s is not an .xlsx or .csv file; save it from Excel "
                                "as .xlsx or as CSV."), name=Path(filename or "").name or "?")
    folder = _staging()
    for old in folder.iterdir():
        if time.time() - old.stat().st_mtime > STAGED_LIFETIME_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    token = secrets.token_urlsafe(24)
    limit = get_settings().max_upload_bytes
    target = folder / token
    target.mkdir(mode=0o700)
    path = target / f"upload{suffix}"
    with path.open("wb") as out:
        copied = 0
        while chunk := stream.read(64 * 1024):
            copied += len(chunk)
            if copied > limit:
                out.close()
                shutil.rmtree(target, ignore_errors=True)
                raise ValidationError(N_("The file is larger than %(max)s MB."), field="file",
                                      max=f"{limit / 1024 / 1024:g}")
            out.write(chunk)
    (target / "name").write_text(Path(filename).name, encoding="utf-8")
    district_name = (district_name or "").strip()[:MAX_CELL_LENGTH]
    if district_name:
        (target / "district").write_text(district_name, encoding="utf-8")
    return token


def staged(token: str) -> Path:
    """The file kept under ``token``, or a ValidationError saying it is gone."""
    folder = _staging() / token if _TOKEN.fullmatch(token or "") else None
    files = sorted(folder.glob("upload.*")) if folder is not None and folder.is_dir() else []
    if not files:
        raise ValidationError(GONE, field="token")
    return files[0]


def staged_name(token: str) -> str:
    """The name the uploaded file had."""
    path = staged(token).parent / "name"
    return path.read_text(encoding="utf-8") if path.exists() else staged(token).name


def _staged_district(token: str) -> str | None:
    path = staged(token).parent / "district"
    return path.read_text(encoding="utf-8") if path.exists() else None


def preview_staged(token: str) -> Preview:
    preview_ = preview(staged(token), district_name=_staged_district(token))
    preview_.name = staged_name(token)
    return preview_


def apply_staged(token: str, progress: Progress | None = None) -> dict:
    """Import the file kept under ``token`` (checked again: the database may have changed
    since its preview); once imported it is removed, so a second confirmation finds it gone."""
    path = staged(token)
    try:
        summary = apply(path, district_name=_staged_district(token), progress=progress)
    except ImportFailed as failed:
        failed.params["name"] = staged_name(token)
        raise
    shutil.rmtree(path.parent, ignore_errors=True)
    return summary
