"""Notifications: the in-app inbox, and copies by e-mail and group-robot webhook.

``notify_users`` writes one inbox row per user and, for the outside channels, ``Delivery``
rows (the outbox). Deliveries are sent by a huey job (``send_deliveries``), never in the
caller: a mail server or robot that is down only delays the copy, it is retried with
exponential backoff (every minute a periodic job looks for what is due) until it goes or
has failed ``JIEDUI_NOTIFY_MAX_ATTEMPTS`` times.

Two kinds of outside copy:

- **shared** (``outside=True``, the bureau's notices: major matters, the coordinators' pace
  digest, low ratings, bursts of anonymous ratings): one copy per configured channel for
  the whole call, to the shared mailboxes of ``JIEDUI_MAIL_TO`` and to one group robot,
  naming the recipients;
- **personal**: an e-mail to a user's own address (``User.email``) for each kind of notice
  they chose (``NotificationPreference``, the account page), whatever ``outside`` says;
  only with ``JIEDUI_SMTP_URL`` configured. Notices meant for one person (tasks, calendar
  changes, replacements, ratings and pace for lawyers) pass ``outside=False``: a robot
  posts to a whole group, and the office's mailbox is not theirs.

``NOTICE_KINDS`` names every kind of notice once, with its label and who may receive it.
"""
import datetime as dt
import json
import logging
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from peewee import IntegrityError

from core import clock
from core.audit import record
from core.config import NotifySettings, get_settings
from core.db import db, transaction
from core.errors import PermissionDenied, ValidationError
from core.i18n import N_, gettext_for
from core.models import Delivery, Notification, NotificationPreference, User, Village
from core.plugins import notify
from core.problems import report
from core.text import clean_email

log = logging.getLogger(__name__)
BATCH = 100  # deliveries per job run; the next run takes the rest

# Every kind of notice, its label (the inbox and the account's preferences show it) and the
# roles that receive it (the preferences offer a user the kinds of their role).
NOTICE_KINDS = {
    "tasks_assigned": N_("New tasks"),
    "events_changed": N_("Changes to my calendar"),
    "pairing_changed": N_("Pairings begun or ended"),
    "lawyer_replaced": N_("A village's lawyer replaced"),
    "matter.reported": N_("Major matters reported"),
    "matter.escalated": N_("Major matters not acknowledged in time"),
    "matter.acknowledged": N_("My major-matter reports acknowledged"),
    "matter.closed": N_("My major-matter reports closed"),
    "pace": N_("Behind the pace of on-site work (weekly)"),
    "low_rating": N_("Low ratings from residents"),
    "rating_burst": N_("Bursts of anonymous ratings"),
    "problem": N_("Problems in the background"),
    "invitation": N_("Invitations from my villages"),
    "invitation.answered": N_("The lawyer's answers to our invitations"),
    "demand": N_("Residents' demands passed on to me"),
    "demand.answered": N_("The lawyer's answers to residents' demands"),
    "session.disputed": N_("Sessions a village disputes"),
    "inspection": N_("Inspections of my villages"),
    "report": N_("Periodic reports (monthly, quarterly, yearly)"),
}
NOTICE_ROLES = {
    "tasks_assigned": ("lawyer",),
    "events_changed": ("lawyer", "village"),
    "pairing_changed": ("lawyer", "village"),
    "lawyer_replaced": ("lawyer", "village", "coordinator"),
    "matter.reported": ("coordinator",),
    "matter.escalated": ("coordinator", "leader"),
    "matter.acknowledged": ("lawyer",),
    "matter.closed": ("lawyer",),
    "pace": ("coordinator", "lawyer"),
    "low_rating": ("coordinator", "lawyer"),
    "rating_burst": ("coordinator",),
    "problem": ("admin",),
    "invitation": ("lawyer",),
    "invitation.answered": ("village",),
    "demand": ("lawyer",),
    "demand.answered": ("village",),
    "session.disputed": ("lawyer",),
    "inspection": ("lawyer",),
    "report": ("coordinator", "leader"),
}
EMAIL_FOOTER = N_("You get this e-mail because you asked for e-mail copies of “%(kind)s”: "
                  "%(link)s")
