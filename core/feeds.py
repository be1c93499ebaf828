"""iCalendar feeds (RFC 5545): secret per-device tokens, rendering, published snapshots.

A feed is named by a key: ``lawyer:<id>`` (a lawyer's events, and for a while those handed
over from them, as cancelled), ``town:<code>`` and ``district`` (a coordinator's scope: the
village, the lawyer and a link per event, in a shorter window), ``village:<code>`` (public:
sessions and publicity events only, nothing about people). The lawyer's feed describes each
event with the village's contacts: the judicial office and the village side of the WeChat
group, and why a session is not on its arranged day (``core.placements``). Every event links
to its page in Jiedui (URL) and names a place a map app finds (LOCATION). A task shows its
type and village, never its title or data (they may name residents).

Feeds are rendered into ``FeedSnapshot`` rows (and their gzip) by a job (``publish``)
whenever an event in them changes, or what they say about it (a lawyer's name, a WeChat
group's village side: ``publish_changes`` with ``events_of_lawyer`` / ``events_of_group``);
publishing first bumps SEQUENCE and LAST-MODIFIED of every event whose shown content
changed (``refresh_shown``). The web serves the stored bytes with their ETag, so a phone
polling every few minutes costs one indexed read.

Tokens are 256-bit random strings shown once; only their SHA-256 is stored.
"""
import datetime as dt
import functools
import gzip
import hashlib
import hmac
import itertools
import logging
import re
import secrets
import threading
import traceback
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from icalendar import Alarm as ICalAlarm
from icalendar import Calendar as ICalCalendar
from icalendar import Event as ICalEvent
from icalendar import Timezone as ICalTimezone
from peewee import (JOIN, SQL, AutoField, Case, Cast, CharField, ColumnBase, ForeignKeyField,
                    IntegerField, IntegrityError, PostgresqlDatabase, Psycopg2Adapter, Select,
                    TextField, fn)

from core import clock
from core.audit import record
from core.config import FeedAlarm, get_settings
from core.db import db, transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import N_, gettext_for
from core.models import (District, Event, EventHandover, FeedDirty, FeedSnapshot, FeedToken,
                         FeedWindowCheck, Holiday, Lawyer, Pairing, Task, Town, User, Village,
                         WechatGroup, WechatGroupMember)
from core.localize import localized_registry
from core.placements import EVENT_WORDS, event_title, placement_note
from core.plugins import notify
from core.problems import error_text, report
from core.vocabulary import GROUP_ROLE_NAMES, GROUP_ROLES, LAWYER_SIDE, MANAGERS

log = logging.getLogger(__name__)

WINDOW_BACK = dt.timedelta(days=90)  # a lawyer's feed and a village's
WINDOW_AHEAD = dt.timedelta(days=400)
# The coordinators' feeds (a town's, the district's) hold a shorter span: a district of 131
# villages stays well under 1 MB, which phones fetch and parse every hour without trouble.
COORDINATOR_WINDOW_BACK = dt.timedelta(days=31)
COORDINATOR_WINDOW_AHEAD = dt.timedelta(days=183)
# The district's feed is bounded whatever the district's size: the last week and the next
# month, and at most DISTRICT_BACK_MAX events before now and DISTRICT_AHEAD_MAX after (the
# nearest ones), so that it stays under 1 MB even for a province of 26,000 villages. A
# town's feed holds all of the town's events in the coordinators' window.
DISTRICT_WINDOW_BACK = dt.timedelta(days=7)
DISTRICT_WINDOW_AHEAD = dt.timedelta(days=31)
DISTRICT_BACK_MAX = 250
DISTRICT_AHEAD_MAX = 750
DISTRICT_NOTE = N_("The district's events of the last 7 days and the next 31 (at most "
                   "%(n)s, the nearest first); a town's calendar has all of its events for "
                   "seven months.")
CANCELLED_KEPT = dt.timedelta(days=30)  # a cancellation (or hand-over) stays visible this long
REFRESH = dt.timedelta(hours=1)  # REFRESH-INTERVAL and X-PUBLISHED-TTL
ZONE_FIRST_DATE = dt.date(2000, 1, 1)  # a compact VTIMEZONE: no history before 2000
PRODID = "-//Jiedui//Lawyer-village pairing calendar//ZH"
CALENDAR_PREFIX = "结对律师"  # calendar names: "结对律师 · 张明"
# Category names are part of the programme's vocabulary (the plan's words), not UI text.
PUBLIC_KINDS = ("session", "publicity")
# Where the feeds link to (the web's routes calendar.event and public.village).
EVENT_PATH = "/calendar/events/{id}"
VILLAGE_PATH = "/v/{code}"
VILLAGE_FEED_PATH = "/v/{code}/calendar.ics"  # web: feeds.village_feed

CANCELLED_TITLE = N_("(Cancelled) %(title)s")
TASK_FALLBACK = N_("Programme task")
HANDED_OVER = N_("Handed over to %(lawyer)s; no longer in your calendar.")
HANDED_OVER_NOBODY = N_("Handed over; no longer in your calendar.")

TOKEN_BYTES = 32  # 256 bits
LABEL_MAX = 60
CLIENT_MAX = 200  # the User-Agent kept on a token
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)
# A fetch within this interval by the same client does not write the token row again.
USE_RECORD_INTERVAL = dt.timedelta(minutes=1)
CHUNK = 5000  # ids or keys in one IN (...): SQLite allows 32,766 variables a query


# --- tokens ----------------------------------------------------------------------------------

def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def token_hash(raw: str) -> str | None:
    """What a raw token from a URL is stored as, or None when it cannot be a token."""
    if not isinstance(raw, str) or not _TOKEN_SHAPE.match(raw):
        return None
    return _hash(raw)


def feed_key_for(user: User) -> str:
    """The feed a user's tokens serve: a lawyer's own events, or a coordinator's scope."""
    if user.role == "lawyer" and user.lawyer_id:
        return f"lawyer:{user.lawyer_id}"
    if user.role in MANAGERS:
        if user.village_id:
            return f"village:{user.village.code}"
        if user.town_id:
            return f"town:{user.town.code}"
        return "district"
    raise ValidationError(N_("Only lawyers and coordinators have calendar feeds."))


def _require_own(actor: User | None, user: User) -> None:
    """Each user manages their own tokens; the operator (CLI) may act for anyone."""
    if actor is not None and actor.id != user.id:
        raise PermissionDenied(N_("You may only manage your own calendar feeds."))


def create_token(actor: User | None, user: User, label: str) -> tuple[FeedToken, str]:
    """A new secret feed URL for one of ``user``'s devices. Returns the row and the raw
    token, which is never stored and cannot be shown again."""
    _require_own(actor, user)
    feed_key_for(user)  # refuses users without a feed
    label = " ".join((label or "").split())
    if not label:
        raise ValidationError(N_("Name the device or app, e.g. iPhone or Outlook."),
                              field="label")
    if len(label) > LABEL_MAX:
        raise ValidationError(N_("A device name has at most %(n)s characters."),
                              field="label", n=LABEL_MAX)
    if active_tokens(user).where(FeedToken.label == label).exists():
        raise ValidationError(N_("You already have a feed named %(label)s; revoke it or "
                                 "choose another name."), field="label", label=label)
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction():
        token = FeedToken.create(user=user, label=label, token_hash=_hash(raw))
        record(actor, "feed_token.create", obj=token, detail={"user": user.id, "label": label})
    return token, raw


def revoke_token(actor: User | None, token: FeedToken) -> None:
    """The token's URL stops working at once (a web process on PostgreSQL that kept its
    last poll forgets it when the database's word arrives, milliseconds after the commit:
    ``web.feed_polls``). Revoking twice changes nothing."""
    _require_own(actor, token.user)
    if token.revoked_at is None:
        token.revoked_at = clock.now_utc()
        with transaction():
            token.save(only=[FeedToken.revoked_at])
            record(actor, "feed_token.revoke", obj=token,
                   detail={"user": token.user_id, "label": token.label})


def active_tokens(user: User):
    return (FeedToken.select().where((FeedToken.user == user) & FeedToken.revoked_at.is_null())
            .order_by(FeedToken.created_at, FeedToken.id))


