"""Log in and out."""
from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from core.models import User
from core.users import authenticate
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
        user = User.get_or_none(User.id == int(user_id)) if str(user_id).isdigit() else None
        return LoginUser(user) if user is not None and user.active else None


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
    status = 200
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            session.clear()  # a new session at login: nothing carried over from before
            login_user(LoginUser(user))
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong username or password."), "error")
        status = 401
    return render("auth/login.html", form=form, status=status)


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
