"""One way to answer: the full page, or only its fragment for an HTMX request."""
from urllib.parse import urlsplit

from flask import make_response, render_template, request
from flask_htmx import HTMX

htmx = HTMX()


def wants_fragment() -> bool:
    """Whether ``render`` answers this request with the fragment alone (an HTMX request
    that is not boosted nor a history restore): a view may then spare what only the rest
    of the page shows."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, fragment: str | None = None, /, *, trigger: str | dict | None = None,
           status: int = 200, **context):
    """Render ``page`` (which includes ``fragment``), or ``fragment`` alone when the request
    comes from HTMX. Always ``Vary: HX-Request``, so no cache serves one for the other.
    ``trigger`` announces a state change to the page (``HX-Trigger``)."""
    template = fragment if fragment and wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.headers.add("Vary", "HX-Request")
    if trigger:
        import json
        response.headers["HX-Trigger"] = trigger if isinstance(trigger, str) else json.dumps(
            trigger, ensure_ascii=False)
    return response


def safe_path(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default``: the one check for every
    redirect a request names (a ``next`` parameter, a referrer). Decided on the parsed URL
    after refusing what browsers and servers strip or rewrite on the way: control
    characters (a TAB in ``/<TAB>/evil.example`` disappears into ``//evil.example``, a CR/LF
    would split the header), backslashes (browsers read ``/<backslash>evil.example`` as
    ``//evil.example``), a scheme or a host."""
    if not target or any(ord(c) < 32 or ord(c) == 127 or c == "\\" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") \
            or parts.path.startswith("//"):
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


def back_to(default: str) -> str:
    """Where a plain (non-HTMX) form post returns: the page it came from, if that page is
    on this site (never another host), else ``default``."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return default
    return safe_path(referrer.path + (f"?{referrer.query}" if referrer.query else ""),
                     default)


def attach_error(form, error) -> None:
    """Show a ``core.errors.JieduiError`` in ``form``: next to the field it names, else
    above the form (in the user's language)."""
    from web.i18n import gettext
    message = error.translate(gettext)
    field = form._fields.get(error.field) if getattr(error, "field", None) else None
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)
