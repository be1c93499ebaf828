"""The plugin manager: loads entry points of group ``jiedui`` and builds the registry.

Loading is lazy (on first use) and idempotent. ``JIEDUI_LOAD_PLUGINS`` (a comma
list of entry-point names) limits which plugins load; set to empty, none load.
"""
import logging
import os
import threading
from importlib.metadata import entry_points

import pluggy

from core import hookspecs
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

_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_registry: Registry | None = None
# Failures of event hooks, newest last, for administrators to see (bounded).
plugin_errors: list[dict] = []


def _wanted(environ=None) -> set[str] | None:
    value = (os.environ if environ is None else environ).get("JIEDUI_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def get_plugin_manager() -> pluggy.PluginManager:
    global _pm
    with _lock:
        if _pm is None:
            pm = pluggy.PluginManager(GROUP)
            pm.add_hookspecs(hookspecs)
            wanted = _wanted()
            for ep in entry_points(group=GROUP):
                if (wanted is None or ep.name in wanted) and pm.get_plugin(ep.name) is None:
                    pm.register(ep.load(), name=ep.name)
            pm.check_pending()  # a misspelt hook name fails loudly here
            _pm = pm
        return _pm


def reset() -> None:
    """Forget the loaded plugins and registry (tests, and after registering a plugin)."""
    global _pm, _registry
    with _lock:
        _pm, _registry = None, None


def _call_register(registry: Registry, hook_name: str) -> None:
    cls, attr, kind = REGISTRATIONS[hook_name]
    table = getattr(registry, attr)
    for impl in getattr(get_plugin_manager().hook, hook_name).get_hookimpls():
        plugin = impl.plugin_name

        def register(value, plugin=plugin):
            if not isinstance(value, cls):
                raise PluginError(f"plugin {plugin!r}: {hook_name} expects {cls.__name__}, "
                                  f"got {type(value).__name__}")
            if value.slug in table:
                other = registry.owners[(kind, value.slug)]
                raise PluginError(f"plugin {plugin!r}: {kind} {value.slug!r} is already "
                                  f"registered by plugin {other!r}")
            table[value.slug] = value
            registry.owners[(kind, value.slug)] = plugin

        try:
            impl.function(register=register)
        except PluginError:
            raise
        except (ValueError, TypeError) as exc:
            raise PluginError(f"plugin {plugin!r}: {exc}") from exc


def _check_references(registry: Registry) -> None:
    def owner(kind, slug):
        return registry.owners[(kind, slug)]

    for t in registry.task_types.values():
        if t.program not in registry.programs:
            raise PluginError(f"plugin {owner('task type', t.slug)!r}: task type {t.slug!r} "
                              f"names unknown programme {t.program!r}")
    for m in registry.metrics.values():
        if m.program not in registry.programs:
            raise PluginError(f"plugin {owner('metric', m.slug)!r}: metric {m.slug!r} names "
                              f"unknown programme {m.program!r}")
        for slug in m.task_types:
            if slug not in registry.task_types:
                raise PluginError(f"plugin {owner('metric', m.slug)!r}: metric {m.slug!r} "
                                  f"counts unknown task type {slug!r}")
            if m.distinct_field and m.distinct_field not in registry.task_types[slug].field_names:
                raise PluginError(f"plugin {owner('metric', m.slug)!r}: metric {m.slug!r} "
                                  f"counts distinct {m.distinct_field!r}, which task type "
                                  f"{slug!r} has no field for")
    for s in registry.schedules.values():
        if s.task_type not in registry.task_types:
            raise PluginError(f"plugin {owner('schedule', s.slug)!r}: schedule {s.slug!r} "
                              f"creates unknown task type {s.task_type!r}")


def get_registry() -> Registry:
    """Programmes, task types, metrics and schedules of the loaded plugins, checked."""
    global _registry
    with _lock:
        if _registry is None:
            registry = Registry()
            for hook_name in REGISTRATIONS:  # programmes first: the others refer to them
                _call_register(registry, hook_name)
            _check_references(registry)
            _registry = registry
        return _registry


def notify(hook_name: str, **kwargs) -> None:
    """Call an event hook on every plugin; a failing plugin is logged, not raised."""
    for impl in getattr(get_plugin_manager().hook, hook_name).get_hookimpls():
        try:
            impl.function(**{name: kwargs[name] for name in impl.argnames})
        except Exception as exc:  # one plugin must not stop the others or the change
            log.exception("plugin %r failed in %s", impl.plugin_name, hook_name)
            plugin_errors.append({"plugin": impl.plugin_name, "hook": hook_name,
                                  "error": f"{type(exc).__name__}: {exc}"})
            del plugin_errors[:-100]


def describe() -> dict:
    """The loaded plugins and what each registered, for ``jiedui plugins``."""
    pm, registry = get_plugin_manager(), get_registry()
    plugins = []
    for name, plugin in sorted(pm.list_name_plugin()):
        hooks = sorted(impl.name for impl in pm.get_hookcallers(plugin) or ())
        plugins.append({"name": name, "module": getattr(plugin, "__name__", repr(plugin)),
                        "hooks": hooks})
    return {
        "plugins": plugins,
        "programs": [{"slug": p.slug, "name": p.name, "target": p.target,
                      "plugin": registry.owners[("programme", p.slug)]}
                     for p in sorted(registry.programs.values(), key=lambda p: (p.order, p.slug))],
        "task_types": [{"slug": t.slug, "program": t.program, "name": t.name,
                        "plugin": registry.owners[("task type", t.slug)]}
                       for t in registry.task_types.values()],
        "metrics": [{"slug": m.slug, "program": m.program, "name": m.name, "target": m.target}
                    for m in registry.metrics.values()],
        "schedules": [{"slug": s.slug, "program": s.program, "scope": s.scope, "cron": s.cron}
                      for s in registry.schedules.values()],
    }
