"""Spreadsheet exports in a real browser.

A small export (a programme's ledger, under JIEDUI_EXPORT_JOB_ROWS): the link says the
spreadsheet is being made, a second click while it is made starts no second export (each
export is audited), and the file arrives under its Chinese name.

A big one (the demo's work log, 2,000+ entries): the link opens the job's page, which shows
a progress bar polled every second, then moves focus to the download and says the file is
ready; the file downloads under its Chinese name, and asking again joins the same job
(one audited export). Without JavaScript the same page refreshes itself to the download."""
import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LIVE, SCREENSHOTS, log_in
from tests.e2e.pagecheck import page_problems

pytestmark = pytest.mark.e2e


def _exports(action: str) -> int:
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as conn:
        return conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = ?",
                            (action,)).fetchone()[0]


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), caret="initial")


def test_a_double_click_on_a_small_export_makes_one_spreadsheet(page, live_server, tmp_path):
    log_in(page, live_server, "coordinator")
    page.goto(live_server + "/programmes/family_visits")
    before = _exports("ledger.export")
    link = page.locator("a[data-download]").first
    # Hold the export back until both clicks are in, as a slow export would be.
    page.route("**/programmes/family_visits/ledger.xlsx*",
               lambda route: (page.wait_for_timeout(800), route.continue_()))
    with page.expect_download() as download:
        link.click()
        expect(link).to_have_attribute("aria-busy", "true")
        status = link.locator("xpath=following-sibling::span[contains(@class, 'export-status')]")
        expect(status).to_have_text("正在生成表格，请稍候…")
        link.click()  # ignored: the first is still being made
    saved = download.value
    assert saved.suggested_filename.endswith(".xlsx") and "台账" in saved.suggested_filename
    path = tmp_path / "ledger.xlsx"
    saved.save_as(path)
    assert path.read_bytes()[:2] == b"PK"  # an .xlsx is a zip
    expect(status).to_have_text("表格已下载。")
    expect(link).not_to_have_attribute("aria-busy", "true")
    assert _exports("ledger.export") == before + 1
    assert page.console_errors == []


def test_a_big_export_shows_its_progress_then_the_download(page, live_server, tmp_path):
    log_in(page, live_server, "coordinator")
    page.goto(live_server + "/records/log")
    before = _exports("worklog.export")
    link = page.locator("a[data-download]").first
    # an impatient double click, both clicks before anything answers (a second Playwright
    # click could land after the page has moved on to the job's page, and wait for a link
    # that is no longer there): the second is ignored while the first is asked for
    link.evaluate("a => { a.click(); a.click(); }")
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    job_url = page.url
    expect(page.locator("h1")).to_contain_text("表格导出")
    bar = page.locator(".long-job progress")
    expect(bar).to_be_visible()  # 2,000+ rows take a few seconds
    _shot(page, "export-job-progress")
    assert page_problems(page) == []  # axe-core, landmarks, targets: while it runs
    result = page.locator("a[data-job-result]")
    expect(result).to_be_visible(timeout=60_000)
    expect(bar).to_have_count(0)  # finished: the bar (and the polling) are gone
    expect(result).to_be_focused()
    expect(page.locator("h1")).to_have_count(1)  # the swapped panel keeps the page's h1
    expect(page.locator("#announcer")).to_contain_text("已完成")
    _shot(page, "export-job-done")
    assert page_problems(page) == []  # and when it is done
    with page.expect_download() as download:
        result.click()
    saved = download.value
    assert saved.suggested_filename.startswith("工作日志-")
    assert saved.suggested_filename.endswith(".xlsx")
    path = tmp_path / "worklog.xlsx"
    saved.save_as(path)
    assert path.read_bytes()[:2] == b"PK"
    assert _exports("worklog.export") == before + 1
    # Asked again a moment later: the same job and its file, no second export.
    page.goto(live_server + "/records/log")
    page.locator("a[data-download]").first.click()
    page.wait_for_url(job_url)
    expect(page.locator("a[data-job-result]")).to_be_visible()
    assert _exports("worklog.export") == before + 1
    assert page.console_errors == []


def test_without_javascript_the_job_page_refreshes_to_the_download(browser, live_server):
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, "coordinator")
        # another filter than the test above: a job of its own
        page.goto(live_server + "/records/log?from=2000-01-01")
        page.locator("a[data-download]").first.click()
        page.wait_for_url(re.compile(r"/jobs/\d+$"))
        expect(page.locator("a[data-job-result]")).to_be_visible(timeout=60_000)
        with page.expect_download() as download:
            page.locator("a[data-job-result]").click()
        assert download.value.suggested_filename.startswith("工作日志-")
    finally:
        context.close()
