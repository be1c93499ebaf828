"""Programme pages: the ten programmes' progress at a glance, one programme's metrics with
breakdowns and a weekly trend (server-drawn SVG, no JS), its ledger as .xlsx, and the
targets per metric and year.

Progress is counted by ``core.progress`` in the viewer's scope (a town's coordinator sees
their town's share). The ledger holds the tasks the viewer may see; coordinators and
administrators download it (the core masks sensitive fields outside their scope and
audits every export). Lawyers read the progress pages; village users do not.
"""
import datetime as dt

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from core import series as chart_data
from core import clock
from core import progress as service
from core.pace import pace, share_of, year_calendar
from core.access import is_district_manager
from core.errors import ValidationError
from core.ledger import export_ledger
from core.spreadsheet import XLSX_MIMETYPE as XLSX
from core.spreadsheet import download_headers
from core.localize import localized_registry, name_of, program_text
from core.models import Task
from core.plugins import get_registry
from core.tasks import tasks_visible_to
from core.vocabulary import MANAGERS, READERS
from web.i18n import gettext as _
from web.i18n import ngettext
from web.i18n import lazy_gettext as _l
from web import charts
from web.access import actor, allow
from web.listing import Sorting, paginate, query_number
from web.longwork import job_progress, long_export
from web.render import render, wants_fragment

bp = Blueprint("programs", __name__, url_prefix="/programmes")
bp.add_app_template_global(charts.status_label, "status_label")
bp.add_app_template_global(charts.chart_id, "chart_id")
bp.add_app_template_global(charts.quota_bar, "quota_bar")


def _year() -> int:
    return query_number("year", 2000, 2100) or clock.today().year


def _program_or_404(slug: str):
    program = get_registry().programs.get(slug)
    if program is None:
        abort(404)
    return program


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _ordered_programs():
    """The programmes, named in the reader's language, in their order."""
    return sorted(localized_registry(_locale()).programs.values(),
                  key=lambda p: (p.order, p.slug))


def _named(metrics: list[dict]) -> list[dict]:
    """Progress dicts (core.progress) with the metric's and the programme's names in the
    reader's language."""
    locale = _locale()
    return [{**m, "name": name_of("metric", m["slug"], locale),
             "program_name": name_of("programme", m["program"], locale)} for m in metrics]


@bp.app_template_global()
def plugin_text(program_slug: str, text: str) -> str:
    """For a plugin's templates (its toolbar on the programme's page, its own pages): its
    Chinese ``text`` in the reader's language, by the catalog of the plugin that registered
    the programme ``program_slug`` (docs/plugins.md, "Translations")."""
    return program_text(program_slug, text, _locale())


def percent(done: int, target: int) -> int:
    """Share of the target reached, 0–100 (a bar never overflows; the numbers say more)."""
    return min(100, round(100 * done / target)) if target else 0


def _paced(metrics: list[dict], year: int, share, calendar) -> list[dict]:
    """Progress dicts with their pace against the viewer's share of the target (``pace``)
    and the bar drawn from it (``bar``); ``target`` becomes the scope's target."""
    for metric in metrics:
        metric["pace"] = pace(metric["done"], metric["target"], year=year, share=share,
                              calendar=calendar)
        metric["district_target"], metric["target"] = metric["target"], metric["pace"].target
        metric["bar"] = charts.pace_bar(metric["pace"], metric["name"])
    return metrics


def _dashboard(year: int, user, share) -> list[dict]:
    """Each programme with its metrics' progress against pace (one aggregation for all)."""
    by_program: dict[str, list] = {}
    calendar = year_calendar(year)
    named = _named([{"slug": slug, **metric}
                    for slug, metric in service.progress(year, user=user).items()])
    for metric in _paced(named, year, share, calendar):
        by_program.setdefault(metric["program"], []).append(metric)
    return [{"program": program, "metrics": by_program.get(program.slug, [])}
            for program in _ordered_programs()]


@bp.route("/")
@allow(*READERS, "lawyer")
def index():
    """All programmes at a glance. HTMX asks for the panel alone (the coverage page loads
    it with ``?compact=1``)."""
    year = _year()
    share = share_of(actor())
    return render("programs/index.html", "programs/_dashboard.html", year=year,
                  programs=_dashboard(year, actor(), share), percent=percent,
                  target_note=charts.target_note(share),
                  compact=request.args.get("compact") == "1")


