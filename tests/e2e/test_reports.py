"""A district coordinator at an office PC (1280 × 900) opens the reports, downloads the last
quarter's report as .docx and .xlsx, and the files hold the figures the live server's
database holds (counted here with plain SQL, not through core.reports)."""
import datetime as dt
import io
import sqlite3

import pytest
from docx import Document
from openpyxl import load_workbook
from playwright.sync_api import expect

from core.reports import last_complete_quarter
from tests.e2e.conftest import LIVE, SCREENSHOTS, log_in
from tests.e2e.pagecheck import AXE, page_problems

pytestmark = pytest.mark.e2e
DESKTOP = {"width": 1280, "height": 900}
ZONE = dt.timezone(dt.timedelta(hours=8))  # the demo district's (Asia/Shanghai, no DST)


def _utc(day: dt.date) -> str:
    """District midnight of ``day`` as the stored (naive UTC) text."""
    moment = dt.datetime.combine(day, dt.time(), tzinfo=ZONE).astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _counted(period) -> dict[str, dict[str, int]]:
    """town name -> figures of ``period``, straight from the server's SQLite file."""
    start, end = _utc(period.first), _utc(period.next_first)
    found: dict[str, dict[str, int]] = {}
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as conn:
        for town, planned, held in conn.execute(
                "SELECT t.name, SUM(e.kind = 'session' AND e.status != 'cancelled'),"
                " SUM(e.kind = 'session' AND e.status = 'held') FROM event e"
                " JOIN village v ON v.id = e.village_id JOIN town t ON t.id = v.town_id"
                " WHERE e.starts_at >= ? AND e.starts_at < ? GROUP BY t.name", (start, end)):
            found.setdefault(town, {}).update(sessions_planned=planned, sessions_held=held)
        for town, entries, consultations, mediations in conn.execute(
                "SELECT t.name, COUNT(*), SUM(w.category = 'publicity'"
                " AND NOT (w.event_id IS NOT NULL AND w.task_id IS NULL)),"
                " SUM(w.category = 'mediation') FROM work_log w"
                " JOIN village v ON v.id = w.village_id JOIN town t ON t.id = v.town_id"
                " WHERE w.occurred_at >= ? AND w.occurred_at < ? GROUP BY t.name", (start, end)):
            found.setdefault(town, {}).update(worklog=entries, consultations=consultations,
                                              mediations=mediations)
    return found


def test_a_coordinator_downloads_the_quarterly_report(browser, live_server, tmp_path):
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    period = last_complete_quarter(dt.date.today())
    label = f"{period.year}年第{period.number}季度"

    log_in(page, live_server, "coordinator")
    page.goto(live_server + "/reports/")
    expect(page.locator("h1")).to_contain_text(f"{label}工作报告")
    expected = _counted(period)
    total_held = sum(town["sessions_held"] for town in expected.values())
    total = page.locator('tfoot td[data-figure="sessions_held"]').first  # the town table's
    expect(total).to_have_text(str(total_held))
    page.screenshot(path=str(SCREENSHOTS / "reports-quarter.png"), full_page=False)
    assert page_problems(page, axe=AXE.exists()) == []

    files = {}
    for kind, text in (("docx", "下载工作报告（.docx）"), ("xlsx", "下载统计表（.xlsx）")):
        with page.expect_download() as download:
            page.get_by_role("link", name=text).click()
        saved = download.value
        assert saved.suggested_filename.endswith(f"{label}工作报告.{kind}")
        path = tmp_path / f"report.{kind}"
        saved.save_as(path)
        files[kind] = path.read_bytes()
    expect(page.locator(".export-status").nth(0)).to_have_text("报告已下载。")
    expect(page.locator(".export-status").nth(1)).to_have_text("表格已下载。")
    page.screenshot(path=str(SCREENSHOTS / "reports-downloaded.png"), full_page=True)

    document = Document(io.BytesIO(files["docx"]))
    assert label in document.paragraphs[0].text
    head = [cell.text for cell in document.tables[0].rows[0].cells]
    shown = {row.cells[0].text: [cell.text for cell in row.cells]
             for row in document.tables[0].rows[1:]}
    book = load_workbook(io.BytesIO(files["xlsx"]))
    sheet = list(book["按镇(街道)"].values)
    in_sheet = {row[0]: row for row in sheet[1:]}
    columns = {"sessions_planned": "坐班已排期", "sessions_held": "坐班已举行",
               "worklog": "工作日志条数", "consultations": "法律咨询", "mediations": "参与调解"}
    assert len(expected) == 8
    for town, figures in expected.items():
        for figure, heading in columns.items():
            assert shown[town][head.index(heading)] == str(figures[figure]), (town, figure)
            assert in_sheet[town][sheet[0].index(heading)] == figures[figure], (town, figure)
    assert in_sheet["合计"][sheet[0].index("坐班已举行")] == total_held
    assert len(document.inline_shapes) == 2  # the charts
    assert errors == []
    context.close()


def test_the_reports_page_passes_on_a_phone(phone, live_server):
    """A coordinator away from the office: the wide tables scroll in their own box, the page
    does not overflow, and axe finds nothing serious."""
    log_in(phone, live_server, "town coordinator")
    phone.goto(live_server + "/reports/")
    expect(phone.locator("h1")).to_contain_text("工作报告")
    assert page_problems(phone, axe=AXE.exists()) == []
    phone.shot("reports-phone")
    assert phone.console_errors == []