class _CompiledQuery:
    """A query whose SQL is made once per database and then run with new values: a feed
    poll comes every few minutes from every phone, and peewee spends longer writing a
    small query's SQL than the database answering it. ``build(*values)`` makes the query;
    ``columns`` convert what the driver returns (SQLite's text dates) as peewee would.

    The database, too, plans it once per connection: sqlite3 keeps its prepared
    statements, and on PostgreSQL with psycopg2 (which sends every query as text, planned
    anew: a poll's join took 0.33 ms to plan and 0.15 ms to run) the query is PREPAREd on
    each connection the first time it runs there and EXECUTEd after. psycopg 3 prepares a
    query it sees repeatedly by itself."""

    _names = itertools.count()
    texts: dict = {}  # prepared statement name -> its SQL (what the SQL log shows as EXECUTE)

    def __init__(self, build, columns, *, prepare: bool = True):
        self.build = build
        self.prepare = prepare
        self.convert = [column.python_value for column in columns]
        self.made = None  # (database, sql, where each parameter's value comes from)
        self.name = f"jiedui_feed_{next(self._names)}"
        self.prepared_on = weakref.WeakSet()  # the psycopg2 connections that have it

    def _cursor(self, values):
        database = db.obj
        if self.made is None or self.made[0] is not database:
            marks = [f"\x00value{i}\x00" for i in range(len(values))]
            sql, params = self.build(*marks).sql()
            prepare = (self.prepare and isinstance(database, PostgresqlDatabase)
                       and isinstance(database._adapter, Psycopg2Adapter) and "%%" not in sql)
            self.made = (database, sql, [marks.index(p) if p in marks else (None, p)
                                         for p in params], prepare)
            if prepare:
                self.texts[self.name] = sql
        _database, sql, sources, prepare = self.made
        params = [values[s] if isinstance(s, int) else s[1] for s in sources]
        if prepare:
            return self._executed(database, sql, params)
        return database.execute_sql(sql, params)

    def row(self, *values) -> tuple | None:
        found = self._cursor(values).fetchone()
        if found is None:
            return None
        return tuple(convert(value) if value is not None else None
                     for convert, value in zip(self.convert, found))

    def rows(self, *values) -> list[tuple]:
        convert = self.convert
        return [tuple(convert[i](value) if value is not None else None
                      for i, value in enumerate(found))
                for found in self._cursor(values).fetchall()]

    def _executed(self, database, sql: str, params: list):
        """The query run as the connection's prepared statement (PREPAREd once: prepared
        statements last as long as the session, whatever becomes of a transaction)."""
        connection = database.connection()
        if connection not in self.prepared_on:
            numbered = iter(range(1, len(params) + 1))
            text = re.sub(r"%s", lambda _: f"${next(numbered)}", sql)
            database.execute_sql(f"PREPARE {self.name} AS {text}")
            self.prepared_on.add(connection)
        marks = ", ".join(["%s"] * len(params))
        return database.execute_sql(f"EXECUTE {self.name}" + (f"({marks})" if params else ""),
                                    params)


_TOKEN_COLUMNS = (FeedToken.id, FeedToken.user, FeedToken.label, FeedToken.token_hash,
                  FeedToken.created_at, FeedToken.revoked_at, FeedToken.last_used_at,
                  FeedToken.last_client, User.role, User.active, User.lawyer, User.town,
                  User.village, Town.code, Village.code)
_TOKEN_WIDTH = len(_TOKEN_COLUMNS)


def _with_user(query, token_hash):
    return (query.join(User)
            .join(Town, JOIN.LEFT_OUTER, on=(User.town == Town.id)).switch(User)
            .join(Village, JOIN.LEFT_OUTER, on=(User.village == Village.id))
            .where(FeedToken.token_hash == token_hash))


_TOKEN_QUERY = _CompiledQuery(
    lambda token_hash: _with_user(FeedToken.select(*_TOKEN_COLUMNS), token_hash),
    _TOKEN_COLUMNS)


def _feed_key_sql():
    """``feed_key_for`` as SQL over the token query's user, town and village: what lets a
    poll read its token and its feed in one query. ``feed_key_for`` stays the rule: a
    poll whose key this gives otherwise (it never should) reads its feed apart."""
    manager = User.role.in_(MANAGERS)
    return Case(None, [
        ((User.role == "lawyer") & User.lawyer.is_null(False),
         SQL("'lawyer:'").concat(Cast(User.lawyer, "TEXT"))),
        (manager & User.village.is_null(False), SQL("'village:'").concat(Village.code)),
        (manager & User.town.is_null(False), SQL("'town:'").concat(Town.code)),
        (manager, SQL("'district'"))])


def _polled_query() -> _CompiledQuery:
    """The token's row (``_TOKEN_COLUMNS``), the key of its feed and the stored feed's
    validators (``_STORED_COLUMNS``, NULL when never published) in one indexed read."""
    columns = (*_TOKEN_COLUMNS, FeedSnapshot.key, *_STORED_COLUMNS)
    return _CompiledQuery(
        lambda token_hash: _with_user(FeedToken.select(*columns), token_hash)
        .join(FeedSnapshot, JOIN.LEFT_OUTER, on=(FeedSnapshot.key == _feed_key_sql()),
              src=FeedToken),
        (*_TOKEN_COLUMNS, FeedSnapshot.key, *_STORED_TYPES))


def find_token(raw: str) -> FeedToken | None:
    """The live token for a raw token from a URL, or None (unknown, revoked, or its user
    can no longer have a feed). The lookup is by SHA-256, so its timing says nothing about
    how much of a guess was right. One indexed query, which brings what ``feed_key_for``
    needs of the user (their role, their town's and village's codes) along."""
    if not isinstance(raw, str) or not _TOKEN_SHAPE.match(raw):
        return None
    wanted = _hash(raw)
    return _live_token(_TOKEN_QUERY.row(wanted), wanted)


def polled_feed(raw: str, *,
                gzip_ok: bool = False) -> tuple[FeedToken, str, "StoredFeed | None"] | None:
    """What a calendar's poll of a token URL needs, in one indexed query: the live token
    (``find_token``: None as it gives None), its feed's key and the published feed's
    validators as ``stored_feed`` reads them (None when never published)."""
    if not isinstance(raw, str) or not _TOKEN_SHAPE.match(raw):
        return None
    wanted = _hash(raw)
    row = _POLLED_QUERY.row(wanted)
    token = _live_token(row and row[:_TOKEN_WIDTH], wanted)
    if token is None:
        return None
    key = feed_key_for(token.user)
    if row[_TOKEN_WIDTH] is None:  # never published (or the SQL's key missed it: then
        return token, key, None    # ``snapshot_for`` finds it)
    if row[_TOKEN_WIDTH] != key:  # the SQL's key is not the rule's (a bug): read it apart
        return token, key, stored_feed(key, gzip_ok=gzip_ok)
    return token, key, _stored_from(row[_TOKEN_WIDTH + 1:], gzip_ok)


def _live_token(row: tuple | None, wanted: str) -> FeedToken | None:
    if row is None or not hmac.compare_digest(row[3], wanted):
        return None
    (token_id, user_id, label, token_hash, created_at, revoked_at, last_used_at, last_client,
     role, active, lawyer_id, town_id, village_id, town_code, village_code) = row
    if revoked_at is not None or not active:
        return None
    user = User(id=user_id, role=role, active=active, lawyer=lawyer_id,
                town=Town(id=town_id, code=town_code) if town_id is not None else None,
                village=(Village(id=village_id, code=village_code)
                         if village_id is not None else None))
    try:
        feed_key_for(user)
    except ValidationError:
        return None
    return FeedToken(id=token_id, user=user, label=label, token_hash=token_hash,
                     created_at=created_at, revoked_at=revoked_at, last_used_at=last_used_at,
                     last_client=last_client)


def record_use(token: FeedToken, client: str) -> None:
    """Remember when and by what client (User-Agent) the token was last fetched: at most
    one write a minute for a client that polls (no read: the token found is the row)."""
    client = (client or "")[:CLIENT_MAX]
    now = clock.now_utc()
    recent = token.last_used_at is not None and now - token.last_used_at < USE_RECORD_INTERVAL
    if recent and token.last_client == client:
        return  # a client polling fast does not cost a write per fetch
    token.last_used_at, token.last_client = now, client
    (FeedToken.update(last_used_at=now, last_client=client)
     .where(FeedToken.id == token.id).execute())


@dataclass(frozen=True)
class StoredFeed:
    """What the web needs of a published feed to answer: its validators, whether the
    answer is the stored gzip copy (``gzipped``: the client accepts it and it is there),
    and its bytes when they are at hand (``content``: a feed rendered for this request;
    otherwise ``stored_content`` reads them, and a 304 never does)."""
    id: int
    etag: str
    generated_at: dt.datetime
    gzipped: bool
    content: bytes | None = None


# What a feed's answer reads of its snapshot: the validators and whether a gzip copy is
# stored. LENGTH reads the blob's size, never its bytes (SQLite: from the record's header;
# PostgreSQL: without de-TOASTing). ``_STORED_TYPES``: how the driver's values convert.
_STORED_COLUMNS = (FeedSnapshot.id, FeedSnapshot.etag, FeedSnapshot.generated_at,
                   fn.LENGTH(FeedSnapshot.body_gzip))
_STORED_TYPES = (FeedSnapshot.id, FeedSnapshot.etag, FeedSnapshot.generated_at, IntegerField())


def _stored_query(village: bool) -> _CompiledQuery:
    def build(key, code=None):
        query = FeedSnapshot.select(*_STORED_COLUMNS).where(FeedSnapshot.key == key)
        if village:
            query = query.where(fn.EXISTS(Village.select(SQL("1")).where(Village.code == code)))
        return query
    return _CompiledQuery(build, _STORED_TYPES)


