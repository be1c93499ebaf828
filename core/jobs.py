"""Background jobs. Every job is idempotent: running it twice leaves the same result.

The jobs are registered on ``core.queue.huey`` when this module is imported (importing it
creates no file: the queue's storage is configured by the composition root,
``core.app.setup``, which also registers the programmes' schedules, ``sync_schedules``).
Only the core's reactions (``core.reactions``), the web and the CLI queue jobs; the
services never import this module.
"""
import datetime as dt
import logging
import os
import socket
import time
import traceback
from functools import wraps

from huey import crontab
from huey.exceptions import TaskLockedException
from huey.signals import SIGNAL_ERROR
from peewee import chunked

from core import (assessment, clock, feedback, feeds, matters, notify, pace_tally, planner,
                  plugins, progress_tally, reports, session_tally, tasks)
from core.config import get_settings
from core.db import connection as _job_connection
from core.errors import JieduiError
from core.locks import (PlanningBusy, fail_running_runs, mark_interrupted_runs,
                        planning_lock)
from core.models import Event, PlanRun, ReplanRequest, Village
from core.problems import error_text, report
from core.queue import huey
from core.workdays import check_year

log = logging.getLogger(__name__)


# --- a job that failed for good -------------------------------------------------------------

@huey.signal(SIGNAL_ERROR)
def _report_failed_job(signal, task, exc=None):
    """A job that raised is reported to the administrators (core.problems) once it will
    not be retried any more; a retry that then succeeds is no problem. Runs in the
    consumer (or, in immediate mode, the caller) after the job's own work ended."""
    if getattr(task, "retries", 0):
        return
    error = error_text(exc) if exc is not None else "unknown error"
    report("job", f"job:{task.name}", f"job {task.name} failed: {error}",
           detail="".join(traceback.format_exception(exc)) if exc is not None else "")


@huey.task()
def ping(value: str = "pong") -> str:
    """A no-op job: a consumer that runs it is alive (the tests and the CLI use it)."""
    return value


@huey.task()
def whoami(pause: float = 0.0) -> dict:
    """Which consumer ran this job: its host and process id (several consumers share one
    queue; ``docs/deploy.md``). ``pause`` seconds keep it busy as a real job would."""
    if pause:
        time.sleep(min(pause, 10.0))
    return {"host": socket.gethostname(), "pid": os.getpid()}


@huey.task()
def publish_feeds(event_ids: list[int]) -> dict:
    """Publish the feeds marked dirty (``core.reactions.feeds_changed`` marked those of these
    events before queueing this): a burst of changes is published by the first job to run."""
    with _job_connection():
        return feeds.publish_dirty()


@huey.periodic_task(crontab(minute="7"))
def republish_all_feeds() -> dict:
    """Hourly: publish what was missed (``core.feeds.catch_up``): the feeds still marked
    dirty (a queue that was down, a publishing killed midway) and those whose 90/400-day
    window moved across an event. Unchanged feeds are not rendered."""
    with _job_connection():
        return feeds.catch_up()


# --- planning (core.planner) -----------------------------------------------------------------
PLANNING_LOCK = "jiedui-planning"  # one planning at a time: two would double-book lawyers
# Re-plans after a change wait behind other jobs: a bulk change (an import, the demo) queues
# one per village, and notifications, feeds and the plans people asked for should not wait
# for all of them. (huey: higher priority first; the default is 0.)
BACKGROUND_PRIORITY = -10


def planning_locked(job):
    """Run ``job`` holding the planning lock (core.locks: a lock that dies with a killed
    consumer, unlike huey's lock_task, whose key a killed consumer leaves behind for ever).
    A lock held by another planning raises huey's TaskLockedException: huey retries the
    job later. Holding the lock, no other PlanRun can be running, so one marked "running"
    was left by a dead consumer and is marked failed first."""
    @wraps(job)
    def locked(*args, **kwargs):
        with _job_connection():
            try:
                with planning_lock():
                    fail_running_runs()
                    return job(*args, **kwargs)
            except PlanningBusy as busy:
                raise TaskLockedException(f"unable to acquire lock {PLANNING_LOCK}") from busy
    return locked


def district_crontab(**fields):
    """A crontab on the district's wall clock. huey runs with utc=True and hands periodic
    tasks UTC timestamps; this converts them before matching."""
    matches = crontab(**fields)

    def validate(timestamp):
        local = clock.to_local(timestamp)
        return matches(local.replace(tzinfo=None))
    return validate


