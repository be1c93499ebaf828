"""Inspections of a village's service (``core.inspections``): the list (paged, filtered by
town, village and outcome), the form a coordinator records one with, and one inspection's
page, where its follow-up is recorded done. The village's page and the pairing's
assessment sheet list the inspections too (``villages/_inspections.html``)."""
from flask import Blueprint, abort, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, SelectField, TextAreaField

from core import clock
from core import inspections as service
from core.access import can_inspect, town_filter, village_filter
from core.errors import NotFound
from core.models import Town, Village
from core.vocabulary import (INSPECTION_ITEMS, INSPECTION_KINDS, INSPECTION_OUTCOMES,
                             INSPECTION_RESULTS, MANAGERS, READERS)
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web import labels
from web.access import actor, allow
from web.listing import paginate, query_number, query_text, whole_number
from web.panels import Panel
from web.render import render

bp = Blueprint("inspections", __name__, url_prefix="/inspections")
CHANGED = "inspectionsChanged"


@bp.app_template_global()
def inspection_labels() -> dict:
    """The inspections' words in the reader's language (``core.vocabulary``)."""
    return {"kind": labels.INSPECTION_KIND_LABELS, "item": labels.INSPECTION_ITEM_LABELS,
            "result": labels.INSPECTION_RESULT_LABELS,
            "outcome": labels.INSPECTION_OUTCOME_LABELS, "items": INSPECTION_ITEMS}


bp.add_app_template_global(service.failed_items, "inspection_failed_items")
bp.add_app_template_global(service.follow_up_open, "inspection_follow_up_open")
bp.add_app_template_global(service.follow_up_late, "inspection_follow_up_late")


@bp.app_template_global()
def village_inspections(village: Village, limit: int = 10) -> dict:
    """What a village's page shows of its inspections: the latest the reader may read, how
    many there are, and whether the reader may record one."""
    query = service.of_village(actor(), village)
    return {"items": list(query.limit(limit)), "total": query.count(),
            "may_inspect": can_inspect(actor(), village)}


# --- forms -------------------------------------------------------------------------------

def _item_field(item: str) -> RadioField:
    return RadioField(labels.INSPECTION_ITEM_LABELS[item], default="unchecked", choices=[
        SelectChoice(result, labels.INSPECTION_RESULT_LABELS[result])
        for result in INSPECTION_RESULTS], validate_choice=False)


class InspectionForm(FlaskForm):
    village = SelectField(_l("Village"), choices=[], validate_choice=False)
    inspected_on = DateField(_l("Day of the inspection"))
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice(kind, labels.INSPECTION_KIND_LABELS[kind]) for kind in INSPECTION_KINDS],
        validate_choice=False)
    findings = TextAreaField(_l("Findings"), render_kw={"rows": 4, "maxlength": service.MAX_TEXT},
                             description=_l("Required when an item falls short."))
    follow_up = TextAreaField(_l("Follow-up required"),
                              render_kw={"rows": 3, "maxlength": service.MAX_TEXT},
                              description=_l("What must be put right; leave empty when "
                                             "nothing must."))
    follow_up_due = DateField(_l("Follow-up due by"))


for _item in INSPECTION_ITEMS:
    setattr(InspectionForm, f"item_{_item}", _item_field(_item))


class FollowUpForm(FlaskForm):
    done_on = DateField(_l("Done on"))
    note = TextAreaField(_l("What was done"), render_kw={"rows": 3, "maxlength": service.MAX_TEXT})


# --- the list ----------------------------------------------------------------------------

def _towns():
    towns = town_filter(actor())
    query = Town.select().order_by(Town.code)
    return list(query if towns is True else query.where(towns)) if towns is not False else []


def _villages(town_id: int | None = None, *, manageable: bool = False):
    villages = village_filter(actor())
    if villages is False:
        return []
    query = Village.select().order_by(Village.code)
    if villages is not True:
        query = query.where(villages)
    if town_id:
        query = query.where(Village.town == town_id)
    return [v for v in query if not manageable or can_inspect(actor(), v)]


