"""A coordinator at an office PC (1280 × 900) records a spot check of a village: a failed
item without findings comes back in Chinese with everything ticked and typed kept; with the
findings it is recorded and its page shows the checklist and the follow-up, which the
coordinator then records done. The inspections list and the key-populations roster pass
axe-core as well. Screenshots in test-output/screenshots."""
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LIVE, SCREENSHOTS, log_in
from tests.e2e.pagecheck import page_problems

pytestmark = pytest.mark.e2e
DESKTOP = {"width": 1280, "height": 900}


def _inspections() -> int:
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as conn:
        return conn.execute("SELECT COUNT(*) FROM inspection").fetchone()[0]


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")


def test_a_coordinator_records_an_inspection_and_its_follow_up(page, live_server):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "coordinator")
    page.goto(live_server + "/inspections/")
    assert page_problems(page) == []
    with page.expect_navigation():
        page.get_by_role("link", name="登记检查").first.click()
    assert page_problems(page) == []
    before = _inspections()

    page.select_option("select[name=village]", index=1)
    page.select_option("select[name=kind]", "spot_check")
    page.check("input[name=item_sessions][value=pass]")
    page.check("input[name=item_disclosure][value=fail]")
    page.fill("textarea[name=follow_up]", "补充公示栏律师照片")
    page.fill("input[name=follow_up_due]", "2099-01-31")
    page.get_by_role("button", name="登记检查").click()
    expect(page.locator(".field-error")).to_contain_text("有项目不达标，请在检查发现中写明问题。")
    expect(page.locator("input[name=item_disclosure][value=fail]")).to_be_checked()
    expect(page.locator("textarea[name=follow_up]")).to_have_value("补充公示栏律师照片")
    assert _inspections() == before
    _shot(page, "inspection-refused")

    page.fill("textarea[name=findings]", "公示栏缺少律师照片。")
    page.get_by_role("button", name="登记检查").click()
    expect(page.locator("h1")).to_contain_text("检查记录")
    expect(page.locator(".flash")).to_contain_text("已登记对")
    page.wait_for_load_state()
    assert _inspections() == before + 1
    assert page_problems(page) == []
    _shot(page, "inspection-detail")

    page.fill("textarea[name=note]", "已在公示栏张贴律师照片。")
    page.get_by_role("button", name="登记整改完成").click()
    expect(page.locator("#follow-up")).to_contain_text("已登记整改完成")
    expect(page.locator("#follow-up")).to_contain_text("已在公示栏张贴律师照片。")
    # the refused form's answer (422) is the only thing the console may mention
    assert [e for e in page.console_errors if "422" not in e] == []


def test_the_roster_of_key_populations_passes_on_a_desktop(page, live_server):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "coordinator")
    page.goto(live_server + "/programmes/key_populations")
    with page.expect_navigation():
        page.get_by_role("link", name="重点人群摸排名册").click()
    expect(page.locator("h1")).to_contain_text("重点人群摸排名册")
    assert page_problems(page) == []
    with page.expect_navigation():
        page.locator(".roster-counts tbody a").first.click()
    expect(page.locator(".roster-people")).to_be_visible()
    assert page_problems(page) == []
    _shot(page, "key-populations-roster")
    assert page.console_errors == []
