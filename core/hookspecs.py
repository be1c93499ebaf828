"""The plugin contract. Every hook is documented in docs/plugins.md and tested.

A plugin is a module or object with functions decorated ``@hookimpl`` (``from core
import hookimpl``), installed under the entry-point group ``jiedui``.

Registration hooks receive a ``register`` callback: the host validates what the plugin
hands over and names the plugin in any error. Event hooks are called after the change
is committed; an exception in one plugin is logged and shown to administrators and
does not stop the others.
"""
import pluggy

hookspec = pluggy.HookspecMarker("jiedui")
hookimpl = pluggy.HookimplMarker("jiedui")


@hookspec
def register_programs(register):
    """Register programmes: call ``register(Program(...))`` once for each."""


@hookspec
def register_task_types(register):
    """Register task types: call ``register(TaskType(...))``; the programme must exist."""


@hookspec
def register_metrics(register):
    """Register progress metrics: call ``register(Metric(...))`` over registered task types."""


@hookspec
def register_schedules(register):
    """Register recurring work: call ``register(Schedule(...))``; jobs create tasks on time."""


@hookspec
def register_blueprints(app):
    """Add Flask blueprints (routes, templates) to the web application ``app``."""


@hookspec
def register_commands(cli):
    """Add click commands to the ``jiedui`` command group ``cli``."""


@hookspec
def pairing_changed(pairing, change):
    """A pairing was created (``"paired"``), updated (``"updated"``) or ended (``"ended"``)."""
