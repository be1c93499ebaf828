"""Sign-in at a session (签到): the lawyer's proof of service at an on-site session or a
publicity event, as county platforms keep it.

On the event's day (district time) the event's lawyer signs in once; the time is the
server's clock, never the phone's. The phone's position is kept only when the phone gave
it (latitude, longitude and its accuracy in metres); a sign-in without it is a sign-in all
the same. Later the lawyer signs out with a short account of what was done, the number of
residents served and photos from the camera. Signing out records the event as held with the
signed-in and signed-out times through ``core.events.record_held`` (its rules apply: half
a day at least for a session) and writes the work-log entry with the account
(``core.worklog.log_held_event``); a refusal writes nothing, photos included.

Who: only the event's lawyer, who must also be the lawyer paired with the village on that
day (a replaced lawyer cannot sign in to a session handed to their successor, nor to one
still waiting for a coordinator to confirm the hand-over). A cancelled event, or one
recorded as held already, cannot be signed in. Recording a session as held by hand stays
possible (the event's page); done on a later day it is marked as recorded late
(``Event.held_late``), and ``held_proof`` tells the three apart.

Photos are checked and re-encoded as the lawyers' photos are (``core.photos``: JPEG, PNG
or WebP by content, at most ``photo_limit()`` bytes and ``PHOTO_MAX_PIXELS``; no EXIF, no
GPS) and stored under ``<instance>/uploads/signins/`` by their SHA-256, so the backup
carries them. They are served only to those who may read the event (``open_photo``); the
position only to those who may change it (``can_see_position``: its lawyer, the
coordinators of its village, administrators). Sign-in and sign-out are audited on the
event; the audit entry says whether a position was given, never where.
"""
import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from peewee import JOIN, IntegrityError

from core import clock
from core.access import can_edit_event
from core.audit import record
from core.calendar_views import readable_event
from core.cases import uploads_dir
from core.config import get_settings
from core.db import transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.events import makeup_pairing, record_held
from core.i18n import N_, gettext_for
from core.photos import read_photo, store_photo
from core.models import Event, SignIn, SignInPhoto, User
from core.placements import KIND_WORDS
from core.text import clean_text

CONTENT_MAX = 500  # a short account; the work log holds up to 5000
RESIDENTS_MAX = 10_000  # a publicity event on a market day reaches hundreds, not more
MAX_PHOTOS = 4
PHOTO_FOLDER = "signins"  # under the uploads folder
ACCURACY_MAX = 1_000_000  # metres: a phone that knows only the country still says so
SERVED = N_("%(count)s residents served.")  # the work-log entry's result (district language)

NO_PHOTO = N_("The photo is missing.")


# --- the phone's position --------------------------------------------------------------------

@dataclass(frozen=True)
class Position:
    """Where the phone said it was: degrees (WGS 84, as browsers give them) and how far off
    it may be, in whole metres (None: the phone did not say)."""
    latitude: float
    longitude: float
    accuracy: int | None = None


def _number(value, low: float, high: float) -> float | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and low <= number <= high else None


def read_position(latitude, longitude, accuracy=None) -> Position | None:
    """The position as the sign-in form sent it (text or numbers); None when none was given
    (the phone refused or could not tell). Half a position, or numbers out of range, is
    refused: the form fills both or neither."""
    given = [str(value).strip() if value is not None else "" for value in (latitude, longitude)]
    if not any(given):
        return None
    lat, lng = _number(given[0], -90, 90), _number(given[1], -180, 180)
    if lat is None or lng is None:
        raise ValidationError(N_("The phone's position could not be read; sign in again."),
                              field="position")
    metres = None
    if accuracy not in (None, ""):
        value = _number(accuracy, 0, math.inf)
        if value is None:
            raise ValidationError(N_("The phone's position could not be read; sign in again."),
                                  field="position")
        metres = min(math.ceil(value), ACCURACY_MAX)
    return Position(round(lat, 6), round(lng, 6), metres)


# --- the rules -------------------------------------------------------------------------------

def _time(instant: dt.datetime) -> str:
    return clock.to_local(instant).strftime("%H:%M")


def _require_own(actor: User | None, event: Event) -> None:
    if actor is None or actor.role != "lawyer" or not actor.lawyer_id \
            or actor.lawyer_id != event.lawyer_id:
        raise PermissionDenied(N_("Only the lawyer of this event can sign in to it."))


def _require_paired(actor: User, event: Event, day: dt.date) -> None:
    """The lawyer paired with the village on ``day`` (a hand-over waiting for a coordinator
    leaves the event in the old lawyer's name, not their pairing)."""
    try:
        pairing = makeup_pairing(event, day)
    except ValidationError:
        pairing = None
    if pairing is None or pairing.lawyer_id != actor.lawyer_id:
        raise PermissionDenied(N_("Only the lawyer paired with the village on %(day)s can sign "
                                  "in to this event."), day=day.isoformat())


