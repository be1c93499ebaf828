"""Running the service: ``jiedui run`` (the web UI and a job consumer in one process, for
one machine and ``make run``), ``jiedui serve`` (the web UI under gunicorn, for production:
``web.serve.gunicorn_options``) and ``jiedui worker`` (a job consumer only)."""
import logging
import threading

import click

from core.db import close_quietly, db
from core.i18n import gettext_for
from web.cli.common import describe_database, open_core
from web.cli.district import echo_demo_logins, echo_demo_summary
from web.longwork import EXPORT  # noqa: F401 (registers the exports' long work)


IDLE_POLL_SECONDS = 1.0


@click.command()
@click.option("--workers", default=2, show_default=True)
@click.option("--no-periodic", is_flag=True, help="Leave periodic jobs to another consumer.")
def worker(workers, no_periodic):
    """Run a huey consumer (Ctrl-C stops it after the running jobs)."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    open_core()
    _run_consumer(workers, periodic=not no_periodic)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="Job consumer threads.")
@click.option("--demo", "with_demo", is_flag=True,
              help="Load the demo district when the database is empty.")
def run(host, port, workers, with_demo):
    """Run the web UI and a job consumer in one process (the embedded default)."""
    from werkzeug.serving import make_server

    from web import create_app
    from web.serve import RequestHandler
    settings = open_core()
    gettext = gettext_for(settings.locale)
    if with_demo:
        _load_demo_if_empty(gettext)
    app = create_app()
    # Bind the port now (werkzeug says so and exits when it is taken), serve later.
    server = make_server(host, port, app, threaded=True, request_handler=RequestHandler)
    web_thread = threading.Thread(target=server.serve_forever, name="web", daemon=True)

    def serve():
        web_thread.start()
        _echo_banner(settings, host, server.server_port, gettext)

    logging.getLogger("huey").setLevel(logging.WARNING)  # keep the banner in view
    try:
        _run_consumer(workers, periodic=True, on_started=serve)
    finally:
        if web_thread.is_alive():
            server.shutdown()
            web_thread.join(timeout=5)
        server.server_close()
    click.echo(gettext("Jiedui stopped."))


@click.command()
@click.option("--bind", default=None, help="host:port to listen on [JIEDUI_BIND, 127.0.0.1:8000].")
@click.option("--workers", type=int, default=None,
              help="Web processes [JIEDUI_WEB_WORKERS, one per core].")
@click.option("--threads", type=int, default=None,
              help="Threads per process [JIEDUI_WEB_THREADS, 8].")
def serve(bind, workers, threads):
    """Run the web UI under gunicorn (production; run `jiedui worker` beside it)."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # pragma: no cover - only without the "serve" extra
        raise click.ClickException("gunicorn is not installed: pip install 'jiedui[serve]'")
    from web.serve import gunicorn_options
    open_core()  # migrate once here, before the workers start
    close_quietly()
    options = gunicorn_options()
    options.pop("wsgi_app")
    for name, value in (("bind", [bind] if bind else None), ("workers", workers),
                        ("threads", threads)):
        if value is not None:
            options[name] = value

    class Jiedui(BaseApplication):
        def load_config(self):
            for name, value in options.items():
                if value is not None and name in self.cfg.settings:  # (older gunicorns)
                    self.cfg.set(name, value)

        def load(self):  # in each worker, after the fork
            from web import create_app
            return create_app()

    Jiedui().run()


def _run_consumer(workers: int, periodic: bool, on_started=None) -> None:
    """Run a huey consumer in the main thread: it owns the signal handlers, so Ctrl-C
    (SIGINT) stops it after the running jobs, SIGTERM at once. ``on_started`` is called
    once those handlers are in place (``jiedui run`` starts the web server there, so a
    Ctrl-C can never fall between the two)."""
    from core.queue import Consumer, huey  # periodic jobs once per tick

    class ConsumerThen(Consumer):
        def start(self):
            super().start()
            if on_started is not None:
                on_started()

    # An idle consumer looks at the queue at least every second (huey's default slows to
    # every 10 s): a big export's page (core.longwork) should not sit "queued" for long.
    consumer = ConsumerThen(huey, workers=workers, worker_type="thread", periodic=periodic,
                            max_delay=IDLE_POLL_SECONDS)
    try:
        consumer.run()
    except KeyboardInterrupt:
        # Ctrl-C came before the consumer installed its handler: its threads may have
        # started, so tell them to stop (they are daemons: nothing waits for them).
        consumer.stop_flag.set()


def _load_demo_if_empty(gettext) -> None:
    from core.demo import has_data, load_demo
    try:
        if has_data():
            click.echo(gettext("The database already holds data: using it (the demo is not "
                               "reloaded)."))
            return
        click.echo(gettext("The database is empty: loading the demo district …"))
        echo_demo_summary(load_demo(), gettext)
    finally:
        db.close()


def _echo_banner(settings, host: str, port: int, gettext) -> None:
    from core.demo import demo_loaded
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    rule = "-" * 64
    click.echo(rule)
    click.echo(gettext("Jiedui is running: open %(url)s in a browser.")
               % {"url": f"http://{shown_host}:{port}/"})
    if shown_host != host:
        click.echo(gettext("(listening on all interfaces, port %(port)s)") % {"port": port})
    click.echo(gettext("Database: %(database)s")
               % {"database": describe_database(settings.database_url)})
    try:
        if demo_loaded():
            echo_demo_logins(gettext)
    finally:
        db.close()
    click.echo(gettext("Press Ctrl-C to stop (the web server and the job consumer stop "
                       "together)."))
    click.echo(rule)


COMMANDS = (run, serve, worker)
