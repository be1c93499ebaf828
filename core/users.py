"""Users: create, check a password, change scope."""
from werkzeug.security import check_password_hash, generate_password_hash

from core.clock import now_utc
from core.errors import ConflictError, ValidationError
from core.i18n import N_
from core.models import ROLES, Lawyer, Town, User, Village

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


def create_user(username: str, password: str, role: str, *, display_name: str = "",
                town: Town | None = None, village: Village | None = None,
                lawyer: Lawyer | None = None) -> User:
    username = (username or "").strip()
    if not username:
        raise ValidationError(N_("A user needs a username."), field="username")
    if role not in ROLES:
        raise ValidationError(N_("Unknown role %(role)s."), field="role", role=role)
    if role == "lawyer" and lawyer is None:
        raise ValidationError(N_("A lawyer user must be linked to a lawyer."), field="lawyer")
    if role == "village" and village is None:
        raise ValidationError(N_("A village user must be linked to a village."), field="village")
    check_password_rules(password)
    if User.select().where(User.username == username).exists():
        raise ConflictError(N_("The username %(username)s is taken."), username=username)
    return User.create(username=username, password_hash=generate_password_hash(password, PASSWORD_METHOD),
                        role=role, display_name=display_name or username, town=town,
                        village=village, lawyer=lawyer)


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
