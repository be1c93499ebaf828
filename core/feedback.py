"""Return visits and residents' ratings (DOMAIN 五.4): how satisfied villages are with
their lawyer.

Each quarter every active pairing gets a return visit (回访) for the town coordinator,
who asks the village and records a satisfaction score (1-5). Residents rate their lawyer
from the public village page. A rating given with a one-time rating code (评价码), which the
lawyer or a coordinator prints for a session and hands to the residents who came, is
verified and counts; a rating without one is anonymous feedback that coordinators read but
that counts nowhere (``counts`` is the rule). Anonymous ratings are limited per device,
client network and village, and a burst of them is flagged for the coordinators.
"""
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass, field

from peewee import JOIN, IntegrityError, fn

from core import clock
from core.access import can_edit_event, require_manage_village
from core.audit import record
from core.config import get_settings
from core.db import transaction
from core.errors import (ConflictError, NotFound, PermissionDenied, TooManyAttempts,
                         ValidationError)
from core.i18n import N_, gettext_for
from core.models import (Event, Lawyer, Pairing, Rating, RatingBurst, RatingCode,
                         RatingCodeMiss, ReturnVisit, Town, User, Village)
from core.notify import (coordinators_for, district_coordinators, lawyer_users,
                         local_coordinators, notify_users)
from core.text import clean_text

log = logging.getLogger(__name__)

SCORES = range(1, 6)
LOW_SCORE = 2  # a rating at or below this asks the coordinators to follow up
MAX_COMMENT = 500
MAX_CONTACT = 200
MAX_VISIT_COMMENTS = 2000
RATINGS_LINK = "/feedback/ratings"  # the coordinators' follow-up list (web/feedback.py)
LOW_RATING_LAWYER = N_("A resident of %(village)s rated you %(score)s out of 5")
LOW_RATING_LAWYER_BODY = N_("Ratings are anonymous. The coordinators will follow it up with "
                            "you; your sheet shows this year's average.")

ALREADY_RATED = N_("This device has already rated the lawyer of %(village)s this quarter. "
                   "You can rate again next quarter.")
TOO_MANY_RATINGS = N_("%(village)s has received many ratings without a code in the last "
                      "hour. Please try again later, or rate with the code from your slip.")
TOO_MANY_FROM_ADDRESS = N_("Many ratings without a code have come from your network in the "
                           "last hour. Please try again later, or rate with the code from "
                           "your slip.")


# --- quarters ---------------------------------------------------------------------------------

