"""Figures counted per town and district month, kept at commit (``TownTally``): what a page
would otherwise count over a whole year of a province (650,000 done tasks, 300,000
on-site sessions) is read from a few rows.

A *source* says what its figures are and how they are counted (``Source``:
``core.progress_tally`` the programme metrics, ``core.session_tally`` the on-site sessions
planned and held); this module keeps them, the same way for every source:

- each town's months (``town_id`` 0: the district's own work, which has no town), each
  town's year (``month`` = ``YEAR``) and the sums over the towns (``town_id`` =
  ``ALL_TOWNS``), so the district reads a few dozen rows and the towns compared one row
  per town; a source may keep weeks as well (``month`` = ``WEEKS + w``, ``week_bounds``:
  the programmes' weekly trend), summed over the towns like the months;
- ``refresh`` counts some towns again once a change is committed, inside its write
  transaction and one keeper at a time (``core.db.hold_until_commit``), and moves the sums
  by what those towns' counts moved; over every town (the hourly repair), it counts first
  without the write lock and writes only what differs;
- each figure remembers the definition it was counted with (``Source.figures``: its
  ``shape``), and a reader finding another one counts that figure again
  (``ensure_counted``).

Figures are stored under ``<source name>:<slug>``, so sources never collide.
"""
import datetime as dt
import logging
from collections import defaultdict

from peewee import Case, chunked, fn

from core import clock
from core.db import db, hold_until_commit, transaction
from core.models import TownTally, TownTallyShape

log = logging.getLogger(__name__)

NO_TOWN = 0  # the town id kept for the district's own work (no town)
ALL_TOWNS = -1  # the town id of the sums over every town and the district's own work
YEAR = 12  # the month number of the sums over the year's twelve months
# A source may keep weeks too (``core.progress_tally``: the programmes' weekly trend): week
# ``w`` of a year (``week_bounds``) is kept as the month number ``WEEKS + w``; the weeks are
# not added into ``YEAR`` (the months are).
WEEKS = 16
_LOCK_KEY = 0x6A747479  # "jtty": one keeper of the kept figures at a time


def month_bounds(year: int) -> list[dt.datetime]:
    """The 13 instants (naive UTC) that start each district month of ``year`` and the next
    year: month ``m`` (1–12) is [bounds[m - 1], bounds[m])."""
    return [clock.utc_from_local(dt.date(year + (m > 12), (m - 1) % 12 + 1, 1), dt.time.min)
            for m in range(1, 14)]


def month_of(instant, bounds: list[dt.datetime]):
    """SQL: the month index (0–11) of ``instant`` among the 13 ``month_bounds`` (12 after)."""
    return Case(None, [(instant < bounds[month + 1], month) for month in range(12)], 12)


def first_monday(year: int) -> dt.date:
    """The Monday of the week that holds 1 January of ``year``: the start of its week 0."""
    return clock.week_start(dt.date(year, 1, 1))


def week_bounds(year: int) -> list[dt.datetime]:
    """The instants (naive UTC) that start each district week (Monday to Sunday) touching
    ``year``, from ``first_monday``, and the Monday after its last: week ``w`` is
    [bounds[w], bounds[w + 1]) — within the year, as the year's bounds cut it."""
    monday, last = first_monday(year), dt.date(year, 12, 31)
    weeks = (last - monday).days // 7 + 1
    return [clock.utc_from_local(monday + dt.timedelta(weeks=w), dt.time.min)
            for w in range(weeks + 1)]


def week_of(instant, bounds: list[dt.datetime]):
    """SQL: the kept period (``WEEKS + w``) of ``instant`` among ``week_bounds``."""
    weeks = len(bounds) - 1
    return Case(None, [(instant < bounds[w + 1], WEEKS + w) for w in range(weeks - 1)],
                WEEKS + weeks - 1)


