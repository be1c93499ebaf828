"""The demo district: the programme's shape (131 villages, all paired), its logins, and
that it never overwrites real data unless told to. Also the district numbers (core.stats)."""
import datetime as dt
import re
from collections import Counter

import pytest

from core import clock
from core.demo import DEMO_LOGINS, demo_loaded, load_demo
from core.errors import ConflictError
from core.models import (Assistant, District, LawFirm, Lawyer, Pairing, Town, User, Village,
                         WechatGroup, WechatGroupMember)
from core.pairings import default_group_name, end_pairing
from core.stats import district_stats
from core.users import authenticate, create_user


@pytest.fixture
def demo(database):
    return load_demo()


def test_demo_has_the_programmes_numbers(demo):
    assert (Village.select().count(), Town.select().count(), LawFirm.select().count()) == \
        (131, 8, 3)
    assert 40 <= Lawyer.select().count() <= 50
    assert Pairing.select().where(Pairing.status == "active").count() == 131
    numbers = district_stats()
    assert numbers["villages"] == 131 and numbers["active_pairings"] == 131
    assert numbers["unpaired_villages"] == 0
    assert demo["villages"] == 131 and demo["pairings"] == 131
    assert demo["seconds"] < 10  # bulk inserts: a regression to row-by-row shows here


def test_every_village_is_paired_for_this_year_and_the_next_two(demo):
    today = clock.today()
    start, end = dt.date(today.year, 1, 1), dt.date(today.year + 2, 12, 31)
    for pairing in Pairing.select():
        assert (pairing.term_start, pairing.term_end) == (start, end)
        assert pairing.term_start <= today <= pairing.term_end
        assert pairing.preferred_weekday in range(5)  # Monday to Friday
        assert pairing.preferred_half_day in ("am", "pm")
        assert re.fullmatch(r"每月第[一二三四]个周[一二三四五][上下]午 \d{1,2}:\d\d-\d\d:\d\d",
                            pairing.onsite_hours)
    per_lawyer = Counter(p.lawyer_id for p in Pairing.select(Pairing.lawyer))
    assert set(per_lawyer.values()) <= set(range(1, 6))
    assert len(per_lawyer) == Lawyer.select().count()  # nobody idle


def test_towns_villages_and_lawyers_look_real(demo):
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


def test_every_wechat_group_has_the_lawyer_and_the_village_side(demo):
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


def test_every_demo_login_authenticates_with_its_role_and_scope(demo):
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
    load_demo(reset=True)
    assert demo_loaded()
    assert not District.select().where(District.name == "示范区").exists()
    assert User.select().count() == len(DEMO_LOGINS)
    assert Village.select().count() == 131 and Pairing.select().count() == 131
    first = sorted(Village.select(Village.code, Village.name).tuples())
    lawyers = sorted(Lawyer.select(Lawyer.name, Lawyer.licence_no).tuples())

    load_demo(reset=True)  # deterministic: the same district again
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