def period_of(day: dt.date) -> str:
    """The quarter of ``day``: ``"2026Q4"``."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(period: str) -> tuple[dt.date, dt.date]:
    """The first and the last day of a quarter ``"2026Q4"``."""
    year, quarter = parse_period(period)
    first = dt.date(year, 3 * quarter - 2, 1)
    next_first = dt.date(year + quarter // 4, 3 * quarter % 12 + 1, 1)
    return first, next_first - dt.timedelta(days=1)


def parse_period(period: str) -> tuple[int, int]:
    text = (period or "").strip().upper()
    year, q, quarter = text[:4], text[4:5], text[5:]
    if len(text) != 6 or not year.isdigit() or q != "Q" or quarter not in "1234" or not quarter:
        raise ValidationError(N_("%(period)s is not a quarter such as 2026Q4."),
                              field="period", period=period)
    return int(year), int(quarter)


def recent_periods(today: dt.date, count: int = 4) -> list[str]:
    """The last ``count`` quarters up to the one of ``today``, oldest first."""
    year, quarter = today.year, (today.month - 1) // 3 + 1
    periods = []
    for _ in range(count):
        periods.append(f"{year}Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return periods[::-1]


# --- return visits --------------------------------------------------------------------------

def visit_assignee(town_id: int) -> User | None:
    """Who does the town's return visits: its first active coordinator; a town without
    one falls to the first active district coordinator (the visit must not go unowned)."""
    coordinators = (User.select()
                    .where((User.role == "coordinator") & User.village.is_null() & User.active)
                    .order_by(User.id))
    return (coordinators.where(User.town == town_id).first()
            or coordinators.where(User.town.is_null()).first())


def open_period(today: dt.date, months=None) -> str | None:
    """The quarter whose return visits are open on ``today``: the quarter of ``today`` once
    the 1st of one of ``months`` (default JIEDUI_RETURN_VISIT_MONTHS) in it has come; None
    in a quarter none of the months opens (e.g. 1,7: visits in the first and third)."""
    months = months or get_settings().return_visit_months
    period = period_of(today)
    first = quarter_bounds(period)[0]
    return period if any(first.month <= month <= today.month for month in months) else None


def create_return_visits(today: dt.date | None = None, months=None) -> int:
    """A return visit of the open quarter (``open_period``) for every active pairing whose
    term has begun by ``today`` and runs into the quarter, and that has none yet, due on
    the quarter's last day. Run daily, it catches up: a missed run, a fresh install, a
    pairing started mid-quarter. Idempotent: returns how many were created."""
    today = today or clock.today()
    period = open_period(today, months)
    if period is None:
        return 0
    first, due_on = quarter_bounds(period)
    existing = ReturnVisit.select(ReturnVisit.pairing).where(ReturnVisit.period == period)
    pairings = (Pairing.select(Pairing.id, Village.town)
                .join(Village)
                .where((Pairing.status == "active") & (Pairing.term_start <= today)
                       & (Pairing.term_end >= first) & Pairing.id.not_in(existing))
                .order_by(Pairing.id).tuples())
    assignees: dict[int, User | None] = {}
    rows = []
    for pairing_id, town_id in pairings:
        if town_id not in assignees:
            assignees[town_id] = visit_assignee(town_id)
        rows.append(dict(pairing=pairing_id, period=period, due_on=due_on,
                         assignee=assignees[town_id]))
    if rows:
        with transaction():
            # ON CONFLICT DO NOTHING: a second run racing this one cannot duplicate a visit
            ReturnVisit.insert_many(rows).on_conflict_ignore().execute()
    return len(rows)



def _score(value, field_name: str) -> int:
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = 0
    if score not in SCORES or isinstance(value, bool):
        raise ValidationError(N_("Choose a score from 1 to 5."), field=field_name)
    return score


def complete_return_visit(actor: User | None, visit: ReturnVisit, *, contact: str,
                          satisfaction, comments: str = "") -> ReturnVisit:
    """Record the village's answer. A visit already recorded may be corrected; the audit
    log keeps each answer."""
    require_manage_village(actor, visit.pairing.village)
    contact = clean_text(contact, "contact", MAX_CONTACT,
                         too_long=N_("Whom you asked may have at most %(limit)s characters."))
    if not contact:
        raise ValidationError(N_("Say whom in the village you asked."), field="contact")
    score = _score(satisfaction, "satisfaction")
    comments = clean_text(comments, "comments", MAX_VISIT_COMMENTS,
                          too_long=N_("The comments may have at most %(limit)s characters."))
    with transaction():
        visit.contact, visit.satisfaction, visit.comments = contact, score, comments
        visit.status, visit.done_at, visit.done_by = "done", clock.now_utc(), actor
        visit.save()
        record(actor, "return_visit.complete", obj=visit,
               detail={"period": visit.period, "satisfaction": score})
    return visit


# --- residents' ratings: what counts ----------------------------------------------------------

def counts():
    """The one rule of which residents' ratings count — toward the assessment and in every
    satisfaction figure shown: a rating given with a rating code (handed out at a session the
    resident attended; ``rate_lawyer``) that no coordinator set aside. A rating without a
    code is anonymous feedback: kept and read, never counted. (A return visit's
    satisfaction, asked by the coordinator, counts as it is.) A WHERE expression on
    ``Rating``; selected as a column (``counts().alias("counts")``) it says so per rating."""
    return Rating.code.is_null(False) & ~Rating.excluded


def awaiting_follow_up():
    """A WHERE clause on ``Rating``: nobody has followed it up or set it aside yet."""
    return ~Rating.excluded & ~Rating.followed_up


def low_rating_filter():
    """A WHERE clause on ``Rating``: a low rating (``LOW_SCORE`` or less) still to follow up."""
    return awaiting_follow_up() & (Rating.score <= LOW_SCORE)


# --- rating codes (评价码) ---------------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ"  # letters only, without I, L and O (1, 0)
CODE_LENGTH = 8
CODE_KINDS = ("session", "publicity")  # the events where residents meet their lawyer
CODES_PER_SHEET = 60
CODES_PER_EVENT = 200
CODES_AHEAD_DAYS = 7  # a sheet can be printed this many days before the event
CODE_MISSES_PER_HOUR = 20  # wrong codes from one network before its codes are refused
KEEP_ADDRESS_HASH = dt.timedelta(days=1)

CODES_NOT_FOR_KIND = N_("Rating codes are printed for on-site sessions and publicity events "
                        "of a pairing.")
CODES_CANCELLED = N_("The event is cancelled: it has no rating codes.")
CODES_TOO_EARLY = N_("Rating codes can be printed from %(date)s, a week before the event.")
CODES_TOO_LATE = N_("The rating codes of this event worked until %(date)s; it is too late to "
                    "print more.")
CODES_COUNT = N_("Print between 1 and %(max)s codes at a time.")
CODES_FULL = N_("This event has %(issued)s rating codes already; one event has at most "
                "%(max)s.")
CODES_NOT_YOURS = N_("You may not print rating codes for this event.")
CODE_MALFORMED = N_("A rating code has %(length)s letters, as printed on your slip.")
CODE_UNKNOWN = N_("This rating code is not one of %(village)s. Check it against your slip, or "
                  "leave it empty to rate without a code.")
CODE_USED = N_("This rating code has been used already: each code rates once.")
CODE_EXPIRED = N_("This rating code worked until %(date)s.")
CODE_NOT_YET = N_("This rating code works from the session on %(date)s.")
CODE_MISSES = N_("Too many wrong rating codes came from your network. Try again in an hour.")


def _keyed_hash(purpose: str, text: str, key: str | None = None) -> str:
    """A hash keyed with the instance's secret: without the key the stored value cannot be
    matched against guesses (a code has few letters, an address few digits)."""
    key = key if key is not None else get_settings().secret_key
    return hmac.new(key.encode(), f"{purpose}:{text}".encode(), hashlib.sha256).hexdigest()


def normalize_code(text) -> str:
    """A code as typed (any case, spaces or hyphens between the letters) in its stored form."""
    return "".join(str(text or "").split()).replace("-", "").upper()


def format_code(code: str) -> str:
    """``ABCDEFGH`` as printed: two groups of four."""
    return f"{code[:4]} {code[4:]}"


def code_hash(code: str, key: str | None = None) -> str:
    return _keyed_hash("rating-code", normalize_code(code), key)


def code_valid_until(event: Event) -> dt.date:
    """The last district day on which the codes of ``event`` work:
    JIEDUI_RATING_CODE_DAYS days after the event's day."""
    return clock.local_date(event.ends_at) + dt.timedelta(days=get_settings().rating_code_days)


