"""Workdays: the Chinese calendar with its make-up workdays (调休补班), estimates for years
without a State Council notice, and an administrator's own days that always win."""
import datetime as dt

import holidays
import pytest

from core.errors import NotFound, PermissionDenied, ValidationError
from core.models import Holiday
from core.workdays import (add_holiday, has_official_data, holidays_of, import_holidays,
                           is_workday, remove_holiday, sync_official_holidays, workdays_between)
from tests.planning_support import now, published  # noqa: F401 (fixtures)

D = dt.date
ESTIMATED = 2035  # far enough that the package has no notice for it yet


def test_2026_follows_the_state_council_notice(database):
    assert sync_official_holidays([2026]) > 0
    assert not is_workday(D(2026, 1, 1))        # 元旦
    assert not is_workday(D(2026, 1, 2))        # a Friday off, worked on Sunday 4 January
    assert is_workday(D(2026, 1, 4))            # that Sunday: 调休补班
    assert is_workday(D(2026, 2, 14)) and is_workday(D(2026, 2, 28))  # Saturdays worked
    assert all(not is_workday(D(2026, 2, d)) for d in (16, 17, 18, 19, 20, 23))  # 春节
    assert not is_workday(D(2026, 10, 7)) and is_workday(D(2026, 10, 10))  # 国庆, Saturday worked
    assert is_workday(D(2026, 3, 2)) and not is_workday(D(2026, 3, 7))  # a plain Monday, Saturday
    row = Holiday.get(Holiday.day == D(2026, 1, 4))
    assert (row.kind, row.source) == ("workday", "official")


def test_sync_is_idempotent_and_keeps_manual_rows(database):
    sync_official_holidays([2026])
    add_holiday(None, D(2026, 1, 1), "workday", name="区里加班")  # overrides an official day
    assert sync_official_holidays([2026]) == 0
    assert sync_official_holidays([2026, 2026]) == 0
    row = Holiday.get(Holiday.day == D(2026, 1, 1))
    assert (row.kind, row.source, row.name) == ("workday", "manual", "区里加班")
    assert is_workday(D(2026, 1, 1))


def test_a_stale_package_row_is_removed_and_a_changed_one_corrected(database):
    sync_official_holidays([2026])
    Holiday.create(day=D(2026, 3, 3), kind="off", name="old data", source="official")
    Holiday.update(name="wrong").where(Holiday.day == D(2026, 1, 1)).execute()
    assert sync_official_holidays([2026]) == 2
    assert Holiday.get_or_none(Holiday.day == D(2026, 3, 3)) is None
    assert Holiday.get(Holiday.day == D(2026, 1, 1)).name == "元旦"


def test_a_sync_that_makes_a_planned_day_a_day_off_re_plans_the_year(district, now, published,
                                                                      monkeypatch):
    """A newer package (a new notice) turns a planned session's day into a day off: the
    sync re-plans the year (huey runs the job at once in the tests), as an administrator's
    change does."""
    import core.workdays
    from core import clock
    from core.models import Event
    from core.planner import plan_year
    plan_year(2026)
    planned = (Event.select().where((Event.kind == "session") & (Event.status == "planned"))
               .order_by(Event.starts_at).first())
    day = clock.local_date(planned.starts_at)
    assert is_workday(day)
    package_days = core.workdays._package_days
    monkeypatch.setattr(core.workdays, "_package_days",
                        lambda year: {**package_days(year), day: ("off", "新通知")})
    assert sync_official_holidays([2026]) == 1
    assert not is_workday(day)
    on_that_day = [e for e in Event.select().where(Event.status == "planned")
                   if clock.local_date(e.starts_at) == day]
    assert on_that_day == []
    moved = Event.get_by_id(planned.id)
    assert (moved.uid, moved.sequence) == (planned.uid, planned.sequence + 1)


def test_official_data_through_2026_and_an_estimate_after(database):
    assert has_official_data(2025) and has_official_data(2026)
    assert not has_official_data(ESTIMATED)


def test_a_year_without_a_notice_is_filled_with_the_estimate(database):
    sync_official_holidays([ESTIMATED])
    rows = holidays_of(ESTIMATED)
    assert rows and {row.source for row in rows} == {"estimate"}
    assert {row.kind for row in rows} == {"off"}  # no swaps without the notice
    for day in holidays.China(years=ESTIMATED):
        assert not is_workday(day)
    assert not has_official_data(ESTIMATED)


def test_workdays_of_a_year_never_synced_are_synced_when_asked(database):
    assert not Holiday.select().exists()
    assert not is_workday(D(2026, 10, 1))
    assert Holiday.select().where(Holiday.source == "official").exists()


def test_workdays_between_loads_a_span_at_once(database):
    calendar = workdays_between(D(2026, 9, 28), D(2026, 10, 11))
    assert [d.day for d in _days(D(2026, 9, 28), D(2026, 10, 11)) if calendar.is_workday(d)] \
        == [28, 29, 30, 8, 9, 10]
    assert calendar.name(D(2026, 10, 1)) == "国庆节"


def _days(first, last):
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def test_admin_adds_a_day_off_and_a_workday(district, published):
    admin = district.users.admin
    row = add_holiday(admin, D(2026, 3, 3), "off", name="区运动会", note="全区放假")
    assert (row.kind, row.source, row.note) == ("off", "manual", "全区放假")
    assert not is_workday(D(2026, 3, 3))
    add_holiday(admin, D(2026, 3, 7), "workday", name="补班")
    assert is_workday(D(2026, 3, 7))


