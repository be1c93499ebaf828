"""`jiedui plan` and `jiedui holidays`, run as a person would (in this process,
tests.cli_support): the demo district planned as the issue's "done when" says, and the
holiday commands (always SQLite, own instance)."""
import datetime as dt
import json
import os

import pytest
from holidays.countries.china import ChinaStaticHolidays

from core import clock
from core.db import open_database
from core.models import Event, Pairing, Village
from tests.cli_support import run_jiedui
from tests.planning_support import assert_plan_sound
from tests.test_cli import jiedui

pytestmark = pytest.mark.slow  # plans the demo district

YEAR = dt.date.today().year  # the demo's pairings run from 1 January of this year


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    instance = tmp_path_factory.mktemp("plan-demo")
    loaded = jiedui(instance, "demo", "--no-plan")  # the test plans it
    assert loaded.returncode == 0, loaded.stderr
    return instance


def open_instance(instance):
    """Read the child's database from here (the test's own connection is put back after)."""
    database = open_database(f"sqlite:///{instance / 'jiedui.db'}")
    database.connect(reuse_if_open=True)
    return database


def test_plan_the_demo_district_then_again_changes_nothing(demo):
    first = jiedui(demo, "plan", "--year", str(YEAR))
    assert first.returncode == 0, first.stderr
    assert f"Planned {YEAR} for the whole district: 131 pairings in 131 villages" in first.stdout
    assert "1834 created" in first.stdout
    assert "Shortfalls: none" in first.stdout

    database = open_instance(demo)
    try:
        _assert_every_village_has_its_quota_inside_its_term()
        assert_plan_sound(YEAR)
        before = {e.uid: (e.starts_at, e.sequence) for e in Event.select()}
    finally:
        database.close()

    again = jiedui(demo, "plan", "--year", str(YEAR))
    assert again.returncode == 0, again.stderr
    assert "0 created, 0 moved, 0 reassigned, 0 cancelled, 1834 unchanged" in again.stdout
    database = open_instance(demo)
    try:
        assert {e.uid: (e.starts_at, e.sequence) for e in Event.select()} == before
    finally:
        database.close()


def _assert_every_village_has_its_quota_inside_its_term():
    villages = list(Village.select())
    assert len(villages) == 131
    for village in villages:
        pairing = Pairing.get((Pairing.village == village) & (Pairing.status == "active"))
        events = [e for e in Event.select().where((Event.village == village)
                                                  & (Event.status != "cancelled"))
                  if pairing.term_start <= clock.local_date(e.starts_at) <= pairing.term_end]
        sessions = [e for e in events if e.kind == "session"
                    and e.ends_at - e.starts_at >= dt.timedelta(hours=3.5)]
        assert len(sessions) >= 12, village.code
        assert len([e for e in events if e.kind == "publicity"]) >= 2, village.code


def test_plan_one_town_as_json(demo):
    result = jiedui(demo, "plan", "--year", str(YEAR), "--town", "310117001", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["villages"], summary["pairings"], summary["shortfalls"]) == (12, 12, [])
    assert summary["official"] is (YEAR in ChinaStaticHolidays.special_public_holidays)


def test_plan_a_year_without_official_data_says_it_is_an_estimate(demo):
    result = jiedui(demo, "plan", "--year", "2035")
    assert result.returncode == 0, result.stderr
    assert "no official holiday data for 2035" in result.stderr
    assert "planned on an estimate" in result.stderr
    assert "Holidays of 2035: an estimate" in result.stdout


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """``cli(*args)`` runs the ``jiedui`` command on an instance of its own, in the language
    JIEDUI_LOCALE names (English unless a test sets it); the test then reads and writes
    the same database."""
    monkeypatch.setenv("JIEDUI_LOCALE", "en")
    yield lambda *args: run_jiedui(tmp_path, *args, locale=os.environ["JIEDUI_LOCALE"])
    from core.db import db
    if not db.is_closed():
        db.close()


@pytest.mark.parametrize("args, words", [
    (["--year", YEAR, "--town", "nowhere"], "There is no town with the code nowhere."),
    (["--year", "1900"], "The year must be between 2000 and 2100."),
    ([], "Missing option '--year'"),
])
def test_plan_refuses_bad_input(cli, args, words):
    result = cli("plan", *args)
    assert result.returncode != 0
    assert words in result.stderr


def test_holidays_sync_and_list(cli):
    first = cli("holidays", "sync", "--year", 2026)
    assert first.returncode == 0, first.stderr
    assert "Synced 2026: 28 days written." in first.stdout
    again = cli("holidays", "sync", "--year", 2026)
    assert "Synced 2026: already up to date." in again.stdout
    listed = cli("holidays", "list", "--year", 2026)
    assert "2026-01-04 Sun  Make-up workday  Official notice              调休补班" \
        in listed.stdout.splitlines()
    assert "2026-10-01 Thu  Day off          Official notice              国庆节" \
        in listed.stdout.splitlines()
    assert "28 days; 2026 is official." in listed.stdout
    estimate = cli("holidays", "sync", "--year", 2035)
    assert "no official holiday data for 2035" in estimate.stdout


