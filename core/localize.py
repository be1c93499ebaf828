"""What plugins register, in the reader's language: the one place where programme,
task-type, metric and schedule names, a programme's description and a task form's labels,
descriptions and choices are translated — for the web (the request's locale), the CLI and
the jobs (``JIEDUI_LOCALE``) alike.

A plugin writes these strings in Chinese, the default language, and its own catalog
translates them (``core.i18n``: ``<package>/translations/<locale>/LC_MESSAGES/messages.mo``
beside the plugin's package); the plugin that registered a value (``Registry.owners``)
translates it. In Chinese, or without a catalog, everything reads as registered. A
programme's ``name_en`` is its English name when the catalog does not translate the name.

``messages(plugin)`` lists every string a plugin shows this way — the names, the forms'
labels, descriptions and fixed choices, and the strings it marks itself (``N_("…")`` in its
code, ``plugin_text(program_slug, "…")`` in its templates) —
for its catalog: ``jiedui plugin-messages`` writes them as a .pot, and
``missing(plugin, locale)`` says which a catalog lacks (tests/test_i18n.py checks every
in-repo plugin for English).
"""
import dataclasses
import sys
import threading
from pathlib import Path
from types import ModuleType

from babel.support import Translations

from core.i18n import CATALOG_FOLDER, catalog_dir, plugin_translations
from core.plugins import get_plugin_manager, get_registry
from core.registry import Metric, Program, Registry, Schedule, TaskType

KINDS = {Program: "programme", TaskType: "task type", Metric: "metric", Schedule: "schedule"}
TABLES = {"programme": "programs", "task type": "task_types", "metric": "metrics",
          "schedule": "schedules"}
# What marks a plugin's own strings: N_("…") in its code, plugin_text(slug, "…") in its
# templates (the web's template global, translating by the programme's plugin).
MARKERS = {"python": {"N_": None}, "jinja2.ext:babel_extract": {"plugin_text": (2,)}}
SOURCES = {"*.py": "python", "*.html": "jinja2.ext:babel_extract"}

_lock = threading.Lock()
_cache: dict = {}  # (id of the registry, locale) -> (registry, localized registry)


# --- a plugin's catalog ------------------------------------------------------------------

def package_of(plugin) -> str | None:
    """The package whose ``translations`` folder holds a plugin's catalogs: the plugin's
    own module when it is a package, else the package of the module that defines it."""
    if isinstance(plugin, ModuleType):
        name = plugin.__name__
    else:
        name = getattr(plugin, "__module__", None) if isinstance(plugin, type) \
            else type(plugin).__module__
    module = sys.modules.get(name or "")
    if module is None:
        return None
    return module.__name__ if hasattr(module, "__path__") else (module.__package__ or None)


def plugin_package(plugin_name: str) -> str | None:
    """The package of the loaded plugin ``plugin_name``."""
    plugin = get_plugin_manager().get_plugin(plugin_name)
    return package_of(plugin) if plugin is not None else None


def plugin_gettext(plugin_name: str, locale: str):
    """``gettext`` of the plugin's own catalog in ``locale`` (what is not there stays as
    it is: Chinese)."""
    return plugin_translations(plugin_package(plugin_name), locale).gettext


def _english(locale: str) -> bool:
    return locale.split("_")[0].lower() == "en"


# --- what plugins registered, translated -------------------------------------------------

def localized(value, locale: str, registry: Registry | None = None):
    """``value`` (a Program, TaskType, Metric or Schedule of the registry) with its name —
    and a programme's description — in ``locale``; the value itself when nothing changes."""
    registry = registry or get_registry()
    kind = KINDS[type(value)]
    owner = registry.owners.get((kind, value.slug))
    if owner is None:
        return value
    gettext = plugin_gettext(owner, locale)
    changes = {"name": gettext(value.name)}
    if isinstance(value, Program):
        if changes["name"] == value.name and value.name_en and _english(locale):
            changes["name"] = value.name_en
        if value.description:
            changes["description"] = gettext(value.description)
    if all(getattr(value, key) == text for key, text in changes.items()):
        return value
    return dataclasses.replace(value, **changes)


def localized_registry(locale: str) -> Registry:
    """The registry with every name in ``locale`` (the same object when none changes),
    for showing, never for deciding: slugs, forms and owners are the registry's."""
    registry = get_registry()
    key = (id(registry), locale)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] is registry:
            return cached[1]
    tables = {attr: {slug: localized(value, locale, registry)
                     for slug, value in getattr(registry, attr).items()}
              for attr in TABLES.values()}
    changed = any(tables[attr][slug] is not value for attr in tables
                  for slug, value in getattr(registry, attr).items())
    result = dataclasses.replace(registry, **tables) if changed else registry
    with _lock:
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = (registry, result)
    return result


def program_text(program_slug: str, text: str, locale: str) -> str:
    """``text``, a string of the plugin that registered the programme ``program_slug``, in
    ``locale`` (its templates' ``plugin_text``)."""
    owner = get_registry().owners.get(("programme", program_slug))
    return plugin_gettext(owner, locale)(text) if owner else text


def name_of(kind: str, slug: str, locale: str) -> str:
    """The name of a registered programme, task type, metric or schedule in ``locale``
    (``kind`` as in ``Registry.owners``); the slug when nothing has it (its plugin is
    gone)."""
    value = getattr(localized_registry(locale), TABLES[kind]).get(slug)
    return value.name if value is not None else slug


