"""Pairing management: a panel per village with HTMX forms that call core.pairings.

Every change answers with the refreshed panel and the ``pairingChanged`` event (the
coverage table listens for it); a rule the core refuses comes back as its translated
message next to the form, with status 422, and nothing written. Without HTMX the forms
post normally and are redirected back (PRG) with a flash message.
"""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core import clock
from core import pairings as service
from core.access import can_manage_village, can_read_village
from core.errors import JieduiError
from core.models import (GROUP_ROLES, LawFirm, Lawyer, Pairing, Town, Village, WechatGroup,
                         WechatGroupMember)
from core.models.pairing import GROUP_ROLE_NAMES
from web.access import actor, allow
from web.render import attach_error, back_to, htmx, render

bp = Blueprint("pairings", __name__, url_prefix="/pairings")

CHANGED = "pairingChanged"
WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))
HALF_DAYS = {"am": _l("Morning"), "pm": _l("Afternoon")}
# the group roles' names (core.models.pairing), translated when shown
GROUP_ROLE_LABELS = {role: _l(name) for role, name in GROUP_ROLE_NAMES.items()}


# --- forms -------------------------------------------------------------------------------

def _optional_int(value):
    return None if value in (None, "") else int(value)


def _lawyer_field(label):
    return SelectField(label, coerce=_optional_int,
                       validators=[DataRequired(message=_l("Choose a lawyer."))])


def _weekday_field():
    choices = [SelectChoice("", _l("No preference"))] + [
        SelectChoice(str(i), day) for i, day in enumerate(WEEKDAYS)]
    return SelectField(_l("Preferred weekday"), choices=choices, default="")


def _half_day_field():
    choices = [SelectChoice("", _l("No preference"))] + [
        SelectChoice(value, label) for value, label in HALF_DAYS.items()]
    return SelectField(_l("Preferred half-day"), choices=choices, default="")


def _required_date(label):
    return DateField(label, validators=[InputRequired(message=_l("Enter a date."))])


class TermForm(FlaskForm):
    """The term and the on-site arrangements (驻点时间) of a pairing."""
    term_start = _required_date(_l("Term starts"))
    term_end = _required_date(_l("Term ends"))
    onsite_hours = StringField(_l("On-site hours"), validators=[Optional(), Length(max=200)],
                               description=_l("As published to residents, e.g. "
                                              "the first Tuesday morning of each month"))
    preferred_weekday = _weekday_field()
    preferred_half_day = _half_day_field()

    def arrangements(self) -> dict:
        weekday = self.preferred_weekday.data
        return dict(term_start=self.term_start.data, term_end=self.term_end.data,
                    onsite_hours=(self.onsite_hours.data or "").strip(),
                    preferred_weekday=int(weekday) if weekday else None,
                    preferred_half_day=self.preferred_half_day.data or None)


class PairForm(TermForm):
    lawyer = _lawyer_field(_l("Lawyer"))


class EndForm(FlaskForm):
    ended_on = _required_date(_l("Last day"))
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)],
                           render_kw={"rows": 2})


class ReplaceForm(FlaskForm):
    lawyer = _lawyer_field(_l("New lawyer"))
    on = _required_date(_l("New lawyer from"))
    term_end = DateField(_l("New term ends"), validators=[Optional()],
                         description=_l("Empty: the current term's end"))
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)],
                           render_kw={"rows": 2})


def _lawyer_choices(exclude: int | None = None) -> list[SelectChoice]:
    """Active lawyers grouped by firm, after a "choose" placeholder."""
    query = (Lawyer.select(Lawyer.id, Lawyer.name, LawFirm.name.alias("firm_name"))
             .join(LawFirm).where(Lawyer.active).order_by(LawFirm.name, Lawyer.name))
    return [SelectChoice("", _("Choose a lawyer…"))] + [
        SelectChoice(lawyer.id, lawyer.name, optgroup=lawyer.firm_name)
        for lawyer in query.objects() if lawyer.id != exclude]


def _fresh_forms(current: Pairing | None) -> dict:
    """The panel's forms with their defaults, not bound to the request."""
    today = clock.today()
    if current is None:
        form = PairForm(formdata=None, prefix="pair", term_start=today,
                        term_end=service.default_term_end(today))
        form.lawyer.choices = _lawyer_choices()
        return {"pair": form}
    term = TermForm(formdata=None, prefix="term", term_start=current.term_start,
                    term_end=current.term_end, onsite_hours=current.onsite_hours,
                    preferred_weekday="" if current.preferred_weekday is None
                    else str(current.preferred_weekday),
                    preferred_half_day=current.preferred_half_day or "")
    end = EndForm(formdata=None, prefix="end", ended_on=today)
    replace = ReplaceForm(formdata=None, prefix="replace", on=today)
    replace.lawyer.choices = _lawyer_choices(exclude=current.lawyer_id)
    return {"term": term, "end": end, "replace": replace}


# --- loading with scope checks -----------------------------------------------------------

def _readable_village(code: str) -> Village:
    village = (Village.select(Village, Town).join(Town).where(Village.code == code).first())
    if village is None or not can_read_village(actor(), village):
        abort(404)
    return village


def _manageable_village(code: str) -> Village:
    village = _readable_village(code)
    if not can_manage_village(actor(), village):
        abort(403)
    return village


def _manageable_pairing(pairing_id: int) -> Pairing:
    pairing = (Pairing.select(Pairing, Village, Town).join(Village).join(Town)
               .where(Pairing.id == pairing_id).first())
    if pairing is None or not can_read_village(actor(), pairing.village):
        abort(404)
    if not can_manage_village(actor(), pairing.village):
        abort(403)
    return pairing


