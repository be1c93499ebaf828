"""The web's translated strings: ``gettext``, ``ngettext`` and ``lazy_gettext`` as
Flask-Babel's, and the templates' ``_``, ``ngettext`` and ``{% trans %}``.

They say what Flask-Babel's say (its catalog, its locale for the request, ``%(name)s``
formatting, the untranslated string outside an app context) but find the request's
``Translations`` once, not once per string. Flask-Babel's own ``gettext`` goes through
``get_domain``, ``get_translations`` and ``get_locale`` for every string, each reaching
``flask.g`` through its proxy several times: 12-25 µs a string, in a page that says
400-1,000 of them. Here the request's translations are kept on Flask-Babel's per-request
namespace beside the locale and domain objects they were found for; ``force_locale`` and
``refresh()`` replace those objects, so the next string finds the translations again.

The plugins' strings are translated by their own catalogs (``core.localize``), not here.
"""
from babel.support import NullTranslations
from flask import g
from flask_babel import LazyString
from flask_babel import get_translations

_KEPT = "jiedui_translations"  # (locale, domain, translations) on g._flask_babel
_OUTSIDE = NullTranslations()  # no app context: Flask-Babel's answer too


def translations() -> NullTranslations:
    """The request's translations, as ``flask_babel.get_translations()`` finds them."""
    try:
        app_globals = g._get_current_object()
    except RuntimeError:
        return _OUTSIDE
    babel = getattr(app_globals, "_flask_babel", None)
    if babel is not None:
        kept = getattr(babel, _KEPT, None)
        if (kept is not None and kept[0] is getattr(babel, "babel_locale", None)
                and kept[1] is getattr(babel, "babel_domain", None)):
            return kept[2]
    found = get_translations()  # selects the locale and domain: both are set on babel now
    babel = app_globals._flask_babel
    setattr(babel, _KEPT, (babel.babel_locale, babel.babel_domain, found))
    return found


def gettext(string: str, **variables) -> str:
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    """Translated when used as a string, in the locale of the request it is used in."""
    return LazyString(gettext, string, **variables)


def install(app) -> None:
    """The templates' gettext callables (after ``babel.init_app``, which installs
    Flask-Babel's): Jinja formats their ``%(name)s`` itself (newstyle)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda string: translations().ugettext(string),
        ngettext=lambda singular, plural, num: translations().ungettext(singular, plural, num),
        pgettext=lambda context, string: translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, num: translations().unpgettext(
            context, singular, plural, num),
        newstyle=True)
