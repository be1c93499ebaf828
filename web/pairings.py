"""Placeholder: replaced by the pairings views."""
from flask import Blueprint

from web.access import allow

bp = Blueprint("pairings", __name__, url_prefix="/pairings")


@bp.route("/")
@allow("admin", "coordinator", "lawyer", "village")
def index():
    return "pairings"
