"""Long work as queued jobs (core.longwork): a second start joins the first, progress is
recorded, the file is its user's, a failure says why in Chinese, old files are removed."""
import datetime as dt

import pytest

from core import clock, longwork
from core.db import transaction
from core.errors import NotFound, ValidationError
from core.models import LongJob, Problem


@pytest.fixture
def kinds():
    """Register the test's kinds, and take them away after."""
    added = []

    def add(kind, runner):
        longwork.register(kind, runner)
        added.append(kind)
    yield add
    for kind in added:
        longwork._runners.pop(kind, None)


def counting(calls):
    def runner(params, progress):
        calls.append(params)
        total = params["rows"]
        for done in range(total + 1):
            progress(done, total)
        return longwork.Result(filename="名单.xlsx", content=f"{total} rows".encode())
    return runner


def test_a_second_start_of_the_same_work_joins_the_first(district, kinds):
    calls = []
    kinds("count", counting(calls))
    user = district.users.coordinator
    first = longwork.start(user, "count", {"rows": 5})
    again = longwork.start(user, "count", {"rows": 5})  # a double click, a reload
    assert again.id == first.id
    assert calls == [{"rows": 5}]  # the work was done once
    assert LongJob.select().count() == 1


def test_other_work_or_another_user_is_another_job(district, kinds):
    calls = []
    kinds("count", counting(calls))
    first = longwork.start(district.users.coordinator, "count", {"rows": 5})
    other_params = longwork.start(district.users.coordinator, "count", {"rows": 6})
    other_user = longwork.start(district.users.admin, "count", {"rows": 5})
    assert len({first.id, other_params.id, other_user.id}) == 3
    assert len(calls) == 3


def test_a_queued_job_is_joined_until_it_runs(district, kinds, monkeypatch):
    """With the consumer busy, the job waits queued, and a second click joins it."""
    calls = []
    kinds("count", counting(calls))
    monkeypatch.setattr(longwork.huey, "immediate", False)
    queued = []
    monkeypatch.setattr(longwork, "run_long_job", lambda job_id: queued.append(job_id))
    first = longwork.start(district.users.coordinator, "count", {"rows": 2})
    second = longwork.start(district.users.coordinator, "count", {"rows": 2})
    assert first.status == "queued" and second.id == first.id
    assert queued == [first.id]  # queued once
    assert longwork.execute(first.id) == "done"
    assert longwork.execute(first.id) == "done"  # delivered twice: run once
    assert len(calls) == 1


def test_the_same_work_finished_long_ago_is_done_again(district, kinds, monkeypatch):
    calls = []
    kinds("count", counting(calls))
    first = longwork.start(district.users.coordinator, "count", {"rows": 1})
    later = clock.now_utc() + longwork.REUSE_FINISHED + dt.timedelta(seconds=1)
    monkeypatch.setattr(clock, "now_utc", lambda: later)
    again = longwork.start(district.users.coordinator, "count", {"rows": 1})
    assert again.id != first.id and len(calls) == 2


def test_progress_and_the_result_are_recorded(district, kinds):
    seen = []

    def runner(params, progress):
        progress.every = 0  # write every step, to see them
        for done in range(4):
            progress(done, 3)
            seen.append(LongJob.get_by_id(progress.job_id).done)
        return longwork.Result(filename="工作日志.xlsx", content=b"PK-file")
    kinds("steps", runner)
    job = longwork.start(district.users.coordinator, "steps", {})
    assert seen == [0, 1, 2, 3]
    job = LongJob.get_by_id(job.id)
    assert (job.status, job.done, job.total, job.filename) == ("done", 3, 3, "工作日志.xlsx")
    assert job.finished_at is not None
    _found, path = longwork.open_result(district.users.coordinator, job.id)
    assert path.read_bytes() == b"PK-file"
    assert path.stat().st_mode & 0o077 == 0  # the owner's only


def test_progress_writes_are_throttled(district, kinds):
    written = []

    def runner(params, progress):
        for done in range(1000):
            progress(done, 1000)
            written.append(LongJob.get_by_id(progress.job_id).done)
        progress(1000, 1000)
        return longwork.Result(filename="a.xlsx", content=b"x")
    kinds("busy", runner)
    longwork.start(district.users.coordinator, "busy", {})
    assert len(set(written)) < 10  # not a write per row


