"""The core's own hook implementations, registered by ``core.plugins`` before any plugin
(under the name ``CORE_PLUGIN``). They react to changes like a plugin would. Telling people
of changes is ``core.notices`` (registered the same way, as ``CORE_NOTICES``)."""
from core import clock
from core.hookspecs import hookimpl

CORE_PLUGIN = "jiedui-core"


@hookimpl
def pairing_changed(pairing, change):
    """Keep the calendar right: re-plan the village's years from this one on — every year
    planned already (a replacement passes the events of all of them to the new lawyer) and
    at least this one and the next (the job skips a year nobody planned)."""
    village_id = getattr(pairing, "village_id", None)
    if village_id is None:
        return
    from core.jobs import replan_village, village_planned_years  # core.jobs imports the queue
    year = clock.today().year
    years = sorted({year, year + 1} | {y for y in village_planned_years(village_id) if y >= year})
    replan_village(village_id, years)