def year_is_planned(year: int) -> bool:
    """Re-planning keeps a plan right; a year nobody planned yet is left to be planned."""
    return (Event.select().where(Event.plan_key.contains(f":{year}:")).exists()
            or PlanRun.select().where((PlanRun.year == year) & (PlanRun.status == "done"))
            .exists())


def village_planned_years(village_id: int) -> list[int]:
    """The years with planned events of the village (from their slot keys)."""
    code = Village.select(Village.code).where(Village.id == village_id).scalar()
    if code is None:
        return []
    keys = (Event.select(Event.plan_key).where((Event.village == village_id)
                                               & Event.plan_key.startswith(f"{code}:"))
            .tuples())
    years = set()
    for (key,) in keys:
        year = key[len(code) + 1:].split(":", 1)[0]
        if year.isdigit():
            years.add(int(year))
    return sorted(years)


def execute_plan_run(run_id: int):
    """Run a PlanRun: running → done (summary stored) or failed (the error stored);
    ``done``/``total`` follow the villages as they are written."""
    run = PlanRun.get_by_id(run_id)
    PlanRun.update(status="running", started_at=clock.now_utc()).where(
        PlanRun.id == run_id).execute()

    def progress(done, total):  # the planner reports every few villages, as it commits
        PlanRun.update(done=done, total=total).where(PlanRun.id == run_id).execute()

    try:
        summary = planner.plan_year(run.year, town=run.town, progress=progress)
    except Exception as exc:  # the run must say it failed, whatever the cause
        log.exception("planning %s failed", run.year)
        message = str(exc) if isinstance(exc, JieduiError) else f"{type(exc).__name__}: {exc}"
        PlanRun.update(status="failed", summary={"error": message},
                       finished_at=clock.now_utc()).where(PlanRun.id == run_id).execute()
    else:
        PlanRun.update(status="done", summary=summary, finished_at=clock.now_utc()).where(
            PlanRun.id == run_id).execute()
    return PlanRun.get_by_id(run_id)


@huey.task(retries=10, retry_delay=30)
@planning_locked
def plan_run_job(run_id: int) -> str:
    """Run the planning of a PlanRun (``start_plan_run``)."""
    with _job_connection():
        return execute_plan_run(run_id).status


@huey.on_startup()
def mark_interrupted_runs_at_start():
    """A consumer starting after one was killed: the killed one's PlanRun says "running"
    although nobody runs it (core.locks.mark_interrupted_runs)."""
    with _job_connection():
        mark_interrupted_runs()


def start_plan_run(year: int, town=None):
    """Create a PlanRun for ``year`` (of ``town``, or the district), queue it, return it."""
    check_year(year)
    run = PlanRun.create(year=year, town=town, status="queued", started_at=clock.now_utc())
    plan_run_job(run.id)
    return PlanRun.get_by_id(run.id)


# Every night of December at 02:30, district time.
PLAN_NEXT_YEAR_AT = district_crontab(minute="30", hour="2", month="12")


@huey.periodic_task(PLAN_NEXT_YEAR_AT)
@planning_locked
def plan_next_year() -> str:
    """Every night of December (district time): plan next year, so its calendar is in
    the lawyers' phones before it starts (idempotent: later nights change nothing, or
    what the published holidays or pairings changed)."""
    with _job_connection():
        run = PlanRun.create(year=clock.today().year + 1, status="queued",
                             started_at=clock.now_utc())
        return execute_plan_run(run.id).status


@huey.task(retries=10, retry_delay=30, priority=BACKGROUND_PRIORITY)
@planning_locked
def replan_year(year: int) -> dict | None:
    """Re-plan a year the holidays of which changed (when it has been planned)."""
    with _job_connection():
        if year_is_planned(year):
            return planner.plan_year(year)
    return None


# Re-plans after pairing changes are coalesced: ``request_replan`` writes the village and
# its years to the ReplanRequest table and queues one ``replan_requested`` job, delayed by
# JIEDUI_REPLAN_DELAY_SECONDS, for every change of that moment; the job re-plans every
# village waiting, year by year, in one pass of the planner, and deletes the requests it
# read only once their plan is committed. A request is never lost: one written while a
# re-plan runs is taken by the same job (it looks again before it ends), and a job that
# finds the planning lock held leaves them waiting for the minute's catch-up
# (``catch_up_replans``), which also takes what a restart left.

