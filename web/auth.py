"""Log in and out."""
from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from core import logins
from core.errors import PermissionDenied, TooManyAttempts
from core.models import User
from web.access import allow, public
from web.render import render

bp = Blueprint("auth", __name__)


class LoginUser(UserMixin):
    """Flask-Login's view of a ``core.models.User``."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self):
        return str(self.user.id)

    @property
    def is_active(self):
        return self.user.active

    @staticmethod
    def load(user_id):
        """The logged-in user, or None (logged out) when the user is gone or disabled, or
        their sessions were ended after this one began (another ``session_version``)."""
        user = User.get_or_none(User.id == int(user_id)) if str(user_id).isdigit() else None
        if user is None or not user.active:
            return None
        if session.get(SESSION_VERSION) != user.session_version:
            return None
        return LoginUser(user)


SESSION_VERSION = "session_version"


def keep_session(user: User) -> None:
    """Keep this session alive after the user's sessions were ended on purpose from it
    (their own password change, "log out on all other devices")."""
    session[SESSION_VERSION] = user.session_version


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def _safe_next(target: str | None) -> str:
    """Only paths on this site, so the login cannot redirect elsewhere."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("coverage.index")


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
            session.clear()  # a new session at login: nothing carried over from before
            login_user(LoginUser(user))
            keep_session(user)
            return redirect(_safe_next(request.args.get("next")))
    response = render("auth/login.html", form=form, status=status)
    response.headers.update(headers)
    return response


@bp.route("/logout", methods=["POST"])
@allow("admin", "coordinator", "lawyer", "village")
@login_required
def logout():
    logout_user()
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
