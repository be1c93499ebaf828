"""User administration (``/admin/users``, administrators) and every user's own account
(``/account``: the password, the devices, and which notices also come by e-mail).

The views call ``core.users``, which checks that the actor may do it and writes the audit
log. A user's page is one panel: every form on it swaps the panel (HTMX) and answers with a
notice, or, refused, with the core's message next to the form (422, nothing written).
Without HTMX the forms post normally and come back with a flash message.
"""
from flask import Blueprint, abort, flash, redirect, url_for
from flask_wtf import FlaskForm
from peewee import JOIN
from wtforms import (PasswordField, SelectChoice, SelectField, SelectMultipleField,
                     StringField)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from core import clock
from core import notify
from core import sessions
from core.audit import entries_for
from core import users as service
from core.errors import JieduiError
from core.models import ROLES, Lawyer, LawFirm, Town, User, Village
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web import ROLE_LABELS, role_label
from web.access import actor, allow
from web.auth import keep_session
from web.listing import paginate, query_text, search_term
from web.panels import Panel
from web.render import attach_error, htmx, render

bp = Blueprint("users", __name__)

LOGGED_IN = ROLES
CHANGED = "userChanged"
STATUSES = {"active": _l("Active"), "disabled": _l("Disabled")}


# --- forms -------------------------------------------------------------------------------

def _optional_int(value):
    return None if value in (None, "") else int(value)


def _new_password(label):
    return PasswordField(label, validators=[DataRequired(message=_l("Enter a password."))])


def _repeat_password():
    return PasswordField(_l("Repeat the password"), validators=[
        EqualTo("password", message=_l("The two passwords differ."))])


class UserForm(FlaskForm):
    """Display name, role and scope: what an administrator edits of a user."""
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES])
    town = SelectField(_l("Town"), coerce=_optional_int,
                       description=_l("Coordinators and leaders: limits them to one town."))
    village = SelectField(_l("Village"), coerce=_optional_int,
                          description=_l("Village users: their village. Coordinators: limits "
                                         "them to one village."))
    lawyer = SelectField(_l("Lawyer"), coerce=_optional_int,
                         description=_l("Lawyer users: the lawyer they are."))
    firm = SelectField(_l("Law firm"), coerce=_optional_int,
                       description=_l("Leaders only: a firm head reads the work of the "
                                      "firm's lawyers."))

    def scope(self) -> dict:
        return dict(display_name=(self.display_name.data or "").strip(), role=self.role.data,
                    town=Town.get_or_none(Town.id == self.town.data) if self.town.data else None,
                    village=Village.get_or_none(Village.id == self.village.data)
                    if self.village.data else None,
                    lawyer=Lawyer.get_or_none(Lawyer.id == self.lawyer.data)
                    if self.lawyer.data else None,
                    firm=LawFirm.get_or_none(LawFirm.id == self.firm.data)
                    if self.firm.data else None)


class NewUserForm(UserForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(message=_l("Enter a username.")), Length(max=150)])
    password = _new_password(_l("Password"))
    confirm = _repeat_password()


class ResetPasswordForm(FlaskForm):
    password = _new_password(_l("New password"))
    confirm = _repeat_password()


class NoticeForm(FlaskForm):
    """The user's own e-mail address, and the kinds of notice chosen by e-mail: the
    ``by_email`` checkboxes (one per kind of the user's role, core.notify.kinds_for; the
    template draws them, the core checks them)."""
    email = StringField(_l("My e-mail address"), render_kw={"autocomplete": "email",
                                                              "inputmode": "email"},
                        description=_l("Only for the e-mail copies you choose below; "
                                       "nobody else receives them."))
    by_email = SelectMultipleField(validate_choice=False)


class OwnPasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[
        DataRequired(message=_l("Enter your current password."))])
    password = _new_password(_l("New password"))
    confirm = _repeat_password()


def _scope_choices(form: UserForm) -> UserForm:
    """Fill the town, village and lawyer selects (villages grouped by town, lawyers by firm)."""
    none = SelectChoice("", _("None"))
    form.town.choices = [none] + [SelectChoice(t.id, t.name)
                                  for t in Town.select().order_by(Town.code)]
    villages = Village.select(Village, Town).join(Town).order_by(Town.code, Village.code)
    form.village.choices = [none] + [SelectChoice(v.id, v.name, optgroup=v.town.name)
                                     for v in villages]
    lawyers = Lawyer.select(Lawyer, LawFirm).join(LawFirm).order_by(LawFirm.name, Lawyer.name)
    form.lawyer.choices = [none] + [SelectChoice(lw.id, lw.name, optgroup=lw.firm.name)
                                    for lw in lawyers]
    form.firm.choices = [none] + [SelectChoice(firm.id, firm.name)
                                  for firm in LawFirm.select().order_by(LawFirm.name)]
    return form