def request_replan(village_id: int, years) -> None:
    """Ask for the village to be re-planned in ``years`` (those planned already, when the
    job runs). Queues the job unless one was queued for a request of the last moments."""
    delay = get_settings().replan_delay_seconds
    with _job_connection():
        now = clock.now_utc()
        queued = ReplanRequest.select().where(
            ReplanRequest.requested_at >= now - dt.timedelta(seconds=delay)).exists()
        ReplanRequest.insert_many([dict(village=village_id, year=year, requested_at=now)
                                   for year in sorted(set(years))]).execute()
    if huey.immediate or not delay:  # the tests, and an operator who wants no wait
        replan_requested()
    elif not queued:
        replan_requested.schedule(delay=delay)


def replan_requests() -> list[dict]:
    """Re-plan every village waiting (ReplanRequest), one pass of the planner per year over
    all of them, until none waits; returns the planner's summaries. The caller holds the
    planning lock."""
    summaries = []
    while True:
        rows = list(ReplanRequest.select(ReplanRequest.id, ReplanRequest.year)
                    .order_by(ReplanRequest.id).tuples())
        if not rows:
            return summaries
        last = rows[-1][0]
        for year in sorted({year for _id, year in rows}):
            if not year_is_planned(year):
                continue
            villages = (ReplanRequest.select(ReplanRequest.village).distinct()
                        .where((ReplanRequest.year == year) & (ReplanRequest.id <= last)))
            summaries.append(planner.plan_year(year, villages=villages))
        for batch in chunked([row_id for row_id, _year in rows], 500):
            ReplanRequest.delete().where(ReplanRequest.id.in_(batch)).execute()


def _replan_waiting() -> list[dict]:
    with _job_connection():
        if not ReplanRequest.select().exists():
            return []
        try:
            with planning_lock():
                fail_running_runs()
                return replan_requests()
        except PlanningBusy:
            # another planning runs: the requests wait for the next job or the catch-up
            log.info("re-plan requests wait: another planning holds the lock")
            return []


@huey.task(retries=3, retry_delay=30, priority=BACKGROUND_PRIORITY)
def replan_requested() -> list:
    """Re-plan the villages whose pairings changed (``request_replan``)."""
    return _replan_waiting()


@huey.periodic_task(crontab(minute="*"), priority=BACKGROUND_PRIORITY)
def catch_up_replans() -> list:
    """Every minute: re-plan what still waits (a job that found the lock held, a consumer
    restarted meanwhile). One look at an empty table when nothing waits."""
    return _replan_waiting()


@huey.task(retries=10, retry_delay=30, priority=BACKGROUND_PRIORITY)
def replan_village(village_id: int, years: list[int]) -> list:
    """Re-plan one village in the given years that are planned (with whatever else waits)."""
    with _job_connection():
        ReplanRequest.insert_many([dict(village=village_id, year=year)
                                   for year in sorted(set(years))]).execute()
    return _replan_waiting()


# --- schedules: programme work that recurs (core.registry.Schedule) ------------------------
# Every registered Schedule is a huey periodic task named "schedule_<slug>", matched on the
# district's wall clock (district_crontab). The composition root registers them
# (core.app.setup: every process sets up, so the scheduler and the workers agree);
# sync_schedules() registers them again when the plugins change (tests, a reload).

_schedule_jobs: dict[str, tuple] = {}  # slug -> (Schedule, huey TaskWrapper)
SCHEDULE_LOOKBACK_MINUTES = 24 * 60  # a job run late still names the firing it belongs to


def last_firing(cron: dict, now_local: dt.datetime) -> dt.datetime:
    """The minute (district time) at or before ``now_local`` when ``cron`` last fired,
    looking back a day; else ``now_local``'s minute. A job delayed in the queue, or retried,
    thus still creates the tasks of its own firing (and finds them already there)."""
    matches = crontab(**cron)
    minute = now_local.replace(second=0, microsecond=0, tzinfo=None)
    for back in range(SCHEDULE_LOOKBACK_MINUTES):
        moment = minute - dt.timedelta(minutes=back)
        if matches(moment):
            return moment
    return minute


def run_schedule(slug: str, now: dt.datetime | None = None) -> int:
    """Create the tasks of the firing of schedule ``slug`` that ``now`` (naive UTC,
    default the clock) belongs to; returns how many were created (0 on a second run)."""
    schedule = plugins.get_registry().schedules.get(slug)
    if schedule is None:
        log.warning("schedule %r is no longer registered: nothing created", slug)
        return 0
    now = now or clock.now_utc()
    local = clock.to_local(now)
    with _job_connection():
        return tasks.create_scheduled_tasks(schedule, last_firing(schedule.cron, local))


def _schedule_job(slug: str):
    def job() -> int:
        return run_schedule(slug)
    job.__doc__ = f"Create the tasks of schedule {slug!r} (core.registry.Schedule)."
    return job