_STORED_QUERIES = {village: _stored_query(village) for village in (False, True)}
_POLLED_QUERY = _polled_query()
_CONTENT_QUERIES = {
    gzipped: _CompiledQuery(lambda snapshot_id, column=column: FeedSnapshot.select(column)
                       .where(FeedSnapshot.id == snapshot_id), (FeedSnapshot.body,))
    for gzipped, column in ((False, FeedSnapshot.body), (True, FeedSnapshot.body_gzip))}


def stored_feed(key: str, *, gzip_ok: bool = False,
                village_code: str | None = None) -> StoredFeed | None:
    """The validators of the published feed ``key`` in one indexed read, or None when it
    was never published (``snapshot_for`` renders it) — or, with ``village_code``, when that
    village does not exist. ``gzipped`` when ``gzip_ok`` and a gzip copy is stored; the bytes
    are read apart (``stored_content``), so a client with a matching ETag gets a 304 from
    the validators alone."""
    query = _STORED_QUERIES[village_code is not None]
    row = query.row(key, village_code) if village_code is not None else query.row(key)
    return _stored_from(row, gzip_ok) if row is not None else None


def _stored_from(row: tuple, gzip_ok: bool) -> StoredFeed:
    return StoredFeed(row[0], row[1], row[2], gzipped=row[3] is not None and gzip_ok)


def stored_content(stored: StoredFeed) -> bytes:
    """The bytes of a feed ``stored_feed`` read without them (a 200 after all)."""
    value = _CONTENT_QUERIES[stored.gzipped].row(stored.id)
    if value is None:  # replaced in between: never, rows are updated in place
        raise NotFound(N_("Not found"))
    return bytes(value[0])


def feed_urls(raw: str, base_url: str) -> dict:
    """The token's feed URL as the web address and as ``webcal://`` (which makes Apple
    Calendar and Outlook offer to subscribe)."""
    return _both(f"{base_url.rstrip('/')}/feeds/{raw}.ics")


def village_feed_urls(code: str, base_url: str) -> dict:
    """The public feed of a village, as ``feed_urls`` gives a token's."""
    return _both(f"{base_url.rstrip('/')}{VILLAGE_FEED_PATH.format(code=code)}")


def _both(web: str) -> dict:
    parts = urlsplit(web)
    return {"https": web, "webcal": urlunsplit(("webcal", *parts[1:]))}


# --- rendering -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Feed:
    """What a key selects: its calendar name, its events and how much it may say."""
    name: str
    scope: str  # which events: "lawyer", "town", "village" (of ``scope_id``), "district"
    scope_id: int | None
    district_name: str  # read with the feed's owner (LOCATION names it)
    public: bool = False  # residents read it: no description, the village's page as URL
    alarms: bool = False  # reminders: for the lawyer who has to be there
    coordinator: bool = False  # the village, the lawyer, a link; a shorter window
    lawyer_id: int | None = None  # a lawyer's feed keeps what was handed over from them
    district: bool = False  # the district's: bounded (DISTRICT_WINDOW_*, DISTRICT_*_MAX)

    @property
    def variant(self) -> str:
        """Which VEVENT text the feed shows of an event (``_block``)."""
        if self.public:
            return "public"
        return "coordinator" if self.coordinator else "lawyer"

    @property
    def window(self) -> tuple[dt.timedelta, dt.timedelta]:
        return _window(self.coordinator, self.district)


def _window(coordinator: bool, district: bool) -> tuple[dt.timedelta, dt.timedelta]:
    if district:
        return DISTRICT_WINDOW_BACK, DISTRICT_WINDOW_AHEAD
    if coordinator:
        return COORDINATOR_WINDOW_BACK, COORDINATOR_WINDOW_AHEAD
    return WINDOW_BACK, WINDOW_AHEAD


# What each kind of key names (``_Feed``'s flags): the key alone decides the window, so the
# window is known before the one statement that reads the owner and the events together.
_KEY_KINDS = {
    "lawyer": {"alarms": True},
    "town": {"coordinator": True},
    "village": {"public": True},
    "district": {"coordinator": True, "district": True},
}


def _parsed(key: str) -> tuple[str, object]:
    """The key's kind and argument (a lawyer's id, a town's or village's code, None for
    the district); ``NotFound`` for a key that cannot name a feed."""
    kind, _, arg = key.partition(":")
    if key == "district":
        return kind, None
    if kind == "lawyer" and arg.isdigit():
        return kind, int(arg)
    if kind in ("town", "village") and arg:
        return kind, arg
    raise NotFound(N_("There is no calendar feed %(key)s."), key=key)


def _feed_of(key: str, kind: str, owner: tuple | None) -> _Feed:
    """The feed from its owner's row (id, name, the district's name); ``NotFound`` when the
    key names no lawyer, town or village."""
    if owner is None:
        raise NotFound(N_("There is no calendar feed %(key)s."), key=key)
    owner_id, name, district = owner
    district = district or ""
    options = dict(_KEY_KINDS[kind])
    if kind == "district":
        return _Feed(f"{CALENDAR_PREFIX} · {district}".rstrip(" ·"), kind, None, district,
                     **options)
    if kind == "lawyer":
        options["lawyer_id"] = owner_id
    return _Feed(f"{CALENDAR_PREFIX} · {name}", kind, owner_id, district, **options)


def _shown(now: dt.datetime, window=(WINDOW_BACK, WINDOW_AHEAD)):
    """The events a feed shows at ``now`` (a WHERE clause on Event): those in its window, a
    cancellation for CANCELLED_KEPT, and only events of a village."""
    back, ahead = window
    return _shown_between(now - back, now + ahead, now - CANCELLED_KEPT)


def _shown_between(start, end, kept_since):
    kept = (Event.status != "cancelled") | (Event.updated_at >= kept_since)
    return Event.starts_at.between(start, end) & Event.village.is_null(False) & kept


# Which events each kind of feed shows (a WHERE clause on Event joined with its Village and
# Town), by the key's argument: the lawyer's id, the town's or the village's code.
_SCOPES = {
    "lawyer": lambda arg: Event.lawyer == arg,
    "town": lambda arg: Town.code == arg,
    "village": lambda arg: (Village.code == arg) & Event.kind.in_(PUBLIC_KINDS),
    "district": lambda _arg: Event.id.is_null(False),
}
# A feed's owner (id, name) by the key's argument; the district's feed has none.
_OWNERS = {
    "lawyer": (Lawyer, lambda arg: Lawyer.id == arg),
    "town": (Town, lambda arg: Town.code == arg),
    "village": (Village, lambda arg: Village.code == arg),
}


def _district_name():
    """The district's name, as a column of the query that reads a feed's owner."""
    return District.select(District.name).order_by(District.id).limit(1)


# What the feeds read of an event, its village, town and lawyer (not the whole rows: building
# the SQL and the objects of every column costs more than the query).
_EVENT_COLUMNS = (Event.id, Event.uid, Event.kind, Event.village, Event.pairing, Event.lawyer,
                  Event.starts_at, Event.ends_at, Event.status, Event.sequence,
                  Event.description, Event.held_start, Event.held_end, Event.cancel_reason,
                  Event.placement, Event.arranged_on, Event.makeup_for, Event.created_at,
                  Event.updated_at, Event.shown_hash)
_RELATED_COLUMNS = (Village.id, Village.name, Village.code, Village.address, Village.town,
                    Town.id, Town.name, Town.judicial_office, Town.office_head,
                    Town.office_phone, Lawyer.id, Lawyer.name)
_Missed = Event.alias("missed")


def _placement_columns():
    """What an event's placement note needs besides the event (``placement_note``): the
    name of the day off it left, the start of the event a make-up makes up for. Correlated
    lookups by a unique key, made only for the events placed so (rare)."""
    holiday = Holiday.select(Holiday.name).where((Holiday.day == Event.arranged_on)
                                                 & (Holiday.kind == "off"))
    missed = _Missed.select(_Missed.starts_at).where(_Missed.id == Event.makeup_for)
    return (Case(None, [(Event.placement == "day_off", holiday)]),
            Case(None, [(Event.placement == "makeup", missed)]))


_Active = Pairing.alias("active_pairing")
_Scheduled = Task.alias("scheduled")


def _contact_pairing():
    """The pairing whose WeChat group describes an event: its own, or for an event of no
    pairing its village's active one (one at most: a unique index)."""
    active = _Active.select(_Active.id).where((_Active.village == Event.village)
                                              & (_Active.status == "active"))
    return Case(None, [(Event.pairing.is_null(), active)], Event.pairing)


def _chosen(handed: int):
    """What a feed's statement keeps of each event it shows (``_FEED_EVENT_NAMES``): its id
    and kind, the pairing of its contacts, and ``handed`` (1: handed over from the lawyer
    whose feed it is). Joined with its village and town, which the scopes name."""
    return (Event.select(Event.id, Event.kind, _contact_pairing(), SQL(str(int(handed))))
            .join(Village).join(Town))


