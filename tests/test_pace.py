"""Pace (core.pace): what a target expects by a day over the year's workdays, the status
boundaries, a scope's share of a district target; and the charts' data (core.series)
counted from rows made here, each in one aggregate query."""
import datetime as dt
import math

import pytest
from playhouse.test_utils import count_queries

from core.series import (lawyer_series, program_series, session_months, town_series,
                         town_sessions)
from core.models import Holiday
from core.pace import (DISTRICT, YearCalendar, Share, lawyer_share, pace, quota_pace, share_of,
                       status, term_share, town_share, year_calendar)
from core.progress import by_town, cumulative_by_month
from core.demo import DEMO_LOGINS
from tests.factories import session
from tests.tasks_support import PROGRAM, programme  # noqa: F401 (fixture)
from tests.test_progress import done
from tests.test_web_charts import svgs

D = dt.date


def weekdays(year):
    """A year whose workdays are its Mondays to Fridays (no holiday table)."""
    first = D(year, 1, 1)
    days = (first + dt.timedelta(days=n) for n in range(366))
    return YearCalendar(year, tuple(d for d in days if d.year == year and d.weekday() < 5))


# --- the status ------------------------------------------------------------------------------

@pytest.mark.parametrize("done, expected, result", [
    (50, 50, "on_pace"), (51, 50, "on_pace"), (0, 0, "on_pace"), (3, 0, "on_pace"),
    (40, 50, "behind"),          # exactly 80 %: amber
    (39.9, 50, "far_behind"),    # just under 80 %: red
    (49, 50, "behind"), (0, 1, "far_behind"),
])
def test_status_boundaries(done, expected, result):
    assert status(done, expected) == result


# --- expected by a day ---------------------------------------------------------------------------

def test_expected_is_linear_over_workdays_not_calendar_days():
    calendar = weekdays(2026)  # 261 workdays in 2026
    assert len(calendar.workdays) == 261
    assert calendar.fraction(D(2025, 12, 31)) == 0           # before the year
    assert calendar.fraction(D(2026, 1, 1)) == 1 / 261       # a Thursday, a workday here
    assert calendar.fraction(D(2026, 1, 3)) == 2 / 261       # Saturday adds nothing
    assert calendar.fraction(D(2026, 12, 31)) == 1
    assert calendar.fraction(D(2027, 3, 1)) == 1             # a past year: all of it
    ends = calendar.month_end_fractions()
    assert len(ends) == 12 and ends[-1] == 1 and ends == sorted(ends)


def test_days_off_are_not_expected_to_move_the_target(database):
    """The Spring Festival week off: the expected value stands still over it."""
    for n in range(7):
        Holiday.create(day=D(2026, 2, 16) + dt.timedelta(days=n), kind="off", name="春节",
                       source="manual")
    Holiday.create(day=D(2026, 1, 1), kind="off", name="元旦", source="manual")
    calendar = year_calendar(2026)
    before, after = calendar.fraction(D(2026, 2, 15)), calendar.fraction(D(2026, 2, 22))
    assert before == after
    assert calendar.fraction(D(2026, 1, 1)) == 0   # new year's day: nothing is expected
    early = pace(0, 100, day=D(2026, 1, 1), calendar=calendar)
    assert early.expected == 0 and early.status == "on_pace"
    late = pace(99, 100, day=D(2026, 12, 31), calendar=calendar)
    assert late.expected == 100 and late.status == "behind"
    assert pace(100, 100, day=D(2026, 12, 31), calendar=calendar).reached


def test_pace_a_day_mid_year_and_another_year():
    calendar = weekdays(2026)
    mid = pace(40, 100, day=D(2026, 7, 1), calendar=calendar)
    assert 49 < mid.expected < 51 and mid.status == "behind"
    assert mid.expected_percent == pytest.approx(mid.expected)
    assert mid.percent == 40
    assert mid.expected_count == math.ceil(mid.expected)   # shown rounded up
    assert pace(5, 12, day=D(2026, 7, 1), calendar=calendar).expected_count == 6  # 5.9…: 6
    assert pace(30, 100, day=D(2026, 7, 1), calendar=calendar).status == "far_behind"
    # looking at next year's page today: nothing is expected yet
    assert pace(0, 100, year=2027, day=D(2026, 7, 1), calendar=weekdays(2027)).status == "on_pace"


# --- a pairing's quota ---------------------------------------------------------------------------

