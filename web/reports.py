"""The bureau's periodic reports (core.reports): the page of a month, quarter or year by
town and by lawyer, its .xlsx and .docx, and the registers (core.registers) as .xlsx.
Administrators and coordinators, each over their own scope."""
from flask import Blueprint, abort, make_response, request
from flask_babel import get_locale

from core import clock
from core.access import sheet_filter
from core.audit import record
from core.errors import ValidationError
from core.localize import name_of
from core.models import Pairing
from core.registers import (REGISTERS, cases_register, matters_register, pairing_list,
                            visits_register)
from core.reports import (CHARTS, FIGURES, build_report, chart, last_complete_quarter,
                          parse_period, recent_periods, report_docx, report_xlsx, summary)
from core.vocabulary import READERS, REPORT_PERIOD_LABELS, REPORT_PERIODS
from web.i18n import gettext as _
from web.access import actor, allow
from web.longwork import long_export
from web.programs import XLSX, xlsx_response
from web.render import render

bp = Blueprint("reports", __name__, url_prefix="/reports")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FILENAME_BAD = str.maketrans({c: " " for c in '\\/:*?"<>|'})  # not in a download's name
REGISTER_MAKERS = {"matters": matters_register, "cases": cases_register,
                   "visits": visits_register}
REGISTER_FILES = {"matters": "重大事项登记", "cases": "案件档案登记", "visits": "回访登记"}


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _programme_name(slug: str) -> str:
    return name_of("programme", slug, _locale())


def _period():
    """The period asked for (``?period=2026Q3``), else the last complete quarter; a period
    that cannot be read gives the default and the refusal's words."""
    text = request.args.get("period", "").strip()
    if not text:
        return last_complete_quarter(clock.today()), ""
    try:
        return parse_period(text), ""
    except ValidationError as error:
        return last_complete_quarter(clock.today()), error.translate(_)


def _choices(period) -> list[tuple[str, list]]:
    found = recent_periods(clock.today())
    if period not in found[period.kind]:
        found[period.kind] = [period] + found[period.kind]
    order = (period.kind,) + tuple(kind for kind in REPORT_PERIODS if kind != period.kind)
    return [(_(REPORT_PERIOD_LABELS[kind]), found[kind]) for kind in order]


def _page(period, error: str = "", status: int = 200):
    report = build_report(period, actor(), gettext=_)
    return render("reports/index.html", status=status, report=report, period=period,
                  error=error, choices=_choices(period), figures=FIGURES,
                  summary=summary(report, _), programme_name=_programme_name,
                  period_label=lambda choice: choice.label(_),
                  captions={which: chart(report, which, _)[1] for which in CHARTS},
                  registers=REGISTERS)


@bp.route("/")
@allow(*READERS)
def index():
    period, error = _period()
    return _page(period, error, 422 if error else 200)


def _file_name(report, period) -> str:
    return _("Report of %(scope)s, %(period)s", scope=report.scope,
             period=period.label(_)).translate(FILENAME_BAD)


def _pairings_in_scope(**_view_args) -> int:
    """What a report's or the pairing list's work grows with: the pairings the reader's
    scope holds (over JIEDUI_EXPORT_JOB_ROWS, the file is made by a queued job)."""
    return Pairing.select().where(sheet_filter(actor())).count()


@bp.route("/report.<any(xlsx, docx):kind>")
@allow(*READERS)
@long_export(_pairings_in_scope)
def export(kind):
    """The report as .xlsx (the tables) or .docx (the report to edit and send on)."""
    period, error = _period()
    if error:
        return _page(period, error, 422)
    user = actor()
    report = build_report(period, user, gettext=_)
    make = report_xlsx if kind == "xlsx" else report_docx
    body = make(report, _, _programme_name)
    record(user, "report.export", detail={"period": period.key, "format": kind},
           address=request.remote_addr or "")
    name, fallback = f"{_file_name(report, period)}.{kind}", f"report-{period.key}.{kind}"
    return xlsx_response(body, name, fallback, DOCX if kind == "docx" else XLSX)


@bp.route("/<any(towns, months):which>.png")
@allow(*READERS)
def chart_image(which):
    """A chart of the page (the .docx holds the same): sessions by town or by month."""
    period, error = _period()
    if error:
        abort(404)
    png, _caption = chart(build_report(period, actor(), gettext=_), which, _)
    response = make_response(png)
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/pairings.xlsx")
@allow(*READERS)
@long_export(_pairings_in_scope)
def pairings():
    """结对名单: the active pairings of the reader's scope."""
    body = pairing_list(actor(), _, address=request.remote_addr or "")
    today = clock.today().isoformat()
    return xlsx_response(body, f"结对名单-{today}.xlsx", f"pairings-{today}.xlsx")


@bp.route("/<any(matters, cases, visits):register>.xlsx")
@allow(*READERS)
def register(register):
    """The major matters, case files or return visits of the period, in the reader's
    scope."""
    period, error = _period()
    if error:
        return _page(period, error, 422)
    body = REGISTER_MAKERS[register](actor(), period, _, address=request.remote_addr or "")
    return xlsx_response(body, f"{REGISTER_FILES[register]}-{period.key}.xlsx",
                         f"{register}-{period.key}.xlsx")