# --- the trend chart -----------------------------------------------------------------------

CHART = {"width": 640, "height": 220, "left": 40, "right": 10, "top": 12, "bottom": 34}


def _nice_max(value: int) -> int:
    """A round top for the y axis, at least 1, so the ticks are whole numbers."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if value <= step * 4:
            return step * 4
    return -(-value // 1000) * 1000


def trend_chart(points: list[tuple[dt.date, int]]) -> dict:
    """Bar geometry for a weekly trend: the SVG template only draws what this computes."""
    c = CHART
    plot_w = c["width"] - c["left"] - c["right"]
    plot_h = c["height"] - c["top"] - c["bottom"]
    top = _nice_max(max((count for _, count in points), default=0))
    slot = plot_w / max(1, len(points))
    bars = []
    for i, (week, count) in enumerate(points):
        height = plot_h * count / top
        bars.append({"x": round(c["left"] + i * slot + slot * 0.15, 1),
                     "y": round(c["top"] + plot_h - height, 1),
                     "width": round(slot * 0.7, 1), "height": round(height, 1),
                     "count": count, "week": week,
                     "label_x": round(c["left"] + i * slot + slot / 2, 1),
                     "show_label": len(points) <= 13 or i % 2 == 0})
    ticks = [{"value": top * k // 4, "y": round(c["top"] + plot_h - plot_h * k / 4, 1)}
             for k in range(5)]
    return {**c, "bars": bars, "ticks": ticks, "base_y": c["top"] + plot_h,
            "right_x": c["width"] - c["right"], "total": sum(n for _, n in points)}


# --- the charts page and the desk's charts ----------------------------------------------------

def _program_bars(series, title: str) -> dict:
    """The programmes against pace as one list of bars (``core.series.program_series``)."""
    locale = _locale()
    return charts.bar_list([(name_of("programme", s.program, locale), s.pace) for s in series],
                           title)


@bp.app_template_global()
def desk_charts(user) -> dict:
    """For ``charts/_desk.html`` (a coordinator's home): the programmes against pace and
    the sessions by month, in ``user``'s scope, this year."""
    year = clock.today().year
    share = share_of(user)
    series = chart_data.program_series(year, user=user, share=share)
    return {"year": year, "note": charts.target_note(share),
            "programs": _program_bars(series, _("Programmes against pace")),
            "sessions": charts.session_chart(chart_data.session_months(year, user=user))}


# A scope of more towns than this (a province's 1,300) charts only those furthest behind
# (TOWNS_SHOWN), with every town in a table (``town_table``); a district's 12 are all charted.
TOWNS_CHARTED, TOWNS_SHOWN = 24, 10


def _towns_listed(user):
    """The reader's towns, read once for the work and the sessions compared (None: none)."""
    query = chart_data.towns_in_scope(user)
    return None if query is None else list(query)


def _town_charts(year: int, user, calendar) -> dict:
    """The towns compared (programme work, on-site sessions) as bar lists: every town in
    town order, or at province scale the ``TOWNS_SHOWN`` furthest behind."""
    towns = _towns_listed(user)
    work = chart_data.town_series(year, user=user, calendar=calendar, towns=towns)
    sessions = chart_data.town_sessions(year, user=user, towns=towns)
    bounded = len(work) > TOWNS_CHARTED
    if bounded:
        work = chart_data.behind_first(work)[:TOWNS_SHOWN]
        sessions = chart_data.behind_first(sessions)[:TOWNS_SHOWN]
        work_title = ngettext("The town furthest behind: programme work against its share",
                              "The %(num)d towns furthest behind: programme work against "
                              "each town's share", len(work))
        sessions_title = ngettext("The town furthest behind: on-site sessions held against "
                                  "those planned for the year",
                                  "The %(num)d towns furthest behind: on-site sessions held "
                                  "against those planned for the year", len(sessions))
    else:
        work_title = _("Towns compared: programme work against each town's share")
        sessions_title = _("Towns compared: on-site sessions held against those planned "
                           "for the year")
    return {"towns": charts.bar_list([(t.town.name, t.pace) for t in work], work_title),
            "town_sessions": charts.bar_list([(t.town.name, t.pace) for t in sessions],
                                             sessions_title),
            "towns_bounded": bounded}


def _lawyer_charts(year: int, user) -> tuple[list[dict], object]:
    """A page of lawyers, each with their villages' sessions and publicity against the
    year's 12 + 2, and the page (its pager)."""
    listing = paginate(chart_data.lawyers_of_year(year, user),
                       filters={"year": query_number("year", 2000, 2100)})
    lawyers = [{"name": lawyer.name, "status": lawyer.status,
                "chart": charts.bar_list(
                    [row for v in lawyer.villages
                     for row in ((_("%(village)s sessions", village=v.village.name), v.sessions),
                                 (_("%(village)s publicity", village=v.village.name),
                                  v.publicity))],
                    _("%(lawyer)s: sessions and publicity per village", lawyer=lawyer.name))}
               for lawyer in chart_data.lawyer_series(
                   year, user=user, lawyer_ids=[lawyer.id for lawyer in listing.items])]
    return lawyers, listing


@bp.route("/charts")
@allow(*READERS, "lawyer")
def chart_page():
    """The charts: each programme's cumulative progress against the pace line, sessions
    held against planned by month, the towns compared, each lawyer's 12 + 2 per village —
    in the viewer's scope, against the viewer's share of the targets."""
    user, year = actor(), _year()
    lawyers, listing = _lawyer_charts(year, user)
    if wants_fragment():  # the lawyers' pager: the rest of the page is not sent again
        return render("charts/index.html", "charts/_lawyers.html", year=year,
                      lawyers=lawyers, listing=listing)
    share, calendar = share_of(user), year_calendar(year)
    locale = _locale()
    series = chart_data.program_series(year, user=user, share=share, calendar=calendar)
    programs = [{"name": name_of("programme", s.program, locale),
                 "metric": name_of("metric", s.metric, locale), "slug": s.program,
                 "pace": s.pace,
                 "chart": charts.pace_chart(s, name_of("programme", s.program, locale))}
                for s in series]
    towns = _town_charts(year, user, calendar) if user.role in READERS else {}
    return render("charts/index.html", "charts/_lawyers.html", year=year, share=share,
                  target_note=charts.target_note(share), programs=programs,
                  overview=_program_bars(series, _("Programmes against pace")),
                  sessions=charts.session_chart(chart_data.session_months(year, user=user)),
                  towns=towns.get("towns"), town_sessions=towns.get("town_sessions"),
                  towns_bounded=towns.get("towns_bounded", False),
                  lawyers=lawyers, listing=listing)


TOWN_SORTING = Sorting({"town": lambda row: row["town"].code,
                        "work": lambda row: chart_data.done_of_expected(row["work"]),
                        "sessions": lambda row: chart_data.done_of_expected(row["sessions"])})


@bp.route("/charts/towns")
@allow(*READERS)
def town_table():
    """Every town of the reader's scope: programme work and on-site sessions against
    their pace, as the charts compare them (a province's 1,300 towns do not fit a chart),
    furthest behind first or in the order asked for, a page at a time."""
    user, year = actor(), _year()
    towns = _towns_listed(user)
    work = chart_data.town_series(year, user=user, towns=towns)
    sessions = {t.town.id: t.pace
                for t in chart_data.town_sessions(year, user=user, towns=towns)}
    rows = [{"town": t.town, "work": t.pace, "sessions": sessions[t.town.id]}
            for t in chart_data.behind_first(work)]
    sort = TOWN_SORTING.requested()
    listing = paginate(TOWN_SORTING.sorted(rows, sort), sort=sort,
                       filters={"year": query_number("year", 2000, 2100)})
    return render("charts/towns.html", "charts/_towns.html", year=year, listing=listing)


# --- one programme ---------------------------------------------------------------------------

class TargetForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[
        InputRequired(message=_l("Enter a year.")),
        NumberRange(min=2000, max=2100, message=_l("A year between 2000 and 2100."))])
    target = IntegerField(_l("Target"), validators=[
        InputRequired(message=_l("Enter the target.")),
        NumberRange(min=1, max=100000, message=_l("A whole number from 1 to 100000."))])


