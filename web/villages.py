"""Villages: the searchable, paged list and one village's page."""
from flask import Blueprint, abort
from peewee import JOIN

from core.access import town_filter, village_filter
from core.models import Lawyer, Pairing, Town, User, Village
from web.access import actor, allow
from web.listing import paginate, query_text, search_term
from web.render import render

bp = Blueprint("villages", __name__, url_prefix="/villages")

EVERYONE = ("admin", "coordinator", "lawyer", "village")


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


@bp.route("/")
@allow(*EVERYONE)
def index():
    user, town_code = actor(), query_text("town")  # unknown: matches nothing
    query = _matching(visible_villages(user), search_term())
    if town_code:
        query = query.where(Town.code == town_code)
    page = paginate(query.order_by(Town.code, Village.code))
    towns = [(town.code, town.name)
             for town in Town.select().where(town_filter(user)).order_by(Town.code)]
    return render("villages/index.html", "villages/_results.html",
                  listing=page, towns=towns, town_code=town_code)


@bp.route("/<code>")
@allow(*EVERYONE)
def detail(code):
    village = (visible_villages(actor()).where(Village.code == code).first()
               if code.isprintable() else None)
    if village is None:  # missing and out of scope look the same
        abort(404)
    return render("villages/detail.html", village=village)
