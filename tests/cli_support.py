"""Run the ``jiedui`` command in this process, as the console script runs it
(``web.cli.main``: the plugins' commands, the one-line errors), through click's
``CliRunner``: the environment, stdin, stdout and stderr are the run's own, and the
test reads and writes the same database afterwards. Quicker than a child process; the
tests about a real process (``jiedui run``, ``jiedui worker``, signals, the installed
script) start one.

The command opens the database its settings name (``JIEDUI_INSTANCE``: always SQLite, the
database and queue URLs are dropped), in place of the test's; the connection is closed
after each run, as a process ending would (the next query opens it again)."""
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

# What a person's shell would not set for the command: it must find its own instance.
DROPPED = ("JIEDUI_DATABASE_URL", "JIEDUI_QUEUE_URL", "JIEDUI_TEST_DATABASE_URL")


@dataclass(frozen=True)
class Ran:
    """The outcome of one run, named as ``subprocess.run`` names it."""
    returncode: int
    stdout: str
    stderr: str


class _Script:
    """``web.cli.main`` where CliRunner expects a click command: ``main`` returns 1 after
    an error it reports in one line, else click exits with the command's code."""

    @staticmethod
    def main(args, prog_name, **_extra):
        from core import config
        from web.cli import main
        config.configure(None)  # a new process reads the run's environment afresh
        code = main(list(args))
        if code is not None:
            sys.exit(code)


def run_jiedui(instance: Path | None, *args, locale: str | None = "en",
               stdin: str | None = None, **env) -> Ran:
    """Run ``jiedui *args`` on ``instance`` (None: the instance the environment names) in
    ``locale`` (None: the default language, zh_CN), with ``stdin`` typed in; ``env``: more
    settings for this run (None unsets one). An exception the command does not handle
    fails the test with its traceback, as a crashing process would print it."""
    from core import config
    from core.db import close_quietly
    from web.cli import cli
    environ = {name: None for name in DROPPED}
    if instance is not None:
        environ["JIEDUI_INSTANCE"] = str(instance)
    environ.update(JIEDUI_LOCALE=locale, **env)
    commands = dict(cli.commands)
    try:
        result = CliRunner().invoke(_Script, [str(arg) for arg in args], input=stdin,
                                    env=environ, prog_name="jiedui", catch_exceptions=False)
    finally:
        cli.commands.clear()  # the plugins' commands are added again by the next run
        cli.commands.update(commands)
        close_quietly()
        config.configure(None)  # the test's own environment again
    return Ran(result.exit_code, result.stdout, result.stderr)
