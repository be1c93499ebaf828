"""Coverage (全覆盖): which villages in a user's scope have an active lawyer.

The whole picture comes from one query (villages LEFT OUTER JOIN their active pairing,
lawyer and firm), so it costs the same for 6 villages or 131. The totals always count the
whole scope; the town and "only unpaired" filters only choose the rows shown.

At province scale the page (``/coverage``) and the desk do not read every village:
``summary`` counts by town in SQL (one row per town), and ``rows_query`` is the query of
the villages shown, which the page reads one page at a time.
"""
import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN, fn

from core import clock
from core.access import village_filter
from core.models import LawFirm, Lawyer, Pairing, Town, User, Village


@dataclass(frozen=True)
class CoverageRow:
    village_id: int
    code: str
    name: str
    kind: str
    pairing_id: int | None
    lawyer_id: int | None
    lawyer_name: str | None
    firm_name: str | None
    term_start: dt.date | None
    term_end: dt.date | None
    today: dt.date

    @property
    def paired(self) -> bool:
        return self.pairing_id is not None

    @property
    def term_over(self) -> bool:
        """Still marked active, but its term has run out: somebody must renew or replace."""
        return self.paired and self.term_end < self.today

    @property
    def not_started(self) -> bool:
        return self.paired and self.term_start > self.today


@dataclass
class TownCoverage:
    id: int
    code: str
    name: str
    judicial_office: str
    rows: list[CoverageRow] = field(default_factory=list)  # the rows shown (after filters)
    total: int = 0  # villages of the town in scope, filters aside
    paired: int = 0
    term_over: int = 0

    @property
    def unpaired(self) -> int:
        return self.total - self.paired


@dataclass
class Coverage:
    towns: list[TownCoverage]  # towns with rows to show, in order
    all_towns: list[TownCoverage]  # every town in scope (for the town filter)
    total: int
    paired: int
    term_over: int

    @property
    def unpaired(self) -> int:
        return self.total - self.paired

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.unpaired == 0


def _coverage_query(scope):
    active = (Pairing.village == Village.id) & (Pairing.status == "active")
    query = (Village
             .select(Village.id, Village.code, Village.name, Village.kind,
                     Town.id, Town.code, Town.name, Town.judicial_office,
                     Pairing.id, Pairing.term_start, Pairing.term_end,
                     Lawyer.id, Lawyer.name, LawFirm.name)
             .join(Town)
             .switch(Village)
             .join(Pairing, JOIN.LEFT_OUTER, on=active)
             .join(Lawyer, JOIN.LEFT_OUTER, on=(Pairing.lawyer == Lawyer.id))
             .join(LawFirm, JOIN.LEFT_OUTER, on=(Lawyer.firm == LawFirm.id))
             .order_by(Town.code, Village.code))
    if scope is not True:
        query = query.where(scope)
    return query


def coverage(user: User | None, *, town_code: str | None = None,
             only_unpaired: bool = False) -> Coverage:
    """The coverage of the villages ``user`` may read, grouped by town.

    ``town_code`` and ``only_unpaired`` narrow the rows shown, never the totals.
    """
    scope = village_filter(user)
    if scope is False:
        return Coverage(towns=[], all_towns=[], total=0, paired=0, term_over=0)
    today = clock.today()
    towns: dict[int, TownCoverage] = {}
    rows = _coverage_query(scope).tuples()
    for (village_id, code, name, kind, t_id, t_code, t_name, t_office, pairing_id,
         term_start, term_end, lawyer_id, lawyer_name, firm_name) in rows:
        town = towns.get(t_id)
        if town is None:
            town = towns[t_id] = TownCoverage(id=t_id, code=t_code, name=t_name,
                                              judicial_office=t_office)
        row = CoverageRow(village_id, code, name, kind, pairing_id, lawyer_id, lawyer_name,
                          firm_name, term_start, term_end, today)
        town.total += 1
        town.paired += row.paired
        town.term_over += row.term_over
        if (town_code is None or town_code == t_code) and not (only_unpaired and row.paired):
            town.rows.append(row)
    all_towns = list(towns.values())
    return Coverage(
        towns=[town for town in all_towns if town.rows],
        all_towns=all_towns,
        total=sum(town.total for town in all_towns),
        paired=sum(town.paired for town in all_towns),
        term_over=sum(town.term_over for town in all_towns),
    )


