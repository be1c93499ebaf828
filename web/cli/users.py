"""Logins: ``jiedui user add|password|unlock|disable|enable``."""
import click

from core.errors import JieduiError, NotFound
from core.i18n import N_, gettext_for
from core.vocabulary import ROLES
from web.cli.common import fail, find_firm, find_lawyer, find_town, find_village, open_core


@click.group()
def user():
    """Manage logins."""


@user.command(name="add")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--town", "town_code", help="Town code: limits a coordinator or a leader to "
              "one town.")
@click.option("--village", "village_code", help="Village code: for a village user.")
@click.option("--lawyer", "lawyer_id", type=int, help="Lawyer id: for a lawyer user.")
@click.option("--firm", "firm_id", type=int,
              help="Law firm id: a leader who heads the firm (reads its lawyers' work).")
@click.option("--name", "display_name", default="")
def user_add(username, password, role, town_code, village_code, lawyer_id, firm_id,
             display_name):
    """Create a user with a role and a scope."""
    from core.users import add_user
    settings = open_core()
    town = find_town(town_code) if town_code else None
    village = find_village(village_code) if village_code else None
    lawyer = find_lawyer(lawyer_id) if lawyer_id else None
    firm = find_firm(firm_id) if firm_id else None
    try:
        created = add_user(None, username, password, role, display_name=display_name,
                           town=town, village=village, lawyer=lawyer, firm=firm)
    except JieduiError as error:
        fail(error)
    click.echo(_created_text(created, gettext_for(settings.locale)))


def _created_text(user, gettext) -> str:
    """What was created: the login, its role, and whom or what it is for."""
    from web import role_label  # outside a request, the label's msgid
    values = {"username": user.username, "role": gettext(role_label(user.role))}
    if user.lawyer_id:
        message = gettext("Created the login %(username)s (%(role)s), linked to the lawyer "
                          "%(lawyer)s (id %(id)s).")
        values.update(lawyer=user.lawyer.name, id=user.lawyer_id)
    elif user.village_id:
        message = gettext("Created the login %(username)s (%(role)s) for the village "
                          "%(name)s (%(code)s).")
        values.update(name=user.village.name, code=user.village.code)
    elif user.firm_id:
        message = gettext("Created the login %(username)s (%(role)s) for the law firm "
                          "%(name)s.")
        values.update(name=user.firm.name)
    elif user.town_id:
        message = gettext("Created the login %(username)s (%(role)s) for the town %(name)s "
                          "(%(code)s).")
        values.update(name=user.town.name, code=user.town.code)
    else:
        message = gettext("Created the login %(username)s (%(role)s) for the whole district.")
    return message % values


def _existing_user(username: str):
    from core.models import User
    found = User.get_or_none(User.username == username.strip())
    if found is None:
        fail(NotFound(N_("There is no login with the username %(username)s."),
                      username=username))
    return found


def _ask_new_password(gettext) -> str:
    """Asked twice, hidden, until the two agree (the rules are the service's)."""
    while True:
        password = click.prompt(gettext("New password"), hide_input=True)
        if click.prompt(gettext("Repeat the password"), hide_input=True) == password:
            return password
        click.echo(gettext("The two passwords differ."), err=True)


@user.command(name="password")
@click.argument("username")
@click.option("--password", help="Prompted for (hidden, twice) when not given.")
def user_password(username, password):
    """Set a new password for USERNAME (e.g. an administrator locked out of the UI); the
    user is logged out everywhere, and their failed logins no longer delay a login."""
    from core.users import reset_password
    gettext = gettext_for(open_core().locale)
    found = _existing_user(username)
    if password is None:
        password = _ask_new_password(gettext)
    try:
        reset_password(None, found, password)
    except JieduiError as error:
        fail(error)
    click.echo(gettext("The password of %(username)s was changed; they are logged out "
                       "everywhere.") % {"username": found.username})


@user.command(name="unlock")
@click.argument("username")
def user_unlock(username):
    """Let USERNAME log in at once: their failed logins no longer count."""
    from core.users import unlock_user
    gettext = gettext_for(open_core().locale)
    found = _existing_user(username)
    unlock_user(None, found)
    click.echo(gettext("%(username)s can log in again at once: their failed logins no "
                       "longer count.") % {"username": found.username})


@user.command(name="disable")
@click.argument("username")
def user_disable(username):
    """Refuse USERNAME's logins and end their sessions and calendar feeds at once."""
    from core.users import disable_user
    gettext = gettext_for(open_core().locale)
    found = _existing_user(username)
    try:
        disable_user(None, found)
    except JieduiError as error:
        fail(error)
    click.echo(gettext("%(username)s is disabled and logged out everywhere.")
               % {"username": found.username})


@user.command(name="enable")
@click.argument("username")
def user_enable(username):
    """Let USERNAME log in again."""
    from core.users import enable_user
    gettext = gettext_for(open_core().locale)
    found = _existing_user(username)
    enable_user(None, found)
    click.echo(gettext("%(username)s can log in again.") % {"username": found.username})


COMMANDS = (user,)
