"""Return visits, satisfaction and residents' ratings (DOMAIN 五.4), calling core.feedback.

Coordinators work through the return visits of their scope, see satisfaction per pairing,
town and district over the last quarters, follow up low ratings, read anonymous ones and
exclude bursts. A session's lawyer or coordinator prints one-time rating codes from the
event's page. Residents rate their lawyer from the public village page (``POST
/v/<code>/rate``, no login), with a code (it counts) or without (anonymous feedback: the
device is told apart by a random cookie, the network by a keyed daily hash, never kept).
"""
import secrets

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from peewee import JOIN

from core import clock
from core import feedback as service
from core.access import can_manage_village, coordinator_scope, public, village_filter
from core.calendar_views import readable_event
from core.errors import JieduiError, NotFound, TooManyAttempts
from core.models import (Event, Lawyer, Pairing, Rating, RatingBurst, RatingCode, ReturnVisit,
                         User, Village)
from core.pairings import active_pairing
from core.vocabulary import MANAGERS, READERS, STAFF
from web.i18n import gettext as _
from web.i18n import ngettext
from web.access import actor, allow
from web.feeds import qr_data_uri
from web.listing import paginate, query_text
from web.render import htmx, render

bp = Blueprint("feedback", __name__)

VISIT_DONE = "returnVisitDone"
FOLLOWED_UP = "ratingFollowedUp"
EXCLUDED = "ratingExcluded"
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
@allow(*READERS)
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
@allow(*MANAGERS)  # the page is the form that records the visit
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
    village, town = coordinator_scope(user)
    if village is not None:
        pairing = active_pairing(village)
        return {"pairing": pairing} if pairing else {"pairing": Pairing(id=0, village=village)}
    return {"town": town} if town is not None else {}


@bp.route("/feedback/satisfaction")
@allow(*MANAGERS)
def satisfaction():
    periods = service.recent_periods(clock.today(), QUARTERS_SHOWN)
    table = service.satisfaction(period=periods, **_scope_filter(actor()))
    return render("feedback/satisfaction.html", table=table, periods=periods)


# --- residents' ratings: follow up low ones, read anonymous ones, exclude bursts ----------------

RATING_VIEWS = ("", "flagged", "all")  # to act on (the default), flagged in a burst, every one


def _ratings_in_scope(user: User):
    """The ratings of the villages ``user`` reads, with what a row shows; ``counts`` is the
    one rule of what counts (core.feedback.counts), per rating."""
    return (Rating.select(Rating, Pairing, Village, Lawyer, RatingCode, Event,
                          service.counts().alias("counts"))
            .join(Pairing).join(Village).switch(Pairing).join(Lawyer)
            .switch(Rating).join(RatingCode, JOIN.LEFT_OUTER).join(Event, JOIN.LEFT_OUTER)
            .where(village_filter(user)))


def _open_bursts(user: User) -> list[RatingBurst]:
    """The bursts in ``user``'s villages with ratings not excluded yet, newest first."""
    pending = Rating.select(Rating.burst).where(Rating.burst.is_null(False) & ~Rating.excluded)
    return list(RatingBurst.select(RatingBurst, Village).join(Village)
                .where(village_filter(user) & RatingBurst.id.in_(pending))
                .order_by(RatingBurst.last_at.desc()).limit(20))


def _ratings_page(show: str, trigger=None):
    query = _ratings_in_scope(actor())
    if show == "flagged":
        query = query.where(Rating.burst.is_null(False))
    elif show != "all":  # to act on: low ones not followed up, and those of a burst
        query = query.where(service.low_rating_filter()
                            | (service.awaiting_follow_up() & Rating.burst.is_null(False)))
    query = query.order_by(Rating.created_at.desc(), Rating.id.desc())
    return render("feedback/ratings.html", "feedback/_ratings.html", trigger=trigger,
                  listing=paginate(query), show=show, bursts=_open_bursts(actor()),
                  low_score=service.LOW_SCORE)


def _show() -> str:
    show = (request.values.get("show") or "").strip()
    return show if show in RATING_VIEWS else ""


@bp.route("/feedback/ratings")
@allow(*READERS)
def ratings():
    return _ratings_page(_show())


def _managed_rating(rating_id: int) -> Rating:
    rating = _ratings_in_scope(actor()).where(Rating.id == rating_id).first()
    if rating is None or not can_manage_village(actor(), rating.pairing.village):
        abort(404)
    return rating


