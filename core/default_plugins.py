"""The core's own hook implementations, registered by ``core.plugins`` before any plugin
(under the name ``CORE_PLUGIN``). They react to changes like a plugin would."""
from core import clock
from core.hookspecs import hookimpl

CORE_PLUGIN = "jiedui-core"


@hookimpl
def pairing_changed(pairing, change):
    """Keep the calendar right: re-plan the village's current and next year (years that
    were planned; the job is idempotent, so a replacement's two notices are harmless)."""
    village_id = getattr(pairing, "village_id", None)
    if village_id is None:
        return
    from core.jobs import replan_village  # core.jobs imports the queue
    year = clock.today().year
    replan_village(village_id, [year, year + 1])
