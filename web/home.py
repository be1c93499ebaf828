"""The 工作台 (``/home``): the first screen after login — for lawyers and village users
what needs them today (``core.home`` gathers it), for coordinators and administrators the
desk: what needs them and where the programme is behind in their scope (``core.desk``).

Two include points are left for other parts of the house, each rendered only when its
template exists: ``signin/_home_action.html`` (the action area of a session row, with
``event`` in the context) and ``village_requests/_lawyer_home.html`` /
``village_requests/_village_home.html`` (what villages ask of their lawyer); on the desk,
``charts/_desk.html`` (the pace chart).
"""
from flask import Blueprint, current_app, request
from jinja2 import TemplateNotFound

from core import clock, desk, home
from core.arrangements import WEEKDAY_NAMES
from core.disclosure import TERM_WARNING_DAYS
from core.matters import audit_list
from core.phones import dial_uri, readable
from core.vocabulary import GRADES, MATTER_STATUS_LABELS, ROLES
from web.access import actor, allow
from web.labels import EVENT_KIND_LABELS
from web.render import render

bp = Blueprint("home", __name__)


def has_template(name: str) -> bool:
    """Does the app have the template ``name`` (another part's include point)?"""
    try:
        current_app.jinja_env.get_template(name)
    except TemplateNotFound:
        return False
    return True


@bp.context_processor
def _home_words():
    return dict(weekday_names=WEEKDAY_NAMES, kind_labels=EVENT_KIND_LABELS,
                grades=GRADES, matter_status_labels=MATTER_STATUS_LABELS,
                has_template=has_template, local=clock.to_local)


@bp.route("/home")
@allow(*ROLES)
def index():
    user = actor()
    if user.role == "lawyer":
        data = home.lawyer_home(user)
        audit_list(user, data.matters, address=request.remote_addr or "")
        return render("home/lawyer.html", user=user, home=data, today=data.today)
    if user.role == "village":
        return render("home/village.html", user=user, home=home.village_home(user),
                      dial_uri=dial_uri, readable=readable)
    return render("home/desk.html", user=user, desk=desk.desk(user),
                  term_days=TERM_WARNING_DAYS, shortfall=desk.shortfall)
