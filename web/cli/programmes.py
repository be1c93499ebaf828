"""The programmes: ``jiedui plugins`` (what the loaded plugins register) and
``new-program`` (a new programme plugin package). A plugin's own commands (e.g. the
classic-cases plugin's ``cases-export``) come through its ``register_commands`` hook."""
import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True)
def plugins(as_json):
    """List the loaded plugins, their programmes, task types, metrics and schedules; exits
    with 1 when a plugin is disabled (it failed in a registration or setup hook)."""
    from core.plugins import describe
    report = describe()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_plugins(report)
    if report["disabled"]:
        click.get_current_context().exit(1)


def _print_plugins(report: dict) -> None:
    disabled = {d["plugin"] for d in report["disabled"]}
    click.echo("plugins:")
    for p in report["plugins"]:
        mark = "  [disabled]" if p["name"] in disabled else ""
        click.echo(f"  {p['name']:<24} {p['module']}  hooks: {', '.join(p['hooks'])}{mark}")
    click.echo("programmes:")
    for p in report["programs"]:
        click.echo(f"  {p['slug']:<24} {p['name']}  target {p['target']}  ({p['plugin']})")
    click.echo("task types:")
    for t in report["task_types"]:
        click.echo(f"  {t['slug']:<24} {t['name']}  [{t['program']}]")
    click.echo("metrics:")
    for m in report["metrics"]:
        click.echo(f"  {m['slug']:<24} {m['name']}  [{m['program']}]")
    click.echo("schedules:")
    for s in report["schedules"]:
        click.echo(f"  {s['slug']:<24} {s['name']}  [{s['program']}]  scope {s['scope']}  "
                   f"cron {_cron_text(s['cron'])}")
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


COMMANDS = (plugins, new_program)
