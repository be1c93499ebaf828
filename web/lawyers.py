"""Lawyers: the searchable, paged list and one lawyer's page with all their villages.

Coordinators see every lawyer (they pair them with villages anywhere), but the villages
shown or counted are only those of the coordinator's scope.
"""
from flask import Blueprint, abort
from peewee import JOIN, fn

from core.access import can_read_lawyer, village_filter
from core.models import LawFirm, Lawyer, Pairing, Town, User, Village
from web.access import actor, allow
from web.listing import paginate, search_term
from web.render import render

bp = Blueprint("lawyers", __name__, url_prefix="/lawyers")


def lawyers_with_counts(user: User):
    """Lawyers with their firm and ``village_count``: active pairings with villages that
    ``user`` may read — one grouped query."""
    return (Lawyer.select(Lawyer, LawFirm, fn.COUNT(Village.id).alias("village_count"))
            .join(LawFirm)
            .switch(Lawyer)
            .join(Pairing, JOIN.LEFT_OUTER,
                  on=(Pairing.lawyer == Lawyer.id) & (Pairing.status == "active"))
            .join(Village, JOIN.LEFT_OUTER,
                  on=(Village.id == Pairing.village) & village_filter(user))
            .group_by(Lawyer.id, LawFirm.id))


@bp.route("/")
@allow("admin", "coordinator")
def index():
    query = lawyers_with_counts(actor())
    term = search_term()
    if term:
        query = query.where(Lawyer.name.contains(term) | Lawyer.licence_no.contains(term)
                            | Lawyer.phone.contains(term))
    page = paginate(query.order_by(Lawyer.name, Lawyer.id))
    return render("lawyers/index.html", "lawyers/_results.html", listing=page)


def _pairings_shown(user: User, lawyer: Lawyer) -> list[Pairing]:
    """All of the lawyer's pairings, current and past, newest first. The lawyer sees all of
    their own; anyone else only those with villages of their scope."""
    query = (Pairing.select(Pairing, Village, Town).join(Village).join(Town)
             .where(Pairing.lawyer == lawyer))
    own = user.role == "lawyer" and user.lawyer_id == lawyer.id
    if not own:
        query = query.where(village_filter(user))
    return list(query.order_by(Pairing.term_start.desc(), Village.code))


@bp.route("/<int:lawyer_id>")
@allow("admin", "coordinator", "lawyer")
def detail(lawyer_id):
    user = actor()
    lawyer = (Lawyer.select(Lawyer, LawFirm).join(LawFirm)
              .where(Lawyer.id == lawyer_id).first())
    if lawyer is None or not can_read_lawyer(user, lawyer):  # another lawyer: not there
        abort(404)
    pairings = _pairings_shown(user, lawyer)
    return render("lawyers/detail.html", lawyer=lawyer,
                  active=[p for p in pairings if p.status == "active"],
                  past=[p for p in pairings if p.status != "active"],
                  assistants=list(lawyer.assistants))
