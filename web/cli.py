"""The ``jiedui`` command. Every command honours ``JIEDUI_INSTANCE`` and the other
``JIEDUI_*`` settings; each calls a core service, so the CLI holds no rules."""
import json
import logging
import sys
import threading
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import click

from core.app import setup
from core.config import load_settings
from core.db import UNAVAILABLE_ERRORS, db, is_unavailable
from core.errors import JieduiError, NotFound
from core.i18n import N_, gettext_for


def _settings():
    return load_settings()


def _open(run_migrations=True):
    settings = _settings()
    setup(settings, run_migrations=run_migrations)
    return settings


def _gettext():
    """The configured language's gettext (``JIEDUI_LOCALE``, zh_CN by default)."""
    return gettext_for(_settings().locale)


def _fail(error: JieduiError):
    raise click.ClickException(error.translate(_gettext()))


def _pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` columns of a terminal (a Chinese character
    takes two)."""
    return text + " " * max(0, width - _columns(text))


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _town(code: str):
    from core.models import Town
    town = Town.get_or_none(Town.code == code)
    if town is None:
        _fail(NotFound(N_("There is no town with the code %(code)s."), code=code))
    return town


def _village(code: str):
    from core.models import Village
    village = Village.get_or_none(Village.code == code)
    if village is None:
        _fail(NotFound(N_("There is no village with the code %(code)s."), code=code))
    return village


def _lawyer(lawyer_id: int):
    from core.models import Lawyer
    lawyer = Lawyer.get_or_none(Lawyer.id == lawyer_id)
    if lawyer is None:
        _fail(NotFound(N_("There is no lawyer with the id %(id)s."), id=lawyer_id))
    return lawyer


@click.group()
def cli():
    """Jiedui (结对): lawyer–village pairing, tasks and calendars."""


@cli.command()
def init():
    """Create the database, or bring its schema up to date (safe to repeat)."""
    settings = _settings()
    setup(settings)
    from core.db import migrate
    applied = migrate()
    gettext = gettext_for(settings.locale)
    click.echo(gettext("Database: %(database)s")
               % {"database": _describe_database(settings.database_url)})
    if applied:
        click.echo(gettext("Migrations applied: %(names)s.") % {"names": ", ".join(applied)})
    else:
        click.echo(gettext("The schema is up to date."))


@cli.command()
@click.option("--reset", is_flag=True, help="Delete all existing data first.")
@click.option("--no-plan", is_flag=True, help="Leave this year's calendar unplanned.")
def demo(reset, no_plan):
    """Load the demo district: 131 villages in 8 towns, 3 firms, 45 lawyers, all paired,
    one login of each role, this year's tasks of every installed programme, and this
    year's planned sessions and publicity events (most past ones recorded as held)."""
    from core.demo import load_demo
    gettext = gettext_for(_open().locale)
    try:
        summary = load_demo(reset=reset, plan=not no_plan)
    except JieduiError as error:
        _fail(error)
    _echo_demo_summary(summary, gettext)
    _echo_demo_logins(gettext)


def _echo_demo_summary(summary: dict, gettext) -> None:
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


def _echo_demo_logins(gettext) -> None:
    from core.demo import DEMO_LOGINS
    click.echo(gettext("Demo logins (username / password):"))
    labels = {role: gettext(DEMO_ROLE_LABELS.get(role, role)) for role in DEMO_LOGINS}
    width = max(map(_columns, labels.values()))
    for role, (username, password) in DEMO_LOGINS.items():
        click.echo(f"  {_pad(labels[role], width)}  {username} / {password}")


@cli.command(name="import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--district-name", help="Name of the district, if the database has none yet "
              "(default: 本区).")
def import_(path, district_name):
    """Load towns, villages, firms, lawyers and pairings from an .xlsx or .csv file
    (layout: docs/import.md). A file with any bad row imports nothing."""
    from core.importer import ImportFailed, import_file
    settings = _open()
    gettext = gettext_for(settings.locale)
    try:
        summary = import_file(path, district_name=district_name)
    except ImportFailed as failed:
        for problem in failed.problems:
            click.echo(problem.describe(gettext), err=True)
        raise click.ClickException(failed.translate(gettext))
    except JieduiError as error:
        _fail(error)
    click.echo(json.dumps(summary, ensure_ascii=False))


@cli.group()
def user():
    """Manage logins."""


@user.command(name="add")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "coordinator", "lawyer",
                                                          "village"]))
@click.option("--town", "town_code", help="Town code: limits a coordinator to one town.")
@click.option("--village", "village_code", help="Village code: for a village user.")
@click.option("--lawyer", "lawyer_id", type=int, help="Lawyer id: for a lawyer user.")
@click.option("--name", "display_name", default="")
def user_add(username, password, role, town_code, village_code, lawyer_id, display_name):
    """Create a user with a role and a scope."""
    from core.users import add_user
    settings = _open()
    town = _town(town_code) if town_code else None
    village = _village(village_code) if village_code else None
    lawyer = _lawyer(lawyer_id) if lawyer_id else None
    try:
        created = add_user(None, username, password, role, display_name=display_name,
                           town=town, village=village, lawyer=lawyer)
    except JieduiError as error:
        _fail(error)
    click.echo(_created_text(created, gettext_for(settings.locale)))


def _created_text(user, gettext) -> str:
    """What was created: the login, its role, and whom or what it is for."""
    from web import role_label  # outside a request, the label's msgid
    values = {"username": user.username, "role": gettext(role_label(user.role))}
    if user.lawyer_id:
        message = gettext("Created the login %(username)s (%(role)s), linked to the lawyer "
                          "%(lawyer)s (id %(id)s).")
        values.update(lawyer=user.lawyer.name, id=user.lawyer_id)
    elif user.village_id:
        message = gettext("Created the login %(username)s (%(role)s) for the village "
                          "%(name)s (%(code)s).")
        values.update(name=user.village.name, code=user.village.code)
    elif user.town_id:
        message = gettext("Created the login %(username)s (%(role)s) for the town %(name)s "
                          "(%(code)s).")
        values.update(name=user.town.name, code=user.town.code)
    else:
        message = gettext("Created the login %(username)s (%(role)s) for the whole district.")
    return message % values


def _existing_user(username: str):
    from core.models import User
    found = User.get_or_none(User.username == username.strip())
    if found is None:
        _fail(NotFound(N_("There is no login with the username %(username)s."),
                       username=username))
    return found


def _ask_new_password(gettext) -> str:
    """Asked twice, hidden, until the two agree (the rules are the service's)."""
    while True:
        password = click.prompt(gettext("New password"), hide_input=True)
        if click.prompt(gettext("Repeat the password"), hide_input=True) == password:
            return password
        click.echo(gettext("The two passwords differ."), err=True)


@user.command(name="password")
@click.argument("username")
@click.option("--password", help="Prompted for (hidden, twice) when not given.")
def user_password(username, password):
    """Set a new password for USERNAME (e.g. an administrator locked out of the UI); the
    user is logged out everywhere, and their failed logins no longer delay a login."""
    from core.users import reset_password
    gettext = gettext_for(_open().locale)
    found = _existing_user(username)
    if password is None:
        password = _ask_new_password(gettext)
    try:
        reset_password(None, found, password)
    except JieduiError as error:
        _fail(error)
    click.echo(gettext("The password of %(username)s was changed; they are logged out "
                       "everywhere.") % {"username": found.username})


@user.command(name="unlock")
@click.argument("username")
def user_unlock(username):
    """Let USERNAME log in at once: their failed logins no longer count."""
    from core.users import unlock_user
    gettext = gettext_for(_open().locale)
    found = _existing_user(username)
    unlock_user(None, found)
    click.echo(gettext("%(username)s can log in again at once: their failed logins no "
                       "longer count.") % {"username": found.username})


@user.command(name="disable")
@click.argument("username")
def user_disable(username):
    """Refuse USERNAME's logins and end their sessions and calendar feeds at once."""
    from core.users import disable_user
    gettext = gettext_for(_open().locale)
    found = _existing_user(username)
    try:
        disable_user(None, found)
    except JieduiError as error:
        _fail(error)
    click.echo(gettext("%(username)s is disabled and logged out everywhere.")
               % {"username": found.username})


@user.command(name="enable")
@click.argument("username")
def user_enable(username):
    """Let USERNAME log in again."""
    from core.users import enable_user
    gettext = gettext_for(_open().locale)
    found = _existing_user(username)
    enable_user(None, found)
    click.echo(gettext("%(username)s can log in again.") % {"username": found.username})


@cli.command(name="feed-token")
@click.option("--lawyer", "lawyer_id", type=int, required=True, help="Lawyer id.")
@click.option("--label", required=True, help="The device or app, e.g. iPhone.")
def feed_token(lawyer_id, label):
    """Create a secret calendar feed URL for a lawyer's device and print it (once)."""
    from core.feeds import create_token, feed_urls
    from core.models import User
    settings = _open()
    lawyer = _lawyer(lawyer_id)
    user = (User.select().where((User.lawyer == lawyer) & (User.role == "lawyer") & User.active)
            .order_by(User.id).first())
    if user is None:
        _fail(NotFound(N_("The lawyer %(lawyer)s (id %(id)s) has no login, and a feed belongs "
                          "to a login: create one first with `jiedui user add --role lawyer "
                          "--lawyer %(id)s --username NAME --password PASSWORD`."),
                       lawyer=lawyer.name, id=lawyer.id))
    try:
        token, raw = create_token(None, user, label)
    except JieduiError as error:
        _fail(error)
    urls = feed_urls(raw, settings.base_url)
    gettext = gettext_for(settings.locale)
    click.echo(gettext("Calendar feed \"%(label)s\" for %(lawyer)s (login %(username)s); "
                       "shown only now, keep it secret:")
               % {"label": token.label, "lawyer": lawyer.name, "username": user.username})
    click.echo(f"  {urls['https']}")
    click.echo(f"  {urls['webcal']}")
    if not settings.base_url_set and _is_loopback(settings.base_url):
        click.echo(gettext("Warning: JIEDUI_BASE_URL is not set, so this address points to "
                           "this computer (%(host)s): a phone cannot reach it. Set "
                           "JIEDUI_BASE_URL to the address people open Jiedui at, e.g. "
                           "https://jiedui.example.gov.cn, revoke this feed and make a new one.")
                   % {"host": urlsplit(settings.base_url).hostname}, err=True)


