"""The calendar: workdays, planned events, feeds and planning runs.

Instants are naive UTC (``core.clock``); dates are district dates.
"""
from peewee import (BlobField, BooleanField, CharField, DateField, DateTimeField,
                    DoubleField, ForeignKeyField, IntegerField, TextField)
from peewee import JSONField

from core.clock import now_utc
from core.db import BaseModel
from core.models.organisation import Lawyer, Town, User, Village
from core.models.pairing import Pairing
from core.vocabulary import EVENT_KINDS, EVENT_STATUSES, HOLIDAY_KINDS, PLACEMENTS  # noqa: F401



class Holiday(BaseModel):
    """An exception to the Monday–Friday week: a day off, or a weekend workday."""
    day = DateField(unique=True)
    kind = CharField()
    name = CharField(default="")
    source = CharField(default="official")  # "official" (holidays package) | "manual"
    note = TextField(default="")


class Event(BaseModel):
    """Something in a lawyer's calendar. ``uid`` never changes; ``sequence`` grows with
    every change; a removed event is ``cancelled``, never deleted (feeds must say so).

    ``plan_key`` names the planner's slot ("<village code>:<year>:session:<nn>"), so
    re-planning finds the same event and moves or reassigns it instead of adding one.
    """
    uid = CharField(unique=True)
    kind = CharField()
    plan_key = CharField(null=True, unique=True)
    village = ForeignKeyField(Village, null=True, backref="events", on_delete="CASCADE")
    pairing = ForeignKeyField(Pairing, null=True, backref="events", on_delete="SET NULL")
    lawyer = ForeignKeyField(Lawyer, null=True, backref="events", on_delete="SET NULL")
    starts_at = DateTimeField(index=True)  # UTC
    ends_at = DateTimeField()  # UTC
    status = CharField(default="planned", index=True)
    sequence = IntegerField(default=0)
    title = CharField(default="")
    description = TextField(default="")
    held_start = DateTimeField(null=True)  # UTC, as recorded
    held_end = DateTimeField(null=True)
    # Recorded as held on a later day than it took place (or was planned), by hand: shown as
    # recorded late wherever held events are shown (core.events.record_held sets it once).
    held_late = BooleanField(default=False)
    cancel_reason = TextField(default="")
    placement = CharField(default="")  # PLACEMENTS
    arranged_on = DateField(null=True)  # the arranged day, when the event is not on it
    # A make-up (补) of a cancelled or missed event: it counts for that event's slot.
    makeup_for = ForeignKeyField("self", null=True, backref="makeups", on_delete="SET NULL")
    # What re-planning would change but may not do alone (the event starts soon): a
    # coordinator confirms or dismisses it (core.events.confirm_proposal).
    proposal = JSONField(null=True)
    created_at = DateTimeField(default=now_utc)
    updated_at = DateTimeField(default=now_utc)  # LAST-MODIFIED
    shown_hash = CharField(default="")  # what the feeds show of it (core.feeds.refresh_shown)

    class Meta:
        indexes = ((("lawyer", "starts_at"), False),  # a lawyer's day, for double-booking
                   (("status", "ends_at"), False),  # the past ones not recorded (0022)
                   # a year's sessions counted by month and town, from the index (0024)
                   (("starts_at", "kind", "status", "village"), False))


# The make-ups alone (migration 0026): nearly every event's makeup_for is NULL, and an
# index of them all tells an ANALYZEd SQLite to scan the year for a page's make-ups.
Event.add_index(Event.index(Event.makeup_for, name="event_makeups",
                            where=Event.makeup_for.is_null(False)))


class SignIn(BaseModel):
    """签到: the lawyer's sign-in at an on-site session or publicity event, on its day, and
    the sign-out that records it as held (``core.signins``). Times from the server's clock;
    the phone's position only when the phone gave it (with its accuracy in metres)."""
    event = ForeignKeyField(Event, unique=True, backref="signins", on_delete="CASCADE")
    lawyer = ForeignKeyField(Lawyer, backref="signins", on_delete="RESTRICT")
    signed_in_at = DateTimeField()  # UTC
    signed_out_at = DateTimeField(null=True)
    latitude = DoubleField(null=True)
    longitude = DoubleField(null=True)
    accuracy_m = IntegerField(null=True)
    content = TextField(default="")  # what was done, given at the sign-out
    residents_served = IntegerField(null=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


class SignInPhoto(BaseModel):
    """A photo taken at a signed-in session: re-encoded (no EXIF, no GPS) and stored under
    the uploads folder by its SHA-256, never by a name a user chose."""
    signin = ForeignKeyField(SignIn, backref="photos", on_delete="CASCADE")
    path = CharField()  # relative to the instance folder: uploads/signins/ab/<sha256>.jpg
    sha256 = CharField()
    size = IntegerField()
    uploaded_at = DateTimeField(default=now_utc)


class EventHandover(BaseModel):
    """An event passed from ``lawyer`` to another (a replacement, a task handed over): the
    lawyer's feed keeps it for a while as cancelled instead of dropping it silently."""
    event = ForeignKeyField(Event, backref="handovers", on_delete="CASCADE")
    lawyer = ForeignKeyField(Lawyer, backref="handovers", on_delete="CASCADE")
    to_lawyer = ForeignKeyField(Lawyer, null=True, on_delete="SET NULL")
    handed_at = DateTimeField(default=now_utc)

    class Meta:
        indexes = ((("lawyer", "handed_at"), False),)


class FeedToken(BaseModel):
    """A secret feed URL for one device or app. Only the SHA-256 of the token is kept."""
    user = ForeignKeyField(User, backref="feed_tokens", on_delete="CASCADE")
    label = CharField()
    token_hash = CharField(unique=True)
    created_at = DateTimeField(default=now_utc)
    revoked_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)
    last_client = CharField(default="")  # the User-Agent of the last fetch


