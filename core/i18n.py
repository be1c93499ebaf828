"""Translation for the parts of Jiedui that run outside a request (CLI, jobs), and the
catalogs of plugins.

The core's msgids are English, zh_CN is the default language; the web uses Flask-Babel
over the same catalog. ``N_`` marks a string for extraction without translating it.

A plugin's msgids are Chinese, the language its names, labels and choices are written in,
and its own catalog translates them: ``<package>/translations/<locale>/LC_MESSAGES/
messages.mo`` beside the plugin's package (``gettext_for(locale, package)``; docs/plugins.md,
"Translations"). Without a catalog for a locale a plugin's strings stay Chinese.
"""
import importlib.util
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
CATALOG_FOLDER = "translations"  # in a plugin's package


def N_(message: str) -> str:
    return message


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS_DIR), [locale])


def catalog_dir(package: str | None) -> Path | None:
    """The folder of the catalogs of a plugin's ``package`` (a package's dotted name), or
    None when it is no package one can find."""
    if not package:
        return None
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) / CATALOG_FOLDER if locations else None


@lru_cache(maxsize=64)
def _plugin_translations(folder: str, locale: str) -> NullTranslations:
    return Translations.load(folder, [locale])


def plugin_translations(package: str | None, locale: str) -> NullTranslations:
    """The catalog of ``package`` for ``locale`` (NullTranslations when it has none)."""
    folder = catalog_dir(package)
    if folder is None or not folder.is_dir():
        return NullTranslations()
    return _plugin_translations(str(folder), locale)


def gettext_for(locale: str, package: str | None = None):
    """``gettext`` of the core's catalog in ``locale``; with ``package`` (a plugin's
    ``__package__``), of that plugin's own catalog instead."""
    if package is not None:
        return plugin_translations(package, locale).gettext
    return translations(locale).gettext


def ngettext_for(locale: str):
    return translations(locale).ngettext
