"""Re-plans after pairing changes are coalesced: a burst of changes (an import, a renewal of
every term) is one planning pass over all the villages, and a change made while that pass
runs is re-planned too (core.jobs.request_replan). Runs on SQLite and on PostgreSQL, with a
real queue (SQLite storage) rather than huey's immediate mode."""
import datetime as dt

import pytest

from core import clock, jobs, planner
from core.arrangements import Arrangement
from core.config import load_settings
from core.db import transaction
from core.models import District, Event, LawFirm, Pairing, ReplanRequest, Town, Village
from core.pairings import pair, update_pairing
from core.queue import configure, huey
from tests.factories import make_lawyer
from tests.planning_support import (assert_sessions_on_arrangement, now,  # noqa: F401
                                    published)

YEAR = 2026
VILLAGES = 100
TERM = (dt.date(2026, 1, 1), dt.date(2027, 12, 31))
FIRST = Arrangement(1, 0, dt.time(8, 30), dt.time(12, 0))  # the first Monday morning
THIRD = Arrangement(3, 2, dt.time(14, 0), dt.time(17, 30))  # the third Wednesday afternoon


@pytest.fixture(autouse=True)
def _recorded_feeds(published):  # noqa: F811 - the fixture, used by name
    return published


@pytest.fixture
def many(database, now):  # noqa: F811
    """100 villages in two towns, each with a lawyer of its own, paired on FIRST; 2026
    planned on 2025-12-01."""
    district = District.create(code="310000", name="示范区")
    towns = [Town.create(district=district, code=f"T{i}", name=f"{i}镇") for i in (1, 2)]
    firm = LawFirm.create(name="明德律师事务所")
    pairings = []
    for n in range(VILLAGES):
        village = Village.create(town=towns[n % 2], code=f"V{n:03d}", name=f"{n}村")
        lawyer = make_lawyer(f"律师{n}", firm, phone=f"138{n:08d}")
        pairings.append(pair(None, lawyer=lawyer, village=village, term_start=TERM[0],
                             term_end=TERM[1], arrangement=FIRST))
    planner.plan_year(YEAR)
    assert not ReplanRequest.select().exists()  # nothing waits: the year was not planned then
    return pairings


@pytest.fixture
def queue(tmp_path, monkeypatch):
    """huey on a real queue (SQLite storage), as a consumer reads it, instead of running
    each job as it is queued; the jobs queued are run by ``run_due``."""
    saved = huey.storage_class, huey.storage_kwargs
    monkeypatch.setenv("JIEDUI_REPLAN_DELAY_SECONDS", "10")
    huey.immediate = False
    configure(load_settings({"JIEDUI_INSTANCE": str(tmp_path),
                             "JIEDUI_QUEUE_URL": f"sqlite:///{tmp_path}/queue.db"}))
    huey.flush()
    yield huey
    huey.flush()
    huey.storage_class, huey.storage_kwargs = saved
    huey.immediate = True


def scheduled_replans() -> list:
    """The re-plan jobs queued (each to run once its delay is over)."""
    return [task for task in huey.pending() if task.name.endswith("replan_requested")]


def run_due() -> None:
    """What a consumer does once the delay is over: run the re-plans queued (the other jobs,
    the feeds' and the notices', are core.feeds' and core.notices' to test)."""
    while (task := huey.dequeue()) is not None:
        if task.name.endswith("replan_requested"):
            assert task.eta is not None  # delayed, for the other changes of the burst
            huey.execute(task, timestamp=dt.datetime(2100, 1, 1))


@pytest.fixture
def passes(monkeypatch):
    """The villages of each planning pass of 2026, as the planner was asked to plan them."""
    seen = []
    plan_year = planner.plan_year

    def recording(year, **kwargs):
        villages = kwargs.get("villages")
        seen.append((year, None if villages is None else
                     sorted(v if isinstance(v, int) else v.village_id for v in villages)))
        return plan_year(year, **kwargs)
    monkeypatch.setattr(planner, "plan_year", recording)
    return seen


def test_a_burst_of_100_pairing_changes_is_one_planning_pass(many, queue, passes):
    with transaction():  # e.g. the import: every pairing's arrangement changes at once
        for pairing in many:
            update_pairing(None, pairing, term_start=TERM[0], term_end=TERM[1],
                           arrangement=THIRD)
    assert len(scheduled_replans()) == 1  # one job for the whole burst, after the delay
    waiting = {(r.village_id, r.year) for r in ReplanRequest.select()}
    assert waiting == {(p.village_id, year) for p in many for year in (YEAR - 1, YEAR)}
    assert not passes  # nothing re-planned before the delay is over

    run_due()

    assert passes == [(YEAR, sorted(p.village_id for p in many))]  # 2025 is not planned
    assert not ReplanRequest.select().exists()
    assert_sessions_on_arrangement(YEAR)  # every village's sessions follow THIRD now
    third = Event.select().where(Event.plan_key.contains(f":{YEAR}:session:")
                                 & (Event.status == "planned"))
    assert {e.pairing_id for e in third} == {p.id for p in many}


