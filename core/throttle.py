"""Throttling of password checks: logins (``core.logins``) and the current password a user
gives to change it (``core.users.change_own_password``). Every check is recorded
(``LoginAttempt``); recent failures decide how long the next try waits
(``core.config.login_settings``):

- **Per account and address.** The first ``free_failures`` failures of an account from one
  client address cost nothing; after them each further try from that address waits 2, 4,
  8, … seconds after the latest failure, at most ``max_delay``. They count until a success
  from that address, an administrator's unlock (``clear``), or a day. Failures from other
  addresses never delay this one, so nobody can keep the right password from its user by
  failing on purpose elsewhere.
- **Per address, over all accounts.** An address with ``max_failures_per_address``
  failures within ``window`` waits until the oldest of them leaves the window, whatever
  the account: one address cannot try many accounts quickly.

An unknown username is an account like any other. A throttled try checks no password and
is not recorded. A try is recorded as a failure *before* its password is checked (and
made a success after), in one locked step with the check of the wait, so tries sent at
once cannot all pass through one opening.
"""
import datetime as dt
import math
from collections.abc import Callable

from peewee import fn

from core import clock
from core.config import LoginSettings, get_settings
from core.db import db, is_sqlite, transaction
from core.errors import TooManyAttempts
from core.i18n import N_
from core.models import LoginAttempt

TRY_AGAIN_SECONDS = N_("Too many failed attempts. Try again in %(seconds)s seconds.")
TRY_AGAIN_MINUTES = N_("Too many failed attempts. Try again in %(minutes)s minutes.")
# Failures of an account from one address count this long at most; attempts are kept this
# long (longer if a setting's period is longer), then pruned.
KEEP = dt.timedelta(days=1)
FIELD_LENGTH = 150  # usernames and addresses as stored; longer input is cut
# PostgreSQL: the first half of the advisory lock taken per address while a try is checked
# and reserved (the planning lock, core.locks, uses the one-number key space).
PG_LOCK_SPACE = 0x6A6C  # "jl"


def account_key(username: str | None) -> str:
    """The account an attempt counts against: ``Admin `` and ``admin`` are one account."""
    return (username or "").strip().lower()[:FIELD_LENGTH]


def checked(key: str, address: str, check: Callable[[], bool]) -> bool:
    """``check()`` (a password check: True when right), unless the account ``key`` from
    ``address`` must wait (``TooManyAttempts``, nothing checked or recorded). The outcome
    is recorded. Call it outside a transaction: a failure must stay recorded when the
    caller's change is then refused."""
    address = (address or "")[:FIELD_LENGTH]
    rules = get_settings().logins
    now = clock.now_utc()
    with transaction():  # SQLite: BEGIN IMMEDIATE, one writer; PostgreSQL: the lock below
        if not is_sqlite():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                           (PG_LOCK_SPACE, address))
        wait = seconds_to_wait(key, address, now, rules)
        if wait > 0:
            raise too_many(wait)
        attempt = LoginAttempt.create(at=now, username=key, address=address, succeeded=False)
    succeeded = bool(check())
    if succeeded:
        LoginAttempt.update(succeeded=True).where(LoginAttempt.id == attempt.id).execute()
    # Pruning by the indexed ``at`` is cheap, so it runs with every attempt.
    LoginAttempt.delete().where(LoginAttempt.at < now - _kept(rules)).execute()
    return succeeded


def too_many(wait: float) -> TooManyAttempts:
    """The refusal for a try that must wait ``wait`` seconds, in seconds or minutes."""
    seconds = max(1, math.ceil(wait))
    if seconds < 60:
        return TooManyAttempts(TRY_AGAIN_SECONDS, retry_after=seconds, seconds=seconds)
    return TooManyAttempts(TRY_AGAIN_MINUTES, retry_after=seconds,
                           minutes=math.ceil(seconds / 60))


def seconds_to_wait(key: str, address: str, now: dt.datetime,
                    rules: LoginSettings | None = None) -> float:
    """0 when a try for ``key`` from ``address`` may go ahead, else the seconds to wait
    (the longer of the two rules)."""
    rules = rules or get_settings().logins
    ends = [_account_address_ends(key, address, now, rules)]
    if address:  # no address (a test, a script): no per-address rule to apply
        ends.append(_address_ends(address, now, rules))
    latest = max((end for end in ends if end is not None), default=None)
    return max(0.0, (latest - now).total_seconds()) if latest else 0.0


def delay_after(failures: int, rules: LoginSettings) -> dt.timedelta:
    """The wait after the latest of ``failures`` counted failures of one account from one
    address: none for the first ``free_failures``, then 2 s, 4 s, 8 s, … up to
    ``max_delay``."""
    beyond = failures - rules.free_failures
    if beyond < 0:
        return dt.timedelta(0)
    return min(rules.max_delay, dt.timedelta(seconds=2 ** min(beyond + 1, 40)))


def _counted(where):
    return where & (LoginAttempt.succeeded == False) & (LoginAttempt.cleared == False)  # noqa: E712


def counted_failures(key: str, address: str, now: dt.datetime) -> list[dt.datetime]:
    """When the failures that count for ``key`` from ``address`` happened, newest first:
    those since the last success from that address, within a day, not cleared."""
    pair = (LoginAttempt.username == key) & (LoginAttempt.address == address) \
        & (LoginAttempt.at > now - KEEP)
    last_success = (LoginAttempt.select(fn.MAX(LoginAttempt.id))
                    .where(pair & (LoginAttempt.succeeded == True)).scalar())  # noqa: E712
    if last_success is not None:
        pair &= LoginAttempt.id > last_success
    return [row.at for row in LoginAttempt.select(LoginAttempt.at).where(_counted(pair))
            .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())]


def _account_address_ends(key: str, address: str, now: dt.datetime,
                          rules: LoginSettings) -> dt.datetime | None:
    failures = counted_failures(key, address, now)
    delay = delay_after(len(failures), rules)
    return failures[0] + delay if failures and delay else None


def _address_ends(address: str, now: dt.datetime, rules: LoginSettings) -> dt.datetime | None:
    """With ``max_failures_per_address`` failures from ``address`` in the window, the
    block ends when the ``limit``-th newest of them leaves the window; else None."""
    limit = rules.max_failures_per_address
    newest = list(LoginAttempt.select(LoginAttempt.at)
                  .where(_counted((LoginAttempt.address == address)
                                  & (LoginAttempt.at > now - rules.window)))
                  .order_by(LoginAttempt.at.desc()).limit(limit))
    return newest[-1].at + rules.window if len(newest) >= limit else None


def failures_of(key: str) -> int:
    """The failures of the account ``key`` that still count somewhere (any address), for
    an administrator deciding whether to unlock it."""
    now = clock.now_utc()
    addresses = (LoginAttempt.select(LoginAttempt.address).distinct()
                 .where(_counted((LoginAttempt.username == key)
                                 & (LoginAttempt.at > now - KEEP))))
    return sum(len(counted_failures(key, row.address, now)) for row in addresses)


def clear(key: str) -> int:
    """Unlock the account ``key``: its failures, from every address, no longer count (they
    stay recorded). The number cleared."""
    return (LoginAttempt.update(cleared=True)
            .where(_counted(LoginAttempt.username == key)).execute())


def _kept(rules: LoginSettings) -> dt.timedelta:
    return max(KEEP, rules.window, rules.max_delay)
