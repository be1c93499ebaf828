"""Sessions on the server: one ``UserSession`` row per login on one device.

The session cookie carries a random key (256 bits); only its SHA-256 is stored. A session
is good while its row exists, it was used within ``session_idle`` and it began within
``session_lifetime`` (``core.config.login_settings``). So:

- logging out deletes the row: a copy of the cookie, wherever it went, stops working,
  and the user's other devices stay logged in;
- ending every session of a user ("log out everywhere", a new password, a new role or
  scope, disabling) deletes all their rows (``end_all``);
- the last activity is written at most every ``TOUCH_EVERY``, not on every request, so a
  session ends between ``session_idle - TOUCH_EVERY`` and ``session_idle`` after its last
  request.
"""
import datetime as dt
import hashlib
import secrets

from core import clock
from core.config import LoginSettings, get_settings
from core.models import User, UserSession

TOUCH_EVERY = dt.timedelta(minutes=5)
FIELD_LENGTH = 150  # addresses as stored


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(user: User, address: str = "", *, began: dt.datetime | None = None) -> str:
    """A new session of ``user`` (logged in from ``address``); the key for the cookie.
    ``began`` keeps the start of a session renewed under a new key (``renew``), so its
    lifetime is not extended."""
    now = clock.now_utc()
    prune(now)
    key = secrets.token_urlsafe(32)
    UserSession.create(user=user, key_hash=_digest(key), created_at=began or now,
                       last_seen_at=now, address=(address or "")[:FIELD_LENGTH])
    return key


def find(key, *, activity: bool = True) -> UserSession | None:
    """The live session with the cookie key ``key`` (with its user), or None. A session
    found idle or too old is deleted. ``activity`` False: a request the page makes by
    itself (a badge polling for news), which must not keep an unattended session alive."""
    if not key or not isinstance(key, str):
        return None
    found = (UserSession.select(UserSession, User).join(User)
             .where(UserSession.key_hash == _digest(key)).first())
    if found is None:
        return None
    now = clock.now_utc()
    if expired(found, now):
        found.delete_instance()
        return None
    if activity and now - found.last_seen_at >= TOUCH_EVERY:
        # one write per TOUCH_EVERY, even when several requests of the session race here
        (UserSession.update(last_seen_at=now)
         .where((UserSession.id == found.id) & (UserSession.last_seen_at <= now - TOUCH_EVERY))
         .execute())
        found.last_seen_at = now
    return found


def expired(user_session: UserSession, now: dt.datetime,
            rules: LoginSettings | None = None) -> bool:
    rules = rules or get_settings().logins
    return (now - user_session.last_seen_at > rules.session_idle
            or now - user_session.created_at > rules.session_lifetime)


def end(user_session: UserSession | None) -> None:
    """Log this session out (its cookie, and every copy of it, stops working)."""
    if user_session is not None:
        UserSession.delete().where(UserSession.id == user_session.id).execute()


def end_all(user: User) -> int:
    """Log ``user`` out on every device; the number of sessions ended."""
    return UserSession.delete().where(UserSession.user == user).execute()


def renew(user_session: UserSession) -> str | None:
    """Keep this session going after the user's sessions were ended on purpose from it
    (their own new password, "log out on all other devices"): it starts again under a new
    key (same user, address and start, so its lifetime is not extended), and a copy of the
    old cookie stays logged out. The new key; None when the session was not ended (it goes
    on as it is)."""
    if UserSession.select().where(UserSession.id == user_session.id).exists():
        return None
    return start(user_session.user, user_session.address, began=user_session.created_at)


def count(user: User) -> int:
    """The user's live sessions (devices logged in)."""
    now, rules = clock.now_utc(), get_settings().logins
    return (UserSession.select()
            .where((UserSession.user == user)
                   & (UserSession.last_seen_at >= now - rules.session_idle)
                   & (UserSession.created_at >= now - rules.session_lifetime))
            .count())


def prune(now: dt.datetime | None = None) -> int:
    """Delete the sessions that have expired (run at every login)."""
    now = now or clock.now_utc()
    rules = get_settings().logins
    return (UserSession.delete()
            .where((UserSession.last_seen_at < now - rules.session_idle)
                   | (UserSession.created_at < now - rules.session_lifetime))
            .execute())
