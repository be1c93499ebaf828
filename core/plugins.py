"""The plugin manager: loads entry points of group ``jiedui`` and builds the registry.

Loading is lazy (on first use) and idempotent. ``JIEDUI_LOAD_PLUGINS`` (a comma
list of entry-point names) limits which plugins load; set to empty, none load.

The public contract (docs/plugins.md):

- ``get_plugin_manager()`` / ``get_registry()``: the loaded plugins, and what they
  registered, checked. A plugin that cannot be loaded raises ``PluginError`` naming it.
  A plugin that fails in a registration or setup hook (raises, or hands over something
  invalid) is disabled as a whole: nothing it registered is used and its event hooks
  are not called; the error is logged, kept in ``Registry.disabled`` and reported as a
  Problem, and the other programmes keep working.
- ``register_plugin(obj, name)`` / ``unregister_plugin(name)``: an in-process plugin
  (tests, embedding), checked at once like an installed one.
- ``call_setup_hook(hook_name, **kwargs)``: ``register_blueprints`` and
  ``register_commands``; a failing plugin is disabled (as above), the others set up.
- ``notify(hook_name, **kwargs)``: event hooks; a failing plugin is logged,
  recorded in ``plugin_errors`` and reported as a Problem (``core.problems``), the
  others still run. Inside a ``core.db.transaction()`` they wait for its commit (and
  are dropped on rollback); the calls of one transaction to a list hook by one actor
  are sent as one.
- ``reset()`` / ``reset_registry()``: forget what was loaded (tests); ``reset(installed=…)``
  chooses the installed plugins loaded next (``core.testing``).

The core's own reactions are plugins too (``DEFAULT_PLUGINS``, loaded by module name, as
datasette loads its default plugins): ``core.reactions`` (republish feeds, re-plan, send
notice copies) and ``core.notices`` (tell people). They are registered first, before any
installed plugin, and use exactly the hooks a third party would.
"""
import difflib
import logging
import threading
import traceback
from importlib import import_module
from importlib.metadata import entry_points

import pluggy

from core import hookspecs
from core.clock import now_utc
from core.config import get_settings
from core.db import collect_until_commit
from core.registry import Metric, PluginError, Program, Registry, Schedule, TaskType

log = logging.getLogger(__name__)

GROUP = "jiedui"
# Registration hooks: hook name -> (value class, registry attribute, kind shown in errors)
REGISTRATIONS = {
    "register_programs": (Program, "programs", "programme"),
    "register_task_types": (TaskType, "task_types", "task type"),
    "register_metrics": (Metric, "metrics", "metric"),
    "register_schedules": (Schedule, "schedules", "schedule"),
}
MAX_ERRORS = 100
# The core's own hookimpls, registered before any plugin: name -> module (imported by name
# when the manager is built, so nothing below the reactions imports them).
DEFAULT_PLUGINS = {"jiedui-core": "core.reactions", "jiedui-core-notices": "core.notices"}
CORE_PLUGINS = tuple(DEFAULT_PLUGINS)

_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_registry: Registry | None = None
# Failures of event hooks, newest last, for administrators to see (bounded).
plugin_errors: list[dict] = []
# Command name -> plugin that added it, so a plugin cannot replace another's command.
_command_owners: dict[str, str] = {}
# Plugins that failed in a setup hook: name -> error (the registry leaves them out).
_failed_setup: dict[str, str] = {}
# The installed plugins the next manager loads, when a test chose them (``reset``);
# None: as JIEDUI_LOAD_PLUGINS says.
_chosen: frozenset[str] | None = None


# --- loading -------------------------------------------------------------------------