class _Town:
    __slots__ = ("id", "name", "judicial_office", "office_head", "office_phone")

    def __init__(self, *values):
        (self.id, self.name, self.judicial_office, self.office_head,
         self.office_phone) = values


class _Village:
    __slots__ = ("id", "name", "code", "address", "town_id", "town")

    def __init__(self, *values):
        self.id, self.name, self.code, self.address, self.town_id, self.town = values


class _Lawyer:
    __slots__ = ("id", "name")

    def __init__(self, lawyer_id, name):
        self.id, self.name = lawyer_id, name


class _EventRow:
    """What the feeds read of an event (``_EVENT_COLUMNS``, under the model's attribute
    names) with its village, town and lawyer, what its placement note names (the holiday's
    name, the start of the event a make-up makes up for) and, for a task event, its task's
    (programme, task type) slugs: plain objects, a fifth of the cost of peewee's models for
    the same columns."""
    __slots__ = ("id", "uid", "kind", "village_id", "pairing_id", "lawyer_id", "starts_at",
                 "ends_at", "status", "sequence", "description", "held_start", "held_end",
                 "cancel_reason", "placement", "arranged_on", "makeup_for_id", "created_at",
                 "updated_at", "shown_hash", "village", "lawyer", "holiday_name",
                 "made_up_at", "task")


_EVENT_WIDTH = len(_EVENT_COLUMNS)
_EVENT_FIELDS = _EventRow.__slots__[:_EVENT_WIDTH]


def _event_rows(rows) -> list[_EventRow]:
    """Events from the statement's event rows (``_BLOCKS["e"]`` without the ``handed``
    mark); a village, town or lawyer named by several events is one object."""
    towns, villages, lawyers = {}, {}, {}
    events = []
    for row in rows:
        event = _EventRow()
        for field, value in zip(_EVENT_FIELDS, row):
            setattr(event, field, value)
        (village_id, village_name, code, address, town_id, _town, town_name, office,
         head, phone, lawyer_id, lawyer_name, event.holiday_name,
         event.made_up_at) = row[_EVENT_WIDTH:]
        village = villages.get(village_id)
        if village is None:
            town = towns.get(town_id)
            if town is None:
                town = towns[town_id] = _Town(town_id, town_name, office, head, phone)
            village = villages[village_id] = _Village(village_id, village_name, code, address,
                                                      town_id, town)
        event.village = village
        lawyer = None
        if lawyer_id is not None:
            lawyer = lawyers.get(lawyer_id)
            if lawyer is None:
                lawyer = lawyers[lawyer_id] = _Lawyer(lawyer_id, lawyer_name)
        event.lawyer = lawyer
        event.task = None
        events.append(event)
    return events


# --- a feed in one statement -----------------------------------------------------------------
#
# A feed is read with ONE statement (``_FEED_QUERIES``: compiled once per kind of key, and
# PREPAREd on psycopg2): a planning or an import republishes every feed, and each statement
# is a round trip and, on PostgreSQL, a plan. It is a UNION ALL of kinds of rows, told apart
# by the first column; each kind fills its own block of columns (``_BLOCKS``), NULL elsewhere:
#
#   "o"  the owner: its id and name and the district's name (no row: the key names nothing)
#   "e"  the feed's events with their village, town, lawyer and placement words; a lawyer's
#        feed adds the events handed over from them within CANCELLED_KEPT (``handed`` = 1)
#   "c"  the WeChat groups of those events' pairings (or, for an event of no pairing, of its
#        village's active pairing), one row per village-side member
#   "t"  the programme and task type of the task events
#
# Which events are shown is decided once, in a CTE (``feed_event``: their ids, kinds and
# contact pairings) that the "e", "c" and "t" rows read: the contacts and task kinds are
# those of exactly the events shown, as they were with a query each.

_BLOCKS = {  # kind -> the fields its block's columns have the types of
    "o": (Lawyer.id, Lawyer.name, District.name),
    "e": (*_EVENT_COLUMNS, *_RELATED_COLUMNS, Holiday.name, Event.starts_at, IntegerField()),
    "c": (WechatGroup.id, WechatGroup.name, Pairing.id, Pairing.village, Pairing.status,
          WechatGroupMember.id, WechatGroupMember.role, WechatGroupMember.name,
          WechatGroupMember.phone),
    "t": (Task.event, Task.id, Task.program, Task.task_type),
}
# Integers and text come from either driver as peewee gives them: only the other columns
# (times and dates, which SQLite gives as text) are converted.
_AS_GIVEN = (IntegerField, ForeignKeyField, CharField, TextField)
_SLICES, _CONVERTERS = {}, {}  # kind -> its block; (position in it, conversion) of its columns
_first = 1  # after the kind
for _kind, _fields in _BLOCKS.items():
    _SLICES[_kind] = slice(_first, _first + len(_fields))
    _CONVERTERS[_kind] = tuple((i, field.python_value) for i, field in enumerate(_fields)
                               if not isinstance(field, _AS_GIVEN))
    _first += len(_fields)
_FEED_EVENT_NAMES = ("event_id", "event_kind", "contact_pairing", "handed")  # the CTE's
del _first, _kind, _fields


class _Null(ColumnBase):
    """NULL with the type of ``field``'s column. PostgreSQL types a UNION's columns member by
    member, left to right: two bare NULLs would make a text column that the next member's
    integers or times no longer match."""

    def __init__(self, field):
        super().__init__()
        self.field = IntegerField() if isinstance(field, AutoField) else field

    def __sql__(self, ctx):
        return ctx.literal("CAST(NULL AS ").sql(self.field.ddl_datatype(ctx)).literal(")")


def _member(kind: str, columns) -> list:
    """A row kind's select list: its tag, its own block, typed NULLs in the others."""
    selected = [SQL(f"'{kind}'")]
    for block, fields in _BLOCKS.items():
        selected += list(columns) if block == kind else [_Null(field) for field in fields]
    return selected


def _feed_events(scope: str, arg, start, end, kept_since, now):
    """The events a feed shows (``_chosen``'s columns): in its window, a cancellation
    for CANCELLED_KEPT; the district's the nearest DISTRICT_BACK_MAX before ``now`` and
    DISTRICT_AHEAD_MAX after; a lawyer's with the events in its window handed over from
    the lawyer since ``kept_since`` that are no longer theirs (EventHandover): the feed
    lists them as cancelled, so calendars remove them instead of keeping a stale copy."""
    shown = _chosen(0).where(_shown_between(start, end, kept_since) & _SCOPES[scope](arg))
    if scope == "district":
        ahead = (shown.where(Event.starts_at >= now).order_by(Event.starts_at, Event.id)
                 .limit(DISTRICT_AHEAD_MAX))
        back = (shown.where(Event.starts_at < now)
                .order_by(Event.starts_at.desc(), Event.id.desc()).limit(DISTRICT_BACK_MAX))
        return ahead.union_all(back)
    if scope != "lawyer":
        return shown
    handed_ids = EventHandover.select(EventHandover.event).where(
        (EventHandover.lawyer == arg) & (EventHandover.handed_at >= kept_since))
    # The few hand-overs lead, by their index; the window is tested on the events they name,
    # not searched (a CASE no index serves): offered the time index, PostgreSQL without
    # statistics (a new or restored database) read the whole window first, 15× slower.
    in_window = Case(None, [(Event.starts_at.between(start, end), 1)], 0) == 1
    handed = _chosen(1).where(
        in_window & Event.village.is_null(False)
        & Event.id.in_(handed_ids) & (Event.lawyer.is_null() | (Event.lawyer != arg)))
    return shown.union_all(handed)


def _feed_statement(scope: str, arg, start, end, kept_since, now):
    """The feed's one statement (see above) for the key's argument and its window."""
    shown = _feed_events(scope, arg, start, end, kept_since, now).cte(
        "feed_event", columns=_FEED_EVENT_NAMES)
    if scope in _OWNERS:
        model, where = _OWNERS[scope]
        owner = model.select(*_member("o", (model.id, model.name, _district_name()))).where(
            where(arg))
    else:  # the district's feed: its name is the district's
        owner = Select(columns=_member("o", (_Null(Lawyer.id), _Null(Lawyer.name),
                                             _district_name()))).bind(db)
    # The events' columns are read here, by primary key, not kept in the CTE: SQLite
    # would copy every one of them into a temporary table first.
    events = (Event.select(*_member("e", (*_EVENT_COLUMNS, *_RELATED_COLUMNS,
                                          *_placement_columns(), shown.c.handed)))
              .join(shown, on=(shown.c.event_id == Event.id))
              .switch(Event).join(Village).join(Town)
              .switch(Event).join(Lawyer, JOIN.LEFT_OUTER))
    # One list of the events' contact pairings, worked out with the events: an OR of the
    # pairings and the villages' active ones cost SQLite twice the events.
    pairings = shown.select(shown.c.contact_pairing)
    member = WechatGroupMember
    contacts = (WechatGroup.select(*_member("c", _BLOCKS["c"]))
                .join(Pairing)
                .switch(WechatGroup)
                .join(member, JOIN.LEFT_OUTER,
                      on=(member.group == WechatGroup.id) & member.role.not_in(LAWYER_SIDE))
                .where(WechatGroup.pairing.in_(pairings)))
    # The tasks by their ids, found in the index on Task.event alone: most tasks have no
    # event, so SQLite's statistics (ANALYZE) call that index useless for anything it does
    # not cover, and asked for the tasks' columns it read every task.
    task_events = shown.select(shown.c.event_id).where(shown.c.event_kind == "task")
    task_ids = _Scheduled.select(_Scheduled.id).where(_Scheduled.event.in_(task_events))
    tasks = Task.select(*_member("t", _BLOCKS["t"])).where(Task.id.in_(task_ids))
    return owner.union_all(events).union_all(contacts).union_all(tasks).with_cte(shown)


