"""Lawyers: the searchable, paged list and one lawyer's page with all their villages, where
the disclosed details (phone, WeChat, photo; name, firm and licence number for the district)
are kept through ``core.lawyers``.

Coordinators see every lawyer (they pair them with villages anywhere), but the villages
shown or counted are only those of the coordinator's scope. Administrators and district
coordinators change every detail, the lawyer their own phone, WeChat and photo; town
coordinators only read. A refused value comes back next to its field with status 422 and
nothing written; without HTMX the forms post normally and are redirected back (PRG).
"""
from flask import Blueprint, abort, send_file, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from peewee import JOIN, fn
from wtforms import SelectChoice, SelectField, StringField, TelField

from core import lawyers as service
from core.access import can_read_lawyer, lawyer_filter, village_filter
from core.disclosure import MISSING_FIELDS, lawyers_missing, photo_path, warnings
from core.errors import NotFound, PermissionDenied
from core.formkit import strip
from core.photos import photo_limit
from core.models import LawFirm, Lawyer, Pairing, Town, User, Village
from core.vocabulary import READERS, STAFF
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.access import actor, allow
from web.exports import counted, list_export
from web.listing import (Sorting, list_args, paginate, query_number, query_text,
                         search_term)
from web.longwork import long_export
from web.panels import Panel
from web.render import render

bp = Blueprint("lawyers", __name__, url_prefix="/lawyers")


def lawyers_with_counts(user: User):
    """Lawyers with their firm and ``village_count``: active pairings with villages that
    ``user`` may read — one grouped query. Only the lawyers ``user`` may read (a firm
    head: the firm's)."""
    return (Lawyer.select(Lawyer, LawFirm, fn.COUNT(Village.id).alias("village_count"))
            .join(LawFirm)
            .switch(Lawyer)
            .join(Pairing, JOIN.LEFT_OUTER,
                  on=(Pairing.lawyer == Lawyer.id) & (Pairing.status == "active"))
            .join(Village, JOIN.LEFT_OUTER,
                  on=(Village.id == Pairing.village) & village_filter(user))
            .where(lawyer_filter(user))
            .group_by(Lawyer.id, LawFirm.id))


# the keys of the column headers (web.listing.Sorting); equal rows by name
SORTING = Sorting({"name": Lawyer.name, "firm": LawFirm.name, "licence": Lawyer.licence_no,
                   "villages": fn.COUNT(Village.id)}, tiebreak=(Lawyer.name, Lawyer.id))
STATES = ("active", "inactive")


def _filters() -> dict:
    state = query_text("state", 10)
    return {"firm": query_number("firm"), "state": state, "missing": query_text("missing", 10)}


def _listed(user: User, filters: dict):
    """The lawyers the list shows (search, filters, the URL's order or by name): the page
    and its export. An unknown firm or state matches nothing; it is not ignored."""
    query = lawyers_with_counts(user)
    term = search_term()
    if term:
        query = query.where(Lawyer.name.contains(term) | Lawyer.licence_no.contains(term)
                            | Lawyer.phone.contains(term))
    if filters["firm"] is not None:
        query = query.where(Lawyer.firm == filters["firm"])
    if filters["state"]:
        query = query.where(Lawyer.active == (filters["state"] == "active")
                            if filters["state"] in STATES else Lawyer.id.is_null())
    if filters["missing"]:  # the desk's data problem: those whose disclosure lacks it
        ids = lawyers_missing(warnings(user)).get(filters["missing"], set())
        query = query.where(Lawyer.id.in_(sorted(ids)) if ids else Lawyer.id.is_null())
    return SORTING.order(query, SORTING.requested(), Lawyer.name, Lawyer.id)


