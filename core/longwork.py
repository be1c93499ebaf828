"""Long work as queued jobs: an export of many rows, an import, a report.

A kind of work is registered once with the function that does it::

    longwork.register("export", run_export)

    def run_export(params, progress) -> Result:
        progress(0, len(rows))           # done, total: the page's bar (written at most
        ...                              # every PROGRESS_EVERY seconds)
        return Result(filename="工作日志.xlsx", content=body)   # a file to download
        # or Result(message="…", url="/somewhere")            # a page to go on to

``progress.user`` is the user the work is done for (its scope), ``progress.locale`` the
language they read, ``progress.address`` where they asked from (for the audit log).

``start(user, kind, params)`` answers the job to show: the one queued or running for the
same work (kind, params and user) if there is one — a second click, a reload, a second tab
join it instead of starting another — or the same work finished within
``REUSE_FINISHED`` (a double click gives one file, one audited export), else a new job that
the consumer (``jiedui worker``, or the one ``jiedui run`` holds) runs: ``run_long_job``.
A runner that raises ``JieduiError`` fails the job with that message in the user's
language; any other exception fails it with a general message and is reported to the
administrators like every failed job (``core.jobs``). Files are kept under the instance
folder for ``KEEP_RESULTS`` and then removed with their jobs (``remove_old_jobs``, hourly).

Only the job's user and an administrator see a job (``core.access.can_read_long_job``).

A running job holds a lock that dies with its consumer (``flock`` on a file of the
instance folder with SQLite, an advisory lock on the job's connection with PostgreSQL, as
``core.locks`` does for planning): a job found "running" whose lock is free lost its
consumer (killed, restarted) and is marked failed when its page or a new start looks at
it, so nobody waits for it, and asking again starts the work anew.
"""
import datetime as dt
import fcntl
import hashlib
import json
import logging
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from huey import crontab

from core import clock
from core.access import can_read_long_job
from core.config import get_settings, private_folder
from core.db import after_commit, connection, db, is_sqlite, transaction
from core.errors import JieduiError, NotFound
from core.i18n import N_, gettext_for
from core.models import LongJob, User
from core.queue import huey
from core.vocabulary import LONG_JOB_ACTIVE

log = logging.getLogger(__name__)

REUSE_FINISHED = dt.timedelta(minutes=2)  # the same work asked again this soon: its file
KEEP_RESULTS = dt.timedelta(days=1)  # then the job and its file are removed
PROGRESS_EVERY = 0.5  # seconds between two writes of a job's progress
FOLDER = "long_jobs"  # under the instance folder
FAILED = N_("The work could not be finished. The administrators have been told; please "
            "try again later.")
UNKNOWN_KIND = N_("This kind of work is not available here.")
INTERRUPTED = N_("The work stopped before the end (the job consumer was stopped); please "
                 "ask again.")
PG_LOCK_CLASS = 0x6A6F62 << 32  # "job": a job's advisory lock is this plus its id


@dataclass(frozen=True)
class Result:
    """What a runner made: a file (``filename`` and ``content``), or a ``message`` and the
    ``url`` of a page showing the result (an import's summary)."""
    filename: str = ""
    content: bytes | None = None
    message: str = ""
    url: str = ""


_runners: dict = {}


def register(kind: str, runner) -> None:
    """Do work of ``kind`` with ``runner(params, progress) -> Result`` (registering the
    same kind again replaces its runner)."""
    _runners[kind] = runner


def registered(kind: str) -> bool:
    return kind in _runners


def job_key(kind: str, params: dict, user: User) -> str:
    """The same work for the same person: the same key (the parameters' order aside)."""
    text = json.dumps([kind, params, user.id], sort_keys=True, ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- a lock that dies with the consumer running the job ------------------------------------

def _lock_path(job_id: int) -> Path:
    return private_folder(get_settings().instance / FOLDER) / f"{job_id}.lock"


@contextmanager
def _running_lock(job_id: int):
    """Held by the consumer while it runs the job (released however it ends)."""
    if is_sqlite():
        path = _lock_path(job_id)
        with open(path, "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:  # the file stays (removed with the job): one file, one lock
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    db.execute_sql("SELECT pg_advisory_lock(%s)", (PG_LOCK_CLASS + job_id,))
    try:
        yield
    finally:
        try:
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (PG_LOCK_CLASS + job_id,))
        except Exception:  # noqa: BLE001 - the connection died: the server released it
            pass


def _consumer_alive(job_id: int) -> bool:
    """Whether a consumer holds the job's lock (takes it for a moment when none does)."""
    if is_sqlite():
        path = _lock_path(job_id)
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False
    # PostgreSQL: whether any session holds it, read from pg_locks (trying to take it would
    # succeed in the session that holds it: advisory locks are re-entrant). A bigint key
    # shows as its high 32 bits (classid) and low 32 bits (objid), objsubid 1.
    key = PG_LOCK_CLASS + job_id
    (held,) = db.execute_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid = %s AND objid = %s AND objsubid = 1)",
        (key >> 32, key & 0xFFFFFFFF)).fetchone()
    return bool(held)