class Source:
    """What a kind of kept figure is counted from. ``name`` prefixes its figures."""
    name = ""

    def figures(self, slugs=None) -> dict[str, str]:
        """``{slug: shape}`` of its figures (those of ``slugs``; all by default). The shape
        is what the counts depend on besides the data (a definition, the time zone)."""
        raise NotImplementedError

    def years(self, town_ids) -> set[int]:
        """The district years with something to count in these towns (all: None)."""
        raise NotImplementedError

    def count(self, slugs, town_ids, year: int):
        """``[(slug, town id or NO_TOWN, month 0–11, count)]`` in these towns (all: None);
        a source that keeps weeks gives them too, each as the month ``WEEKS + w``."""
        raise NotImplementedError


# --- keeping --------------------------------------------------------------------------------------

def _key(source: Source, slug: str) -> str:
    return f"{source.name}:{slug}"


def _where(figures, town_ids, years):
    where = TownTally.figure.in_(figures)
    if town_ids is not None:
        where &= TownTally.town_id.in_(list(town_ids))
    if years is not None:
        where &= TownTally.year.in_(list(years))
    return where


def _stored(figures, town_ids, years) -> dict:
    """The kept rows of these towns (every town, not the sums: None)."""
    where = _where(figures, town_ids, years)
    if town_ids is None:
        where &= TownTally.town_id != ALL_TOWNS
    query = (TownTally.select(TownTally.figure, TownTally.year, TownTally.town_id,
                              TownTally.month, TownTally.value).where(where))
    return {tuple(row[:4]): row[4] for row in query.tuples()}


def _counted(source: Source, slugs, town_ids, years) -> dict:
    """(figure, year, town id, month) -> count, each town's ``YEAR`` included."""
    counts = defaultdict(int)
    for year in years:
        for slug, town_id, month, count in source.count(slugs, town_ids, year):
            counts[(_key(source, slug), year, town_id, month)] += count
            if month < YEAR:  # a month, not a week: the year is its months
                counts[(_key(source, slug), year, town_id, YEAR)] += count
    return dict(counts)


def _summed(counts: dict) -> dict:
    """The ``ALL_TOWNS`` rows of ``counts``: each figure's months and year over the towns."""
    sums = defaultdict(int)
    for (figure, year, _town, month), count in counts.items():
        sums[(figure, year, ALL_TOWNS, month)] += count
    return sums


def _compared(source: Source, slugs, town_ids) -> tuple[dict, dict]:
    """The rows these towns (all: None) should have, with the sums over the towns, and the
    rows kept for them."""
    figures = [_key(source, slug) for slug in slugs]
    years = source.years(town_ids) | {y for (y,) in TownTally.select(TownTally.year).where(
        _where(figures, town_ids, None)).distinct().tuples()}
    wanted = _counted(source, slugs, town_ids, years)
    stored = _stored(figures, town_ids, years)
    stored_sums = _stored(figures, [ALL_TOWNS], years)
    if town_ids is None:  # every town counted: the sums are theirs
        wanted_sums = _summed(wanted)
    else:  # the sums move by what these towns' counts moved
        wanted_sums = defaultdict(int, stored_sums)
        for key, count in _summed(wanted).items():
            wanted_sums[key] += count
        for key, count in _summed(stored).items():
            wanted_sums[key] -= count
    wanted.update((key, count) for key, count in wanted_sums.items() if count)
    stored.update(stored_sums)
    return wanted, stored