def sync_schedules(registry=None) -> list[str]:
    """Make huey's periodic tasks match the registered schedules: add the new ones, drop
    the ones gone, re-register the changed ones. Returns the huey task names."""
    if registry is None:
            registry = plugins.get_registry()
    for slug, (schedule, wrapper) in list(_schedule_jobs.items()):
        if registry.schedules.get(slug) != schedule:
            wrapper.unregister()
            del _schedule_jobs[slug]
    for slug, schedule in registry.schedules.items():
        if slug not in _schedule_jobs:
            wrapper = huey.periodic_task(district_crontab(**schedule.cron),
                                         name=f"schedule_{slug}")(_schedule_job(slug))
            _schedule_jobs[slug] = (schedule, wrapper)
    return [f"schedule_{slug}" for slug in _schedule_jobs]


def register_schedules() -> None:
    """``sync_schedules`` for the composition root: a broken plugin fails loudly where the
    registry is used, so here it is logged."""
    try:
        sync_schedules()
    except Exception:  # noqa: BLE001
        log.exception("the schedules of the plugins could not be registered with huey")


# --- notifications and major matters (core.notify, core.matters) ---------------------------

@huey.task()
def send_deliveries() -> dict:
    """Send the notification copies (e-mail, webhook) that are due (``core.notify``)."""
    with _job_connection():
        return notify.send_deliveries()


@huey.periodic_task(crontab(minute="*"))
def retry_deliveries() -> dict:
    """Every minute: send what is due again (a failed attempt waits with backoff; a copy
    queued inside a transaction is picked up here after the commit)."""
    with _job_connection():
        return notify.send_deliveries()


@huey.periodic_task(crontab(minute="*"))
def escalate_matters() -> int:
    """Every minute: escalate unacknowledged major-matter reports (idempotent)."""
    with _job_connection():
        return len(matters.escalate_overdue())


# --- return visits (core.feedback) -------------------------------------------------------------

# Daily at 08:00 district time, not only on the 1st of each JIEDUI_RETURN_VISIT_MONTHS
# month: a consumer down that morning, a fresh install or a pairing started mid-quarter
# would otherwise wait a whole quarter (core.feedback.open_period keeps the months' cadence).
OPEN_RETURN_VISITS_AT = district_crontab(minute="0", hour="8")


@huey.periodic_task(OPEN_RETURN_VISITS_AT)
def open_return_visits() -> int:
    """Daily: the return visit of the open quarter of each active pairing that has none yet,
    for the town coordinator (idempotent: a second run creates none)."""
    with _job_connection():
        return feedback.create_return_visits(clock.today())


# --- early warning (core.assessment) ---------------------------------------------------------

WARN_BEHIND_PACE_AT = district_crontab(minute="0", hour="8", day_of_week="1")  # Mondays


@huey.periodic_task(WARN_BEHIND_PACE_AT)
def warn_behind_pace() -> int:
    """Mondays at 08:00 district time: tell each pairing's coordinators when its sessions or
    publicity events are behind the pro-rata pace (once per pairing and week)."""
    with _job_connection():
        return assessment.send_pace_warnings()


@huey.periodic_task(crontab(minute="17"), priority=BACKGROUND_PRIORITY)
def repair_pace_tally() -> int:
    """Hourly: the kept pace figures (``core.pace_tally``) worked out again and repaired
    where they differ (a change whose reaction failed); returns the rows repaired."""
    with _job_connection():
        return pace_tally.rebuild()


@huey.periodic_task(crontab(minute="47"), priority=BACKGROUND_PRIORITY)
def repair_town_tallies() -> int:
    """Hourly: the counts kept per town and month (``core.town_tally``: the programme
    metrics, the on-site sessions) and the metrics' per lawyer counted again and repaired
    where they differ (a change whose reaction failed, tasks or events written past the
    services); returns the rows repaired."""
    with _job_connection():
        return progress_tally.rebuild() + session_tally.rebuild()


# --- the bureau's quarterly report (core.reports) --------------------------------------------

# Daily at 07:30 district time; core.reports decides whether today is the quarter's first
# workday (or a later day of its first month whose report was missed).
PREPARE_REPORT_AT = district_crontab(minute="30", hour="7")


@huey.periodic_task(PREPARE_REPORT_AT)
def prepare_quarterly_report() -> str | None:
    """The previous quarter's report, stored under the instance folder, and a notice to the
    district coordinators, on the first workday of each quarter (idempotent)."""
    with _job_connection():
        folder = reports.prepare_quarterly_report(clock.today())
        return str(folder) if folder is not None else None
