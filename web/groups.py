"""The WeChat group register of a village's active pairing (五.7): one HTMX section on the
village page (and a page of its own), with forms that call ``core.groups``.

Coordinators who manage the village and administrators rename the group, set its
administrator, add, edit and remove members; the paired lawyer reads it. Every change
answers with the refreshed section and the ``groupChanged`` event (the pairing panel's group
summary listens for it); a rule the core refuses comes back as its translated message next
to the form, with status 422, nothing written and what was typed kept. Without HTMX the
forms post normally and are redirected back (PRG) with a flash message.
"""
import datetime as dt

from flask import Blueprint, abort, flash, redirect, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectChoice, SelectField, StringField

from core import groups as service
from core.access import can_change_group, can_read_group, can_read_village
from core.errors import JieduiError
from core.photos import photo_limit, picture_version
from core.models import Pairing, Town, Village, WechatGroup, WechatGroupMember
from core.vocabulary import MANAGERS, READERS
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.access import actor, allow
from web.lawyers import private_picture
from web.pairings import GROUP_ROLE_LABELS
from web.panels import Panel
from web.render import back_to, htmx, render

bp = Blueprint("groups", __name__, url_prefix="/groups")

CHANGED = "groupChanged"


# --- forms -------------------------------------------------------------------------------
# The core checks every value (its messages land next to the fields); the forms only carry
# them, and the selects accept any value so that the core's message, not WTForms', is shown.

def _member_id(value):
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


class RenameForm(FlaskForm):
    name = StringField(_l("Group name"))


class AdministratorForm(FlaskForm):
    member = SelectField(_l("Administrator"), coerce=_member_id, validate_choice=False)


class MemberForm(FlaskForm):
    name = StringField(_l("Name"))
    role = SelectField(_l("Role"), validate_choice=False)
    phone = StringField(_l("Phone"), description=_l("Optional: a mobile number or a landline "
                                                     "with its area code"))

    def values(self) -> dict:
        return dict(name=self.name.data or "", role=self.role.data or "",
                    phone=self.phone.data or "")


class JoinQrForm(FlaskForm):
    """The group's join QR code: a picture and the day it expires (the core checks both)."""
    file = FileField(_l("QR code picture"), render_kw={
        "accept": ".jpg,.jpeg,.png,.webp,image/jpeg,image/png,image/webp"})
    expires = StringField(_l("Expires on"), render_kw={"type": "date"},
                          description=_l("The day WeChat shows under the code (valid for 7 "
                                         "days); residents see it until the day before."))


def _join_qr_form() -> JoinQrForm:
    return JoinQrForm(formdata=None, prefix="join_qr",
                      expires=service.default_join_qr_expiry().isoformat())


def _role_choices(roles) -> list[SelectChoice]:
    return [SelectChoice(role, GROUP_ROLE_LABELS.get(role, role)) for role in roles]


def _add_form(bound: bool = False) -> MemberForm:
    form = MemberForm(prefix="add", **({} if bound else {"formdata": None}))
    form.role.choices = [SelectChoice("", _("Choose a role…"))] + _role_choices(
        service.MEMBER_ROLES)
    return form


def _member_form(member: WechatGroupMember, bound: bool = False) -> MemberForm:
    kwargs = {} if bound else {"formdata": None, "name": member.name, "role": member.role,
                               "phone": member.phone}
    form = MemberForm(prefix=f"member-{member.id}", **kwargs)
    roles = ((service.PAIRED_LAWYER,) if member.role == service.PAIRED_LAWYER
             else service.MEMBER_ROLES)
    form.role.choices = _role_choices(roles)
    return form


def _administrator_form(group: WechatGroup, members: list, bound: bool = False):
    current = service.administrator(group, members)
    kwargs = {} if bound else {"formdata": None, "member": current.id if current else None}
    form = AdministratorForm(prefix="admin", **kwargs)
    form.member.choices = [SelectChoice(m.id, f"{m.name} · {GROUP_ROLE_LABELS.get(m.role, m.role)}")
                           for m in members]
    return form


