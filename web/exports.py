"""A list's .xlsx export: every row the list shows with its search, filters and order (all
pages), one sheet with the Chinese (the reader's) headers, audited. The list's view and its
export share the function that chooses the rows; this only writes them down.
"""
from flask import request

from core import clock
from core.audit import record
from core.models import User
from core.spreadsheet import xlsx
from web.access import actor
from web.programs import xlsx_response


def list_export(user: User, action: str, title, headers, rows: list, *, name,
                fallback: str, args: dict):
    """``rows`` (lists of cell values) under ``headers`` as a download named ``name`` and
    today's date (``fallback``: its ASCII name), audited as ``action`` with the rows' count
    and ``args``, the list's arguments that chose them as read (``web.listing.list_args``:
    cleaned, never the raw query string). ``user, action`` as ``core.audit.record`` takes them
    (tests/test_audit_words.py finds the action here too)."""
    rows = [list(row) for row in rows]
    body = xlsx(str(title), [str(header) for header in headers], rows)
    record(user, action, detail={"args": args, "rows": len(rows)},
           address=request.remote_addr or "")
    today = clock.today().isoformat()
    return xlsx_response(body, f"{name}-{today}.xlsx", f"{fallback}-{today}.xlsx")


def counted(listed, filters):
    """A list's row count for ``web.longwork.long_export``: ``listed(user, filters())``, the
    function that chooses the list's rows (a query), counted for the viewer."""
    return lambda: listed(actor(), filters()).count()
