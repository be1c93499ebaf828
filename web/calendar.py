"""The calendar: month and agenda views, an event's page with its forms (move, record that it
took place, cancel), the district's quota, planning runs and the holiday table.

Who sees which calendar and event is decided in ``core.calendar_views``; every change goes
through ``core.events`` / ``core.workdays`` / ``core.jobs``. A change answers with the
refreshed fragment and ``HX-Trigger: calendarChanged`` (the calendar listens for it); a rule
the core refuses comes back as its translated message next to the form, status 422, nothing
written. Without HTMX the forms post normally and are redirected back with a message.
"""
import datetime as dt
import re
import tempfile
from collections import Counter
from functools import partial
from pathlib import Path

from babel.dates import format_skeleton
from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import get_locale
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Length, Optional

from core import calendar_views as views
from core.assessment import behind_pairing_ids
from core import clock, feedback
from core import events as event_service
from core import jobs, placements, planner, signins, workdays
from core.access import (can_edit_event, can_manage_event, can_plan, sheet_filter, town_filter,
                         village_filter)
from core.errors import JieduiError, NotFound, PermissionDenied
from core.locks import mark_interrupted_runs
from core.models import HOLIDAY_KINDS, Lawyer, Pairing, PlanRun, Town, Village
from core.vocabulary import MANAGERS, READERS, ROLES, STAFF
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.i18n import ngettext
from web import labels
from web.access import actor, allow
from web.exports import list_export
from web.listing import (Sorting, list_args, paginate, query_number, query_text,
                         search_term, whole_number, town_choices, town_code_for)
from web.longwork import long_export
from web.panels import Panel
from web.render import htmx, render
from web.signin_state import prime_signins

bp = Blueprint("calendar", __name__, url_prefix="/calendar")

CHANGED = "calendarChanged"
SIGNIN_FORMS = ("signin", "signout")  # posted from the sign-in partial on the event's page
HOLIDAYS_CHANGED = "holidaysChanged"
MAX_IMPORT_BYTES = 64 * 1024
DAY_LIMIT = 6  # events shown in a day of a town's or the district's month; the rest in the agenda

KIND_LABELS, STATUS_LABELS = labels.EVENT_KIND_LABELS, labels.EVENT_STATUS_LABELS
HOLIDAY_LABELS, SOURCE_LABELS = labels.HOLIDAY_KIND_LABELS, labels.HOLIDAY_SOURCE_LABELS
RUN_LABELS = labels.PLAN_RUN_LABELS
WEEKDAYS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


@bp.context_processor
def template_labels():
    """What the calendar's templates read (also for the sign-in's answers, web/signins.py,
    which show an event's section)."""
    return dict(kind_labels=KIND_LABELS, status_labels=STATUS_LABELS,
                proof_labels=labels.HELD_PROOF_LABELS,
                holiday_labels=HOLIDAY_LABELS, source_labels=SOURCE_LABELS,
                run_labels=RUN_LABELS, weekdays=WEEKDAYS, local=views.to_local,
                today=clock.today())


def _year_param(default: int) -> int:
    return query_number("year", 2000, 2100) or default


# --- month and agenda ------------------------------------------------------------------------

def _month_param() -> dt.date:
    """``?month=YYYY-MM``; anything else shows this month."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", query_text("month", 7))
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return dt.date(year, month, 1)
    return clock.today().replace(day=1)


def _view_param() -> str:
    return "agenda" if request.args.get("view") == "agenda" else "month"


def calendar_url(scope: views.CalendarScope, first: dt.date | None = None,
                 view: str | None = None) -> str:
    """The address of ``scope``'s calendar for a month and view (defaults dropped)."""
    args = dict(month=first.strftime("%Y-%m") if first else None,
                view=view if view == "agenda" else None)
    if scope.kind == "lawyer":
        return url_for("calendar.lawyer_calendar", lawyer_id=scope.lawyer.id, **args)
    if scope.kind == "village":
        return url_for("calendar.village_calendar", code=scope.village.code, **args)
    if scope.kind == "town":
        return url_for("calendar.town_calendar", code=scope.town.code, **args)
    return url_for("calendar.index", **args)


