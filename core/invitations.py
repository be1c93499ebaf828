"""Logins by invitation: after the district is imported, one login for each lawyer, village
and town that has none, each with a one-time link that lets the person choose their own
password.

- ``invite_missing`` creates the users (a lawyer user linked to its lawyer, a village
  user, a coordinator scoped to the town) without a password, and an invitation each;
- an invitation is a random token of which only the SHA-256 is kept: its link is known
  only when it is issued (the printable sheet, the e-mail), works once, and expires after
  ``JIEDUI_INVITATION_DAYS`` (``core.config.LoginSettings.invitation_days``);
- ``reissue`` gives a user a new link and kills the old ones;
- ``accept`` checks the link, sets the password (the house's rules, ``core.users``) and
  kills the link.

Every issue and use is written to the audit log (never the token). Delivery: the sheet is
printed by the web; ``send_by_email`` sends the links where ``JIEDUI_SMTP_URL`` is set and
the person has an address (a lawyer's comes from the import's 律师邮箱). SMS: none is
configured in Jiedui; a sender would be one more entry of ``SENDERS`` (docs/setup.md).
"""
import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from core import audit, clock, notify, users
from core.config import get_settings
from core.db import transaction
from core.errors import ValidationError
from core.i18n import N_
from core.models import Lawyer, LoginInvitation, Town, User, Village

log = logging.getLogger(__name__)

NOT_VALID = N_("This invitation link is not valid: it was mistyped, or a newer invitation "
               "replaced it. Ask your administrator for a new one.")
USED = N_("This invitation link was used already. Log in with the password you chose, or ask "
          "your administrator for a new invitation.")
EXPIRED = N_("This invitation link expired on %(day)s. Ask your administrator for a new one.")
EMAIL_SUBJECT = N_("Your login to Jiedui")
EMAIL_TEXT = N_("%(name)s, a login to Jiedui was made for you (username: %(username)s). "
                "Open this link to choose your password; it works once, until %(day)s:\n\n"
                "%(link)s")


@dataclass(frozen=True)
class Issued:
    """An invitation just issued: the only moment its token is known."""
    user: User
    token: str
    expires_at: dt.datetime

    @property
    def expires_on(self) -> dt.date:
        return clock.to_local(self.expires_at).date()


def _hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def _open(user_id: int):
    """The user's invitations not used, not revoked and not expired."""
    return LoginInvitation.select().where(
        (LoginInvitation.user == user_id) & LoginInvitation.used_at.is_null()
        & LoginInvitation.revoked_at.is_null() & (LoginInvitation.expires_at > clock.now_utc()))


def _issue(actor: User | None, user: User) -> Issued:
    """A new invitation for ``user``; the earlier ones no longer work."""
    now = clock.now_utc()
    replaced = (LoginInvitation.update(revoked_at=now)
                .where((LoginInvitation.user == user.id) & LoginInvitation.used_at.is_null()
                       & LoginInvitation.revoked_at.is_null()).execute())
    token = secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(days=get_settings().logins.invitation_days)
    LoginInvitation.create(user=user, token_hash=_hash(token), created_by=actor,
                           created_at=now, expires_at=expires_at)
    audit.record(actor, "invitation.issue", obj=user,
                 detail={"username": user.username, "expires_at": expires_at.isoformat(),
                         "replaced": replaced})
    return Issued(user=user, token=token, expires_at=expires_at)


# --- who has no login yet --------------------------------------------------------------------

def _lawyers_without_login():
    linked = User.select(User.lawyer).where((User.role == "lawyer") & User.lawyer.is_null(False))
    return (Lawyer.select().where(Lawyer.active & Lawyer.id.not_in(linked))
            .order_by(Lawyer.name, Lawyer.id))


def _villages_without_login():
    linked = User.select(User.village).where((User.role == "village")
                                             & User.village.is_null(False))
    return Village.select().where(Village.id.not_in(linked)).order_by(Village.code)


def _towns_without_login():
    linked = User.select(User.town).where((User.role == "coordinator") & User.town.is_null(False)
                                          & User.village.is_null())
    return Town.select().where(Town.id.not_in(linked)).order_by(Town.code)


def without_login() -> dict[str, int]:
    """How many lawyers (active), villages and towns have no login of their own."""
    return {"lawyers": _lawyers_without_login().count(),
            "villages": _villages_without_login().count(),
            "towns": _towns_without_login().count()}


def _free_username(wanted: str) -> str:
    name, number = wanted, 1
    while User.select().where(User.username == name).exists():
        number += 1
        name = f"{wanted}-{number}"
    return name


