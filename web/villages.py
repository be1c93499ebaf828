"""Villages: the searchable, paged list and one village's page, where the coordinators who
manage the village keep its address (``core.villages``: an HTMX form that swaps its own
section; without HTMX it posts and is redirected back)."""
from flask import Blueprint, abort, url_for
from flask_wtf import FlaskForm
from peewee import JOIN
from wtforms import StringField

from core import villages as service
from core.access import can_manage_village, village_filter
from core.feeds import location_of
from core.models import District, Lawyer, Pairing, Town, User, Village
from core.vocabulary import MANAGERS, ROLES
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.access import actor, allow
from web.exports import counted, list_export
from web.listing import (Sorting, list_args, paginate, query_text, search_term, town_choices,
                         town_matching)
from web.longwork import long_export
from web.panels import Panel
from web.render import render

bp = Blueprint("villages", __name__, url_prefix="/villages")

CHANGED = "villageChanged"


class AddressForm(FlaskForm):
    address = StringField(_l("Address"), description=_l(
        "Where a map app finds the village, e.g. its committee's street address. Calendars "
        "show it as the place of every session."))


def visible_villages(user: User):
    """The villages ``user`` may read, each with its town and, when paired, its active
    pairing (``village.current``, else None) and that pairing's lawyer — in one query."""
    return (Village.select(Village, Town, Pairing, Lawyer)
            .join(Town)
            .switch(Village)
            .join(Pairing, JOIN.LEFT_OUTER, attr="current",
                  on=(Pairing.village == Village.id) & (Pairing.status == "active"))
            .join(Lawyer, JOIN.LEFT_OUTER)
            .where(village_filter(user)))


def _matching(query, term: str):
    """Villages whose name or code contains ``term``, or whose town's name does."""
    if not term:
        return query
    return query.where(Village.name.contains(term) | Village.code.contains(term)
                       | Town.name.contains(term))


# the keys of the column headers (web.listing.Sorting); equal rows by town and code
SORTING = Sorting({"village": Village.name, "code": Village.code, "town": Town.name,
                   "lawyer": Lawyer.name, "term_end": Pairing.term_end},
                  tiebreak=(Town.code, Village.code))


def _filters() -> dict:
    return {"town": query_text("town"), "paired": query_text("paired", 5)}


def _listed(user: User, filters: dict):
    """The villages the list shows (search, filters, the URL's order or by town and code):
    the page and its export. An unknown town code or choice matches nothing; it is not
    ignored."""
    query = _matching(visible_villages(user), search_term())
    if filters["town"]:
        query = query.where(town_matching(filters["town"]))
    if filters["paired"] == "yes":
        query = query.where(Pairing.id.is_null(False))
    elif filters["paired"] == "no":
        query = query.where(Pairing.id.is_null())
    elif filters["paired"]:
        query = query.where(Village.id.is_null())
    return SORTING.order(query, SORTING.requested(), Town.code, Village.code)


@bp.route("/")
@allow(*ROLES)
def index():
    """The villages, searched, filtered (town, with or without a lawyer) and sorted as the
    URL says."""
    user, filters = actor(), _filters()
    page = paginate(_listed(user, filters), sort=SORTING.requested(), filters=filters)
    towns = town_choices(user)
    return render("villages/index.html", "villages/_results.html",
                  listing=page, towns=towns, town_code=filters["town"], filters=filters,
                  paired=[("yes", _("With a lawyer")), ("no", _("Without a lawyer"))])


EXPORT_HEADERS = (_l("Village"), _l("Code"), _l("Kind"), _l("Town"), _l("Current lawyer"),
                  _l("Term ends"))


@bp.route("/export.xlsx")
@allow(*ROLES)
@long_export(counted(_listed, _filters))
def export():
    """The villages as the list shows them (every page), as .xlsx."""
    kinds, filters = {"community": _("Residential community")}, _filters()
    rows = [(village.name, village.code, kinds.get(village.kind, _("Rural village")),
             village.town.name,
             village.current.lawyer.name if village.current else _("No lawyer"),
             village.current.term_end.isoformat() if village.current else "")
            for village in _listed(actor(), filters)]
    return list_export(actor(), "village.export", _("Villages"), EXPORT_HEADERS, rows,
                       name=_("Villages"), fallback="villages",
                       args=list_args(search_term(), filters, SORTING.requested()))


def _visible(code: str) -> Village:
    village = (visible_villages(actor()).where(Village.code == code).first()
               if code.isprintable() else None)
    if village is None:  # missing and out of scope look the same
        abort(404)
    return village


def _address_context(village: Village, form: AddressForm | None = None,
                     notice: str | None = None) -> dict:
    district = District.select(District.name).order_by(District.id).first()
    editable = can_manage_village(actor(), village)
    if editable and form is None:
        form = AddressForm(formdata=None, prefix="address", address=village.address)
    return dict(village=village, address_form=form if editable else None,
                shown_place=location_of(village, district.name if district else ""),
                address_notice=notice)


@bp.route("/<code>")
@allow(*ROLES)
def detail(code):
    village = _visible(code)
    return render("villages/detail.html", **_address_context(village))


def _address_section(village: Village, *, bound: dict | None = None, status: int = 200,
                     trigger: str | None = None, notice: str | None = None):
    """The village page, or for HTMX its address section; ``bound`` holds the submitted
    address form ("address") to show with its errors."""
    return render("villages/detail.html", "villages/_address.html", status=status,
                  trigger=trigger, **_address_context(village, (bound or {}).get("address"),
                                                      notice=notice))


ADDRESS = Panel(_address_section, trigger=CHANGED,
                back=lambda village: url_for("villages.detail", code=village.code))


@bp.route("/<code>/address", methods=["POST"])
@allow(*MANAGERS)
def update_address(code):
    village = _visible(code)
    if not can_manage_village(actor(), village):
        abort(403)
    form = AddressForm(prefix="address")

    def change():
        service.update_address(actor(), village, form.address.data or "")
        return _("The address of %(village)s was saved.", village=village.name)
    return ADDRESS.submit(village, "address", form, change, validate=False)