def _heading(scope: views.CalendarScope) -> str:
    if scope.kind == "district":
        return _("District calendar")
    return _("Calendar of %(name)s", name=scope.name)


def _show(scope: views.CalendarScope):
    first, view = _month_param(), _view_param()
    month = views.month(actor(), scope, first)
    prime_signins(event for week in month.weeks for day in week for event in day.events)
    return render("calendar/index.html", "calendar/_calendar.html", scope=scope, cal=month,
                  view=view, link=partial(calendar_url, scope), heading=_heading(scope),
                  month_title=format_skeleton("yMMMM", first, locale=get_locale()),
                  zone_name=str(clock.zone()),
                  show_lawyer=scope.kind != "lawyer", show_village=scope.kind != "village",
                  day_limit=DAY_LIMIT if scope.kind in ("town", "district") else None)


@bp.route("/")
@allow(*ROLES)
def index():
    """One's own calendar: a lawyer's, a village's, a town coordinator's town, the district."""
    return _show(views.default_scope(actor()))


@bp.route("/lawyer/<int:lawyer_id>")
@allow(*READERS, "lawyer")
def lawyer_calendar(lawyer_id):
    return _show(views.lawyer_scope(actor(), lawyer_id))


@bp.route("/village/<code>")
@allow(*ROLES)
def village_calendar(code):
    return _show(views.village_scope(actor(), code))


@bp.route("/town/<code>")
@allow(*READERS)
def town_calendar(code):
    return _show(views.town_scope(actor(), code))


# --- one event: move, record that it took place, cancel --------------------------------------

FOUND_LIMIT = 20  # towns and villages the calendar search lists


@bp.route("/find")
@allow(*READERS)
def find():
    """The district's month counts its events; this opens a town's or a village's month
    by its name or code: the only match at once, else a short list of them."""
    user, term = actor(), search_term()
    month = _month_param().strftime("%Y-%m")
    towns, villages = [], []
    if term:
        towns = list(Town.select().where(town_filter(user)
                                         & (Town.name.contains(term) | (Town.code == term)))
                     .order_by(Town.code).limit(FOUND_LIMIT))
        scope = village_filter(user)
        if scope is not False:
            query = (Village.select(Village, Town).join(Town)
                     .where(Village.name.contains(term) | (Village.code == term)))
            villages = list((query if scope is True else query.where(scope))
                            .order_by(Village.code).limit(FOUND_LIMIT))
    if len(towns) + len(villages) == 1:
        if towns:
            return redirect(url_for("calendar.town_calendar", code=towns[0].code, month=month))
        return redirect(url_for("calendar.village_calendar", code=villages[0].code, month=month))
    return render("calendar/find.html", term=term, month=month, towns=towns,
                  villages=villages, limit=FOUND_LIMIT)


def _required_date(label):
    return DateField(label, validators=[InputRequired(message=_l("Enter a date."))])


def _required_time(label):
    return TimeField(label, validators=[InputRequired(message=_l("Enter a time."))])


