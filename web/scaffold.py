"""``jiedui new-program SLUG``: write a programme plugin package that loads and passes
its own test without edits.

The package's files are templates in ``web/scaffold/`` (``string.Template``:
``${slug}`` and friends; a literal ``$`` is written ``$$``); its English catalog is
``messages.po.tmpl`` with the programme's name added, compiled at once. This module only
checks the slug and the folder and fills the templates in; it holds no rule of the
domain.
"""
import importlib.util
import json
import keyword
import secrets
import shutil
from importlib.resources import files
from pathlib import Path
from string import Template

from core.registry import SLUG

# The slugs the plugin derives from its own must fit the registry's 48 characters.
TASK_TYPE_SUFFIX = "_record"
METRIC_SUFFIX = "_done"
MAX_SLUG = 48 - max(len(TASK_TYPE_SUFFIX), len(METRIC_SUFFIX))
MAX_NAME = 100

# file written (relative to the package folder) -> template in web/scaffold/
FILES = {
    "pyproject.toml": "pyproject.toml.tmpl",
    "README.md": "README.md.tmpl",
    "Makefile": "Makefile.tmpl",
    "{slug}/__init__.py": "plugin.py.tmpl",
    "tests/test_{slug}.py": "test_plugin.py.tmpl",
}
# The plugin's English catalog: the template's strings, and the programme's name.
CATALOG = "{slug}/translations/en/LC_MESSAGES/messages"


class ScaffoldError(Exception):
    """The slug, the name or the folder cannot be used; nothing was written."""


def distribution_name(slug: str) -> str:
    """The package's name on an index: ``jiedui-<slug>`` in its normal form (dashes)."""
    return "jiedui-" + slug.replace("_", "-")


def check_slug(slug: str, taken=()) -> None:
    """A slug is the programme's identity and the plugin's module name: a registry slug,
    short enough for the slugs derived from it, and a module name nothing else uses."""
    if not SLUG.match(slug or ""):
        raise ScaffoldError(f"{slug!r} is not a valid slug: use lower-case letters, digits "
                            f"and '_', starting with a letter")
    if len(slug) > MAX_SLUG:
        raise ScaffoldError(f"{slug!r} is too long: at most {MAX_SLUG} characters, so that "
                            f"'{slug}{TASK_TYPE_SUFFIX}' fits in 48")
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug):
        raise ScaffoldError(f"{slug!r} is a Python keyword and cannot name a module")
    if slug in taken:
        raise ScaffoldError(f"a programme {slug!r} is registered already: choose another slug")
    # A module of that name (the standard library's, Jiedui's, a dependency's) would be
    # shadowed by the plugin, or shadow it.
    if importlib.util.find_spec(slug) is not None:
        raise ScaffoldError(f"a Python module named {slug!r} exists already: choose another "
                            f"slug")


def check_name(name: str) -> None:
    if not name.strip() or len(name) > MAX_NAME or not name.isprintable():
        raise ScaffoldError(f"the name must be one line of 1 to {MAX_NAME} printable "
                            f"characters, not {name!r}")


def default_name(slug: str) -> str:
    return slug.replace("_", " ").capitalize()


def new_program(slug: str, folder: Path | str | None = None, *, name: str | None = None,
                taken=()) -> Path:
    """Write the plugin package for programme ``slug`` into ``folder`` (default:
    ``./jiedui-<slug>``), which must not exist. ``taken``: programme slugs already
    registered. Returns the folder. Raises ``ScaffoldError`` and writes nothing when the
    slug, the name or the folder cannot be used."""
    check_slug(slug, taken)
    name = default_name(slug) if name is None else name
    check_name(name)
    folder = Path(folder) if folder is not None else Path(distribution_name(slug))
    if folder.exists():
        raise ScaffoldError(f"{folder} exists already: nothing was written (give another "
                            f"--dir, or remove it)")
    if not folder.parent.is_dir():
        raise ScaffoldError(f"{folder.parent} is not a folder")
    _write_all(folder, _values(slug, name))
    return folder


def _values(slug: str, name: str) -> dict:
    literal = json.dumps(name, ensure_ascii=False)  # a valid Python and TOML string
    return {
        "slug": slug, "name": name, "name_literal": literal, "name_en": default_name(slug),
        "description_literal": json.dumps(f"Jiedui programme plugin: {name}",
                                          ensure_ascii=False),
        "distribution": distribution_name(slug),
        "task_type": slug + TASK_TYPE_SUFFIX, "metric": slug + METRIC_SUFFIX,
    }


def _write_all(folder: Path, values: dict) -> None:
    """Write into a scratch folder beside ``folder``, then rename it: a failure half way
    leaves no half-made package behind."""
    scratch = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}.partial")
    scratch.mkdir()  # unlike mkdtemp's 0700, honours the umask as the files do
    try:
        for target, template in FILES.items():
            path = scratch / target.format(slug=values["slug"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_render(template, values), encoding="utf-8")
        _write_catalog(scratch / CATALOG.format(slug=values["slug"]), values)
        scratch.rename(folder)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _write_catalog(path: Path, values: dict) -> None:
    """The English catalog (.po, and the .mo Jiedui reads, compiled already): the
    template's strings, and the programme's name — which is also the task type's —
    in English as the slug says it (the README asks to check it)."""
    from io import StringIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po, write_po
    catalog = read_po(StringIO(_render("messages.po.tmpl", values)), locale="en")
    if values["name"] not in catalog:
        catalog.add(values["name"], values["name_en"])
    path.parent.mkdir(parents=True)
    with path.with_suffix(".po").open("wb") as po:
        write_po(po, catalog, omit_header=False)
    with path.with_suffix(".mo").open("wb") as mo:
        write_mo(mo, catalog)


def _render(template: str, values: dict) -> str:
    text = files("web").joinpath("scaffold", template).read_text(encoding="utf-8")
    return Template(text).substitute(values)  # an unknown ${key} is an error, not a blank