def _fresh_forms(group: WechatGroup, members: list) -> dict:
    forms = {"rename": RenameForm(formdata=None, prefix="rename", name=group.name),
             "admin": _administrator_form(group, members),
             "add": _add_form(), "join_qr": _join_qr_form()}
    forms.update({f"member-{m.id}": _member_form(m) for m in members})
    return forms


# --- loading with scope checks -----------------------------------------------------------

def _readable_village(code: str) -> Village:
    village = (Village.select(Village, Town).join(Town).where(Village.code == code).first()
               if code.isprintable() else None)
    if village is None or not can_read_village(actor(), village):
        abort(404)
    return village


def _checked(group: WechatGroup | None) -> WechatGroup:
    """404 for a group the user may not see (missing and out of scope look the same), 403
    for one they see but may not change."""
    if group is None or not can_read_village(actor(), group.pairing.village):
        abort(404)
    if not can_change_group(actor(), group):
        abort(403)
    return group


def _manageable_group(group_id: int) -> WechatGroup:
    return _checked(WechatGroup.select(WechatGroup, Pairing, Village, Town)
                    .join(Pairing).join(Village).join(Town)
                    .where(WechatGroup.id == group_id).first())


def _manageable_member(member_id: int) -> WechatGroupMember:
    member = WechatGroupMember.get_or_none(WechatGroupMember.id == member_id)
    group = _manageable_group(member.group_id) if member is not None else None
    if member is None:
        abort(404)
    member.group = group
    return member


# --- the section -------------------------------------------------------------------------

def _section(village: Village, *, bound: dict | None = None, status: int = 200,
             trigger: str | None = None, notice: str | None = None,
             alerts: tuple = ()):
    """The register of the village's active pairing's group; ``bound`` holds a submitted
    form to show with its errors."""
    pairing = (Pairing.select().where((Pairing.village == village) & (Pairing.status == "active"))
               .first())
    group = service.group_of(pairing) if pairing is not None else None
    members, forms, manage = [], {}, False
    if group is not None:
        group.pairing = pairing
        pairing.village = village
        members = service.read_group(actor(), group)
        manage = can_change_group(actor(), group)
        forms = _fresh_forms(group, members) if manage else {}
    alerts = list(alerts)
    for name, form in (bound or {}).items():
        if name in forms:
            forms[name] = form
        else:  # e.g. editing a member somebody removed meanwhile: its form is gone
            alerts += [message for errors in form.errors.values() for message in errors]
            alerts += list(form.form_errors)
    return render("groups/register.html", "groups/_register.html", status=status,
                  trigger=trigger, village=village, pairing=pairing, group=group,
                  join_qr=_join_qr_state(group),
                  join_qr_max_mb=f"{photo_limit() / 1024 / 1024:g}",
                  members=members, admin=service.administrator(group, members) if group else None,
                  forms=forms, manage=manage, opened=next(iter(bound), None) if bound else None,
                  notice=notice, alerts=alerts, role_labels=GROUP_ROLE_LABELS)


def _join_qr_state(group: WechatGroup | None) -> dict | None:
    """What the register shows of the join QR code (None: none uploaded)."""
    if group is None or not group.join_qr:
        return None
    expires = group.join_qr_expires
    return {"version": picture_version(group.join_qr), "expires": expires,
            "until": expires - dt.timedelta(days=1) if expires else None,
            "shown": service.join_qr_shown(group)}


def _back_to(village: Village) -> str:
    return back_to(url_for("groups.register", code=village.code))


SECTION = Panel(_section, trigger=CHANGED, back=_back_to)


# --- views -------------------------------------------------------------------------------
# The core checks every value: the forms are not validated here (validate=False).

@bp.route("/village/<code>")
@allow(*READERS, "lawyer")
def register(code):
    return _section(_readable_village(code))


