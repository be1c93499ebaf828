"""What a village asks of its lawyer (``core.village_requests``): invitations to its
activities, residents' demands, and its word on whether a session took place.

- ``/village/requests`` (village users): the sessions awaiting the village's word (confirm
  in one tap, or dispute with a reason), the forms to invite the lawyer and to pass on a
  resident's demand, and what was asked lately with the answers;
- ``/requests/awaiting`` (lawyers): the invitations and demands awaiting the lawyer's
  answer, with accept, decline and answer;
- ``/requests`` (everyone, in their scope): invitations, demands and disputed sessions,
  paged, filtered by status and town, with their counts; ``/requests/invitations/<id>`` and
  ``/requests/demands/<id>``: one request with what the reader may do to it.

The homes (``/home``) include ``village_requests/_village_home.html`` and
``village_requests/_lawyer_home.html``: each gets its data from a template global given
``current_user`` (``village_requests_home``, ``lawyer_requests_home``) and posts its forms
with ``back=home``, so the answer is that partial again. Every form follows the panel
protocol (``web.panels``): refused, the panel again with the core's message next to the
field and what was typed; done, the fresh panel and ``HX-Trigger: villageRequestsChanged``.
"""
import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, abort, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField, TimeField

from core import clock
from core import village_requests as service
from core.access import is_village_lawyer, speaks_for_village
from core.calendar_views import readable_event
from core.errors import NotFound, PermissionDenied
from core.models import Event, Invitation, ResidentDemand, SessionConfirmation, Town, Village
from core.pairings import active_pairing
from core.vocabulary import (DEMAND_CATEGORIES, DEMAND_STATUSES, INVITATION_KINDS,
                             INVITATION_STATUSES, ROLES, STAFF)
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web import labels
from web.access import actor, allow
from web.listing import paginate, query_text, town_choices, town_matching
from web.panels import Panel
from web.render import render

bp = Blueprint("village_requests", __name__)

CHANGED = "villageRequestsChanged"
TABS = ("invitations", "demands", "disputes")
TAB_STATUSES = {"invitations": INVITATION_STATUSES, "demands": DEMAND_STATUSES, "disputes": ()}
FOCUSED = {"village": "invitations", "lawyer": "invitations"}  # else demands


@bp.app_template_global()
def request_labels() -> dict:
    """The requests' words in the reader's language (``core.vocabulary``)."""
    return {"invitation_kind": labels.INVITATION_KIND_LABELS,
            "invitation_status": labels.INVITATION_STATUS_LABELS,
            "category": labels.DEMAND_CATEGORY_LABELS,
            "demand_status": labels.DEMAND_STATUS_LABELS,
            "verdict": labels.VERDICT_LABELS,
            "event_kind": labels.EVENT_KIND_LABELS,
            "event_status": labels.EVENT_STATUS_LABELS}


bp.add_app_template_global(service.masked_contact, "masked_contact")


# --- forms -------------------------------------------------------------------------------

class InviteForm(FlaskForm):
    kind = SelectField(_l("What kind of activity"), choices=[
        SelectChoice(kind, labels.INVITATION_KIND_LABELS[kind]) for kind in INVITATION_KINDS])
    title = StringField(_l("Title"), render_kw={"maxlength": service.MAX_TITLE},
                        description=_l("e.g. 村民代表大会, 普法讲座"))
    day = DateField(_l("Day"))
    start = TimeField(_l("Starts"))
    end = TimeField(_l("Ends"))
    place = StringField(_l("Place"), render_kw={"maxlength": service.MAX_PLACE})
    description = TextAreaField(_l("What the lawyer should know"),
                                render_kw={"rows": 3, "maxlength": service.MAX_TEXT})


class DemandForm(FlaskForm):
    category = SelectField(_l("What it is about"), choices=[SelectChoice("", _l("Choose…"))] + [
        SelectChoice(c, labels.DEMAND_CATEGORY_LABELS[c]) for c in DEMAND_CATEGORIES])
    text = TextAreaField(_l("The resident's demand"),
                         render_kw={"rows": 4, "maxlength": service.MAX_TEXT})
    contact_name = StringField(_l("Resident's name"), render_kw={"maxlength": service.MAX_NAME},
                               description=_l("Only if the resident agrees. Lists show it "
                                              "masked."))
    contact_phone = StringField(_l("Resident's phone"), render_kw={"inputmode": "tel"})


