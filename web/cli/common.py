"""What the ``jiedui`` commands share: the settings and the database, the configured
language, the one way to fail with a translated message, terminal columns, and finding a
town, village or lawyer by what a person types."""
import unicodedata
from urllib.parse import urlsplit

import click

from core.app import setup
from core.config import get_settings
from core.errors import JieduiError, NotFound
from core.i18n import N_, gettext_for


def open_core(run_migrations=True):
    """Open the configured database (migrated to the current schema unless told not to)
    and return the settings."""
    settings = get_settings()
    setup(settings, run_migrations=run_migrations)
    return settings


def cli_gettext():
    """The configured language's gettext (``JIEDUI_LOCALE``, zh_CN by default)."""
    return gettext_for(get_settings().locale)


def fail(error: JieduiError):
    raise click.ClickException(error.translate(cli_gettext()))


def pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` columns of a terminal (a Chinese character
    takes two)."""
    return text + " " * max(0, width - columns(text))


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def find_town(code: str):
    from core.models import Town
    town = Town.get_or_none(Town.code == code)
    if town is None:
        fail(NotFound(N_("There is no town with the code %(code)s."), code=code))
    return town


def find_village(code: str):
    from core.models import Village
    village = Village.get_or_none(Village.code == code)
    if village is None:
        fail(NotFound(N_("There is no village with the code %(code)s."), code=code))
    return village


def find_lawyer(lawyer_id: int):
    from core.models import Lawyer
    lawyer = Lawyer.get_or_none(Lawyer.id == lawyer_id)
    if lawyer is None:
        fail(NotFound(N_("There is no lawyer with the id %(id)s."), id=lawyer_id))
    return lawyer


def find_firm(firm_id: int):
    from core.models import LawFirm
    firm = LawFirm.get_or_none(LawFirm.id == firm_id)
    if firm is None:
        fail(NotFound(N_("There is no law firm with the id %(id)s."), id=firm_id))
    return firm


def describe_database(url: str) -> str:
    """The SQLite file, or the server and database name (never the password)."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}"
