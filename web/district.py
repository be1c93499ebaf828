"""The district set up in the browser (administrators), and the invitation links.

1. ``/admin/setup``: upload the district's spreadsheet (.xlsx or .csv, at most
   ``JIEDUI_MAX_UPLOAD_MB``). The file is kept under the instance folder by a token
   (``core.importer.stage``) and previewed (``core.importer.preview_staged``): every bad
   row explained, nothing written. Fix the file and upload it again.
2. Confirm (a POST with CSRF carrying only the token): the import runs as a long job
   (``run_import``, core.longwork) in one transaction; the answer is the job's page with
   its progress bar, then ``/admin/setup/imported`` with what it did and the invitations.
3. ``/admin/setup/invitations``: logins for every lawyer, village and town without one,
   each with a one-time link; the answer is the printable sheet (one card per person,
   link and QR code), and the links are sent by e-mail where it is configured. A link is
   shown only when it is issued: a lost one is issued again, which kills the old.
4. ``/invite/<token>`` (public): the person chooses a password and is logged in.
"""
import logging

import qrcode
import qrcode.image.svg
from urllib.parse import urlencode

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import get_locale
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from werkzeug.exceptions import RequestEntityTooLarge

from core import clock, importer, login_invitations, longwork
from core import users as user_service
from core.config import get_settings
from core.errors import JieduiError, ValidationError
from core.i18n import ngettext_for
from core.models import District, User
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web import role_label
from web.access import actor, allow, public
from web.auth import log_in
from web.render import attach_error, render

bp = Blueprint("setup", __name__)
log = logging.getLogger(__name__)

KINDS = {"towns": _l("Towns"), "villages": _l("Villages"), "firms": _l("Law firms"),
         "lawyers": _l("Lawyers"), "pairings": _l("Pairings")}
OUTCOMES = {"created": _l("New"), "updated": _l("Changed"), "unchanged": _l("Unchanged")}
PEOPLE = {"lawyers": _l("Lawyers"), "villages": _l("Villages"), "towns": _l("Towns")}
STATES = {"open": _l("Link not used yet"), "used": _l("Used"), "revoked": _l("Replaced"),
          "expired": _l("Expired"), "none": _l("Never invited")}


class UploadForm(FlaskForm):
    file = FileField(_l("The district's spreadsheet"), render_kw={
        "accept": ".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml"
                  ".sheet,text/csv"},
        description=_l(".xlsx or .csv (UTF-8 or GB18030), one row per village; the columns "
                       "are those of the sample file."))


class DistrictUploadForm(UploadForm):
    """The first upload, before any district exists: its name too."""
    district_name = StringField(_l("Name of the district"), validators=[
        Optional(), Length(max=100)], render_kw={"placeholder": importer.DEFAULT_DISTRICT_NAME},
        description=_l("As people call it, e.g. 青山区. Empty: 本区."))


def _upload_form(**kwargs) -> UploadForm:
    """The upload form; it asks for the district's name while there is no district."""
    form_class = UploadForm if District.select().exists() else DistrictUploadForm
    return form_class(**kwargs)


class ConfirmForm(FlaskForm):
    token = HiddenField()


class InviteForm(FlaskForm):
    by_email = BooleanField(_l("Also send each link by e-mail where the person has an address"))


class ChoosePasswordForm(FlaskForm):
    password = PasswordField(_l("Choose a password"), validators=[
        DataRequired(message=_l("Enter a password."))],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the password"), render_kw={"autocomplete": "new-password"},
                            validators=[
        EqualTo("password", message=_l("The two passwords differ."))])


# --- the import -------------------------------------------------------------------------------

IMPORT = "import"  # the kind of long work (core.longwork) an import is


def run_import(params: dict, progress) -> longwork.Result:
    """The import of the upload kept under ``params["token"]`` as a long job: the job's
    page shows its bar (``progress(done, total)``, row by row) and then leads to
    ``params["next"]``, the summary (its counts in the query: the job keeps a message and a
    link, not a table). A file that no longer imports (the database changed since its
    preview) fails the job with the importer's words."""
    summary = importer.apply_staged(params["token"], progress=progress)
    counts = {kind: ".".join(str(summary[kind][outcome]) for outcome in importer.OUTCOMES)
              for kind in KINDS}
    ngettext = ngettext_for(progress.locale)
    message = ngettext("%(num)d row imported.", "%(num)d rows imported.",
                       summary["rows"]) % {"num": summary["rows"]}
    return longwork.Result(message=message,
                           url=f"{params['next']}?{urlencode(dict(rows=summary['rows'], **counts))}")


longwork.register(IMPORT, run_import)


def _imported_summary() -> dict:
    """The summary ``run_import`` put in the result's link (numbers only)."""
    summary = {"rows": request.args.get("rows", 0, type=int)}
    for kind in KINDS:
        numbers = (request.args.get(kind) or "").split(".")
        numbers = [int(n) if n.isdigit() else 0 for n in numbers] + [0] * len(importer.OUTCOMES)
        summary[kind] = dict(zip(importer.OUTCOMES, numbers))
    return summary


def _upload_page(form=None, status=200, error: str | None = None):
    return render("setup/index.html", form=form or _upload_form(formdata=None), status=status,
                  error=error, missing=login_invitations.without_login(),
                  limit_mb=f"{get_settings().max_upload_bytes / 1024 / 1024:g}",
                  columns=importer.COLUMNS)


@bp.route("/admin/setup")
@allow("admin")
def index():
    return _upload_page()