def test_a_quota_is_due_pro_rata_over_the_pairings_term_rounded_down():
    whole = dict(term_start=D(2026, 1, 1), term_end=D(2028, 12, 31), year=2026)
    assert term_share(**whole, day=D(2026, 7, 2)) == 183 / 365
    mid = quota_pace(5, 12, **whole, day=D(2026, 7, 2))     # 12 × 183/365 = 6.02: 6 due
    assert (mid.expected, mid.expected_count, mid.status) == (6, 6, "behind")
    assert quota_pace(6, 12, **whole, day=D(2026, 7, 2)).status == "on_pace"
    assert quota_pace(0, 12, **whole, day=D(2026, 1, 20)).status == "on_pace"  # none due yet
    assert quota_pace(11, 12, **whole, day=D(2026, 12, 7)).status == "on_pace"  # 11.3: 11
    # a pairing that starts in July owes nothing on its first day
    late = dict(term_start=D(2026, 7, 1), term_end=D(2027, 6, 30), year=2026)
    assert quota_pace(0, 6, **late, day=D(2026, 7, 1)).expected == 0
    assert quota_pace(0, 6, **late, day=D(2026, 6, 1)).expected == 0
    assert quota_pace(5, 6, **late, day=D(2026, 12, 31)).status == "behind"


def test_the_quota_bars_agree_with_the_assessments_early_warning(district):
    """The pairings the assessment warns about are those whose bars are not on pace, and
    what it says is due is what the bars mark."""
    from core.assessment import behind_pace
    for today in (D(2026, 1, 20), D(2026, 7, 2)):
        warned = {row.village.id: row for row in behind_pace(2026, today)}
        for lawyer in lawyer_series(2026, user=district.users.admin, today=today):
            for village in lawyer.villages:
                late = "on_pace" != village.sessions.status or "on_pace" != village.publicity.status
                assert (village.village.id in warned) == late
                if late:
                    row = warned[village.village.id]
                    assert (row.sessions_due, row.publicity_due) == (
                        village.sessions.expected, village.publicity.expected)


# --- a scope's share ---------------------------------------------------------------------------

def test_share_scales_the_district_target_by_villages():
    town = Share("town", 12, 131, "东湖镇")
    assert town.scale(100) == 9              # 100 × 12/131 = 9.16
    assert Share("lawyer", 3, 131).scale(100) == 2
    assert Share("lawyer", 1, 131).scale(100) == 1   # at least 1: never a zero target
    assert Share("town", 0, 131).scale(100) == 0
    assert DISTRICT.scale(100) == 100
    scoped = pace(6, 100, day=D(2026, 12, 31), share=town, calendar=weekdays(2026))
    assert scoped.target == 9 and scoped.district_target == 100 and scoped.status == "far_behind"


def test_share_of_each_viewer(district):
    users = district.users
    assert share_of(users.admin) is DISTRICT and share_of(users.coordinator) is DISTRICT
    assert share_of(None) is DISTRICT
    town = share_of(users.town_coordinator)
    assert (town.kind, town.villages, town.total, town.name) == ("town", 3, 6, "东湖镇")
    lawyer = share_of(users.lawyer)          # 张明, paired with one village
    assert (lawyer.kind, lawyer.villages, lawyer.total) == ("lawyer", 1, 6)
    assert lawyer_share(district.lawyers[0]) == lawyer
    village = share_of(users.village)
    assert (village.kind, village.villages) == ("village", 1)
    assert town_share(district.towns[1]).villages == 3


# --- the charts' data --------------------------------------------------------------------------

def utc(month, day=10):
    return dt.datetime(2026, month, day, 2)


def test_cumulative_by_month_and_by_town_read_the_kept_counts(district, programme):
    v = district.villages
    done(v[0], household="甲", completed_at=utc(1))
    done(v[0], household="乙", completed_at=utc(3))
    done(v[0], household="乙", completed_at=utc(4))   # the same household: counted once
    done(v[3], household="丙", completed_at=utc(3))
    cumulative_by_month(["test_households", "test_visit_count"], 2026)  # counted and kept
    with count_queries() as counted:
        months = cumulative_by_month(["test_households", "test_visit_count"], 2026)
    assert counted.count == 2  # the metrics' definitions checked, the kept months
    assert months["test_households"] == [1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]
    assert months["test_visit_count"] == [1, 1, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4]
    town_coordinator = district.users.town_coordinator
    assert cumulative_by_month(["test_households"], 2026,
                               user=town_coordinator)["test_households"][-1] == 2
    with count_queries() as counted:
        towns = by_town(["test_households"], 2026)
    assert counted.count == 2  # the definitions, the kept years of the towns
    assert towns == {district.towns[0].id: {"test_households": 2},
                     district.towns[1].id: {"test_households": 1}}


def test_program_series_uses_the_viewers_share(district, programme):
    done(district.villages[0], household="甲", completed_at=utc(1))
    today = D(2026, 3, 15)
    [series] = program_series(2026, user=district.users.town_coordinator, today=today,
                              calendar=weekdays(2026))
    assert series.program == PROGRAM and series.metric == "test_households"
    assert series.done == [1, 1, 1]                     # January to March, nothing later
    assert series.pace.target == 50                     # 100 × 3/6 villages
    assert len(series.expected) == 12 and series.expected[-1] == 50
    assert series.pace.status == "far_behind"           # 1 of ~10 expected by mid-March
    [district_series] = program_series(2026, user=district.users.admin, today=today,
                                       calendar=weekdays(2026))
    assert district_series.pace.target == 100


