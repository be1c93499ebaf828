"""The Flask application: ``create_app()`` builds it; one blueprint per area."""
from flask import Flask, request
from flask_babel import Babel, get_locale
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from core.app import setup
from core.arrangements import describe as describe_arrangement
from core.config import get_settings
from core.db import UNAVAILABLE_ERRORS, close_quietly, connect_alive, is_unavailable
from core.i18n import TRANSLATIONS_DIR
from web import i18n
from web.i18n import gettext
from web.labels import ROLE_LABELS
from web.navigation import home_url, may_open, navigation_for
from web.render import htmx

LANGUAGES = ("zh_CN", "en")
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()




def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def arrangement_text(pairing_or_arrangement) -> str:
    """A pairing's on-site arrangement in the reader's language (core.arrangements)."""
    arrangement = getattr(pairing_or_arrangement, "arrangement", pairing_or_arrangement)
    return describe_arrangement(arrangement, gettext)


def _select_locale():
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return "zh_CN"


def create_app(config: dict | None = None) -> Flask:
    """Build the app. With ``TESTING`` or ``JIEDUI_SET_UP`` (a job consumer's app, see
    ``web.longwork``) the caller has set the process up already."""
    settings = get_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        JIEDUI_SETTINGS=settings,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        # The cookie's signature expires with the server-side session's lifetime
        # (core.sessions); the session row decides, the signature only agrees.
        PERMANENT_SESSION_LIFETIME=settings.logins.session_lifetime,
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS_DIR),
        WTF_CSRF_TIME_LIMIT=None,
        PER_PAGE=25,
        # No request body larger than the largest upload (and its form): werkzeug refuses
        # it with 413 before reading it, so an anonymous 60 MB POST costs nothing.
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
    )
    app.config.update(config or {})
    proxies = settings.trusted_proxies
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies)
    if not (app.config.get("TESTING") or app.config.get("JIEDUI_SET_UP")):
        # The web keeps its connections in a pool between requests (core.db).
        setup(settings, run_migrations=True, pooled=True)

    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    i18n.install(app)  # the templates' _() and {% trans %}: the request's catalog found once
    app.jinja_env.globals.update(get_locale=get_locale, role_label=role_label,
                                 arrangement_text=arrangement_text,
                                 navigation_for=navigation_for,
                                 home_url=home_url, may_open=may_open)
    _init_login(app)
    _init_database_per_request(app)
    _init_security_headers(app)
    _init_static_gzip(app)
    _init_error_pages(app)
    _init_favicon(app)

    from web import auth, coverage, firms, lawyers, pairings, towns, villages
    from web import feeds
    from web import calendar
    from web import admin, programs, tasks
    from web import matters
    from web import public
    from web import feedback
    from web import assessment
    from web import records
    from web import users
    from web import groups
    from web import home, signins, village_requests
    from web import district, inspections, longwork, reports
    for module in (auth, coverage, pairings, villages, towns, lawyers, firms, feeds, calendar,
                   tasks, programs, admin, public, feedback, matters, assessment, records,
                   users, groups, home, signins,
                   village_requests, district, reports, inspections, longwork):
        app.register_blueprint(module.bp)

    from core.plugins import call_setup_hook
    call_setup_hook("register_blueprints", app=app)
    longwork.wrap_marked_exports(app)  # a plugin's big export goes through a job too
    # The calendar feeds' polling is answered before Flask: a token lookup and the stored
    # bytes (web.feeds.FeedFastPath), with the same security headers as every answer.
    app.wsgi_app = feeds.FeedFastPath(app.wsgi_app, SECURITY_HEADERS)
    return app


def _init_favicon(app: Flask) -> None:
    """Browsers ask for /favicon.ico by themselves (the card pages, a download, an old
    bookmark): it is the svg of /static, kept a day in caches."""
    from flask import send_from_directory

    from web.access import public

    @public
    def favicon():
        return send_from_directory(app.static_folder, "favicon.svg", mimetype="image/svg+xml",
                                   max_age=86400)

    app.add_url_rule("/favicon.ico", "favicon", favicon)


def _init_login(app: Flask) -> None:
    from web.auth import LoginUser
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    login_manager.user_loader(LoginUser.load)