@bp.route("/")
@allow(*READERS, "lawyer")
def index():
    town, village = query_number("town"), query_number("village")
    outcome = query_text("outcome")
    outcome = outcome if outcome in INSPECTION_OUTCOMES else ""
    listing = paginate(service.filtered(actor(), town=town, village=village,
                                        outcome=outcome or None))
    return render("inspections/index.html", "inspections/_results.html", listing=listing,
                  towns=_towns(), villages=_villages(town), town_filter=town,
                  village_filter=village, outcome_filter=outcome, outcomes=INSPECTION_OUTCOMES,
                  may_inspect=actor().role in MANAGERS)


# --- recording one -------------------------------------------------------------------------

def _show_form(holder, *, bound=None, status=200, trigger=None, notice=None):
    form = (bound or {}).get("inspection") or InspectionForm(
        formdata=None, village=str(holder["village"].id) if holder["village"] else "",
        inspected_on=clock.today(), kind="visit")
    form.village.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(v.id), f"{v.town.name} · {v.name}")
        for v in _villages(manageable=True)]
    return render("inspections/new.html", status=status, trigger=trigger, form=form,
                  notice=notice)


RECORD = Panel(_show_form, trigger=CHANGED, raises=(NotFound,),
               back=lambda holder: url_for("inspections.detail",
                                           inspection_id=holder["inspection"].id))


@bp.route("/new", methods=["GET", "POST"])
@allow(*MANAGERS)
def new():
    village_id = query_number("village")
    village = Village.get_or_none(Village.id == village_id) if village_id else None
    holder = {"village": village if village and can_inspect(actor(), village) else None,
              "inspection": None}
    form = InspectionForm()
    if not form.is_submitted():
        return _show_form(holder)
    form.village.choices = []

    def change():
        chosen = Village.get_or_none(Village.id == (whole_number(form.village.data) or 0))
        if chosen is None:
            form.village.errors = [_("Choose the village inspected.")]
            return None
        holder["village"] = chosen
        holder["inspection"] = service.record_inspection(
            actor(), chosen, inspected_on=form.inspected_on.data, kind=form.kind.data,
            checklist={item: getattr(form, f"item_{item}").data for item in INSPECTION_ITEMS},
            findings=form.findings.data, follow_up=form.follow_up.data,
            follow_up_due=form.follow_up_due.data)
        return _("The inspection of %(village)s is recorded.", village=chosen.name)
    # a plain form (no HTMX): done, the new inspection's page; refused, the form again
    return RECORD.submit(holder, "inspection", form, change, validate=False)


# --- one inspection ------------------------------------------------------------------------

def _show_detail(inspection, *, bound=None, status=200, trigger=None, notice=None):
    form = (bound or {}).get("follow_up") or FollowUpForm(formdata=None, done_on=clock.today())
    return render("inspections/detail.html", "inspections/_follow_up.html", status=status,
                  trigger=trigger, inspection=inspection, form=form, notice=notice,
                  may_inspect=can_inspect(actor(), inspection.village),
                  late=service.follow_up_late(inspection))


DETAIL = Panel(_show_detail, trigger=CHANGED, raises=(NotFound,),
               reread=lambda inspection: service.get_inspection(actor(), inspection.id),
               back=lambda inspection: url_for("inspections.detail",
                                               inspection_id=inspection.id))


def _readable(inspection_id):
    try:
        return service.get_inspection(actor(), inspection_id)
    except NotFound:
        abort(404)


@bp.route("/<int:inspection_id>")
@allow(*READERS, "lawyer")
def detail(inspection_id):
    return _show_detail(_readable(inspection_id))


@bp.route("/<int:inspection_id>/follow-up", methods=["POST"])
@allow(*MANAGERS)
def follow_up(inspection_id):
    inspection = _readable(inspection_id)
    form = FollowUpForm(prefix="")

    def change():
        service.close_follow_up(actor(), inspection, done_on=form.done_on.data,
                                note=form.note.data)
        return _("The follow-up is recorded as done.")
    return DETAIL.submit(inspection, "follow_up", form, change, validate=False)