class FeedSnapshot(BaseModel):
    """A rendered feed, served as stored. ``key``: "lawyer:<id>", "town:<code>",
    "district", "village:<code>"."""
    key = CharField(unique=True)
    body = BlobField()
    body_gzip = BlobField(null=True)  # the same bytes gzip-compressed, for clients that ask
    etag = CharField()
    generated_at = DateTimeField(default=now_utc)


class FeedDirty(BaseModel):
    """A feed that shows something changed since: written with the change
    (``core.feeds.publish_changes``), removed once the feed is published again. A mark
    written while the feed was being rendered (a newer ``marked_at``) stays. A feed not
    published yet is marked too, for a first rendering under way (``core.feeds._publish``)."""
    key = CharField(unique=True)
    marked_at = DateTimeField(default=now_utc)


class FeedWindowCheck(BaseModel):
    """When the hourly catch-up last looked for events crossing a feed's window edge
    (``core.feeds.catch_up``): the next one looks at the time since. One row."""
    checked_at = DateTimeField()


class PlanRun(BaseModel):
    """One planning of a year (from the CLI or a job), with progress for the UI."""
    year = IntegerField()
    town = ForeignKeyField(Town, null=True, on_delete="SET NULL")
    status = CharField(default="queued")  # queued | running | done | failed
    done = IntegerField(default=0)
    total = IntegerField(default=0)
    summary = JSONField(default=dict)
    started_at = DateTimeField(default=now_utc)
    finished_at = DateTimeField(null=True)


class ReplanRequest(BaseModel):
    """A village to re-plan in a year, after a change of its pairings (``core.jobs``): kept
    until a re-plan that read it has committed, so a burst of changes is one re-plan, and
    none is lost to a restart or to a re-plan already running."""
    village = ForeignKeyField(Village, on_delete="CASCADE")
    year = IntegerField()
    requested_at = DateTimeField(default=now_utc)


class Shortfall(BaseModel):
    """What the plan of a year could not place for a pairing, and why (never dropped)."""
    pairing = ForeignKeyField(Pairing, backref="shortfalls", on_delete="CASCADE")
    year = IntegerField()
    kind = CharField()  # session | publicity
    required = IntegerField()
    planned = IntegerField()
    reason = TextField(default="")

    class Meta:
        indexes = ((("pairing", "year", "kind"), True),)


class PaceTally(BaseModel):
    """A pairing's quota and held counts in a year, kept at commit (``core.pace_tally``), so
    the pages that ask who is behind pace read one row per pairing instead of working out
    every village's quota and counting its events. ``first_day``/``last_day``: the term
    within the year as day numbers (``date.toordinal``), so what is due by a day is integer
    arithmetic in SQL; ``min_hours``: the ``min_session_hours`` the sessions were counted
    with (a changed setting is noticed and the tally counted again)."""
    pairing = ForeignKeyField(Pairing, on_delete="CASCADE")
    year = IntegerField()
    sessions_required = IntegerField()
    publicity_required = IntegerField()
    first_day = IntegerField()
    last_day = IntegerField()
    sessions_held = IntegerField(default=0)
    publicity_held = IntegerField(default=0)
    min_hours = DoubleField()

    class Meta:
        table_name = "pace_tally"
        indexes = ((("year", "pairing"), True),
                   (("year", "min_hours"), False))  # the year's counted-with hours (0029)


class TownTally(BaseModel):
    """A figure counted in one town (``town_id``; 0: the district's own work, -1: the sum
    over every town) and district month (``month`` 0–11; 12: the year) of a ``year``, kept
    at commit (``core.town_tally``): the programme metrics' done tasks
    (``core.progress_tally``) and the on-site sessions planned and held
    (``core.session_tally``), so the desk and the charts read a few rows instead of a
    year's tasks and sessions. ``figure`` is ``<source>:<slug>``."""
    figure = CharField()
    year = IntegerField()
    town_id = IntegerField()
    month = IntegerField()
    value = IntegerField()

    class Meta:
        table_name = "town_tally"
        indexes = ((("year", "town_id", "figure", "month"), True),
                   (("year", "month", "figure", "town_id"), False),
                   (("town_id", "year"), False))


class LawyerTally(BaseModel):
    """A programme metric's count over one lawyer's done tasks of a district ``year`` (the
    tasks they are the assignee of; a distinct metric: their distinct subjects), kept at
    commit (``core.progress_tally``), so a programme's lawyers, most first, are read from
    the kept rows instead of a province's year of tasks. ``figure`` is
    ``progress:<metric slug>``; a lawyer with nothing counted has no row."""
    figure = CharField()
    year = IntegerField()
    lawyer_id = IntegerField()
    value = IntegerField()

    class Meta:
        table_name = "lawyer_tally"
        indexes = ((("figure", "year", "lawyer_id"), True),
                   (("lawyer_id", "year"), False))


class TownTallyShape(BaseModel):
    """What a kept figure was counted with (``core.town_tally.Source.figures``); the
    lawyers' figures (``LawyerTally``) under ``lawyers:<figure>``."""
    figure = CharField(unique=True)
    shape = TextField()

    class Meta:
        table_name = "town_tally_shape"
