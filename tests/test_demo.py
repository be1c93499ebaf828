"""The demo district: the programme's shape (131 villages, all paired), its logins, its
programme tasks (every installed programme, done with the plugins' example data), and
that it never overwrites real data unless told to. Also the district numbers (core.stats)."""
import datetime as dt
import re
from collections import Counter

import pytest

from peewee import JOIN
from wtforms import Form, StringField
from wtforms.validators import DataRequired

from core import clock, hookimpl, plugins
from core.arrangements import describe
from core.i18n import gettext_for
from core.demo import DEMO_LOGINS, demo_loaded, load_demo
from core.errors import ConflictError
from core.models import (Assistant, District, LawFirm, Lawyer, Pairing, Task, Town, User,
                         Village, WechatGroup, WechatGroupMember, WorkLog)
from core.pairings import default_group_name, end_pairing
from core.plugins import get_registry
from core.progress import week_start, year_bounds
from core.registry import Metric, Program, TaskType
from core.stats import district_stats, program_stats
from core.tasks import (OPEN_STATUSES, overdue_filter, subject_of, task_type_for,
                        tasks_visible_to, validate_task_data)
from core.users import authenticate, create_user

pytestmark = pytest.mark.slow  # the demo district, loaded or copied


@pytest.fixture
def demo(demo_db):
    """The demo as ``jiedui demo`` loads it: the district and every programme's tasks (a
    copy of the run's shared demo database)."""
    return demo_db


demo_district = demo  # the district's own tests read the same demo


def test_demo_has_the_programmes_numbers(demo):
    assert (Village.select().count(), Town.select().count(), LawFirm.select().count()) == \
        (131, 8, 3)
    assert 40 <= Lawyer.select().count() <= 50
    assert Pairing.select().where(Pairing.status == "active").count() == 131
    numbers = district_stats()
    assert numbers["villages"] == 131 and numbers["active_pairings"] == 131
    assert numbers["unpaired_villages"] == 0
    assert demo["villages"] == 131 and demo["pairings"] == 131
    # How long loading takes is measured by `make bench` (bench/RESULTS.md), not here.


def test_every_village_is_paired_for_this_year_and_the_next_two(demo_district):
    today = clock.today()
    start, end = dt.date(today.year, 1, 1), dt.date(today.year + 2, 12, 31)
    gap = dt.timedelta(hours=1)
    by_lawyer = {}
    for pairing in Pairing.select():
        assert (pairing.term_start, pairing.term_end) == (start, end)
        assert pairing.term_start <= today <= pairing.term_end
        arrangement = pairing.arrangement
        assert arrangement.week in range(1, 5) and arrangement.weekday in range(5)
        assert arrangement.hours >= 3.5  # the half-day rule: a session held as published counts
        assert arrangement.half_day in ("am", "pm")
        assert not any(arrangement.meets(other, gap) for other in by_lawyer.get(pairing.lawyer_id, ()))
        by_lawyer.setdefault(pairing.lawyer_id, []).append(arrangement)
        assert re.fullmatch(r"每月第[一二三四]个星期[一二三四五][上下]午 \d{1,2}:\d\d–\d\d:\d\d",
                            describe(arrangement, gettext_for("zh_CN")))
    per_lawyer = Counter(p.lawyer_id for p in Pairing.select(Pairing.lawyer))
    assert set(per_lawyer.values()) <= set(range(1, 6))
    assert len(per_lawyer) == Lawyer.select().count()  # nobody idle


def test_towns_villages_and_lawyers_look_real(demo_district):
    towns = list(Town.select())
    assert all(t.name.endswith(("镇", "街道")) for t in towns)
    assert any(t.name.endswith("镇") for t in towns) and any(t.name.endswith("街道") for t in towns)
    for town in towns:
        assert town.judicial_office == f"{town.name}司法所"
        assert town.office_head and town.office_phone
    sizes = [t.villages.count() for t in towns]
    assert len(set(sizes)) > 3  # unevenly spread, as real towns are

    villages = list(Village.select())
    assert len({v.code for v in villages}) == 131
    for village in villages:
        assert village.code.startswith(f"{village.town.code}-")
        assert re.fullmatch(r"\d{9}-\d{3}", village.code)
        assert village.name.endswith("村" if village.kind == "village" else "社区")
    assert {v.kind for v in villages} == {"village", "community"}
    names_per_town = Counter((v.town_id, v.name) for v in villages)
    assert max(names_per_town.values()) == 1

    lawyers = list(Lawyer.select())
    assert len({lw.licence_no for lw in lawyers}) == len(lawyers)
    assert len({lw.name for lw in lawyers}) == len(lawyers)
    for lawyer in lawyers:
        assert re.fullmatch(r"\d{17}", lawyer.licence_no)
        assert re.fullmatch(r"1[358]\d{9}", lawyer.phone)
        assert re.fullmatch(r"[a-z][a-z0-9_]{5,19}", lawyer.wechat)
        assert 2 <= len(lawyer.name) <= 3
        assert lawyer.firm.name.endswith("律师事务所")
    assert Assistant.select().count() > 0


