"""Security and reliability records: login attempts (for rate limiting), the sessions of
logged-in users, and the problems reported to administrators (a failing plugin,
notification channel, feed or job)."""
from peewee import (BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField,
                    TextField)

from core.clock import now_utc
from core.db import BaseModel
from core.models.organisation import User
from core.vocabulary import PROBLEM_SOURCES  # noqa: F401 (models' API)



class LoginAttempt(BaseModel):
    """One check of a password: a login, or the current password when a user changes it.
    Recent failures, counted per account and address and per address, decide how long the
    next try waits (``core.throttle``)."""
    at = DateTimeField(default=now_utc, index=True)
    username = CharField(index=True)  # as typed, stripped and lower-cased
    address = CharField(index=True, default="")
    succeeded = BooleanField(default=False)
    # An administrator unlocked the account after this failure: it is kept, but no longer
    # counts.
    cleared = BooleanField(default=False)


class UserSession(BaseModel):
    """One login on one device. The session cookie carries a random key; only its SHA-256
    is stored. Logging out deletes the row, so a copy of the cookie stops working; a row
    idle or old past the limits of ``core.config.login_settings`` no longer counts
    (``core.sessions``)."""
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    key_hash = CharField(unique=True)
    created_at = DateTimeField(default=now_utc)
    # The last request, written at most every few minutes (core.sessions.TOUCH_EVERY).
    last_seen_at = DateTimeField(default=now_utc, index=True)
    address = CharField(default="")  # where the login came from


class LoginInvitation(BaseModel):
    """A one-time link that lets a new user choose their own password (core.invitations).
    Only the SHA-256 of its random token is kept; it works once, until ``expires_at``,
    and re-issuing an invitation revokes the ones before it."""
    user = ForeignKeyField(User, backref="login_invitations", on_delete="CASCADE")
    token_hash = CharField(unique=True)
    created_at = DateTimeField(default=now_utc)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    expires_at = DateTimeField(index=True)
    used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)


class Problem(BaseModel):
    """Something failed in the background and an administrator should know. One row per
    ``key`` (e.g. ``feed:lawyer:3``): a repeat bumps ``count`` and ``last_at`` instead of
    piling up rows, and a problem that comes back after it was resolved is open again."""
    key = CharField(unique=True)
    source = CharField()  # one of PROBLEM_SOURCES
    summary = CharField()
    detail = TextField(default="")
    first_at = DateTimeField(default=now_utc)
    last_at = DateTimeField(default=now_utc, index=True)
    count = IntegerField(default=1)
    resolved_at = DateTimeField(null=True)
