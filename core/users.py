"""Users: create, check a password, change role and scope, disable, unlock, end sessions.

Only administrators manage users (``actor`` None is the operator at the CLI, trusted); a
user changes their own password and ends their own sessions. Every change is written to
the audit log, never with a password or its hash. Ending a user's sessions deletes their
session rows (``core.sessions``): every device is logged out at its next request.
"""
import datetime as dt
import functools
import re
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from core import clock, sessions, throttle
from core.db import transaction
from core import audit
from core.errors import ConflictError, PermissionDenied, ValidationError
from core.i18n import N_
from core.models import ROLES, FeedToken, Lawyer, Town, User, Village

MIN_PASSWORD_LENGTH = 8
# werkzeug's method string; tests lower the cost, since they create many users.
PASSWORD_METHOD = "scrypt"
# Checked against even when the user does not exist, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

# --- password rules ------------------------------------------------------------------------
# Refused: common passwords (a list shipped in core/passwords/common.txt, compared without
# case and without symbols at either end), a common word or up to three letters with a
# simple number (wang123456, qq1314, admin2024, a12345678), and passwords built from the
# username (containing it, reversed or not, or its letters with digits). Existing hashes
# are kept: the rules apply when a password is set.
PASSWORD_LISTS = Path(__file__).parent / "passwords"
TOO_COMMON = N_("This password is too common and easy to guess. Choose another.")
HAS_USERNAME = N_("A password must not contain the username, reversed or not.")
_EDGE_SYMBOLS = "!@#$%^&*()_+-=.,?~`'\"/\\|;:<>[]{} "
_WORD_AND_NUMBER = re.compile(r"([^\W\d_]+)(\d+)|(\d+)([^\W\d_]+)")
# Numbers people add for luck or love (520 我爱你, 1314 一生一世) and keypad patterns.
_LUCKY_NUMBERS = {"520", "521", "1314", "5201314", "1314520", "7758521", "168", "518", "666",
                  "888", "999", "110", "119", "007", "147", "258", "369", "147258",
                  "147258369", "159357", "159753", "741852963", "789456", "789456123",
                  "456123", "123456789"}
_RUNS = ("01234567890123456789", "98765432109876543210")


@functools.cache
def _listed(name: str) -> frozenset[str]:
    lines = (PASSWORD_LISTS / name).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def _is_date(digits: str) -> bool:
    """A year (1940–2039), or a date written YYYYMMDD, YYMMDD or MMDD."""
    formats = {4: ("%Y", "%m%d"), 6: ("%y%m%d",), 8: ("%Y%m%d",)}.get(len(digits), ())
    for pattern in formats:
        try:
            day = dt.datetime.strptime(digits, pattern)
        except ValueError:
            continue
        if pattern in ("%Y", "%Y%m%d") and not 1940 <= day.year <= 2039:
            continue
        return True
    return False


