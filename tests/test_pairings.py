"""The pairing rules: one village, one active lawyer; terms; the on-site arrangement;
ending; replacing (open tasks, the WeChat group)."""
import datetime as dt

import pytest
from peewee import IntegrityError

from core.arrangements import Arrangement
from core.db import db
from core.errors import ConflictError, PermissionDenied, ValidationError
from core.models import Pairing, Task, WechatGroup
from core.pairings import active_pairing, end_pairing, pair, replace_lawyer, update_pairing
from core.tasks import assign_task
from tests.tasks_support import PROGRAM, programme  # noqa: F401

D = dt.date
T = dt.time
SECOND_TUESDAY_MORNING = Arrangement(week=2, weekday=1, start=T(9, 0), end=T(12, 30))


def test_second_active_lawyer_is_refused_and_nothing_written(district):
    village, other = district.villages[0], district.lawyers[1]
    before = Pairing.select().count()
    with pytest.raises(ConflictError) as caught:
        pair(None, lawyer=other, village=village, term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
    assert village.name in str(caught.value) and "张明" in str(caught.value)
    assert Pairing.select().count() == before
    assert active_pairing(village).lawyer_id == district.lawyers[0].id


def test_database_refuses_second_active_pairing_even_without_the_service(district):
    village = district.villages[0]
    with pytest.raises(IntegrityError):
        with db.atomic():
            Pairing.create(lawyer=district.lawyers[1], village=village,
                           term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))


