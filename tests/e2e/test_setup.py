"""An administrator's first day, at an office PC (1280 × 900): the district is set up in the
browser from a spreadsheet with one bad row (explained, fixed, uploaded again, imported),
logins are issued as invitations, and a lawyer opens their invitation link, chooses a
password and lands on their 工作台.

A server of its own, on an empty database (no demo district): the invitations create a
login for every person without one, which must not change the shared demo's users."""
import csv
import subprocess

import pytest
from openpyxl import Workbook

from tests.e2e.conftest import (DESK_VIEWPORT, JIEDUI, _page_with_shots, running_server,
                                server_environment)
from tests.e2e.pagecheck import axe_violations

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN = ("first-admin", "Setup#day1-2026")
LAWYER_PASSWORD = "Qingshi#river7"
# The headers as the site's own pages name the columns (村(居)编码, not the file layout's 村居编码).
HEADER = ["镇(街道)编码", "镇(街道)名称", "司法所", "村(居)编码", "村(居)名称", "类型",
          "律师事务所", "律师姓名", "执业证号", "律师电话", "聘期开始", "聘期结束", "驻点时间"]
ROWS = [
    ["330199101", "青石镇", "青石司法所", "330199101201", "石桥村", "村", "明理律师事务所",
     "周文彬", "13301202010111111", "13805710001", "2026-01-01", "2028-12-31",
     "每月第一个周二上午 9:00-12:30"],
    ["330199101", "青石镇", "青石司法所", "330199101202", "溪口村", "镇", "明理律师事务所",
     "吴佳怡", "13301202010122222", "13805710002", "2026-01-01", "2028-12-31",
     "每月第二个周三下午"],
    ["330199002", "东湖街道", "东湖司法所", "330199002001", "湖滨社区", "社区", "正平律师事务所",
     "郑海涛", "13301202010133333", "", "2026-01-01", "2028-12-31", "每月第三个周四上午"],
]


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    """`jiedui run` on an empty database, with one administrator made at the command line."""
    instance = tmp_path_factory.mktemp("e2e-setup")
    env, port = server_environment(instance)
    made = subprocess.run([str(JIEDUI), "user", "add", "--username", ADMIN[0], "--password",
                           ADMIN[1], "--role", "admin"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    with running_server(instance, env, port) as base:
        yield base


def _desktop(browser):
    context = browser.new_context(locale="zh-CN", viewport=DESK_VIEWPORT)
    return context, _page_with_shots(context)


def _shot(page, name):
    page.shot(name, full_page=True)


def _no_serious_violations(page):
    assert axe_violations(page) == [], page.url


def test_an_administrator_sets_up_the_district_and_a_lawyer_accepts(fresh_server, browser,
                                                                    tmp_path):
    base = fresh_server
    bad = tmp_path / "结对名单.csv"
    with bad.open("w", encoding="gb18030", newline="") as out:  # as Excel in China saves it
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    fixed = tmp_path / "结对名单.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([("村" if cell == "镇" else cell) for cell in row])
    workbook.save(fixed)

    context, page = _desktop(browser)
    page.goto(base + "/login")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    with page.expect_navigation():
        page.click("button[type=submit]")

    # the set-up page is in the administrator's navigation
    page.goto(base + "/")
    page.locator("nav summary", has_text="系统").first.click()  # the desk navigation's menu
    with page.expect_navigation():
        page.get_by_role("link", name="区域初始化").click()
    assert page.url.endswith("/admin/setup")
    _shot(page, "setup-1-upload")
    _no_serious_violations(page)

    # the file with a bad row: explained, nothing imported
    page.set_input_files("input[type=file]", str(bad))
    with page.expect_navigation():
        page.get_by_role("button", name="上传并预览").click()
    problems = page.locator(".setup-problems")
    assert "有 1 行需要修改" in problems.inner_text()
    row = problems.locator("tbody tr")
    assert row.count() == 1
    cells = row.first.locator("td").all_inner_texts()
    assert cells[0] == "3" and cells[1] == "类型" and "镇" in cells[2] and "社区" in cells[2]
    assert page.locator("input[name=token]").count() == 0  # nothing to confirm
    _shot(page, "setup-2-bad-row")
    _no_serious_violations(page)

    # the fixed file: a preview of what will be created, then the import (a first import
    # names the new district)
    page.set_input_files("input[type=file]", str(fixed))
    page.fill("input[name=district_name]", "青山区")
    with page.expect_navigation():
        page.get_by_role("button", name="上传并预览").click()
    assert page.locator(".setup-problems").count() == 0
    summary = page.locator(".setup-summary").inner_text()
    assert "新增" in summary
    _shot(page, "setup-3-preview")
    with page.expect_navigation():
        page.get_by_role("button", name="导入", exact=True).click()
    # the import runs as a queued job: its page shows the bar, then the way to the result
    assert "/jobs/" in page.url
    page.locator("[data-job-result]").wait_for(timeout=30_000)
    assert "已导入 3 行" in page.locator("main").inner_text()
    _shot(page, "setup-4-import-job")
    with page.expect_navigation():
        page.locator("[data-job-result]").click()
    assert page.locator("h1").inner_text() == "区域数据已导入"
    assert page.locator("progress").get_attribute("value") == "3"
    assert "已导入 3 行" in page.locator(".flash").inner_text()
    _shot(page, "setup-4-imported")
    _no_serious_violations(page)

    # invitations: 3 lawyers, 3 villages, 2 towns without a login
    assert "律师 3 名，村(居) 3 个，镇(街道) 2 个" in page.locator("main").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="创建 8 个账号并打印邀请").click()
    cards = page.locator(".invite-card")
    assert cards.count() == 8
    card = cards.filter(has_text="周文彬")
    assert card.locator(".invite-username").inner_text() == "13301202010111111"
    assert card.locator(".invite-qr svg").count() == 1
    link = card.locator(".invite-link").get_attribute("href")
    assert link.startswith(base + "/invite/")
    _shot(page, "setup-5-invitations")
    _no_serious_violations(page)
    page.emulate_media(media="print")
    _shot(page, "setup-6-invitations-print")
    assert page.locator(".setup-sheet-head").is_hidden()
    # (a refused form answers 422, which Chromium logs; nothing else may)
    assert [e for e in page.console_errors if "422" not in e] == []
    context.close()

    # the lawyer, on their own computer, opens the link
    context, page = _desktop(browser)
    page.goto(link)
    assert "周文彬" in page.locator("main").inner_text()
    _no_serious_violations(page)
    page.fill("input[name=password]", "12345678")
    page.fill("input[name=confirm]", "12345678")
    with page.expect_navigation():
        page.get_by_role("button", name="保存密码并登录").click()
    assert page.locator(".field-error").count() >= 1  # the house's rules, in Chinese
    page.fill("input[name=password]", LAWYER_PASSWORD)
    page.fill("input[name=confirm]", LAWYER_PASSWORD)
    _shot(page, "setup-7-choose-password")
    with page.expect_navigation():
        page.get_by_role("button", name="保存密码并登录").click()
    assert page.url == base + "/home"
    _shot(page, "setup-8-lawyer-home")
    assert [e for e in page.console_errors if "422" not in e] == []

    # the link is dead now
    page.goto(link)
    assert "已使用过" in page.locator("main").inner_text()
    context.close()

    # and the password works at the login page
    context, page = _desktop(browser)
    page.goto(base + "/login")
    page.fill("input[name=username]", "13301202010111111")
    page.fill("input[name=password]", LAWYER_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url
    context.close()