def test_the_file_is_its_users_and_an_administrators(district, kinds):
    kinds("count", counting([]))
    job = longwork.start(district.users.coordinator, "count", {"rows": 1})
    assert longwork.open_result(district.users.coordinator, job.id)[1].is_file()
    assert longwork.open_result(district.users.admin, job.id)[1].is_file()
    for stranger in (district.users.town_coordinator, district.users.lawyer,
                     district.users.village):
        with pytest.raises(NotFound):
            longwork.readable_job(stranger, job.id)
        with pytest.raises(NotFound):
            longwork.open_result(stranger, job.id)


def test_a_runner_refusing_fails_the_job_with_its_message_in_chinese(district, kinds):
    def refuse(params, progress):
        raise ValidationError("There is no such job, or you may not see it.")
    kinds("refuse", refuse)
    job = LongJob.get_by_id(longwork.start(district.users.coordinator, "refuse", {}).id)
    assert job.status == "failed"
    assert job.message == "该工作不存在，或您无权查看。"
    assert Problem.select().count() == 0  # a refusal is no fault to report
    with pytest.raises(NotFound):
        longwork.open_result(district.users.coordinator, job.id)


def test_a_runner_crashing_fails_the_job_and_tells_the_administrators(district, kinds):
    def crash(params, progress):
        progress(1, 10)
        raise RuntimeError("disk full")
    kinds("crash", crash)
    job = LongJob.get_by_id(longwork.start(district.users.coordinator, "crash", {}).id)
    assert job.status == "failed" and job.finished_at is not None
    assert "管理员" in job.message  # in Chinese, says the administrators know
    problem = Problem.get()
    assert "disk full" in problem.summary
    # a failed job is not joined: asking again tries again
    again = longwork.start(district.users.coordinator, "crash", {})
    assert again.id != job.id


def test_old_jobs_and_their_files_are_removed(district, kinds, monkeypatch):
    kinds("count", counting([]))
    old = longwork.start(district.users.coordinator, "count", {"rows": 1})
    path = longwork.open_result(district.users.coordinator, old.id)[1]
    tomorrow = clock.now_utc() + longwork.KEEP_RESULTS + dt.timedelta(minutes=1)
    monkeypatch.setattr(clock, "now_utc", lambda: tomorrow)
    fresh = longwork.start(district.users.coordinator, "count", {"rows": 2})
    assert longwork.remove_old_jobs() == 1
    assert not path.exists()
    assert [job.id for job in LongJob.select()] == [fresh.id]
    assert longwork.open_result(district.users.coordinator, fresh.id)[1].is_file()


def test_a_job_whose_consumer_died_fails_and_the_work_can_be_asked_again(district, kinds,
                                                                         monkeypatch):
    calls = []
    kinds("count", counting(calls))
    monkeypatch.setattr(longwork.huey, "immediate", False)
    monkeypatch.setattr(longwork, "run_long_job", lambda job_id: None)
    job = longwork.start(district.users.coordinator, "count", {"rows": 1})
    # a consumer took it and was killed: "running", and nobody holds its lock
    LongJob.update(status="running").where(LongJob.id == job.id).execute()
    seen = longwork.readable_job(district.users.coordinator, job.id)
    assert seen.status == "failed" and "重新" in seen.message
    again = longwork.start(district.users.coordinator, "count", {"rows": 1})
    assert again.id != job.id and again.status == "queued"


def test_a_running_job_is_seen_alive_by_its_page(district, kinds):
    seen = []

    def look(params, progress):
        seen.append(longwork.readable_job(progress.user, progress.job_id).status)
        return longwork.Result(filename="a.xlsx", content=b"x")
    kinds("look", look)
    longwork.start(district.users.coordinator, "look", {})
    assert seen == ["running"]  # its lock is held: not taken for dead


def test_a_runner_inside_its_own_transaction_still_shows_its_progress(district, kinds):
    """An import writes all its rows or none, in one transaction: the page must see its
    bar move all the same (its writes to the job's row would show only at the end)."""
    seen = []

    def importing(params, progress):
        with transaction():
            for done in range(3):
                progress(done, 2)
                job = LongJob.select().order_by(LongJob.id.desc()).get()
                seen.append((longwork.checked(job).done, longwork.checked(job).total))
        return longwork.Result(message="imported", url="/done")

    kinds("import-like", importing)
    job = longwork.start(district.users.admin, "import-like", {})
    assert seen[-1] == (2, 2) and seen[0] in ((0, 2), (2, 2))  # the first write is never throttled
    finished = LongJob.get_by_id(job.id)
    assert finished.status == "done" and finished.total == 2 and finished.done == 2
    assert not longwork._progress_path(job.id).exists()  # the row holds the end now
