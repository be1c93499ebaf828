"""Long work's pages (core.longwork): a job's page with its progress bar, polled by HTMX
every second until the job ends (without JavaScript the page refreshes itself), and the
download of the file it made — for the job's user and administrators only.

``long_export(count)`` sends an export of many rows through a job: when ``count`` (the
rows the request would export) is over ``JIEDUI_EXPORT_JOB_ROWS``, the view answers a
redirect to the job's page instead of the file; the job then makes the file by calling the
same view, as the same user in the same language, so the file is the one a direct export
gives, and it is audited once per job, not per click. A smaller export is answered at once.
"""
import datetime as dt
import mimetypes
from functools import lru_cache, wraps
from urllib.parse import unquote, urlencode

from flask import (Blueprint, abort, current_app, g, has_app_context, redirect, request,
                   send_file, url_for)
from flask_babel import get_locale
from werkzeug.exceptions import HTTPException

from core import clock, longwork
from core.audit import request_address
from core.config import get_settings
from core.errors import JieduiError, NotFound, PermissionDenied
from core.i18n import N_
from core.vocabulary import LONG_JOB_ACTIVE, ROLES
from web.i18n import lazy_gettext as _l
from web.access import actor, allow
from web.auth import LoginUser, background
from web.labels import LONG_JOB_LABELS
from web.render import render

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

EXPORT = "export"  # the kind of the exports made by a job
TITLES = {EXPORT: _l("Spreadsheet export")}  # a kind's page title (others: "Background work")
QUEUED_TOO_LONG = dt.timedelta(minutes=1)  # then the page says the consumer may be down
EXPORT_REFUSED = N_("The export could not be made: you may no longer open it.")


def job_progress():
    """The progress of the job the current request is made by (``progress(done, total)``),
    or None when a person asked for it: an export view hands it to the core's export."""
    return g.get("long_job_progress")


def long_export(count):
    """Mark an export view whose file a job makes when ``count(**view_args)`` rows are more
    than the setting (placed under ``@allow``)."""
    def wrap(view):
        @wraps(view)
        def export(*args, **kwargs):
            if job_progress() is None and \
                    count(*args, **kwargs) > get_settings().export_job_rows:
                query = urlencode(sorted(request.args.items(multi=True)))
                job = longwork.start(actor(), EXPORT, {"path": request.path, "query": query},
                                     locale=str(get_locale()),
                                     address=request.remote_addr or "")
                return redirect(url_for("jobs.job", job_id=job.id), code=303)
            return view(*args, **kwargs)
        export.long_export = True
        return export
    return wrap


def wrap_marked_exports(app) -> None:
    """A plugin's export view marked ``view.export_rows = count`` (plugins import no web)
    goes through a job like the core's exports (``create_app``, after the plugins'
    blueprints)."""
    for endpoint, view in list(app.view_functions.items()):
        count = getattr(view, "export_rows", None)
        if count is not None and not getattr(view, "long_export", False):
            app.view_functions[endpoint] = long_export(count)(view)


@lru_cache(maxsize=1)
def _consumer_app():
    """The app a job consumer without one (``jiedui worker``) makes its exports with; its
    process is set up already."""
    from web import create_app  # noqa: PLC0415 - web/__init__ imports this module
    return create_app({"JIEDUI_SET_UP": True})


def _file_name(response) -> str:
    header = response.headers.get("Content-Disposition", "")
    if "filename*=UTF-8''" in header:
        return unquote(header.split("filename*=UTF-8''", 1)[1].split(";", 1)[0])
    if 'filename="' in header:
        return header.split('filename="', 1)[1].split('"', 1)[0]
    return "export.xlsx"


def run_export(params: dict, progress) -> longwork.Result:
    """Make the file of an export view as the job's user would get it: the view's request
    again (its path and query, the user's language and address), the view called without
    the threshold, its access rule checked again."""
    app = current_app._get_current_object() if has_app_context() else _consumer_app()
    user = progress.user
    with app.app_context(), app.test_request_context(
            params["path"], query_string=params.get("query", ""),
            headers={"Cookie": f"lang={progress.locale}"},
            environ_base={"REMOTE_ADDR": progress.address or ""}):
        g._login_user = LoginUser(user)  # flask-login's current user for this request
        g.long_job_progress = progress
        token = request_address.set(progress.address or "")
        try:
            view = app.view_functions.get(request.endpoint)
            rule = getattr(view, "access_rule", None)
            if view is None or rule is None or not user.active or \
                    (rule[0] != "public" and user.role not in rule[1]):
                raise PermissionDenied(EXPORT_REFUSED)
            response = app.make_response(view(**(request.view_args or {})))
        except HTTPException as refused:  # abort(404) and the like: gone, or no longer theirs
            raise JieduiError(EXPORT_REFUSED) from refused
        finally:
            request_address.reset(token)
    if response.status_code != 200:
        raise JieduiError(EXPORT_REFUSED)
    response.direct_passthrough = False  # a file sent by send_file is read like bytes
    return longwork.Result(filename=_file_name(response), content=response.get_data())


longwork.register(EXPORT, run_export)


# --- the job's page --------------------------------------------------------------------------

def _job(job_id):
    try:
        return longwork.readable_job(actor(), job_id)
    except NotFound:
        abort(404)  # another's job looks like none


def _page(job, page="jobs/job.html", heading_tag="h2"):
    stuck = job.status == "queued" and clock.now_utc() - job.created_at > QUEUED_TOO_LONG
    return render(page, "jobs/_job.html", job=job, active=job.status in LONG_JOB_ACTIVE,
                  title=TITLES.get(job.kind) or _l("Background work"), labels=LONG_JOB_LABELS,
                  heading_tag=heading_tag, stuck=stuck)


@bp.route("/<int:job_id>")
@allow(*ROLES)
def job(job_id):
    """The job's page: its bar while it runs, then its download (or why it failed)."""
    return _page(_job(job_id), heading_tag="h1")


@bp.route("/<int:job_id>/progress")
@allow(*ROLES)
@background
def progress(job_id):
    """The job's panel, asked for every second by the page while the job runs (polling:
    no activity that keeps a login alive)."""
    heading = "h1" if request.args.get("heading") == "h1" else "h2"  # the job's own page
    return _page(_job(job_id), page="jobs/_job.html", heading_tag=heading)


@bp.route("/<int:job_id>/download")
@allow(*ROLES)
def download(job_id):
    """The file the job made, for its user (or an administrator), never cached."""
    try:
        job, path = longwork.open_result(actor(), job_id)
    except NotFound:
        abort(404)
    mimetype = mimetypes.guess_type(job.filename)[0] or "application/octet-stream"
    response = send_file(path, mimetype=mimetype, max_age=0, as_attachment=True,
                         download_name=job.filename or f"export-{job.id}")
    response.headers["Cache-Control"] = "private, no-store"
    return response
