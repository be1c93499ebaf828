"""Every view declares who may reach it; a test walks ``app.url_map`` to make sure.

``@allow("admin", "coordinator")`` admits those roles (then the view checks the scope
of the object through ``core.access``); ``@public`` admits anyone, logged in or not.
"""
from functools import wraps

from flask import abort
from flask_login import current_user


def allow(*roles: str):
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                from flask import current_app
                return current_app.login_manager.unauthorized()
            if current_user.user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        wrapper.access_rule = ("roles", roles)
        return wrapper
    return decorate


def public(view):
    view.access_rule = ("public", ())
    return view


def actor():
    """The ``core.models.User`` behind the current login."""
    return current_user.user
