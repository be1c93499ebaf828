"""The plugin contract. Every hook is documented in docs/plugins.md and tested.

A plugin is a module or object with functions decorated ``@hookimpl`` (``from core
import hookimpl``), installed under the entry-point group ``jiedui``. A function may
take fewer arguments than its hook, never others.

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
    """Register programmes: call ``register(Program(...))`` once for each.

    Called when the registry is first built; the slug must be unique across plugins."""


@hookspec
def register_task_types(register):
    """Register task types: call ``register(TaskType(...))``; the programme must exist
    (registered by this or another plugin)."""


@hookspec
def register_metrics(register):
    """Register progress metrics: call ``register(Metric(...))`` over registered task
    types of the metric's programme."""


@hookspec
def register_schedules(register):
    """Register recurring work: call ``register(Schedule(...))``; jobs create tasks of
    the schedule's task type on time, for every unit of its scope."""


@hookspec
def register_blueprints(app):
    """Add Flask blueprints (routes, templates) to the web application ``app``.

    Called once by ``web.create_app()`` after the core blueprints."""


@hookspec
def register_commands(cli):
    """Add click commands to the ``jiedui`` command group ``cli``; never replace one.

    Called once when the ``jiedui`` command starts."""


@hookspec
def pairing_changed(pairing, change):
    """A pairing was created (``"paired"``), updated (``"updated"``) or ended (``"ended"``).

    Called after the change is committed; a replacement sends ``"ended"`` for the old
    pairing, then ``"paired"`` for the new one."""


@hookspec
def task_completed(task):
    """A programme task was completed (``core.tasks.complete_task``).

    ``task`` is the ``core.models.Task``, status ``"done"``, with the validated form data in
    ``task.data`` and the counted subject in ``task.subject``. Called after the commit."""


@hookspec
def major_matter_reported(matter):
    """A lawyer reported a major matter (``core.matters.report_matter``).

    ``matter`` is the ``core.models.MajorMatter`` (category, village, occurred_at,
    deadline_at, ``late``). Called after the commit; the coordinators are notified already."""


@hookspec
def lawyer_replaced(old, new, actor):
    """A village's lawyer was replaced (``core.pairings.replace_lawyer``): ``old`` is the
    ended ``core.models.Pairing``, ``new`` the active one that took over its open tasks,
    its future events and its place in the WeChat group. ``actor`` is the ``User`` who
    made the change (None: the command line). Called after the commit, after the two
    ``pairing_changed`` calls ("ended", "paired")."""


@hookspec
def tasks_assigned(tasks, actor):
    """Programme tasks were given to lawyers: one call per act of assigning, whatever its
    size (one task, a bulk assignment to a town or the district, a task handed to another
    lawyer, a replaced lawyer's open tasks passed on); the calls of one transaction by one
    actor are merged into one. ``tasks`` is the list of
    ``core.models.Task`` (their ``assignee`` is the lawyer who has them now); ``actor`` the
    ``User`` who assigned them (None: the command line or a job). Called after the commit."""


@hookspec
def events_changed(changes, actor):
    """Calendar events were added, moved, cancelled, reinstated or passed to another
    lawyer: one call per act (a move, a planning of many villages; the calls of one
    transaction by one actor are merged into one), with ``changes`` a
    list of ``core.events.EventChange`` (``event``, ``change``, ``previous_start``,
    ``previous_lawyer_id``). ``actor`` is the ``User`` who did it (None: the planner run by
    a job or the command line). Called after the commit."""


# --- the core's own reactions (``core.reactions`` implements them; a plugin may too) ---------

@hookspec
def feeds_changed(event_ids):
    """What the events ``event_ids`` show changed (moved, cancelled, handed over, or what
    their descriptions name): the calendar feeds they appear in are out of date. Called
    after the commit; the calls of one transaction are merged into one. The core's
    reaction queues the job that republishes those feeds."""


@hookspec
def holidays_changed(years):
    """The days off or make-up workdays of ``years`` (a list) changed (an administrator's
    day, an imported notice, a sync of the official calendar). The core's reaction
    re-plans each of those years that was planned."""


@hookspec
def deliveries_queued():
    """Notification copies (e-mail, group robot) wait in the outbox. The core's reaction
    wakes the job that sends them (a minute job catches up on anything missed)."""


@hookspec
def plugin_failed(plugin, hook, error, detail):
    """A plugin raised in ``hook`` (an event hook, a registration or setup hook). ``error``
    is one line, ``detail`` the traceback. The core's reaction reports it to the
    administrators as a problem (``core.problems``). A failure in this hook itself is only
    logged."""


@hookspec
def problem_opened(problem, opening):
    """A problem (``core.models.Problem``: a failing plugin, notification channel, feed or
    job) was recorded for the first time, or again after an administrator resolved it;
    ``opening`` names this opening ("new", or a reopening's mark). ``core.notices`` tells
    the administrators in their inbox."""
