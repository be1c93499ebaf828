"""Towns: the searchable, paged list (with village and pairing counts) and one town's page."""
from flask import Blueprint, abort
from peewee import JOIN, fn

from core.access import town_filter, village_filter
from core.models import Pairing, Town, User, Village
from core.vocabulary import ROLES
from web.access import actor, allow
from web.listing import paginate, search_term
from web.render import render
from web.villages import visible_villages

bp = Blueprint("towns", __name__, url_prefix="/towns")


def towns_with_counts(user: User):
    """The towns ``user`` may read with ``village_count`` and ``paired_count`` (active
    pairings) over the villages ``user`` may read — one grouped query."""
    return (Town.select(Town, fn.COUNT(Village.id).alias("village_count"),
                        fn.COUNT(Pairing.id).alias("paired_count"))
            .join(Village, JOIN.LEFT_OUTER,
                  on=(Village.town == Town.id) & village_filter(user))
            .join(Pairing, JOIN.LEFT_OUTER,
                  on=(Pairing.village == Village.id) & (Pairing.status == "active"))
            .where(town_filter(user))
            .group_by(Town.id))


@bp.route("/")
@allow(*ROLES)
def index():
    query = towns_with_counts(actor())
    term = search_term()
    if term:
        query = query.where(Town.name.contains(term) | Town.code.contains(term))
    page = paginate(query.order_by(Town.code))
    return render("towns/index.html", "towns/_results.html", listing=page)


@bp.route("/<code>")
@allow(*ROLES)
def detail(code):
    user = actor()
    town = (Town.select().where(town_filter(user)).where(Town.code == code).first()
            if code.isprintable() else None)
    if town is None:
        abort(404)
    villages = list(visible_villages(user).where(Village.town == town).order_by(Village.code))
    paired = sum(1 for village in villages if village.current is not None)
    return render("towns/detail.html", town=town, villages=villages, paired=paired)
