"""Settings from the environment (prefix ``JIEDUI_``), with defaults for one machine.

This is the one module that reads ``JIEDUI_*`` variables, and it reads them once per
process: ``load_settings`` parses them all into one frozen ``Settings`` (its parts for
planning, notifications, major matters, the assessment, logins, uploads, the work records,
the database and proxies), and ``get_settings`` hands the same object to everyone after the composition
root (``core.app.setup``) or the first use made it. A wrong value fails there, naming the
variable — except the notification channels, whose error is kept so that the inbox keeps
working (``NotifySettings.error``).

Nothing here needs a running service: the defaults put the database, the job queue and the
secret key in the instance folder.
"""
import datetime as dt
import os
import re
import secrets
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from icalendar import vDuration

from core.vocabulary import MATTER_CATEGORIES


class ConfigError(ValueError):
    """A ``JIEDUI_*`` setting that cannot be understood; the message names it."""


@dataclass(frozen=True)
class FeedAlarm:
    """A reminder in the feeds: ``offset`` before the start, or, with ``at``, that many
    days before the start's date at the clock time ``at`` (district time)."""
    offset: dt.timedelta
    at: dt.time | None = None


DEFAULT_FEED_ALARMS = "-P1D@18:00,-PT1H"
DEFAULT_BASE_URL = "http://127.0.0.1:5000"  # the day before at 18:00, and 1 hour before


@dataclass(frozen=True)
class Settings:
    instance: Path
    database_url: str
    queue_url: str
    timezone: str
    base_url: str
    secret_key: str
    locale: str
    load_plugins: tuple[str, ...] | None  # None: every installed plugin
    feed_alarms: tuple[FeedAlarm, ...] = ()
    # Planning (core.planner): half-day slots in the district's zone, the shortest session,
    # the travel gap between two villages on one day, the legal publicity days (month, day).
    morning: tuple[dt.time, dt.time] = (dt.time(8, 30), dt.time(12, 0))
    afternoon: tuple[dt.time, dt.time] = (dt.time(14, 0), dt.time(17, 30))
    min_session_hours: float = 3.5
    travel_gap_minutes: int = 60
    publicity_days: tuple[tuple[int, int], ...] = ()
    # Re-planning never moves or cancels on its own an event that starts within this many
    # days: it proposes the change to a coordinator (core.events.confirm_proposal).
    replan_notice_days: int = 7
    # A pairing's change waits this many seconds for others before its village is re-planned
    # (core.jobs.request_replan): a burst of changes, an import, is one re-plan of them all.
    replan_delay_seconds: int = 10
    # Return visits and residents' ratings (core.feedback): the months whose 1st opens a
    # quarter's return visits; the most anonymous ratings one village takes in an hour, and
    # one client address; more than ``ratings_burst_count`` anonymous ratings of a village
    # within ``ratings_burst_minutes`` are a burst; a rating code works until this many days
    # after its session.
    return_visit_months: tuple[int, ...] = (1, 4, 7, 10)
    ratings_per_hour: int = 30
    ratings_per_address: int = 10
    ratings_burst_count: int = 5
    ratings_burst_minutes: int = 10
    rating_code_days: int = 30
    # Whether JIEDUI_BASE_URL was set (else base_url is the loopback default, which the
    # addresses given to phones must not be: ``jiedui feed-token`` warns).
    base_url_set: bool = True
    # The parts read by one area each (see their classes below).
    notify: "NotifySettings" = None
    matter_deadlines: dict = field(default_factory=dict)  # category -> timedelta
    escalate_after: dt.timedelta = dt.timedelta(minutes=60)
    assessment: "AssessmentRules" = None
    logins: "LoginSettings" = None
    records: "RecordSettings" = None
    max_upload_bytes: int = 10 * 1024 * 1024  # JIEDUI_MAX_UPLOAD_MB
    db_busy_timeout_ms: int = 10_000
    trusted_proxies: int = 0
    # An export of more rows than this is made by a queued job with a progress bar
    # (core.longwork, JIEDUI_EXPORT_JOB_ROWS); a smaller one is answered at once.
    export_job_rows: int = 300

    @property
    def queue_is_redis(self):
        return self.queue_url.startswith(("redis://", "rediss://", "unix://"))