def _target_forms(metrics: list[dict], year: int) -> dict:
    return {m["slug"]: TargetForm(formdata=None, prefix=f"target-{m['slug']}",
                                  year=year, target=m.get("district_target", m["target"]))
            for m in metrics}


BREAKDOWN_LISTED = 100  # towns or lawyers listed under a metric; the first 10 shown open


def _detail_page(program, year: int, *, bound: dict | None = None, status: int = 200):
    user = actor()
    share, calendar = share_of(user), year_calendar(year)
    metrics = _paced(_named(service.program_progress(program.slug, year, user=user)),
                     year, share, calendar)
    series = {s.metric: s for s in chart_data.program_series(
        year, user=user, share=share, calendar=calendar, metrics=[m["slug"] for m in metrics])}
    for metric in metrics:
        metric["chart"] = charts.pace_chart(series[metric["slug"]], metric["name"])
        # one more than listed: the page says when there are more (a province's 9,000)
        metric["by_town"] = service.breakdown(metric["slug"], "town", year, user=user,
                                              limit=BREAKDOWN_LISTED + 1)
        metric["by_lawyer"] = service.breakdown(metric["slug"], "lawyer", year, user=user,
                                                limit=BREAKDOWN_LISTED + 1)
        metric["trend"] = trend_chart(service.weekly_trend(metric["slug"], user=user))
    forms = _target_forms(metrics, year) if is_district_manager(user) else {}
    forms.update(bound or {})
    program = localized_registry(_locale()).programs[program.slug]  # as the reader reads it
    return render("programs/detail.html", status=status, program=program, year=year,
                  metrics=metrics, percent=percent, forms=forms, listed=BREAKDOWN_LISTED,
                  target_note=charts.target_note(share),
                  may_export=user.role in READERS)