@bp.route("/feedback/ratings/<int:rating_id>/followed-up", methods=["POST"])
@allow(*MANAGERS)
def followed_up(rating_id):
    rating = _managed_rating(rating_id)
    service.mark_followed_up(actor(), rating)
    if not htmx:
        flash(_("The rating is marked as followed up."))
        return redirect(url_for("feedback.ratings"), 303)
    return render("feedback/_rating_row.html", rating=rating, trigger=FOLLOWED_UP,
                  low_score=service.LOW_SCORE)


@bp.route("/feedback/ratings/<int:rating_id>/exclude", methods=["POST"])
@allow(*MANAGERS)
def exclude(rating_id):
    rating = _managed_rating(rating_id)
    service.exclude_rating(actor(), rating)  # refused (422) unless flagged in a burst
    if not htmx:
        flash(_("The rating is excluded."))
        return redirect(url_for("feedback.ratings", show=_show() or None), 303)
    rating = _managed_rating(rating_id)  # with ``counts`` as it is now
    return render("feedback/_rating_row.html", rating=rating, trigger=EXCLUDED,
                  low_score=service.LOW_SCORE)


@bp.route("/feedback/bursts/<int:burst_id>/exclude", methods=["POST"])
@allow(*MANAGERS)
def exclude_burst(burst_id):
    burst = (RatingBurst.select(RatingBurst, Village).join(Village)
             .where((RatingBurst.id == burst_id) & village_filter(actor())).first())
    if burst is None or not can_manage_village(actor(), burst.village):
        abort(404)
    count = service.exclude_burst(actor(), burst)
    message = ngettext("%(num)d rating of the burst is excluded.",
                       "%(num)d ratings of the burst are excluded.", count)
    if not htmx:
        flash(message)
        return redirect(url_for("feedback.ratings", show=_show() or None), 303)
    return _ratings_page(_show(), trigger=EXCLUDED)


# --- rating codes for an event (printed, shown once) --------------------------------------------

@bp.route("/calendar/events/<int:event_id>/rating-codes", methods=["POST"])
@allow(*STAFF)  # the event's editors: core.access.can_edit_event
def issue_codes(event_id):
    """A printable sheet of one-time rating codes for the event's residents. The codes are
    kept only as keyed hashes: this page is the one time they are shown."""
    event = readable_event(actor(), event_id)  # NotFound: 404
    codes = service.issue_codes(actor(), event, request.form.get("count"))
    base_url = current_app.config["JIEDUI_SETTINGS"].base_url
    slips = []
    for code in codes:
        url = base_url + url_for("public.village", code=event.village.code, rc=code,
                                       _anchor="rate-form")
        slips.append({"code": service.format_code(code), "url": url, "qr": qr_data_uri(url)})
    response = render("feedback/codes.html", event=event, slips=slips,
                      valid_until=service.code_valid_until(event),
                      page_url=base_url + url_for("public.village", code=event.village.code))
    response.headers["Cache-Control"] = "no-store"  # never kept by a cache or the history
    return response


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
    """A rating from the public page. The client's address (``request.remote_addr``, the
    proxy's forwarded one with JIEDUI_TRUSTED_PROXIES) goes to the core, which keeps only a
    keyed daily hash of it. A refused rating shows the form again with the reason."""
    device, is_new = _device_id()
    values = {name: request.form.get(name, "") for name in ("score", "comment", "code")}
    status, message, field, verified = 200, "", None, False
    try:
        rating = service.rate_lawyer(code, device_id=device, score=values["score"],
                                     comment=values["comment"], code=values["code"],
                                     address=request.remote_addr or "")
    except NotFound:
        abort(404)
    except JieduiError as error:
        status = 429 if isinstance(error, TooManyAttempts) else 422
        message, field = error.translate(_), getattr(error, "field", None)
    else:
        verified = rating.code_id is not None
    response = render("feedback/rated.html",
                      "feedback/_rate_form.html" if status != 200 else "feedback/_rate_result.html",
                      status=status, code=code, refused=status != 200, verified=verified,
                      rate_error=message, rate_error_field=field, rate_values=values)
    if is_new:
        response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_COOKIE_DAYS * 86400,
                            httponly=True, samesite="Lax",
                            secure=current_app.config["JIEDUI_SETTINGS"].base_url
                            .startswith("https://"))
    return response