def _control_character(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _refuse_nul_bytes():
    """No field ever holds a NUL, and no path segment a control character: PostgreSQL
    would refuse a NUL deep inside a query (a 500), and no code, slug or token has one."""
    from flask import abort
    if _control_character(request.path):
        abort(404)  # no such page: like any other unknown address
    if any("\x00" in value for values in (request.args, request.form)
           for value in values.values()):
        abort(400)


def _init_database_per_request(app: Flask) -> None:
    from web.access import enforce_access_rule

    @app.before_request
    def _connect():
        connect_alive()  # a connection the server ended (restart) is replaced

    @app.before_request
    def _audit_address():
        from core.audit import request_address
        request_address.set(request.remote_addr or "")

    app.before_request(_refuse_nul_bytes)
    app.before_request(enforce_access_rule)

    @app.teardown_request
    def _close(exc):
        from flask import g
        if g.get("long_job_progress") is not None:
            return  # a job's export (web.longwork): the connection is the job's
        from core.audit import request_address
        request_address.set("")  # the thread may serve a job or a CLI call next
        close_quietly()


# No inline script or style anywhere: htmx is loaded from /static and configured by <meta>.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = (("Content-Security-Policy", CONTENT_SECURITY_POLICY),
                    ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "same-origin"))


def _init_security_headers(app: Flask) -> None:
    from flask_login import current_user

    @app.after_request
    def _headers(response):
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name, value)
        # What a logged-in user reads holds personal data: no shared or browser cache keeps
        # it (the back button on a shared office PC after logout, a proxy). Static files and
        # the feeds set their own caching.
        if "Cache-Control" not in response.headers and request.endpoint != "static" \
                and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response


# Static text files (htmx, the style sheets, app.js) are sent gzip-compressed to a browser
# that asks: about a third of their size, which is most of what a resident's phone loads on
# a slow connection (bench/slow_network.py). Pages are not compressed: they carry the CSRF
# token beside text a visitor chooses (BREACH); the static files hold no secret.
GZIP_STATIC = (".css", ".js", ".svg")
_gzipped: dict = {}  # (path, mtime, size) -> compressed bytes, for the process's life


def _init_static_gzip(app: Flask) -> None:
    import os

    from werkzeug.http import unquote_etag
    from werkzeug.security import safe_join

    from core.feeds import compress, gzip_etag

    def compressed(path: str) -> bytes:
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in _gzipped:
            if len(_gzipped) > 64:
                _gzipped.clear()
            with open(path, "rb") as file:
                _gzipped[key] = compress(file.read())
        return _gzipped[key]

    @app.after_request
    def _gzip_static(response):
        filename = (request.view_args or {}).get("filename", "")
        if request.endpoint != "static" or not filename.endswith(GZIP_STATIC):
            return response
        response.vary.add("Accept-Encoding")
        path = safe_join(app.static_folder, filename)
        if (response.status_code != 200 or request.accept_encodings["gzip"] <= 0
                or "Content-Encoding" in response.headers or path is None
                or not os.path.isfile(path)):
            return response
        body = compressed(path)
        response.close()  # the file send_file opened
        response.direct_passthrough = False
        tag = gzip_etag(response.headers.get("ETag", '"static"'))
        response.headers["ETag"] = tag
        if request.if_none_match.contains(unquote_etag(tag)[0]):
            response.status_code = 304
            response.set_data(b"")
            response.headers.pop("Content-Length", None)
            return response
        response.set_data(body)
        response.headers["Content-Encoding"] = "gzip"
        response.headers.pop("Accept-Ranges", None)  # ranges of the file, not of the gzip
        return response


def _init_error_pages(app: Flask) -> None:
    from werkzeug.exceptions import HTTPException

    from core.errors import JieduiError, NotFound, PermissionDenied
    from core.i18n import N_
    from web.render import render

    titles = {400: N_("Bad request"), 403: N_("You may not open this page"),
              404: N_("Not found"), 405: N_("Not allowed"), 422: N_("Cannot be done"),
              500: N_("Something went wrong"),
              503: N_("The database is busy, please try again later")}

    def page(status, detail=""):
        return render("error.html", "_error.html", status=status,
                      title=gettext(titles.get(status, "Error")), detail=detail)

    @app.errorhandler(HTTPException)
    def _http(error):
        if error.code in (301, 302, 303, 307, 308) or error.code not in titles:
            return error
        return page(error.code)

    def _database_unavailable(error):
        """Locked past the busy timeout (SQLite) or the connection lost (PostgreSQL
        restarted): the transaction was rolled back, so nothing was written; say so.
        A query the database refused is a bug, not an outage: it stays a 500."""
        if not is_unavailable(error):
            raise error
        app.logger.warning("database unavailable: %s", error)
        close_quietly()  # the page below may read: let it open a fresh connection
        response = page(503, gettext("Nothing was changed."))
        response.headers["Retry-After"] = "5"
        if htmx:  # into the page's alert area (base.html), leaving the form to send again
            response.headers["HX-Retarget"] = "#alerts"
            response.headers["HX-Reswap"] = "innerHTML"
        return response

    for error_class in UNAVAILABLE_ERRORS:
        app.register_error_handler(error_class, _database_unavailable)

    @app.errorhandler(JieduiError)
    def _domain(error):
        status = 404 if isinstance(error, NotFound) else 403 if isinstance(
            error, PermissionDenied) else 422
        return page(status, error.translate(gettext))
