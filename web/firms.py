"""Placeholder: replaced by the firms views."""
from flask import Blueprint

from web.access import allow

bp = Blueprint("firms", __name__, url_prefix="/firms")


@bp.route("/")
@allow("admin", "coordinator", "lawyer", "village")
def index():
    return "firms"