def private_folder(path: Path) -> Path:
    """Make ``path`` (and its parents) if missing; a folder made here is its owner's only
    (0700): the instance folder holds the database, the uploads and the secret key."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
    return path


def private_file(path: Path | str) -> Path:
    """Create ``path`` empty and readable by its owner only (0600) when it does not exist
    yet, before a database (SQLite, the SQLite job queue) is opened in it: SQLite gives its
    -wal and -shm files the same mode. An existing file is left as it is."""
    path = Path(path)
    if str(path) in ("", ":memory:") or path.exists():
        return path
    private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:  # another process made it first
        pass
    return path


def _secret_key(instance: Path) -> str:
    """The key signs sessions, so it must survive restarts: keep it in the instance folder."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.write_text(secrets.token_hex(32))
    path.chmod(0o600)
    return path.read_text().strip()


def _plugin_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(name.strip() for name in value.split(",") if name.strip())


_CLOCK = re.compile(r"^(?P<hour>\d{1,2}):(?P<minute>\d{2})$")


def _duration(text: str) -> dt.timedelta | None:
    """An RFC 5545 duration (``-PT1H``, ``-P1D``), read as the feeds write them; None for
    anything else (a bare ``P`` or ``PT`` says nothing)."""
    if text.endswith(("P", "T")):
        return None
    try:
        return vDuration.from_ical(text)
    except ValueError:  # icalendar's InvalidCalendar is a ValueError
        return None


def parse_feed_alarms(value: str, name: str = "JIEDUI_FEED_ALARMS") -> tuple[FeedAlarm, ...]:
    """``"-P1D@18:00,-PT1H"``: comma-separated reminders, each an ISO 8601 duration before
    the start (``-PT1H``), or whole days before it at a clock time (``-P1D@18:00``).
    An empty value turns reminders off."""
    alarms = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        duration_text, _, clock_text = item.partition("@")
        offset = _duration(duration_text.strip().upper())
        if offset is None:
            raise ConfigError(f"{name}: {item!r} is not a duration before the start such as "
                              f"-PT1H (1 hour) or -P1D@18:00 (the day before at 18:00)")
        if offset > dt.timedelta(0):
            raise ConfigError(f"{name}: {item!r} is after the start; write it with a minus, "
                              f"e.g. -{duration_text.strip().lstrip('+')}")
        at = None
        if clock_text:
            clock = _CLOCK.match(clock_text.strip())
            if not clock or int(clock["hour"]) > 23 or int(clock["minute"]) > 59:
                raise ConfigError(f"{name}: {item!r} needs a clock time HH:MM after '@', "
                                  f"e.g. -P1D@18:00")
            if offset % dt.timedelta(days=1):
                raise ConfigError(f"{name}: {item!r} combines a clock time with hours or "
                                  f"minutes; use whole days, e.g. -P1D@18:00")
            at = dt.time(int(clock["hour"]), int(clock["minute"]))
        alarms.append(FeedAlarm(offset=offset, at=at))
    return tuple(alarms)


_current: Settings | None = None


def get_settings() -> Settings:
    """The process's settings: the ones the composition root configured, else the
    environment's, read on first use and kept."""
    global _current
    if _current is None:
        _current = load_settings()
    return _current


def configure(settings: Settings | None) -> None:
    """Use ``settings`` from now on (``core.app.setup``); None reads the environment
    again on the next use (the tests change it between cases)."""
    global _current
    _current = settings


def load_settings(environ=None, *, default_instance="instance") -> Settings:
    """Every setting from ``environ`` (default: the process environment), checked; the
    instance folder is ``default_instance`` when ``JIEDUI_INSTANCE`` names none."""
    env = os.environ if environ is None else environ
    instance = private_folder(Path(env.get("JIEDUI_INSTANCE", default_instance)).resolve())
    deadlines, escalate_after = matter_settings(env)
    return Settings(
        instance=instance,
        database_url=env.get("JIEDUI_DATABASE_URL") or f"sqlite:///{instance / 'jiedui.db'}",
        queue_url=env.get("JIEDUI_QUEUE_URL") or f"sqlite:///{instance / 'queue.db'}",
        timezone=env.get("JIEDUI_TIMEZONE", "Asia/Shanghai"),
        base_url=env.get("JIEDUI_BASE_URL", DEFAULT_BASE_URL).rstrip("/"),
        base_url_set=bool(env.get("JIEDUI_BASE_URL")),
        secret_key=env.get("JIEDUI_SECRET_KEY") or _secret_key(instance),
        locale=env.get("JIEDUI_LOCALE", "zh_CN"),
        load_plugins=_plugin_list(env.get("JIEDUI_LOAD_PLUGINS")),
        feed_alarms=parse_feed_alarms(env.get("JIEDUI_FEED_ALARMS", DEFAULT_FEED_ALARMS)),
        **planning_settings(env),
        **feedback_settings(env),
        notify=_notify_or_error(env),
        matter_deadlines=deadlines,
        escalate_after=escalate_after,
        assessment=assessment_settings(env),
        logins=login_settings(env),
        records=record_settings(env),
        max_upload_bytes=max_upload_bytes(env),
        db_busy_timeout_ms=db_busy_timeout_ms(env),
        trusted_proxies=trusted_proxies(env),
        export_job_rows=export_job_rows(env),
    )