def _active_join():
    return (Pairing.village == Village.id) & (Pairing.status == "active")


def summary(user: User | None) -> Coverage:
    """The totals of ``user``'s scope and of each of its towns (``all_towns``, in code
    order, without rows), counted in SQL: one row per town, not per village."""
    scope = village_filter(user)
    if scope is False:
        return Coverage(towns=[], all_towns=[], total=0, paired=0, term_over=0)
    today = clock.today()
    query = (Village
             .select(Town.id, Town.code, Town.name, Town.judicial_office,
                     fn.COUNT(Village.id), fn.COUNT(Pairing.id),
                     fn.SUM((Pairing.term_end < today).cast("integer")))
             .join(Town)
             .switch(Village)
             .join(Pairing, JOIN.LEFT_OUTER, on=_active_join())
             .group_by(Town.id, Town.code, Town.name, Town.judicial_office)
             .order_by(Town.code))
    if scope is not True:
        query = query.where(scope)
    towns = [TownCoverage(id=t_id, code=code, name=name, judicial_office=office,
                          total=total, paired=paired, term_over=int(over or 0))
             for t_id, code, name, office, total, paired, over in query.tuples()]
    return Coverage(towns=[], all_towns=towns, total=sum(t.total for t in towns),
                    paired=sum(t.paired for t in towns),
                    term_over=sum(t.term_over for t in towns))


def totals(user: User | None) -> Coverage:
    """The totals of ``user``'s scope alone (no towns): one aggregate row, where
    ``summary`` groups a province's 1,300 towns (the desk shows the totals)."""
    scope = village_filter(user)
    if scope is False:
        return Coverage(towns=[], all_towns=[], total=0, paired=0, term_over=0)
    query = (Village
             .select(fn.COUNT(Village.id), fn.COUNT(Pairing.id),
                     fn.SUM((Pairing.term_end < clock.today()).cast("integer")))
             .join(Pairing, JOIN.LEFT_OUTER, on=_active_join()))
    if scope is not True:
        query = query.where(scope)
    total, paired, over = query.tuples().get()
    return Coverage(towns=[], all_towns=[], total=int(total or 0), paired=int(paired or 0),
                    term_over=int(over or 0))


def rows_query(user: User | None, *, town_code: str | None = None,
               only_unpaired: bool = False):
    """The query of the coverage rows ``user`` reads (town and village code order), with
    the filters; ``as_rows`` turns the tuples of a page of it into ``CoverageRow``s.
    None when the scope is empty."""
    scope = village_filter(user)
    if scope is False:
        return None
    query = _coverage_query(scope)
    if town_code is not None:
        query = query.where(Town.code == town_code)
    if only_unpaired:
        query = query.where(Pairing.id.is_null())
    return query.tuples()


def as_rows(tuples) -> list[tuple[int, CoverageRow]]:
    """(town id, row) of each tuple of ``rows_query``."""
    today = clock.today()
    return [(t_id, CoverageRow(village_id, code, name, kind, pairing_id, lawyer_id,
                               lawyer_name, firm_name, term_start, term_end, today))
            for (village_id, code, name, kind, t_id, _t_code, _t_name, _t_office, pairing_id,
                 term_start, term_end, lawyer_id, lawyer_name, firm_name) in tuples]


def page_towns(found: Coverage, rows: list[tuple[int, CoverageRow]]) -> list[TownCoverage]:
    """The towns of a page of rows, in order, each with its rows on the page and its
    figures from ``summary``."""
    by_id = {town.id: town for town in found.all_towns}
    towns: dict[int, TownCoverage] = {}
    for t_id, row in rows:
        town = towns.get(t_id)
        if town is None:
            whole = by_id[t_id]
            town = towns[t_id] = TownCoverage(
                id=whole.id, code=whole.code, name=whole.name,
                judicial_office=whole.judicial_office, total=whole.total,
                paired=whole.paired, term_over=whole.term_over)
        town.rows.append(row)
    return list(towns.values())