# --- the panel ---------------------------------------------------------------------------

def _with_lawyer(query):
    return query.select_extend(Lawyer, LawFirm).join(Lawyer).join(LawFirm)


def _group_members(pairing: Pairing) -> tuple[WechatGroup | None, list]:
    """The WeChat group and its members as [(role label, [members])] in the plan's order."""
    group = WechatGroup.get_or_none(WechatGroup.pairing == pairing)
    if group is None:
        return None, []
    by_role = {}
    for member in group.members.order_by(WechatGroupMember.id):
        by_role.setdefault(member.role, []).append(member)
    roles = [*GROUP_ROLES, *sorted(set(by_role) - set(GROUP_ROLES))]
    return group, [(GROUP_ROLE_LABELS.get(role, role), by_role[role])
                   for role in roles if role in by_role]


def _panel(village: Village, *, bound: dict | None = None, status: int = 200,
           trigger: str | None = None, notice: str | None = None):
    """The village's pairing panel; ``bound`` holds a submitted form to show with its errors."""
    in_village = Pairing.select(Pairing).where(Pairing.village == village)
    current = _with_lawyer(in_village.where(Pairing.status == "active")).first()
    past = list(_with_lawyer(in_village.where(Pairing.status != "active"))
                .order_by(Pairing.ended_on.desc(), Pairing.id.desc()))
    group, members = _group_members(current) if current else (None, [])
    manage = can_manage_village(actor(), village)
    forms = _fresh_forms(current) if manage else {}
    alerts = []
    for name, form in (bound or {}).items():
        if name in forms:
            forms[name] = form
        else:  # e.g. ending a pairing somebody else ended meanwhile: its form is gone
            alerts += [message for errors in form.errors.values() for message in errors]
    return render("pairings/panel.html", "pairings/_panel.html", status=status, trigger=trigger,
                  village=village, current=current, past=past, group=group, members=members,
                  forms=forms, opened=next(iter(bound), None) if bound else None,
                  manage=manage, notice=notice, alerts=alerts, today=clock.today(),
                  weekdays=WEEKDAYS, half_days=HALF_DAYS)


def _back_to(village: Village) -> str:
    return back_to(url_for("pairings.panel", code=village.code))


def _changed(village: Village, message: str):
    if htmx:
        return _panel(village, trigger=CHANGED, notice=message)
    flash(message, "success")
    return redirect(_back_to(village))


def _refused(village: Village, name: str, form: FlaskForm):
    return _panel(village, bound={name: form}, status=422)


# --- views -------------------------------------------------------------------------------

@bp.route("/village/<code>/panel")
@allow("admin", "coordinator", "lawyer", "village")
def panel(code):
    return _panel(_readable_village(code))


@bp.route("/village/<code>", methods=["POST"])
@allow("admin", "coordinator")
def pair(code):
    village = _manageable_village(code)
    form = PairForm(prefix="pair")
    form.lawyer.choices = _lawyer_choices()
    if form.validate():
        lawyer = Lawyer.get_by_id(form.lawyer.data)
        try:
            service.pair(actor(), lawyer=lawyer, village=village, **form.arrangements())
        except JieduiError as error:
            attach_error(form, error)
        else:
            return _changed(village, _("%(lawyer)s is now the lawyer of %(village)s.",
                                       lawyer=lawyer.name, village=village.name))
    return _refused(village, "pair", form)


@bp.route("/<int:pairing_id>/term", methods=["POST"])
@allow("admin", "coordinator")
def update_term(pairing_id):
    pairing = _manageable_pairing(pairing_id)
    form = TermForm(prefix="term")
    if form.validate():
        try:
            service.update_pairing(actor(), pairing, **form.arrangements())
        except JieduiError as error:
            attach_error(form, error)
        else:
            return _changed(pairing.village, _("The term and on-site hours of %(village)s "
                                               "were saved.", village=pairing.village.name))
    return _refused(pairing.village, "term", form)


@bp.route("/<int:pairing_id>/end", methods=["POST"])
@allow("admin", "coordinator")
def end(pairing_id):
    pairing = _manageable_pairing(pairing_id)
    form = EndForm(prefix="end")
    if form.validate():
        try:
            service.end_pairing(actor(), pairing, ended_on=form.ended_on.data,
                                reason=(form.reason.data or "").strip())
        except JieduiError as error:
            attach_error(form, error)
        else:
            return _changed(pairing.village, _("The pairing of %(village)s has ended; it has "
                                               "no lawyer now.", village=pairing.village.name))
    return _refused(pairing.village, "end", form)


@bp.route("/<int:pairing_id>/replace", methods=["POST"])
@allow("admin", "coordinator")
def replace(pairing_id):
    pairing = _manageable_pairing(pairing_id)
    form = ReplaceForm(prefix="replace")
    form.lawyer.choices = _lawyer_choices(exclude=pairing.lawyer_id)
    if form.validate():
        lawyer = Lawyer.get_by_id(form.lawyer.data)
        try:
            service.replace_lawyer(actor(), pairing, lawyer=lawyer, on=form.on.data,
                                   term_end=form.term_end.data,
                                   reason=(form.reason.data or "").strip())
        except JieduiError as error:
            attach_error(form, error)
        else:
            return _changed(pairing.village, _("%(lawyer)s is the lawyer of %(village)s from "
                                               "%(date)s.", lawyer=lawyer.name,
                                               village=pairing.village.name,
                                               date=form.on.data.isoformat()))
    return _refused(pairing.village, "replace", form)