# --- the list ------------------------------------------------------------------------------

def _users_query(term: str, role: str, status: str):
    query = (User.select(User, Town, Village, Lawyer)
             .join_from(User, Town, on=(User.town == Town.id), join_type=JOIN.LEFT_OUTER)
             .join_from(User, Village, on=(User.village == Village.id), join_type=JOIN.LEFT_OUTER)
             .join_from(User, Lawyer, on=(User.lawyer == Lawyer.id), join_type=JOIN.LEFT_OUTER))
    if term:
        query = query.where(User.username.contains(term) | User.display_name.contains(term))
    if role in ROLES:
        query = query.where(User.role == role)
    if status in STATUSES:
        query = query.where(User.active == (status == "active"))
    return query.order_by(User.username)


@bp.route("/admin/users")
@allow("admin")
def index():
    role, status = query_text("role"), query_text("status")
    page = paginate(_users_query(search_term(), role, status))
    # (``status`` is render's HTTP status, so the filter goes by another name)
    return render("users/index.html", "users/_results.html", listing=page, role=role,
                  status_filter=status, roles=[(r, role_label(r)) for r in ROLES],
                  statuses=list(STATUSES.items()), local=clock.to_local)


# --- create ------------------------------------------------------------------------------

@bp.route("/admin/users/new", methods=["GET", "POST"])
@allow("admin")
def new():
    form = _scope_choices(NewUserForm())
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                user = service.add_user(actor(), form.username.data, form.password.data,
                                        **form.scope())
            except JieduiError as error:
                attach_error(form, error)
            else:
                flash(_("The user %(username)s was created.", username=user.username),
                      "success")
                return redirect(url_for("users.detail", user_id=user.id))
        status = 422
    return render("users/new.html", form=form, status=status,
                  min_password_length=service.MIN_PASSWORD_LENGTH)


# --- one user ------------------------------------------------------------------------------