def _progress_path(job_id: int) -> Path:
    return get_settings().instance / FOLDER / f"{job_id}.progress"


def _held_progress(job_id: int) -> tuple[int, int | None] | None:
    """The progress a runner inside its transaction left beside the results (``Progress``)."""
    try:
        done, total = _progress_path(job_id).read_text().split()
    except (OSError, ValueError):
        return None
    return int(done), (int(total) if total != "-" else None)


def checked(job: LongJob) -> LongJob:
    """``job`` as it is: one "running" whose consumer died is marked failed first; a
    running job's progress held beside the results (``Progress``) is read from there."""
    if job.status != "running":
        return job
    if _consumer_alive(job.id):
        held = _held_progress(job.id)
        if held:
            job.done, job.total = held[0], held[1] if held[1] is not None else job.total
        return job
    gettext = gettext_for(job.locale)
    LongJob.update(status="failed", message=gettext(INTERRUPTED),
                   finished_at=clock.now_utc()).where(
        (LongJob.id == job.id) & (LongJob.status == "running")).execute()
    return LongJob.get_by_id(job.id)


def _joinable(key: str) -> LongJob | None:
    """A job of ``key`` still to finish, or finished a moment ago with its file."""
    recent = clock.now_utc() - REUSE_FINISHED
    for job in (LongJob.select().where(
            (LongJob.key == key) & (LongJob.status.in_(LONG_JOB_ACTIVE + ("done",))))
            .order_by(LongJob.id.desc()).limit(3)):
        job = checked(job)
        if job.status in LONG_JOB_ACTIVE:
            return job
        if job.finished_at and job.finished_at >= recent and (
                not job.result_path or result_file(job).exists()):
            return job
    return None


def start(user: User, kind: str, params: dict, *, locale: str | None = None,
          address: str = "") -> LongJob:
    """The job doing ``kind`` with ``params`` for ``user``: the one already queued or
    running (or just finished) for the same work, else a new one, queued once this
    transaction commits. ``params`` must be JSON (they are stored and hashed)."""
    if kind not in _runners:
        raise ValueError(f"no long work of kind {kind!r} is registered")
    params = json.loads(json.dumps(params, sort_keys=True, ensure_ascii=False))
    key = job_key(kind, params, user)
    with transaction():
        job = _joinable(key)
        if job is not None:
            return job
        job = LongJob.create(kind=kind, params=params, key=key, user=user,
                             locale=locale or get_settings().locale, address=address[:64],
                             created_at=clock.now_utc())
        job_id = job.id
        after_commit(lambda: run_long_job(job_id))
    return LongJob.get_by_id(job_id)


def readable_job(user: User, job_id: int) -> LongJob:
    """The job, if ``user`` may see it; else NotFound (another's job looks like none)."""
    job = LongJob.get_or_none(LongJob.id == job_id)
    if job is None or not can_read_long_job(user, job):
        raise NotFound(N_("There is no such job, or you may not see it."))
    return checked(job)


def result_file(job: LongJob) -> Path:
    return get_settings().instance / job.result_path


def open_result(user: User, job_id: int) -> tuple[LongJob, Path]:
    """The finished job's file, for its user (or an administrator); NotFound when the job
    is not theirs, not finished, made no file, or its file was removed."""
    job = readable_job(user, job_id)
    path = result_file(job) if job.result_path else None
    if job.status != "done" or path is None or not path.is_file():
        raise NotFound(N_("This file is no longer available; please export again."))
    return job, path


# --- running ---------------------------------------------------------------------------------