_FEED_QUERIES = {
    scope: _CompiledQuery(lambda *values, scope=scope: _feed_statement(scope, *values),
                          ())  # its rows are converted by kind (``_feed_rows``)
    for scope in _SCOPES}


def _feed_rows(rows) -> dict:
    """The statement's rows by kind: each its own block's values, converted as peewee
    would its fields (SQLite's text dates)."""
    found = {kind: [] for kind in _BLOCKS}
    for row in rows:
        kind = row[0]
        values = list(row[_SLICES[kind]])
        for i, convert in _CONVERTERS[kind]:
            if values[i] is not None:
                values[i] = convert(values[i])
        found[kind].append(values)
    return found


@dataclass(frozen=True)
class _Read:
    """What a feed's one statement read."""
    feed: _Feed
    events: list  # _EventRow, by start
    handed: list  # events handed over from the feed's lawyer, by start
    contacts: tuple  # (by pairing id, by village id) of _Contacts


def _read(key: str, now: dt.datetime) -> _Read:
    """The feed ``key`` and everything it shows, in one statement."""
    kind, arg = _parsed(key)
    options = _KEY_KINDS[kind]
    back, ahead = _window(options.get("coordinator", False), options.get("district", False))
    cursor = _FEED_QUERIES[kind]._cursor(
        (arg, now - back, now + ahead, now - CANCELLED_KEPT, now))
    found = _feed_rows(cursor.fetchall())
    feed = _feed_of(key, kind, found["o"][0] if found["o"] else None)
    by_start = sorted(found["e"], key=lambda row: (row[6], row[0]))  # starts_at, id
    events = _event_rows(row[:-1] for row in by_start if not row[-1])
    handed = _event_rows(row[:-1] for row in by_start if row[-1])
    # a task event's task: its latest, should it have several
    tasks = {event_id: (program, task_type) for event_id, _task_id, program, task_type
             in sorted(found["t"], key=lambda row: row[1])}
    for event in events + handed:
        event.task = tasks.get(event.id)
    return _Read(feed, events, handed, _contacts_by_pairing(found["c"]))


@dataclass(frozen=True)
class _Contacts:
    """A pairing's WeChat group: its name and its village-side members (role, name, phone)
    in the plan's role order."""
    group: str
    people: tuple = ()


def _contacts_by_pairing(rows) -> tuple[dict, dict]:
    """The WeChat group and its village-side people by pairing id, and by village id for
    the village's active pairing (for events that name no pairing), from the statement's
    contact rows (group id, group name, pairing id, village id, status, member id, role,
    name, phone)."""
    groups, people = {}, {}
    for (_group_id, group, pairing_id, village_id, status, _member_id, role, name,
         phone) in sorted(rows, key=lambda row: (row[0], row[5] or 0)):  # group, member
        groups[pairing_id] = (group, village_id, status)
        if role is not None:
            people.setdefault(pairing_id, []).append((role, name, phone or ""))
    order = {role: position for position, role in enumerate(GROUP_ROLES)}
    by_pairing, by_village = {}, {}
    for pairing_id, (group, village_id, status) in groups.items():
        members = sorted(people.get(pairing_id, []), key=lambda p: order.get(p[0], len(order)))
        by_pairing[pairing_id] = _Contacts(group, tuple(members))
        if status == "active":
            by_village[village_id] = by_pairing[pairing_id]
    return by_pairing, by_village


def events_shown(where) -> list[int]:
    """The ids of the events the feeds show now, of those ``where`` selects (a WHERE clause
    on Event): what a change to what they say about them must republish."""
    return _shown_ids(where)


def _shown_ids(where) -> list[int]:
    now = clock.now_utc()
    return [event_id for (event_id,) in
            Event.select(Event.id).where(_shown(now) & where).order_by(Event.id).tuples()]


def events_of_group(pairing: Pairing) -> list[int]:
    """The events shown now whose descriptions name the WeChat group of this (active)
    pairing and its village side, as ``_contacts_by_pairing`` picks them: the pairing's own,
    and its village's events of no pairing or of a pairing without a group of its own."""
    grouped = WechatGroup.select(WechatGroup.pairing)
    return _shown_ids((Event.village == pairing.village_id)
                      & ((Event.pairing == pairing.id) | Event.pairing.is_null()
                         | Event.pairing.not_in(grouped)))


def events_of_village(village_id: int) -> list[int]:
    """The events shown now at this village (their LOCATION names it)."""
    return _shown_ids(Event.village == village_id)


def events_of_lawyer(lawyer_id: int) -> list[int]:
    """The events shown now that name this lawyer (their feed's name; the coordinators'
    feeds name each event's lawyer, and the feeds of the lawyers who handed an event over
    name who has it now: ``keys_for_events`` finds those)."""
    return _shown_ids(Event.lawyer == lawyer_id)


def _utc(instant: dt.datetime) -> dt.datetime:
    return instant.replace(tzinfo=clock.UTC)


def _times(event: Event) -> tuple[dt.datetime, dt.datetime]:
    """When it happens: as recorded for a held event, as planned otherwise."""
    if event.status == "held" and event.held_start and event.held_end:
        return clock.to_local(event.held_start), clock.to_local(event.held_end)
    return clock.to_local(event.starts_at), clock.to_local(event.ends_at)


def _task_kinds(events, locale: str) -> dict[int, tuple[str, str]]:
    """Each task event's programme name (its CATEGORIES) and task type name (its title in
    the feeds), in ``locale``, from its task's slugs read with it (``_EventRow.task``).
    Never the task's own title or data: a coordinator may have typed a resident's name
    into them."""
    tasks = [event for event in events if event.kind == "task"]
    if not tasks:
        return {}
    registry = localized_registry(locale)
    kinds = {}
    for event in tasks:
        if event.task is None:
            continue
        program, task_type = event.task
        programme = registry.programs.get(program)
        programme_name = programme.name if programme is not None else program
        kind = registry.task_types.get(task_type)
        kinds[event.id] = (programme_name, kind.name if kind is not None else programme_name)
    return kinds


def _notes(events, gettext) -> dict[int, str]:
    """The placement note of each event that has one (``core.placements.placement_note``),
    from the holiday's name and the made-up event's start read with the event."""
    notes = {}
    for event in events:
        made_up = clock.local_date(event.made_up_at) if event.made_up_at is not None else None
        note = placement_note(event, gettext, event.holiday_name or None, made_up)
        if note:
            notes[event.id] = note
    return notes


@dataclass(frozen=True)
class _Context:
    """What a feed's events are described with, loaded once for the whole feed."""
    gettext: object
    base_url: str
    district: str
    contacts: tuple  # (by pairing id, by village id) of _Contacts
    tasks: dict  # event id -> (programme name, task type name)
    notes: dict  # event id -> placement note


def _context(read: _Read, settings) -> _Context:
    gettext = gettext_for(settings.locale)
    return _Context(gettext=gettext, base_url=settings.base_url.rstrip("/"),
                    district=read.feed.district_name,
                    contacts=read.contacts,
                    tasks=_task_kinds(read.events + read.handed, settings.locale),
                    notes=_notes(read.events + read.handed, gettext))


def event_url(base_url: str, event_id: int) -> str:
    """The event's page in Jiedui (web: calendar.event)."""
    return f"{base_url.rstrip('/')}{EVENT_PATH.format(id=event_id)}"


def village_url(base_url: str, code: str) -> str:
    """The village's public page (web: public.village)."""
    return f"{base_url.rstrip('/')}{VILLAGE_PATH.format(code=code)}"


def location_of(village: Village, district_name: str) -> str:
    """Where a map app finds the village: its address, else district, town and village
    names (清溪区石湖镇东浜村)."""
    return village.address or f"{district_name}{village.town.name}{village.name}"


def cancelled_title(title: str, gettext) -> str:
    """（已取消）坐班 · 东浜村: for calendar apps that ignore STATUS:CANCELLED."""
    return gettext(CANCELLED_TITLE) % {"title": title}


def _category(event: Event, ctx: _Context) -> str:
    """坐班, 法制宣传, 村(居)活动, or a task's programme name."""
    if event.kind in EVENT_WORDS:
        return EVENT_WORDS[event.kind]
    if event.id in ctx.tasks:
        return ctx.tasks[event.id][0]
    return ctx.gettext(TASK_FALLBACK)