def _user(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        abort(404)
    return user


def _edit_form(user: User) -> UserForm:
    return _scope_choices(UserForm(formdata=None, prefix="edit", obj=None,
                                   display_name=user.display_name, role=user.role,
                                   town=user.town_id, village=user.village_id,
                                   lawyer=user.lawyer_id, firm=user.firm_id))


def _panel(user: User, *, bound: dict | None = None, errors: list[str] | None = None,
           notice: str | None = None, status: int = 200, trigger: str | None = None):
    """The user's panel; ``bound`` holds a submitted form ("edit" or "reset") to show with
    its errors."""
    bound = bound or {}
    return render("users/detail.html", "users/_panel.html", status=status, trigger=trigger,
                  user=user, edit=bound.get("edit") or _edit_form(user),
                  reset=bound.get("reset") or ResetPasswordForm(formdata=None, prefix="reset"),
                  opened=next(iter(bound), None),
                  errors=errors or [], notice=notice, me=actor(),
                  failed_logins=service.failed_logins(user),
                  invited=not service.has_password(user),
                  live_sessions=sessions.count(user),
                  history=list(entries_for(user).limit(20)), local=clock.to_local)


def _keep_own_session(user: User) -> None:
    if user.id == actor().id:
        keep_session(user)  # e.g. an administrator who reset their own password


# A change answers with the refreshed panel (HTMX), or goes back to the user's page. The
# panel shows the user as stored: refused values stay in the form only.
USER = Panel(_panel, trigger=CHANGED,
             back=lambda user: url_for("users.detail", user_id=user.id),
             reread=lambda user: _user(user.id), on_change=_keep_own_session)


def _refused(user: User, error: JieduiError):
    """A one-button action refused: the message above the panel, or flashed."""
    if htmx:
        return _panel(user, errors=[error.translate(_)], status=422)
    flash(error.translate(_), "error")
    return redirect(url_for("users.detail", user_id=user.id))


@bp.route("/admin/users/<int:user_id>")
@allow("admin")
def detail(user_id):
    return _panel(_user(user_id))


@bp.route("/admin/users/<int:user_id>", methods=["POST"])
@allow("admin")
def update(user_id):
    user = _user(user_id)
    form = _scope_choices(UserForm(prefix="edit"))

    def change():
        service.update_user(actor(), user, **form.scope())
        return _("The changes to %(username)s were saved.", username=user.username)
    return USER.submit(user, "edit", form, change)


@bp.route("/admin/users/<int:user_id>/disable", methods=["POST"])
@allow("admin")
def disable(user_id):
    user = _user(user_id)
    try:
        service.disable_user(actor(), user)
    except JieduiError as error:
        return _refused(user, error)
    return USER.changed(user, _("%(username)s is disabled and logged out everywhere.",
                                username=user.username))


@bp.route("/admin/users/<int:user_id>/enable", methods=["POST"])
@allow("admin")
def enable(user_id):
    user = _user(user_id)
    service.enable_user(actor(), user)
    return USER.changed(user, _("%(username)s can log in again.", username=user.username))


@bp.route("/admin/users/<int:user_id>/end-sessions", methods=["POST"])
@allow("admin")
def end_sessions(user_id):
    user = _user(user_id)
    service.end_sessions(actor(), user)
    return USER.changed(user, _("%(username)s is logged out on every device.",
                                username=user.username))


@bp.route("/admin/users/<int:user_id>/unlock", methods=["POST"])
@allow("admin")
def unlock(user_id):
    """Clear the user's failed logins, so no wait delays their next login."""
    user = _user(user_id)
    service.unlock_user(actor(), user)
    return USER.changed(user, _("%(username)s can log in again at once: their failed logins "
                                "no longer count.", username=user.username))


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@allow("admin")
def reset_password(user_id):
    user = _user(user_id)
    form = ResetPasswordForm(prefix="reset")

    def change():
        service.reset_password(actor(), user, form.password.data)
        return _("The password of %(username)s was changed; they are logged out everywhere.",
                 username=user.username)
    return USER.submit(user, "reset", form, change)


# --- my account ----------------------------------------------------------------------------

def _account(form: OwnPasswordForm | None = None, notice: str | None = None,
             status: int = 200, notices: NoticeForm | None = None,
             chosen: set[str] | None = None):
    user = actor()
    return render("users/account.html", "users/_account.html", status=status,
                  user=user, form=form or OwnPasswordForm(formdata=None),
                  notice=notice, local=clock.to_local,
                  min_password_length=service.MIN_PASSWORD_LENGTH,
                  notices=dict(form=notices or NoticeForm(formdata=None, email=user.email),
                               kinds=[(kind, _(notify.NOTICE_KINDS[kind]))
                                      for kind in notify.kinds_for(user)],
                               chosen=notify.email_kinds(user) if chosen is None else chosen,
                               email_available=notify.personal_email_available()))


def _account_panel(user: User, *, bound: dict | None = None, status: int = 200,
                   trigger: str | None = None, notice: str | None = None):
    """The account section; ``bound`` holds a submitted form ("password" or "notices")."""
    bound = bound or {}
    notices = bound.get("notices")
    return _account(bound.get("password"), notice=notice, status=status, notices=notices,
                    chosen=set(notices.by_email.data or ()) if notices else None)


# The user's own account: its forms swap the section, without an event (nothing else on the
# page shows what they change); a plain post comes back to the account page.
ACCOUNT = Panel(_account_panel, back=lambda user: url_for("users.account"))


@bp.route("/account")
@allow(*LOGGED_IN)
def account():
    return _account()


@bp.route("/account/password", methods=["POST"])
@allow(*LOGGED_IN)
def change_password():
    """Refused: 422, or 429 with Retry-After when the current password was tried too often
    (it is throttled like a login)."""
    form = OwnPasswordForm()

    def change():
        service.change_own_password(actor(), form.current.data, form.password.data)
        keep_session(actor())  # this session goes on; the others ended
        return _("Your password was changed. You are logged out on your other devices.")
    return ACCOUNT.submit(actor(), "password", form, change)


@bp.route("/account/end-sessions", methods=["POST"])
@allow(*LOGGED_IN)
def end_my_sessions():
    user = actor()
    service.end_sessions(user, user)
    keep_session(user)  # this session goes on; the others ended
    return ACCOUNT.changed(user, _("You are logged out on all other devices."))


@bp.route("/account/notices", methods=["POST"])
@allow(*LOGGED_IN)
def save_notices():
    """The user's e-mail address and the kinds of notice they also want by e-mail
    (core.notify.save_notice_settings: checked, audited; refused, nothing is saved)."""
    form = NoticeForm()

    def change():
        notify.save_notice_settings(actor(), actor(), email=form.email.data,
                                    by_email=set(form.by_email.data or ()))
        return _("Your notice settings were saved.")
    return ACCOUNT.submit(actor(), "notices", form, change)