class ConfirmForm(FlaskForm):
    """The village's word on one event: the buttons send ``verdict``."""
    reason = TextAreaField(_l("What did not take place as recorded"),
                           render_kw={"rows": 2, "maxlength": service.MAX_TEXT})


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Why you decline"),
                           render_kw={"rows": 2, "maxlength": service.MAX_TEXT})


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Your answer"), render_kw={"rows": 4, "maxlength": service.MAX_TEXT})


class ActionForm(FlaskForm):
    """A one-button action (accept, withdraw)."""


def _confirm_name(event_id: int) -> str:
    return f"confirm-{event_id}"


def _invite_defaults(village: Village) -> dict:
    """A week from today, 09:00 to 11:00, at the village's committee."""
    return dict(day=clock.today() + dt.timedelta(days=7), start=dt.time(9, 0),
                end=dt.time(11, 0), place=village.address)


# --- the village's side ---------------------------------------------------------------------

def _user(current_user):
    """The ``core.models.User`` behind a template's ``current_user`` (or a User itself)."""
    return getattr(current_user, "user", current_user)


def _village_data(village: Village, bound: dict | None = None, recent: bool = False) -> dict:
    """What the village's panels show: the overview (``core.village_requests``), with
    ``recent`` every session it may still give its word on (the page, where a word is
    changed too), and a form for each of them (the submitted one as typed)."""
    bound = bound or {}
    overview = service.village_overview(village)
    sessions = list(service.confirmable_events(village)) if recent else overview["awaiting"]
    confirm = {event.id: bound.get(_confirm_name(event.id))
               or ConfirmForm(formdata=None, prefix=_confirm_name(event.id))
               for event in sessions}
    refused = {name: form for name, form in bound.items() if name.startswith("confirm-")}
    return {**overview, "village": village, "sessions": sessions, "confirm_forms": confirm,
            "alerts": _alerts(refused)}


def _unoffered(bound: dict, forms: dict) -> list[str]:
    """Every message of a refused form no longer offered (e.g. accepting an invitation the
    village withdrew meanwhile), to show at the top of the panel."""
    return [message for name, form in bound.items() if name not in forms
            for message in [*form.form_errors, *(m for ms in form.errors.values() for m in ms)]]


def _alerts(bound: dict | None) -> list[str]:
    """The messages of refused forms that are not about one of their fields, for forms
    that show only their fields' (a session's word, a lawyer's answer on the home): shown
    at the top of the panel, where they are seen even when the form is no longer offered."""
    return [message for form in (bound or {}).values() for message in form.form_errors]


@bp.app_template_global()
def village_requests_home(current_user, bound=None) -> dict | None:
    """The village home's data (``_village_home.html``): None for anyone but a village user."""
    user = _user(current_user)
    if user is None or user.role != "village" or not user.village_id:
        return None
    return _village_data(user.village, bound)


def _own_village() -> Village:
    user = actor()
    if not user.village_id:
        abort(404)
    return user.village


def _village_page(village: Village, *, bound: dict | None = None, status: int = 200,
                  trigger: str | None = None, notice: str | None = None):
    bound = bound or {}
    forms = {"invite": bound.get("invite") or InviteForm(
                 formdata=None, prefix="invite", **_invite_defaults(village)),
             "demand": bound.get("demand") or DemandForm(formdata=None, prefix="demand")}
    return render("village_requests/village.html", "village_requests/_village.html",
                  status=status, trigger=trigger, vr=_village_data(village, bound, recent=True),
                  forms=forms, vr_notice=notice)


def _village_home(village: Village, *, bound: dict | None = None, status: int = 200,
                  trigger: str | None = None, notice: str | None = None):
    """The home's partial alone (HTMX); without HTMX, the village's page."""
    if request.headers.get("HX-Request"):
        return render("village_requests/_village_home.html", status=status, trigger=trigger,
                      vr_bound=bound, vr_notice=notice)
    return _village_page(village, bound=bound, status=status, trigger=trigger, notice=notice)


def _back_to_village(village):
    return url_for("village_requests.village_page")


VILLAGE = Panel(_village_page, trigger=CHANGED, back=_back_to_village, redirect_code=303,
                raises=(PermissionDenied, NotFound))