def test_every_wechat_group_has_the_lawyer_and_the_village_side(demo_district):
    roles_needed = {"lawyer", "village_committee", "mediation", "party_member",
                    "resident_rep", "judicial_office"}
    groups = list(WechatGroup.select())
    assert len(groups) == 131
    members = {}
    for member in WechatGroupMember.select():
        members.setdefault(member.group_id, []).append(member)
    for group in groups:
        pairing = group.pairing
        assert group.name == default_group_name(pairing.village)
        assert group.admin_name == pairing.lawyer.name
        roles = Counter(m.role for m in members[group.id])
        assert roles_needed <= set(roles)
        assert roles["assistant"] == pairing.lawyer.assistants.count()


def test_every_demo_login_authenticates_with_its_role_and_scope(demo_district):
    users = {role: authenticate(username, password)
             for role, (username, password) in DEMO_LOGINS.items()}
    assert all(users.values()), users
    assert users["admin"].role == "admin"
    assert (users["coordinator"].role, users["coordinator"].scope) == ("coordinator", "district")
    town_coordinator = users["town coordinator"]
    assert (town_coordinator.role, town_coordinator.scope) == ("coordinator", "town")
    assert town_coordinator.town.code == Town.select().order_by(Town.code).first().code
    lawyer = users["lawyer"]
    assert lawyer.role == "lawyer"
    assert lawyer.lawyer.pairings.where(Pairing.status == "active").count() >= 3
    village = users["village"]
    assert (village.role, village.scope) == ("village", "village")
    # The demo users see each other's work: the village is the lawyer's, in the first town.
    assert village.village.pairings.get().lawyer_id == lawyer.lawyer_id
    assert village.village.town_id == town_coordinator.town_id
    assert authenticate(DEMO_LOGINS["admin"][0], "wrong-password-1") is None


def test_demo_refuses_to_overwrite_data_and_writes_nothing(database):
    create_user("someone", "pass-word-1", "admin")
    with pytest.raises(ConflictError) as refused:
        load_demo()
    assert "--reset" in str(refused.value)
    assert User.select().count() == 1
    assert Village.select().count() == 0 and District.select().count() == 0
    assert not demo_loaded()


def test_demo_refuses_when_villages_exist(district):
    with pytest.raises(ConflictError):
        load_demo()
    assert Village.select().count() == 6 and not demo_loaded()


def test_reset_replaces_everything_with_the_same_demo(district):
    load_demo(reset=True, tasks=False, plan=False)  # the district is what this test compares
    assert demo_loaded()
    assert not District.select().where(District.name == "示范区").exists()
    assert User.select().count() == len(DEMO_LOGINS)
    assert Village.select().count() == 131 and Pairing.select().count() == 131
    first = sorted(Village.select(Village.code, Village.name).tuples())
    lawyers = sorted(Lawyer.select(Lawyer.name, Lawyer.licence_no).tuples())

    load_demo(reset=True, tasks=False, plan=False)  # deterministic: the same district again
    assert sorted(Village.select(Village.code, Village.name).tuples()) == first
    assert sorted(Lawyer.select(Lawyer.name, Lawyer.licence_no).tuples()) == lawyers


def test_demo_loaded_is_false_on_an_empty_database(database):
    assert not demo_loaded()


def test_stats_on_an_empty_database_are_zero(database):
    numbers = district_stats()
    for key in ("villages", "towns", "lawyers", "firms", "active_pairings",
                "unpaired_villages"):
        assert numbers[key] == 0


def test_stats_count_unpaired_villages_and_ended_pairings(district):
    numbers = district_stats()
    assert (numbers["villages"], numbers["towns"], numbers["firms"], numbers["lawyers"]) == \
        (6, 2, 2, 4)
    assert (numbers["active_pairings"], numbers["unpaired_villages"]) == (4, 2)
    assert numbers["communities"] + numbers["rural_villages"] == 6
    end_pairing(None, district.pairings[0], ended_on=dt.date(2026, 6, 30))
    numbers = district_stats()
    assert (numbers["active_pairings"], numbers["unpaired_villages"]) == (3, 3)


# --- the programme tasks -------------------------------------------------------------------

def demo_tasks_snapshot() -> list[tuple]:
    query = (Task.select(Task.program, Task.task_type, Task.status, Task.subject, Task.due_on,
                         Task.created_at, Task.completed_at, Village.code, Lawyer.name)
             .join(Village, JOIN.LEFT_OUTER).switch(Task).join(Lawyer, JOIN.LEFT_OUTER))
    return sorted(query.tuples(), key=repr)


