"""Users: create, check a password, change role and scope, disable, end sessions.

Only administrators manage users (``actor`` None is the operator at the CLI, trusted); a
user changes their own password and ends their own sessions. Every change is written to
the audit log, never with a password or its hash. Bumping ``User.session_version`` ends
every session of the user at their next request (``web.auth.LoginUser.load``).
"""
from werkzeug.security import check_password_hash, generate_password_hash

from core.clock import now_utc
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


def check_password_rules(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(N_("A password needs at least %(n)s characters."),
                              field="password", n=MIN_PASSWORD_LENGTH)
    if password.isdigit() or password.isalpha():
        raise ValidationError(N_("A password needs both letters and digits or symbols."),
                              field="password")


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
    check_password_rules(password)
    if User.select().where(User.username == username).exists():
        raise ConflictError(N_("The username %(username)s is taken."), username=username)
    return User.create(username=username, password_hash=generate_password_hash(password, PASSWORD_METHOD),
                        display_name=(display_name or "").strip() or username, **fields)


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, or None (no hint which was wrong)."""
    user = User.get_or_none(User.username == (username or "").strip())
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_at = now_utc()
    user.save(only=[User.last_login_at])
    return user


# --- administration ------------------------------------------------------------------------

def require_admin(actor: User | None) -> None:
    if actor is not None and actor.role != "admin":
        raise PermissionDenied(N_("Only an administrator may manage users."))


def _bump_session_version(user: User) -> None:
    """End every session of ``user`` (an atomic increment: two bumps never collapse)."""
    User.update(session_version=User.session_version + 1).where(User.id == user.id).execute()
    user.session_version = User.get_by_id(user.id).session_version


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
        _bump_session_version(user)
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
    _bump_session_version(user)
    # revoked for good, so enabling the user again does not bring old addresses back
    revoked = (FeedToken.update(revoked_at=now_utc())
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
    _bump_session_version(user)
    audit.record(actor, "user.end_sessions", obj=user)
    return user


def _set_password(user: User, new: str) -> None:
    check_password_rules(new)
    user.password_hash = generate_password_hash(new, PASSWORD_METHOD)
    user.save(only=[User.password_hash])
    _bump_session_version(user)


@transaction()
def reset_password(actor: User | None, user: User, new: str) -> User:
    """An administrator sets a new password (the user forgot theirs); every session ends."""
    require_admin(actor)
    _set_password(user, new)
    audit.record(actor, "user.reset_password", obj=user)
    return user


@transaction()
def change_own_password(user: User, current: str, new: str) -> User:
    """The user changes their password, knowing the current one; their other sessions end
    (the caller keeps the current one alive with the new ``session_version``)."""
    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationError(N_("The current password is wrong."), field="current")
    if new == current:
        raise ValidationError(N_("The new password is the same as the current one."),
                              field="password")
    _set_password(user, new)
    audit.record(user, "user.change_password", obj=user)
    return user
