"""Translation for the parts of Jiedui that run outside a request (CLI, jobs).

The web uses Flask-Babel over the same catalogs; msgids are English, zh_CN is the
default language. ``N_`` marks a string for extraction without translating it.
"""
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).parent / "translations"


def N_(message: str) -> str:
    return message


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS_DIR), [locale])


def gettext_for(locale: str):
    return translations(locale).gettext


def ngettext_for(locale: str):
    return translations(locale).ngettext