# --- planning (core.planner) ---------------------------------------------------------------

DEFAULT_MORNING = "08:30-12:00"
DEFAULT_AFTERNOON = "14:00-17:30"
DEFAULT_MIN_SESSION_HOURS = "3.5"
DEFAULT_TRAVEL_GAP_MINUTES = "60"
DEFAULT_REPLAN_NOTICE_DAYS = "7"
DEFAULT_REPLAN_DELAY_SECONDS = "10"
# 3·15 consumer rights day, 4·15 national security education day, the Civil Code month
# (May), 12·4 National Constitution Day.
DEFAULT_PUBLICITY_DAYS = "03-15,04-15,05-01..05-31,12-04"
_SLOT = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")


def _hours(start: dt.time, end: dt.time) -> float:
    return (end.hour * 60 + end.minute - start.hour * 60 - start.minute) / 60


def parse_slot(value: str, name: str) -> tuple[dt.time, dt.time]:
    """``"08:30-12:00"``: a half-day on the district's wall clock."""
    match = _SLOT.match(value.strip())
    if not match:
        raise ConfigError(f"{name}: {value!r} is not a time range such as 08:30-12:00")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ConfigError(f"{name}: {value!r} has a time that does not exist")
    start, end = dt.time(h1, m1), dt.time(h2, m2)
    if end <= start:
        raise ConfigError(f"{name}: {value!r} ends before it starts")
    return start, end


def _positive_number(value: str, name: str, kind=float, allow_zero=False):
    try:
        number = kind(value.strip())
    except ValueError:
        raise ConfigError(f"{name}: {value!r} is not a {'whole ' if kind is int else ''}"
                          f"number") from None
    if number < 0 or (number == 0 and not allow_zero) or number != number:  # NaN
        raise ConfigError(f"{name}: {value!r} must be {'zero or ' if allow_zero else ''}"
                          f"more than zero")
    return number


def _month_day(text: str, name: str) -> dt.date:
    match = _MONTH_DAY.match(text.strip())
    try:
        # 2000 is a leap year, so 02-29 is accepted (the planner skips it in other years)
        return dt.date(2000, int(match[1]), int(match[2])) if match else None
    except ValueError:
        raise ConfigError(f"{name}: {text.strip()!r} is not a day of the year") from None


def parse_publicity_days(value: str, name: str = "JIEDUI_PUBLICITY_DAYS"
                         ) -> tuple[tuple[int, int], ...]:
    """``"03-15,04-15,05-01..05-31,12-04"``: days (MM-DD) and ranges (MM-DD..MM-DD) within
    one year, as sorted (month, day) pairs. Empty: no preferred days."""
    days = set()
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        first_text, dots, last_text = item.partition("..")
        first = _month_day(first_text, name)
        last = _month_day(last_text, name) if dots else first
        if first is None or last is None:
            raise ConfigError(f"{name}: {item!r} is not a day MM-DD or a range "
                              f"MM-DD..MM-DD, e.g. 03-15 or 05-01..05-31")
        if last < first:
            raise ConfigError(f"{name}: {item!r} ends before it starts (a range stays "
                              f"within one year)")
        day = first
        while day <= last:
            days.add((day.month, day.day))
            day += dt.timedelta(days=1)
    return tuple(sorted(days))


