"""Errors the core raises for a person to read.

A message is an English msgid with ``%(name)s`` parameters; the web and the CLI
translate it (zh_CN by default) with ``error.translate(gettext)``, so the same rule
gives the same words wherever it is broken.
"""


class JieduiError(Exception):
    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def translate(self, gettext) -> str:
        text = gettext(self.message)
        return text % self.params if self.params else text


class ValidationError(JieduiError):
    """The input breaks a rule; nothing was written. ``field`` names the input, if one;
    ``errors`` maps each bad field of a form to its messages (already translated by the
    form), for a form shown again with the messages next to its fields."""

    def __init__(self, message: str, field: str | None = None,
                 errors: dict[str, list[str]] | None = None, **params):
        super().__init__(message, **params)
        self.field = field
        self.errors = dict(errors or {})


class ConflictError(JieduiError):
    """The change would break a uniqueness rule (e.g. two active lawyers for one village)."""


class NotFound(JieduiError):
    pass


class PermissionDenied(JieduiError):
    pass


class TooManyAttempts(PermissionDenied):
    """Refused because of too many recent failures (e.g. logins); try again in
    ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int = 0, **params):
        super().__init__(message, **params)
        self.retry_after = retry_after
