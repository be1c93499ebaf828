"""The data as a whole: ``jiedui backup`` and ``restore``."""
import click

from core.errors import JieduiError
from core.i18n import gettext_for
from web.cli.common import describe_database, fail, open_core


@click.command(name="backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup_(path):
    """Write a backup of the database and the case files' attachments to PATH (.tar.gz),
    consistent while the service runs."""
    from core.backup import backup
    gettext = gettext_for(open_core(run_migrations=False).locale)
    try:
        manifest = backup(path)
    except JieduiError as error:
        fail(error)
    click.echo(gettext("Backup written to %(path)s: %(dialect)s database, %(tables)s tables, "
                       "%(rows)s rows, %(attachments)s attachments.")
               % {"path": path, "dialect": manifest["dialect"],
                  "tables": len(manifest["tables"]), "rows": sum(manifest["tables"].values()),
                  "attachments": manifest["attachments"]})


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(path, yes):
    """Replace the database and put back the attachments from a backup made by
    `jiedui backup` (the archive is checked first; a bad one changes nothing)."""
    from core.backup import inspect_archive, restore as restore_archive
    settings = open_core(run_migrations=False)
    gettext = gettext_for(settings.locale)
    try:
        manifest = inspect_archive(path)
        if not yes:
            click.confirm(gettext("Replace ALL the data of %(database)s with the backup of "
                                  "%(created_at)s?")
                          % {"database": describe_database(settings.database_url),
                             "created_at": manifest["created_at"]}, abort=True)
        restored = restore_archive(path)
    except JieduiError as error:
        fail(error)
    values = {"created_at": restored["created_at"], "rows": sum(restored["tables"].values()),
              "attachments": restored["attachments"],
              "migrations": ", ".join(restored["applied"])}
    if restored["applied"]:
        click.echo(gettext("Restored the backup of %(created_at)s: %(rows)s rows, "
                           "%(attachments)s attachments; migrated: %(migrations)s.") % values)
    else:
        click.echo(gettext("Restored the backup of %(created_at)s: %(rows)s rows, "
                           "%(attachments)s attachments.") % values)


COMMANDS = (backup_, restore)