def _title(event: Event, ctx: _Context) -> str:
    """坐班 · 东浜村 (坐班（补） for a make-up), or a task's type and village: never a title
    someone typed (an accepted invitation's activity is 村(居)活动 · 东浜村: its title, place
    and description stay on its page)."""
    if event.kind in EVENT_WORDS:
        return event_title(event.kind, event.village.name, event.placement == "makeup")
    if event.id in ctx.tasks:
        what = ctx.tasks[event.id][1]
    else:
        what = ctx.gettext(TASK_FALLBACK)
    return f"{what} · {event.village.name}"


@dataclass(frozen=True)
class _Shown:
    """Everything any feed shows of one event. Its digest (``Event.shown_hash``) tells a
    change of any of it, so that SEQUENCE and LAST-MODIFIED follow (``refresh_shown``)."""
    summary: str
    category: str
    location: str
    start: dt.datetime
    end: dt.datetime
    status: str
    description: str  # in the lawyer's feed
    brief: str  # in the coordinators' feeds
    url: str
    public_url: str

    def digest(self) -> str:
        known = self.__dict__.get("_digest")  # computed once (a frozen dataclass)
        if known is not None:
            return known
        parts = [self.summary, self.category, self.location, self.start.isoformat(),
                 self.end.isoformat(), self.status, self.description, self.brief, self.url,
                 self.public_url]
        known = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
        self.__dict__["_digest"] = known
        return known


def _place_line(event: Event) -> str:
    return f"{event.village.name}（{event.village.town.name}）"


def _description(event: Event, contacts: _Contacts | None, ctx: _Context, url: str) -> str:
    """For the lawyer who goes there: the village, why the event is on this day (when it is
    not on the arranged one), the town's judicial office and its phone, the WeChat group
    and the people of its village side (村(居)两委, the mediation committee, ...) with their
    phones, so the lawyer can call ahead from the calendar entry, and the event's page.
    Never a task's own title, description or data (they may name residents)."""
    gettext, town = ctx.gettext, event.village.town
    lines = [_place_line(event)]
    if event.id in ctx.notes:
        lines.append(ctx.notes[event.id])
    office = " · ".join(part for part in (town.judicial_office, town.office_head) if part)
    if office:
        lines.append(gettext("Judicial office: %(office)s") % {"office": office})
    if town.office_phone:
        lines.append(gettext("Phone: %(phone)s") % {"phone": town.office_phone})
    if contacts is not None and contacts.group:
        lines.append(gettext("WeChat group: %(group)s") % {"group": contacts.group})
    if contacts is not None:
        for role, name, phone in contacts.people:
            person = " ".join(part for part in (name, phone) if part)
            lines.append(gettext("%(role)s: %(person)s")
                         % {"role": gettext(GROUP_ROLE_NAMES.get(role, role)),
                            "person": person})
    if event.status == "cancelled" and event.cancel_reason:
        lines.append(gettext("Cancelled: %(reason)s") % {"reason": event.cancel_reason})
    if event.kind != "task" and event.description:
        lines += ["", event.description]
    lines += ["", url]
    return "\n".join(lines)


def _brief(event: Event, ctx: _Context, url: str) -> str:
    """For the coordinators (town, district): the village, the lawyer's name and the event's
    page; no contacts and no phone numbers (who reads a whole district's calendar needs
    neither, and the feed stays small)."""
    lines = [_place_line(event)]
    if event.lawyer_id:
        lines.append(ctx.gettext("Lawyer: %(lawyer)s") % {"lawyer": event.lawyer.name})
    lines.append(url)
    return "\n".join(lines)


def _shown_of(event: Event, ctx: _Context) -> _Shown:
    start, end = _times(event)
    title = _title(event, ctx)
    cancelled = event.status == "cancelled"
    by_pairing, by_village = ctx.contacts
    contacts = by_pairing.get(event.pairing_id) or by_village.get(event.village_id)
    url = event_url(ctx.base_url, event.id)
    return _Shown(summary=cancelled_title(title, ctx.gettext) if cancelled else title,
                  category=_category(event, ctx),
                  location=location_of(event.village, ctx.district),
                  start=start, end=end, status="CANCELLED" if cancelled else "CONFIRMED",
                  description=_description(event, contacts, ctx, url),
                  brief=_brief(event, ctx, url), url=url,
                  public_url=village_url(ctx.base_url, event.village.code))


def _handed_over_shown(event: Event, ctx: _Context) -> _Shown:
    """A hand-over as the previous lawyer's feed shows it: cancelled, naming the lawyer who
    has it now (no phone)."""
    start, end = _times(event)
    gettext = ctx.gettext
    if event.lawyer_id:
        handed = gettext(HANDED_OVER) % {"lawyer": event.lawyer.name}
    else:
        handed = gettext(HANDED_OVER_NOBODY)
    url = event_url(ctx.base_url, event.id)
    description = "\n".join([_place_line(event), handed])
    return _Shown(summary=cancelled_title(_title(event, ctx), gettext),
                  category=_category(event, ctx),
                  location=location_of(event.village, ctx.district), start=start, end=end,
                  status="CANCELLED", description=description, brief=description, url=url,
                  public_url=village_url(ctx.base_url, event.village.code))


def alarm_trigger(alarm: FeedAlarm, start: dt.datetime) -> dt.timedelta:
    """The alarm's offset from ``start`` (an aware district time): a plain duration, or
    the clock time ``at`` on the day ``offset`` days before the start's date."""
    if alarm.at is None:
        return alarm.offset
    day = start.date() + dt.timedelta(days=alarm.offset.days)
    return dt.datetime.combine(day, alarm.at, tzinfo=start.tzinfo) - start


def _alarms(event: Event, start: dt.datetime, summary: str, alarms) -> list[ICalAlarm]:
    if event.status != "planned":
        return []
    triggers = sorted({alarm_trigger(alarm, start) for alarm in alarms})
    return [ICalAlarm.new_display(summary, trigger) for trigger in triggers
            if trigger <= dt.timedelta(0)]  # a clock time after the start reminds of nothing


def _vevent(event: Event, shown: _Shown, feed: _Feed, alarms) -> ICalEvent:
    fields = dict(uid=event.uid, stamp=_utc(event.updated_at),
                  last_modified=_utc(event.updated_at), created=_utc(event.created_at),
                  sequence=event.sequence, start=shown.start, end=shown.end,
                  summary=shown.summary, location=shown.location, categories=[shown.category],
                  status=shown.status, url=shown.public_url if feed.public else shown.url)
    if not feed.public:
        fields["description"] = shown.brief if feed.coordinator else shown.description
    vevent = ICalEvent.new(**fields)
    if feed.alarms and shown.status != "CANCELLED":
        for alarm in _alarms(event, shown.start, shown.summary, alarms):
            vevent.add_component(alarm)
    return vevent


@dataclass
class _Prepared:
    """A feed loaded for rendering: its events with what each shows, and the hand-overs."""
    key: str
    feed: _Feed
    settings: object
    events: list
    shown: dict  # event id -> _Shown
    handed: list  # events handed over from the feed's lawyer (a lawyer's feed)
    handed_shown: dict


def _prepare(key: str, now: dt.datetime | None) -> _Prepared:
    """The feed read (``_read``: one statement) and what each of its events shows."""
    settings = get_settings()
    read = _read(key, now or clock.now_utc())
    ctx = _context(read, settings)
    events, handed = read.events, read.handed
    return _Prepared(key, read.feed, settings, events,
                     {e.id: _shown_of(e, ctx) for e in events},
                     handed, {e.id: _handed_over_shown(e, ctx) for e in handed})


FOOTER = b"END:VCALENDAR\r\n"
BLOCKS_KEPT = 20_000  # VEVENT texts kept in a process (~1 kB each): a district feed is 1,000
_blocks: "OrderedDict[tuple, bytes]" = OrderedDict()
_blocks_lock = threading.Lock()
block_renders = 0  # VEVENTs serialised since the process started (the tests count them)


def _block(event: Event, shown: _Shown, feed: _Feed, alarms) -> bytes:
    """The VEVENT text of ``event`` as ``feed`` shows it, serialised once per process for
    every feed that shows the same: the key holds all the VEVENT says (the event's
    identity, SEQUENCE and times, the digest of what it shows, the variant of the text and
    the reminders), so a cached text is never stale."""
    global block_renders
    key = (feed.variant, feed.alarms and alarms, event.id, event.uid, event.sequence,
           event.status, event.created_at, event.updated_at, shown.digest())
    with _blocks_lock:
        block = _blocks.get(key)
        if block is not None:
            _blocks.move_to_end(key)
            return block
    block = _vevent(event, shown, feed, alarms).to_ical()
    with _blocks_lock:
        block_renders += 1
        _blocks[key] = block
        while len(_blocks) > BLOCKS_KEPT:
            _blocks.popitem(last=False)
    return block


