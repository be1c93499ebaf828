"""Each pairing's quota and held counts of a year, kept at commit (``PaceTally``).

Who is behind the pro-rata pace (``core.assessment.behind_pace``: the desk, the list of
pairings behind pace, the quota page's filter, the weekly warning) needs, per pairing, its
quota in the year (``core.planner.village_quota``, worked out from every pairing of its
village), its term within the year and its held sessions and publicity events (counted as
``core.assessment`` counts them: a session held at least ``min_session_hours``). Worked out
for every pairing on every page, that took 19 s at province scale (26,000 villages).

So the figures are kept: ``refresh`` works them out again for the villages a change
touched, once the change is committed — the core's reactions call it on the hooks every
change of an event (``feeds_changed``) or of a pairing (``pairing_changed``) fires. The
figures do not depend on the day: what is due by a day is worked out when read, in SQL
(``due_sql``: integer arithmetic on day numbers, the same on SQLite and PostgreSQL), and a
held event that starts after the day (a clock moved back) is taken off when read. A changed
``min_session_hours`` is noticed when read (``ensure_counted``: the year's smallest and
largest hours counted with, two seeks in an index, migration 0029) and everything is
counted again. The hourly ``core.jobs.repair_pace_tally`` and ``jiedui pace-tally`` rebuild the
whole table, writing only what differs (a change whose reaction failed is caught up).
"""
import datetime as dt
import logging
from collections import defaultdict

from peewee import JOIN, Case, Select, chunked, fn

from core import clock
from core.config import get_settings
from core.db import db, hold_until_commit, is_sqlite, transaction
from core.models import Event, PaceTally, Pairing
from core.planner import village_quota

log = logging.getLogger(__name__)

# the pairing's columns the quota needs (its term and arrangement: planner.month_owners)
_QUOTA_COLUMNS = (Pairing.id, Pairing.village, Pairing.lawyer, Pairing.term_start,
                  Pairing.term_end, Pairing.onsite_week, Pairing.onsite_weekday,
                  Pairing.onsite_start, Pairing.onsite_end)
BATCH = 900  # ids in one IN list (under SQLite's 999 parameters)
MANY_VILLAGES = 500  # more villages changed at once: every figure is worked out (no long IN)
# More events changed at once: every figure worked out. A planning tells its events a chunk
# of 400 villages at a time (~5,600 events): found by village, or a province's planning
# worked out every figure 65 times.
MANY_EVENTS = 50_000
_LOCK_KEY = 0x6A706163  # "jpac": one keeper of these figures at a time (core.db.hold_until_commit)
_FIGURES = ("sessions_required", "publicity_required", "first_day", "last_day",
            "sessions_held", "publicity_held", "min_hours")


# --- counting held events (core.assessment counts the same way) ------------------------------

def held_hours_sql():
    """``core.assessment.held_hours`` as SQL (for counting in the database)."""
    start = fn.COALESCE(Event.held_start, Event.starts_at)
    finish = fn.COALESCE(Event.held_end, Event.ends_at)
    if is_sqlite():
        return (fn.julianday(finish) - fn.julianday(start)) * 24
    return fn.date_part("epoch", finish - start) / 3600


def held_sums(min_hours: float):
    """SUM columns: the sessions held long enough, the publicity events held."""
    long_enough = Case(None, (((Event.kind == "session")
                               & (held_hours_sql() >= min_hours - 1e-6), 1),), 0)
    publicity = Case(None, (((Event.kind == "publicity"), 1),), 0)
    return fn.SUM(long_enough), fn.SUM(publicity)


def held_in(start: dt.datetime, end: dt.datetime):
    """The held sessions and publicity events begun in [start, end)."""
    return ((Event.status == "held") & Event.kind.in_(("session", "publicity"))
            & (Event.starts_at >= start) & (Event.starts_at < end))


# --- working the figures out --------------------------------------------------------------

def _pairings_by_village(village_ids):
    query = Pairing.select(*_QUOTA_COLUMNS).order_by(Pairing.term_start, Pairing.id)
    if village_ids is not None:
        query = query.where(Pairing.village.in_(list(village_ids)))
    by_village = defaultdict(list)
    for pairing in query:
        by_village[pairing.village_id].append(pairing)
    return by_village


