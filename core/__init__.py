"""Jiedui's domain: models, services, plugins and jobs. Imports nothing from web or plugins.

This package is also **the API for plugins** (docs/plugins.md, "What a plugin may import"):
a plugin imports the names below from ``core`` itself, and the modules ``core.formkit``
(form pieces) and ``core.testing`` (test helpers) — nothing else of the core, so the
core's own modules can move without breaking a plugin. ``tests/test_plugin_api.py`` fails
when an in-repo plugin imports anything else.

The names are looked up on first use (importing ``core`` imports nothing more), so
``from core import hookimpl`` stays as light as it always was.
"""
from importlib import import_module

from core.hookspecs import hookimpl

# Public name -> the core module that defines it. Keep this short and stable: adding a
# name is a promise to plugin authors; moving its home only changes this table.
PUBLIC = {
    # what a plugin registers (docs/plugins.md, "Value objects")
    "Program": "core.registry", "TaskType": "core.registry", "Metric": "core.registry",
    "Schedule": "core.registry",
    # a task that passes through stages, one task type each
    "Workflow": "core.workflow", "Stage": "core.workflow",
    # what is registered, and the task services a plugin calls
    "get_registry": "core.plugins", "assign_task": "core.tasks", "list_tasks": "core.tasks",
    "build_form": "core.tasks", "choice_labels": "core.tasks",
    # the done tasks a metric counts (what its progress says), for a plugin's registers
    "counted_tasks": "core.progress",
    # the records a plugin reads (hooks hand over these models too)
    "Task": "core.models", "User": "core.models", "WorkLog": "core.models",
    "District": "core.models",
    # the district's time
    "today": "core.clock", "to_local": "core.clock",
    # a plugin's own pages and exports, under the core's access and privacy rules
    "allow": "core.access", "public": "core.access", "ROLES": "core.vocabulary",
    "MANAGERS": "core.vocabulary", "STAFF": "core.vocabulary", "READERS": "core.vocabulary",
    "task_view": "core.privacy",
    "audit_views": "core.privacy", "month_of": "core.privacy", "MASK": "core.privacy",
    "audit_export": "core.ledger", "xlsx": "core.spreadsheet",
    "download_headers": "core.spreadsheet",
    # language: the core's words, and a plugin's own catalog
    "N_": "core.i18n", "gettext_for": "core.i18n",
    # a plugin's command opens the database as the core's commands do
    "connect": "core.app",
}

__all__ = ["hookimpl", *PUBLIC]


def __getattr__(name: str):
    module = PUBLIC.get(name)
    if module is None:  # also how ``from core import tasks`` finds the submodule
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__():
    return sorted({*globals(), *PUBLIC})