@bp.route("/<int:group_id>/name", methods=["POST"])
@allow(*MANAGERS)
def rename(group_id):
    group = _manageable_group(group_id)
    form = RenameForm(prefix="rename")

    def change():
        service.rename_group(actor(), group, form.name.data or "")
        return _("The group is now called %(name)s.", name=group.name)
    return SECTION.submit(group.pairing.village, "rename", form, change, validate=False)


@bp.route("/<int:group_id>/administrator", methods=["POST"])
@allow(*MANAGERS)
def set_administrator(group_id):
    group = _manageable_group(group_id)
    members = service.members_in_role_order(group)
    form = _administrator_form(group, members, bound=True)

    def change():
        member = next((m for m in members if m.id == form.member.data), None)
        if member is None:
            form.member.errors = [_("Choose one of the group's members.")]
            return None
        service.set_administrator(actor(), group, member)
        return _("%(name)s administers the group now.", name=member.name)
    return SECTION.submit(group.pairing.village, "admin", form, change, validate=False)


@bp.route("/<int:group_id>/members", methods=["POST"])
@allow(*MANAGERS)
def add_member(group_id):
    group = _manageable_group(group_id)
    form = _add_form(bound=True)

    def change():
        member = service.add_member(actor(), group, **form.values())
        return _("%(name)s was added to the group.", name=member.name)
    return SECTION.submit(group.pairing.village, "add", form, change, validate=False)


@bp.route("/members/<int:member_id>", methods=["POST"])
@allow(*MANAGERS)
def edit_member(member_id):
    member = _manageable_member(member_id)
    form = _member_form(member, bound=True)

    def change():
        service.edit_member(actor(), member, **form.values())
        return _("%(name)s was saved.", name=member.name)
    return SECTION.submit(member.group.pairing.village, f"member-{member_id}", form, change,
                          validate=False)


@bp.route("/members/<int:member_id>/remove", methods=["POST"])
@allow(*MANAGERS)
def remove_member(member_id):
    """One button, no form: a refusal stands above the section (or is flashed)."""
    member = _manageable_member(member_id)
    village = member.group.pairing.village
    try:
        service.remove_member(actor(), member)
    except JieduiError as error:
        if htmx:
            return _section(village, status=422, alerts=(error.translate(_),))
        flash(error.translate(_), "error")
        return redirect(_back_to(village))
    return SECTION.changed(village, _("%(name)s was removed from the group.", name=member.name))


# --- the join QR code ----------------------------------------------------------------------

@bp.route("/<int:group_id>/join-qr", methods=["POST"])
@allow(*MANAGERS)
def upload_join_qr(group_id):
    """Upload or replace the join QR code; a refusal (not a picture, a wrong day, too
    large) comes back next to its field with what was typed, nothing written."""
    group = _manageable_group(group_id)
    village = group.pairing.village

    def save(stream, form):
        service.set_join_qr(actor(), group, stream, form.expires.data or "")
        return _("The QR code to join %(group)s is up until %(day)s.", group=group.name,
                 day=group.join_qr_expires.isoformat())
    return SECTION.submit_file(village, "join_qr", JoinQrForm, save, limit=photo_limit(),
                               missing=_("Choose the picture of the group's QR code."),
                               empty={"expires": service.default_join_qr_expiry().isoformat()})


@bp.route("/<int:group_id>/join-qr/remove", methods=["POST"])
@allow(*MANAGERS)
def remove_join_qr(group_id):
    group = _manageable_group(group_id)
    service.remove_join_qr(actor(), group)
    return SECTION.changed(group.pairing.village,
                           _("The QR code to join %(group)s is removed.", group=group.name))


@bp.route("/<int:group_id>/join-qr")
@allow(*READERS, "lawyer")
def join_qr(group_id):
    """The uploaded join QR code for those who read the register, expired or not (the
    public page serves it only while it works: web/public.py)."""
    group = (WechatGroup.select(WechatGroup, Pairing, Village).join(Pairing).join(Village)
             .where(WechatGroup.id == group_id).first())
    if group is None or not can_read_group(actor(), group):
        abort(404)
    return private_picture(service.join_qr_path(group))