@bp.route("/admin/setup/preview", methods=["POST"])
@allow("admin")
def preview():
    """Keep the upload and show what importing it would do; nothing is written."""
    limit = get_settings().max_upload_bytes
    too_large = _("The file is larger than %(max)s MB.", max=f"{limit / 1024 / 1024:g}")
    request.max_content_length = limit + 1024 * 1024
    try:
        if (request.content_length or 0) > request.max_content_length:
            raise RequestEntityTooLarge()
        form = _upload_form()
        valid = form.validate()
    except RequestEntityTooLarge:
        return _upload_page(status=413, error=too_large)
    if not valid:
        if "csrf_token" in form.errors:
            abort(400)
        return _upload_page(form, status=422)
    upload = form.file.data
    if not upload or not upload.filename:
        form.file.errors = [_("Choose the spreadsheet to upload.")]
        return _upload_page(form, status=422)
    try:
        token = importer.stage(upload.stream, upload.filename,
                               getattr(form, "district_name", None) and form.district_name.data)
        result = importer.preview_staged(token)
    except JieduiError as error:
        attach_error(form, error)
        if not form.file.errors:
            form.file.errors = [error.translate(_)]
        return _upload_page(form, status=422)
    return render("setup/preview.html", result=result, problems=[
        (p.row, p.column, p.error.translate(_)) for p in result.problems],
        form=ConfirmForm(formdata=None, token=token),
        upload=_upload_form(formdata=None, district_name=getattr(form, "district_name", None)
                            and form.district_name.data),
        kinds=KINDS, outcomes=OUTCOMES, status=422 if result.problems else 200)


@bp.route("/admin/setup/import", methods=["POST"])
@allow("admin")
def confirm():
    """Import the previewed upload (its token; the file itself stays on the server) as a
    long job: the answer is the job's page with its progress bar; a second click joins it
    (a token no longer kept fails the job with the importer's words)."""
    form = ConfirmForm()
    if not form.validate():
        abort(400)
    job = longwork.start(actor(), IMPORT, {"token": form.token.data,
                                           "next": url_for("setup.imported")},
                         locale=str(get_locale()), address=request.remote_addr or "")
    return redirect(url_for("jobs.job", job_id=job.id), code=303)


@bp.route("/admin/setup/imported")
@allow("admin")
def imported():
    """What the import did, and the invitations for the people it brought."""
    return render("setup/done.html", summary=_imported_summary(), kinds=KINDS,
                  outcomes=OUTCOMES, missing=login_invitations.without_login(), people=PEOPLE,
                  invite=InviteForm(formdata=None), email=bool(login_invitations.channels()))


# --- invitations ------------------------------------------------------------------------------

def _link(token: str) -> str:
    return url_for("setup.accept", token=token, _external=True)


def qr_svg(text: str) -> Markup:
    """The QR code of ``text`` as inline SVG (prints sharp; no inline style)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8,
                        border=2)
    svg = image.to_string(encoding="unicode")
    return Markup(svg[svg.index("<svg"):])


def _sheet(issued: list, sent: dict | None = None):
    cards = [dict(user=item.user, who=_who(item.user), role=_role(item.user),
                  link=_link(item.token), qr=qr_svg(_link(item.token)),
                  expires=item.expires_on) for item in issued]
    return render("setup/sheet.html", cards=cards, sent=sent)


def _role(user: User) -> str:
    return _("Town coordinator") if user.role == "coordinator" and user.town_id \
        else role_label(user.role)


def _who(user: User) -> str:
    if user.lawyer_id:
        return f"{user.lawyer.name} · {user.lawyer.firm.name}"
    if user.village_id:
        return f"{user.village.name} · {user.village.town.name}"
    if user.town_id:
        return user.town.name
    return user.display_name


@bp.route("/admin/setup/invitations")
@allow("admin")
def invitation_list():
    waiting = [(user, _who(user), STATES[login_invitations.state(invitation)], invitation)
               for user, invitation in login_invitations.waiting()]
    return render("setup/invitations.html", missing=login_invitations.without_login(),
                  people=PEOPLE, waiting=waiting, invite=InviteForm(formdata=None),
                  reissue=FlaskForm(formdata=None), email=bool(login_invitations.channels()),
                  role_label=role_label, local=clock.to_local)


@bp.route("/admin/setup/invitations", methods=["POST"])
@allow("admin")
def invite():
    """Logins and invitations for everyone without a login; the answer is their sheet."""
    form = InviteForm()
    if not form.validate():
        abort(400)
    issued = login_invitations.invite_missing(actor())
    sent = login_invitations.send(actor(), issued, _link, _) if form.by_email.data else None
    return _sheet(issued, sent)


@bp.route("/admin/setup/invitations/<int:user_id>", methods=["POST"])
@allow("admin")
def reissue(user_id):
    """A new link for one person (the old one stops working); the answer is their card."""
    if not FlaskForm().validate():
        abort(400)
    user = User.get_or_none(User.id == user_id)
    if user is None:
        abort(404)
    try:
        issued = login_invitations.reissue(actor(), user)
    except ValidationError as error:
        return render("setup/invitations.html", missing=login_invitations.without_login(),
                      people=PEOPLE, waiting=[], invite=InviteForm(formdata=None),
                      reissue=FlaskForm(formdata=None), email=bool(login_invitations.channels()),
                      role_label=role_label, error=error.translate(_), status=422)
    return _sheet([issued])


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def accept(token):
    """The invited person chooses their password, and is logged in on /home."""
    try:
        invitation = login_invitations.check(token)
    except ValidationError as error:
        return render("setup/accept.html", error=error.translate(_), form=None, status=410)
    form = ChoosePasswordForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                user = login_invitations.accept(token, form.password.data)
            except ValidationError as error:
                attach_error(form, error)
            else:
                log_in(user)
                return redirect(url_for("home.index"))
        status = 422
    return render("setup/accept.html", form=form, user=invitation.user, status=status,
                  error=None, min_password_length=user_service.MIN_PASSWORD_LENGTH)