def _require_kind(event: Event) -> None:
    if event.kind not in KIND_WORDS:
        raise ValidationError(N_("Only an on-site session or a publicity event is signed in."))


def check_sign_in(actor: User | None, event: Event, signin: SignIn | None = None) -> None:
    """Why ``actor`` may not sign in to ``event`` now (raised); nothing when they may.
    ``signin`` is the event's sign-in, if any (``signin_of``)."""
    _require_kind(event)
    _require_own(actor, event)
    if event.status == "cancelled":
        raise ValidationError(N_("This event is cancelled; it cannot be signed in."))
    if signin is not None:
        raise ValidationError(N_("You signed in already, at %(time)s."),
                              time=_time(signin.signed_in_at))
    if event.status == "held":
        raise ValidationError(N_("This event is recorded as held already."))
    today, day = clock.today(), clock.local_date(event.starts_at)
    if day != today:
        raise ValidationError(N_("You can sign in only on the day of the event (%(day)s)."),
                              day=day.isoformat())
    _require_paired(actor, event, today)


def check_sign_out(actor: User | None, event: Event, signin: SignIn | None) -> None:
    """Why ``actor`` may not sign out of ``event`` now (raised); nothing when they may."""
    _require_kind(event)
    _require_own(actor, event)
    if signin is None:
        raise ValidationError(N_("Sign in first: signing out comes after signing in."))
    if signin.signed_out_at is not None:
        raise ValidationError(N_("You signed out already, at %(time)s."),
                              time=_time(signin.signed_out_at))
    if event.status == "cancelled":
        raise ValidationError(N_("This event is cancelled; it cannot be signed out."))
    today, day = clock.today(), clock.local_date(event.starts_at)  # the sign-in's day
    if day != today:
        raise ValidationError(N_("The sign-in of %(day)s was not closed on its day. Record the "
                                 "event as held on its page instead; it is marked as recorded "
                                 "late."), day=day.isoformat())
    _require_paired(actor, event, today)


def next_step(user: User | None, event: Event, signin: SignIn | None) -> str | None:
    """What ``user`` can do now: "sign_in", "sign_out", or None (nothing, or not them)."""
    for step, check in (("sign_in", check_sign_in), ("sign_out", check_sign_out)):
        try:
            check(user, event, signin)
        except (PermissionDenied, ValidationError):
            continue
        return step
    return None


def read_residents(value) -> int:
    """The number of residents served: a whole number from 0 to ``RESIDENTS_MAX``."""
    text = str(value).strip() if value is not None else ""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif text.isascii() and text.isdigit():
        number = int(text)
    else:
        number = None
    if number is None or not 0 <= number <= RESIDENTS_MAX:
        raise ValidationError(N_("Enter how many residents were served: a whole number from 0 "
                                 "to %(max)s (0 if none came)."), field="residents",
                              max=RESIDENTS_MAX)
    return number


# --- photos ----------------------------------------------------------------------------------

def read_photos(streams) -> list[bytes]:
    """Each uploaded photo (binary streams) checked and re-encoded as a fresh JPEG without
    metadata (``core.photos.read_photo``); one bad photo refuses them all."""
    streams = [stream for stream in streams or () if stream is not None]
    if len(streams) > MAX_PHOTOS:
        raise ValidationError(N_("At most %(max)s photos can be added."), field="photos",
                              max=MAX_PHOTOS)
    pictures = []
    for stream in streams:
        try:
            pictures.append(read_photo(stream))
        except ValidationError as error:  # the photos field, where the form shows it
            raise ValidationError(error.message, field="photos", **error.params) from None
    return pictures


def add_photo(signin: SignIn, data: bytes) -> SignInPhoto:
    """Store a re-encoded photo (``read_photos``) for ``signin``."""
    relative, sha256 = store_photo(data, PHOTO_FOLDER)
    return SignInPhoto.create(signin=signin, path=relative, sha256=sha256, size=len(data))


# --- signing in and out ----------------------------------------------------------------------

def signin_of(event: Event) -> SignIn | None:
    return SignIn.get_or_none(SignIn.event == event.id)


def signins_for(event_ids) -> dict[int, SignIn]:
    """event id -> its sign-in, for many events in one query."""
    ids = list({event_id for event_id in event_ids if event_id})
    if not ids:
        return {}
    return {signin.event_id: signin for signin in SignIn.select().where(SignIn.event.in_(ids))}


