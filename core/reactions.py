"""The core's own reactions, as a default plugin (``core.plugins.DEFAULT_PLUGINS``): what
happens after a change, on the hooks the services fire, exactly as a third-party plugin
would hear of it. Each reaction hands the slow part to a job (``core.jobs``), so the
change itself never waits for it or fails with it: a queue that is down is logged, and the
periodic jobs catch up. Telling people is ``core.notices`` (a default plugin too).

This module sits above the services and the jobs (it imports both); nothing imports it but
the plugin manager, by name.
"""
import logging

from core import clock, feeds, jobs, pace_tally, problems, session_tally, village_requests
from core.hookspecs import hookimpl

log = logging.getLogger(__name__)


@hookimpl
def pairing_changed(pairing, change):
    """Keep the calendar right: re-plan the village's years from this one on — every year
    planned already (a replacement passes the events of all of them to the new lawyer) and
    at least this one and the next (the job skips a year nobody planned). The re-plan is
    requested, not run: a burst of changes (an import) is one re-plan of all its villages
    (``core.jobs.request_replan``). Then what the village asked of its lawyer follows the
    pairing (``core.village_requests``): the
    activities an ended pairing accepted after its end wait for the next lawyer, who is
    told what waits."""
    village_id = getattr(pairing, "village_id", None)
    if village_id is None:
        return
    refresh_pace([village_id])
    year = clock.today().year
    years = sorted({year, year + 1}
                   | {y for y in jobs.village_planned_years(village_id) if y >= year})
    jobs.request_replan(village_id, years)
    village_requests.pairing_changed(pairing, change)


@hookimpl
def feeds_changed(event_ids):
    """Republish the feeds of these events (a job), and keep their villages' pace figures
    and their towns' session counts (every change of an event fires this hook: held,
    cancelled, moved, handed over…)."""
    publish_affected(event_ids)
    for keep in (pace_tally.refresh_events, session_tally.refresh_events):
        try:
            keep(event_ids)
        except Exception:  # noqa: BLE001 - logged; the hourly repair catches up
            log.exception("could not keep %s for events %s", keep.__module__,
                          sorted(event_ids)[:20])


def refresh_pace(village_ids) -> None:
    """The villages' kept pace figures (``core.pace_tally``) after a change of their
    pairings: the quota of every pairing of a village follows its pairings' terms."""
    try:
        pace_tally.refresh(village_ids=village_ids)
    except Exception:  # noqa: BLE001 - logged; the hourly repair catches up
        log.exception("could not count the pace of villages %s", sorted(village_ids)[:20])


def publish_affected(event_ids) -> None:
    """Mark the published feeds of these events dirty (``core.feeds.mark_dirty``), then queue
    the job that publishes them; a queue that is down must not fail a change already made
    (the marks stay, and the hourly catch-up publishes them)."""
    ids = sorted({int(i) for i in event_ids})
    if not ids:
        return
    try:
        feeds.mark_dirty(ids)
    except Exception:  # noqa: BLE001 - logged; the change itself is committed
        log.exception("could not mark the feeds of events %s for publishing", ids[:20])
    try:
        jobs.publish_feeds(ids)
    except Exception:  # noqa: BLE001 - logged; the change itself is committed
        log.exception("could not queue the feeds of events %s for publishing", ids[:20])


@hookimpl
def holidays_changed(years):
    """Re-plan each year whose workdays changed (the job skips one nobody planned)."""
    for year in sorted(set(years)):
        jobs.replan_year(year)


@hookimpl
def deliveries_queued():
    """Send the notification copies now rather than at the next minute."""
    try:
        jobs.send_deliveries()
    except Exception:  # noqa: BLE001 - the minute job catches up
        log.exception("could not queue the sending of notifications")


@hookimpl
def plugin_failed(plugin, hook, error, detail):
    problems.report("plugin", f"plugin:{plugin}:{hook}",
                    f"plugin {plugin!r} failed in {hook}: {error}", detail=detail)