class Progress:
    """What a runner is handed to say how far it got: ``progress(done, total)`` — written
    at most every ``PROGRESS_EVERY`` seconds, and always when ``done`` reaches ``total``.

    A runner inside its own transaction (an import: all rows or none) cannot write the
    job's row where the page would see it — its writes show only at its commit, and
    SQLite lets no second connection write meanwhile — so its progress goes to a small file
    beside the results (the instance folder every process of the service shares, as it
    shares the files made), which ``checked`` reads while the job runs."""

    def __init__(self, job: LongJob, every: float = PROGRESS_EVERY):
        self.job_id = job.id
        self.user = job.user
        self.locale = job.locale
        self.address = job.address
        self.every = every
        self._last = None
        self._total = None  # the last total said (the queue's storage keeps both)

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if self._last is not None and now - self._last < self.every and not finished:
            return
        self._last = now
        if db.in_transaction():
            self._total = total if total is not None else self._total
            path = _progress_path(self.job_id)
            private_folder(path.parent)
            partial = path.with_suffix(".part")
            partial.write_text(f"{done} {self._total if self._total is not None else '-'}")
            partial.replace(path)  # a reader sees the old figure or the new, never half
            return
        changes = {"done": done} if total is None else {"done": done, "total": total}
        LongJob.update(**changes).where(LongJob.id == self.job_id).execute()


def _store(job: LongJob, content: bytes) -> str:
    """Write ``content`` under the instance folder (owner-only); the path relative to it."""
    folder = private_folder(get_settings().instance / FOLDER)
    name = f"{job.id}-{secrets.token_hex(8)}.bin"
    path = folder / name
    path.write_bytes(content)
    path.chmod(0o600)
    return f"{FOLDER}/{name}"


def _finish(job_id: int, **changes) -> None:
    _progress_path(job_id).unlink(missing_ok=True)  # a runner's progress held beside
    LongJob.update(finished_at=clock.now_utc(), **changes).where(
        LongJob.id == job_id).execute()


def execute(job_id: int) -> str:
    """Run a queued job: queued → running → done (its file stored) or failed (its message
    in the user's language). A job no longer queued (run already, removed) is left as it
    is, so a job delivered twice runs once. Returns the status."""
    with _running_lock(job_id):  # first: a running job's lock is always held
        claimed = LongJob.update(status="running", started_at=clock.now_utc()).where(
            (LongJob.id == job_id) & (LongJob.status == "queued")).execute()
        job = LongJob.get_or_none(LongJob.id == job_id)
        if not claimed or job is None:
            return job.status if job is not None else "gone"
        return _run(job)


def _run(job: LongJob) -> str:
    job_id = job.id
    gettext = gettext_for(job.locale)
    runner = _runners.get(job.kind)
    try:
        if runner is None:
            raise JieduiError(UNKNOWN_KIND)
        result = runner(dict(job.params), Progress(job))
    except JieduiError as error:
        _finish(job_id, status="failed", message=error.translate(gettext))
        return "failed"
    except Exception:
        log.exception("long job %s (%s) failed", job_id, job.kind)
        _finish(job_id, status="failed", message=gettext(FAILED))
        raise  # huey reports it to the administrators (core.jobs), as any failed job
    stored = _store(job, result.content) if result.content is not None else ""
    held = _held_progress(job_id)
    total = held[1] if held and held[1] is not None else LongJob.get_by_id(job_id).total
    _finish(job_id, status="done", result_path=stored, filename=result.filename[:255],
            message=result.message, url=result.url[:255], done=total, total=total)
    return "done"


@huey.task()
def run_long_job(job_id: int) -> str:
    """Run a long job (``start``)."""
    with connection():
        return execute(job_id)


def remove_old_jobs(now: dt.datetime | None = None) -> int:
    """Remove the jobs asked for more than ``KEEP_RESULTS`` ago, with their files (one
    still marked running that long was left by a consumer that died). Returns how many."""
    cutoff = (now or clock.now_utc()) - KEEP_RESULTS
    removed = 0
    for job in LongJob.select().where(LongJob.created_at < cutoff):
        if job.result_path:
            result_file(job).unlink(missing_ok=True)
        if is_sqlite():
            _lock_path(job.id).unlink(missing_ok=True)
        removed += LongJob.delete().where(LongJob.id == job.id).execute()
    return removed


@huey.periodic_task(crontab(minute="23"))
def remove_old_long_jobs() -> int:
    """Hourly: the files of long jobs are kept a day (``KEEP_RESULTS``)."""
    with connection():
        return remove_old_jobs()
