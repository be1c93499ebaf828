"""Problems reported to administrators: a failing plugin, notification channel, feed or job.

Whatever fails in the background calls ``report`` from its failure path and carries on,
so the rest still runs. One ``Problem`` row per key (``plugin:<plugin>:<hook>``,
``notification:<channel>``, ``feed:<key>``, ``job:<task>``): a repeat bumps its count
and time, and a problem an administrator resolved that happens again is open again.
When a problem is new or reopened, every active administrator is told in the in-app
inbox, once (the ``problem_opened`` hook: ``core.notices``). No shared copy: those go through the very channels that may be the problem (a
failing robot would be told about itself, and fail again), and to shared mailboxes and
groups where technical errors do not belong. An administrator who asked for problems by
e-mail (core.notify) gets their own copy; when the mail server is the problem, that copy
fails with it, which is a repeat of the open problem and tells nobody again.

``report`` never raises: a failure to report is logged. It writes at once, so call it
outside the caller's transaction (plugin events, jobs and deliveries run after commits).
"""
import logging

from peewee import IntegrityError

from core import clock
from core.audit import record
from core.db import connection, db
from core.errors import PermissionDenied, ValidationError
from core.i18n import N_
from core.models import PROBLEM_SOURCES, Problem, User
from core.plugins import notify

log = logging.getLogger(__name__)

MAX_SUMMARY = 255
MAX_DETAIL = 20_000
RECENTLY_RESOLVED = 20  # shown under the open ones


# --- reporting ---------------------------------------------------------------------------------

def report(source: str, key: str, summary: str, detail: str = "") -> Problem | None:
    """Record that ``key`` failed; tell the administrators when it is new or reopened.
    Returns the problem, or None when even reporting failed (logged, never raised)."""
    try:
        if source not in PROBLEM_SOURCES:
            raise ValueError(f"unknown problem source {source!r}")
        with connection():
            problem, opening = _upsert(source, key[:MAX_SUMMARY], summary[:MAX_SUMMARY],
                                       detail[:MAX_DETAIL])
            if opening is not None:  # the administrators are told (core.notices), once
                notify("problem_opened", problem=problem, opening=opening)
            return problem
    except Exception:  # noqa: BLE001 — called from failure paths: must not add one
        log.exception("could not report the problem %s: %s", key, summary)
        return None


def _upsert(source: str, key: str, summary: str, detail: str) -> tuple[Problem, str | None]:
    """The problem row, and what opened it now: "new", a reopening's mark, or None for a
    repeat of an open problem. Safe when two processes report the same key at once: the
    unique key and the conditional update let exactly one of them open it."""
    now = clock.now_utc()
    problem = Problem.get_or_none(Problem.key == key)
    if problem is None:
        try:
            with db.atomic():
                return Problem.create(key=key, source=source, summary=summary, detail=detail,
                                      first_at=now, last_at=now), "new"
        except IntegrityError:  # another process created it first: a repeat
            problem = Problem.get(Problem.key == key)
    opening = None
    if problem.resolved_at is not None:
        reopened = Problem.update(resolved_at=None).where(
            (Problem.id == problem.id) & (Problem.resolved_at == problem.resolved_at)).execute()
        if reopened:
            opening = f"reopened-{problem.resolved_at:%Y%m%d%H%M%S%f}"
    Problem.update(count=Problem.count + 1, last_at=now, summary=summary,
                   detail=detail).where(Problem.id == problem.id).execute()
    return Problem.get_by_id(problem.id), opening


def error_text(exc: BaseException) -> str:
    """``Type: message`` of an exception, on one line."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


# --- reading and resolving ---------------------------------------------------------------------

def open_problems():
    """The open problems, the most recent first."""
    return (Problem.select().where(Problem.resolved_at.is_null())
            .order_by(Problem.last_at.desc(), Problem.id.desc()))


def open_count() -> int:
    return Problem.select().where(Problem.resolved_at.is_null()).count()


def recently_resolved(limit: int = RECENTLY_RESOLVED):
    return (Problem.select().where(Problem.resolved_at.is_null(False))
            .order_by(Problem.resolved_at.desc(), Problem.id.desc()).limit(limit))


def resolve(actor: User | None, problem: Problem, *, address: str = "") -> Problem:
    """An administrator marks the problem resolved (audited); it opens again if it
    happens again. Resolving a resolved problem is refused."""
    if actor is not None and actor.role != "admin":
        raise PermissionDenied(N_("Only an administrator may resolve a problem."))
    with db.atomic():
        changed = Problem.update(resolved_at=clock.now_utc()).where(
            (Problem.id == problem.id) & Problem.resolved_at.is_null()).execute()
        if not changed:
            raise ValidationError(N_("This problem is resolved already."))
        record(actor, "problem.resolve", obj=problem, address=address,
               detail={"key": problem.key, "count": problem.count})
    return Problem.get_by_id(problem.id)
