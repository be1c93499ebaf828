"""The WSGI application for a server that imports one (gunicorn: ``web.wsgi:app``): the app
``create_app`` builds from the ``JIEDUI_*`` settings, set up (migrations included) on import
— in each gunicorn worker, after the fork."""
from web import create_app

app = create_app()
