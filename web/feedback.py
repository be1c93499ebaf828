"""Return visits, satisfaction and residents' ratings (DOMAIN 五.4), calling core.feedback.

Coordinators work through the return visits of their scope, see satisfaction per pairing,
town and district over the last quarters, and follow up low ratings. Residents rate their
lawyer from the public village page (``POST /v/<code>/rate``, no login): the device is
told apart by a random cookie, never by its address.
"""
import secrets

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _

from core import clock
from core import feedback as service
from core.access import can_manage_village, public, village_filter
from core.errors import JieduiError, NotFound
from core.models import Pairing, Rating, ReturnVisit, Town, User, Village
from core.pairings import active_pairing
from web.access import actor, allow
from web.listing import paginate, query_text
from web.render import htmx, render

bp = Blueprint("feedback", __name__)

MANAGERS = ("admin", "coordinator")
VISIT_DONE = "returnVisitDone"
FOLLOWED_UP = "ratingFollowedUp"
DEVICE_COOKIE = "jiedui_device"
DEVICE_COOKIE_DAYS = 2 * 365
QUARTERS_SHOWN = 4


# --- return visits -------------------------------------------------------------------------

def _visit_filters() -> dict:
    status = query_text("status", 10)
    period = query_text("period", 6).upper()
    return {"status": status if status in ("open", "done") else "",
            "period": period if _is_period(period) else ""}


def _is_period(text: str) -> bool:
    try:
        service.parse_period(text)
    except JieduiError:
        return False
    return True


def _visits_in_scope(user: User):
    return (ReturnVisit.select(ReturnVisit, Pairing, Village)
            .join(Pairing).join(Village)
            .where(village_filter(user)))


@bp.route("/feedback/visits")
@allow(*MANAGERS)
def visits():
    filters = _visit_filters()
    query = _visits_in_scope(actor())
    if filters["status"]:
        query = query.where(ReturnVisit.status == filters["status"])
    if filters["period"]:
        query = query.where(ReturnVisit.period == filters["period"])
    query = query.order_by(ReturnVisit.period.desc(), ReturnVisit.status.desc(), Village.code)
    periods = sorted({v.period for v in _visits_in_scope(actor()).select(ReturnVisit.period)
                      .distinct()}, reverse=True)
    return render("feedback/visits.html", "feedback/_visits.html", listing=paginate(query),
                  filters=filters, periods=[(p, p) for p in periods],
                  statuses=[("open", _("Open")), ("done", _("Done"))], today=clock.today())


def _visit_or_404(visit_id: int) -> ReturnVisit:
    visit = (_visits_in_scope(actor()).where(ReturnVisit.id == visit_id).first())
    if visit is None or not can_manage_village(actor(), visit.pairing.village):
        abort(404)
    return visit


def _visit_panel(visit: ReturnVisit, *, error: JieduiError | None = None, form=None,
                 status: int = 200, trigger=None):
    return render("feedback/visit.html", "feedback/_visit_panel.html", status=status,
                  trigger=trigger, visit=visit, form=form or {
                      "contact": visit.contact, "satisfaction": str(visit.satisfaction or ""),
                      "comments": visit.comments},
                  error=error.translate(_) if error else "",
                  error_field=getattr(error, "field", None))


@bp.route("/feedback/visits/<int:visit_id>")
@allow(*MANAGERS)
def visit(visit_id):
    return _visit_panel(_visit_or_404(visit_id))


@bp.route("/feedback/visits/<int:visit_id>", methods=["POST"])
@allow(*MANAGERS)
def complete(visit_id):
    visit = _visit_or_404(visit_id)
    form = {name: request.form.get(name, "") for name in ("contact", "satisfaction", "comments")}
    try:
        service.complete_return_visit(actor(), visit, **form)
    except JieduiError as error:
        return _visit_panel(visit, error=error, form=form, status=422)
    if not htmx:
        flash(_("The return visit to %(village)s is recorded.",
                village=visit.pairing.village.name))
        return redirect(url_for("feedback.visits"), 303)
    return _visit_panel(visit, trigger=VISIT_DONE)


# --- satisfaction ------------------------------------------------------------------------------

def _scope_filter(user: User) -> dict:
    """The pairing and town lines a coordinator sees: their village's, their town's, all."""
    if user.role == "coordinator" and user.village_id:
        pairing = active_pairing(user.village)
        return {"pairing": pairing} if pairing else {"pairing": Pairing(id=0, village=user.village)}
    if user.role == "coordinator" and user.town_id:
        return {"town": Town.get_by_id(user.town_id)}
    return {}


@bp.route("/feedback/satisfaction")
@allow(*MANAGERS)
def satisfaction():
    periods = service.recent_periods(clock.today(), QUARTERS_SHOWN)
    table = service.satisfaction(period=periods, **_scope_filter(actor()))
    return render("feedback/satisfaction.html", table=table, periods=periods)


# --- low ratings to follow up ----------------------------------------------------------------

def _ratings_in_scope(user: User):
    return (Rating.select(Rating, Pairing, Village)
            .join(Pairing).join(Village)
            .where(village_filter(user) & (Rating.score <= service.LOW_SCORE)))


@bp.route("/feedback/ratings")
@allow(*MANAGERS)
def ratings():
    show_all = request.args.get("show") == "all"
    query = _ratings_in_scope(actor())
    if not show_all:
        query = query.where(~Rating.followed_up)
    query = query.order_by(Rating.created_at.desc(), Rating.id.desc())
    return render("feedback/ratings.html", "feedback/_ratings.html", listing=paginate(query),
                  show_all=show_all)


@bp.route("/feedback/ratings/<int:rating_id>/followed-up", methods=["POST"])
@allow(*MANAGERS)
def followed_up(rating_id):
    rating = _ratings_in_scope(actor()).where(Rating.id == rating_id).first()
    if rating is None or not can_manage_village(actor(), rating.pairing.village):
        abort(404)
    service.mark_followed_up(actor(), rating)
    if not htmx:
        flash(_("The rating is marked as followed up."))
        return redirect(url_for("feedback.ratings"), 303)
    return render("feedback/_rating_row.html", rating=rating, trigger=FOLLOWED_UP)


# --- residents rate their lawyer (public) ----------------------------------------------------

def _device_id() -> tuple[str, bool]:
    """The device's random id from its cookie, or a new one (True: set the cookie)."""
    value = request.cookies.get(DEVICE_COOKIE, "")
    if 20 <= len(value) <= 100 and value.replace("-", "").replace("_", "").isalnum():
        return value, False
    return secrets.token_urlsafe(32), True


@bp.route("/v/<code>/rate", methods=["POST"])
@public  # residents rate without an account; the limits are in core.feedback.rate_lawyer
def rate(code):
    device, is_new = _device_id()
    message, status = _("Thank you! Your rating has been recorded."), 200
    try:
        service.rate_lawyer(code, device_id=device, score=request.form.get("score"),
                            comment=request.form.get("comment", ""))
    except NotFound:
        abort(404)
    except JieduiError as error:
        message, status = error.translate(_), 422
    response = render("feedback/rated.html", "feedback/_rate_result.html", status=status,
                      code=code, message=message, refused=status != 200)
    if is_new:
        response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_COOKIE_DAYS * 86400,
                            httponly=True, samesite="Lax",
                            secure=current_app.config["JIEDUI_SETTINGS"].base_url
                            .startswith("https://"))
    return response
