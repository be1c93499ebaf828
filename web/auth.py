"""Log in and out. Each login is a session on the server (``core.sessions``): the cookie
carries only its random key, so logging out ends it for every copy of the cookie."""
from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from core import logins, sessions
from core.errors import PermissionDenied, TooManyAttempts
from core.models import User, UserSession
from core.vocabulary import ROLES
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.access import allow, public
from web.render import render, safe_path

bp = Blueprint("auth", __name__)

# The session cookie's entry for the key of the server-side session.
SESSION_KEY = "sid"


class LoginUser(UserMixin):
    """Flask-Login's view of a ``core.models.User``, logged in through ``user_session``."""

    def __init__(self, user: User, user_session: UserSession | None = None):
        self.user = user
        self.user_session = user_session

    def get_id(self):
        return str(self.user.id)

    @property
    def is_active(self):
        return self.user.active

    @staticmethod
    def load(user_id):
        """The logged-in user, or None (logged out) when the cookie's session was ended
        (logout, "log out everywhere", a new password, …), has expired, or belongs to
        another user, or the user is disabled."""
        found = sessions.find(session.get(SESSION_KEY), activity=not _is_background())
        if found is None or str(found.user_id) != str(user_id) or not found.user.active:
            return None
        return LoginUser(found.user, found)


def background(view):
    """Marks a view the page calls by itself (e.g. polling a badge): its requests do not
    count as activity, so a page left open still logs out when idle."""
    view.background = True
    return view


def _is_background() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "background", False)


def log_in(user: User) -> None:
    """Start a session of ``user`` in this browser: a new cookie (nothing carried over
    from before the login) holding the key of a new server-side session."""
    session.clear()
    login_user(LoginUser(user))
    session[SESSION_KEY] = sessions.start(user, request.remote_addr or "")


def keep_session(user: User) -> None:
    """Keep this session alive, under a new key, after the user's sessions were ended on
    purpose from it (their own password change, "log out on all other devices")."""
    current = getattr(current_user, "user_session", None)
    key = sessions.renew(current) if current is not None and current.user_id == user.id \
        else None
    if key:
        session[SESSION_KEY] = key


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def _safe_next(target: str | None) -> str:
    """Only paths on this site, so the login cannot redirect elsewhere (web.render)."""
    return safe_path(target, url_for("coverage.start"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        try:
            user = logins.attempt(form.username.data, form.password.data,
                                  request.remote_addr or "")
        except TooManyAttempts as refused:
            flash(refused.translate(_), "error")
            status, headers = 429, {"Retry-After": str(refused.retry_after)}
        except PermissionDenied as refused:  # the same words for every account
            flash(refused.translate(_), "error")
            status = 401
        else:
            log_in(user)
            return redirect(_safe_next(request.args.get("next")))
    response = render("auth/login.html", form=form, status=status)
    response.headers.update(headers)
    return response


@bp.route("/logout", methods=["POST"])
@allow(*ROLES)
@login_required
def logout():
    """End this session on the server (a copy of the cookie stops working too); the
    user's other devices stay logged in."""
    sessions.end(getattr(current_user, "user_session", None))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<lang>")
@public
def language(lang):
    """Switch the UI language (kept in a cookie)."""
    from web import LANGUAGES
    response = redirect(_safe_next(request.args.get("next")))
    if lang in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True)
    return response
