"""Placeholder: replaced by the towns views."""
from flask import Blueprint

from web.access import allow

bp = Blueprint("towns", __name__, url_prefix="/towns")


@bp.route("/")
@allow("admin", "coordinator", "lawyer", "village")
def index():
    return "towns"