def planning_settings(env) -> dict:
    """The planning fields of ``Settings``, read from ``env`` and checked together: a
    half-day slot must be long enough for a session, and the morning must end before the
    afternoon starts."""
    morning = parse_slot(env.get("JIEDUI_MORNING", DEFAULT_MORNING), "JIEDUI_MORNING")
    afternoon = parse_slot(env.get("JIEDUI_AFTERNOON", DEFAULT_AFTERNOON), "JIEDUI_AFTERNOON")
    min_hours = _positive_number(env.get("JIEDUI_MIN_SESSION_HOURS",
                                         DEFAULT_MIN_SESSION_HOURS), "JIEDUI_MIN_SESSION_HOURS")
    gap = _positive_number(env.get("JIEDUI_TRAVEL_GAP_MINUTES", DEFAULT_TRAVEL_GAP_MINUTES),
                           "JIEDUI_TRAVEL_GAP_MINUTES", kind=int, allow_zero=True)
    if afternoon[0] < morning[1]:
        raise ConfigError(f"JIEDUI_AFTERNOON starts ({afternoon[0]:%H:%M}) before "
                          f"JIEDUI_MORNING ends ({morning[1]:%H:%M})")
    for name, (start, end) in (("JIEDUI_MORNING", morning), ("JIEDUI_AFTERNOON", afternoon)):
        if _hours(start, end) < min_hours:
            raise ConfigError(f"{name}: {start:%H:%M}-{end:%H:%M} is shorter than "
                              f"JIEDUI_MIN_SESSION_HOURS ({min_hours:g} hours), so no session "
                              f"planned in it would count")
    notice = _positive_number(env.get("JIEDUI_REPLAN_NOTICE_DAYS", DEFAULT_REPLAN_NOTICE_DAYS),
                              "JIEDUI_REPLAN_NOTICE_DAYS", kind=int, allow_zero=True)
    delay = _positive_number(env.get("JIEDUI_REPLAN_DELAY_SECONDS",
                                     DEFAULT_REPLAN_DELAY_SECONDS),
                             "JIEDUI_REPLAN_DELAY_SECONDS", kind=int, allow_zero=True)
    return dict(morning=morning, afternoon=afternoon, min_session_hours=min_hours,
                travel_gap_minutes=gap, replan_notice_days=notice, replan_delay_seconds=delay,
                publicity_days=parse_publicity_days(env.get("JIEDUI_PUBLICITY_DAYS",
                                                            DEFAULT_PUBLICITY_DAYS)))


# --- return visits and ratings (core.feedback) -----------------------------------------------

DEFAULT_RETURN_VISIT_MONTHS = "1,4,7,10"
DEFAULT_RATINGS_PER_HOUR = "30"
DEFAULT_RATINGS_PER_ADDRESS = "10"
DEFAULT_RATINGS_BURST_COUNT = "5"
DEFAULT_RATINGS_BURST_MINUTES = "10"
DEFAULT_RATING_CODE_DAYS = "30"


def parse_months(value: str, name: str = "JIEDUI_RETURN_VISIT_MONTHS") -> tuple[int, ...]:
    """``"1,4,7,10"``: the months (1-12) whose first day opens the return visits."""
    months = set()
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if not item.isdigit() or not 1 <= int(item) <= 12:
            raise ConfigError(f"{name}: {item!r} is not a month 1-12; write e.g. 1,4,7,10")
        months.add(int(item))
    if not months:
        raise ConfigError(f"{name} names no month; write e.g. 1,4,7,10")
    return tuple(sorted(months))


def feedback_settings(env) -> dict:
    return dict(
        return_visit_months=parse_months(env.get("JIEDUI_RETURN_VISIT_MONTHS",
                                                 DEFAULT_RETURN_VISIT_MONTHS)),
        ratings_per_hour=_positive_number(env.get("JIEDUI_RATINGS_PER_HOUR",
                                                  DEFAULT_RATINGS_PER_HOUR),
                                          "JIEDUI_RATINGS_PER_HOUR", kind=int),
        ratings_per_address=_positive_number(env.get("JIEDUI_RATINGS_PER_ADDRESS",
                                                     DEFAULT_RATINGS_PER_ADDRESS),
                                             "JIEDUI_RATINGS_PER_ADDRESS", kind=int),
        ratings_burst_count=_positive_number(env.get("JIEDUI_RATINGS_BURST_COUNT",
                                                     DEFAULT_RATINGS_BURST_COUNT),
                                             "JIEDUI_RATINGS_BURST_COUNT", kind=int),
        ratings_burst_minutes=_positive_number(env.get("JIEDUI_RATINGS_BURST_MINUTES",
                                                       DEFAULT_RATINGS_BURST_MINUTES),
                                               "JIEDUI_RATINGS_BURST_MINUTES", kind=int),
        rating_code_days=_positive_number(env.get("JIEDUI_RATING_CODE_DAYS",
                                                  DEFAULT_RATING_CODE_DAYS),
                                          "JIEDUI_RATING_CODE_DAYS", kind=int))


# --- notifications (core.notify) and major matters (core.matters) --------------------------