VILLAGE_HOME = Panel(_village_home, trigger=CHANGED, back=_back_to_village, redirect_code=303,
                     raises=(PermissionDenied, NotFound))


def _village_panel() -> Panel:
    return VILLAGE_HOME if request.form.get("back") == "home" else VILLAGE


@bp.route("/village/requests")
@allow("village")
def village_page():
    return _village_page(_own_village())


@bp.route("/village/requests/invite", methods=["POST"])
@allow("village")
def invite():
    village, form = _own_village(), InviteForm(prefix="invite")

    def change():
        service.invite(actor(), village, kind=form.kind.data, title=form.title.data,
                       place=form.place.data, day=form.day.data, start=form.start.data,
                       end=form.end.data, description=form.description.data)
        return _("%(lawyer)s is invited; you will see the answer here.",
                 lawyer=active_pairing(village).lawyer.name)
    return VILLAGE.submit(village, "invite", form, change, validate=False)


@bp.route("/village/requests/demand", methods=["POST"])
@allow("village")
def pass_on():
    village, form = _own_village(), DemandForm(prefix="demand")

    def change():
        service.pass_on_demand(actor(), village, category=form.category.data,
                               text=form.text.data, contact_name=form.contact_name.data,
                               contact_phone=form.contact_phone.data)
        return _("The demand is passed on to your lawyer.")
    return VILLAGE.submit(village, "demand", form, change, validate=False)


@bp.route("/village/requests/sessions/<int:event_id>", methods=["POST"])
@allow("village")
def confirm(event_id):
    village = _own_village()
    event = Event.get_or_none((Event.id == event_id) & (Event.village == village.id))
    if event is None:
        abort(404)
    name = _confirm_name(event.id)
    form = ConfirmForm(prefix=name)
    verdict = request.form.get("verdict", "")

    def change():
        service.confirm_session(actor(), event, verdict=verdict, reason=form.reason.data)
        if verdict == "disputed":
            return _("Your dispute is recorded; the lawyer and the judicial office see it.")
        return _("Thank you: recorded as taken place.")
    return _village_panel().submit(village, name, form, change, validate=False)


@bp.route("/village/requests/invitations/<int:invitation_id>/withdraw", methods=["POST"])
@allow("village")
def withdraw(invitation_id):
    invitation = _invitation_or_404(invitation_id)
    form = ActionForm(prefix="withdraw")

    def change():
        service.withdraw_invitation(actor(), invitation)
        return _("The invitation is withdrawn; the lawyer is told.")
    return INVITATION.submit(invitation, "withdraw", form, change, validate=False)


# --- the lawyer's side: what awaits them --------------------------------------------------------

def _lawyer_data(user, bound: dict | None = None) -> dict:
    bound = bound or {}
    overview = service.lawyer_overview(user)
    decline = {i.id: bound.get(f"decline-{i.id}")
               or DeclineForm(formdata=None, prefix=f"decline-{i.id}")
               for i in overview["invitations"]}
    answer = {d.id: bound.get(f"answer-{d.id}")
              or AnswerForm(formdata=None, prefix=f"answer-{d.id}")
              for d in overview["demands"]}
    return {**overview, "decline_forms": decline, "answer_forms": answer,
            "alerts": _alerts(bound)}


@bp.app_template_global()
def lawyer_requests_home(current_user, bound=None) -> dict | None:
    """The lawyer home's data (``_lawyer_home.html``): None for anyone but a lawyer."""
    user = _user(current_user)
    if user is None or user.role != "lawyer" or not user.lawyer_id:
        return None
    return _lawyer_data(user, bound)


def _awaiting_page(user, *, bound: dict | None = None, status: int = 200,
                   trigger: str | None = None, notice: str | None = None):
    own_page = url_for("village_requests.awaiting")
    on_page = own_page in (request.path, urlsplit(request.headers.get("HX-Current-URL", "")).path)
    return render("village_requests/awaiting.html", "village_requests/_lawyer_home.html",
                  status=status, trigger=trigger, vr_bound=bound, vr_notice=notice,
                  vr_on_page=on_page)


LAWYER_HOME = Panel(_awaiting_page, trigger=CHANGED, redirect_code=303,
                    back=lambda user: url_for("village_requests.awaiting"),
                    raises=(PermissionDenied, NotFound))