class MoveForm(FlaskForm):
    day = _required_date(_l("New day"))
    half_day = SelectField(_l("When"), default="custom", choices=[
        SelectChoice("am", _l("Morning session")), SelectChoice("pm", _l("Afternoon session")),
        SelectChoice("custom", _l("At these times"))])
    start = TimeField(_l("Starts"), validators=[Optional()])
    end = TimeField(_l("Ends"), validators=[Optional()])

    def instants(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The new (UTC) start and end, or None with a field error."""
        if self.half_day.data in ("am", "pm"):
            return event_service.session_times(self.day.data, self.half_day.data)
        if self.start.data is None or self.end.data is None:
            self.start.errors = [*self.start.errors,
                                 _("Choose morning or afternoon, or enter both times.")]
            return None
        return (clock.utc_from_local(self.day.data, self.start.data),
                clock.utc_from_local(self.day.data, self.end.data))


class HeldForm(FlaskForm):
    day = _required_date(_l("Day"))
    start = _required_time(_l("Started"))
    end = _required_time(_l("Ended"))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), render_kw={"rows": 2},
                           validators=[Optional(), Length(max=500)])


class ActionForm(FlaskForm):
    """A one-button action on an event (reinstate, confirm or dismiss a proposal)."""


class MakeupForm(FlaskForm):
    day = _required_date(_l("Make-up day"))
    start = _required_time(_l("Starts"))
    end = _required_time(_l("Ends"))


def _makeup_times(event) -> tuple[dt.datetime, dt.datetime]:
    """Where a make-up form starts: the planner's proposed day, else tomorrow at the
    event's own hours."""
    proposal = event.proposal or {}
    if proposal.get("makeup"):
        return (views.to_local(dt.datetime.fromisoformat(proposal["starts_at"])),
                views.to_local(dt.datetime.fromisoformat(proposal["ends_at"])))
    start, end = views.to_local(event.starts_at), views.to_local(event.ends_at)
    tomorrow = clock.today() + dt.timedelta(days=1)
    return start.replace(year=tomorrow.year, month=tomorrow.month, day=tomorrow.day), \
        end.replace(year=tomorrow.year, month=tomorrow.month, day=tomorrow.day)


def _fresh_event_forms(event) -> dict:
    """The forms filled with the planned times (the recorded ones, once held)."""
    start, end = views.to_local(event.starts_at), views.to_local(event.ends_at)
    held_start = views.to_local(event.held_start) or start
    held_end = views.to_local(event.held_end) or end
    makeup_start, makeup_end = _makeup_times(event)
    return {"move": MoveForm(formdata=None, prefix="move", day=start.date(),
                             start=start.time(), end=end.time()),
            "held": HeldForm(formdata=None, prefix="held", day=held_start.date(),
                             start=held_start.time(), end=held_end.time()),
            "cancel": CancelForm(formdata=None, prefix="cancel"),
            "makeup": MakeupForm(formdata=None, prefix="makeup", day=makeup_start.date(),
                                 start=makeup_start.time(), end=makeup_end.time()),
            "reinstate": ActionForm(formdata=None, prefix="reinstate"),
            "proposal": ActionForm(formdata=None, prefix="proposal")}


def _forms_offered(event) -> tuple[str, ...]:
    """A planned event still to come can be moved, recorded or cancelled; one that is over
    recorded; a held one's times corrected. A coordinator of the village also reinstates a
    cancelled event still to come, makes up a missed one, and confirms or dismisses what
    re-planning proposes for it."""
    user, now = actor(), clock.now_utc()
    offered = []
    if event_service.can_edit_event(user, event):
        if event.status == "planned":
            offered += ["move", "held", "cancel"] if event.ends_at > now else ["held"]
        elif event.status == "held":
            offered.append("held")
    if can_manage_event(user, event):
        if event.status == "cancelled" and event.starts_at > now \
                and event_service.live_makeup(event) is None:
            offered.append("reinstate")
        if event_service.missed(event, now) and event_service.live_makeup(event) is None:
            offered.append("makeup")
        proposal = event.proposal or {}
        if event.status == "planned" and proposal and not proposal.get("makeup"):
            offered.append("proposal")
    return tuple(offered)


def _event_page(event, *, bound: dict | None = None, status: int = 200,
                trigger: str | None = None, notice: str | None = None):
    offered = _forms_offered(event)
    forms = {name: form for name, form in _fresh_event_forms(event).items() if name in offered}
    alerts, signin_forms = [], {}
    for name, form in (bound or {}).items():
        if name in forms:
            forms[name] = form
        elif name in SIGNIN_FORMS:  # the sign-in's own (web/signins.py), shown by its partial
            signin_forms[name] = form
        else:  # e.g. cancelling an event that took place: its form is not offered
            alerts += [message for errors in form.errors.values() for message in errors]
            alerts += form.form_errors
    opened = next(iter(bound), None) if bound else request.args.get("open")
    return render("calendar/event.html", "calendar/_event.html", status=status,
                  trigger=trigger, event=event, forms=forms, alerts=alerts, offered=offered,
                  signin_forms=signin_forms,
                  opened=opened, notice=notice, proposal=_proposal_text(event),
                  placement_note=placements.note_of(event, _),
                  made_up_by=event_service.live_makeup(event),
                  codes=feedback.code_sheet(actor(), event),
                  makes_up=(views.readable_event(actor(), event.makeup_for_id)
                            if event.makeup_for_id else None))


def _proposal_text(event) -> str:
    """What re-planning proposes for the event, in words."""
    proposal = event.proposal or {}
    if not proposal or proposal.get("makeup"):
        return ""
    if proposal.get("status") == "cancelled":
        return _("Re-planning proposes to cancel it: %(reason)s",
                 reason=_(proposal.get("cancel_reason", "")))
    start = views.to_local(dt.datetime.fromisoformat(proposal["starts_at"]))
    end = views.to_local(dt.datetime.fromisoformat(proposal["ends_at"]))
    text = _("Re-planning proposes to move it to %(day)s %(start)s–%(end)s.",
             day=start.date().isoformat(), start=start.strftime("%H:%M"),
             end=end.strftime("%H:%M"))
    if proposal.get("lawyer") and proposal["lawyer"] != event.lawyer_id:
        from core.models import Lawyer
        lawyer = Lawyer.get_or_none(Lawyer.id == proposal["lawyer"])
        if lawyer is not None:
            text += " " + _("The new lawyer is %(lawyer)s.", lawyer=lawyer.name)
    return text


def _editable_event(event_id: int, manage: bool = False):
    event = views.readable_event(actor(), event_id)
    allowed = (can_manage_event if manage else can_edit_event)
    if not allowed(actor(), event):
        abort(403)
    return event


EVENT = Panel(_event_page, trigger=CHANGED,
              back=lambda event: url_for("calendar.event", event_id=event.id),
              reread=lambda event: views.readable_event(actor(), event.id),
              raises=(PermissionDenied, NotFound))


@bp.route("/events/<int:event_id>")
@allow(*ROLES)
def event(event_id):
    return _event_page(views.readable_event(actor(), event_id))


@bp.route("/events/<int:event_id>/move", methods=["POST"])
@allow(*STAFF)
def move(event_id):
    event, form = _editable_event(event_id), MoveForm(prefix="move")

    def change():
        instants = form.instants()
        if instants is None:
            return None
        moved = event_service.move_event(actor(), event, starts_at=instants[0],
                                         ends_at=instants[1])
        start = views.to_local(moved.starts_at)
        return _("Moved to %(day)s at %(time)s.", day=start.date().isoformat(),
                 time=start.strftime("%H:%M"))
    return EVENT.submit(event, "move", form, change)


@bp.route("/events/<int:event_id>/held", methods=["POST"])
@allow(*STAFF)
def record_held(event_id):
    event, form = _editable_event(event_id), HeldForm(prefix="held")

    def change():
        day = form.day.data
        event_service.record_held(actor(), event,
                                  start=clock.utc_from_local(day, form.start.data),
                                  end=clock.utc_from_local(day, form.end.data))
        return _("Recorded as held on %(day)s.", day=day.isoformat())
    return EVENT.submit(event, "held", form, change)


@bp.route("/events/<int:event_id>/cancel", methods=["POST"])
@allow(*STAFF)
def cancel(event_id):
    event, form = _editable_event(event_id), CancelForm(prefix="cancel")

    def change():
        event_service.cancel_event(actor(), event, reason=form.reason.data or "")
        return _("The event is cancelled.")
    return EVENT.submit(event, "cancel", form, change)


@bp.route("/events/<int:event_id>/reinstate", methods=["POST"])
@allow(*MANAGERS)
def reinstate(event_id):
    event, form = _editable_event(event_id, manage=True), ActionForm(prefix="reinstate")

    def change():
        event_service.reinstate_event(actor(), event)
        return _("The event is planned again.")
    return EVENT.submit(event, "reinstate", form, change)


@bp.route("/events/<int:event_id>/makeup", methods=["POST"])
@allow(*MANAGERS)
def makeup(event_id):
    event, form = _editable_event(event_id, manage=True), MakeupForm(prefix="makeup")

    def change():
        day = form.day.data
        made = event_service.add_makeup(actor(), event,
                                        starts_at=clock.utc_from_local(day, form.start.data),
                                        ends_at=clock.utc_from_local(day, form.end.data))
        return _("A make-up is planned on %(day)s at %(time)s.", day=day.isoformat(),
                 time=views.to_local(made.starts_at).strftime("%H:%M"))
    return EVENT.submit(event, "makeup", form, change)


@bp.route("/events/<int:event_id>/proposal", methods=["POST"])
@allow(*MANAGERS)
def decide_proposal(event_id):
    """Confirm (``decision=confirm``) or dismiss what re-planning proposes."""
    confirm = request.form.get("decision") == "confirm"
    event, form = _editable_event(event_id, manage=True), ActionForm(prefix="proposal")

    def change():
        if confirm:
            event_service.confirm_proposal(actor(), event)
            return _("The proposed change is made.")
        event_service.dismiss_proposal(actor(), event)
        return _("The event stays as it is.")
    return EVENT.submit(event, "proposal", form, change)


# --- the district's quota --------------------------------------------------------------------

def _row_matches(row, term: str) -> bool:
    return term in row.village.name or term in row.village.code or term in row.lawyer.name


QUOTA_COUNTS = ("required_sessions", "planned_sessions", "held_sessions", "remaining_sessions",
                "required_publicity", "planned_publicity", "held_publicity",
                "remaining_publicity")


# the column headers' keys (web.listing.Sorting): the rows are computed, sorted before paging
QUOTA_SORTING = Sorting({"village": lambda row: row.village.name,
                         "town": lambda row: row.village.town.name,
                         "lawyer": lambda row: row.lawyer.name,
                         "held": lambda row: row.held_sessions,
                         "remaining": lambda row: row.remaining_sessions,
                         "publicity_held": lambda row: row.held_publicity,
                         "publicity_remaining": lambda row: row.remaining_publicity})


def _quota_totals(rows) -> dict:
    totals = {name: sum(getattr(row, name) for row in rows) for name in QUOTA_COUNTS}
    totals.update(pairings=len(rows), short=sum(1 for row in rows if row.shortfall))
    return totals


def _quota_note(row) -> str:
    """What a partial term owes, in the reader's language."""
    if row.note is None:
        return ""
    message, params = row.note
    return _(message, **params)


def _quota_filters(today) -> dict:
    return {"year": _year_param(today.year), "town": town_code_for(query_text("town")),
            "behind": "1" if request.args.get("behind") == "1" else None}


def _quota_rows(user, filters: dict, today):
    """The quota's rows the page lists (the town, the search, those behind pace; in the
    URL's order) — the page and its export — and the totals of the town's pairings with how
    their held sessions were recorded."""
    year = filters["year"]
    rows = planner.quota_status(user, year)
    if filters["town"]:
        rows = [row for row in rows if row.village.town.code == filters["town"]]
    totals = _quota_totals(rows)
    proofs = signins.held_proofs([row.pairing.id for row in rows], year)
    totals["proofs"] = sum(proofs.values(), Counter())
    term = search_term()
    if term:
        rows = [row for row in rows if _row_matches(row, term)]
    if filters["behind"]:  # behind the pro-rata pace by today, as the assessment's warning says
        late = _behind_ids(year, today, user)
        rows = [row for row in rows if row.pairing.id in late]
    return QUOTA_SORTING.sorted(rows, QUOTA_SORTING.requested()), totals, proofs


def _behind_ids(year: int, today, user) -> set[int]:
    ids = behind_pairing_ids(year, today, user)
    return set() if ids is None else {pairing_id for pairing_id, in ids.tuples()}


# the keys the page sorts in SQL, a page at a time; the others (the computed figures) and
# "only behind the pace" work out every pairing of the scope (and of the town) first
QUOTA_SQL_SORTING = Sorting({"village": Village.name, "town": Town.name,
                             "lawyer": Lawyer.name}, tiebreak=(Town.code, Village.code,
                                                               Pairing.term_start, Pairing.id))
QUOTA_TOTALS_UP_TO = 300  # pairings whose totals the page works out (a town, a small district)


def _quota_pairings(user, filters: dict):
    """The pairings of the year the quota page lists, searched and filtered in SQL (the
    quota's own rows for them: ``planner.quota_status`` with their villages)."""
    year = filters["year"]
    query = (Pairing.select(Pairing.id, Pairing.village).join(Village).join(Town)
             .switch(Pairing).join(Lawyer)
             .where((Pairing.term_start <= dt.date(year, 12, 31))
                    & (Pairing.term_end >= dt.date(year, 1, 1))))
    scope = sheet_filter(user)
    if scope is False:
        return None
    if scope is not True:
        query = query.where(scope)
    if filters["town"]:
        query = query.where(Town.code == filters["town"])
    term = search_term()
    if term:
        query = query.where(Village.name.contains(term) | Village.code.contains(term)
                            | Lawyer.name.contains(term))
    return query


def _quota_page(user, filters: dict, today):
    """One page of the quota list and the totals: by village, town or lawyer the pairings
    are chosen and paged in SQL and only the page's villages are worked out; the totals are
    those of up to QUOTA_TOTALS_UP_TO pairings (a town), else None (the page asks for a
    town). Sorted by a figure or only those behind pace: every pairing is worked out."""
    sort = QUOTA_SORTING.requested()
    if sort is not None and sort.key not in QUOTA_SQL_SORTING.columns:
        rows, totals, proofs = _quota_rows(user, filters, today)
        return paginate(rows, sort=sort, filters=filters), totals, proofs
    query = _quota_pairings(user, filters)
    if query is None:
        return paginate([], sort=sort, filters=filters), _quota_totals([]), {}
    year = filters["year"]
    listed = query
    if filters["behind"]:  # behind the pro-rata pace by today, as the assessment's warning says
        behind = behind_pairing_ids(year, today, user)
        listed = query.where(Pairing.id.in_([] if behind is None else behind))
    ordered = QUOTA_SQL_SORTING.order(listed, sort, Town.code, Village.code,
                                      Pairing.term_start, Pairing.id)
    listing = paginate(ordered, sort=sort, filters=filters)
    rows = {row.pairing.id: row for row in planner.quota_status(
        user, year, village_ids={pairing.village_id for pairing in listing.items})}
    listing.items = [rows[pairing.id] for pairing in listing.items if pairing.id in rows]
    totals = None
    if listing.total <= QUOTA_TOTALS_UP_TO:
        everything = planner.quota_status(
            user, year, village_ids={village for village, in
                                     query.select(Pairing.village).distinct().tuples()})
        totals = _quota_totals(everything)
        totals["proofs"] = sum(signins.held_proofs(
            [row.pairing.id for row in everything], year).values(), Counter())
    proofs = signins.held_proofs([row.pairing.id for row in listing.items], year)
    return listing, totals, proofs


@bp.route("/quota")
@allow(*READERS, "lawyer")
def quota():
    """Managers: the pairings of their scope; a lawyer: their own pairings (ended ones too,
    ``core.access.sheet_filter``)."""
    user, today = actor(), clock.today()
    filters = _quota_filters(today)
    year, town_code = filters["year"], filters["town"]
    listing, totals, proofs = _quota_page(user, filters, today)
    towns = town_choices(user)
    return render("calendar/quota.html", "calendar/_quota.html", listing=listing,
                  behind=bool(filters["behind"]),
                  totals=totals, year=year, town_code=town_code, towns=towns, proofs=proofs,
                  years=range(today.year - 1, today.year + 3), note=_quota_note,
                  estimate=not workdays.has_official_data(year),
                  own=user.role == "lawyer", open_villages=_open_villages(user, listing.items))


QUOTA_HEADERS = (_l("Village"), _l("Town"), _l("Lawyer"), _l("Sessions required"),
                 _l("Sessions planned"), _l("Sessions held"), _l("Sessions remaining"),
                 _l("Publicity required"), _l("Publicity planned"), _l("Publicity held"),
                 _l("Publicity remaining"), _l("Shortfall"))


def _quota_export_rows() -> int:
    return Pairing.select().where(sheet_filter(actor())).count()


@bp.route("/quota/export.xlsx")
@allow(*READERS, "lawyer")
@long_export(_quota_export_rows)
def quota_export():
    """The quota's rows as the page lists them (every page), as .xlsx."""
    today = clock.today()
    filters = _quota_filters(today)
    rows, _totals, _proofs = _quota_rows(actor(), filters, today)
    cells = [(row.village.name, row.village.town.name, row.lawyer.name,
              *(getattr(row, name) for name in QUOTA_COUNTS),
              "；".join(filter(None, [_quota_note(row), *(_(reason) for reason in row.shortfall)])))
             for row in rows]
    year = filters["year"]
    title = _("Quota %(year)s", year=year)
    return list_export(actor(), "quota.export", title, QUOTA_HEADERS, cells, name=title,
                       fallback=f"quota-{year}",
                       args=list_args(search_term(), filters, QUOTA_SORTING.requested()))


def _open_villages(user, rows) -> set[int]:
    """The ids of the rows' villages whose calendar the viewer may open: a lawyer's ended
    pairing leaves its village's calendar closed to them (one query, for a lawyer only)."""
    ids = {row.village.id for row in rows}
    if user.role != "lawyer" or not ids:
        return ids
    return {village_id for village_id, in Village.select(Village.id)
            .where(Village.id.in_(list(ids)) & village_filter(user)).tuples()}


# --- planning --------------------------------------------------------------------------------

def _plan_form_town(user):
    """The town chosen in the plan form (None: the whole district); 403 outside the scope."""
    code = (request.form.get("town") or "").strip()[:50]
    town = Town.get_or_none(Town.code == code) if code else None
    if (code and town is None) or not can_plan(user, town):
        abort(403)
    return town


@bp.route("/plan")
@allow(*MANAGERS)
def plan():
    user, today = actor(), clock.today()
    year = _year_param(today.year + 1 if today.month == 12 else today.year)
    towns = views.plannable_towns(user)
    if not towns and not can_plan(user, None):
        abort(403)
    years = range(today.year, today.year + 3)
    return render("calendar/plan.html", year=year, years=years,
                  towns=towns, whole_district=can_plan(user, None),
                  runs=_runs_checked(user), waiting=views.waiting_proposals(user),
                  proposal_text=_proposal_text,
                  estimate_years=[y for y in years if not workdays.has_official_data(y)])


def _runs_checked(user):
    """The latest runs; one still "running" whose consumer died says it failed."""
    runs = list(views.visible_runs(user).limit(10))
    if any(run.status == "running" for run in runs) and mark_interrupted_runs():
        runs = list(views.visible_runs(user).limit(10))
    return runs


@bp.route("/plan", methods=["POST"])
@allow(*MANAGERS)
def start_plan():
    user = actor()
    town = _plan_form_town(user)
    year = whole_number(request.form.get("year"), 2000, 2100)
    if year is None:
        abort(400)
    run = jobs.start_plan_run(year, town=town)
    if not htmx:
        return redirect(url_for("calendar.plan_run", run_id=run.id))
    return _run_fragment(views.readable_run(user, run.id), trigger="planRunStarted")


def _run_fragment(run, trigger=None):
    if run.status == "running" and mark_interrupted_runs():  # its consumer died
        run = PlanRun.get_by_id(run.id)
    return render("calendar/run.html", "calendar/_run.html", run=run, trigger=trigger,
                  estimate=not workdays.has_official_data(run.year))


@bp.route("/plan/runs/<int:run_id>")
@allow(*MANAGERS)
def plan_run(run_id):
    return _run_fragment(views.readable_run(actor(), run_id))


# --- holidays --------------------------------------------------------------------------------

class HolidayForm(FlaskForm):
    day = _required_date(_l("Date"))
    kind = SelectField(_l("Kind"), choices=[SelectChoice(kind, HOLIDAY_LABELS[kind])
                                            for kind in HOLIDAY_KINDS])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=100)],
                       description=_l("e.g. Spring Festival, or the notice it comes from"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), description=_l("One line per day: date,kind,name — "
                                                    "kind is off or workday"))


