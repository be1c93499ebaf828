"""The calendar: ``jiedui plan``, ``holidays sync|list|import``, ``feed-token``, and the
kept figures' safety nets ``pace-tally`` and ``progress-tally``."""
import json
import sys
from urllib.parse import urlsplit

import click

from core.errors import JieduiError, NotFound
from core.i18n import N_, gettext_for
from web.cli.common import columns, fail, find_lawyer, find_town, open_core, pad


@click.command(name="feed-token")
@click.option("--lawyer", "lawyer_id", type=int, required=True, help="Lawyer id.")
@click.option("--label", required=True, help="The device or app, e.g. iPhone.")
def feed_token(lawyer_id, label):
    """Create a secret calendar feed URL for a lawyer's device and print it (once)."""
    from core.feeds import create_token, feed_urls
    from core.models import User
    settings = open_core()
    lawyer = find_lawyer(lawyer_id)
    user = (User.select().where((User.lawyer == lawyer) & (User.role == "lawyer") & User.active)
            .order_by(User.id).first())
    if user is None:
        fail(NotFound(N_("The lawyer %(lawyer)s (id %(id)s) has no login, and a feed belongs "
                         "to a login: create one first with `jiedui user add --role lawyer "
                         "--lawyer %(id)s --username NAME --password PASSWORD`."),
                      lawyer=lawyer.name, id=lawyer.id))
    try:
        token, raw = create_token(None, user, label)
    except JieduiError as error:
        fail(error)
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


@click.command()
@click.option("--year", type=int, required=True, help="The year to plan, e.g. 2026.")
@click.option("--town", "town_code", help="Town code: plan only that town's villages.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def plan(year, town_code, as_json):
    """Plan a year's on-site sessions and publicity events for every pairing (safe to
    repeat: only what changed is moved, reassigned or cancelled)."""
    from core.locks import planning_lock
    from core.planner import plan_year
    from core.workdays import has_official_data
    settings = open_core()
    gettext = gettext_for(settings.locale)
    town = find_town(town_code) if town_code else None
    if 2000 <= year <= 2100 and not has_official_data(year):
        click.echo(_estimate_note(year, gettext), err=True)
    bar = _LazyProgressBar(gettext("Planning %(year)s") % {"year": year})
    try:
        with planning_lock():  # a planning job running now would double-book lawyers
            summary = plan_year(year, town=town, progress=bar.update)
    except JieduiError as error:
        fail(error)
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


@click.group()
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
    gettext = gettext_for(open_core().locale)
    years = sorted(set(years)) or [clock.today().year, clock.today().year + 1]
    try:
        written = sync_official_holidays(years)
    except JieduiError as error:
        fail(error)
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
    gettext = gettext_for(open_core().locale)
    year = year or clock.today().year
    try:
        rows = holidays_of(year)
    except JieduiError as error:
        fail(error)
    # The web's labels: outside a request, a label is its msgid.
    kinds = {kind: gettext(str(label)) for kind, label in HOLIDAY_LABELS.items()}
    sources = {source: gettext(str(label)) for source, label in SOURCE_LABELS.items()}
    kind_width = max(map(columns, kinds.values()))
    source_width = max(map(columns, sources.values()))
    for row in rows:
        click.echo(f"{row.day.isoformat()} {gettext(str(WEEKDAYS[row.day.weekday()]))}  "
                   f"{pad(kinds.get(row.kind, row.kind), kind_width)}  "
                   f"{pad(sources.get(row.source, row.source), source_width)}  {row.name}")
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
    gettext = gettext_for(open_core().locale)
    try:
        count = import_holidays(path)
    except JieduiError as error:
        fail(error)
    click.echo(gettext("Imported %(count)s days; the years they are in are planned again if "
                       "they were planned before.") % {"count": count})


@click.command(name="pace-tally")
def pace_tally():
    """Work every pairing's quota and held counts out again (what the pages behind pace
    read: kept at each change; this is the safety net), writing only what differs."""
    from core import pace_tally as tally
    settings = open_core()
    gettext = gettext_for(settings.locale)
    changed = tally.rebuild()
    click.echo(gettext("Pace figures checked: %(count)s rows repaired.") % {"count": changed})


@click.command(name="progress-tally")
def progress_tally():
    """Count the programme metrics' done tasks per town, month and week, the on-site
    sessions per town and month, and the metrics per lawyer, again (what the desk, the charts and the programmes read:
    kept at each change; this is the safety net), writing only what differs."""
    from core import progress_tally as progress, session_tally as sessions
    settings = open_core()
    gettext = gettext_for(settings.locale)
    changed = progress.rebuild() + sessions.rebuild()
    click.echo(gettext("Progress and session counts checked: %(count)s rows repaired.")
               % {"count": changed})


COMMANDS = (plan, holidays, feed_token, pace_tally, progress_tally)
