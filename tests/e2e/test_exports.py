"""A coordinator exports the work log: the link says the spreadsheet is being made, a second
click while it is made starts no second export (each export is audited), and the file
arrives under its Chinese name."""
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LIVE, log_in

pytestmark = pytest.mark.e2e


def _exports() -> int:
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as conn:
        return conn.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'worklog.export'").fetchone()[0]


def test_a_double_click_on_export_makes_one_spreadsheet(page, live_server, tmp_path):
    log_in(page, live_server, "coordinator")
    page.goto(live_server + "/records/log")
    before = _exports()
    link = page.locator("a[data-download]").first
    # Hold the export back until both clicks are in, as a slow export would be.
    page.route("**/records/log/export*", lambda route: (page.wait_for_timeout(800),
                                                        route.continue_()))
    with page.expect_download() as download:
        link.click()
        expect(link).to_have_attribute("aria-busy", "true")
        expect(page.locator(".export-status")).to_have_text("正在生成表格，请稍候…")
        link.click()  # ignored: the first is still being made
    saved = download.value
    assert saved.suggested_filename.startswith("工作日志-") and saved.suggested_filename.endswith(".xlsx")
    path = tmp_path / "export.xlsx"
    saved.save_as(path)
    assert path.read_bytes()[:2] == b"PK"  # an .xlsx is a zip
    expect(page.locator(".export-status")).to_have_text("表格已下载。")
    expect(link).not_to_have_attribute("aria-busy", "true")
    assert _exports() == before + 1
    assert page.console_errors == []