def _code_window(event: Event) -> tuple[dt.datetime, dt.datetime]:
    """The codes of ``event`` work from its start until the end of ``code_valid_until``."""
    end = clock.utc_from_local(code_valid_until(event) + dt.timedelta(days=1), dt.time())
    return event.starts_at, end


def _no_codes_because(event: Event, now: dt.datetime) -> ValidationError | None:
    """Why ``event`` takes no new rating codes at ``now``, or None."""
    if event.kind not in CODE_KINDS or event.pairing_id is None:
        return ValidationError(CODES_NOT_FOR_KIND)
    if event.status == "cancelled":
        return ValidationError(CODES_CANCELLED)
    start, end = _code_window(event)
    first = start - dt.timedelta(days=CODES_AHEAD_DAYS)
    if now < first:
        return ValidationError(CODES_TOO_EARLY, date=clock.local_date(first).isoformat())
    if now >= end:
        return ValidationError(CODES_TOO_LATE, date=code_valid_until(event).isoformat())
    return None


@dataclass
class CodeSheet:
    """What an event's page says about its rating codes."""
    issued: int
    used: int
    valid_until: dt.date
    per_sheet: int = CODES_PER_SHEET


def code_sheet(user: User | None, event: Event, now: dt.datetime | None = None
               ) -> CodeSheet | None:
    """The event's codes so far, when ``user`` may print more for it now; else None."""
    now = clock.as_utc(now) if now else clock.now_utc()
    if not can_edit_event(user, event) or _no_codes_because(event, now) is not None:
        return None
    issued, used = (RatingCode.select(fn.COUNT(RatingCode.id), fn.COUNT(RatingCode.used_at))
                    .where(RatingCode.event == event.id).scalar(as_tuple=True))
    return CodeSheet(issued=issued, used=used, valid_until=code_valid_until(event))


