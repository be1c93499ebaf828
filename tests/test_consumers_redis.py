"""Several job consumers on one queue (Redis, as on several hosts; the SQLite queue file on
one machine): they share the queued jobs and each job runs once, a periodic job is queued
once per minute however many consumers run, a job queued twice does its work once, and
processes starting together on a new schema migrate it once.

The consumers are real ``jiedui worker`` processes on the test's database (SQLite file, or
PostgreSQL on the PostgreSQL pass) and Redis (``JIEDUI_TEST_REDIS_URL``, else db 15)."""
import datetime as dt
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from huey import crontab

from core.config import load_settings
from core.db import db
from core.jobs import send_deliveries, whoami
from core.models import Delivery, Notification
from core.queue import OncePerTickScheduler, TICK_PREFIX, claim_tick, make_huey
from tests.consumer_support import (JIEDUI, REDIS_URL, consumer_env, redis_database,
                                    start_worker, wait_for)
from tests.processes import log_of, start, stop
from tests.conftest import PG_URL

pytestmark = [pytest.mark.slow, pytest.mark.services]


def queue_url_of(kind: str, tmp_path) -> str:
    return REDIS_URL if kind == "redis" else f"sqlite:///{tmp_path}/queue.db"


@pytest.fixture
def redis_queue():
    with redis_database(REDIS_URL):
        yield REDIS_URL


def settings_on(tmp_path, queue_url):
    return load_settings({"JIEDUI_INSTANCE": str(tmp_path), "JIEDUI_SECRET_KEY": "k",
                          "JIEDUI_QUEUE_URL": queue_url})


def database_url() -> str:
    return PG_URL or f"sqlite:///{db.obj.database}"


def consumers(tmp_path, queue_url, count=2, *options, **env):
    """``count`` workers (2 threads each) started at once; waits until each says it runs."""
    started = []
    for number in range(count):
        log = tmp_path / f"consumer-{number}.log"
        started.append((start_worker(log, consumer_env(tmp_path / f"c{number}", database_url(),
                                                       queue_url, **env),
                                     "--workers", "2", *options), log))
    for process, log in started:
        wait_for(lambda: process.poll() is not None or "Huey consumer started" in log.read_text(),
                 what="a consumer to start")
        assert process.poll() is None, log.read_text()
    return started


def start_early_in_a_minute():
    """Both consumers check the periodic jobs as they start: start them in one minute."""
    if dt.datetime.now().second >= 45:
        time.sleep(61 - dt.datetime.now().second)


# --- periodic jobs: one per minute, however many schedulers --------------------------------

@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_schedulers_queue_a_periodic_job_once_per_minute(tmp_path, kind, request):
    if kind == "redis":
        request.getfixturevalue("redis_queue")
    url = queue_url_of(kind, tmp_path)
    schedulers = []
    for _ in range(2):  # two consumers' schedulers: two hueys, two connections to the queue
        huey = make_huey(settings_on(tmp_path, url))
        huey.periodic_task(crontab(minute="*"), name="every_minute")(lambda: None)
        huey.periodic_task(crontab(minute="7"), name="hourly")(lambda: None)
        schedulers.append(OncePerTickScheduler(huey, threading.Event(), 1, True))
    queue = schedulers[0].huey
    queue.flush()
    try:
        minute = dt.datetime(2026, 3, 2, 1, 7, 3)
        for moment in (minute, minute + dt.timedelta(seconds=40), minute, minute.replace(
                minute=8, second=1)):
            for scheduler in schedulers:
                scheduler.enqueue_periodic_tasks(moment)
        queued = Counter(task.name for task in queue.pending())
        assert queued == {"every_minute": 2, "hourly": 1}  # 1:07 and 1:08; 1:07 only
        if kind == "sqlite":  # the claims of an hour ago are dropped as new ones are made
            assert claim_tick(queue.storage, "every_minute", "2026-03-02T03:00")
            with queue.storage.db() as cursor:
                keys = [key for (key,) in cursor.execute(
                    "SELECT key FROM kv WHERE key LIKE ?", (TICK_PREFIX + "%",))]
            assert keys == [f"{TICK_PREFIX}2026-03-02T03:00:every_minute"]
    finally:
        queue.flush()


# --- two real consumers --------------------------------------------------------------------

def test_two_consumers_share_the_jobs_run_each_once_and_queue_periodic_jobs_once(
        database, tmp_path, redis_queue):
    start_early_in_a_minute()
    started = consumers(tmp_path, redis_queue)
    remote = make_huey(settings_on(tmp_path, redis_queue)).task()(whoami)
    try:
        results = [remote(0.15) for _ in range(24)]
        ran_by = [result.get(blocking=True, timeout=60)["pid"] for result in results]
    finally:
        codes = [stop(process) for process, _ in started]
    logs = [log.read_text() for _, log in started]
    assert codes == [0, 0], logs
    assert set(ran_by) == {process.pid for process, _ in started}  # both took some
    executed = Counter(re.findall(r"Executing core\.jobs\.whoami: ([0-9a-f-]+)", "".join(logs)))
    assert sorted(executed) == sorted(result.id for result in results)
    assert set(executed.values()) == {1}  # each job ran once, by one of them

    # Both schedulers looked at the periodic jobs as they started, in the same minute:
    # the every-minute jobs were queued once in it, not once per consumer.
    queued = Counter(re.findall(r"(\d\d:\d\d):\d\d,\d+ INFO huey.consumer.Scheduler: "
                                r"Enqueueing periodic task (core\.jobs\.\w+)", "".join(logs)))
    assert queued[min(queued)[0], "core.jobs.escalate_matters"] == 1, logs
    assert set(queued.values()) == {1}, queued