@transaction()
def invite_missing(actor: User | None) -> list[Issued]:
    """A login and an invitation for every active lawyer, village and town without a login:
    lawyers log in with their licence number, villages and towns with their code."""
    users.require_admin(actor)
    issued = []
    for lawyer in _lawyers_without_login():
        user = users.create_invited_user(
            _free_username(lawyer.licence_no), "lawyer", display_name=lawyer.name,
            email=lawyer.email, lawyer=lawyer)
        issued.append(_issue(actor, user))
    for village in _villages_without_login():
        user = users.create_invited_user(_free_username(village.code), "village",
                                         display_name=village.name, village=village)
        issued.append(_issue(actor, user))
    for town in _towns_without_login():
        user = users.create_invited_user(_free_username(town.code), "coordinator",
                                         display_name=town.name, town=town)
        issued.append(_issue(actor, user))
    return issued


@transaction()
def reissue(actor: User | None, user: User) -> Issued:
    """A new link for ``user`` (lost, expired, or never printed); the old ones stop working.
    Only for a user who has not chosen a password yet."""
    users.require_admin(actor)
    user = User.get_by_id(user.id)  # as stored: the person may have just chosen a password
    if users.has_password(user):
        raise ValidationError(N_("%(username)s has chosen a password already; reset it on "
                                 "the user's page instead."), username=user.username)
    return _issue(actor, user)


def waiting() -> list[tuple[User, LoginInvitation | None]]:
    """The users who have not chosen a password yet, each with their latest invitation
    (None: never invited), by username."""
    found = (User.select().where(User.password_hash == users.NO_PASSWORD_YET)
             .order_by(User.role, User.username))
    latest = {}
    for invitation in (LoginInvitation.select()
                       .where(LoginInvitation.user.in_([u.id for u in found]))
                       .order_by(LoginInvitation.created_at)):
        latest[invitation.user_id] = invitation
    return [(user, latest.get(user.id)) for user in found]


def state(invitation: LoginInvitation | None) -> str:
    """"open", "used", "revoked", "expired", or "none"."""
    if invitation is None:
        return "none"
    if invitation.used_at:
        return "used"
    if invitation.revoked_at:
        return "revoked"
    if invitation.expires_at <= clock.now_utc():
        return "expired"
    return "open"


# --- using the link ---------------------------------------------------------------------------

def check(token: str) -> LoginInvitation:
    """The invitation of this link, if it still works; else a ValidationError saying why
    (mistyped or replaced, used, expired)."""
    invitation = LoginInvitation.get_or_none(LoginInvitation.token_hash == _hash(token))
    if invitation is None or invitation.revoked_at or not invitation.user.active:
        raise ValidationError(NOT_VALID)
    # used, or the user has a password by another way (an administrator set one): the link
    # must not replace it
    if invitation.used_at or users.has_password(invitation.user):
        raise ValidationError(USED)
    if invitation.expires_at <= clock.now_utc():
        raise ValidationError(EXPIRED, day=clock.to_local(invitation.expires_at).date()
                              .isoformat())
    return invitation


@transaction()
def accept(token: str, password: str) -> User:
    """The person behind the link chooses their password: checked by the house's rules
    (``ValidationError`` on ``password``, the link still works), then the link is dead."""
    invitation = check(token)
    user = invitation.user
    users.set_first_password(user, password)
    invitation.used_at = clock.now_utc()
    invitation.save(only=[LoginInvitation.used_at])
    audit.record(user, "invitation.accept", obj=user, detail={"username": user.username})
    return user


# --- sending ----------------------------------------------------------------------------------

def _send_email(item: Issued, link: str, gettext) -> bool:
    if not item.user.email:
        return False
    notify.send_mail(item.user.email, gettext(EMAIL_SUBJECT), gettext(EMAIL_TEXT) % {
        "name": item.user.display_name, "username": item.user.username,
        "day": item.expires_on.isoformat(), "link": link})
    return True


# channel -> send(issued, link, gettext) -> whether it went (False: no address). SMS would
# be one more entry here.
SENDERS = {"email": _send_email}


def channels() -> tuple[str, ...]:
    """The channels invitations can go by here (e-mail with JIEDUI_SMTP_URL)."""
    return tuple(c for c in SENDERS if c in get_settings().notify.channels)


def send(actor: User | None, issued: list[Issued], link, gettext) -> dict[str, int]:
    """Send each invitation by every configured channel where the person has an address;
    ``link(token)`` is its URL. Returns counts: sent, no address, failed (each audited)."""
    counts = {"sent": 0, "no_address": 0, "failed": 0}
    for item in issued:
        outcome = "no_address"
        for channel in channels():
            try:
                if SENDERS[channel](item, link(item.token), gettext):
                    outcome = "sent"
            except Exception as exc:  # noqa: BLE001 - a mail server's failure, counted
                log.warning("invitation for %s not sent by %s: %s", item.user.username,
                            channel, exc)
                outcome = "failed"
        counts[outcome] += 1
        if outcome != "no_address":
            audit.record(actor, "invitation.send", obj=item.user,
                         detail={"username": item.user.username, "outcome": outcome})
    return counts