def localize_form(form, task_type: TaskType, locale: str):
    """The task type's ``form`` (an instance) with its labels, descriptions and choices in
    ``locale``, translated by the catalog of the plugin that registered the task type.
    Error messages are left as the form gives them."""
    owner = get_registry().owners.get(("task type", task_type.slug))
    translations = plugin_translations(plugin_package(owner), locale) if owner else None
    if not isinstance(translations, Translations):
        return form  # no catalog for this locale: nothing to do
    gettext = translations.gettext
    for field in form:
        field.label.text = gettext(field.label.text)
        if isinstance(field.description, str) and field.description:
            field.description = gettext(field.description)
        if getattr(field, "choices", None) is not None:
            field.choices = [dataclasses.replace(choice, label=gettext(str(choice.label)))
                             for choice in select_choices(field.choices)]
    return form


def select_choices(choices) -> list:
    """A choice field's ``choices`` as ``SelectChoice``s, however they were given (a list
    of ``SelectChoice``s, ``(value, label)`` pairs or values; a dict of optgroups)."""
    from wtforms import SelectChoice
    if isinstance(choices, dict):
        result = []
        for key, value in choices.items():
            if isinstance(value, dict):
                result += [SelectChoice(v, label, optgroup=key) for v, label in value.items()]
            elif isinstance(value, list | tuple):
                result += [SelectChoice.from_input(item, key) for item in value]
            else:
                result.append(SelectChoice(key, value))
        return result
    return [SelectChoice.from_input(choice) for choice in choices]


# --- what a plugin shows, for its catalog ------------------------------------------------

def _field_texts(form_class) -> list[tuple[str, str]]:
    """(text, where) of a form class's fields: labels, descriptions and fixed choices'
    labels, in the form's order (read from the class: no database, no request)."""
    from wtforms.fields import SelectFieldBase
    from wtforms.fields.core import UnboundField
    texts = []
    fields = sorted(((getattr(form_class, name), name) for name in dir(form_class)
                     if isinstance(getattr(form_class, name, None), UnboundField)),
                    key=lambda item: item[0].creation_counter)
    for unbound, name in fields:
        label = unbound.args[0] if unbound.args else unbound.kwargs.get("label")
        if isinstance(label, str) and label:
            texts.append((label, f"{form_class.__name__}.{name}: label"))
        description = unbound.kwargs.get("description")
        if isinstance(description, str) and description:
            texts.append((description, f"{form_class.__name__}.{name}: description"))
        choices = unbound.kwargs.get("choices")
        if issubclass(unbound.field_class, SelectFieldBase) and choices is not None \
                and not callable(choices):  # a function's choices are data (villages …)
            for choice in select_choices(choices):
                if isinstance(choice.label, str) and choice.label:
                    texts.append((choice.label, f"{form_class.__name__}.{name}: choice "
                                                f"{choice.value}"))
    return texts


def _marked_texts(package: str | None) -> list[tuple[str, str]]:
    """(text, where) of the strings the plugin marks: ``N_`` in its code, ``plugin_text``
    in its templates."""
    from babel.messages.extract import extract_from_file
    folder = catalog_dir(package)
    if folder is None:
        return []
    texts = []
    for pattern, method in SOURCES.items():
        for path in sorted(folder.parent.rglob(pattern)):
            where = path.relative_to(folder.parent)
            if CATALOG_FOLDER in where.parts:
                continue
            for lineno, message, _comments, _context in extract_from_file(
                    method, str(path), keywords=MARKERS[method], comment_tags=()):
                if isinstance(message, str):
                    texts.append((message, f"{where}:{lineno}"))
    return texts


def messages(plugin_name: str) -> dict[str, list[str]]:
    """Every string the plugin ``plugin_name`` shows, in the order met -> where it comes
    from: what it registered (names, a programme's description, its task types' forms)
    and what it marks (``N_`` in its code, ``plugin_text`` in its templates)."""
    registry = get_registry()
    found: dict[str, list[str]] = {}

    def add(text: str, where: str):
        found.setdefault(text, []).append(where)

    for (kind, slug), owner in registry.owners.items():
        if owner != plugin_name:
            continue
        value = getattr(registry, TABLES[kind])[slug]
        add(value.name, f"{kind} {slug}: name")
        if isinstance(value, Program) and value.description:
            add(value.description, f"programme {slug}: description")
        if isinstance(value, TaskType):
            for text, where in _field_texts(value.form):
                add(text, f"task type {slug}: {where}")
    for text, where in _marked_texts(plugin_package(plugin_name)):
        add(text, where)
    return found


def translated(plugin_name: str, locale: str) -> dict[str, str]:
    """msgid -> translation of the plugin's catalog source (the .po) for ``locale``: the
    entries translated and not fuzzy."""
    from babel.messages.pofile import read_po
    folder = catalog_dir(plugin_package(plugin_name))
    path = folder / locale / "LC_MESSAGES" / "messages.po" if folder else None
    if path is None or not path.is_file():
        return {}
    with path.open("rb") as po:
        catalog = read_po(po)
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


def missing(plugin_name: str, locale: str) -> list[str]:
    """The strings the plugin shows that its catalog for ``locale`` does not translate."""
    have = translated(plugin_name, locale)
    return [text for text in messages(plugin_name) if text not in have]


def template(plugin_name: str):
    """The plugin's messages as a babel ``Catalog`` (a .pot: ``write_po`` it)."""
    from babel.messages.catalog import Catalog
    catalog = Catalog(project=plugin_name, fuzzy=False)
    for text, wheres in messages(plugin_name).items():
        catalog.add(text, auto_comments=wheres)
    return catalog


def catalog_folder(plugin_name: str) -> Path | None:
    """Where the plugin's catalogs belong (``<package>/translations``)."""
    return catalog_dir(plugin_package(plugin_name))