@bp.route("/<slug>")
@allow(*READERS, "lawyer")
def detail(slug):
    return _detail_page(_program_or_404(slug), _year())


@bp.route("/<slug>/targets", methods=["POST"])
@allow(*MANAGERS)
def set_target(slug):
    program = _program_or_404(slug)
    if not is_district_manager(actor()):  # core.progress.set_target refuses them too
        abort(403)
    metric = request.form.get("metric", "")
    metric_obj = get_registry().metrics.get(metric)
    if metric_obj is None or metric_obj.program != program.slug:
        abort(400)  # the page only offers this programme's metrics
    form = TargetForm(prefix=f"target-{metric}")
    if form.validate_on_submit():
        try:
            service.set_target(actor(), metric, form.year.data, form.target.data)
        except ValidationError as error:  # PermissionDenied: the 403 page
            form.target.errors = [*form.target.errors, error.translate(_)]
        else:
            flash(_("The target of %(metric)s for %(year)d is %(target)d.",
                    metric=name_of("metric", metric, _locale()), year=form.year.data,
                    target=form.target.data),
                  "success")
            return redirect(url_for("programs.detail", slug=slug, year=form.year.data),
                            code=303)
    year = form.year.data if isinstance(form.year.data, int) and 2000 <= form.year.data <= 2100 \
        else _year()  # the refused year may be none at all (-1): show the page's own
    return _detail_page(program, year, bound={metric: form}, status=422)


# --- the ledger --------------------------------------------------------------------------------

def xlsx_response(body: bytes, filename: str, fallback: str, content_type: str = XLSX):
    """An .xlsx export (core.spreadsheet; or another file of ``content_type``) as a
    download named ``filename`` (``fallback``: its ASCII name), never cached: it holds what
    only this user may read (``core.spreadsheet.download_headers``)."""
    return make_response(body, {**download_headers(filename, fallback),
                                 "Content-Type": content_type})


def _ledger_tasks(slug):
    """The tasks of the programme's ledger in the user's scope (cancelled ones left out)."""
    return (tasks_visible_to(actor())
            .where((Task.program == slug) & (Task.status != "cancelled"))
            .order_by(Task.completed_at.asc(nulls="LAST"), Task.id))


def _ledger_rows(slug) -> int:
    return _ledger_tasks(slug).count()


@bp.route("/<slug>/ledger.xlsx")
@allow(*READERS)
@long_export(_ledger_rows)
def ledger(slug):
    """The programme's ledger over the tasks in the user's scope (cancelled ones left out);
    the core masks what the user may not see and audits the export. More than
    JIEDUI_EXPORT_JOB_ROWS tasks are exported by a job (web.longwork)."""
    program = _program_or_404(slug)
    user = actor()
    body = export_ledger(program.slug, _ledger_tasks(program.slug), user=user,
                         address=request.remote_addr or "", locale=_locale(),
                         progress=job_progress())
    today = clock.today().isoformat()
    return xlsx_response(body, f"{program.name}台账-{today}.xlsx",
                         f"ledger-{program.slug}-{today}.xlsx")
