"""Placeholder: replaced by the coverage views."""
from flask import Blueprint

from web.access import allow

bp = Blueprint("coverage", __name__, url_prefix="")


@bp.route("/")
@allow("admin", "coordinator", "lawyer", "village")
def index():
    return "coverage"
