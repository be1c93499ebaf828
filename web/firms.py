"""Law firms: the searchable, paged list and one firm's page with its lawyers.

As for lawyers, active pairings are counted only over villages of the reader's scope.
"""
from flask import Blueprint, abort
from peewee import JOIN, fn

from core.access import is_firm_head, village_filter
from core.models import LawFirm, Lawyer, Pairing, User, Village
from core.vocabulary import READERS
from web.access import actor, allow
from web.lawyers import lawyers_with_counts
from web.listing import paginate, search_term
from web.render import render

bp = Blueprint("firms", __name__, url_prefix="/firms")


def firms_with_counts(user: User):
    """Firms with ``lawyer_count`` and ``pairing_count`` (active pairings with villages
    ``user`` may read) — one grouped query; a firm head's own firm only."""
    firms = LawFirm.id == user.firm_id if is_firm_head(user) else True
    return (LawFirm.select(LawFirm, fn.COUNT(Lawyer.id.distinct()).alias("lawyer_count"),
                           fn.COUNT(Village.id.distinct()).alias("pairing_count"))
            .join(Lawyer, JOIN.LEFT_OUTER)
            .join(Pairing, JOIN.LEFT_OUTER,
                  on=(Pairing.lawyer == Lawyer.id) & (Pairing.status == "active"))
            .join(Village, JOIN.LEFT_OUTER,
                  on=(Village.id == Pairing.village) & village_filter(user))
            .where(firms)
            .group_by(LawFirm.id))


@bp.route("/")
@allow(*READERS)
def index():
    query = firms_with_counts(actor())
    term = search_term()
    if term:
        query = query.where(LawFirm.name.contains(term))
    page = paginate(query.order_by(LawFirm.name, LawFirm.id))
    return render("firms/index.html", "firms/_results.html", listing=page)


@bp.route("/<int:firm_id>")
@allow(*READERS)
def detail(firm_id):
    user = actor()
    firm = firms_with_counts(user).where(LawFirm.id == firm_id).first()
    if firm is None:
        abort(404)
    lawyers = list(lawyers_with_counts(user).where(Lawyer.firm == firm.id)
                   .order_by(Lawyer.name, Lawyer.id))
    return render("firms/detail.html", firm=firm, lawyers=lawyers)
