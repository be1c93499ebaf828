"""The programmes: ``jiedui plugins`` (what the loaded plugins register) and
``new-program`` (a new programme plugin package). A plugin's own commands (e.g. the
classic-cases plugin's ``cases-export``) come through its ``register_commands`` hook."""
import json
from pathlib import Path

import click

from core.config import get_settings


@click.command()
@click.option("--json", "as_json", is_flag=True)
def plugins(as_json):
    """List the loaded plugins, their programmes, task types, metrics and schedules; exits
    with 1 when a plugin is disabled (it failed in a registration or setup hook)."""
    from core.plugins import describe
    report = describe()
    if as_json:  # the registered values, as they are
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_plugins(report, get_settings().locale)
    if report["disabled"]:
        click.get_current_context().exit(1)


def _print_plugins(report: dict, locale: str) -> None:
    """The report, names in ``locale`` (``JIEDUI_LOCALE``; core.localize)."""
    from core.localize import name_of

    def name(kind, item):
        return name_of(kind, item["slug"], locale)
    disabled = {d["plugin"] for d in report["disabled"]}
    click.echo("plugins:")
    for p in report["plugins"]:
        mark = "  [disabled]" if p["name"] in disabled else ""
        click.echo(f"  {p['name']:<24} {p['module']}  hooks: {', '.join(p['hooks'])}{mark}")
    click.echo("programmes:")
    for p in report["programs"]:
        click.echo(f"  {p['slug']:<24} {name('programme', p)}  target {p['target']}  "
                   f"({p['plugin']})")
    click.echo("task types:")
    for t in report["task_types"]:
        click.echo(f"  {t['slug']:<24} {name('task type', t)}  [{t['program']}]")
    click.echo("metrics:")
    for m in report["metrics"]:
        click.echo(f"  {m['slug']:<24} {name('metric', m)}  [{m['program']}]")
    click.echo("schedules:")
    for s in report["schedules"]:
        click.echo(f"  {s['slug']:<24} {name('schedule', s)}  [{s['program']}]  "
                   f"scope {s['scope']}  cron {_cron_text(s['cron'])}")
    if report["disabled"]:
        click.echo("disabled plugins (the others work without them):", err=True)
        for d in report["disabled"]:
            click.echo(f"  {d['plugin']:<24} {d['error']}", err=True)


def _cron_text(cron: dict) -> str:
    """``minute=0 hour=9 day_of_week=1``: the keys in crontab order, unset ones left out."""
    from core.registry import CRON_KEYS
    return " ".join(f"{key}={cron[key]}" for key in CRON_KEYS if key in cron)


@click.command(name="new-program")
@click.argument("slug")
@click.option("--dir", "folder", type=click.Path(file_okay=False),
              help="Folder to create (default: ./jiedui-<slug>); it must not exist.")
@click.option("--name", help="The programme's name shown in the UI (Chinese first).")
def new_program(slug, folder, name):
    """Write a programme plugin package (hooks, a form, a metric, a test) for SLUG."""
    from core.plugins import get_registry
    from web.scaffold import ScaffoldError, new_program as scaffold
    try:
        made = scaffold(slug, folder, name=name, taken=set(get_registry().programs))
    except ScaffoldError as error:
        raise click.ClickException(str(error))
    click.echo(f"Created the plugin package {made}/ for the programme {slug}:")
    for path in sorted(p for p in made.rglob("*") if p.is_file()):
        click.echo(f"  {path.relative_to(made)}")
    steps = [(f"pip install -e {made}", "registers the entry point"),
             ("jiedui plugins", "lists the programme"),
             (f"cd {made} && pytest", "runs the plugin's own tests")]
    width = max(len(command) for command, _ in steps)
    click.echo("Next, in Jiedui's environment:")
    for command, why in steps:
        click.echo(f"  {command:<{width}}  # {why}")


@click.command(name="plugin-messages")
@click.argument("plugin")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="The .pot to write (default: the plugin's translations/messages.pot).")
def plugin_messages(plugin, output):
    """Write the strings PLUGIN shows (its names, form labels, descriptions and choices,
    and what its code marks with N_) as a .pot for its own catalog; docs/plugins.md,
    "Translations"."""
    from babel.messages.pofile import write_po

    from core.localize import catalog_folder, messages, template
    from core.plugins import get_plugin_manager
    if get_plugin_manager().get_plugin(plugin) is None:
        raise click.ClickException(f"plugin {plugin!r} is not loaded (jiedui plugins lists "
                                   f"the loaded ones)")
    folder = catalog_folder(plugin)
    if output is None and folder is None:
        raise click.ClickException(f"plugin {plugin!r} is not a package: give --output")
    path = Path(output) if output else folder / "messages.pot"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as pot:
        write_po(pot, template(plugin), omit_header=True, sort_output=False)
    click.echo(f"{len(messages(plugin))} strings of plugin {plugin!r} written to {path}")


COMMANDS = (plugins, new_program, plugin_messages)