def test_session_months_reads_planned_and_held_from_the_kept_counts(district):
    pairing, other = district.pairings[0], district.pairings[3]
    session(pairing, D(2026, 1, 12))                       # held
    session(pairing, D(2026, 2, 9), status="planned")      # planned, February is over: missed
    session(pairing, D(2026, 2, 23), status="cancelled")   # not counted
    session(other, D(2026, 2, 10))                         # another town's
    session(pairing, D(2026, 2, 11), kind="publicity")     # not a session
    session_months(2026, today=D(2026, 3, 2))  # written past the services: counted now
    with count_queries() as counted:
        months = session_months(2026, today=D(2026, 3, 2))
    assert counted.count == 2  # the definitions checked, the kept months
    assert [(m.planned, m.held) for m in months[:3]] == [(1, 1), (2, 1), (0, 0)]
    assert [m.past for m in months[:3]] == [True, True, False]
    town = session_months(2026, user=district.users.town_coordinator, today=D(2026, 3, 2))
    assert [(m.planned, m.held) for m in town[:2]] == [(1, 1), (1, 0)]


def test_town_series_compares_each_town_with_its_share(district, programme):
    done(district.villages[0], household="甲", completed_at=utc(1))
    done(district.villages[3], household="乙", completed_at=utc(1))
    done(district.villages[3], household="丙", completed_at=utc(2))
    towns = town_series(2026, today=D(2026, 12, 31), calendar=weekdays(2026))
    assert [(t.town.name, t.done, t.pace.target) for t in towns] == [
        ("东湖镇", 1, 50), ("西山街道", 2, 50)]
    mine = town_series(2026, user=district.users.town_coordinator, today=D(2026, 12, 31))
    assert [t.town.name for t in mine] == ["东湖镇"]


def test_town_sessions_compare_held_with_planned_and_due_in_fixed_queries(district):
    east, west = district.pairings[0], district.pairings[3]
    session(east, D(2026, 1, 12))                        # held
    session(east, D(2026, 2, 9), status="planned")       # due by March, not held
    session(east, D(2026, 4, 13), status="planned")      # still to come
    session(east, D(2026, 2, 23), status="cancelled")    # not counted
    session(west, D(2026, 1, 12))
    town_sessions(2026, now=dt.datetime(2026, 3, 2))  # written past the services: counted now
    with count_queries() as counted:
        towns = town_sessions(2026, now=dt.datetime(2026, 3, 2))
    # the towns, the kept year and the kept months before March (each after a check of
    # the definitions), March so far counted: the same however many towns
    assert counted.count == 6
    east_row, west_row = towns
    assert (east_row.town.name, east_row.pace.done, east_row.pace.target,
            east_row.pace.expected, east_row.pace.status) == ("东湖镇", 1, 3, 2, "far_behind")
    assert (west_row.pace.done, west_row.pace.target, west_row.pace.status) == (1, 1, "on_pace")
    mine = town_sessions(2026, user=district.users.town_coordinator, now=dt.datetime(2026, 3, 2))
    assert [t.town.name for t in mine] == ["东湖镇"]


def test_lawyer_series_has_each_lawyers_villages_against_12_and_2(district, monkeypatch):
    session(district.pairings[0], D(2026, 1, 12))
    lawyers = lawyer_series(2026, user=district.users.admin, today=D(2026, 2, 1))
    names = [lawyer.name for lawyer in lawyers]
    assert names == sorted(names) and len(names) == 4
    zhang = next(lawyer for lawyer in lawyers if lawyer.name == "张明")
    [village] = zhang.villages
    assert village.sessions.target == 12 and village.publicity.target == 2
    assert lawyer_series(2026, user=district.users.village) == []


@pytest.mark.slow
def test_the_demo_districts_charts_cost_a_few_queries_not_one_per_village(demo_db, app):
    """131 villages, 45 lawyers, ten programmes: the page's queries do not grow with them."""
    client = app.test_client()
    username, password = DEMO_LOGINS["coordinator"]
    client.post("/login", data={"username": username, "password": password})
    client.get("/programmes/charts")  # the year's workdays synced once
    with count_queries() as counted:
        response = client.get("/programmes/charts")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # the programmes, the towns and a page of lawyers (25 of 45)
    assert len(svgs(html, "pace-chart")) == 10 and len(svgs(html, "bar-list")) >= 3 + 25
    assert counted.count < 40, counted.count
