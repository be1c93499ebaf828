"""Coverage (全覆盖): which villages in a user's scope have an active lawyer.

The whole picture comes from one query (villages LEFT OUTER JOIN their active pairing,
lawyer and firm), so the page costs the same for 6 villages or 131. The totals always
count the whole scope; the town and "only unpaired" filters only choose the rows shown.
"""
import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN

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
