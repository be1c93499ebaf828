"""The district's data: ``jiedui init``, ``demo``, ``import`` and ``stats``."""
import json

import click

from core.app import setup
from core.config import get_settings
from core.errors import JieduiError
from core.i18n import N_, gettext_for
from web.cli.common import columns, describe_database, fail, open_core, pad


@click.command()
def init():
    """Create the database, or bring its schema up to date (safe to repeat)."""
    settings = get_settings()
    setup(settings)
    from core.db import migrate
    applied = migrate()
    gettext = gettext_for(settings.locale)
    click.echo(gettext("Database: %(database)s")
               % {"database": describe_database(settings.database_url)})
    if applied:
        click.echo(gettext("Migrations applied: %(names)s.") % {"names": ", ".join(applied)})
    else:
        click.echo(gettext("The schema is up to date."))


@click.command()
@click.option("--reset", is_flag=True, help="Delete all existing data first.")
@click.option("--no-plan", is_flag=True, help="Leave this year's calendar unplanned.")
def demo(reset, no_plan):
    """Load the demo district: 131 villages in 8 towns, 3 firms, 45 lawyers, all paired,
    one login of each role, this year's tasks of every installed programme, and this
    year's planned sessions and publicity events (most past ones recorded as held)."""
    from core.demo import load_demo
    gettext = gettext_for(open_core().locale)
    try:
        summary = load_demo(reset=reset, plan=not no_plan)
    except JieduiError as error:
        fail(error)
    echo_demo_summary(summary, gettext)
    echo_demo_logins(gettext)


def echo_demo_summary(summary: dict, gettext) -> None:
    if "events" in summary:
        loaded = gettext("Loaded the demo district %(district)s in %(seconds)s s: %(towns)s "
                         "towns, %(villages)s villages and communities, %(firms)s law firms, "
                         "%(lawyers)s lawyers, %(pairings)s pairings (term %(term)s), "
                         "%(tasks)s programme tasks (%(tasks_done)s done), %(events)s "
                         "calendar events.")
    else:
        loaded = gettext("Loaded the demo district %(district)s in %(seconds)s s: %(towns)s "
                         "towns, %(villages)s villages and communities, %(firms)s law firms, "
                         "%(lawyers)s lawyers, %(pairings)s pairings (term %(term)s), "
                         "%(tasks)s programme tasks (%(tasks_done)s done).")
    click.echo(loaded % summary)


# The demo's logins (core.demo.DEMO_LOGINS) by the role a person knows them as.
DEMO_ROLE_LABELS = {"admin": N_("Administrator"), "coordinator": N_("District coordinator"),
                    "town coordinator": N_("Town coordinator"), "lawyer": N_("Lawyer"),
                    "village": N_("Village user")}


def echo_demo_logins(gettext) -> None:
    from core.demo import DEMO_LOGINS
    click.echo(gettext("Demo logins (username / password):"))
    labels = {role: gettext(DEMO_ROLE_LABELS.get(role, role)) for role in DEMO_LOGINS}
    width = max(map(columns, labels.values()))
    for role, (username, password) in DEMO_LOGINS.items():
        click.echo(f"  {pad(labels[role], width)}  {username} / {password}")


@click.command(name="import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--district-name", help="Name of the district, if the database has none yet "
              "(default: 本区).")
@click.option("--check", is_flag=True, help="Check the file and print what importing it "
              "would do, without writing anything.")
def import_(path, district_name, check):
    """Load towns, villages, firms, lawyers and pairings from an .xlsx or .csv file
    (layout: docs/import.md). A file with any bad row imports nothing."""
    from core.importer import ImportFailed, import_file, preview
    settings = open_core()
    gettext = gettext_for(settings.locale)
    try:
        if check:
            result = preview(path, district_name=district_name)
            if result.problems:
                raise ImportFailed(result.name, result.problems)
            summary = result.summary
        else:
            summary = import_file(path, district_name=district_name)
    except ImportFailed as failed:
        for problem in failed.problems:
            click.echo(problem.describe(gettext), err=True)
        raise click.ClickException(failed.translate(gettext))
    except JieduiError as error:
        fail(error)
    click.echo(json.dumps(summary, ensure_ascii=False))


@click.command()
@click.option("--json", "as_json", is_flag=True)
def stats(as_json):
    """Counts of villages, towns, lawyers, firms and pairings, and each programme's
    progress this year (done toward its target)."""
    from core.stats import district_stats, program_stats
    open_core()
    numbers = district_stats()
    programs = program_stats()
    if as_json:
        click.echo(json.dumps({**numbers, "programs": programs}, ensure_ascii=False))
        return
    for key, value in numbers.items():
        click.echo(f"{key:<20} {value}")
    for slug, counts in programs.items():
        click.echo(f"{slug:<20} {counts['done']} / {counts['target']}")


COMMANDS = (init, demo, import_, stats)
