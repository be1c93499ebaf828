"""One way to answer: the full page, or only its fragment for an HTMX request."""
from flask import make_response, render_template
from flask_htmx import HTMX

htmx = HTMX()


def render(page: str, fragment: str | None = None, /, *, trigger: str | dict | None = None,
           status: int = 200, **context):
    """Render ``page`` (which includes ``fragment``), or ``fragment`` alone when the request
    comes from HTMX. Always ``Vary: HX-Request``, so no cache serves one for the other.
    ``trigger`` announces a state change to the page (``HX-Trigger``)."""
    partial = bool(htmx) and not htmx.boosted and not htmx.history_restore_request
    template = fragment if fragment and partial else page
    response = make_response(render_template(template, **context), status)
    response.headers.add("Vary", "HX-Request")
    if trigger:
        import json
        response.headers["HX-Trigger"] = trigger if isinstance(trigger, str) else json.dumps(
            trigger, ensure_ascii=False)
    return response