def test_holidays_import_all_or_nothing(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind,name\n2035-02-01,off,春节\n2035-02-30,off,春节\n", encoding="utf-8")
    refused = cli("holidays", "import", bad)
    assert refused.returncode == 1
    assert "Line 3: 2035-02-30 is not a date (YYYY-MM-DD)." in refused.stderr
    good = tmp_path / "notice.csv"
    good.write_text("date,kind,name\n2035-02-01,off,春节\n2035-02-03,workday,调休补班\n",
                    encoding="utf-8")
    imported = cli("holidays", "import", good)
    assert imported.returncode == 0, imported.stderr
    assert "Imported 2 days" in imported.stdout
    listed = cli("holidays", "list", "--year", 2035)
    assert listed.stdout.splitlines() == [
        "2035-02-01 Thu  Day off          Entered by an administrator  春节",
        "2035-02-03 Sat  Make-up workday  Entered by an administrator  调休补班",
        "2 days; 2035 is official."]


def test_holidays_speak_the_configured_language(cli, monkeypatch, tmp_path):
    """JIEDUI_LOCALE (zh_CN by default): the weekdays, kinds and sources in the list too,
    in columns a terminal aligns (a Chinese character is two columns wide)."""
    monkeypatch.setenv("JIEDUI_LOCALE", "zh_CN")
    synced = cli("holidays", "sync", "--year", 2026)
    assert synced.stdout.strip() == "已同步 2026 年：写入 28 天。"
    assert cli("holidays", "sync", "--year", 2026).stdout.strip() == \
        "已同步 2026 年：已是最新，无需写入。"
    listed = cli("holidays", "list", "--year", 2026).stdout.splitlines()
    assert "2026-01-04 周日  调休补班  官方通知    调休补班" in listed
    assert "2026-10-01 周四  休息日    官方通知    国庆节" in listed
    assert listed[-1] == "共 28 天；2026 年为官方数据。"
    notice = tmp_path / "notice.csv"
    notice.write_text("date,kind,name\n2035-02-01,off,春节\n", encoding="utf-8")
    imported = cli("holidays", "import", notice)
    assert imported.stdout.strip() == "已导入 1 天；所涉年份如已排期，将重新排期。"
    assert cli("holidays", "list", "--year", 2035).stdout.splitlines() == [
        "2035-02-01 周四  休息日    管理员录入  春节", "共 1 天；2035 年为官方数据。"]
    estimate = cli("holidays", "list", "--year", 2036).stdout.splitlines()
    assert estimate[-1].endswith("2036 年为估算。") and "  估算  " in estimate[0]


def _a_pairing_over_a_weekend(cli):
    """A pairing whose term is a weekend: it cannot be planned."""
    from core.models import District, LawFirm, Lawyer, Town
    from core.pairings import pair
    assert cli("init").returncode == 0
    district = District.create(code="1", name="区")
    town = Town.create(district=district, code="T", name="镇")
    village = Village.create(town=town, code="V1", name="一村")
    lawyer = Lawyer.create(name="张明", firm=LawFirm.create(name="所"), licence_no="1")
    pair(None, lawyer=lawyer, village=village, term_start=dt.date(2026, 3, 7),
         term_end=dt.date(2026, 3, 8))


def test_plan_prints_each_shortfall_with_its_reason(cli, tmp_path):
    """A pairing whose term is a weekend cannot be planned: the summary says so."""
    _a_pairing_over_a_weekend(cli)
    result = cli("plan", "--year", 2026)
    assert result.returncode == 0, result.stderr
    assert "Shortfalls (2):" in result.stdout
    assert ("一村 (V1, 张明), On-site session: 0 of 1 planned. The term has no workday in "
            "some months." in result.stdout)


def test_plan_speaks_the_configured_language(cli, monkeypatch):
    """JIEDUI_LOCALE (zh_CN by default) is the language of the summary and of the errors."""
    monkeypatch.setenv("JIEDUI_LOCALE", "zh_CN")
    _a_pairing_over_a_weekend(cli)
    result = cli("plan", "--year", 2026, "--town", "T")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("已完成镇(街道) T 镇 的 2026 年排期：1 个村(居)，")
    assert lines[1] == "日程：新增 0，调整 0，改由新律师承担 0，取消 0，未变动 0。"
    assert lines[2:] == ["缺口（2 项）：",
                         "  一村（V1，张明）坐班：应排 1，已排 0。聘期内部分月份没有工作日。",
                         "  一村（V1，张明）法制宣传：应排 1，已排 0。聘期内部分月份没有工作日。"]
    assert "2026 年排期" in result.stderr  # the progress bar
    refused = cli("plan", "--year", 2026, "--town", "nowhere")
    assert refused.returncode != 0
    assert "编码为 nowhere 的镇(街道)不存在。" in refused.stderr
    estimate = cli("plan", "--year", 2035)
    assert "注意：2035 年尚无官方节假日数据" in estimate.stderr
    assert "2035 年节假日：估算（尚无官方数据）。" in estimate.stdout