def _simple_number(digits: str) -> bool:
    """A number easy to guess: one digit repeated, a run up or down, a short block repeated
    (1212, 123123), a lucky number, a year or a date."""
    if digits in _LUCKY_NUMBERS or any(digits in run for run in _RUNS):
        return True
    if any(len(digits) % size == 0 and digits == digits[:size] * (len(digits) // size)
           for size in range(1, len(digits) // 2 + 1)):
        return True
    return _is_date(digits)


def _too_common(password: str) -> bool:
    plain = password.lower().strip(_EDGE_SYMBOLS)
    if password.lower() in _listed("common.txt") or plain in _listed("common.txt"):
        return True
    match = _WORD_AND_NUMBER.fullmatch(plain)
    if match is None:
        return False
    word, number = (match[1], match[2]) if match[1] else (match[4], match[3])
    return (len(word) <= 3 or word in _listed("words.txt")) and _simple_number(number)


def _built_from_username(password: str, username: str) -> bool:
    name = (username or "").strip().lower()
    if not name:
        return False
    lowered = password.lower()
    if len(name) >= 3 and (name in lowered or name[::-1] in lowered):
        return True
    letters = "".join(ch for ch in lowered if ch.isalpha())
    return letters in (name, name[::-1])


def check_password_rules(password: str, username: str = "") -> None:
    """Refuse (``ValidationError`` on the field ``password``) a password that is short,
    only letters or only digits, common, or built from ``username``."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(N_("A password needs at least %(n)s characters."),
                              field="password", n=MIN_PASSWORD_LENGTH)
    if password.isdigit() or password.isalpha():
        raise ValidationError(N_("A password needs both letters and digits or symbols."),
                              field="password")
    if _built_from_username(password, username):
        raise ValidationError(HAS_USERNAME, field="password")
    if _too_common(password):
        raise ValidationError(TOO_COMMON, field="password")


def _scope_fields(role: str, town: Town | None, village: Village | None,
                  lawyer: Lawyer | None) -> dict:
    """The role and the scope fields that apply to it, checked: a coordinator has the
    district, a town or a village; a lawyer user its lawyer; a village user its village.
    Fields that do not apply to the role are cleared."""
    if role not in ROLES:
        raise ValidationError(N_("Unknown role %(role)s."), field="role", role=role)
    if role == "lawyer" and lawyer is None:
        raise ValidationError(N_("A lawyer user must be linked to a lawyer."), field="lawyer")
    if role == "village" and village is None:
        raise ValidationError(N_("A village user must be linked to a village."), field="village")
    return dict(role=role, town=town if role == "coordinator" else None,
                village=village if role in ("coordinator", "village") else None,
                lawyer=lawyer if role == "lawyer" else None)


def create_user(username: str, password: str, role: str, *, display_name: str = "",
                town: Town | None = None, village: Village | None = None,
                lawyer: Lawyer | None = None) -> User:
    username = (username or "").strip()
    if not username:
        raise ValidationError(N_("A user needs a username."), field="username")
    fields = _scope_fields(role, town, village, lawyer)
    check_password_rules(password, username)
    if User.select().where(User.username == username).exists():
        raise ConflictError(N_("The username %(username)s is taken."), username=username)
    return User.create(username=username, password_hash=generate_password_hash(password, PASSWORD_METHOD),
                        display_name=(display_name or "").strip() or username, **fields)


# The password of a user invited to choose their own (core.invitations): no hash werkzeug
# can match, so nobody logs in with it.
NO_PASSWORD_YET = "!invited"


def create_invited_user(username: str, role: str, *, display_name: str = "",
                        email: str = "", town: Town | None = None,
                        village: Village | None = None, lawyer: Lawyer | None = None) -> User:
    """A user (scope checked like ``create_user``) who has no password yet: they choose
    it through an invitation (``set_first_password``)."""
    fields = _scope_fields(role, town, village, lawyer)
    if User.select().where(User.username == username).exists():
        raise ConflictError(N_("The username %(username)s is taken."), username=username)
    return User.create(username=username, password_hash=NO_PASSWORD_YET, email=email,
                       display_name=(display_name or "").strip() or username, **fields)


def has_password(user: User) -> bool:
    return user.password_hash != NO_PASSWORD_YET


def set_first_password(user: User, new: str) -> None:
    """The user chooses their password through an invitation (the house's rules); any
    session they had ends."""
    _set_password(user, new)


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, or None (no hint which was wrong)."""
    user = User.get_or_none(User.username == (username or "").strip())
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_at = clock.now_utc()
    user.save(only=[User.last_login_at])
    return user


# --- administration ------------------------------------------------------------------------

def require_admin(actor: User | None) -> None:
    if actor is not None and actor.role != "admin":
        raise PermissionDenied(N_("Only an administrator may manage users."))


def _end_sessions(user: User) -> None:
    """End every session of ``user``: each device is logged out at its next request."""
    sessions.end_all(user)


@transaction()  # the change and its audit entry, or neither
def add_user(actor: User | None, username: str, password: str, role: str, *,
             display_name: str = "", town: Town | None = None, village: Village | None = None,
             lawyer: Lawyer | None = None) -> User:
    """``create_user`` by an administrator, audited."""
    require_admin(actor)
    user = create_user(username, password, role, display_name=display_name, town=town,
                       village=village, lawyer=lawyer)
    audit.record(actor, "user.create", obj=user, detail=_describe(user))
    return user


def _describe(user: User) -> dict:
    """The fields the audit log keeps of a user (never the password hash)."""
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "town": user.town_id, "village": user.village_id, "lawyer": user.lawyer_id}


@transaction()
def update_user(actor: User | None, user: User, *, display_name: str, role: str,
                town: Town | None = None, village: Village | None = None,
                lawyer: Lawyer | None = None) -> User:
    """Change the display name, role and scope (checked like ``create_user``). A change of
    role or scope ends the user's sessions, so no page keeps showing the old scope."""
    require_admin(actor)
    fields = _scope_fields(role, town, village, lawyer)
    if actor is not None and actor.id == user.id and role != user.role:
        raise ValidationError(N_("You cannot change your own role."), field="role")
    fields["display_name"] = (display_name or "").strip() or user.username
    before = _describe(user)
    for name, value in fields.items():
        setattr(user, name, value)
    after = _describe(user)
    changed = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    if not changed:
        return user
    user.save()
    if set(changed) - {"display_name"}:
        _end_sessions(user)
    audit.record(actor, "user.update", obj=user, detail={"changed": changed})
    return user


@transaction()
def disable_user(actor: User | None, user: User) -> User:
    """Refuse the user's logins and end their sessions and feed addresses at once."""
    require_admin(actor)
    if actor is not None and actor.id == user.id:
        raise ValidationError(N_("You cannot disable your own account."))
    user.active = False
    user.save(only=[User.active])
    _end_sessions(user)
    # revoked for good, so enabling the user again does not bring old addresses back
    revoked = (FeedToken.update(revoked_at=clock.now_utc())
               .where((FeedToken.user == user.id) & FeedToken.revoked_at.is_null()).execute())
    audit.record(actor, "user.disable", obj=user, detail={"feed_tokens_revoked": revoked})
    return user


@transaction()
def enable_user(actor: User | None, user: User) -> User:
    require_admin(actor)
    user.active = True
    user.save(only=[User.active])
    audit.record(actor, "user.enable", obj=user)
    return user


@transaction()
def end_sessions(actor: User | None, user: User) -> User:
    """Log ``user`` out on every device. An administrator may do it to anyone; a user to
    themself."""
    if actor is None or actor.id != user.id:
        require_admin(actor)
    _end_sessions(user)
    audit.record(actor, "user.end_sessions", obj=user)
    return user


def _set_password(user: User, new: str) -> None:
    check_password_rules(new, user.username)
    user.password_hash = generate_password_hash(new, PASSWORD_METHOD)
    user.save(only=[User.password_hash])
    _end_sessions(user)


def _unlock(actor: User | None, user: User, *, always: bool = False) -> int:
    """Clear the user's login failures (``user.unlock`` in the audit log when there were
    any, or ``always``); the number cleared."""
    cleared = throttle.clear(throttle.account_key(user.username))
    if cleared or always:
        audit.record(actor, "user.unlock", obj=user, detail={"failures": cleared})
    return cleared


def failed_logins(user: User) -> int:
    """The user's recent login failures that still delay a login (from any address)."""
    return throttle.failures_of(throttle.account_key(user.username))


@transaction()
def unlock_user(actor: User | None, user: User) -> int:
    """An administrator lets the user log in at once: their failed logins, from every
    address, no longer count (they stay recorded). Audited as ``user.unlock`` even when
    nothing was to clear; the number of failures cleared."""
    require_admin(actor)
    return _unlock(actor, user, always=True)


@transaction()
def reset_password(actor: User | None, user: User, new: str) -> User:
    """An administrator sets a new password (the user forgot theirs, or was locked out);
    every session ends and the failed logins no longer count."""
    require_admin(actor)
    _set_password(user, new)
    audit.record(actor, "user.reset_password", obj=user)
    _unlock(actor, user)
    return user


def change_own_password(user: User, current: str, new: str, address: str | None = None
                        ) -> User:
    """The user changes their password, knowing the current one; all their sessions end
    (the web renews the one they are using). The check of the current password is
    throttled like a login, and counts against the user's account and ``address``
    (default: the request's)."""
    address = audit.request_address.get() if address is None else address
    right = throttle.checked(throttle.account_key(user.username), address,
                             lambda: check_password_hash(user.password_hash, current or ""))
    if not right:  # recorded as a failure above, outside the transaction below
        raise ValidationError(N_("The current password is wrong."), field="current")
    return _change_own_password(user, current, new)


@transaction()
def _change_own_password(user: User, current: str, new: str) -> User:
    if new == current:
        raise ValidationError(N_("The new password is the same as the current one."),
                              field="password")
    _set_password(user, new)
    audit.record(user, "user.change_password", obj=user)
    return user
