"""The coverage of the villages in a coordinator's scope (``/coverage``); ``/`` leads every
role to its 工作台 (``/home``: web/home.py)."""
from flask import Blueprint, redirect, request, url_for

from core.coverage import as_rows, page_towns, rows_query, summary
from core.vocabulary import READERS, ROLES
from web.access import actor, allow
from web.listing import paginate, query_text, town_choices, town_code_for
from web.render import render

ROWS_PER_PAGE = 50  # villages a page shows, grouped by town
TOWNS_SHOWN = 20  # the towns needing attention the district's summary lists

bp = Blueprint("coverage", __name__, url_prefix="")


def _filters() -> dict:
    town = town_code_for(query_text("town"))  # a code, or a whole name typed
    return {"town": town or None, "unpaired": request.args.get("unpaired") == "1"}


@bp.route("/")
@allow(*ROLES)
def start():
    """Everybody starts on their 工作台."""
    return redirect(url_for("home.index"))


@bp.route("/coverage")
@allow(*READERS)
def index():
    user = actor()
    filters = _filters()
    data = summary(user)
    query = rows_query(user, town_code=filters["town"], only_unpaired=filters["unpaired"])
    listing = paginate(query if query is not None else [], per_page=ROWS_PER_PAGE,
                       filters={"town": filters["town"],
                                "unpaired": "1" if filters["unpaired"] else None})
    data.towns = page_towns(data, as_rows(listing.items))
    attention = sorted((town for town in data.all_towns if town.unpaired or town.term_over),
                       key=lambda town: (-town.unpaired, -town.term_over, town.code))
    return render("coverage/index.html", "coverage/_coverage.html", coverage=data,
                  filters=filters, listing=listing, towns=town_choices(user),
                  attention=attention[:TOWNS_SHOWN] if len(data.all_towns) > 1
                  and not filters["town"] else [],
                  attention_more=max(len(attention) - TOWNS_SHOWN, 0))
