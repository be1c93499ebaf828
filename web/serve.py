"""Serving the app: the two servers, what they say about themselves and what they write to
the access log. ``jiedui run`` (one process, the job consumer beside the web: ``make run``)
serves with werkzeug and ``RequestHandler``; ``jiedui serve`` (production) runs gunicorn with
``gunicorn_options``, which the repository's ``gunicorn.conf.py`` holds too (``gunicorn -c
gunicorn.conf.py`` starts the same server): one process per core of ``gthread`` workers
(threads; a connection kept alive between requests waits in the worker's poller, not in a
thread), the app built in each worker after the fork (``preload_app`` off: no database
connection or queue client crosses a fork), and the ``GunicornLogger``.

gunicorn keeps connections alive (HTTP/1.1): a phone's calendar fetching its feed and a
page's htmx requests do not pay a new TCP connection each. werkzeug (3.x) closes every
connection whatever the protocol (it drains the socket after each answer, which a kept
connection's next request would fall into): ``jiedui run`` is the one-machine server.

A calendar feed's address carries its secret token (``/feeds/<token>.ics``: calendar apps
cannot log in), and only its SHA-256 is stored; the access log must not keep it in clear
either, so it is written as ``/feeds/…redacted….ics``. The servers name no version of
themselves or of Python.
"""
import os
import re

from werkzeug.serving import WSGIRequestHandler

SERVER_NAME = "Jiedui"
_FEED_TOKEN = re.compile(r"/feeds/[^/\s?]+\.ics")
REDACTED = "/feeds/…redacted….ics"


def redact(text: str) -> str:
    """``text`` with every feed token replaced."""
    return _FEED_TOKEN.sub(REDACTED, text)


# How long a kept-alive connection may sit idle in gunicorn's poller.
KEEPALIVE_SECONDS = 5


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


def gunicorn_options(serve=None) -> dict:
    """gunicorn's settings for Jiedui (``jiedui serve``, ``gunicorn.conf.py``) from
    ``JIEDUI_BIND``, ``JIEDUI_WEB_WORKERS`` and ``JIEDUI_WEB_THREADS``
    (``core.config.serve_settings``)."""
    from core.config import serve_settings
    serve = serve or serve_settings()
    return {
        "bind": [serve.bind],
        "workers": serve.workers,
        "worker_class": "gthread",
        "threads": serve.threads,
        "keepalive": KEEPALIVE_SECONDS,
        "preload_app": False,  # each worker opens its own database pool and queue client
        "timeout": 120,  # a worker silent this long is restarted (a big page at most takes s)
        "graceful_timeout": 30,
        "max_requests": 20000,  # workers are renewed now and then, a little apart
        "max_requests_jitter": 2000,
        "logger_class": "web.serve.GunicornLogger",
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "jiedui",
        "control_socket_disable": True,  # gunicorn ≥ 24's gunicornc socket: not used
        # the workers' heartbeat files in memory, not on a disk that may stall
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        "wsgi_app": "web.wsgi:app",
    }
