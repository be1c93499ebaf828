"""Placeholder: replaced by the lawyers views."""
from flask import Blueprint

from web.access import allow

bp = Blueprint("lawyers", __name__, url_prefix="/lawyers")


@bp.route("/")
@allow("admin", "coordinator", "lawyer", "village")
def index():
    return "lawyers"