@bp.route("/requests/awaiting")
@allow("lawyer")
def awaiting():
    return _awaiting_page(actor())


# --- one invitation -------------------------------------------------------------------------------

def _invitation_or_404(invitation_id: int) -> Invitation:
    try:
        return service.get_invitation(actor(), invitation_id)
    except NotFound:
        abort(404)


def _invitation_page(invitation: Invitation, *, bound: dict | None = None, status: int = 200,
                     trigger: str | None = None, notice: str | None = None):
    user, now = actor(), clock.now_utc()
    bound = bound or {}
    pending = invitation.status == "pending"
    forms = {}
    if pending and invitation.starts_at > now and is_village_lawyer(user, invitation.village):
        forms["accept"] = bound.get("accept") or ActionForm(formdata=None, prefix="accept")
        forms["decline"] = bound.get("decline") or DeclineForm(formdata=None, prefix="decline")
    if pending and speaks_for_village(user, invitation.village):
        forms["withdraw"] = bound.get("withdraw") or ActionForm(formdata=None, prefix="withdraw")
    alerts = _unoffered(bound, forms)
    event = None
    if invitation.event_id:
        try:
            event = readable_event(user, invitation.event_id)
        except NotFound:
            event = None
    return render("village_requests/invitation.html", "village_requests/_invitation.html",
                  status=status, trigger=trigger, invitation=invitation, forms=forms,
                  event=event, vr_notice=notice, opened=next(iter(bound), None), alerts=alerts)


def _reread_invitation(invitation: Invitation) -> Invitation:
    return service.get_invitation(actor(), invitation.id)


INVITATION = Panel(_invitation_page, trigger=CHANGED, redirect_code=303,
                   back=lambda i: url_for("village_requests.invitation", invitation_id=i.id),
                   reread=_reread_invitation, raises=(PermissionDenied, NotFound))


def _answered_on(found, own: Panel, action: str) -> tuple[Panel, str, object]:
    """Where a lawyer's answer to ``found`` is shown: (panel, form name, subject) — the
    home's partial for a form posted from it (``back=home``; its forms are named per
    request), else the request's own page."""
    if request.form.get("back") == "home":
        return LAWYER_HOME, f"{action}-{found.id}", actor()
    return own, action, found


@bp.route("/requests/invitations/<int:invitation_id>")
@allow(*ROLES)
def invitation(invitation_id):
    return _invitation_page(_invitation_or_404(invitation_id))


@bp.route("/requests/invitations/<int:invitation_id>/accept", methods=["POST"])
@allow("lawyer")
def accept(invitation_id):
    found = _invitation_or_404(invitation_id)
    panel, name, subject = _answered_on(found, INVITATION, "accept")
    form = ActionForm(prefix=name)

    def change():
        service.accept_invitation(actor(), found)
        return _("Accepted: %(title)s is in your calendar.", title=found.title)
    return panel.submit(subject, name, form, change, validate=False)


@bp.route("/requests/invitations/<int:invitation_id>/decline", methods=["POST"])
@allow("lawyer")
def decline(invitation_id):
    found = _invitation_or_404(invitation_id)
    panel, name, subject = _answered_on(found, INVITATION, "decline")
    form = DeclineForm(prefix=name)

    def change():
        service.decline_invitation(actor(), found, form.reason.data)
        return _("Declined; the village is told why.")
    return panel.submit(subject, name, form, change, validate=False)


# --- one demand ------------------------------------------------------------------------------------

def _demand_or_404(demand_id: int, *, read: bool = False) -> ResidentDemand:
    try:
        if read:
            return service.view_demand(actor(), demand_id, address=request.remote_addr or "")
        return service.get_demand(actor(), demand_id)
    except NotFound:
        abort(404)


def _demand_page(demand: ResidentDemand, *, bound: dict | None = None, status: int = 200,
                 trigger: str | None = None, notice: str | None = None):
    bound = bound or {}
    forms = {}
    if demand.status == "open" and is_village_lawyer(actor(), demand.village):
        forms["answer"] = bound.get("answer") or AnswerForm(formdata=None, prefix="answer")
    return render("village_requests/demand.html", "village_requests/_demand.html",
                  status=status, trigger=trigger, demand=demand, forms=forms,
                  vr_notice=notice, alerts=_unoffered(bound, forms))


