"""Placeholder: replaced by the villages views."""
from flask import Blueprint

from web.access import allow

bp = Blueprint("villages", __name__, url_prefix="/villages")


@bp.route("/")
@allow("admin", "coordinator", "lawyer", "village")
def index():
    return "villages"
