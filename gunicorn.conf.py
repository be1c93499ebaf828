"""gunicorn's configuration for Jiedui: ``gunicorn -c gunicorn.conf.py`` (or ``jiedui serve``,
which uses the same options). Everything comes from ``web.serve.gunicorn_options``: one
process per core (``JIEDUI_WEB_WORKERS``) of ``JIEDUI_WEB_THREADS`` threads (gthread,
keep-alive), listening on ``JIEDUI_BIND``. Options given on gunicorn's command line win."""
from web.serve import gunicorn_options

globals().update(gunicorn_options())