def test_pairing_creates_wechat_group_named_after_village(district):
    village = district.villages[4]
    pairing = pair(None, lawyer=district.lawyers[0], village=village,
                   term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
    group = WechatGroup.get(WechatGroup.pairing == pairing)
    assert group.name == f"{village.name}结对律师服务微信群"
    assert [(m.name, m.role) for m in group.members] == [("张明", "lawyer")]


def test_term_must_not_end_before_it_starts(district):
    with pytest.raises(ValidationError) as caught:
        pair(None, lawyer=district.lawyers[0], village=district.villages[4],
             term_start=D(2026, 6, 1), term_end=D(2026, 5, 1))
    assert caught.value.field == "term_end"
    assert active_pairing(district.villages[4]) is None


def _village_side(pairing):
    group = WechatGroup.get(WechatGroup.pairing == pairing)
    return group, group.members.model.create(group=group, name="村委主任", role="village_committee",
                                             phone="13900000001")


def test_end_then_pair_again_keeps_the_groups_village_side(district):
    pairing = district.pairings[0]
    group, _member = _village_side(pairing)
    group.name = "东湖1村法律服务群"
    group.save()
    end_pairing(None, pairing, ended_on=D(2026, 6, 30), reason="调任")
    assert Pairing.get_by_id(pairing.id).status == "ended"
    assert active_pairing(district.villages[0]) is None
    new = pair(None, lawyer=district.lawyers[1], village=district.villages[0],
               term_start=D(2026, 7, 1), term_end=D(2027, 6, 30))
    assert active_pairing(district.villages[0]).id == new.id
    group = WechatGroup.get(WechatGroup.pairing == new)
    assert group.name == "东湖1村法律服务群"
    assert {(m.name, m.role, m.phone) for m in group.members} == {
        ("李华", "lawyer", "13800000001"), ("村委主任", "village_committee", "13900000001")}


def test_replace_lawyer_is_one_change(district):
    old = district.pairings[0]
    _village_side(old)
    new = replace_lawyer(None, old, lawyer=district.lawyers[3], on=D(2026, 9, 1))
    old = Pairing.get_by_id(old.id)
    assert (old.status, old.ended_on) == ("ended", D(2026, 8, 31))
    assert (new.lawyer_id, new.term_start, new.term_end) == (district.lawyers[3].id, D(2026, 9, 1), D(2028, 12, 31))
    assert new.arrangement == old.arrangement  # the village keeps its published hours
    group = WechatGroup.get(WechatGroup.pairing == new)
    assert {(m.name, m.role) for m in group.members} == {("赵强", "lawyer"),
                                                         ("村委主任", "village_committee")}
    assert group.admin_name == "赵强"  # the new lawyer takes the old one's place


def test_a_replacement_the_new_lawyer_cannot_keep_needs_other_hours(district):
    """The new lawyer's own villages come first: the village's arrangement may clash."""
    old, theirs = district.pairings[0], district.pairings[1]
    update_pairing(None, old, term_start=old.term_start, term_end=old.term_end,
                   arrangement=SECOND_TUESDAY_MORNING)
    update_pairing(None, theirs, term_start=theirs.term_start, term_end=theirs.term_end,
                   arrangement=SECOND_TUESDAY_MORNING)
    with pytest.raises(ValidationError) as caught:
        replace_lawyer(None, old, lawyer=district.lawyers[1], on=D(2026, 9, 1))
    assert district.villages[1].name in str(caught.value)
    assert Pairing.get_by_id(old.id).status == "active"  # nothing written
    new = replace_lawyer(None, old, lawyer=district.lawyers[1], on=D(2026, 9, 1),
                         arrangement=Arrangement(3, 1, T(9, 0), T(12, 30)))
    assert new.arrangement.week == 3


def test_a_replacement_passes_the_villages_open_tasks_to_the_new_lawyer(district, programme):
    old = district.pairings[0]
    village, lawyer = district.villages[0], district.lawyers[0]
    open_task = assign_task(None, program=PROGRAM, task_type="test_visit", village=village)
    done = assign_task(None, program=PROGRAM, task_type="test_visit", village=village)
    Task.update(status="done").where(Task.id == done.id).execute()
    elsewhere = assign_task(None, program=PROGRAM, task_type="test_visit", village=district.villages[1],
                            assignee=lawyer)
    new = replace_lawyer(None, old, lawyer=district.lawyers[3], on=D(2026, 9, 1))
    assert Task.get_by_id(open_task.id).assignee_id == new.lawyer_id
    assert Task.get_by_id(done.id).assignee_id == lawyer.id  # done work stays theirs
    assert Task.get_by_id(elsewhere.id).assignee_id == lawyer.id  # another village's task


def test_replace_with_same_lawyer_is_refused(district):
    with pytest.raises(ValidationError):
        replace_lawyer(None, district.pairings[0], lawyer=district.lawyers[0], on=D(2026, 9, 1))
    assert Pairing.get_by_id(district.pairings[0].id).status == "active"


def test_update_term_and_arrangement(district):
    p = update_pairing(None, district.pairings[0], term_start=D(2026, 1, 1),
                       term_end=D(2027, 12, 31), arrangement=SECOND_TUESDAY_MORNING)
    p = Pairing.get_by_id(p.id)
    assert (p.term_end, p.arrangement) == (D(2027, 12, 31), SECOND_TUESDAY_MORNING)


def test_an_arrangement_shorter_than_half_a_day_is_refused_where_it_is_edited(district):
    """The plan's 每次不少于半天 (JIEDUI_MIN_SESSION_HOURS, 3.5 h): 9:00-12:00 is refused."""
    pairing = district.pairings[0]
    before = pairing.arrangement
    with pytest.raises(ValidationError) as caught:
        update_pairing(None, pairing, term_start=pairing.term_start, term_end=pairing.term_end,
                       arrangement=Arrangement(2, 1, T(9, 0), T(12, 0)))
    assert caught.value.field == "onsite_end" and "3.5" in str(caught.value)
    assert Pairing.get_by_id(pairing.id).arrangement == before


def test_the_minimum_session_length_is_a_setting(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_MIN_SESSION_HOURS", "3")
    monkeypatch.setenv("JIEDUI_MORNING", "09:00-12:00")
    monkeypatch.setenv("JIEDUI_AFTERNOON", "14:00-17:00")
    pairing = update_pairing(None, district.pairings[0], term_start=D(2026, 1, 1),
                             term_end=D(2028, 12, 31),
                             arrangement=Arrangement(2, 1, T(9, 0), T(12, 0)))
    assert pairing.arrangement.hours == 3


def test_an_arrangement_on_a_weekend_is_refused(district):
    with pytest.raises(ValidationError) as caught:
        pair(None, lawyer=district.lawyers[0], village=district.villages[4],
             term_start=D(2026, 1, 1), term_end=D(2026, 12, 31),
             arrangement=Arrangement(1, 5, T(9, 0), T(12, 30)))
    assert caught.value.field == "onsite_weekday"
    assert active_pairing(district.villages[4]) is None


def test_an_arrangement_the_lawyer_cannot_keep_is_refused(district):
    """One lawyer cannot be at two villages on the second Tuesday morning (nor an hour
    apart: the travel gap), and the fourth and last Friday are often the same day."""
    lawyer = district.lawyers[0]
    update_pairing(None, district.pairings[0], term_start=D(2026, 1, 1),
                   term_end=D(2028, 12, 31), arrangement=SECOND_TUESDAY_MORNING)
    for clash in (SECOND_TUESDAY_MORNING, Arrangement(2, 1, T(13, 0), T(16, 30))):
        with pytest.raises(ValidationError) as caught:
            pair(None, lawyer=lawyer, village=district.villages[4], term_start=D(2026, 1, 1),
                 term_end=D(2026, 12, 31), arrangement=clash)
        assert district.villages[0].name in str(caught.value)
    fourth_friday = Arrangement(4, 4, T(9, 0), T(12, 30))
    pair(None, lawyer=lawyer, village=district.villages[4], term_start=D(2026, 1, 1),
         term_end=D(2026, 12, 31), arrangement=fourth_friday)
    with pytest.raises(ValidationError):
        pair(None, lawyer=lawyer, village=district.villages[5], term_start=D(2026, 1, 1),
             term_end=D(2026, 12, 31), arrangement=Arrangement(5, 4, T(9, 0), T(12, 30)))
    afternoon = pair(None, lawyer=lawyer, village=district.villages[5], term_start=D(2026, 1, 1),
                     term_end=D(2026, 12, 31), arrangement=Arrangement(2, 1, T(14, 0), T(17, 30)))
    assert afternoon.arrangement.half_day == "pm"


def test_a_pairing_made_without_an_arrangement_gets_one_the_lawyer_can_keep(district):
    lawyer = district.lawyers[0]
    made = [district.pairings[0]] + [
        pair(None, lawyer=lawyer, village=village, term_start=D(2026, 1, 1),
             term_end=D(2026, 12, 31)) for village in district.villages[4:]]
    arrangements = [p.arrangement for p in made]
    for i, one in enumerate(arrangements):
        assert one.hours >= 3.5
        assert not any(one.meets(other, dt.timedelta(hours=1)) for other in arrangements[i + 1:])


def test_town_coordinator_cannot_pair_in_another_town(district):
    other_town_village = district.villages[4]
    with pytest.raises(PermissionDenied):
        pair(district.users.town_coordinator, lawyer=district.lawyers[0], village=other_town_village,
             term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
    assert active_pairing(other_town_village) is None


def test_lawyer_cannot_end_a_pairing(district):
    with pytest.raises(PermissionDenied):
        end_pairing(district.users.lawyer, district.pairings[0], ended_on=D(2026, 6, 30))
