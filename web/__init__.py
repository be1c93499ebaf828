"""The Flask application: ``create_app()`` builds it; one blueprint per area."""
from flask import Flask, request
from flask_babel import Babel, get_locale
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from core.app import setup
from core.config import load_settings
from core.db import db
from core.i18n import TRANSLATIONS_DIR
from web.render import htmx

LANGUAGES = ("zh_CN", "en")
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()


def _select_locale():
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return "zh_CN"


def create_app(config: dict | None = None) -> Flask:
    """Build the app. With ``TESTING`` the caller has opened the database already."""
    settings = load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        JIEDUI_SETTINGS=settings,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS_DIR),
        WTF_CSRF_TIME_LIMIT=None,
        PER_PAGE=25,
    )
    app.config.update(config or {})
    if not app.config.get("TESTING"):
        setup(settings, run_migrations=True)

    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    _init_login(app)
    _init_database_per_request(app)

    from web import auth, coverage, firms, lawyers, pairings, towns, villages
    for module in (auth, coverage, pairings, villages, towns, lawyers, firms):
        app.register_blueprint(module.bp)

    from core.plugins import get_plugin_manager
    get_plugin_manager().hook.register_blueprints(app=app)
    return app


def _init_login(app: Flask) -> None:
    from web.auth import LoginUser
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    login_manager.user_loader(LoginUser.load)


def _init_database_per_request(app: Flask) -> None:
    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not db.is_closed():
            db.close()