@dataclass(frozen=True)
class NotifySettings:
    """Outside channels of notifications. E-mail goes to the shared ``mail_to`` mailboxes,
    and to a user's own address for the kinds of notice they chose (core.notify); the
    webhook is a WeCom/DingTalk group robot."""
    smtp_url: str = ""  # smtp://user:pass@host:port or smtps://…; empty: no e-mail
    mail_from: str = ""
    mail_to: tuple[str, ...] = ()
    webhook_url: str = ""  # empty: no webhook
    max_attempts: int = 8
    retry_seconds: int = 60  # the first retry; each next one waits twice as long
    timeout_seconds: float = 10.0
    error: str = ""  # a setting that could not be read: no outside channel, the inbox works

    @property
    def channels(self) -> tuple[str, ...]:
        return (("email",) if self.smtp_url else ()) + (("webhook",) if self.webhook_url else ())


def _notify_or_error(env) -> NotifySettings:
    """The channels, or none with the error kept: a wrong SMTP or robot setting must not
    stop the service, whose inbox works without them (core.notify logs the error)."""
    try:
        return notify_settings(env)
    except ConfigError as error:
        return NotifySettings(error=str(error))


def notify_settings(environ=None) -> NotifySettings:
    env = os.environ if environ is None else environ
    smtp_url = env.get("JIEDUI_SMTP_URL", "").strip()
    webhook_url = env.get("JIEDUI_WEBHOOK_URL", "").strip()
    mail_to = tuple(a.strip() for a in env.get("JIEDUI_MAIL_TO", "").split(",") if a.strip())
    if smtp_url and not smtp_url.startswith(("smtp://", "smtps://")):
        raise ConfigError(f"JIEDUI_SMTP_URL: {smtp_url.split('@')[-1]!r} is not "
                          f"smtp://user:password@host:port or smtps://…")
    if smtp_url and not mail_to:
        raise ConfigError("JIEDUI_SMTP_URL is set but JIEDUI_MAIL_TO is empty: name the "
                          "mailbox(es) that receive the e-mail copies, e.g. office@example.org")
    if webhook_url and not webhook_url.startswith(("http://", "https://")):
        raise ConfigError(f"JIEDUI_WEBHOOK_URL: {webhook_url!r} is not an http(s) URL")
    return NotifySettings(
        smtp_url=smtp_url, mail_to=mail_to, webhook_url=webhook_url,
        mail_from=env.get("JIEDUI_MAIL_FROM", "").strip() or "jiedui@localhost",
        max_attempts=_positive_number(env.get("JIEDUI_NOTIFY_MAX_ATTEMPTS", "8"),
                                      "JIEDUI_NOTIFY_MAX_ATTEMPTS", kind=int),
        retry_seconds=_positive_number(env.get("JIEDUI_NOTIFY_RETRY_SECONDS", "60"),
                                       "JIEDUI_NOTIFY_RETRY_SECONDS", kind=int),
        timeout_seconds=_positive_number(env.get("JIEDUI_NOTIFY_TIMEOUT_SECONDS", "10"),
                                         "JIEDUI_NOTIFY_TIMEOUT_SECONDS"))


DEFAULT_MATTER_DEADLINES = "collective=1h,emergency=1h"  # the other categories: 24h
DEFAULT_MATTER_DEADLINE = dt.timedelta(hours=24)
_SPAN = re.compile(r"^(\d+)\s*([hm])$")


def parse_matter_deadlines(value: str, categories: tuple[str, ...],
                           name: str = "JIEDUI_MATTER_DEADLINES") -> dict[str, dt.timedelta]:
    """``"collective=1h,emergency=30m"``: the reporting deadline of each category (hours
    or minutes after the matter happened); unnamed categories keep 24h."""
    deadlines = dict.fromkeys(categories, DEFAULT_MATTER_DEADLINE)
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        category, _, span = (text.strip() for text in item.partition("="))
        match = _SPAN.match(span.lower())
        if category not in categories:
            raise ConfigError(f"{name}: {category!r} is not a category; use one of "
                              f"{', '.join(categories)}")
        if not match or int(match[1]) == 0:
            raise ConfigError(f"{name}: {item!r} needs a time after '=' such as 1h or 30m")
        amount = int(match[1])
        deadlines[category] = dt.timedelta(hours=amount) if match[2] == "h" \
            else dt.timedelta(minutes=amount)
    return deadlines


def matter_settings(environ=None) -> tuple[dict[str, dt.timedelta], dt.timedelta]:
    """(deadline per category, time after which an unacknowledged report escalates)."""
    env = os.environ if environ is None else environ
    deadlines = parse_matter_deadlines(env.get("JIEDUI_MATTER_DEADLINES",
                                               DEFAULT_MATTER_DEADLINES), MATTER_CATEGORIES)
    minutes = _positive_number(env.get("JIEDUI_ESCALATE_AFTER_MINUTES", "60"),
                               "JIEDUI_ESCALATE_AFTER_MINUTES", kind=int)
    return deadlines, dt.timedelta(minutes=minutes)