EMAIL_NEEDS_ADDRESS = N_("Enter your e-mail address to get e-mail copies.")
ACCOUNT_LINK = "/account"  # where a user chooses (web/users.py)


# --- who --------------------------------------------------------------------------------

def coordinators_for(village: Village | None) -> list[User]:
    """Active coordinators whose scope includes ``village``: those of the village or its
    town first, then the district's. No village: the district's."""
    district = (User.town.is_null() & User.village.is_null())
    if village is None:
        local = []
    else:
        local = list(User.select().where(
            (User.role == "coordinator") & User.active
            & ((User.village == village.id) | (User.town == village.town_id)))
            .order_by(User.id))
    district_ones = list(User.select().where((User.role == "coordinator") & User.active
                                             & district).order_by(User.id))
    return local + district_ones


def district_coordinators() -> list[User]:
    return coordinators_for(None)


def local_coordinators(village: Village) -> list[User]:
    """The active coordinators of the village itself or its town (not the district's)."""
    return [user for user in coordinators_for(village) if user.town_id or user.village_id]


def leaders_for(village: Village | None) -> list[User]:
    """The active members of the leadership group whose scope includes ``village``: the
    heads of its town's office first, then the district's leaders. No village: the
    district's. Firm heads are not in it (they follow their lawyers' work, not a place)."""
    district = (User.town.is_null() & User.firm.is_null())
    scope = district if village is None else (district | (User.town == village.town_id))
    leaders = (User.select().where((User.role == "leader") & User.active & scope)
               .order_by(User.town.is_null(), User.id))
    return list(leaders)


def lawyer_users(lawyer_ids) -> dict[int, list[User]]:
    """lawyer id -> the active users who are that lawyer (one query for them all)."""
    ids = {i for i in lawyer_ids if i}
    found: dict[int, list[User]] = {i: [] for i in ids}
    if ids:
        for user in User.select().where((User.role == "lawyer") & User.active
                                        & User.lawyer.in_(list(ids))).order_by(User.id):
            found[user.lawyer_id].append(user)
    return found


def village_users(village_ids) -> dict[int, list[User]]:
    """village id -> the active users of role "village" of that village (one query)."""
    ids = {i for i in village_ids if i}
    found: dict[int, list[User]] = {i: [] for i in ids}
    if ids:
        for user in User.select().where((User.role == "village") & User.active
                                        & User.village.in_(list(ids))).order_by(User.id):
            found[user.village_id].append(user)
    return found


# --- the inbox --------------------------------------------------------------------------

