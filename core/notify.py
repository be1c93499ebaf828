"""Notifications: the in-app inbox, and copies by e-mail and group-robot webhook.

``notify_users`` writes one inbox row per user and, per configured outside channel, one
``Delivery`` (the outbox). Deliveries are sent by a huey job (``send_deliveries``), never
in the caller: a mail server or robot that is down only delays the copy, it is retried
with exponential backoff (every minute a periodic job looks for what is due) until it
goes or has failed ``JIEDUI_NOTIFY_MAX_ATTEMPTS`` times.

Users have no e-mail address, so the e-mail copy goes to the shared mailboxes of
``JIEDUI_MAIL_TO`` (e.g. the office's), and the webhook copy to one group robot. Both
destinations are shared, so one ``notify_users`` call sends one copy per channel (attached
to its first notification), naming the recipients, not one per user.
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
from core.config import NotifySettings, load_settings, notify_settings
from core.db import db
from core.models import Delivery, Notification, User, Village

log = logging.getLogger(__name__)
BATCH = 100  # deliveries per job run; the next run takes the rest


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


# --- the inbox --------------------------------------------------------------------------

def notify_users(users, *, kind: str, title: str, body: str = "", link: str = "",
                 dedupe_key: str | None = None, outside: bool = True) -> list[Notification]:
    """Notify each user (once: duplicates in ``users`` are dropped). With ``dedupe_key``,
    a user already notified under that key is skipped, so a job run twice notifies once.
    Returns the notifications created now. Sending the outside copies is queued; with
    ``outside`` False there are none (``core.problems``: a failing channel must not be
    told about itself through itself)."""
    created = []
    seen = set()
    now = clock.now_utc()  # one moment for the call: the outside copy finds its recipients by it
    with db.atomic():
        for user in users:
            if user is None or user.id in seen:
                continue
            seen.add(user.id)
            notification = _create(user, kind=kind, title=title[:255], body=body, link=link,
                                   created_at=now,
                                   dedupe_key=f"{dedupe_key}:u{user.id}" if dedupe_key else None)
            if notification is not None:
                created.append(notification)
        if created and outside:
            for channel in _channels():
                Delivery.create(notification=created[0], channel=channel)
    if created and outside and not db.in_transaction():
        queue_sending()  # inside a caller's transaction the minute job sends it after commit
    return created


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
    try:
        return notify_settings().channels
    except Exception:  # a wrong setting must not block the caller; the inbox still works
        log.exception("notification channels are misconfigured; only the inbox is used")
        return ()


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


# --- the outbox -------------------------------------------------------------------------

def queue_sending() -> None:
    """Ask the job queue to send what is due; a queue that is down is logged, never raised
    (the minute job catches up)."""
    try:
        from core.jobs import send_deliveries as job
        job()
    except Exception:
        log.exception("could not queue the sending of notifications")


def backoff(settings: NotifySettings, attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failure: 1, 2, 4, 8 … × retry_seconds, at most a day."""
    return min(dt.timedelta(seconds=settings.retry_seconds * 2 ** (attempts - 1)),
               dt.timedelta(days=1))


def send_deliveries(now: dt.datetime | None = None) -> dict:
    """Send the pending deliveries whose time has come; returns counts by outcome.
    Never raises for a channel's failure: it is recorded on the delivery."""
    now = now or clock.now_utc()
    try:
        settings = notify_settings()
    except Exception as exc:
        log.error("notifications not sent: %s", exc)
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
        SENDERS[delivery.channel](delivery.notification, settings)
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
    from core.problems import report
    url = settings.webhook_url if channel == "webhook" else settings.smtp_url
    host = urlsplit(url).hostname or ""
    report("notification", f"notification:{channel}",
           f"notification channel {channel} ({host}) failed: {error}"[:255], detail=error)


def _recipients(notification: Notification) -> str:
    """Who got this message in the inbox (the notifications of the same call share the
    title and moment): named in the outside copy."""
    same = (Notification.select(User.display_name, User.username).join(User)
            .where((Notification.title == notification.title)
                   & (Notification.created_at == notification.created_at)
                   & (Notification.kind == notification.kind)))
    return ", ".join(u.user.display_name or u.user.username for u in same)


def _text(notification: Notification) -> str:
    lines = [notification.title]
    if notification.body:
        lines.append(notification.body)
    if notification.link:
        lines.append(load_settings().base_url + notification.link)
    lines.append(f"→ {_recipients(notification)}")
    return "\n".join(lines)


def send_email(notification: Notification, settings: NotifySettings) -> None:
    url = urlsplit(settings.smtp_url)
    message = EmailMessage()
    message["Subject"] = notification.title
    message["From"] = settings.mail_from
    message["To"] = ", ".join(settings.mail_to)
    message.set_content(_text(notification))
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    port = url.port or (465 if url.scheme == "smtps" else 25)
    with smtp_class(url.hostname, port, timeout=settings.timeout_seconds) as smtp:
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)


def send_webhook(notification: Notification, settings: NotifySettings) -> None:
    """POST the robot message format WeCom and DingTalk share; both answer 200 with a
    non-zero ``errcode`` when they refuse a message, so that counts as a failure too."""
    payload = {"msgtype": "text", "text": {"content": _text(notification)}}
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