def _holidays_page(year: int, *, bound: dict | None = None, status: int = 200,
                   trigger: str | None = None, notice: str | None = None,
                   alerts: tuple[str, ...] = ()):
    forms = {"add": HolidayForm(formdata=None, prefix="add"),
             "import": ImportForm(formdata=None, prefix="import")}
    forms.update(bound or {})
    return render("calendar/holidays.html", "calendar/_holidays.html", status=status,
                  trigger=trigger, year=year, holidays=workdays.holidays_of(year),
                  estimate=not workdays.has_official_data(year), forms=forms,
                  editable=actor().role == "admin", notice=notice, alerts=alerts)


HOLIDAYS = Panel(_holidays_page, trigger=HOLIDAYS_CHANGED,
                 back=lambda year: url_for("calendar.holidays", year=year),
                 raises=(PermissionDenied, NotFound))


@bp.route("/holidays")
@allow(*MANAGERS)
def holidays():
    return _holidays_page(_year_param(clock.today().year))


@bp.route("/holidays", methods=["POST"])
@allow("admin")
def add_holiday():
    form = HolidayForm(prefix="add")
    day = form.day.data
    year = day.year if day and 2000 <= day.year <= 2100 else clock.today().year

    def change():
        workdays.add_holiday(actor(), form.day.data, form.kind.data,
                             name=(form.name.data or "").strip())
        return _("%(day)s was added.", day=form.day.data.isoformat())
    return HOLIDAYS.submit(year, "add", form, change)


