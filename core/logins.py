"""Logging in: ``attempt`` is the one place that decides a login.

The password check is throttled per account and client address, and per address
(``core.throttle``): a try that must wait is refused with ``TooManyAttempts`` and the
wait, even with the right password, but failures from other addresses never delay it. A
wrong password, an unknown user and a disabled user get the same message, so the answers
say nothing about which accounts exist (an unknown username is throttled like any other).
"""
from core.errors import PermissionDenied
from core.i18n import N_
from core.models import User
from core import throttle
from core.users import authenticate

WRONG_CREDENTIALS = N_("Wrong username or password.")


def attempt(username: str, password: str, address: str = "") -> User:
    """The user for a login with ``username`` and ``password`` from ``address``, or
    ``TooManyAttempts`` (throttled) / ``PermissionDenied`` (wrong, unknown or disabled)."""
    found: list[User] = []

    def check() -> bool:
        user = authenticate(username, password)
        if user is not None:
            found.append(user)
        return user is not None

    if not throttle.checked(throttle.account_key(username), address, check):
        raise PermissionDenied(WRONG_CREDENTIALS)
    return found[0]