def write_differences(model, columns: tuple[str, ...], wanted: dict, stored: dict) -> int:
    """Write the rows of ``wanted`` (``{key: value}``, the key the values of ``columns``,
    unique in ``model``, the value its ``value``) that ``stored`` lacks or holds otherwise,
    and delete those it no longer has; returns how many rows changed. The kept figures'
    one way to write: this module's towns, ``core.progress_tally``'s lawyers."""
    fields = [getattr(model, column) for column in columns]
    gone = sorted(stored.keys() - wanted.keys())
    for key in gone:
        where = fields[0] == key[0]
        for field, value in zip(fields[1:], key[1:]):
            where &= field == value
        model.delete().where(where).execute()
    changed = [dict(zip(columns, key), value=count)
               for key, count in sorted(wanted.items()) if stored.get(key) != count]
    for batch in chunked(changed, 900 // (len(columns) + 1)):  # under SQLite's 999 parameters
        (model.insert_many(batch)
         .on_conflict(conflict_target=fields, preserve=[model.value])
         .execute())
    return len(gone) + len(changed)


_COLUMNS = ("figure", "year", "town_id", "month")  # a TownTally's key, as _stored gives it


def remember_shapes(shapes: dict[str, str]) -> None:
    """Record ``{kept figure: the shape it was counted with}`` (``TownTallyShape``: this
    module's figures and the lawyers' of ``core.progress_tally``)."""
    rows = [{"figure": figure, "shape": shape} for figure, shape in shapes.items()]
    for batch in chunked(rows, 400):
        (TownTallyShape.insert_many(batch)
         .on_conflict(conflict_target=[TownTallyShape.figure],
                      preserve=[TownTallyShape.shape]).execute())


def stale(shapes: dict[str, str]) -> list[str]:
    """The figures of ``{kept figure: its shape now}`` counted with another shape, or never."""
    kept = dict(TownTallyShape.select(TownTallyShape.figure, TownTallyShape.shape)
                .where(TownTallyShape.figure.in_(list(shapes))).tuples())
    return [figure for figure, shape in shapes.items() if kept.get(figure) != shape]


def _remember_shapes(source: Source, shapes: dict) -> None:
    remember_shapes({_key(source, slug): shape for slug, shape in shapes.items()})


def refresh(source: Source, town_ids=None, slugs=None) -> int:
    """Count these towns (``NO_TOWN``: the district's own work; all by default) again for
    these figures of ``source`` (all by default), every year they have something counted
    or kept, and write what differs; returns how many rows changed."""
    if town_ids is not None:
        town_ids = sorted({int(t) if t else NO_TOWN for t in town_ids})
    shapes = source.figures(slugs)
    if not shapes:
        return 0
    slugs = sorted(shapes)
    if town_ids is None:
        # every town (the hourly repair, a figure counted again): counted first without
        # the write lock, which is taken only when something differs
        wanted, stored = _compared(source, slugs, None)
        if wanted == stored:
            _remember_shapes(source, shapes)
            return 0
    with transaction():
        # counted inside the write transaction, one keeper at a time: a keeper that counted
        # before another's change committed cannot write over the other's newer counts, and
        # the sums over the towns move by exactly what the towns' counts moved
        hold_until_commit(_LOCK_KEY)
        changed = write_differences(TownTally, _COLUMNS, *_compared(source, slugs, town_ids))
        if town_ids is None:
            _remember_shapes(source, shapes)
    return changed


def rebuild(source: Source) -> int:
    """Every figure of ``source`` counted again over every town (the safety net); a figure
    it no longer has is forgotten, so it is counted again if it comes back."""
    changed = refresh(source)
    known = [_key(source, slug) for slug in source.figures()]
    (TownTallyShape.delete()
     .where(TownTallyShape.figure.startswith(f"{source.name}:")
            & TownTallyShape.figure.not_in(known)).execute())
    return changed


def ensure_counted(source: Source, slugs) -> None:
    """Count again the figures whose kept counts were counted with another definition (or
    never: a plugin installed since, a database restored from before)."""
    shapes = source.figures(slugs)
    if not shapes:
        return
    recount = [_slug(source, figure) for figure in
               stale({_key(source, slug): shape for slug, shape in shapes.items()})]
    if recount:
        log.info("counting %s again: %s", source.name, ", ".join(recount))
        refresh(source, slugs=recount)


# --- reading ---------------------------------------------------------------------------------------

def _read(source: Source, slugs, year: int, towns, month):
    """The kept rows' WHERE: these figures in ``year`` for ``towns`` (True: the sums over
    all), of the months ``month`` (a condition on ``TownTally.month``)."""
    ensure_counted(source, slugs)
    where = ((TownTally.year == year) & month
             & TownTally.figure.in_([_key(source, slug) for slug in slugs]))
    if towns is True:
        return where & (TownTally.town_id == ALL_TOWNS)
    return where & TownTally.town_id.in_(list(towns))


def _slug(source: Source, figure: str) -> str:
    return figure[len(source.name) + 1:]


def _rows(query) -> list[tuple]:
    """The query's rows as the driver gives them: a towns compared reads thousands of
    plain integers and names, which peewee's per-value conversion would double."""
    return db.execute(query).fetchall()


def monthly(source: Source, slugs, year: int, towns) -> dict[str, list[int]]:
    """``{slug: [count in January, … in December]}`` in ``towns`` (True: the district)."""
    result = {slug: [0] * 12 for slug in slugs}
    if not slugs:
        return result
    query = (TownTally.select(TownTally.figure, TownTally.month, fn.SUM(TownTally.value))
             .where(_read(source, slugs, year, towns, TownTally.month < YEAR))
             .group_by(TownTally.figure, TownTally.month))
    for figure, month, count in _rows(query):
        result[_slug(source, figure)][month] = int(count or 0)
    return result


def totals(source: Source, slugs, year: int, towns) -> dict[str, int]:
    """``{slug: count in the year}`` in ``towns`` (True: the district)."""
    result = {slug: 0 for slug in slugs}
    if not slugs:
        return result
    query = (TownTally.select(TownTally.figure, fn.SUM(TownTally.value))
             .where(_read(source, slugs, year, towns, TownTally.month == YEAR))
             .group_by(TownTally.figure))
    result.update((_slug(source, figure), int(count or 0)) for figure, count in _rows(query))
    return result


def by_period(source: Source, slugs, year: int, towns, periods) -> dict[str, dict[int, int]]:
    """``{slug: {period: count}}`` of these kept ``periods`` (months, ``WEEKS + w``) in
    ``towns`` (True: the district)."""
    result = {slug: {} for slug in slugs}
    if not slugs or not periods:
        return result
    query = (TownTally.select(TownTally.figure, TownTally.month, fn.SUM(TownTally.value))
             .where(_read(source, slugs, year, towns, TownTally.month.in_(list(periods))))
             .group_by(TownTally.figure, TownTally.month))
    for figure, period, count in _rows(query):
        result[_slug(source, figure)][period] = int(count or 0)
    return result


def _per_town_where(source: Source, slugs, year: int, towns, months: range | None):
    ensure_counted(source, slugs)
    chosen = (TownTally.month == YEAR if months is None
              else (TownTally.month >= months.start) & (TownTally.month < months.stop))
    where = ((TownTally.year == year) & chosen
             & TownTally.figure.in_([_key(source, slug) for slug in slugs])
             & (TownTally.town_id > NO_TOWN))
    return where if towns is True else where & TownTally.town_id.in_(list(towns))


def per_town(source: Source, slugs, year: int, towns,
             months: range | None = None) -> dict[int, dict[str, int]]:
    """``{town id: {slug: count in the year}}`` (or in its ``months``, 0–11) in ``towns``
    (True: every town); the district's own work and towns with nothing counted are left
    out. A province's towns are a row each for the year, a row a month for ``months``."""
    if not slugs or (months is not None and not months):
        return {}
    query = (TownTally.select(TownTally.town_id, TownTally.figure, fn.SUM(TownTally.value))
             .where(_per_town_where(source, slugs, year, towns, months))
             .group_by(TownTally.town_id, TownTally.figure))
    result = defaultdict(dict)
    for town_id, figure, count in _rows(query):
        result[town_id][_slug(source, figure)] = int(count or 0)
    return dict(result)


def summed_per_town(source: Source, slugs, year: int, towns) -> dict[int, int]:
    """``{town id: the figures' counts in the year, added up}`` in ``towns`` (True: every
    town): one row per town (the towns compared add up the programmes' headline metrics)."""
    if not slugs:
        return {}
    query = (TownTally.select(TownTally.town_id, fn.SUM(TownTally.value))
             .where(_per_town_where(source, slugs, year, towns, None))
             .group_by(TownTally.town_id))
    return {town_id: int(count or 0) for town_id, count in _rows(query)}