@functools.lru_cache(maxsize=256)
def _header(name: str, zone_name: str, note: str) -> bytes:
    """The calendar's properties (everything before its components)."""
    calendar = ICalCalendar.new(prodid=PRODID, calscale="GREGORIAN", method="PUBLISH",
                                name=name)
    # No calendar-level UID (Calendar.new adds one): vdirsyncer names each item by the first
    # UID line it meets, so one before the events would give all of them the same name.
    calendar.pop("UID", None)
    calendar.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", "PT1H")
    calendar.add("X-WR-TIMEZONE", zone_name)
    if note:
        calendar.add("X-WR-CALDESC", note)
    text = calendar.to_ical()
    assert text.endswith(FOOTER)
    return text[:-len(FOOTER)]


def _render(prepared: _Prepared) -> bytes:
    """The calendar as bytes: its header, the district's VTIMEZONE (every event's times are
    district times), each event's VEVENT text (``_block``, shared with the other feeds that
    show it) and the footer. The same bytes icalendar gives for the whole tree, without
    building one per feed."""
    feed, settings = prepared.feed, prepared.settings
    zone_name = clock.zone().key
    alarms = settings.feed_alarms
    listed = [(e, prepared.shown[e.id]) for e in prepared.events]
    listed += [(e, prepared.handed_shown[e.id]) for e in prepared.handed]
    listed.sort(key=lambda pair: (pair[0].starts_at, pair[0].id))
    note = ""
    if feed.district:
        note = gettext_for(settings.locale)(DISTRICT_NOTE) % {
            "n": DISTRICT_BACK_MAX + DISTRICT_AHEAD_MAX}
    # The zone goes first, as Calendar.add_missing_timezones puts it (from a cache: building
    # a VTIMEZONE costs more than rendering a lawyer's whole year); an empty feed has it as
    # its one component (RFC 5545 wants at least one).
    parts = [_header(feed.name, zone_name, note), _timezone_text(zone_name)]
    parts += [_block(event, shown, feed, alarms) for event, shown in listed]
    parts.append(FOOTER)
    return b"".join(parts)


def render_feed(key: str, *, now: dt.datetime | None = None) -> bytes:
    """The feed named ``key`` as iCalendar bytes (RFC 5545). The same data always gives
    the same bytes (no generation time inside), so the ETag changes only with the content.
    ``NotFound`` for a key that names nothing. Pure: writes nothing (``publish`` first
    bumps the events whose shown content changed)."""
    return _render(_prepare(key, now))


def refresh_shown(events: list[Event], shown: dict) -> list[int]:
    """Bump SEQUENCE and LAST-MODIFIED (``updated_at``) of each event whose shown content
    (``shown[event.id]``, everything any feed shows of it) changed since it was last
    published, and remember what it shows (``Event.shown_hash``, "<sequence>:<digest>").
    A contact's new phone, a town's new judicial office, a village's new address change
    what an event shows without changing the event: without the bump, calendar apps keep
    the old text. An event that a service changed (and bumped) since, or that was never
    published, is only remembered. One UPDATE per changed event, in one transaction, each
    conditional on what was read (a concurrent publisher's bump is not repeated). The
    events are updated in place. Returns the ids of the events bumped."""
    now = clock.now_utc()
    writes = []
    for event in events:
        digest = shown[event.id].digest()
        stored_sequence, _, stored_digest = (event.shown_hash or "").partition(":")
        if stored_digest == digest:
            continue
        bump = bool(event.shown_hash) and stored_sequence == str(event.sequence)
        writes.append((event, digest, bump))
    bumped = []
    if not writes:
        return bumped
    with transaction():
        for event, digest, bump in writes:
            unchanged = ((Event.id == event.id) & (Event.shown_hash == event.shown_hash)
                         & (Event.sequence == event.sequence))
            sequence = event.sequence + 1 if bump else event.sequence
            fields = {Event.shown_hash: f"{sequence}:{digest}"}
            if bump:
                fields.update({Event.sequence: sequence, Event.updated_at: now})
            if Event.update(fields).where(unchanged).execute():
                event.shown_hash = f"{sequence}:{digest}"
                if bump:
                    event.sequence, event.updated_at = sequence, now
                    bumped.append(event.id)
    return bumped


@functools.lru_cache(maxsize=8)
def _timezone(tzid: str) -> ICalTimezone:
    """The VTIMEZONE of ``tzid`` from 2000 on; shared by every feed, which only serialise it."""
    return ICalTimezone.from_tzid(tzid, first_date=ZONE_FIRST_DATE)


@functools.lru_cache(maxsize=8)
def _timezone_text(tzid: str) -> bytes:
    return _timezone(tzid).to_ical()


# --- publishing ------------------------------------------------------------------------------

def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()}"'


def gzip_etag(etag: str) -> str:
    """The ETag of the gzip-compressed bytes: another representation, another tag."""
    return f'{etag[:-1]}-gzip"' if etag.endswith('"') else f"{etag}-gzip"


def compress(body: bytes) -> bytes:
    """gzip without a time stamp: the same feed compresses to the same bytes."""
    return gzip.compress(body, compresslevel=9, mtime=0)


def publish(key: str, *, now: dt.datetime | None = None) -> FeedSnapshot:
    """Bump the events whose shown content changed (``refresh_shown``), render the feed and
    store it with its gzip-compressed bytes. Idempotent: the same content keeps its ETag
    and ``generated_at`` (which is the feed's Last-Modified)."""
    return FeedSnapshot.get_by_id(_publish(key, now))


def _publish(key: str, now: dt.datetime | None = None) -> int:
    """``publish``'s work; the snapshot's id. What is stored is read without its bytes (an
    unchanged feed, the hourly job's usual case, compares ETags only)."""
    began = clock.now_utc()
    prepared = _prepare(key, now)
    refresh_shown(prepared.events, prepared.shown)
    body = _render(prepared)
    etag = etag_of(body)
    stored = (FeedSnapshot.select(FeedSnapshot.id, FeedSnapshot.etag,
                                  FeedSnapshot.body_gzip.is_null(False))
              .where(FeedSnapshot.key == key).tuples().first())
    snapshot_id, stored_etag, has_gzip = stored if stored is not None else (None, None, False)
    if stored_etag == etag and has_gzip:
        return snapshot_id
    body_gzip = compress(body)
    if stored_etag == etag:  # stored before gzip was: add it
        (FeedSnapshot.update(body_gzip=body_gzip).where(FeedSnapshot.id == snapshot_id)
         .execute())
        return snapshot_id
    generated_at = clock.now_utc().replace(microsecond=0)  # HTTP dates have whole seconds
    if snapshot_id is not None:
        (FeedSnapshot.update(body=body, body_gzip=body_gzip, etag=etag,
                             generated_at=generated_at)
         .where(FeedSnapshot.id == snapshot_id).execute())
        return snapshot_id
    try:
        with transaction():
            FeedSnapshot.create(key=key, body=body, body_gzip=body_gzip, etag=etag,
                                generated_at=generated_at)
    except IntegrityError:  # another publisher stored it first: store ours over theirs
        (FeedSnapshot.update(body=body, body_gzip=body_gzip, etag=etag,
                             generated_at=generated_at)
         .where(FeedSnapshot.key == key).execute())
    # A first publishing: a change committed while it read was not marked on a published
    # feed (there was none), so its mark (``mark_dirty``) is looked for here: read again.
    if _marked_since(key, began):
        return _publish(key, now)
    # the marks of changes it read are done with
    FeedDirty.delete().where((FeedDirty.key == key) & (FeedDirty.marked_at < began)).execute()
    return FeedSnapshot.get(FeedSnapshot.key == key).id


def snapshot_for(key: str) -> FeedSnapshot:
    """The stored feed, rendered on the spot the first time it is asked for. Once a feed
    was published, its last good snapshot is served even while rendering it fails."""
    snapshot = FeedSnapshot.get_or_none(FeedSnapshot.key == key)
    if snapshot is not None:
        return snapshot
    try:
        return publish(key)
    except NotFound:
        raise
    except Exception as exc:
        _report_failure(key, exc)
        raise


def publish_keys(keys) -> dict:
    """Publish each feed; one that fails is logged and reported to the administrators
    (its last good snapshot stays, and so does its dirty mark), and the others still go
    out. A published feed's dirty mark is removed, unless it was marked again meanwhile.
    Returns {key: "published" | "failed"}."""
    keys = sorted(set(keys))
    marks = {}
    for first in range(0, len(keys), CHUNK):
        marks.update(FeedDirty.select(FeedDirty.key, FeedDirty.marked_at)
                     .where(FeedDirty.key.in_(keys[first:first + CHUNK])).tuples())
    results = {}
    for key in keys:
        try:
            _publish(key)
            results[key] = "published"
            if key in marks:
                (FeedDirty.delete().where((FeedDirty.key == key)
                                          & (FeedDirty.marked_at == marks[key])).execute())
        except Exception as exc:  # noqa: BLE001 — one broken feed must not stop the rest
            log.exception("could not publish the calendar feed %s", key)
            if not isinstance(exc, NotFound):  # a feed of nothing (e.g. a gone town) is no fault
                _report_failure(key, exc)
            elif key in marks:  # nor is it worth trying again
                FeedDirty.delete().where(FeedDirty.key == key).execute()
            results[key] = "failed"
    return results


