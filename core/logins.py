"""Login protection: every try is recorded, and too many recent failures refuse the next one.

``attempt`` is the one place that decides a login. A try is refused — even with the right
password — when the account has ``max_failures`` failures in the window since its last
success, or the client address has ``max_failures_per_address`` failures in the window
(``core.config.login_settings``). An unknown username is an account like any other, and a
wrong password, an unknown user and a disabled user get the same message, so the answers
say nothing about which accounts exist.

A refused try is not recorded: it checked no password, and counting it would keep a locked
account locked for as long as someone keeps trying.
"""
import datetime as dt
import math

from peewee import fn

from core import clock
from core.config import LoginSettings, login_settings
from core.errors import PermissionDenied, TooManyAttempts
from core.i18n import N_
from core.models import LoginAttempt, User
from core.users import authenticate

WRONG_CREDENTIALS = N_("Wrong username or password.")
TOO_MANY = N_("Too many failed attempts. Try again in %(minutes)s minutes.")
# Attempts are kept this long at least (longer if the window is longer), then pruned.
KEEP = dt.timedelta(days=1)
FIELD_LENGTH = 150  # usernames and addresses as stored; longer input is cut


def account_key(username: str | None) -> str:
    """The account an attempt counts against: ``Admin `` and ``admin`` are one account."""
    return (username or "").strip().lower()[:FIELD_LENGTH]


def attempt(username: str, password: str, address: str = "") -> User:
    """The user for a login with ``username`` and ``password`` from ``address``, or
    ``TooManyAttempts`` (throttled) / ``PermissionDenied`` (wrong, unknown or disabled)."""
    key, address = account_key(username), (address or "")[:FIELD_LENGTH]
    rules = login_settings()
    now = clock.now_utc()
    wait = seconds_to_wait(key, address, now, rules)
    if wait > 0:
        raise TooManyAttempts(TOO_MANY, minutes=max(1, math.ceil(wait / 60)))
    user = authenticate(username, password)
    _record(key, address, succeeded=user is not None, now=now, rules=rules)
    if user is None:
        raise PermissionDenied(WRONG_CREDENTIALS)
    return user


def seconds_to_wait(key: str, address: str, now: dt.datetime,
                    rules: LoginSettings | None = None) -> float:
    """0 when a try for ``key`` from ``address`` may go ahead, else the seconds until the
    oldest failure that blocks it leaves the window."""
    rules = rules or login_settings()
    since = now - rules.window
    succeeded = LoginAttempt.succeeded == True  # noqa: E712 (peewee builds SQL from ==)
    last_success = (LoginAttempt.select(fn.MAX(LoginAttempt.at))
                    .where((LoginAttempt.username == key) & succeeded
                           & (LoginAttempt.at > since)).scalar())
    account = (LoginAttempt.username == key) & (LoginAttempt.at > (last_success or since))
    ends = [_block_ends(account, rules.max_failures, rules.window)]
    if address:  # no address (a test, a script): no per-address rule to apply
        ends.append(_block_ends((LoginAttempt.address == address) & (LoginAttempt.at > since),
                                rules.max_failures_per_address, rules.window))
    latest = max((end for end in ends if end is not None), default=None)
    return max(0.0, (latest - now).total_seconds()) if latest else 0.0


def _block_ends(where, limit: int, window: dt.timedelta) -> dt.datetime | None:
    """With ``limit`` failures matching ``where``, the block ends when the ``limit``-th
    newest of them leaves the window; with fewer there is no block (None)."""
    newest = list(LoginAttempt.select(LoginAttempt.at)
                  .where(where & (LoginAttempt.succeeded == False))  # noqa: E712
                  .order_by(LoginAttempt.at.desc()).limit(limit))
    return newest[-1].at + window if len(newest) >= limit else None


def _record(key: str, address: str, *, succeeded: bool, now: dt.datetime,
            rules: LoginSettings) -> None:
    LoginAttempt.create(at=now, username=key, address=address, succeeded=succeeded)
    # Pruning by the indexed ``at`` is cheap, so it runs with every attempt.
    LoginAttempt.delete().where(LoginAttempt.at < now - max(KEEP, rules.window)).execute()