def sign_in(actor: User | None, event: Event, *, position: Position | None = None) -> SignIn:
    """Sign ``actor`` in at ``event`` now (``check_sign_in``), with the phone's position if
    it gave one."""
    check_sign_in(actor, event, signin_of(event))
    now = clock.now_utc()
    place = ({"latitude": position.latitude, "longitude": position.longitude,
              "accuracy_m": position.accuracy} if position is not None else {})
    try:
        with transaction():
            signin = SignIn.create(event=event.id, lawyer=event.lawyer_id, signed_in_at=now,
                                   created_by=actor, **place)
            record(actor, "event.sign_in", obj=event,
                   detail={"signin": signin.id, "at": now.isoformat(),
                           "position": position is not None,
                           "accuracy_m": position.accuracy if position else None})
    except IntegrityError:  # a second tap, or another device, signed in meanwhile
        raise ValidationError(N_("You signed in already, at %(time)s."),
                              time=_time(signin_of(event).signed_in_at)) from None
    return signin


def sign_out(actor: User | None, event: Event, *, content, residents,
             photos=()) -> SignIn:
    """Sign ``actor`` out of ``event`` now: the event is recorded as held from the sign-in
    to now (``core.events.record_held``, whose rules apply), its work-log entry says what
    was done and how many residents were served, and the photos are kept. All or nothing."""
    signin = signin_of(event)
    check_sign_out(actor, event, signin)
    content = clean_text(content, "content", CONTENT_MAX,
                         required=N_("Say briefly what was done."))
    residents = read_residents(residents)
    pictures = read_photos(photos)
    now = clock.now_utc()
    result = gettext_for(get_settings().locale)(SERVED) % {"count": residents}
    with transaction():
        record_held(actor, event, start=signin.signed_in_at, end=now, content=content,
                    result=result)
        closed = (SignIn.update(signed_out_at=now, content=content, residents_served=residents)
                  .where((SignIn.id == signin.id) & SignIn.signed_out_at.is_null())
                  .execute())
        if not closed:  # signed out from another device meanwhile
            raise ValidationError(N_("You signed out already."))
        for data in pictures:
            add_photo(signin, data)
        record(actor, "event.sign_out", obj=event,
               detail={"signin": signin.id, "at": now.isoformat(), "residents": residents,
                       "photos": len(pictures)})
    return SignIn.get_by_id(signin.id)


# --- reading ---------------------------------------------------------------------------------

def can_see_position(user: User | None, event: Event) -> bool:
    """The position is where a person was: its lawyer, the coordinators of its village and
    administrators see it; others who read the event see that it was signed in."""
    return can_edit_event(user, event)


def photos_of(signin: SignIn | None) -> list[SignInPhoto]:
    if signin is None:
        return []
    return list(SignInPhoto.select().where(SignInPhoto.signin == signin.id)
                .order_by(SignInPhoto.id))


def open_photo(user: User | None, photo_id: int) -> Path:
    """The file of a sign-in photo for someone who may read its event; NotFound otherwise,
    as for a photo that does not exist."""
    photo = (SignInPhoto.select(SignInPhoto, SignIn).join(SignIn)
             .where(SignInPhoto.id == photo_id).first())
    if photo is None:
        raise NotFound(NO_PHOTO)
    readable_event(user, photo.signin.event_id)  # NotFound when out of reach
    instance = get_settings().instance.resolve()
    path = (instance / photo.path).resolve()
    folder = (uploads_dir() / PHOTO_FOLDER).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise NotFound(NO_PHOTO)
    return path


def held_proof(event: Event, signin: SignIn | None) -> str | None:
    """How a held event was recorded (``HELD_PROOFS``): "signin" (signed in and out on the
    day), "late" (by hand, on a later day), "hand"; None when it is not held."""
    if event.status != "held":
        return None
    if signin is not None and signin.signed_out_at is not None:
        return "signin"
    return "late" if event.held_late else "hand"


def held_proofs(pairing_ids, year: int) -> dict[tuple[int, str], Counter]:
    """(pairing id, kind) -> how many of its sessions or publicity events held in ``year``
    were signed in, recorded by hand, or recorded late (the quota page)."""
    ids = list(pairing_ids)
    if not ids:
        return {}
    since = clock.utc_from_local(dt.date(year, 1, 1), dt.time.min)
    until = clock.utc_from_local(dt.date(year + 1, 1, 1), dt.time.min)
    rows = (Event.select(Event.pairing, Event.kind, Event.status, Event.held_late,
                         SignIn.signed_out_at)
            .join(SignIn, JOIN.LEFT_OUTER, on=(SignIn.event == Event.id))
            .where(Event.pairing.in_(ids) & (Event.status == "held")
                   & Event.kind.in_(list(KIND_WORDS))
                   & (Event.starts_at >= since) & (Event.starts_at < until))
            .tuples())
    counts: dict[tuple[int, str], Counter] = {}
    for pairing_id, kind, _status, late, signed_out in rows:
        proof = "signin" if signed_out is not None else "late" if late else "hand"
        counts.setdefault((pairing_id, kind), Counter())[proof] += 1
    return counts