def issue_codes(actor: User | None, event: Event, count,
                now: dt.datetime | None = None) -> list[str]:
    """A sheet of ``count`` new one-time rating codes for ``event`` (a session or publicity
    event of a pairing, from a week before it until its codes expire), for the people who
    may change the event: its lawyer, the village's coordinators. Only their keyed hashes
    are kept: the codes are returned to be printed now, and never shown again. Audited."""
    now = clock.as_utc(now) if now else clock.now_utc()
    if not can_edit_event(actor, event):
        raise PermissionDenied(CODES_NOT_YOURS)
    problem = _no_codes_because(event, now)
    if problem is not None:
        raise problem
    try:
        count = int(str(count).strip())
    except ValueError:
        count = 0
    if not 1 <= count <= CODES_PER_SHEET:
        raise ValidationError(CODES_COUNT, field="count", max=CODES_PER_SHEET)
    issued = RatingCode.select().where(RatingCode.event == event.id).count()
    if issued + count > CODES_PER_EVENT:
        raise ValidationError(CODES_FULL, field="count", issued=issued, max=CODES_PER_EVENT)
    key = get_settings().secret_key
    codes: dict[str, str] = {}
    while len(codes) < count:  # 23^8 codes: a repeat is rare, but never stored twice
        fresh = ("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                 for _ in range(count - len(codes)))
        candidates = {code_hash(code, key): code for code in fresh}
        taken = {row.code_hash for row in RatingCode.select(RatingCode.code_hash)
                 .where(RatingCode.code_hash.in_(list(candidates)))}
        codes.update({h: c for h, c in candidates.items() if h not in taken})
    with transaction():
        RatingCode.insert_many([dict(event=event.id, code_hash=h, issued_at=now, issued_by=actor)
                                for h in codes]).execute()
        record(actor, "rating_code.issue", obj=event,
               detail={"count": count, "village": event.village_id, "pairing": event.pairing_id})
    return sorted(codes.values())


# --- residents' ratings -----------------------------------------------------------------------

def device_hash(device_id: str) -> str:
    """Only a hash of the device's random cookie is kept: it tells devices apart, and
    nothing else about them."""
    return hashlib.sha256(device_id.encode()).hexdigest()


def address_hash(address: str, now: dt.datetime) -> str:
    """The client's network as kept with an anonymous rating, for the per-address limit:
    a hash keyed with the instance's secret and the district day, so it cannot be turned
    back into the address nor linked across days; "" without an address. An IPv6 client is
    its /64 (one subscriber's network)."""
    text = (address or "").strip()
    if not text:
        return ""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        network = text
    else:
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        network = str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 \
            else str(ip)
    return _keyed_hash(f"rating-address:{clock.local_date(now).isoformat()}", network)


def _village(village_code: str) -> Village:
    village = Village.get_or_none(Village.code == (village_code or "").strip())
    if village is None:
        raise NotFound(N_("There is no village with the code %(code)s."), code=village_code)
    return village


def _rated_pairing(village: Village) -> Pairing:
    pairing = (Pairing.select(Pairing, Village).join(Village)
               .where((Pairing.village == village) & (Pairing.status == "active")).first())
    if pairing is None:
        raise ValidationError(N_("%(village)s has no paired lawyer to rate at the moment."),
                              village=village.name)
    return pairing


def rate_lawyer(village_code: str, *, device_id: str = "", score, comment: str = "",
                code: str = "", address: str = "", now: dt.datetime | None = None) -> Rating:
    """A resident's rating of the village's lawyer from the public page.

    With a rating ``code`` it is verified and counts (``counts``): one rating per code, for
    the pairing whose event the code was printed for, in that event's quarter; never
    refused by the limits below, so nobody's flood locks a resident with a code out. A wrong
    code is refused (and counted against ``address``: guessing stops after
    CODE_MISSES_PER_HOUR). A low verified score notifies the coordinators and the lawyer.

    Without a code it is anonymous feedback: one per device (``device_id``, a random
    cookie) and quarter, at most JIEDUI_RATINGS_PER_ADDRESS an hour from one client
    ``address`` and JIEDUI_RATINGS_PER_HOUR an hour for the village; more than
    JIEDUI_RATINGS_BURST_COUNT within JIEDUI_RATINGS_BURST_MINUTES are flagged as a burst
    (one notice to the coordinators per burst). It notifies nobody on its own."""
    now = clock.as_utc(now) if now else clock.now_utc()
    village = _village(village_code)
    score = _score(score, "score")
    comment = clean_text(comment, "comment", MAX_COMMENT,
                         too_long=N_("The comment may have at most %(limit)s characters."))
    code = normalize_code(code)
    if code:
        return _rate_with_code(village, code, score, comment, address_hash(address, now), now)
    return _rate_anonymously(village, device_id, score, comment, address_hash(address, now),
                             now)


def _rate_with_code(village: Village, code: str, score: int, comment: str, network: str,
                    now: dt.datetime) -> Rating:
    if len(code) != CODE_LENGTH or any(letter not in CODE_ALPHABET for letter in code):
        raise ValidationError(CODE_MALFORMED, field="code", length=CODE_LENGTH)
    if network and (RatingCodeMiss.select()
                    .where((RatingCodeMiss.address_hash == network)
                           & (RatingCodeMiss.at > now - dt.timedelta(hours=1)))
                    .count()) >= CODE_MISSES_PER_HOUR:
        raise TooManyAttempts(CODE_MISSES)
    found = (RatingCode.select(RatingCode, Event).join(Event)
             .where(RatingCode.code_hash == code_hash(code)).first())
    if (found is None or found.event.village_id != village.id
            or found.event.pairing_id is None or found.event.status == "cancelled"):
        if network:
            with transaction():
                RatingCodeMiss.create(address_hash=network, at=now)
                RatingCodeMiss.delete().where(RatingCodeMiss.at < now - KEEP_ADDRESS_HASH).execute()
        raise ValidationError(CODE_UNKNOWN, field="code", village=village.name)
    event = found.event
    start, end = _code_window(event)
    if found.used_at is not None:
        raise ConflictError(CODE_USED)
    if now < start:
        raise ValidationError(CODE_NOT_YET, field="code",
                              date=clock.local_date(start).isoformat())
    if now >= end:
        raise ValidationError(CODE_EXPIRED, field="code",
                              date=code_valid_until(event).isoformat())
    try:
        with transaction():
            claimed = (RatingCode.update(used_at=now)
                       .where((RatingCode.id == found.id) & RatingCode.used_at.is_null())
                       .execute())
            if not claimed:  # used at this very moment by another request
                raise ConflictError(CODE_USED)
            rating = Rating.create(pairing=event.pairing_id,
                                   period=period_of(clock.local_date(event.starts_at)),
                                   device_hash=None, code=found, score=score, comment=comment,
                                   created_at=now)
    except IntegrityError:
        raise ConflictError(CODE_USED) from None
    if score <= LOW_SCORE:
        _notify_low_rating(rating, village)
    return rating


def _rate_anonymously(village: Village, device_id: str, score: int, comment: str,
                      network: str, now: dt.datetime) -> Rating:
    if not device_id or len(device_id) > 200:
        raise ValidationError(N_("Your browser must accept cookies to rate."), field="device")
    pairing = _rated_pairing(village)
    settings = get_settings()
    period = period_of(clock.local_date(now))
    hashed = device_hash(device_id)
    already = Rating.select().where((Rating.pairing == pairing) & (Rating.period == period)
                                    & (Rating.device_hash == hashed))
    if already.exists():
        raise ConflictError(ALREADY_RATED, village=village.name)
    last_hour = Rating.code.is_null() & (Rating.created_at > now - dt.timedelta(hours=1))
    if network and (Rating.select().where(last_hour & (Rating.address_hash == network))
                    .count()) >= settings.ratings_per_address:
        raise TooManyAttempts(TOO_MANY_FROM_ADDRESS)
    if (Rating.select().join(Pairing).where(last_hour & (Pairing.village == village))
            .count()) >= settings.ratings_per_hour:
        raise ConflictError(TOO_MANY_RATINGS, village=village.name)
    try:
        with transaction():
            rating = Rating.create(pairing=pairing, period=period, device_hash=hashed,
                                   score=score, comment=comment, created_at=now,
                                   address_hash=network)
            burst = _flag_burst(village, now, settings)
            # the per-address limit looks back an hour: older hashes are of no use
            (Rating.update(address_hash="")
             .where((Rating.address_hash != "") & (Rating.created_at < now - KEEP_ADDRESS_HASH))
             .execute())
    except IntegrityError:  # the same device, twice at the same moment
        raise ConflictError(ALREADY_RATED, village=village.name) from None
    if burst is not None:
        _notify_burst(burst, village, settings)
    return rating


def _flag_burst(village: Village, now: dt.datetime, settings) -> RatingBurst | None:
    """Flag the village's anonymous ratings of the last JIEDUI_RATINGS_BURST_MINUTES when
    there are more than JIEDUI_RATINGS_BURST_COUNT of them: they join the village's burst
    still going on (its last rating within those minutes) or a new one. Returns a new
    burst (to be told once), else None."""
    since = now - dt.timedelta(minutes=settings.ratings_burst_minutes)
    window = list(Rating.select(Rating.id, Rating.created_at).join(Pairing)
                  .where((Pairing.village == village) & Rating.code.is_null()
                         & (Rating.created_at > since)))
    if len(window) <= settings.ratings_burst_count:
        return None
    burst = (RatingBurst.select()
             .where((RatingBurst.village == village) & (RatingBurst.last_at > since))
             .order_by(RatingBurst.last_at.desc()).first())
    new = burst is None
    if new:
        burst = RatingBurst.create(village=village, last_at=now,
                                   started_at=min(rating.created_at for rating in window))
    (Rating.update(burst=burst)
     .where(Rating.id.in_([rating.id for rating in window]) & Rating.burst.is_null())
     .execute())
    burst.last_at = now
    burst.count = Rating.select().where(Rating.burst == burst).count()
    burst.save()
    return burst if new else None


BURST_TITLE = N_("A burst of anonymous ratings: %(village)s")
BURST_BODY = N_("More than %(count)s anonymous ratings of %(village)s came within %(minutes)s "
                "minutes, from %(time)s. Anonymous ratings do not count toward the "
                "assessment. Read them on the ratings page and exclude those that are not "
                "genuine.")
BURSTS_LINK = "/feedback/ratings?show=flagged"


def _notify_burst(burst: RatingBurst, village: Village, settings) -> None:
    """One notice per burst, to the coordinators of the village or its town (the district's
    when it has none); the ratings themselves notify nobody."""
    try:
        gettext = gettext_for(settings.locale)
        params = {"village": village.name, "count": settings.ratings_burst_count,
                  "minutes": settings.ratings_burst_minutes,
                  "time": clock.to_local(burst.started_at).strftime("%Y-%m-%d %H:%M")}
        notify_users(local_coordinators(village) or district_coordinators(),
                     kind="rating_burst", title=gettext(BURST_TITLE) % params,
                     body=gettext(BURST_BODY) % params, link=BURSTS_LINK,
                     dedupe_key=f"rating_burst:{burst.id}")
    except Exception:
        log.exception("the coordinators of %s could not be told of rating burst %s",
                      village.code, burst.id)


def _notify_low_rating(rating: Rating, village: Village) -> None:
    """Ask the village's coordinators to follow up a low verified rating, and tell the
    lawyer. The lawyer reads the score only: not the comment (free text may name the
    resident), nor anything of the code; the link is their assessment sheet, where the
    year's average is. The resident's rating is kept even when the notifications cannot be
    written."""
    try:
        notify_users(coordinators_for(village), kind="low_rating",
                     title=f"{village.name}: {rating.score}/5",
                     body=rating.comment, link=RATINGS_LINK,
                     dedupe_key=f"low_rating:{rating.id}")
        pairing = rating.pairing
        gettext = gettext_for(get_settings().locale)
        notify_users(lawyer_users([pairing.lawyer_id]).get(pairing.lawyer_id, []),
                     kind="low_rating",
                     title=gettext(LOW_RATING_LAWYER) % {"village": village.name,
                                                         "score": rating.score},
                     body=gettext(LOW_RATING_LAWYER_BODY),
                     link=f"/assessment/{pairing.id}?year={rating.period[:4]}",
                     dedupe_key=f"low_rating:{rating.id}:lawyer", outside=False)
    except Exception:
        log.exception("the coordinators or the lawyer of %s could not be notified of rating %s",
                      village.code, rating.id)


def mark_followed_up(actor: User | None, rating: Rating) -> Rating:
    """The coordinator has followed up a low rating (contacted the village or the lawyer)."""
    require_manage_village(actor, rating.pairing.village)
    if not rating.followed_up:
        with transaction():
            rating.followed_up = True
            rating.save()
            record(actor, "rating.followed_up", obj=rating,
                   detail={"period": rating.period, "score": rating.score})
    return rating


ONLY_FLAGGED = N_("Only ratings flagged in a burst can be excluded.")


def exclude_rating(actor: User | None, rating: Rating) -> Rating:
    """A coordinator of the village sets a rating flagged in a burst aside: it stays on
    record, and counts nowhere. Audited."""
    require_manage_village(actor, rating.pairing.village)
    if rating.burst_id is None:
        raise ValidationError(ONLY_FLAGGED)
    if not rating.excluded:
        with transaction():
            rating.excluded = True
            rating.save()
            record(actor, "rating.exclude", obj=rating,
                   detail={"period": rating.period, "score": rating.score,
                           "burst": rating.burst_id})
    return rating


def exclude_burst(actor: User | None, burst: RatingBurst) -> int:
    """``exclude_rating`` for every rating of the burst not excluded yet, as one audited act.
    Returns how many were excluded now."""
    require_manage_village(actor, burst.village)
    ids = [rating.id for rating in
           Rating.select(Rating.id).where((Rating.burst == burst) & ~Rating.excluded)
           .order_by(Rating.id)]
    if ids:
        with transaction():
            Rating.update(excluded=True).where(Rating.id.in_(ids)).execute()
            record(actor, "rating_burst.exclude", obj=burst,
                   detail={"village": burst.village_id, "ratings": ids})
    return len(ids)


# --- satisfaction over time -------------------------------------------------------------------

@dataclass
class Score:
    """Sums and counts, so that towns and the district average the answers, not averages."""
    visit_sum: int = 0
    visits: int = 0
    rating_sum: int = 0
    ratings: int = 0

    def add(self, other: "Score") -> None:
        self.visit_sum += other.visit_sum
        self.visits += other.visits
        self.rating_sum += other.rating_sum
        self.ratings += other.ratings

    @property
    def visit_average(self) -> float | None:
        return round(self.visit_sum / self.visits, 2) if self.visits else None

    @property
    def rating_average(self) -> float | None:
        return round(self.rating_sum / self.ratings, 2) if self.ratings else None


@dataclass
class Line:
    """One pairing, town or the district: a Score per period."""
    key: int | None
    label: str
    scores: dict[str, Score] = field(default_factory=dict)

    def at(self, period: str) -> Score:
        return self.scores.setdefault(period, Score())


@dataclass
class Satisfaction:
    periods: list[str]
    pairings: list[Line]
    towns: list[Line]
    district: Line


def _grouped(model, value, extra_where):
    """SUM and COUNT of ``value`` per pairing and period, with the names to show."""
    return (model.select(model.pairing.alias("pairing_id"), model.period,
                         Village.town.alias("town_id"), Town.name.alias("town_name"),
                         Village.name.alias("village_name"), Lawyer.name.alias("lawyer_name"),
                         fn.SUM(value).alias("total"), fn.COUNT(value).alias("n"))
            .join(Pairing).join(Village).join(Town)
            .switch(Pairing).join(Lawyer, JOIN.INNER)
            .where(extra_where)
            .group_by(model.pairing, model.period, Village.town, Town.name, Village.name,
                      Lawyer.name)
            .dicts())


def satisfaction(pairing: Pairing | None = None, town: Town | None = None,
                 period: str | list[str] | None = None) -> Satisfaction:
    """Average satisfaction per pairing, town and district and per quarter, from the
    recorded return visits and the residents' ratings that count (``counts``; two grouped
    queries). ``pairing``
    and ``town`` choose the pairing and town lines; the district line always covers the
    whole district, to compare with. ``period``: one quarter, a list, or all."""
    periods = [period] if isinstance(period, str) else list(period) if period else None
    visit_where = (ReturnVisit.status == "done") & ReturnVisit.satisfaction.is_null(False)
    rating_where = counts()
    if periods is not None:
        visit_where &= ReturnVisit.period.in_(periods)
        rating_where &= Rating.period.in_(periods)
    pairings: dict[int, Line] = {}
    towns: dict[int, Line] = {}
    district = Line(None, "")
    seen = set(periods or ())
    sources = ((_grouped(ReturnVisit, ReturnVisit.satisfaction, visit_where), "visit"),
               (_grouped(Rating, Rating.score, rating_where), "rating"))
    for rows, kind in sources:
        for row in rows:
            part = Score(**{f"{kind}_sum": int(row["total"] or 0), f"{kind}s": row["n"]})
            seen.add(row["period"])
            district.at(row["period"]).add(part)
            if town is None or row["town_id"] == town.id:
                towns.setdefault(row["town_id"], Line(row["town_id"], row["town_name"])).at(
                    row["period"]).add(part)
            if (pairing is None or row["pairing_id"] == pairing.id) and (
                    town is None or row["town_id"] == town.id):
                label = f"{row['village_name']} · {row['lawyer_name']}"
                pairings.setdefault(row["pairing_id"], Line(row["pairing_id"], label)).at(
                    row["period"]).add(part)
    if pairing is not None:  # its town only, not every town with answers
        towns = {key: line for key, line in towns.items()
                 if key == pairing.village.town_id}
    return Satisfaction(periods=sorted(seen),
                        pairings=sorted(pairings.values(), key=lambda line: line.label),
                        towns=sorted(towns.values(), key=lambda line: line.label),
                        district=district)