def test_demo_has_done_and_open_tasks_of_every_programme(demo):
    registry = get_registry()
    assert {t.program for t in registry.task_types.values() if t.example} == \
        set(registry.programs)  # every installed programme brings examples
    statuses = Counter(Task.select(Task.program, Task.status).tuples())
    for program in registry.programs:
        assert statuses[(program, "done")] > 0, program
        assert statuses[(program, "open")] + statuses[(program, "in_progress")] > 0, program
    overall = Counter(status for (_program, status), n in statuses.items() for _ in range(n))
    assert set(overall) == {"open", "in_progress", "done", "cancelled"}
    assert 0.55 <= overall["done"] / sum(overall.values()) <= 0.85
    assert Task.select().where(overdue_filter()).exists()
    assert demo["tasks_done"] == overall["done"]
    assert demo["tasks"] <= sum(overall.values())  # plugins assign follow-ups on top

    for slug, counts in program_stats().items():
        assert counts["done"] > 0 and counts["done"] <= 1.1 * counts["target"], (slug, counts)


def test_every_done_demo_task_validates_and_wrote_its_work_log(demo):
    done = list(Task.select().where(Task.status == "done"))
    logs = {log.task_id: log for log in WorkLog.select()}
    for task in done:
        kind = task_type_for(task)
        clean, errors = validate_task_data(kind, task.data)
        assert errors == {}, (task.task_type, task.data, errors)
        assert task.subject == subject_of(kind, clean)
        if task.assignee_id:
            log = logs[task.id]
            assert (log.lawyer_id, log.village_id) == (task.assignee_id, task.village_id)
            assert log.occurred_at == task.completed_at and log.duration_minutes > 0


def test_demo_work_is_spread_over_this_year_up_to_now(demo):
    start, _end = year_bounds(clock.today().year)
    now = clock.now_utc()
    done = list(Task.select().where(Task.status == "done"))
    for task in done:
        assert start <= task.created_at <= task.completed_at <= now
    weeks = {week_start(clock.local_date(task.completed_at)) for task in done}
    weeks_so_far = (clock.today() - dt.date(clock.today().year, 1, 1)).days // 7 + 1
    assert len(weeks) >= min(weeks_so_far, 10)  # the weekly trend is not one spike
    assert all(start <= task.created_at <= now for task in Task.select())


def test_demo_logins_see_tasks_of_their_own(demo):
    lawyer = authenticate(*DEMO_LOGINS["lawyer"])
    mine = (tasks_visible_to(lawyer)
            .where((Task.assignee == lawyer.lawyer_id) & (Task.status.in_(OPEN_STATUSES))))
    assert {task.program for task in mine} == set(get_registry().programs)
    town = authenticate(*DEMO_LOGINS["town coordinator"])
    assert 0 < tasks_visible_to(town).count() < Task.select().count()


def test_demo_tasks_are_the_same_on_every_load(database, monkeypatch):
    monkeypatch.setenv("JIEDUI_LOAD_PLUGINS", "family_visits,publicity_videos")
    plugins.reset()
    load_demo(plan=False)  # the tasks are what this test compares
    first = demo_tasks_snapshot()
    assert {row[0] for row in first} == {"family_visits", "publicity_videos"}
    load_demo(reset=True, plan=False)
    assert demo_tasks_snapshot() == first
    assert WorkLog.select().where(WorkLog.task.is_null(False)).count() == Task.select().where(
        (Task.status == "done") & Task.assignee.is_null(False)).count()


class ExamplesGoneWrong:
    """A programme whose examples raise or do not validate, and one with no example."""

    @hookimpl
    def register_programs(self, register):
        register(Program(slug="test_broken", name="示例出错"))
        register(Program(slug="test_no_example", name="没有示例"))

    @hookimpl
    def register_task_types(self, register):
        def raises(rng):
            raise RuntimeError("example bug")

        register(TaskType(slug="test_raises", program="test_broken", name="出错",
                          form=NamedForm, example=raises))
        register(TaskType(slug="test_invalid", program="test_broken", name="无效",
                          form=NamedForm, example=lambda rng: {"name": ""}))
        register(TaskType(slug="test_plain", program="test_no_example", name="无示例",
                          form=NamedForm))

    @hookimpl
    def register_metrics(self, register):
        register(Metric(slug="test_broken_done", program="test_broken", name="完成",
                        task_types=("test_raises", "test_invalid")))


class NamedForm(Form):
    name = StringField("名称", validators=[DataRequired()])


def test_a_plugin_with_broken_examples_does_not_stop_the_demo(database, monkeypatch, caplog):
    monkeypatch.setenv("JIEDUI_LOAD_PLUGINS", "publicity_videos")
    plugins.reset()
    plugins.register_plugin(ExamplesGoneWrong(), name="test-examples")
    try:
        summary = load_demo(plan=False)
    finally:
        plugins.unregister_plugin("test-examples")
    done = Counter(p for p, in Task.select(Task.program).where(Task.status == "done").tuples())
    assert done["publicity_videos"] > 0 and done["test_broken"] == 0
    assert not Task.select().where(Task.program == "test_no_example").exists()
    assert summary["tasks_done"] == done["publicity_videos"]
    logged = caplog.text
    assert "test_raises" in logged and "example bug" in logged and "test_invalid" in logged