@bp.route("/holidays/<day>/delete", methods=["POST"])
@allow("admin")
def delete_holiday(day):
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        abort(404)
    try:
        workdays.remove_holiday(actor(), date)
    except (PermissionDenied, NotFound):
        raise
    except JieduiError as error:
        return _holidays_page(date.year, status=422, alerts=(error.translate(_),))
    return HOLIDAYS.changed(date.year, _("%(day)s was removed.", day=date.isoformat()))


@bp.route("/holidays/import", methods=["POST"])
@allow("admin")
def import_holidays():
    form = ImportForm(prefix="import")
    year = _year_param(clock.today().year)

    def change():
        upload = form.file.data
        data = upload.read(MAX_IMPORT_BYTES + 1) if upload else b""
        if not data:
            form.file.errors = [_("Choose a CSV file.")]
            return None
        if len(data) > MAX_IMPORT_BYTES:
            form.file.errors = [_("The file is too large (at most 64 KB).")]
            return None
        return ngettext("%(num)s day was imported.", "%(num)s days were imported.",
                        _import_csv(data))
    return HOLIDAYS.submit(year, "import", form, change, validate=False)


def _import_csv(data: bytes) -> int:
    """``core.workdays.import_holidays`` reads a path: hand it the upload in a scratch file."""
    with tempfile.TemporaryDirectory(prefix="jiedui-holidays-") as folder:
        path = Path(folder) / "holidays.csv"
        path.write_bytes(data)
        return workdays.import_holidays(path, actor=actor())
