"""Programme pages: the dashboard, one programme's progress with breakdowns and the SVG
trend, the ledger download, targets; and the administrators' plugin page."""
import io
import re
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from core import clock, hookimpl
from core import tasks as service
from core.models import AuditLog, ProgramTarget
from core.plugins import notify, register_plugin, unregister_plugin
from tests.sample_programme import (METRIC, PROGRAM, TASK_TYPE, good_data,  # noqa: F401
                                    sample_programme)

HX = {"HX-Request": "true"}
pytestmark = pytest.mark.usefixtures("sample_programme")


@pytest.fixture
def login(login, client):
    client.set_cookie("lang", "en")
    return login


def done(village, household):
    task = service.assign_task(None, program=PROGRAM, task_type=TASK_TYPE, village=village)
    return service.complete_task(None, task, good_data(household=household))


@pytest.fixture
def visits(district):
    """Three households visited in town 1 (one twice), one in town 2, one still open."""
    v = district.villages
    tasks = [done(v[0], "王大明"), done(v[0], "王大明"), done(v[1], "李四"), done(v[2], "赵五"),
             done(v[3], "钱六")]
    service.assign_task(None, program=PROGRAM, task_type=TASK_TYPE, village=v[0])
    return tasks


def test_dashboard_shows_each_programme_done_over_target(visits, district, login):
    html = login(district.users.coordinator).get("/programmes/").get_data(as_text=True)
    # the English page names the programme by its name_en (the plugin has no catalog)
    assert "Sample visits" in html and f'href="/programmes/{PROGRAM}?year=' in html
    assert "<strong>4</strong> / 100" in html  # distinct households: 王大明 counts once
    bar = re.search(r'<svg class="progress-bar pace-bar (\w+)[^"]*".*?</svg>', html, re.S)
    assert bar and '<rect class="fill" x="0" y="0" width="4.0"' in bar.group(0)
    assert bar.group(1) in ("on_pace", "behind", "far_behind")
    assert 'class="pace-mark"' in bar.group(0)  # where the work should be by today
    assert "District target" in html
    assert "style=" not in html  # the CSP forbids inline styles


def test_dashboard_counts_the_viewers_scope_against_its_share(visits, district, login):
    """A town coordinator's 3 visits are measured against the town's share of the district
    target (3 of the 6 villages: 50), and the page says so."""
    html = login(district.users.town_coordinator).get("/programmes/").get_data(as_text=True)
    assert "<strong>3</strong> / 50" in html and "/ 100" not in html
    assert "Town target = district target × 3/6" in html
    lawyer = login(district.users.lawyer).get("/programmes/").get_data(as_text=True)
    assert "<strong>1</strong> / 17" in lawyer   # 张明's one village of 6: 100 × 1/6
    assert "Your target = district target × 1/6" in lawyer


def test_the_desk_links_the_programmes_at_a_glance(visits, district, login):
    client = login(district.users.coordinator)
    html = client.get("/home").get_data(as_text=True)
    assert 'href="/programmes/"' in html
    response = client.get("/programmes/?compact=1", headers=HX)
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in fragment
    assert "Programmes at a glance" in fragment and "<strong>4</strong> / 100" in fragment


def test_programme_page_shows_progress_breakdowns_and_the_trend_svg(visits, district, login):
    html = login(district.users.coordinator).get(f"/programmes/{PROGRAM}").get_data(
        as_text=True)
    assert "走访家庭数" in html and '<span class="big">4</span> / 100' in html
    town_rows = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td></tr>", html))
    assert town_rows["东湖镇"] == "3" and town_rows["西山街道"] == "1"
    assert town_rows["张明"] == "1" and town_rows["李华"] == "1"  # by lawyer
    trend = re.search(r'<svg class="trend-chart".*?</svg>', html, re.S).group(0)
    assert trend.count('<rect class="bar"') == 12
    assert "Week starting" in trend and re.search(r">\d\d-\d\d</text>", trend)
    assert re.search(r'<text class="axis y"[^>]*>4</text>', trend)  # the y axis reaches 4
    assert "style=" not in html
    assert f'href="/programmes/{PROGRAM}/ledger.xlsx"' in html


def test_a_long_breakdown_lists_its_first_rows_and_says_so(visits, district, login,
                                                            monkeypatch):
    """A province's 1,300 towns and 9,000 lawyers: the page lists the first ones only."""
    import web.programs
    monkeypatch.setattr(web.programs, "BREAKDOWN_LISTED", 1)
    html = login(district.users.coordinator).get(f"/programmes/{PROGRAM}").get_data(
        as_text=True)
    rows = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td></tr>", html))
    assert "东湖镇" in rows and "西山街道" not in rows  # towns in order: the first one
    assert len({"张明", "李华"} & rows.keys()) == 1  # lawyers, most done first: one
    assert html.count("(only the first 1 are listed)") >= 2


def test_unknown_programme_is_404(district, login):
    assert login(district.users.coordinator).get("/programmes/nothing").status_code == 404