def _quotas(by_village, years) -> dict:
    """(pairing id, year) -> [figures] for the pairings owing something in a year."""
    figures = {}
    for pairings in by_village.values():
        touched = range(min(p.term_start.year for p in pairings),
                        max(p.term_end.year for p in pairings) + 1)
        for year in touched:
            if years is not None and year not in years:
                continue
            first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
            of_year = [p for p in pairings if p.term_start <= last and p.term_end >= first]
            terms = {p.id: p for p in of_year}
            for pairing_id, quota in village_quota(of_year, year).items():
                term = terms[pairing_id]
                figures[(pairing_id, year)] = [
                    quota.sessions, quota.publicity,
                    max(term.term_start, first).toordinal(), min(term.term_end, last).toordinal(),
                    0, 0]
    return figures


def _count_held(figures: dict, village_ids, min_hours: float) -> None:
    """Add the held counts of each year to ``figures`` (one aggregate per year)."""
    for year in sorted({year for _, year in figures}):
        query = (Event.select(Event.pairing, *held_sums(min_hours))
                 .where(held_in(*clock.year_bounds(year))).group_by(Event.pairing))
        if village_ids is not None:
            query = query.where(Event.pairing.in_(
                Pairing.select(Pairing.id).where(Pairing.village.in_(list(village_ids)))))
        for pairing_id, sessions, publicity in query.tuples():
            found = figures.get((pairing_id, year))
            if found is not None:
                found[4], found[5] = int(sessions or 0), int(publicity or 0)


def work_out(village_ids=None, years=None) -> dict:
    """(pairing id, year) -> the tally's figures (``_FIGURES``), worked out from the
    pairings and events (of these villages and years; all by default)."""
    min_hours = get_settings().min_session_hours
    figures = _quotas(_pairings_by_village(village_ids), years)
    _count_held(figures, village_ids, min_hours)
    return {key: tuple(values) + (min_hours,) for key, values in figures.items()}


def _stored(village_ids=None, years=None) -> dict:
    query = PaceTally.select(PaceTally.pairing, PaceTally.year,
                             *(getattr(PaceTally, name) for name in _FIGURES))
    if village_ids is not None:
        query = query.join(Pairing).where(Pairing.village.in_(list(village_ids)))
    if years is not None:
        query = query.where(PaceTally.year.in_(list(years)))
    return {(row[0], row[1]): tuple(row[2:]) for row in query.tuples()}


# --- keeping them ----------------------------------------------------------------------------

def refresh(village_ids=None, years=None) -> int:
    """Work the figures of these villages' pairings (all by default) out again and write
    what differs; returns how many rows changed."""
    if village_ids is not None:
        village_ids = sorted({int(v) for v in village_ids if v is not None})
        if not village_ids:
            return 0
        if len(village_ids) > MANY_VILLAGES:  # a re-plan of the year, an import: all at once
            village_ids = None
    years = set(years) if years is not None else None
    # everything (the hourly repair): worked out first without the write lock, taken only
    # when something differs; some villages (a change, a planning's chunk): inside it, once
    if village_ids is None and _stored(None, years) == work_out(None, years):
        return 0
    with transaction():
        # worked out again inside the write transaction, one keeper at a time: a keeper
        # that worked out before another's change committed cannot write over it
        hold_until_commit(_LOCK_KEY)
        wanted = work_out(village_ids, years)
        stored = _stored(village_ids, years)
        gone = defaultdict(list)
        for pairing_id, year in stored.keys() - wanted.keys():
            gone[year].append(pairing_id)
        for year, pairing_ids in gone.items():
            for batch in chunked(pairing_ids, BATCH):
                PaceTally.delete().where((PaceTally.year == year)
                                         & PaceTally.pairing.in_(batch)).execute()
        changed = [dict(pairing=key[0], year=key[1], **dict(zip(_FIGURES, values)))
                   for key, values in sorted(wanted.items()) if stored.get(key) != values]
        for batch in chunked(changed, 100):  # 9 columns: under SQLite's 999 parameters
            (PaceTally.insert_many(batch)
             .on_conflict(conflict_target=[PaceTally.year, PaceTally.pairing],
                          preserve=[getattr(PaceTally, name) for name in _FIGURES])
             .execute())
    return sum(len(ids) for ids in gone.values()) + len(changed)


