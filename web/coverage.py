"""The coordinator's start page: the coverage of the villages in their scope."""
from flask import Blueprint, redirect, request, url_for

from core.coverage import coverage
from core.vocabulary import ROLES
from web.access import actor, allow
from web.render import render

bp = Blueprint("coverage", __name__, url_prefix="")


def _own_page(user):
    """Lawyers and village users start on their 工作台 (web/home.py), not on the district's
    coverage."""
    if user.role in ("lawyer", "village"):
        return url_for("home.index")
    return None


def _filters() -> dict:
    town = (request.args.get("town") or "").strip()[:50]
    return {"town": town or None, "unpaired": request.args.get("unpaired") == "1"}


@bp.route("/")
@allow(*ROLES)
def index():
    user = actor()
    elsewhere = _own_page(user)
    if elsewhere:
        return redirect(elsewhere)
    filters = _filters()
    data = coverage(user, town_code=filters["town"], only_unpaired=filters["unpaired"])
    return render("coverage/index.html", "coverage/_coverage.html", coverage=data,
                  filters=filters)