class Robot(BaseHTTPRequestHandler):
    """A group robot's webhook that takes its time to answer, and counts what it gets."""
    received: Counter = Counter()
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 — http.server's name
        content = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(0.2)
        with self.lock:
            self.received[content["text"]["content"]] += 1
        body = b'{"errcode": 0}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def robot():
    Robot.received = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/robot", Robot.received
    server.shutdown()
    server.server_close()


def test_the_sending_job_queued_four_times_on_two_consumers_sends_each_message_once(
        district, tmp_path, redis_queue, robot):
    url, received = robot
    user = district.users.coordinator
    for number in range(8):  # eight messages waiting for the group robot
        notification = Notification.create(user=user, kind="test", title=f"message {number}")
        Delivery.create(notification=notification, channel="webhook")
    started = consumers(tmp_path, redis_queue, 2, "--no-periodic", JIEDUI_WEBHOOK_URL=url)
    remote = make_huey(settings_on(tmp_path, redis_queue)).task()(send_deliveries)
    try:
        results = [remote() for _ in range(4)]  # four web processes asked at once
        sent = [result.get(blocking=True, timeout=60) for result in results]
    finally:
        codes = [stop(process) for process, _ in started]
    assert codes == [0, 0]
    assert sum(counts["sent"] for counts in sent) == 8
    assert sorted(received.values()) == [1] * 8  # every message reached the group once
    assert Delivery.select().where(Delivery.status == "sent").count() == 8


# --- several processes starting at once after an upgrade -----------------------------------

def test_processes_starting_at_once_on_a_new_schema_migrate_it_once(tmp_path):
    """Every process migrates as it starts: the web and the consumers of several hosts,
    restarted together after an upgrade, take turns; none fails on a half-made schema."""
    if PG_URL:
        from tests.conftest import _pg_admin, _pg_url_of
        name = PG_URL.rsplit("/", 1)[1] + "_migrate"
        _pg_admin([f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'])
        url = _pg_url_of(name)
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    try:
        processes = [start(
            [JIEDUI, "init"], consumer_env(tmp_path / f"host{number}", url,
                                           f"sqlite:///{tmp_path}/q{number}.db"),
            tmp_path / f"init-{number}.log")
            for number in range(3)]
        for process in processes:
            process.wait(timeout=120)
        outputs = [log_of(process) for process in processes]
    finally:
        if PG_URL:
            _pg_admin([f'DROP DATABASE IF EXISTS "{name}"'])
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert sum("0001_initial" in output for output in outputs) == 1, outputs


# --- a job run twice at once ---------------------------------------------------------------

def test_the_quarterly_report_prepared_twice_at_once_is_whole_and_announced_once(
        district, monkeypatch, tmp_path):
    """Two consumers running the quarter's report at the same moment (a retry, the job
    queued twice): both succeed, the stored files are whole, the coordinators get one
    notice."""
    from openpyxl import load_workbook
    from docx import Document
    from core.models import Notification
    from core.reports import first_workday, prepare_quarterly_report
    from core.reports import Period
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path))
    start = first_workday(Period("quarter", 2026, 4))
    outcomes = run_at_once(lambda: prepare_quarterly_report(start))
    folder = tmp_path / "reports" / "2026Q3"
    assert outcomes == [folder, folder]
    assert sorted(path.name for path in folder.iterdir()) == ["report.docx", "report.xlsx"]
    load_workbook(folder / "report.xlsx")
    Document(str(folder / "report.docx"))
    assert Notification.select().where(Notification.kind == "report").count() == 1


def run_at_once(work, count=2) -> list:
    """``work()`` in ``count`` threads of their own connections, started together (two
    consumers' worker threads taking the same job); what each returned or raised."""
    barrier, outcomes = threading.Barrier(count), []

    def consumer():
        with db.connection_context():
            barrier.wait()
            try:
                outcomes.append(work())
            except Exception as exc:  # noqa: BLE001 — what the job would have raised
                outcomes.append(exc)

    threads = [threading.Thread(target=consumer) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_a_report_escalated_by_two_consumers_at_once_is_escalated_and_announced_once(
        district):
    from core.matters import escalate_overdue, report_matter
    from core.models import AuditLog, MajorMatter
    moment = dt.datetime(2026, 3, 2, 1, 0)
    report_matter(district.users.lawyer, category="emergency", title="山林纠纷",
                  occurred_at=moment, village=district.villages[0], now=moment)
    outcomes = run_at_once(lambda: escalate_overdue(now=moment + dt.timedelta(hours=2)))
    assert sorted(len(escalated) for escalated in outcomes) == [0, 1], outcomes
    assert MajorMatter.get().escalation_level == 2
    assert AuditLog.select().where(AuditLog.action == "matter.escalate").count() == 1
    told = [user for (user,) in Notification.select(Notification.user)
            .where(Notification.kind == "matter.escalated").tuples()]
    assert told and len(told) == len(set(told))  # each coordinator told once


def test_a_schedule_fired_by_two_consumers_at_once_creates_its_tasks_once(district):
    from core import plugins
    from core.models import AuditLog, Task
    from core.tasks import create_scheduled_tasks
    from core.testing import alone
    from tests.tasks_support import VisitsPlugin
    with alone(("test-visits", VisitsPlugin())):
        schedule = plugins.get_registry().schedules["test_weekly"]
        outcomes = run_at_once(lambda: create_scheduled_tasks(
            schedule, dt.datetime(2026, 3, 2, 9, 0)))
    created = Task.select().where(Task.schedule_key.is_null(False)).count()
    assert created and sorted(outcomes) == [0, created], outcomes
    assert [entry.detail["count"] for entry in AuditLog.select().where(
        AuditLog.action == "task.schedule_create")] == [created]
