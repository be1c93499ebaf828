"""The coverage of the villages in a coordinator's scope (``/coverage``); ``/`` leads every
role to its 工作台 (``/home``: web/home.py)."""
from flask import Blueprint, redirect, request, url_for

from core.coverage import coverage
from core.vocabulary import READERS, ROLES
from web.access import actor, allow
from web.render import render

bp = Blueprint("coverage", __name__, url_prefix="")


def _filters() -> dict:
    town = (request.args.get("town") or "").strip()[:50]
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
    data = coverage(user, town_code=filters["town"], only_unpaired=filters["unpaired"])
    return render("coverage/index.html", "coverage/_coverage.html", coverage=data,
                  filters=filters)
