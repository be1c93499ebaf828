"""The ``jiedui`` command. Every command honours ``JIEDUI_INSTANCE`` and the other
``JIEDUI_*`` settings; each calls a core service, so the CLI holds no rules.

One module per area, each listing its ``COMMANDS``: ``district`` (init, demo, import,
stats), ``users`` (user …), ``calendar`` (plan, holidays …, feed-token), ``data`` (backup,
restore), ``serve`` (run, worker), ``programmes`` (plugins, new-program); what they share
is in ``common``. Plugins add their own commands through the ``register_commands`` hook
(``main`` calls it before running a command).
"""
import click

from core.db import UNAVAILABLE_ERRORS, is_unavailable
from web.cli import calendar, data, district, programmes, serve, users
from web.cli.common import cli_gettext


@click.group()
def cli():
    """Jiedui (结对): lawyer–village pairing, tasks and calendars."""


def _add_core_commands() -> None:
    for area in (district, users, calendar, data, serve, programmes):
        for command in area.COMMANDS:
            cli.add_command(command)


_add_core_commands()


def _load_plugin_commands():
    from core.plugins import call_setup_hook
    call_setup_hook("register_commands", cli=cli)


def main(argv=None):
    from core.registry import PluginError
    try:
        _load_plugin_commands()
        return cli.main(args=argv, prog_name="jiedui")
    except PluginError as error:  # a broken plugin: say which, without a traceback
        click.echo(f"Error: {error}", err=True)
        return 1
    except UNAVAILABLE_ERRORS as error:  # locked past the busy timeout, or unreachable
        if not is_unavailable(error):
            raise  # a query the database refused: a bug, with its traceback
        # Its open transaction was rolled back; work committed before (a planning's
        # earlier villages) stays, and running the command again finishes it.
        gettext = cli_gettext()
        message = gettext("The database is busy or unavailable (%(error)s); try again "
                          "later.") % {"error": str(error).strip().splitlines()[0]}
        click.echo(f"Error: {message}", err=True)
        return 1