# --- yearly assessment (core.assessment) ---------------------------------------------------
ASSESSMENT_CRITERIA = ("sessions", "publicity", "worklog", "matters", "satisfaction", "tasks")
DEFAULT_ASSESSMENT = ("sessions=30,publicity=15,worklog=15,matters=10,satisfaction=20,"
                      "tasks=10;pass=60;excellent=85")
# Yearly targets of the criteria without a quota of their own (pro rata for a partial term):
# a work-log entry every other week, and about the ten programmes' 1000 tasks over 131 villages.
DEFAULT_ASSESSMENT_TARGETS = "worklog=24,tasks=8"
ASSESSMENT_TARGETS = ("worklog", "tasks")
# Inspections (core.inspections) deduct points from the total: per checklist item found
# falling short, per follow-up not done by its due date, at most ``cap`` in a year.
DEFAULT_ASSESSMENT_INSPECTIONS = "item=2,follow_up=5,cap=20"
INSPECTION_DEDUCTIONS = ("item", "follow_up", "cap")


@dataclass(frozen=True)
class AssessmentRules:
    """How a pairing's year is scored: a weight per criterion (ASSESSMENT_CRITERIA order),
    the pass and excellent lines on the 0..100 total, the yearly targets of work-log entries
    and programme tasks."""
    weights: tuple[tuple[str, float], ...]
    pass_line: float
    excellent_line: float
    worklog_target: int
    tasks_target: int
    inspection_item: float = 2.0  # points off per checklist item falling short
    inspection_follow_up: float = 5.0  # points off per follow-up not done by its due date
    inspection_cap: float = 20.0  # at most this many points off in a year


def _key_values(value: str, name: str, separators: str) -> list[tuple[str, str, str]]:
    """``a=1,b=2;c=3`` as (key, number text, item) in order; an item without '=' fails."""
    items = [value]
    for separator in separators:
        items = [piece for item in items for piece in item.split(separator)]
    pairs, seen = [], set()
    for item in (piece.strip() for piece in items):
        if not item:
            continue
        key, equals, number = (text.strip() for text in item.partition("="))
        if not equals or not key:
            raise ConfigError(f"{name}: {item!r} is not name=number, e.g. sessions=30")
        if key in seen:
            raise ConfigError(f"{name}: {key!r} is given twice")
        seen.add(key)
        pairs.append((key, number, item))
    return pairs


def parse_assessment(value: str, targets: str = DEFAULT_ASSESSMENT_TARGETS,
                     name: str = "JIEDUI_ASSESSMENT",
                     targets_name: str = "JIEDUI_ASSESSMENT_TARGETS") -> AssessmentRules:
    """``"sessions=30,publicity=15,worklog=15,matters=10,satisfaction=20,tasks=10;pass=60;
    excellent=85"``: every criterion's weight (0 leaves it out; the weights need not add up
    to 100, the total is scaled to 0..100), then the pass and excellent lines (0..100)."""
    weights, lines = {}, {"pass": 60.0, "excellent": 85.0}
    for key, number, item in _key_values(value, name, ";,"):
        if key not in ASSESSMENT_CRITERIA and key not in lines:
            raise ConfigError(f"{name}: {key!r} is neither a criterion "
                              f"({', '.join(ASSESSMENT_CRITERIA)}) nor pass or excellent")
        amount = _positive_number(number, f"{name}: {key}", allow_zero=True)
        if amount == float("inf"):
            raise ConfigError(f"{name}: {item!r} is not a finite number")
        if key in lines:
            if amount > 100:
                raise ConfigError(f"{name}: {item!r} must be a line between 0 and 100")
            lines[key] = amount
        else:
            weights[key] = amount
    missing = [c for c in ASSESSMENT_CRITERIA if c not in weights]
    if missing:
        raise ConfigError(f"{name}: no weight for {', '.join(missing)}; write e.g. "
                          f"{missing[0]}=0 to leave a criterion out")
    if not any(weights.values()):
        raise ConfigError(f"{name}: every weight is zero; give at least one criterion a weight")
    if lines["excellent"] < lines["pass"]:
        raise ConfigError(f"{name}: excellent ({lines['excellent']:g}) is below pass "
                          f"({lines['pass']:g})")
    target = dict.fromkeys(ASSESSMENT_TARGETS, None)  # unnamed: the default (24, 8)
    for key, number, _item in _key_values(targets, targets_name, ","):
        if key not in target:
            raise ConfigError(f"{targets_name}: {key!r} is not one of "
                              f"{', '.join(ASSESSMENT_TARGETS)}")
        target[key] = _positive_number(number, f"{targets_name}: {key}", kind=int)
    return AssessmentRules(
        weights=tuple((c, weights[c]) for c in ASSESSMENT_CRITERIA),
        pass_line=lines["pass"], excellent_line=lines["excellent"],
        worklog_target=target["worklog"] or 24, tasks_target=target["tasks"] or 8)