@bp.route("/")
@allow(*READERS)
def index():
    """The lawyers, searched, filtered (law firm, active or not; from the desk, those whose
    disclosure lacks a photo, a phone or a WeChat ID) and sorted as the URL says."""
    user, filters = actor(), _filters()
    page = paginate(_listed(user, filters), sort=SORTING.requested(), filters=filters)
    firms = [(str(firm.id), firm.name) for firm in LawFirm.select().order_by(LawFirm.name)]
    states = [("active", _("Active")), ("inactive", _("Inactive"))]
    return render("lawyers/index.html", "lawyers/_results.html", listing=page,
                  filters=filters, firms=firms, states=states,
                  missing=filters["missing"] if filters["missing"] in MISSING_FIELDS else "")


EXPORT_HEADERS = (_l("Name"), _l("Law firm"), _l("Licence number"), _l("Phone"),
                  _l("Active villages"), _l("Status"))


@bp.route("/export.xlsx")
@allow(*READERS)
@long_export(counted(_listed, _filters))
def export():
    """The lawyers as the list shows them (every page), as .xlsx."""
    filters = _filters()
    rows = [(lawyer.name, lawyer.firm.name, lawyer.licence_no, lawyer.phone or "",
             lawyer.village_count, _("Active") if lawyer.active else _("Inactive"))
            for lawyer in _listed(actor(), filters)]
    return list_export(actor(), "lawyer.export", _("Lawyers"), EXPORT_HEADERS, rows,
                       name=_("Lawyers"), fallback="lawyers",
                       args=list_args(search_term(), filters, SORTING.requested()))


def _pairings_shown(user: User, lawyer: Lawyer) -> list[Pairing]:
    """All of the lawyer's pairings, current and past, newest first. The lawyer sees all of
    their own; anyone else only those with villages of their scope."""
    query = (Pairing.select(Pairing, Village, Town).join(Village).join(Town)
             .where(Pairing.lawyer == lawyer))
    own = user.role == "lawyer" and user.lawyer_id == lawyer.id
    if not own:
        query = query.where(village_filter(user))
    return list(query.order_by(Pairing.term_start.desc(), Village.code))


# --- the details forms -----------------------------------------------------------------------

class DetailsForm(FlaskForm):
    """Every detail; a lawyer's own form keeps only the phone and WeChat (``_details_form``).
    The rules are the core's: its refusal lands next to the field it names."""
    name = StringField(_l("Name"), filters=[strip])
    firm = SelectField(_l("Law firm"), coerce=lambda value: None if value in (None, "")
                       else int(value))
    licence_no = StringField(_l("Licence number"), filters=[strip])
    phone = TelField(_l("Phone"), filters=[strip],
                        description=_l("A mobile number, or a landline with its area code"))
    wechat = StringField(_l("WeChat"), filters=[strip], description=_l("The WeChat ID"))


class PhotoForm(FlaskForm):
    file = FileField(_l("New photo"), render_kw={
        "accept": ".jpg,.jpeg,.png,.webp,image/jpeg,image/png,image/webp"})


def _details_form(user: User, lawyer: Lawyer, *, bound: bool) -> DetailsForm | None:
    """The form with the fields ``user`` may change (None: they change nothing); ``bound``
    reads the submitted values, else it shows the stored ones."""
    fields = service.editable_fields(user, lawyer)
    if not fields:
        return None
    form = (DetailsForm(prefix="details") if bound else
            DetailsForm(formdata=None, prefix="details", name=lawyer.name, firm=lawyer.firm_id,
                        licence_no=lawyer.licence_no, phone=lawyer.phone, wechat=lawyer.wechat))
    for name in list(form._fields):
        if name != "csrf_token" and name not in fields:
            delattr(form, name)
    if "firm" in fields:
        form.firm.choices = [SelectChoice(firm.id, firm.name)
                             for firm in LawFirm.select().order_by(LawFirm.name)]
    return form


def _lawyer(lawyer_id: int) -> Lawyer:
    """The lawyer with their firm, when ``actor()`` may read them; 404 otherwise (another
    lawyer's page is not there for a lawyer)."""
    lawyer = (Lawyer.select(Lawyer, LawFirm).join(LawFirm)
              .where(Lawyer.id == lawyer_id).first())
    if lawyer is None or not can_read_lawyer(actor(), lawyer):
        abort(404)
    return lawyer