def _is_loopback(url: str) -> bool:
    """An address only this machine can open (127.0.0.0/8, ::1, localhost)."""
    import ipaddress
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def stats(as_json):
    """Counts of villages, towns, lawyers, firms and pairings, and each programme's
    progress this year (done toward its target)."""
    from core.stats import district_stats, program_stats
    _open()
    numbers = district_stats()
    programs = program_stats()
    if as_json:
        click.echo(json.dumps({**numbers, "programs": programs}, ensure_ascii=False))
        return
    for key, value in numbers.items():
        click.echo(f"{key:<20} {value}")
    for slug, counts in programs.items():
        click.echo(f"{slug:<20} {counts['done']} / {counts['target']}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def plugins(as_json):
    """List the loaded plugins, their programmes, task types, metrics and schedules; exits
    with 1 when a plugin is disabled (it failed in a registration or setup hook)."""
    from core.plugins import describe
    report = describe()
    if as_json:  # the registered values, as they are
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_plugins(report, _settings().locale)
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


@cli.command(name="new-program")
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


@cli.command(name="plugin-messages")
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


@cli.command()
@click.option("--year", type=int, required=True, help="The year to plan, e.g. 2026.")
@click.option("--town", "town_code", help="Town code: plan only that town's villages.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def plan(year, town_code, as_json):
    """Plan a year's on-site sessions and publicity events for every pairing (safe to
    repeat: only what changed is moved, reassigned or cancelled)."""
    from core.locks import planning_lock
    from core.planner import plan_year
    from core.workdays import has_official_data
    settings = _open()
    gettext = gettext_for(settings.locale)
    town = _town(town_code) if town_code else None
    if 2000 <= year <= 2100 and not has_official_data(year):
        click.echo(_estimate_note(year, gettext), err=True)
    bar = _LazyProgressBar(gettext("Planning %(year)s") % {"year": year})
    try:
        with planning_lock():  # a planning job running now would double-book lawyers
            summary = plan_year(year, town=town, progress=bar.update)
    except JieduiError as error:
        _fail(error)
    finally:
        bar.close()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        _echo_plan_summary(summary, town, gettext)


def _estimate_note(year: int, gettext) -> str:
    return gettext("Note: there is no official holiday data for %(year)s (the State Council "
                   "notice), so %(year)s is planned on an estimate of the public holidays, "
                   "without make-up workdays. When the notice is published, enter it "
                   "(`jiedui holidays import FILE` or the holidays page) and plan "
                   "again.") % {"year": year}


class _LazyProgressBar:
    """A click progress bar (on stderr) that learns its length from the first report."""

    def __init__(self, label: str):
        self.label, self.bar, self.done = label, None, 0

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr,
                                         show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _echo_plan_summary(summary: dict, town, gettext) -> None:
    if town:
        planned = gettext("Planned %(year)s for the town %(code)s %(town)s: %(pairings)s "
                          "pairings in %(villages)s villages, in %(seconds)s s.")
    else:
        planned = gettext("Planned %(year)s for the whole district: %(pairings)s pairings in "
                          "%(villages)s villages, in %(seconds)s s.")
    click.echo(planned % dict(summary, code=town and town.code, town=town and town.name))
    click.echo(gettext("Events: %(created)s created, %(moved)s moved, %(reassigned)s "
                       "reassigned, %(cancelled)s cancelled, %(unchanged)s unchanged.")
               % summary)
    if summary.get("proposed"):
        click.echo(gettext("%(proposed)s events starting within the next days were not changed: "
                           "confirm or dismiss each on the planning page.") % summary)
    if not summary["official"]:
        click.echo(gettext("Holidays of %(year)s: an estimate (no official data yet).")
                   % summary)
    shortfalls = summary["shortfalls"]
    if not shortfalls:
        click.echo(gettext("Shortfalls: none, every quota is planned."))
        return
    from web.calendar import KIND_LABELS  # outside a request, a label is its msgid
    click.echo(gettext("Shortfalls (%(count)s):") % {"count": len(shortfalls)})
    for row in shortfalls:
        reasons = " ".join(gettext(reason) for reason in row["reasons"])
        kind = gettext(str(KIND_LABELS.get(row["kind"], row["kind"])))
        click.echo("  " + gettext("%(village)s (%(code)s, %(lawyer)s), %(kind)s: %(planned)s "
                                  "of %(required)s planned. %(reasons)s")
                   % dict(row, code=row["village_code"], kind=kind, reasons=reasons))


@cli.group()
def holidays():
    """Days off and make-up workdays (调休补班) of the planning calendar."""


@holidays.command(name="sync")
@click.option("--year", "years", type=int, multiple=True,
              help="A year to sync (repeatable; default: this year and the next).")
def holidays_sync(years):
    """Fill the holidays from the `holidays` package (official where it has the State
    Council notice, an estimate otherwise); days entered by hand are kept. A year whose
    days changed is planned again if it was planned before."""
    from core import clock
    from core.workdays import has_official_data, sync_official_holidays
    gettext = gettext_for(_open().locale)
    years = sorted(set(years)) or [clock.today().year, clock.today().year + 1]
    try:
        written = sync_official_holidays(years)
    except JieduiError as error:
        _fail(error)
    values = {"years": ", ".join(map(str, years)), "count": written}
    if written:
        click.echo(gettext("Synced %(years)s: %(count)s days written.") % values)
    else:
        click.echo(gettext("Synced %(years)s: already up to date.") % values)
    for year in years:
        if not has_official_data(year):
            click.echo(_estimate_note(year, gettext))


@holidays.command(name="list")
@click.option("--year", type=int, help="Default: this year.")
def holidays_list(year):
    """List the days off and make-up workdays of a year."""
    from core import clock
    from core.workdays import has_official_data, holidays_of
    from web.calendar import HOLIDAY_LABELS, SOURCE_LABELS, WEEKDAYS
    gettext = gettext_for(_open().locale)
    year = year or clock.today().year
    try:
        rows = holidays_of(year)
    except JieduiError as error:
        _fail(error)
    # The web's labels: outside a request, a label is its msgid.
    kinds = {kind: gettext(str(label)) for kind, label in HOLIDAY_LABELS.items()}
    sources = {source: gettext(str(label)) for source, label in SOURCE_LABELS.items()}
    kind_width = max(map(_columns, kinds.values()))
    source_width = max(map(_columns, sources.values()))
    for row in rows:
        click.echo(f"{row.day.isoformat()} {gettext(str(WEEKDAYS[row.day.weekday()]))}  "
                   f"{_pad(kinds.get(row.kind, row.kind), kind_width)}  "
                   f"{_pad(sources.get(row.source, row.source), source_width)}  {row.name}")
    if has_official_data(year):
        total = gettext("%(count)s days; %(year)s is official.")
    else:
        total = gettext("%(count)s days; %(year)s is an estimate.")
    click.echo(total % {"count": len(rows), "year": year})


@holidays.command(name="import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def holidays_import(path):
    """Enter days from a CSV file `date,kind,name` (kind: off or workday), e.g. the State
    Council notice of a year the package does not know yet. A bad line imports nothing."""
    from core.workdays import import_holidays
    gettext = gettext_for(_open().locale)
    try:
        count = import_holidays(path)
    except JieduiError as error:
        _fail(error)
    click.echo(gettext("Imported %(count)s days; the years they are in are planned again if "
                       "they were planned before.") % {"count": count})


@cli.command(name="backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup_(path):
    """Write a backup of the database and the case files' attachments to PATH (.tar.gz),
    consistent while the service runs."""
    from core.backup import backup
    gettext = gettext_for(_open(run_migrations=False).locale)
    try:
        manifest = backup(path)
    except JieduiError as error:
        _fail(error)
    click.echo(gettext("Backup written to %(path)s: %(dialect)s database, %(tables)s tables, "
                       "%(rows)s rows, %(attachments)s attachments.")
               % {"path": path, "dialect": manifest["dialect"],
                  "tables": len(manifest["tables"]), "rows": sum(manifest["tables"].values()),
                  "attachments": manifest["attachments"]})


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(path, yes):
    """Replace the database and put back the attachments from a backup made by
    `jiedui backup` (the archive is checked first; a bad one changes nothing)."""
    from core.backup import inspect_archive, restore as restore_archive
    settings = _open(run_migrations=False)
    gettext = gettext_for(settings.locale)
    try:
        manifest = inspect_archive(path)
        if not yes:
            click.confirm(gettext("Replace ALL the data of %(database)s with the backup of "
                                  "%(created_at)s?")
                          % {"database": _describe_database(settings.database_url),
                             "created_at": manifest["created_at"]}, abort=True)
        restored = restore_archive(path)
    except JieduiError as error:
        _fail(error)
    values = {"created_at": restored["created_at"], "rows": sum(restored["tables"].values()),
              "attachments": restored["attachments"],
              "migrations": ", ".join(restored["applied"])}
    if restored["applied"]:
        click.echo(gettext("Restored the backup of %(created_at)s: %(rows)s rows, "
                           "%(attachments)s attachments; migrated: %(migrations)s.") % values)
    else:
        click.echo(gettext("Restored the backup of %(created_at)s: %(rows)s rows, "
                           "%(attachments)s attachments.") % values)


@cli.command()
@click.option("--workers", default=2, show_default=True)
@click.option("--no-periodic", is_flag=True, help="Leave periodic jobs to another consumer.")
def worker(workers, no_periodic):
    """Run a huey consumer (Ctrl-C stops it after the running jobs)."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _open()
    _run_consumer(workers, periodic=not no_periodic)


@cli.command()
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
    settings = _open()
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


def _run_consumer(workers: int, periodic: bool, on_started=None) -> None:
    """Run a huey consumer in the main thread: it owns the signal handlers, so Ctrl-C
    (SIGINT) stops it after the running jobs, SIGTERM at once. ``on_started`` is called
    once those handlers are in place (``jiedui run`` starts the web server there, so a
    Ctrl-C can never fall between the two)."""
    from huey.consumer import Consumer

    from core.queue import huey

    class ConsumerThen(Consumer):
        def start(self):
            super().start()
            if on_started is not None:
                on_started()

    consumer = ConsumerThen(huey, workers=workers, worker_type="thread", periodic=periodic)
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
        _echo_demo_summary(load_demo(), gettext)
    finally:
        db.close()


def _describe_database(url: str) -> str:
    """The SQLite file, or the server and database name (never the password)."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}"


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
               % {"database": _describe_database(settings.database_url)})
    try:
        if demo_loaded():
            _echo_demo_logins(gettext)
    finally:
        db.close()
    click.echo(gettext("Press Ctrl-C to stop (the web server and the job consumer stop "
                       "together)."))
    click.echo(rule)


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
        gettext = _gettext()
        message = gettext("The database is busy or unavailable (%(error)s); try again "
                          "later.") % {"error": str(error).strip().splitlines()[0]}
        click.echo(f"Error: {message}", err=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