def parse_inspection_deductions(value: str, rules: AssessmentRules,
                                name: str = "JIEDUI_ASSESSMENT_INSPECTIONS") -> AssessmentRules:
    """``"item=2,follow_up=5,cap=20"``: the points an inspection takes off the total (per
    item falling short, per follow-up done late or not at all) and the most a year loses;
    an unnamed one keeps its default, 0 turns it off."""
    given = {}
    for key, number, item in _key_values(value, name, ","):
        if key not in INSPECTION_DEDUCTIONS:
            raise ConfigError(f"{name}: {key!r} is not one of {', '.join(INSPECTION_DEDUCTIONS)}")
        amount = _positive_number(number, f"{name}: {key}", allow_zero=True)
        if amount > 100:
            raise ConfigError(f"{name}: {item!r} must be between 0 and 100 points")
        given[key] = amount
    return dataclasses.replace(
        rules, inspection_item=given.get("item", rules.inspection_item),
        inspection_follow_up=given.get("follow_up", rules.inspection_follow_up),
        inspection_cap=given.get("cap", rules.inspection_cap))


def assessment_settings(environ=None) -> AssessmentRules:
    env = os.environ if environ is None else environ
    rules = parse_assessment(env.get("JIEDUI_ASSESSMENT", DEFAULT_ASSESSMENT),
                             env.get("JIEDUI_ASSESSMENT_TARGETS", DEFAULT_ASSESSMENT_TARGETS))
    return parse_inspection_deductions(
        env.get("JIEDUI_ASSESSMENT_INSPECTIONS", DEFAULT_ASSESSMENT_INSPECTIONS), rules)


# --- uploads (core.cases) ------------------------------------------------------------------
DEFAULT_MAX_UPLOAD_MB = "10"


def max_upload_bytes(environ=None) -> int:
    """``JIEDUI_MAX_UPLOAD_MB`` (default 10): the largest attachment of a case file."""
    env = os.environ if environ is None else environ
    megabytes = _positive_number(env.get("JIEDUI_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB),
                                 "JIEDUI_MAX_UPLOAD_MB")
    return int(megabytes * 1024 * 1024)


# --- the work records (core.worklog, core.cases) ---------------------------------------------
DEFAULT_RECORDS_EDIT_DAYS = "7"


@dataclass(frozen=True)
class RecordSettings:
    """How the work records are kept: a work-log entry or a case file can be changed by its
    author for ``edit_days`` days after it was written (its photos added and removed too),
    then it is locked (``core.access.record_edit_until``). 0 locks them when written."""
    edit_days: int = 7


def record_settings(environ=None) -> RecordSettings:
    env = os.environ if environ is None else environ
    return RecordSettings(edit_days=_positive_number(
        env.get("JIEDUI_RECORDS_EDIT_DAYS", DEFAULT_RECORDS_EDIT_DAYS),
        "JIEDUI_RECORDS_EDIT_DAYS", kind=int, allow_zero=True))


# --- login protection and sessions (core.throttle, core.sessions) ---------------------------
@dataclass(frozen=True)
class LoginSettings:
    """How password checks are throttled and how long a login lasts.

    Failures are counted per account *and* client address: after ``free_failures`` of them
    each further try from that address for that account waits twice as long as the one
    before (2 s, 4 s, 8 s, …, at most ``max_delay``), so failures from other addresses
    never keep the right password from its user. One address is also refused, on every
    account, after ``max_failures_per_address`` failures in ``window``. A session ends
    after ``session_idle`` without a request, and ``session_lifetime`` after its login. A
    login invitation (core.login_invitations) works for ``invitation_days`` after it is issued."""
    free_failures: int = 3
    max_delay: dt.timedelta = dt.timedelta(minutes=15)
    max_failures_per_address: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)
    session_idle: dt.timedelta = dt.timedelta(hours=8)
    session_lifetime: dt.timedelta = dt.timedelta(days=7)
    invitation_days: int = 14