def notify_users(users, *, kind: str, title: str, body: str = "", link: str = "",
                 dedupe_key: str | None = None, outside: bool = True) -> list[Notification]:
    """Notify each user (once: duplicates in ``users`` are dropped). With ``dedupe_key``,
    a user already notified under that key is skipped, so a job run twice notifies once.
    Returns the notifications created now. The title is kept on one line.

    Outside copies are queued: with ``outside`` the shared ones (one per configured
    channel for the whole call; ``core.problems`` passes False: a failing channel must
    not be told about itself through itself, nor a shared group about technical faults),
    and always the personal e-mails of the users who asked for this ``kind`` by e-mail and
    gave an address (an administrator who asked for problems by e-mail gets them; when
    the mail server is the problem, that copy fails with it and is a repeat of the same
    open problem, so nothing loops)."""
    created = []
    seen = set()
    now = clock.now_utc()  # one moment for the call: the outside copy finds its recipients by it
    title = one_line(title)[:255]
    # transaction(): on SQLite it takes the write lock first; a deferred one that read the
    # dedupe keys fails at once ("database is locked") when a second consumer running the
    # same job wrote meanwhile, instead of waiting its turn
    with transaction():
        for user in users:
            if user is None or user.id in seen:
                continue
            seen.add(user.id)
            notification = _create(user, kind=kind, title=title, body=body, link=link,
                                   created_at=now,
                                   dedupe_key=f"{dedupe_key}:u{user.id}" if dedupe_key else None)
            if notification is not None:
                created.append(notification)
        queued = False
        if created:
            channels = _channels()
            for channel in channels if outside else ():
                Delivery.create(notification=created[0], channel=channel)
                queued = True
            if "email" in channels:
                queued = _personal_copies(created, kind) or queued
    if queued:  # once committed (core.reactions wakes the sending job)
        notify("deliveries_queued")
    return created


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces made one space: a title is one
    line (a line break would end an e-mail's Subject header)."""
    return " ".join((text or "").split())


def _personal_copies(created: list[Notification], kind: str) -> bool:
    """A personal e-mail ``Delivery`` for each notification whose active user chose
    ``kind`` by e-mail and has an address. Returns whether there was one."""
    by_user = {n.user_id: n for n in created}
    chosen = (User.select(User.id, User.email).join(
        NotificationPreference, on=(NotificationPreference.user == User.id))
        .where(User.id.in_(list(by_user)) & User.active & (User.email != "")
               & (NotificationPreference.kind == kind) & NotificationPreference.email))
    rows = [dict(notification=by_user[user.id].id, channel="email", address=user.email)
            for user in chosen]
    if rows:
        Delivery.insert_many(rows).execute()
    return bool(rows)


def _create(user: User, **fields) -> Notification | None:
    """The new notification, or None when its dedupe key was used already (checked,
    then guarded by the unique index against a concurrent run)."""
    key = fields["dedupe_key"]
    if key and Notification.select().where(Notification.dedupe_key == key).exists():
        return None
    try:
        with db.atomic():
            return Notification.create(user=user, **fields)
    except IntegrityError:
        return None


def _channels() -> tuple[str, ...]:
    """The configured outside channels ("email" with JIEDUI_SMTP_URL, "webhook"); none
    when their settings are wrong (the inbox still works, the error is logged)."""
    settings = get_settings().notify
    if settings.error:
        log.error("notification channels are misconfigured; only the inbox is used: %s",
                  settings.error)
    return settings.channels


def unread_count(user: User) -> int:
    return (Notification.select()
            .where((Notification.user == user.id) & Notification.read_at.is_null()).count())


def inbox(user: User):
    """The user's notifications, unread first, newest first."""
    return (Notification.select().where(Notification.user == user.id)
            .order_by(Notification.read_at.is_null(False), Notification.created_at.desc(),
                      Notification.id.desc()))


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications read (or all of them, with no id); another
    user's notification is left alone. Returns how many changed."""
    query = Notification.update(read_at=clock.now_utc()).where(
        (Notification.user == user.id) & Notification.read_at.is_null())
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return query.execute()


# --- preferences: which kinds also by e-mail ----------------------------------------------

def kinds_for(user: User) -> list[str]:
    """The kinds of notice ``user``'s role receives, in NOTICE_KINDS order."""
    return [kind for kind in NOTICE_KINDS if user.role in NOTICE_ROLES[kind]]


def email_kinds(user: User) -> set[str]:
    """The kinds ``user`` asked to get by e-mail too."""
    return {p.kind for p in NotificationPreference.select(NotificationPreference.kind).where(
        (NotificationPreference.user == user.id) & NotificationPreference.email)}


def personal_email_available() -> bool:
    """Are personal e-mail copies sent (JIEDUI_SMTP_URL configured and valid)?"""
    return "email" in _channels()


def save_notice_settings(actor: User | None, user: User, *, email: str,
                         by_email) -> User:
    """The user's own e-mail address (checked, trimmed; empty: none) and the kinds of notice
    they also want by e-mail (those of their role; the inbox gets every notice anyway).
    A user sets their own (``actor`` None: the operator). Audited; nothing is written when
    the address is refused, or when e-mail is chosen without an address."""
    if actor is not None and actor.id != user.id:
        raise PermissionDenied(N_("You may change only your own notice settings."))
    address = clean_email(email, "email")
    offered = kinds_for(user)
    chosen = [kind for kind in offered if kind in set(by_email or ())]
    if chosen and not address:
        raise ValidationError(EMAIL_NEEDS_ADDRESS, field="email")
    before = {"email": user.email, "by_email": sorted(email_kinds(user))}
    after = {"email": address, "by_email": sorted(chosen)}
    if before == after:
        return user
    with transaction():
        user.email = address
        user.save(only=[User.email])
        NotificationPreference.delete().where(NotificationPreference.user == user.id).execute()
        if offered:
            NotificationPreference.insert_many(
                [dict(user=user.id, kind=kind, email=kind in chosen) for kind in offered]
            ).execute()
        record(actor, "user.notice_settings", obj=user, detail={"before": before,
                                                                "after": after})
    return user


# --- the outbox -------------------------------------------------------------------------

def backoff(settings: NotifySettings, attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failure: 1, 2, 4, 8 … × retry_seconds, at most a day."""
    return min(dt.timedelta(seconds=settings.retry_seconds * 2 ** (attempts - 1)),
               dt.timedelta(days=1))


def send_deliveries(now: dt.datetime | None = None) -> dict:
    """Send the pending deliveries whose time has come; returns counts by outcome.
    Never raises for a channel's failure: it is recorded on the delivery."""
    now = now or clock.now_utc()
    settings = get_settings().notify
    if settings.error:
        log.error("notifications not sent: %s", settings.error)
        return {"sent": 0, "retry": 0, "failed": 0}
    counts = {"sent": 0, "retry": 0, "failed": 0}
    due = list(Delivery.select(Delivery.id)
               .where((Delivery.status == "pending") & (Delivery.next_attempt_at <= now))
               .order_by(Delivery.next_attempt_at, Delivery.id).limit(BATCH))
    for row in due:
        if _claim(row.id, now, settings):
            counts[_attempt(Delivery.get_by_id(row.id), now, settings)] += 1
    return counts


def _claim(delivery_id: int, now: dt.datetime, settings: NotifySettings) -> bool:
    """Lease the delivery (push its time past the send's timeout), so a second consumer
    running at the same time does not send it too."""
    lease = now + dt.timedelta(seconds=settings.timeout_seconds * 3 + 60)
    return Delivery.update(next_attempt_at=lease).where(
        (Delivery.id == delivery_id) & (Delivery.status == "pending")
        & (Delivery.next_attempt_at <= now)).execute() == 1


def _attempt(delivery: Delivery, now: dt.datetime, settings: NotifySettings) -> str:
    attempts = delivery.attempts + 1
    try:
        SENDERS[delivery.channel](delivery, settings)
    except MessageRefused as exc:  # no retry can help, and the channel is not at fault
        error = without_secrets(str(exc), settings)[:2000]
        Delivery.update(attempts=attempts, last_error=error, status="failed").where(
            Delivery.id == delivery.id).execute()
        _report_refused(delivery, error)
        return "failed"
    except Exception as exc:  # whatever the channel did, record it and try again later
        failed = attempts >= settings.max_attempts
        error = without_secrets(f"{type(exc).__name__}: {exc}", settings)[:2000]
        log.warning("delivery %s (%s) attempt %s failed: %s", delivery.id, delivery.channel,
                    attempts, error)
        Delivery.update(attempts=attempts, last_error=error,
                        status="failed" if failed else "pending",
                        next_attempt_at=now + backoff(settings, attempts)).where(
            Delivery.id == delivery.id).execute()
        _report_failure(delivery.channel, error, settings)
        return "failed" if failed else "retry"
    Delivery.update(attempts=attempts, status="sent", sent_at=clock.now_utc(),
                    last_error="").where(Delivery.id == delivery.id).execute()
    return "sent"


def without_secrets(text: str, settings: NotifySettings) -> str:
    """``text`` with the channels' secrets masked: the webhook URL (its key is in the
    query) and the SMTP URL's password, whatever an error message quoted of them."""
    secrets = [settings.webhook_url, urlsplit(settings.webhook_url).query,
               settings.smtp_url, urlsplit(settings.smtp_url).password or ""]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _report_failure(channel: str, error: str, settings: NotifySettings) -> None:
    """Tell the administrators a channel fails (core.problems: in the inbox only, never
    through a channel). The error names no secret; the destination is named by its host."""
    url = settings.webhook_url if channel == "webhook" else settings.smtp_url
    host = urlsplit(url).hostname or ""
    report("notification", f"notification:{channel}",
           f"notification channel {channel} ({host}) failed: {error}"[:255], detail=error)


def _report_refused(delivery: Delivery, error: str) -> None:
    """Tell the administrators that one copy could not be written: named by its notice (the
    inbox has it), not blamed on the channel."""
    notification = delivery.notification
    report("notification", f"notification:message:{notification.kind}",
           f"the {delivery.channel} copy of notice {notification.id} ({notification.kind}) "
           f"could not be written: {error}"[:255], detail=error)


def _recipients(notification: Notification) -> str:
    """Who got this message in the inbox (the notifications of the same call share the
    title and moment): named in the outside copy."""
    same = (Notification.select(User.display_name, User.username).join(User)
            .where((Notification.title == notification.title)
                   & (Notification.created_at == notification.created_at)
                   & (Notification.kind == notification.kind)))
    return ", ".join(u.user.display_name or u.user.username for u in same)


def _text(notification: Notification, personal: bool = False) -> str:
    """The copy's text: title, body, link, and whom the shared copy was for (a personal
    copy says instead why it came and where to stop it)."""
    base_url = get_settings().base_url
    lines = [notification.title]
    if notification.body:
        lines.append(notification.body)
    if notification.link:
        lines.append(base_url + notification.link)
    if personal:
        gettext = gettext_for(get_settings().locale)
        kind = NOTICE_KINDS.get(notification.kind, notification.kind)
        lines += ["", gettext(EMAIL_FOOTER) % {"kind": gettext(kind),
                                               "link": base_url + ACCOUNT_LINK}]
    else:
        lines.append(f"→ {_recipients(notification)}")
    return "\n".join(lines)


def _mailbox(address: str) -> str:
    """An address an SMTP server takes: an internationalised domain in its ASCII form."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


class MessageRefused(Exception):
    """The copy itself cannot be written (a header the mail library refuses): it would fail
    the same way on every attempt, and the channel is not to blame."""


def _email(delivery: Delivery, settings: NotifySettings) -> EmailMessage:
    notification = delivery.notification
    try:
        message = EmailMessage()
        message["Subject"] = one_line(notification.title)
        message["From"] = settings.mail_from
        message["To"] = _mailbox(delivery.address) if delivery.address else \
            ", ".join(settings.mail_to)
        message.set_content(_text(notification, personal=bool(delivery.address)))
    except (ValueError, TypeError, UnicodeError) as exc:
        raise MessageRefused(f"{type(exc).__name__}: {exc}") from exc
    return message


def send_email(delivery: Delivery, settings: NotifySettings) -> None:
    """The notification by e-mail: to the user's own address when the delivery has one
    (a personal copy), else to the shared mailboxes of JIEDUI_MAIL_TO."""
    message = _email(delivery, settings)  # before connecting: a bad message is no outage
    _smtp_send(message, settings)


def send_mail(address: str, subject: str, text: str) -> None:
    """One e-mail to ``address`` now, through ``JIEDUI_SMTP_URL`` (a login invitation:
    its link must not wait in the outbox, where it would be kept as text). Raises
    ``ValidationError`` when e-mail is not configured, or whatever the server raises."""
    settings = get_settings().notify
    if "email" not in settings.channels:
        raise ValidationError(N_("E-mail is not configured (JIEDUI_SMTP_URL)."))
    message = EmailMessage()
    message["Subject"] = one_line(subject)
    message["From"] = settings.mail_from
    message["To"] = _mailbox(address)
    message.set_content(text)
    _smtp_send(message, settings)


def _smtp_send(message: EmailMessage, settings: NotifySettings) -> None:
    url = urlsplit(settings.smtp_url)
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    port = url.port or (465 if url.scheme == "smtps" else 25)
    with smtp_class(url.hostname, port, timeout=settings.timeout_seconds) as smtp:
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)


def send_webhook(delivery: Delivery, settings: NotifySettings) -> None:
    """POST the robot message format WeCom and DingTalk share; both answer 200 with a
    non-zero ``errcode`` when they refuse a message, so that counts as a failure too."""
    payload = {"msgtype": "text", "text": {"content": _text(delivery.notification)}}
    request = urllib.request.Request(
        settings.webhook_url, data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:
        answer = response.read(65536)
    try:
        errcode = json.loads(answer or b"{}").get("errcode", 0)
    except (ValueError, AttributeError):
        errcode = 0  # not a robot's JSON answer: the HTTP status said it went
    if errcode:
        raise RuntimeError(f"the robot refused the message: {answer[:300].decode(errors='replace')}")


SENDERS = {"email": send_email, "webhook": send_webhook}