def test_a_change_made_while_a_re_plan_runs_is_re_planned_too(many, queue, passes,
                                                                monkeypatch):
    first, late = many[0], many[1]
    update_pairing(None, first, term_start=TERM[0], term_end=TERM[1], arrangement=THIRD)
    assert len(scheduled_replans()) == 1
    plan_year, changed = planner.plan_year, []

    def changing_meanwhile(year, **kwargs):
        if not changed:  # the re-plan has read what waits: another pairing changes
            changed.append(update_pairing(None, Pairing.get_by_id(late.id),
                                          term_start=TERM[0], term_end=TERM[1],
                                          arrangement=THIRD))
        return plan_year(year, **kwargs)
    monkeypatch.setattr(planner, "plan_year", changing_meanwhile)

    run_due()

    assert passes == [(YEAR, [first.village_id]), (YEAR, [late.village_id])]
    assert not ReplanRequest.select().exists()
    for pairing in (first, late):
        sessions = Event.select().where(Event.plan_key.startswith(
            f"{pairing.village.code}:{YEAR}:session:") & (Event.status == "planned"))
        hours = {clock.to_local(s.starts_at).time() for s in sessions}
        assert hours == {THIRD.start}, pairing.village.code


def test_requests_wait_for_the_catch_up_when_a_re_plan_fails(many, queue, passes,
                                                            monkeypatch):
    """A re-plan that fails (a database gone away, a consumer killed) leaves its requests
    waiting; the minute's catch-up re-plans them."""
    update_pairing(None, many[0], term_start=TERM[0], term_end=TERM[1], arrangement=THIRD)
    plan_year, broken = planner.plan_year, [True]

    def failing(year, **kwargs):
        if broken:
            raise RuntimeError("the database went away")
        return plan_year(year, **kwargs)
    monkeypatch.setattr(planner, "plan_year", failing)
    with pytest.raises(RuntimeError):
        jobs.replan_requested.call_local()
    assert ReplanRequest.select().count() == 2  # 2025 and 2026, still waiting
    broken.clear()
    jobs.catch_up_replans.call_local()
    assert not ReplanRequest.select().exists()
    assert_sessions_on_arrangement(YEAR)


# --- a province is planned a chunk of villages at a time -------------------------------------

def _plan_of(year: int) -> dict:
    return {e.plan_key: (e.starts_at, e.ends_at, e.lawyer_id, e.status, e.placement)
            for e in Event.select().where(Event.plan_key.contains(f":{year}:"))}


def test_planning_a_chunk_of_villages_at_a_time_makes_the_same_plan(database, now,  # noqa: F811
                                                                   monkeypatch):
    """Lawyers shared by villages far apart in code order (in other chunks) are never
    double-booked, and keep clear of each other's arranged days as in one pass: the plan
    made two villages at a time is the plan made at once."""
    from tests.planning_support import assert_plan_sound
    district = District.create(code="310000", name="示范区")
    towns = [Town.create(district=district, code=f"T{i}", name=f"{i}镇") for i in (1, 2, 3)]
    firm = LawFirm.create(name="明德律师事务所")
    lawyers = [make_lawyer(f"律师{n}", firm, phone=f"1380000{n:04d}") for n in range(3)]
    for n in range(9):  # each lawyer serves a village in every town, on the same Monday
        village = Village.create(town=towns[n % 3], code=f"T{n % 3}V{n}", name=f"{n}村")
        pair(None, lawyer=lawyers[n // 3], village=village, term_start=TERM[0],
             term_end=TERM[1], arrangement=Arrangement(1 + n % 3, 0, dt.time(8, 30),
                                                       dt.time(12, 0)) if n % 3 else FIRST)
    planner.plan_year(YEAR)
    at_once = _plan_of(YEAR)
    assert_plan_sound(YEAR)

    Event.delete().execute()
    monkeypatch.setattr(planner, "CHUNK_VILLAGES", 2)
    monkeypatch.setattr(planner, "WRITE_EVERY", 1)
    planner.plan_year(YEAR)

    assert _plan_of(YEAR) == at_once
    assert_plan_sound(YEAR)


def test_a_re_plan_that_finds_the_planning_lock_held_leaves_the_requests_waiting(
        many, queue, passes):
    """Not a failure to retry: the requests wait for the planning that holds the lock to end
    (the minute's catch-up takes them), and the job is not refused again and again."""
    from core.db import is_sqlite
    from core.locks import planning_lock
    if not is_sqlite():
        pytest.skip("PostgreSQL's advisory lock is the connection's: this test holds it on "
                    "the job's own connection")
    update_pairing(None, many[0], term_start=TERM[0], term_end=TERM[1], arrangement=THIRD)
    with planning_lock():  # e.g. the planning of a year, running
        assert jobs.replan_requested.call_local() == []
    assert not passes and ReplanRequest.select().count() == 2
    jobs.catch_up_replans.call_local()
    assert passes == [(YEAR, [many[0].village_id])]
    assert not ReplanRequest.select().exists()
