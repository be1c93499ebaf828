"""A big export goes through a job (web.longwork): its link answers the job's page, the page
shows a bar polled every second and then the download, the file is the direct export's, one
export is audited per job; only its user (or an administrator) sees the job."""
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from core import longwork
from core.models import AuditLog, LongJob, Problem
from core.worklog import log_service
from tests.planning_support import now, utc  # noqa: F401 (fixtures)

NOW = utc(2026, 3, 10, 8, 0)


@pytest.fixture
def entries(district, now):
    """Five work-log entries of 张明 in village 1 (town 1)."""
    now(NOW)
    return [log_service(district.users.lawyer, lawyer=district.lawyers[0],
                        village=district.villages[0], occurred_at=utc(2026, 3, 1 + i, 2),
                        duration_minutes=60, mode="phone", content=f"电话咨询 {i}",
                        result="已答复", category="publicity")
            for i in range(5)]


def _rows(body: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))


def _exports() -> int:
    return AuditLog.select().where(AuditLog.action == "worklog.export").count()


def test_an_export_under_the_threshold_is_answered_at_once(district, entries, login,
                                                           monkeypatch):
    monkeypatch.setenv("JIEDUI_EXPORT_JOB_ROWS", "5")
    response = login(district.users.coordinator).get("/records/log.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert len(_rows(response.data)) == 6
    assert LongJob.select().count() == 0


def test_a_big_export_goes_through_a_job_and_gives_the_same_file(district, entries, login,
                                                                 monkeypatch):
    client = login(district.users.coordinator)
    direct = _rows(client.get("/records/log.xlsx?mode=phone").data)
    monkeypatch.setenv("JIEDUI_EXPORT_JOB_ROWS", "4")
    before = _exports()
    response = client.get("/records/log.xlsx?mode=phone")
    assert response.status_code == 303
    job = LongJob.get()
    assert response.headers["Location"].endswith(f"/jobs/{job.id}")
    assert (job.status, job.done, job.total, job.user_id) == (
        "done", 5, 5, district.users.coordinator.id)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "表格导出" in page and "every 1s" not in page  # finished: no more polling
    assert f"/jobs/{job.id}/download" in page and "data-announce" in page
    download = client.get(f"/jobs/{job.id}/download")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert "%E5%B7%A5%E4%BD%9C%E6%97%A5%E5%BF%97" in download.headers["Content-Disposition"]  # 工作日志
    assert _rows(download.data) == direct
    # a second click, a reload: the same job, no second export
    again = client.get("/records/log.xlsx?mode=phone")
    assert again.headers["Location"] == response.headers["Location"]
    assert _exports() == before + 1
    assert LongJob.select().count() == 1


def test_the_job_exports_what_its_user_may_read(district, entries, login, monkeypatch):
    """A town coordinator of the other town: their export is theirs (no entry of town 1)."""
    monkeypatch.setenv("JIEDUI_EXPORT_JOB_ROWS", "0")
    client = login(district.users.other_town_coordinator)
    response = client.get("/records/log.xlsx")
    assert response.status_code == 200  # nothing to export: no job for 0 rows
    client = login(district.users.town_coordinator)
    job_page = client.get("/records/log.xlsx")
    assert job_page.status_code == 303
    rows = _rows(client.get(job_page.headers["Location"] + "/download").data)
    assert len(rows) == 6


@pytest.mark.parametrize("who, status", [("admin", 200), ("other_town_coordinator", 404),
                                         ("town_coordinator", 404), ("lawyer", 404),
                                         ("village", 404)])
def test_only_its_user_and_administrators_see_a_job(district, entries, login, monkeypatch,
                                                    who, status):
    monkeypatch.setenv("JIEDUI_EXPORT_JOB_ROWS", "1")
    location = login(district.users.coordinator).get("/records/log.xlsx").headers["Location"]
    client = login(getattr(district.users, who))
    for url in (location, location + "/progress", location + "/download"):
        assert client.get(url).status_code == status, url


def test_a_running_job_shows_its_bar_and_asks_again_every_second(district, login,
                                                                monkeypatch):
    monkeypatch.setattr(longwork.huey, "immediate", False)
    monkeypatch.setattr(longwork, "run_long_job", lambda job_id: None)  # the consumer is busy
    job = longwork.start(district.users.coordinator, "export",
                         {"path": "/records/log.xlsx", "query": ""})
    LongJob.update(done=120, total=480).where(LongJob.id == job.id).execute()
    client = login(district.users.coordinator)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in page  # without JavaScript the page refreshes
    fragment = client.get(f"/jobs/{job.id}/progress", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text
    assert 'hx-trigger="every 1s"' in text and 'max="480"' in text and 'value="120"' in text
    assert "120 / 480" in text
    assert "heading=h1" in page  # the page's panel keeps its h1 when it is swapped
    assert "可能未在运行" not in text
    own = client.get(f"/jobs/{job.id}/progress?heading=h1",
                     headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<h1>" in own and "<h2>" in text
    # the consumer runs it (outside any request: the consumer's own app makes the file)
    assert longwork.execute(job.id) == "done"
    text = client.get(f"/jobs/{job.id}/progress",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "every 1s" not in text and "data-finished" in text
    assert f"/jobs/{job.id}/download" in text


def test_a_failed_job_says_why_in_chinese(district, login, monkeypatch):
    def crash(params, progress):
        raise RuntimeError("boom")
    longwork.register("crash-test", crash)
    try:
        job = longwork.start(district.users.coordinator, "crash-test", {})
    finally:
        longwork._runners.pop("crash-test")
    client = login(district.users.coordinator)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'role="alert"' in page and "已通知管理员" in page
    assert client.get(f"/jobs/{job.id}/download").status_code == 404


def _sheets(body: bytes) -> dict:
    book = load_workbook(io.BytesIO(body))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def _direct_and_by_job(client, monkeypatch, url, threshold):
    """The sheets of ``url`` exported at once, then (over ``threshold``) through a job."""
    direct = client.get(url)
    assert direct.status_code == 200
    monkeypatch.setenv("JIEDUI_EXPORT_JOB_ROWS", str(threshold))
    response = client.get(url)
    assert response.status_code == 303
    download = client.get(response.headers["Location"] + "/download")
    return _sheets(direct.data), _sheets(download.data)


def test_a_big_programme_ledger_goes_through_a_job(district, login, monkeypatch):
    from core.tasks import assign_task
    for village in district.villages[:3]:
        assign_task(None, program="family_visits", task_type="household_visit",
                    village=village)
    direct, by_job = _direct_and_by_job(login(district.users.coordinator), monkeypatch,
                                        "/programmes/family_visits/ledger.xlsx", threshold=2)
    assert by_job == direct


def test_a_big_audit_export_goes_through_a_job(district, login, monkeypatch):
    monkeypatch.setenv("JIEDUI_EXPORT_JOB_ROWS", "0")
    client = login(district.users.admin)
    entries = AuditLog.select().count()
    response = client.get("/admin/audit.xlsx")
    assert response.status_code == 303
    rows = _rows(client.get(response.headers["Location"] + "/download").data)
    assert len(rows) == 1 + entries  # the headings, every entry (not the export's own)
    assert AuditLog.select().where(AuditLog.action == "audit.export").count() == 1


def test_a_job_consumer_of_its_own_makes_exports_too():
    """`jiedui worker` runs no web, yet its jobs make the exports: the command registers the
    exports' kind of long work."""
    import web.cli.serve  # noqa: F401 (the command's module)
    assert longwork.registered("export")


def test_a_big_assessment_table_goes_through_a_job(district, login, monkeypatch):
    direct, by_job = _direct_and_by_job(login(district.users.coordinator), monkeypatch,
                                        "/assessment/export.xlsx?year=2026", threshold=1)
    assert by_job == direct


def test_a_job_queued_for_long_says_the_consumer_may_be_down(district, login, monkeypatch):
    monkeypatch.setattr(longwork.huey, "immediate", False)
    monkeypatch.setattr(longwork, "run_long_job", lambda job_id: None)  # no consumer
    job = longwork.start(district.users.coordinator, "export",
                         {"path": "/records/log.xlsx", "query": ""})
    LongJob.update(created_at=job.created_at - dt.timedelta(minutes=2)).where(
        LongJob.id == job.id).execute()
    page = login(district.users.coordinator).get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "后台任务处理程序可能未在运行" in page and 'hx-trigger="every 1s"' in page


def test_an_export_its_user_may_no_longer_open_fails_with_a_message(district, login,
                                                                    monkeypatch):
    """A programme gone by the time the job runs, a user whose role changed: refused with
    a message, not reported as a fault."""
    monkeypatch.setattr(longwork.huey, "immediate", False)
    monkeypatch.setattr(longwork, "run_long_job", lambda job_id: None)
    user = district.users.coordinator
    job = longwork.start(user, "export", {"path": "/programmes/no-such/ledger.xlsx",
                                          "query": ""})
    assert longwork.execute(job.id) == "failed"  # the view's 404: no such programme
    job = LongJob.get_by_id(job.id)
    assert job.message == "无法导出：您已无权打开此内容。"
    user.role = "village"
    user.save()
    other = longwork.start(user, "export", {"path": "/records/log.xlsx", "query": ""})
    assert longwork.execute(other.id) == "failed"
    assert Problem.select().count() == 0


def test_a_plugins_big_register_goes_through_a_job(demo_db, client, monkeypatch):
    """The family-visits register of households (a plugin's own export, marked
    ``export_rows``) is made by a job over the threshold, the same file."""
    from core.demo import DEMO_LOGINS
    username, password = DEMO_LOGINS["coordinator"]
    assert client.post("/login", data={"username": username,
                                       "password": password}).status_code == 302
    direct, by_job = _direct_and_by_job(client, monkeypatch,
                                        "/programmes/family_visits/households.xlsx",
                                        threshold=1)
    assert by_job == direct and len(next(iter(direct.values()))) > 2


def test_the_bureaus_report_and_pairing_list_of_a_big_scope_go_through_a_job(
        district, login, monkeypatch):
    """A report's work grows with the pairings of its scope: over the setting, the .xlsx
    and the pairing list are made by a job, and are the files a direct export gives."""
    client = login(district.users.coordinator)
    for url in ("/reports/report.xlsx?period=2026Q1", "/reports/pairings.xlsx"):
        monkeypatch.setenv("JIEDUI_EXPORT_JOB_ROWS", "300")
        direct, by_job = _direct_and_by_job(client, monkeypatch, url, threshold=0)
        assert by_job == direct and direct
