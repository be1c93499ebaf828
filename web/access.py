"""Every view declares who may reach it (``core.access.allow`` / ``public``); this module
enforces the declaration before each request. A view without one is refused (403), so a
forgotten rule fails closed, and a test walks ``app.url_map`` to find any.
"""
from urllib.parse import urlsplit

from flask import abort, current_app, make_response, request, url_for
from flask_login import current_user

from core.access import allow, public

__all__ = ["allow", "public", "actor", "enforce_access_rule"]

# Endpoints served by Flask itself.
BUILTIN_PUBLIC = {"static"}


def rule_of(endpoint: str | None):
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return getattr(view, "access_rule", None)


def enforce_access_rule():
    """``before_request``: admit the request or answer 302 to the login page / 403."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in BUILTIN_PUBLIC:
        return None  # 404 and 405 are answered by Flask
    rule = rule_of(endpoint)
    if rule is None:
        abort(403)
    kind, roles = rule
    if kind == "public":
        return None
    if not current_user.is_authenticated:
        return _to_login()
    if current_user.user.role not in roles:
        abort(403)
    return None


def _to_login():
    """To the login page. An HTMX request (a form, a badge polling after the session
    expired) gets the whole page sent there, instead of the login page swapped into a
    corner of the one it was on."""
    if not request.headers.get("HX-Request"):
        return current_app.login_manager.unauthorized()
    page = urlsplit(request.headers.get("HX-Current-URL", ""))
    back = page.path + (f"?{page.query}" if page.query else "")
    response = make_response("", 401)
    response.headers["HX-Redirect"] = url_for(
        "auth.login", next=back if back.startswith("/") and not back.startswith("//") else None)
    return response


def actor():
    """The ``core.models.User`` behind the current login."""
    return current_user.user
