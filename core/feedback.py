"""Return visits and residents' ratings (DOMAIN 五.4): how satisfied villages are with
their lawyer.

Each quarter every active pairing gets a return visit (回访) for the town coordinator,
who asks the village and records a satisfaction score (1-5). Residents rate their lawyer
anonymously from the public village page: one rating per device and quarter, and no more
than a sane number per village per hour; a low score asks the coordinators to follow up.
"""
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

from peewee import JOIN, IntegrityError, fn

from core import clock
from core.access import require_manage_village
from core.audit import record
from core.config import load_settings
from core.db import transaction
from core.errors import ConflictError, NotFound, ValidationError
from core.i18n import N_, gettext_for
from core.models import Lawyer, Pairing, Rating, ReturnVisit, Town, User, Village
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
TOO_MANY_RATINGS = N_("%(village)s has received many ratings in the last hour. "
                      "Please try again later.")


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
    months = months or load_settings().return_visit_months
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


# --- residents' ratings -----------------------------------------------------------------------

def device_hash(device_id: str) -> str:
    """Only a hash of the device's random cookie is kept: it tells devices apart, and
    nothing else about them."""
    return hashlib.sha256(device_id.encode()).hexdigest()


def _rated_pairing(village_code: str) -> Pairing:
    village = Village.get_or_none(Village.code == (village_code or "").strip())
    if village is None:
        raise NotFound(N_("There is no village with the code %(code)s."), code=village_code)
    pairing = (Pairing.select(Pairing, Village).join(Village)
               .where((Pairing.village == village) & (Pairing.status == "active")).first())
    if pairing is None:
        raise ValidationError(N_("%(village)s has no paired lawyer to rate at the moment."),
                              village=village.name)
    return pairing


def rate_lawyer(village_code: str, *, device_id: str, score, comment: str = "",
                now: dt.datetime | None = None) -> Rating:
    """An anonymous rating of the village's current lawyer. Refused with a clear message:
    a second rating from the device in the quarter, or more than JIEDUI_RATINGS_PER_HOUR
    ratings of the village in the last hour. A low score notifies the coordinators."""
    now = clock.as_utc(now) if now else clock.now_utc()
    if not device_id or len(device_id) > 200:
        raise ValidationError(N_("Your browser must accept cookies to rate."), field="device")
    pairing = _rated_pairing(village_code)
    village = pairing.village
    score = _score(score, "score")
    comment = clean_text(comment, "comment", MAX_COMMENT,
                         too_long=N_("The comment may have at most %(limit)s characters."))
    period = period_of(clock.local_date(now))
    hashed = device_hash(device_id)
    already = Rating.select().where((Rating.pairing == pairing) & (Rating.period == period)
                                    & (Rating.device_hash == hashed))
    if already.exists():
        raise ConflictError(ALREADY_RATED, village=village.name)
    recent = (Rating.select().join(Pairing)
              .where((Pairing.village == village)
                     & (Rating.created_at > now - dt.timedelta(hours=1))))
    if recent.count() >= load_settings().ratings_per_hour:
        raise ConflictError(TOO_MANY_RATINGS, village=village.name)
    try:
        with transaction():
            rating = Rating.create(pairing=pairing, period=period, device_hash=hashed,
                                   score=score, comment=comment, created_at=now)
    except IntegrityError:  # the same device, twice at the same moment
        raise ConflictError(ALREADY_RATED, village=village.name) from None
    if score <= LOW_SCORE:
        _notify_low_rating(rating, village)
    return rating


def _notify_low_rating(rating: Rating, village: Village) -> None:
    """Ask the village's coordinators to follow up, and tell the lawyer. The lawyer reads
    the score only: not the comment (free text may name the resident), nor anything of the
    device; the link is their assessment sheet, where the year's average is. The resident's
    rating is kept even when the notifications cannot be written."""
    try:
        from core.notify import coordinators_for, lawyer_users, notify_users
        notify_users(coordinators_for(village), kind="low_rating",
                     title=f"{village.name}: {rating.score}/5",
                     body=rating.comment, link=RATINGS_LINK,
                     dedupe_key=f"low_rating:{rating.id}")
        pairing = rating.pairing
        gettext = gettext_for(load_settings().locale)
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
    recorded return visits and the residents' ratings (two grouped queries). ``pairing``
    and ``town`` choose the pairing and town lines; the district line always covers the
    whole district, to compare with. ``period``: one quarter, a list, or all."""
    periods = [period] if isinstance(period, str) else list(period) if period else None
    visit_where = (ReturnVisit.status == "done") & ReturnVisit.satisfaction.is_null(False)
    rating_where = Rating.score.is_null(False)
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
