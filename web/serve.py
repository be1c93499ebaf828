"""Serving the app: what the servers say about themselves and what they write to the access
log. ``jiedui run`` uses ``RequestHandler`` (werkzeug); gunicorn takes
``--logger-class web.serve.GunicornLogger``.

A calendar feed's address carries its secret token (``/feeds/<token>.ics``: calendar apps
cannot log in), and only its SHA-256 is stored; the access log must not keep it in clear
either, so it is written as ``/feeds/…redacted….ics``. The servers name no version of
themselves or of Python.
"""
import re

from werkzeug.serving import WSGIRequestHandler

SERVER_NAME = "Jiedui"
_FEED_TOKEN = re.compile(r"/feeds/[^/\s?]+\.ics")
REDACTED = "/feeds/…redacted….ics"


def redact(text: str) -> str:
    """``text`` with every feed token replaced."""
    return _FEED_TOKEN.sub(REDACTED, text)


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler with no version banner and feed tokens kept out of the log."""

    def version_string(self) -> str:
        return SERVER_NAME

    def log_request(self, code="-", size="-") -> None:
        """werkzeug logs ``self.path`` (or the request line): redacted, for the log only."""
        path, line = getattr(self, "path", None), getattr(self, "requestline", None)
        if path is not None:
            self.path = redact(path)
        if line is not None:
            self.requestline = redact(line)
        try:
            super().log_request(code, size)
        finally:
            if path is not None:
                self.path = path
            if line is not None:
                self.requestline = line


try:  # gunicorn is the production server (the "serve" extra); the app runs without it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover - only without the extra
    _GunicornLogger = None

if _GunicornLogger is not None:
    class GunicornLogger(_GunicornLogger):
        """gunicorn's logger with feed tokens kept out of the access log."""

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            for key in ("r", "U", "{raw_uri}e"):
                if isinstance(atoms.get(key), str):
                    atoms[key] = redact(atoms[key])
            return atoms