def _report_failure(key: str, exc: Exception) -> None:
    report("feed", f"feed:{key}", f"calendar feed {key} could not be rendered: "
                                  f"{error_text(exc)}",
           detail="".join(traceback.format_exception(exc)))


def keys_for_events(event_ids) -> set[str]:
    """Every feed the events appear in, or appeared in: the lawyer's, the town's, the
    district's, (for sessions and publicity) the village's, and the feeds of the lawyers
    they were handed over from within CANCELLED_KEPT (which list them as cancelled)."""
    ids = sorted(set(event_ids))
    events = []
    for first in range(0, len(ids), CHUNK):
        events.extend(Event.select(Event.id, Event.kind, Event.lawyer, Village.code,
                                   Town.code.alias("town_code"))
                      .join(Village).join(Town)
                      .where(Event.id.in_(ids[first:first + CHUNK]))
                      .objects())
    keys = set()
    for event in events:
        keys.add("district")
        keys.add(f"town:{event.town_code}")
        if event.lawyer_id:
            keys.add(f"lawyer:{event.lawyer_id}")
        if event.kind in PUBLIC_KINDS:
            keys.add(f"village:{event.code}")
    since = clock.now_utc() - CANCELLED_KEPT
    found = [event.id for event in events]
    for first in range(0, len(found), CHUNK):
        handed = (EventHandover.select(EventHandover.lawyer).distinct()
                  .where(EventHandover.event.in_(found[first:first + CHUNK])
                         & (EventHandover.handed_at >= since)).tuples())
        keys |= {f"lawyer:{lawyer_id}" for (lawyer_id,) in handed}
    return keys


def publish_events(event_ids) -> dict:
    """Republish every feed the events appear in, published before or not."""
    return publish_keys(keys_for_events(event_ids))


def _published(keys) -> list[str]:
    """Those of ``keys`` that have a snapshot (the others are rendered when first asked
    for: ``snapshot_for``)."""
    keys = sorted(set(keys))
    found = []
    for first in range(0, len(keys), CHUNK):
        found.extend(key for (key,) in FeedSnapshot.select(FeedSnapshot.key)
                     .where(FeedSnapshot.key.in_(keys[first:first + CHUNK])).tuples())
    return sorted(found)


# How long the mark of a feed never published is kept: a first rendering begun before the
# change it missed finds the mark when it stores the feed (``_marked_since``), then reads
# again. No rendering takes this long; older marks of unpublished feeds are dropped.
FIRST_RENDER_GRACE = dt.timedelta(minutes=10)


def mark_dirty(event_ids) -> list[str]:
    """Mark the feeds these events appear in (``keys_for_events``) for publishing
    (``FeedDirty``): what ``core.reactions`` does once a change is committed, before it
    queues the job. The mark stays until the feed is published, so a queue that is down
    only delays it (the hourly ``catch_up``). Feeds not published yet are marked too, so
    that one being rendered for the first time meanwhile is read again, but only published
    feeds are published (``dirty_keys``). Returns the published keys marked."""
    keys = sorted(keys_for_events(event_ids))
    if keys:
        now = clock.now_utc()
        for first in range(0, len(keys), CHUNK):
            (FeedDirty.insert_many([{"key": key, "marked_at": now}
                                    for key in keys[first:first + CHUNK]])
             .on_conflict(conflict_target=[FeedDirty.key],
                          update={FeedDirty.marked_at: now})
             .execute())
    return _published(keys)


def _marked_since(key: str, since: dt.datetime) -> bool:
    return FeedDirty.select().where((FeedDirty.key == key)
                                    & (FeedDirty.marked_at >= since)).exists()


def dirty_keys() -> list[str]:
    """The published feeds marked dirty."""
    return [key for (key,) in FeedDirty.select(FeedDirty.key)
            .join(FeedSnapshot, on=(FeedSnapshot.key == FeedDirty.key))
            .order_by(FeedDirty.key).tuples()]


def _drop_unpublished_marks() -> None:
    """The marks of feeds still never published, once no first rendering can need them."""
    published = FeedSnapshot.select(FeedSnapshot.key).where(FeedSnapshot.key == FeedDirty.key)
    (FeedDirty.delete().where(~fn.EXISTS(published)
                              & (FeedDirty.marked_at < clock.now_utc() - FIRST_RENDER_GRACE))
     .execute())


def publish_dirty() -> dict:
    """The job's work: publish every feed marked dirty. A burst of changes (an import, a
    planning) queues a job each, and the first to run publishes what all of them marked;
    the others find little or nothing left."""
    _drop_unpublished_marks()
    return publish_keys(dirty_keys())


def _crossing(since: dt.datetime, now: dt.datetime, window) -> list[int]:
    """The events that entered or left a window (back, ahead) between ``since`` and ``now``
    as the clock moved: their start passed its back edge or its front edge."""
    back, ahead = window
    moved = (Event.starts_at.between(since - back, now - back)
             | Event.starts_at.between(since + ahead, now + ahead))
    return [i for (i,) in Event.select(Event.id).where(moved & Event.village.is_null(False))
            .tuples()]


def window_crossings(since: dt.datetime, now: dt.datetime) -> set[str]:
    """The feeds whose content changed between ``since`` and ``now`` only because the clock
    moved: an event left or entered their window, a cancellation or a hand-over passed
    CANCELLED_KEPT, and (the district's feed holds the events nearest to now) an event
    started. A few indexed queries on Event for the time that passed, whatever the number
    of feeds."""
    keys = set()
    kept = ((Event.status == "cancelled")
            & Event.updated_at.between(since - CANCELLED_KEPT, now - CANCELLED_KEPT))
    expired = [i for (i,) in Event.select(Event.id).where(kept).tuples()]
    handed = (EventHandover.select(EventHandover.lawyer).distinct()
              .where(EventHandover.handed_at.between(since - CANCELLED_KEPT,
                                                     now - CANCELLED_KEPT)).tuples())
    keys |= {f"lawyer:{lawyer_id}" for (lawyer_id,) in handed}
    started = [i for (i,) in Event.select(Event.id)
               .where(Event.starts_at.between(since, now)).tuples()]
    for window, kinds in (((WINDOW_BACK, WINDOW_AHEAD), ("lawyer:", "village:")),
                          ((COORDINATOR_WINDOW_BACK, COORDINATOR_WINDOW_AHEAD), ("town:",)),
                          ((DISTRICT_WINDOW_BACK, DISTRICT_WINDOW_AHEAD), ("district",))):
        ids = _crossing(since, now, window) + expired
        if kinds == ("district",):
            ids += started
        if ids:
            keys |= {key for key in keys_for_events(ids) if key.startswith(kinds)}
    return keys


def catch_up(*, now: dt.datetime | None = None) -> dict:
    """The hourly job's work: publish what was missed — the feeds still marked dirty (a
    queue that was down, a publishing that failed or was killed) and the published feeds
    whose window moved across an event since the last catch-up (``window_crossings``).
    Unchanged feeds are not rendered. The first catch-up (or one after the clock went back)
    republishes every feed (``publish_all``)."""
    now = now or clock.now_utc()
    _drop_unpublished_marks()
    check = FeedWindowCheck.select().order_by(FeedWindowCheck.id).first()
    if check is None or check.checked_at > now:
        results = publish_all()
    else:
        keys = set(dirty_keys()) | set(_published(window_crossings(check.checked_at, now)))
        results = publish_keys(keys)
    if check is None:
        FeedWindowCheck.create(checked_at=now)
    else:
        FeedWindowCheck.update(checked_at=now).where(FeedWindowCheck.id == check.id).execute()
    return results


def all_feed_keys() -> set[str]:
    """Feeds worth keeping fresh: those already published, and every active token's."""
    keys = {key for (key,) in FeedSnapshot.select(FeedSnapshot.key).tuples()}
    users = (User.select().join(FeedToken)
             .where(FeedToken.revoked_at.is_null() & User.active).distinct())
    for user in users:
        try:
            keys.add(feed_key_for(user))
        except ValidationError:
            continue
    return keys


def publish_all() -> dict:
    """Republish every feed: the window moves with the clock (and a change whose feeds could
    not be queued is caught up). Unchanged feeds keep their ETag."""
    return publish_keys(all_feed_keys())


def publish_changes(event_ids) -> None:
    """Republish the feeds these events are in, once the change is committed: what every
    service calls for the events its change touched (events, the planner, tasks, a
    lawyer's details, a WeChat group). It fires ``feeds_changed``; the core's reaction
    marks the published feeds dirty (``mark_dirty``) and queues the job that publishes
    them (``publish_dirty``); a queue that is down only delays it (the hourly ``catch_up``
    publishes what is still dirty)."""
    ids = sorted({int(i) for i in event_ids})
    if ids:  # core.reactions queues the job, once the change is committed
        notify("feeds_changed", event_ids=ids)