def _editable(lawyer_id: int) -> Lawyer:
    lawyer = _lawyer(lawyer_id)
    if not service.editable_fields(actor(), lawyer):
        abort(403)
    return lawyer


def _page(lawyer: Lawyer, *, bound: dict | None = None, status: int = 200,
          notice: str | None = None, trigger: str | None = None,
          alerts: tuple[str, ...] = ()):
    """The lawyer's page, or only its details section for HTMX; ``bound`` holds a submitted
    form ("details" or "photo") to show again with its errors."""
    user = actor()
    bound = bound or {}
    pairings = _pairings_shown(user, lawyer)
    editable = bool(service.editable_fields(user, lawyer))
    return render("lawyers/detail.html", "lawyers/_details.html", status=status,
                  trigger=trigger, lawyer=lawyer,
                  active=[p for p in pairings if p.status == "active"],
                  past=[p for p in pairings if p.status != "active"],
                  assistants=list(lawyer.assistants),
                  has_photo=photo_path(lawyer) is not None,
                  photo_version=service.photo_version(lawyer), editable=editable,
                  details_form=bound.get("details") or _details_form(user, lawyer, bound=False),
                  photo_form=bound.get("photo") or (PhotoForm(formdata=None, prefix="photo")
                                                    if editable else None),
                  opened=next(iter(bound), None), notice=notice, alerts=alerts,
                  photo_max_mb=f"{photo_limit() / 1024 / 1024:g}")


# A change answers with the details section (no event: nothing else on the page shows
# them), or, without HTMX, goes back to the lawyer's page (303). The section shows the
# lawyer as stored: refused values stay in the form only.
LAWYER = Panel(_page, back=lambda lawyer: url_for("lawyers.detail", lawyer_id=lawyer.id),
               redirect_code=303, reread=lambda lawyer: _lawyer(lawyer.id),
               raises=(PermissionDenied, NotFound))


# --- views -----------------------------------------------------------------------------------

@bp.route("/<int:lawyer_id>")
@allow(*READERS, "lawyer")
def detail(lawyer_id):
    return _page(_lawyer(lawyer_id))


@bp.route("/<int:lawyer_id>/details", methods=["POST"])
@allow(*STAFF)
def update_details(lawyer_id):
    lawyer = _editable(lawyer_id)
    form = _details_form(actor(), lawyer, bound=True)

    def change():
        service.update_details(actor(), lawyer, **{name: field.data for name, field
                                                   in form._fields.items()
                                                   if name != "csrf_token"})
        return _("The details of %(name)s are saved.", name=lawyer.name)
    return LAWYER.submit(lawyer, "details", form, change)


@bp.route("/<int:lawyer_id>/photo", methods=["POST"])
@allow(*STAFF)
def upload_photo(lawyer_id):
    lawyer = _editable(lawyer_id)

    def save(stream, form):
        service.set_photo(actor(), lawyer, stream)
        return _("The photo of %(name)s is saved.", name=lawyer.name)
    return LAWYER.submit_file(lawyer, "photo", PhotoForm, save, limit=photo_limit())


@bp.route("/<int:lawyer_id>/photo/remove", methods=["POST"])
@allow(*STAFF)
def remove_photo(lawyer_id):
    lawyer = _editable(lawyer_id)
    service.remove_photo(actor(), lawyer)
    return LAWYER.changed(lawyer, _("The photo of %(name)s is removed.", name=lawyer.name))


@bp.route("/<int:lawyer_id>/photo")
@allow(*READERS, "lawyer")
def photo(lawyer_id):
    """The photo for those who may read the lawyer (a lawyer with no active pairing has no
    public page to serve it)."""
    return private_picture(photo_path(_lawyer(lawyer_id)))


def private_picture(path):
    """A stored picture for a logged-in reader (404 if there is none): never kept by a
    shared cache. A WeChat group's join QR code on the register is served so too."""
    if path is None:
        abort(404)
    response = send_file(path, max_age=0)
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
