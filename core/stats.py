"""District-wide numbers: how many villages, lawyers, pairings; how many villages lack one."""
from peewee import Select, fn

from core.db import db
from core.models import LawFirm, Lawyer, Pairing, Town, Village
from core.plugins import get_registry
from core.progress import headline, progress


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


def program_stats(year: int | None = None) -> dict[str, dict]:
    """``{programme slug: {"done", "target"}}`` for the district year (default: this year),
    for ``jiedui stats --json``'s ``programs``.

    A programme is counted by its headline metric (``core.progress.headline``: the first
    metric its plugin registers), not by the sum of its metrics: a programme's target of
    100 is about one thing (households, cases …), and summing would count an enterprise
    visited and then health-checked twice. A programme without a metric shows 0 toward
    its own target. Two queries, however many programmes."""
    registry = get_registry()
    measured = progress(year)
    result = {}
    for program in sorted(registry.programs.values(), key=lambda p: (p.order, p.slug)):
        metric = headline(program.slug)
        row = measured.get(metric.slug) if metric is not None else None
        result[program.slug] = ({"done": row["done"], "target": row["target"]} if row
                                else {"done": 0, "target": program.target})
    return result