def test_lawyer_reads_progress_but_village_user_does_not(visits, district, login):
    client = login(district.users.lawyer)
    html = client.get(f"/programmes/{PROGRAM}").get_data(as_text=True)
    assert "ledger.xlsx" not in html and "Set the target" not in html
    assert client.get(f"/programmes/{PROGRAM}/ledger.xlsx").status_code == 403
    assert login(district.users.village).get("/programmes/").status_code == 403


# --- the ledger ----------------------------------------------------------------------------------

def test_ledger_downloads_as_xlsx_with_the_form_labels_as_headers(visits, district, login):
    response = login(district.users.coordinator).get(f"/programmes/{PROGRAM}/ledger.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('走访示范家庭台账-')}" in disposition
    assert re.search(r'filename="ledger-sample_visits-[\d-]+\.xlsx"', disposition)
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0][:4]) == ["户主姓名", "家庭成员及矛盾当事人", "矛盾类型", "走访人数"]
    assert {row[0] for row in rows[1:] if row[0]} == {"王大明", "李四", "赵五", "钱六"}
    assert len(rows) == 1 + 6  # five done and one open, none cancelled
    assert any(row[2] == "婚外情" for row in rows[1:])  # choices by their label
    assert AuditLog.select().where(AuditLog.action == "ledger.export").count() == 1


def test_ledger_holds_only_the_town_coordinators_town(visits, district, login):
    response = login(district.users.town_coordinator).get(f"/programmes/{PROGRAM}/ledger.xlsx")
    rows = list(load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True))
    assert {row[0] for row in rows[1:] if row[0]} == {"王大明", "李四", "赵五"}


# --- targets -------------------------------------------------------------------------------------

def test_district_coordinator_sets_a_target(visits, district, login):
    client = login(district.users.coordinator)
    year = clock.today().year
    response = client.post(f"/programmes/{PROGRAM}/targets", data={
        "metric": METRIC, f"target-{METRIC}-year": str(year), f"target-{METRIC}-target": "120"})
    assert response.status_code == 303
    assert ProgramTarget.get().target == 120
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<span class="big">4</span> / 120' in html


@pytest.mark.parametrize("target, message", [("0", "A whole number from 1 to 100000."),
                                             ("abc", "Not a valid integer value.")])
def test_bad_target_is_refused_with_its_message(visits, district, login, target, message):
    client = login(district.users.coordinator)
    response = client.post(f"/programmes/{PROGRAM}/targets", data={
        "metric": METRIC, f"target-{METRIC}-year": "2026", f"target-{METRIC}-target": target})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert ProgramTarget.select().count() == 0


def test_a_year_out_of_range_is_refused_on_the_page_of_this_year(visits, district, login):
    """Found by the form fuzzer: year -1 showed the refusal on a page of year -1 (a 500)."""
    client = login(district.users.coordinator)
    response = client.post(f"/programmes/{PROGRAM}/targets", data={
        "metric": METRIC, f"target-{METRIC}-year": "-1", f"target-{METRIC}-target": "100"})
    assert response.status_code == 422 and str(clock.today().year) in response.get_data(as_text=True)
    assert ProgramTarget.select().count() == 0


def test_town_coordinator_may_not_set_targets(visits, district, login):
    client = login(district.users.town_coordinator)
    assert "Set the target" not in client.get(f"/programmes/{PROGRAM}").get_data(as_text=True)
    response = client.post(f"/programmes/{PROGRAM}/targets", data={
        "metric": METRIC, f"target-{METRIC}-year": "2026", f"target-{METRIC}-target": "50"})
    assert response.status_code == 403
    assert ProgramTarget.select().count() == 0


def test_target_of_an_unknown_metric_is_a_bad_request(district, login):
    client = login(district.users.coordinator)
    response = client.post(f"/programmes/{PROGRAM}/targets", data={
        "metric": "nothing", "target-nothing-year": "2026", "target-nothing-target": "50"})
    assert response.status_code == 400 and ProgramTarget.select().count() == 0


# --- the plugin page -----------------------------------------------------------------------------

class Failing:
    @hookimpl
    def task_completed(self, task):
        raise RuntimeError("the ledger service is down")


def test_admin_plugin_page_lists_programmes_and_a_failing_plugin(district, login):
    register_plugin(Failing(), "test-failing")
    try:
        notify("task_completed", task=None)
        html = login(district.users.admin).get("/admin/plugins").get_data(as_text=True)
    finally:
        unregister_plugin("test-failing")
    assert "走访示范家庭" in html and PROGRAM in html and "入户走访" in html
    assert "走访家庭数" in html and "members" in html  # the sensitive field is named
    # and what villages and other lawyers see of it: nothing (no public_fields declared)
    assert re.search(r"(shown to villages and other lawyers|村（居）及其他律师可见): "
                     r"(nothing|无)</span>", html)
    error = re.search(r'<tr class="plugin-error">(.*?)</tr>', html, re.S).group(1)
    assert "test-failing" in error and "task_completed" in error
    assert "RuntimeError: the ledger service is down" in error


def test_plugin_page_is_for_administrators_only(district, login):
    assert login(district.users.coordinator).get("/admin/plugins").status_code == 403
