"""District-wide numbers: how many villages, lawyers, pairings; how many villages lack one."""
from peewee import Select, fn

from core.db import db
from core.models import LawFirm, Lawyer, Pairing, Town, Village


def district_stats() -> dict:
    """One query: the counts ``jiedui stats`` prints and the coverage page starts from.

    ``villages`` counts villages (村) and communities (社区) together, as the programme's
    131 does; ``unpaired_villages`` are those without an active pairing.
    """
    active = Pairing.status == "active"
    paired = Pairing.select(Pairing.village).where(active)
    columns = {
        "villages": Village.select(fn.COUNT(Village.id)),
        "communities": Village.select(fn.COUNT(Village.id)).where(Village.kind == "community"),
        "rural_villages": Village.select(fn.COUNT(Village.id)).where(Village.kind == "village"),
        "towns": Town.select(fn.COUNT(Town.id)),
        "firms": LawFirm.select(fn.COUNT(LawFirm.id)),
        "lawyers": Lawyer.select(fn.COUNT(Lawyer.id)),
        "active_lawyers": Lawyer.select(fn.COUNT(Lawyer.id)).where(Lawyer.active),
        "paired_lawyers": Pairing.select(fn.COUNT(fn.DISTINCT(Pairing.lawyer))).where(active),
        "active_pairings": Pairing.select(fn.COUNT(Pairing.id)).where(active),
        "unpaired_villages": Village.select(fn.COUNT(Village.id)).where(Village.id.not_in(paired)),
    }
    query = Select(columns=[subquery.alias(name) for name, subquery in columns.items()])
    row = query.bind(db).dicts().get()
    return {name: int(row[name] or 0) for name in columns}