def login_settings(environ=None) -> LoginSettings:
    env = os.environ if environ is None else environ

    def number(name, default, kind=int, allow_zero=False):
        return _positive_number(env.get(name, default), name, kind=kind, allow_zero=allow_zero)

    return LoginSettings(
        free_failures=number("JIEDUI_LOGIN_FREE_FAILURES", "3", allow_zero=True),
        max_delay=dt.timedelta(minutes=number("JIEDUI_LOGIN_MAX_DELAY_MINUTES", "15")),
        max_failures_per_address=number("JIEDUI_LOGIN_MAX_FAILURES_PER_ADDRESS", "20"),
        window=dt.timedelta(minutes=number("JIEDUI_LOGIN_WINDOW_MINUTES", "15")),
        session_idle=dt.timedelta(hours=number("JIEDUI_SESSION_IDLE_HOURS", "8", kind=float)),
        session_lifetime=dt.timedelta(days=number("JIEDUI_SESSION_DAYS", "7", kind=float)),
        invitation_days=number("JIEDUI_INVITATION_DAYS", "14"))


# --- database (core.db) ----------------------------------------------------------------------

DEFAULT_DB_BUSY_TIMEOUT_MS = "10000"


def db_busy_timeout_ms(environ=None) -> int:
    """How long a SQLite write waits for another writer's lock before it gives up (the
    web then answers 503 "database busy")."""
    env = os.environ if environ is None else environ
    return _positive_number(env.get("JIEDUI_DB_BUSY_TIMEOUT_MS", DEFAULT_DB_BUSY_TIMEOUT_MS),
                            "JIEDUI_DB_BUSY_TIMEOUT_MS", kind=int, allow_zero=True)


# --- the web behind a reverse proxy (web.create_app) ------------------------------------------

def trusted_proxies(environ=None) -> int:
    """How many reverse proxies stand in front of the web (nginx: 1). With N > 0 the
    client's address is taken from the N-th last ``X-Forwarded-For`` entry, so login
    throttling and the audit log see the client, not the proxy. 0 (the default) trusts no
    header: a client could write any address into it."""
    env = os.environ if environ is None else environ
    return _positive_number(env.get("JIEDUI_TRUSTED_PROXIES", "0"), "JIEDUI_TRUSTED_PROXIES",
                            kind=int, allow_zero=True)


# --- the production web server (jiedui serve, gunicorn.conf.py) -------------------------------

DEFAULT_BIND = "127.0.0.1:8000"  # behind a reverse proxy on the same host
DEFAULT_WEB_THREADS = "8"


@dataclass(frozen=True)
class ServeSettings:
    bind: str  # JIEDUI_BIND: host:port (or unix:/path) gunicorn listens on
    workers: int  # JIEDUI_WEB_WORKERS: processes; default one per core
    threads: int  # JIEDUI_WEB_THREADS: threads per process


def serve_settings(environ=None) -> ServeSettings:
    """How ``jiedui serve`` (gunicorn) runs the web: ``JIEDUI_BIND`` (default
    127.0.0.1:8000), ``JIEDUI_WEB_WORKERS`` (default: the machine's cores) processes of
    ``JIEDUI_WEB_THREADS`` (default 8) threads each."""
    env = os.environ if environ is None else environ
    cores = str(os.cpu_count() or 1)
    return ServeSettings(
        bind=env.get("JIEDUI_BIND", DEFAULT_BIND).strip() or DEFAULT_BIND,
        workers=_positive_number(env.get("JIEDUI_WEB_WORKERS", cores), "JIEDUI_WEB_WORKERS",
                                 kind=int),
        threads=_positive_number(env.get("JIEDUI_WEB_THREADS", DEFAULT_WEB_THREADS),
                                 "JIEDUI_WEB_THREADS", kind=int))


# --- long work as queued jobs (core.longwork) -------------------------------------------------
DEFAULT_EXPORT_JOB_ROWS = "300"


def export_job_rows(environ=None) -> int:
    """``JIEDUI_EXPORT_JOB_ROWS`` (default 300): an export of more rows is made by a queued
    job whose page shows a progress bar and then the download; 0 sends every export there."""
    env = os.environ if environ is None else environ
    return _positive_number(env.get("JIEDUI_EXPORT_JOB_ROWS", DEFAULT_EXPORT_JOB_ROWS),
                            "JIEDUI_EXPORT_JOB_ROWS", kind=int, allow_zero=True)
