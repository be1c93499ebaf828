"""On-site sessions (坐班: events of kind ``session``) planned and held, per town and
district month, kept at commit (``core.town_tally``, the figures ``sessions:planned`` —
not cancelled, held ones included — and ``sessions:held``).

The charts' sessions by month and the towns compared (``core.series``) counted a year of
sessions for every view: 300,000 at province scale, 0.2–0.3 s a chart. The core's
reactions call ``refresh_events`` on ``feeds_changed``, which every change of an event
fires (planned, moved, held, cancelled, reinstated, made up, handed over), once it is
committed; the hourly ``core.jobs.repair_town_tallies`` and ``jiedui progress-tally``
count everything again, writing only what differs.

The scopes that read the kept counts are those whose events are whole towns
(``core.access.whole_towns`` holds for sessions too: a session is in a village, never
withheld); a lawyer's or a village's are counted from their own events.
"""
from peewee import Case, chunked, fn

from core import clock, town_tally
from core.config import get_settings
from core.models import Event, Village
from core.town_tally import month_bounds, month_of

FIGURES = ("planned", "held")
# What the charts, the bureau's report and the kept counts call a planned and a held
# session (one home: ``core.series`` counts the same conditions for the other scopes).
PLANNED = Event.status != "cancelled"  # what the plan still asks for, held ones included
HELD = Event.status == "held"
MANY_EVENTS = 50_000  # more events at once: every town counted (a planning's chunk of 400
                     # villages, ~5,600 events, counts its own towns)


def _in_towns(query, town_ids):
    return query if town_ids is None else query.where(Village.town.in_(list(town_ids)))


class Sessions(town_tally.Source):
    name = "sessions"

    def figures(self, slugs=None) -> dict[str, str]:
        zone = get_settings().timezone
        return {slug: zone for slug in FIGURES if slugs is None or slug in slugs}

    def years(self, town_ids) -> set[int]:
        first, last = _in_towns(Event.select(fn.MIN(Event.starts_at), fn.MAX(Event.starts_at))
                                .join(Village).where(Event.kind == "session"),
                                town_ids).tuples().get()
        if first is None:
            return set()
        return set(range(clock.local_date(first).year, clock.local_date(last).year + 1))

    def count(self, slugs, town_ids, year: int):
        bounds = month_bounds(year)
        month = month_of(Event.starts_at, bounds)
        query = _in_towns(
            Event.select(Village.town, month, fn.COUNT(Case(None, [(PLANNED, 1)])),
                         fn.COUNT(Case(None, [(HELD, 1)])))
            .join(Village)
            .where((Event.kind == "session") & (Event.starts_at >= bounds[0])
                   & (Event.starts_at < bounds[12]))
            .group_by(Village.town, month), town_ids)
        rows = []
        for town_id, month_index, planned, held in query.tuples():
            figures = {"planned": planned, "held": held}
            rows += [(slug, town_id, month_index, int(figures[slug] or 0))
                     for slug in slugs if figures[slug]]
        return rows


SESSIONS = Sessions()


def refresh_events(event_ids) -> int:
    """After a change of these events: their towns' sessions counted again (every town
    when the change is a year planned)."""
    ids = sorted({int(i) for i in event_ids})
    if len(ids) > MANY_EVENTS:
        return town_tally.refresh(SESSIONS)
    towns = set()
    for batch in chunked(ids, 900):  # under SQLite's 999 parameters
        towns |= {t for (t,) in Village.select(Village.town).join(Event).where(
            Event.id.in_(batch) & (Event.kind == "session")).distinct().tuples()}
    return town_tally.refresh(SESSIONS, town_ids=towns) if towns else 0


def rebuild() -> int:
    """Every town's sessions counted again; returns how many rows were wrong or missing."""
    return town_tally.rebuild(SESSIONS)


def monthly(year: int, towns) -> dict[str, list[int]]:
    """``{"planned": [12 months], "held": [12 months]}`` in ``towns`` (True: the district)."""
    return town_tally.monthly(SESSIONS, list(FIGURES), year, towns)


def per_town(year: int, towns, months: range | None = None) -> dict[int, dict[str, int]]:
    """``{town id: {"planned": n, "held": n}}`` for the year (or its ``months``, 0–11), in
    ``towns`` (True: all)."""
    return town_tally.per_town(SESSIONS, list(FIGURES), year, towns, months)
