"""Pairing management: a panel per village with HTMX forms that call core.pairings.

Every change answers with the refreshed panel and the ``pairingChanged`` event (the
coverage table listens for it); a rule the core refuses comes back as its translated
message next to the form, with status 422, and nothing written. Without HTMX the forms
post normally and are redirected back (PRG) with a flash message.
"""

from flask import Blueprint, abort, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core import arrangements, clock
from core import pairings as service
from core.arrangements import Arrangement
from core.config import get_settings
from core.access import can_manage_village, can_read_village
from core.models import (GROUP_ROLES, LawFirm, Lawyer, Pairing, Town, Village, WechatGroup,
                         WechatGroupMember)
from core.vocabulary import MANAGERS, ROLES
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.labels import GROUP_ROLE_LABELS
from web.access import actor, allow
from web.panels import Panel
from web.render import back_to, render

bp = Blueprint("pairings", __name__, url_prefix="/pairings")

CHANGED = "pairingChanged"
# the group roles' names (core.models.pairing), translated when shown


# --- forms -------------------------------------------------------------------------------

def _optional_int(value):
    return None if value in (None, "") else int(value)


def _lawyer_field(label):
    return SelectField(label, coerce=_optional_int,
                       validators=[DataRequired(message=_l("Choose a lawyer."))])


def _required_date(label):
    return DateField(label, validators=[InputRequired(message=_l("Enter a date."))])


def _required_time(label):
    return TimeField(label, validators=[InputRequired(message=_l("Enter a time."))])


class ArrangementForm(FlaskForm):
    """The on-site arrangement (驻点时间): what the village publishes and the planner plans."""
    onsite_week = SelectField(_l("Week of the month"), coerce=int, choices=[
        SelectChoice(week, _l(arrangements.WEEK_NAMES[week])) for week in arrangements.WEEKS])
    onsite_weekday = SelectField(_l("Weekday"), coerce=int, choices=[
        SelectChoice(day, _l(arrangements.WEEKDAY_NAMES[day])) for day in arrangements.WEEKDAYS])
    onsite_start = _required_time(_l("From"))
    onsite_end = _required_time(_l("To"))

    def arrangement(self) -> Arrangement:
        return Arrangement(week=self.onsite_week.data, weekday=self.onsite_weekday.data,
                           start=self.onsite_start.data, end=self.onsite_end.data)

    @staticmethod
    def values(arrangement: Arrangement) -> dict:
        return dict(onsite_week=arrangement.week, onsite_weekday=arrangement.weekday,
                    onsite_start=arrangement.start, onsite_end=arrangement.end)


class TermForm(ArrangementForm):
    """The term and the on-site arrangement of a pairing."""
    term_start = _required_date(_l("Term starts"))
    term_end = _required_date(_l("Term ends"))

    def arrangements(self) -> dict:
        return dict(term_start=self.term_start.data, term_end=self.term_end.data,
                    arrangement=self.arrangement())


class PairForm(TermForm):
    lawyer = _lawyer_field(_l("Lawyer"))


class EndForm(FlaskForm):
    ended_on = _required_date(_l("Last day"))
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)],
                           render_kw={"rows": 2})


class ReplaceForm(ArrangementForm):
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


def _suggested(village: Village) -> Arrangement:
    """The arrangement a new pairing's form starts with (the lawyer is not chosen yet)."""
    settings = get_settings()
    return next(arrangements.candidates(village.id, settings.morning, settings.afternoon))


def _fresh_forms(village: Village, current: Pairing | None) -> dict:
    """The panel's forms with their defaults, not bound to the request."""
    today = clock.today()
    if current is None:
        form = PairForm(formdata=None, prefix="pair", term_start=today,
                        term_end=service.default_term_end(today),
                        **ArrangementForm.values(_suggested(village)))
        form.lawyer.choices = _lawyer_choices()
        return {"pair": form}
    values = ArrangementForm.values(current.arrangement)
    term = TermForm(formdata=None, prefix="term", term_start=current.term_start,
                    term_end=current.term_end, **values)
    end = EndForm(formdata=None, prefix="end", ended_on=today)
    replace = ReplaceForm(formdata=None, prefix="replace", on=today, **values)
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
    forms = _fresh_forms(village, current) if manage else {}
    alerts = []
    for name, form in (bound or {}).items():
        if name in forms:
            forms[name] = form
        else:  # e.g. ending a pairing somebody else ended meanwhile: its form is gone
            alerts += [message for errors in form.errors.values() for message in errors]
    return render("pairings/panel.html", "pairings/_panel.html", status=status, trigger=trigger,
                  village=village, current=current, past=past, group=group, members=members,
                  forms=forms, opened=next(iter(bound), None) if bound else None,
                  manage=manage, notice=notice, alerts=alerts, today=clock.today())


VILLAGE = Panel(_panel, trigger=CHANGED,
                back=lambda village: back_to(url_for("pairings.panel", code=village.code)))


# --- views -------------------------------------------------------------------------------

@bp.route("/village/<code>/panel")
@allow(*ROLES)
def panel(code):
    return _panel(_readable_village(code))


@bp.route("/village/<code>", methods=["POST"])
@allow(*MANAGERS)
def pair(code):
    village = _manageable_village(code)
    form = PairForm(prefix="pair")
    form.lawyer.choices = _lawyer_choices()

    def change():
        lawyer = Lawyer.get_by_id(form.lawyer.data)
        service.pair(actor(), lawyer=lawyer, village=village, **form.arrangements())
        return _("%(lawyer)s is now the lawyer of %(village)s.", lawyer=lawyer.name,
                 village=village.name)
    return VILLAGE.submit(village, "pair", form, change)


@bp.route("/<int:pairing_id>/term", methods=["POST"])
@allow(*MANAGERS)
def update_term(pairing_id):
    pairing = _manageable_pairing(pairing_id)
    form = TermForm(prefix="term")

    def change():
        service.update_pairing(actor(), pairing, **form.arrangements())
        return _("The term and on-site hours of %(village)s were saved; its sessions are "
                 "planned on them.", village=pairing.village.name)
    return VILLAGE.submit(pairing.village, "term", form, change)


@bp.route("/<int:pairing_id>/end", methods=["POST"])
@allow(*MANAGERS)
def end(pairing_id):
    pairing = _manageable_pairing(pairing_id)
    form = EndForm(prefix="end")

    def change():
        service.end_pairing(actor(), pairing, ended_on=form.ended_on.data,
                            reason=(form.reason.data or "").strip())
        return _("The pairing of %(village)s has ended; it has no lawyer now.",
                 village=pairing.village.name)
    return VILLAGE.submit(pairing.village, "end", form, change)


@bp.route("/<int:pairing_id>/replace", methods=["POST"])
@allow(*MANAGERS)
def replace(pairing_id):
    pairing = _manageable_pairing(pairing_id)
    form = ReplaceForm(prefix="replace")
    form.lawyer.choices = _lawyer_choices(exclude=pairing.lawyer_id)

    def change():
        lawyer = Lawyer.get_by_id(form.lawyer.data)
        service.replace_lawyer(actor(), pairing, lawyer=lawyer, on=form.on.data,
                               term_end=form.term_end.data,
                               reason=(form.reason.data or "").strip(),
                               arrangement=form.arrangement())
        return _("%(lawyer)s is the lawyer of %(village)s from %(date)s.", lawyer=lawyer.name,
                 village=pairing.village.name, date=form.on.data.isoformat())
    return VILLAGE.submit(pairing.village, "replace", form, change)