@pytest.mark.parametrize("role", ["coordinator", "town_coordinator", "lawyer", "village"])
def test_only_an_administrator_changes_holidays(district, role):
    user = getattr(district.users, role)
    with pytest.raises(PermissionDenied):
        add_holiday(user, D(2026, 3, 3), "off")
    assert Holiday.get_or_none(Holiday.day == D(2026, 3, 3)) is None
    sync_official_holidays([2026])
    with pytest.raises(PermissionDenied):
        remove_holiday(user, D(2026, 1, 1))
    assert Holiday.get(Holiday.day == D(2026, 1, 1)).kind == "off"


@pytest.mark.parametrize("day, kind, field", [
    (D(2026, 3, 3), "holiday", "kind"),
    ("2026-03-03", "off", "day"),
    (D(1999, 3, 3), "off", "year"),
])
def test_bad_holiday_input_is_refused_and_nothing_written(database, day, kind, field):
    with pytest.raises(ValidationError) as caught:
        add_holiday(None, day, kind)
    assert caught.value.field == field
    assert not Holiday.select().where(Holiday.source == "manual").exists()


def test_removing_a_manual_row_brings_the_official_day_back(database, published):
    sync_official_holidays([2026])
    add_holiday(None, D(2026, 10, 1), "workday")
    assert is_workday(D(2026, 10, 1))
    remove_holiday(None, D(2026, 10, 1))
    row = Holiday.get(Holiday.day == D(2026, 10, 1))
    assert (row.kind, row.source, row.name) == ("off", "official", "国庆节")


def test_removing_an_official_day_overrides_it_for_good(database, published):
    sync_official_holidays([2026])
    remove_holiday(None, D(2026, 1, 2))  # the Friday off
    assert is_workday(D(2026, 1, 2))
    sync_official_holidays([2026])
    assert is_workday(D(2026, 1, 2))
    assert Holiday.get(Holiday.day == D(2026, 1, 2)).source == "manual"
    remove_holiday(None, D(2026, 1, 4))  # the Sunday worked becomes a Sunday again
    assert not is_workday(D(2026, 1, 4))


def test_removing_a_day_that_is_no_exception_says_so(database):
    with pytest.raises(NotFound):
        remove_holiday(None, D(2026, 3, 3))


def write(tmp_path, text, name="notice.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_importing_a_notice_replaces_the_estimate_of_its_year(database, tmp_path, published):
    sync_official_holidays([ESTIMATED])
    assert not has_official_data(ESTIMATED)
    path = write(tmp_path, "date,kind,name\n"
                           f"{ESTIMATED}-01-01,off,元旦\n"
                           f"{ESTIMATED}-02-07,off,春节\n"
                           f"{ESTIMATED}-02-10,workday,调休补班\n")
    assert import_holidays(path) == 3
    rows = holidays_of(ESTIMATED)
    assert [(r.day.isoformat(), r.kind, r.source) for r in rows] == [
        (f"{ESTIMATED}-01-01", "off", "manual"), (f"{ESTIMATED}-02-07", "off", "manual"),
        (f"{ESTIMATED}-02-10", "workday", "manual")]
    assert has_official_data(ESTIMATED)
    assert sync_official_holidays([ESTIMATED]) == 0  # no estimate over the notice again


def test_importing_before_any_sync_keeps_the_official_days(database, tmp_path, published):
    import_holidays(write(tmp_path, "2026-03-03,off,区运动会\n"))
    assert not is_workday(D(2026, 3, 3))
    assert not is_workday(D(2026, 10, 1)) and is_workday(D(2026, 1, 4))
    assert Holiday.get(Holiday.day == D(2026, 3, 3)).source == "manual"


def test_importing_accepts_chinese_kinds_and_no_header(database, tmp_path, published):
    path = write(tmp_path, "2026-03-03,休,区运动会\n2026-03-07,班\n")
    assert import_holidays(path) == 2
    assert not is_workday(D(2026, 3, 3)) and is_workday(D(2026, 3, 7))


@pytest.mark.parametrize("text, words", [
    ("date,kind,name\n2026-03-03,off,a\n2026-13-01,off,b\n", "Line 3"),
    ("2026-03-03,holiday,a\n", "Line 1"),
    ("2026-03-03\n", "Line 1"),
    ("2026-03-03,off\n2026-03-03,workday\n", "twice"),
    ("date,kind,name\n", "no days"),
    ("1990-03-03,off\n", "Line 1"),
])
def test_a_bad_holiday_file_imports_nothing(database, tmp_path, text, words):
    with pytest.raises(ValidationError) as caught:
        import_holidays(write(tmp_path, text))
    assert words in str(caught.value)
    assert not Holiday.select().where(Holiday.source == "manual").exists()


def test_a_file_that_is_not_text_is_refused(database, tmp_path):
    path = tmp_path / "notice.csv"
    path.write_bytes(b"\xff\xfe\x00\x81binary")
    with pytest.raises(ValidationError, match="cannot be read"):
        import_holidays(path)


def test_only_an_administrator_imports(district, tmp_path):
    with pytest.raises(PermissionDenied):
        import_holidays(write(tmp_path, "2026-03-03,off\n"), actor=district.users.coordinator)
    assert Holiday.get_or_none(Holiday.day == D(2026, 3, 3)) is None