DEMAND = Panel(_demand_page, trigger=CHANGED, redirect_code=303,
               back=lambda d: url_for("village_requests.demand", demand_id=d.id),
               reread=lambda d: service.get_demand(actor(), d.id),
               raises=(PermissionDenied, NotFound))


@bp.route("/requests/demands/<int:demand_id>")
@allow(*ROLES)
def demand(demand_id):
    return _demand_page(_demand_or_404(demand_id, read=True))


@bp.route("/requests/demands/<int:demand_id>/answer", methods=["POST"])
@allow("lawyer")
def answer(demand_id):
    found = _demand_or_404(demand_id)
    panel, name, subject = _answered_on(found, DEMAND, "answer")
    form = AnswerForm(prefix=name)

    def change():
        service.answer_demand(actor(), found, form.answer.data)
        return _("Answered; the village is told.")
    return panel.submit(subject, name, form, change, validate=False)


# --- the lists --------------------------------------------------------------------------------------

def _tab(user) -> str:
    shown = query_text("show", 20)
    if shown in TABS:
        return shown
    return FOCUSED.get(user.role, "demands")


def _towns(user) -> list[tuple[str, str]] | None:
    """The towns a reader may filter by (only when there is more than one); None when
    there are too many for a select (``web.listing.town_choices``): the town is typed."""
    towns = town_choices(user)
    return towns if towns is None or len(towns) > 1 else []


def _listing(user, tab: str, status: str, town_code: str):
    if tab == "invitations":
        query = service.invitations_visible_to(user)
        if status:
            query = query.where(Invitation.status == status)
        query = query.order_by(Invitation.status != "pending", Invitation.starts_at.desc(),
                               Invitation.id.desc())
    elif tab == "demands":
        query = service.demands_visible_to(user)
        if status:
            query = query.where(ResidentDemand.status == status)
        query = query.order_by(ResidentDemand.status != "open",
                               ResidentDemand.created_at.desc(), ResidentDemand.id.desc())
    else:
        query = service.disputes_visible_to(user).order_by(SessionConfirmation.at.desc(),
                                                            SessionConfirmation.id.desc())
    if town_code:  # an unknown town matches nothing
        query = query.where(Village.town.in_(Town.select(Town.id)
                                             .where(town_matching(town_code))))
    return paginate(query)


def _counts(user) -> dict:
    """What waits, per tab: pending invitations, open demands, disputed sessions."""
    return {"invitations": service.invitations_visible_to(user)
            .where(Invitation.status == "pending").count(),
            "demands": service.demands_visible_to(user)
            .where(ResidentDemand.status == "open").count(),
            "disputes": service.disputes_visible_to(user).count()}


@bp.route("/requests/")
@allow(*ROLES)
def index():
    user = actor()
    tab = _tab(user)
    status = query_text("status", 20)
    if status not in TAB_STATUSES[tab]:
        status = ""
    town_code = query_text("town", 50)
    return render("village_requests/index.html", "village_requests/_results.html",
                  tab=tab, tabs=TABS, listing=_listing(user, tab, status, town_code),
                  status_filter=status, statuses=TAB_STATUSES[tab], town_code=town_code,
                  towns=_towns(user), counts=_counts(user),
                  tab_titles={"invitations": _("Invitations"), "demands": _("Residents' demands"),
                              "disputes": _("Disputed sessions")})


# --- on an event's page ---------------------------------------------------------------------------

@bp.app_template_global()
def event_requests(event) -> dict:
    """What an event's page says of the village's requests: the invitation it comes from,
    and the village's word on it (for the village's users a link to give it)."""
    user = actor()
    invitation = (service.invitations_visible_to(user).where(Invitation.event == event.id)
                  .first())
    confirmation = None
    if event.kind in service.CONFIRMABLE_KINDS and event.village_id and (
            speaks_for_village(user, event.village) or user.role in STAFF):
        confirmation = service.confirmation_of(event)
    now = clock.now_utc()
    can_confirm = (event.kind in service.CONFIRMABLE_KINDS and event.village_id is not None
                   and event.status != "cancelled" and user.role == "village"
                   and speaks_for_village(user, event.village)
                   and now - dt.timedelta(days=service.CONFIRM_DAYS) < event.ends_at <= now)
    return {"invitation": invitation, "confirmation": confirmation, "can_confirm": can_confirm}