def rebuild() -> int:
    """Every pairing's figures worked out again (the safety net: the hourly job and
    ``jiedui pace-tally``); returns how many rows were wrong or missing."""
    return refresh()


def refresh_events(event_ids) -> int:
    """After a change of these events: their villages' figures (a moved or handed-over
    event changes two pairings of one village)."""
    ids = sorted({int(i) for i in event_ids})
    if len(ids) > MANY_EVENTS:  # a year planned at once: no use finding their villages
        return refresh()
    villages = set()
    for batch in chunked(ids, BATCH):
        villages |= {v for v, in Event.select(Event.village).where(Event.id.in_(batch))
                     .distinct().tuples()}
    return refresh(village_ids=villages) if villages else 0


def ensure_counted(year: int) -> None:
    """Count again when ``min_session_hours`` is no longer the one the sessions were
    counted with (a setting of the environment: it changes with a restart)."""
    min_hours = get_settings().min_session_hours
    # the year's smallest and largest: two seeks in the index of (year, min_hours), where
    # "any row counted with other hours" would read every pairing's row
    of_year = PaceTally.select(PaceTally.min_hours).where(PaceTally.year == year)
    lowest, highest = Select(columns=[
        of_year.order_by(PaceTally.min_hours).limit(1),
        of_year.order_by(PaceTally.min_hours.desc()).limit(1)]).bind(db).tuples().get()
    if lowest is not None and (lowest != min_hours or highest != min_hours):
        log.info("min_session_hours is now %s: counting the held sessions again", min_hours)
        refresh()


# --- reading: due by a day, behind pace ------------------------------------------------------

def due_sql(required, day: dt.date):
    """``core.pace.quota_due(required, term_share(...))`` in SQL: the quota × the days of
    the term within the year passed by ``day`` / its days, rounded down (integers only)."""
    number = day.toordinal()
    span = PaceTally.last_day - PaceTally.first_day + 1
    passed = Case(None, ((PaceTally.first_day > number, 0),
                         (PaceTally.last_day < number, span)),
                  number - PaceTally.first_day + 1)
    return (required * passed) / span


def _later_held(year: int, today: dt.date, min_hours: float):
    """Held events of the year begun after ``today`` (none, unless the clock moved back),
    per pairing: taken off the kept counts."""
    start, end = clock.year_bounds(year)
    until = max(start, clock.utc_from_local(today + dt.timedelta(days=1), dt.time()))
    if until >= end:
        return None
    # Nearly always none: asked first of the (status, ends_at) index (a held event begun
    # after ``until`` ends after it), so the usual read joins nothing. The latest end, not
    # EXISTS: PostgreSQL's planner, expecting many held events to match, scanned the
    # table for a first one that is not there (50 ms at province); MAX reads one index entry.
    latest = Event.select(fn.MAX(Event.ends_at)).where(Event.status == "held").scalar()
    if latest is None or latest < until:
        return None
    sessions, publicity = held_sums(min_hours)
    return (Event.select(Event.pairing.alias("pairing_id"), sessions.alias("sessions"),
                         publicity.alias("publicity"))
            .where(held_in(until, end)).group_by(Event.pairing).alias("later"))


def pace_columns(year: int, today: dt.date):
    """(join, held sessions, due sessions, held publicity, due publicity): SQL for a query
    on ``PaceTally``; ``join(query)`` adds what the held counts need."""
    ensure_counted(year)
    later = _later_held(year, today, get_settings().min_session_hours)
    sessions_held, publicity_held = PaceTally.sessions_held, PaceTally.publicity_held
    if later is not None:
        sessions_held = sessions_held - fn.COALESCE(later.c.sessions, 0)
        publicity_held = publicity_held - fn.COALESCE(later.c.publicity, 0)

    def join(query):
        if later is None:
            return query
        return query.join(later, JOIN.LEFT_OUTER,
                          on=(later.c.pairing_id == PaceTally.pairing))
    return (join, sessions_held, due_sql(PaceTally.sessions_required, today),
            publicity_held, due_sql(PaceTally.publicity_required, today))