def _load_entry_points(pm: pluggy.PluginManager) -> None:
    wanted = get_settings().load_plugins if _chosen is None else _chosen
    installed = {}
    for ep in entry_points(group=GROUP):
        if ep.name in installed and installed[ep.name].value != ep.value:
            raise PluginError(f"plugin {ep.name!r} is installed twice: {ep.value!r} and "
                              f"{installed[ep.name].value!r}")
        installed[ep.name] = ep  # the same entry point seen twice (e.g. editable) is one
    unknown = set(wanted or ()) - set(installed)
    if unknown:
        raise PluginError(f"JIEDUI_LOAD_PLUGINS names plugins that are not installed: "
                          f"{', '.join(sorted(unknown))} (installed: "
                          f"{', '.join(sorted(installed)) or 'none'})")
    for name, ep in sorted(installed.items()):
        if wanted is None or name in wanted:
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(f"plugin {name!r} could not be loaded from {ep.value!r}: "
                                  f"{type(exc).__name__}: {exc}") from exc
            _register(pm, plugin, name)


def _register(pm: pluggy.PluginManager, plugin, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:  # a hook's arguments do not match its spec
        # pluggy's first line repeats the plugin's name; keep the rest, on one line
        detail = "; ".join(str(exc).splitlines()[1:]) or str(exc)
        raise PluginError(f"plugin {name!r}: {detail}") from exc
    except ValueError as exc:  # the name or the object is registered already
        raise PluginError(f"plugin {name!r} cannot be registered: "
                          f"{str(exc).splitlines()[0]}") from exc
    # The host calls each implementation itself (to name and isolate failures), so a
    # wrapper would silently never run: refuse it.
    for hook in pm.get_hookcallers(plugin) or ():
        for impl in hook.get_hookimpls():
            if impl.plugin is plugin and (impl.hookwrapper or impl.wrapper):
                pm.unregister(name=name)
                raise PluginError(f"plugin {name!r}: {hook.name} must be a plain @hookimpl, "
                                  f"not a wrapper")


def _check_pending(pm: pluggy.PluginManager) -> None:
    """pluggy's ``check_pending``, with the plugin's name and the hook it probably meant."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin)
        unknown = [hook for hook in vars(pm.hook) if not hook.startswith("_")
                   and not getattr(pm.hook, hook).has_spec()
                   and any(impl.plugin is exc.plugin
                           for impl in getattr(pm.hook, hook).get_hookimpls())]
        hook = unknown[0] if unknown else "?"
        close = difflib.get_close_matches(hook, _hook_names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PluginError(f"plugin {name!r} implements unknown hook {hook!r}{hint}") from exc


def _hook_names() -> list[str]:
    return [name for name in dir(hookspecs)
            if hasattr(getattr(hookspecs, name), f"{GROUP}_spec")]


def get_plugin_manager() -> pluggy.PluginManager:
    """The manager with the installed plugins loaded and checked (built on first use)."""
    global _pm
    with _lock:
        if _pm is None:
            pm = pluggy.PluginManager(GROUP)
            pm.add_hookspecs(hookspecs)
            for name, module in DEFAULT_PLUGINS.items():  # the core's own, before any plugin
                _register(pm, import_module(module), name)
            _load_entry_points(pm)
            _check_pending(pm)  # a misspelt hook name fails loudly here
            _pm = pm
        return _pm


def register_plugin(plugin, name: str) -> None:
    """Register an in-process plugin (a module, class or object with ``@hookimpl``
    functions) and check it as if it were installed: a misspelt hook or wrong
    arguments raise ``PluginError`` and leave nothing registered."""
    pm = get_plugin_manager()
    with _lock:
        _register(pm, plugin, name)
        try:
            _check_pending(pm)
        except PluginError:
            pm.unregister(name=name)
            raise
        reset_registry()


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered by name (nothing happens if there is none)."""
    with _lock:
        if _pm is not None and _pm.get_plugin(name) is not None:
            _pm.unregister(name=name)
        _failed_setup.pop(name, None)
        reset_registry()


def reset(*, installed=None) -> None:
    """Forget the loaded plugins, the registry and the recorded errors (tests).
    ``installed``: the names of the installed plugins the next manager loads (none, for an
    empty collection), whatever ``JIEDUI_LOAD_PLUGINS`` says, until the next ``reset()``
    (``core.testing.alone`` and ``installed_only``)."""
    global _pm, _registry, _chosen
    with _lock:
        _pm, _registry = None, None
        _chosen = None if installed is None else frozenset(installed)
        plugin_errors.clear()
        _failed_setup.clear()


def reset_registry() -> None:
    """Forget the registry only: it is built again, from the plugins now registered."""
    global _registry
    with _lock:
        _registry = None


def _implementations(hook_name: str, skip=None) -> list:
    """The plugins' implementations of a hook in pluggy's call order: last registered
    first, ``tryfirst``/``trylast`` honoured; without the disabled plugins (``skip``
    while the registry is being built)."""
    if skip is None:
        skip = get_registry().disabled
    return [impl for impl in
            reversed(getattr(get_plugin_manager().hook, hook_name).get_hookimpls())
            if impl.plugin_name not in skip]


def _call(impl, **kwargs):
    return impl.function(**{name: kwargs[name] for name in impl.argnames})


# --- registration hooks ----------------------------------------------------------------

def _call_register(registry: Registry, hook_name: str, skip) -> None:
    cls, attr, kind = REGISTRATIONS[hook_name]
    table = getattr(registry, attr)
    for impl in _implementations(hook_name, skip):
        plugin = impl.plugin_name
        open_ = [True]

        def register(value, plugin=plugin, open_=open_):
            if not open_[0]:
                raise PluginError(f"plugin {plugin!r}: register() of {hook_name} was "
                                  f"called after the hook returned", plugin)
            if not isinstance(value, cls):
                raise PluginError(f"plugin {plugin!r}: {hook_name} expects {cls.__name__}, "
                                  f"got {type(value).__name__}", plugin)
            if value.slug in table:
                other = registry.owners[(kind, value.slug)]
                raise PluginError(f"plugin {plugin!r}: {kind} {value.slug!r} is registered "
                                  f"by plugin {other!r} too (a slug belongs to one plugin)",
                                  _newer(plugin, other))
            table[value.slug] = value
            registry.owners[(kind, value.slug)] = plugin

        try:
            _call(impl, register=register)
        except PluginError as exc:
            if exc.plugin is None:
                exc.plugin = plugin
            raise
        except Exception as exc:  # an invalid value object, or a bug in the plugin
            raise PluginError(f"plugin {plugin!r} failed in {hook_name}: {exc}",
                              plugin) from exc
        finally:
            open_[0] = False


def _newer(*plugins: str) -> str:
    """Of plugins that claim one slug, the one registered last is at fault: a plugin
    installed later cannot take a programme away from one that was there before."""
    order = [name for name, _plugin in get_plugin_manager().list_name_plugin()]
    return max(plugins, key=order.index)


def _check_references(registry: Registry) -> None:
    def fail(kind, slug, problem):
        owner = registry.owners[(kind, slug)]
        raise PluginError(f"plugin {owner!r}: {kind} {slug!r} {problem}", owner)

    programs, task_types = registry.programs, registry.task_types
    for t in task_types.values():
        if t.program not in programs:
            fail("task type", t.slug, f"names unknown programme {t.program!r}")
    for m in registry.metrics.values():
        if m.program not in programs:
            fail("metric", m.slug, f"names unknown programme {m.program!r}")
        for slug in m.task_types:
            if slug not in task_types:
                fail("metric", m.slug, f"counts unknown task type {slug!r}")
            if task_types[slug].program != m.program:
                fail("metric", m.slug, f"counts task type {slug!r} of another programme "
                                       f"({task_types[slug].program!r})")
            if m.distinct_field and m.distinct_field not in task_types[slug].field_names:
                fail("metric", m.slug, f"counts distinct {m.distinct_field!r}, which task "
                                       f"type {slug!r} has no field for")
            # Progress counts distinct Task.subject, the copy of the subject field: any
            # other field could not be counted in SQL on every database.
            subject = task_types[slug].subject_field
            if m.distinct_field and m.distinct_field != subject:
                has = f"counts subjects by {subject!r}" if subject else "has no subject_field"
                fail("metric", m.slug, f"counts distinct {m.distinct_field!r}, but task type "
                                       f"{slug!r} {has}: distinct_field must be the "
                                       f"subject_field of each task type it counts")
    for s in registry.schedules.values():
        if s.program not in programs:
            fail("schedule", s.slug, f"names unknown programme {s.program!r}")
        if s.task_type not in task_types:
            fail("schedule", s.slug, f"creates unknown task type {s.task_type!r}")
        if task_types[s.task_type].program != s.program:
            fail("schedule", s.slug, f"creates task type {s.task_type!r} of another "
                                     f"programme ({task_types[s.task_type].program!r})")


def _build_registry(disabled: dict[str, str]) -> Registry:
    """The registry of every plugin but the disabled ones; a plugin's fault raises a
    ``PluginError`` naming it (``.plugin``)."""
    registry = Registry(disabled=dict(disabled))
    for hook_name in REGISTRATIONS:  # programmes first: the others refer to them
        _call_register(registry, hook_name, disabled)
    _check_references(registry)
    return registry


def get_registry() -> Registry:
    """Programmes, task types, metrics and schedules of the loaded plugins, checked.
    A plugin at fault is disabled and the registry built again without it, so one
    broken plugin never takes the other programmes down."""
    global _registry
    with _lock:
        if _registry is not None:
            return _registry
        disabled, failures = dict(_failed_setup), []
        while True:
            try:
                registry = _build_registry(disabled)
                break
            except PluginError as exc:
                if exc.plugin is None or exc.plugin in CORE_PLUGINS or exc.plugin in disabled:
                    raise  # the core itself is broken: nothing can run
                disabled[exc.plugin] = str(exc)
                failures.append(exc)
        _registry = registry
        for exc in failures:  # once the registry is set: reporting may use it
            _disable(exc.plugin, "registration", exc)
        return registry


def _disable(plugin: str, hook_name: str, exc: Exception) -> None:
    """Log, keep and report the failure that disables ``plugin``."""
    log.error("plugin %r is disabled: %s", plugin, exc)
    _record_error(plugin, hook_name, exc)
    _report_failure(plugin, hook_name, exc)


# --- setup and event hooks -------------------------------------------------------------

def call_setup_hook(hook_name: str, **kwargs) -> None:
    """Call ``register_blueprints(app=...)`` or ``register_commands(cli=...)`` on every
    plugin. A plugin that fails is disabled (what it set up before failing stays, e.g.
    a blueprint registered already) and the others are set up."""
    for impl in _implementations(hook_name):
        commands_before = dict(getattr(kwargs.get("cli"), "commands", {}))
        try:
            _call(impl, **kwargs)
            if hook_name == "register_commands":
                _claim_commands(impl.plugin_name, commands_before, kwargs["cli"].commands)
        except Exception as exc:
            if impl.plugin_name in CORE_PLUGINS:
                raise
            error = exc if isinstance(exc, PluginError) else PluginError(
                f"plugin {impl.plugin_name!r} failed in {hook_name}: "
                f"{type(exc).__name__}: {exc}", impl.plugin_name)
            with _lock:
                _failed_setup[impl.plugin_name] = str(error)
                reset_registry()  # built again without it
            _disable(impl.plugin_name, hook_name, error)


def _claim_commands(plugin: str, before: dict, after: dict) -> None:
    """A plugin may add commands, never replace one of the core's or another plugin's."""
    for name, command in after.items():
        if name in before and before[name] is not command \
                and _command_owners.get(name) != plugin:
            owner = _command_owners.get(name)
            after[name] = before[name]  # put the original back: the error may be caught
            raise PluginError(f"plugin {plugin!r} replaced the command {name!r} of "
                              f"{'plugin ' + repr(owner) if owner else 'jiedui'}")
        if name not in before:
            _command_owners[name] = plugin


def notify(hook_name: str, **kwargs) -> None:
    """Call an event hook on every plugin; a failing plugin is logged, not raised. Inside
    a ``transaction()`` the call waits for its commit (and is dropped on rollback)."""
    collect_until_commit("plugins.notify", (hook_name, kwargs), _dispatch_all)


def _dispatch_all(calls: list) -> None:
    for hook_name, kwargs in _coalesced(calls):
        _dispatch(hook_name, kwargs)


def _dispatch(hook_name: str, kwargs: dict) -> None:
    for impl in _implementations(hook_name):
        try:
            _call(impl, **kwargs)
        except Exception as exc:  # one plugin must not stop the others or the change
            log.exception("plugin %r failed in %s", impl.plugin_name, hook_name)
            _record_error(impl.plugin_name, hook_name, exc)
            if hook_name != "plugin_failed":  # reporting a failure must not loop
                _report_failure(impl.plugin_name, hook_name, exc)


def _record_error(plugin: str, hook_name: str, exc: Exception) -> None:
    error = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
    with _lock:
        plugin_errors.append({"plugin": plugin, "hook": hook_name, "error": error,
                              "at": now_utc().isoformat()})
        del plugin_errors[:-MAX_ERRORS]


def _report_failure(plugin: str, hook_name: str, exc: Exception) -> None:
    """The ``plugin_failed`` hook: the core's reactions make it a Problem for the
    administrators (core.problems). Event hooks run after the caller's commit, so the
    report is not rolled back with anything; it never raises."""
    notify("plugin_failed", plugin=plugin, hook=hook_name,
           error=" ".join(f"{type(exc).__name__}: {exc}".split()),
           detail="".join(traceback.format_exception(exc)))


# Hooks that carry a list of what changed: the calls held in one block with the same actor
# become one call (one transaction is one act: the demo's hundreds of assignments tell each
# lawyer once, as a bulk assignment does).
LIST_HOOKS = {"tasks_assigned": "tasks", "events_changed": "changes",
              "feeds_changed": "event_ids"}


def _coalesced(calls: list) -> list:
    merged, result = {}, []
    for hook_name, kwargs in calls:
        field = LIST_HOOKS.get(hook_name)
        if field is None:
            result.append((hook_name, kwargs))
            continue
        key = (hook_name, getattr(kwargs.get("actor"), "id", None))
        if key in merged:
            merged[key][field] = [*merged[key][field], *kwargs[field]]
        else:
            merged[key] = dict(kwargs)
            result.append((hook_name, merged[key]))
    return result


# --- description -----------------------------------------------------------------------

def _module_of(plugin) -> str:
    if hasattr(plugin, "__name__"):  # a module or a class
        return plugin.__name__
    kind = type(plugin)
    return f"{kind.__module__}.{kind.__qualname__}"


def describe() -> dict:
    """The loaded plugins and what each registered, for ``jiedui plugins``."""
    pm, registry = get_plugin_manager(), get_registry()

    def owner(kind, slug):
        return registry.owners[(kind, slug)]

    plugins = [{"name": name, "module": _module_of(plugin),
                "hooks": sorted(hook.name for hook in pm.get_hookcallers(plugin) or ())}
               for name, plugin in sorted(pm.list_name_plugin())]
    return {
        "plugins": plugins,
        "programs": [{"slug": p.slug, "name": p.name, "name_en": p.name_en, "target": p.target,
                      "order": p.order, "plugin": owner("programme", p.slug)}
                     for p in sorted(registry.programs.values(), key=lambda p: (p.order, p.slug))],
        "task_types": [{"slug": t.slug, "program": t.program, "name": t.name,
                        "fields": t.field_names, "subject_field": t.subject_field,
                        "sensitive_fields": list(t.sensitive_fields),
                        "public_fields": list(t.public_fields),
                        "plugin": owner("task type", t.slug)}
                       for t in registry.task_types.values()],
        "metrics": [{"slug": m.slug, "program": m.program, "name": m.name,
                     "task_types": list(m.task_types), "distinct_field": m.distinct_field,
                     "target": m.target, "plugin": owner("metric", m.slug)}
                    for m in registry.metrics.values()],
        "schedules": [{"slug": s.slug, "program": s.program, "name": s.name,
                       "task_type": s.task_type, "scope": s.scope, "cron": s.cron,
                       "plugin": owner("schedule", s.slug)}
                      for s in registry.schedules.values()],
        "disabled": [{"plugin": name, "error": error}
                     for name, error in sorted(registry.disabled.items())],
    }
