"""The demo district lived through a year: what a village publishes is what is planned, on
any day the demo is loaded, and a replacement leaves nobody a shortfall they cannot fix."""
import datetime as dt

import pytest

from core import clock
from core.arrangements import describe
from core.demo import load_demo
from core.disclosure import public_village
from core.i18n import gettext_for
from core.models import Event, Lawyer, Pairing
from core.pairings import replace_lawyer
from core.planner import quota_status
from tests.planning_support import assert_sessions_on_arrangement

pytestmark = pytest.mark.slow  # the demo district is loaded for each date


def _set_clock(monkeypatch, instant: dt.datetime) -> None:
    monkeypatch.setattr(clock, "now_utc", lambda: instant)
    monkeypatch.setattr(clock, "today", lambda: clock.local_date(instant))


def _free_lawyer(village_pairing: Pairing) -> Lawyer:
    """A lawyer who can keep the village's arrangement (none of theirs meets it)."""
    gap = dt.timedelta(hours=1)
    for lawyer in Lawyer.select().order_by(Lawyer.id):
        if lawyer.id == village_pairing.lawyer_id:
            continue
        theirs = Pairing.select().where((Pairing.lawyer == lawyer.id)
                                        & (Pairing.status == "active"))
        if not any(p.arrangement.meets(village_pairing.arrangement, gap) for p in theirs):
            return lawyer
    raise AssertionError("no lawyer is free at that arrangement")


# 2 a.m. UTC: the district's morning. Early January (the year's first sessions to come) and
# the day after the National Day holiday (October's arranged days fall in it).
@pytest.mark.parametrize("instant", [dt.datetime(2027, 1, 4, 2), dt.datetime(2027, 10, 9, 2)],
                         ids=["january", "october"])
def test_the_demo_publishes_what_it_plans_and_survives_a_replacement(database, monkeypatch,
                                                                     instant):
    _set_clock(monkeypatch, instant)
    load_demo(tasks=False)
    year, zh = instant.year, gettext_for("zh_CN")

    counts = assert_sessions_on_arrangement(year)  # every session on its published hours
    assert counts.get("busy", 0) == 0 and counts.get("term", 0) == 0
    assert counts["arranged"] > 131 * 10  # days off move a few, never more

    pairings = list(Pairing.select().where(Pairing.status == "active"))
    for pairing in pairings[::13]:
        shown = public_village(pairing.village.code)
        assert shown.arrangement == pairing.arrangement
        assert describe(shown.arrangement, zh).startswith("每月第")
        for event in shown.next_events:  # the next sessions, at the published hours
            assert (event.starts_at.time(), event.ends_at.time()) == (
                pairing.arrangement.start, pairing.arrangement.end)

    # a replacement today: the new lawyer takes the future, the old keeps the past
    pairing = pairings[40]
    village = pairing.village
    lawyer = _free_lawyer(pairing)
    new = replace_lawyer(None, pairing, lawyer=lawyer, on=clock.today() + dt.timedelta(days=1))
    rows = [row for row in quota_status(None, year) if row.village.id == village.id]
    assert sum(row.required_sessions for row in rows) == 12
    assert sum(row.required_publicity for row in rows) == 2
    assert all(not row.shortfall for row in rows), [row.shortfall for row in rows]
    future = Event.select().where((Event.village == village.id)
                                  & (Event.starts_at > clock.now_utc() + dt.timedelta(days=8))
                                  & (Event.status == "planned"))
    assert {event.lawyer_id for event in future} <= {new.lawyer_id}
    assert_sessions_on_arrangement(year)
