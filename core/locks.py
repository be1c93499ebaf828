"""The planning lock: one planning of the calendar at a time, and a lock that dies with
its holder.

huey's ``lock_task`` keeps its lock as a key in the queue's storage: a consumer killed
while planning (SIGKILL, OOM, a power cut) leaves the key behind, and every later
planning is refused until someone deletes it by hand. This lock lives where the holder's
death is noticed by someone else:

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on the job's connection;
  the server drops it when the connection ends, however it ends.
- SQLite: ``flock`` on a file next to the database; the kernel drops it when the process
  dies (the database is one file on one machine, so every process planning it sees it).

A planning that finds the lock taken waits a few seconds, then gives up with
``PlanningBusy`` (the jobs turn it into huey's TaskLockedException, so huey retries).
"""
import fcntl
import time
from contextlib import contextmanager
from pathlib import Path

from core.db import db, is_sqlite
from core.errors import ConflictError
from core.i18n import N_
from core import clock
from core.models import PlanRun

# Advisory lock keys are per database on the server; any fixed number names the lock.
PG_PLANNING_KEY = 0x6A696564  # "jied"
WAIT_SECONDS = 5.0  # a look at the lock from the UI holds it for a moment: wait that out
POLL_SECONDS = 0.1


class PlanningBusy(ConflictError):
    """Another planning holds the lock."""


def _lock_file() -> Path:
    path = Path(db.obj.database)
    return path.with_name(path.name + ".planning-lock")


def _try_flock(handle) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _try_advisory() -> bool:
    (taken,) = db.execute_sql("SELECT pg_try_advisory_lock(%s)", (PG_PLANNING_KEY,)).fetchone()
    return bool(taken)


def _release_advisory() -> None:
    try:
        db.execute_sql("SELECT pg_advisory_unlock(%s)", (PG_PLANNING_KEY,))
    except Exception:  # noqa: BLE001 — the connection died: the server released the lock
        pass


def _wait_for(attempt, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while not attempt():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


@contextmanager
def planning_lock(wait: float = WAIT_SECONDS):
    """Hold the planning lock for the block, or raise ``PlanningBusy`` after ``wait``
    seconds. Needs an open connection (the PostgreSQL lock belongs to it)."""
    if is_sqlite():
        # A handle of our own: flock excludes other open handles, in this process too.
        handle = open(_lock_file(), "a+")  # noqa: SIM115 — closed in finally
        try:
            if not _wait_for(lambda: _try_flock(handle), wait):
                raise PlanningBusy(N_("Another planning is running; try again when it ends."))
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            handle.close()
        return
    if not _wait_for(_try_advisory, wait):
        raise PlanningBusy(N_("Another planning is running; try again when it ends."))
    try:
        yield
    finally:
        _release_advisory()


INTERRUPTED = N_("The job consumer stopped while planning (it was killed or restarted).")


def mark_interrupted_runs() -> int:
    """Mark as failed the PlanRuns left "running" by a consumer that died; returns how many.

    Only the holder of the planning lock runs a PlanRun, so while we hold the lock no run
    can be running: any marked so lost its consumer. Called by each planning job once it
    holds the lock, by a consumer as it starts, and by the pages that show the runs.
    Does nothing (0) when a planning holds the lock now."""
    try:
        with planning_lock(wait=0):
            return _fail_running(PlanRun, clock.now_utc())
    except PlanningBusy:
        return 0


def _fail_running(PlanRun, now) -> int:  # noqa: N803 — the model, passed in
    return (PlanRun.update(status="failed", finished_at=now,
                           summary={"error": INTERRUPTED, "interrupted": True})
            .where(PlanRun.status == "running").execute())


def fail_running_runs() -> int:
    """The same, for a caller that holds the lock already (a planning job)."""
    return _fail_running(PlanRun, clock.now_utc())
