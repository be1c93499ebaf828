"""The pairing rules: one village, one active lawyer; terms; ending; replacing."""
import datetime as dt

import pytest
from peewee import IntegrityError

from core.db import db
from core.errors import ConflictError, PermissionDenied, ValidationError
from core.models import Pairing, WechatGroup
from core.pairings import active_pairing, end_pairing, pair, replace_lawyer, update_pairing

D = dt.date


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


def test_end_then_pair_again(district):
    pairing = district.pairings[0]
    end_pairing(None, pairing, ended_on=D(2026, 6, 30), reason="调任")
    assert Pairing.get_by_id(pairing.id).status == "ended"
    assert active_pairing(district.villages[0]) is None
    new = pair(None, lawyer=district.lawyers[1], village=district.villages[0],
               term_start=D(2026, 7, 1), term_end=D(2027, 6, 30))
    assert active_pairing(district.villages[0]).id == new.id


def test_replace_lawyer_is_one_change(district):
    old = district.pairings[0]
    group = WechatGroup.get(WechatGroup.pairing == old)
    group.members.model.create(group=group, name="村委主任", role="village_committee")
    new = replace_lawyer(None, old, lawyer=district.lawyers[3], on=D(2026, 9, 1))
    old = Pairing.get_by_id(old.id)
    assert (old.status, old.ended_on) == ("ended", D(2026, 8, 31))
    assert (new.lawyer_id, new.term_start, new.term_end) == (district.lawyers[3].id, D(2026, 9, 1), D(2028, 12, 31))
    roles = {(m.name, m.role) for m in WechatGroup.get(WechatGroup.pairing == new).members}
    assert roles == {("赵强", "lawyer"), ("村委主任", "village_committee")}


def test_replace_with_same_lawyer_is_refused(district):
    with pytest.raises(ValidationError):
        replace_lawyer(None, district.pairings[0], lawyer=district.lawyers[0], on=D(2026, 9, 1))
    assert Pairing.get_by_id(district.pairings[0].id).status == "active"


def test_update_term(district):
    p = update_pairing(None, district.pairings[0], term_start=D(2026, 1, 1), term_end=D(2027, 12, 31),
                       onsite_hours="每周二上午", preferred_weekday=1, preferred_half_day="am")
    p = Pairing.get_by_id(p.id)
    assert (p.term_end, p.onsite_hours, p.preferred_weekday, p.preferred_half_day) == (
        D(2027, 12, 31), "每周二上午", 1, "am")


def test_town_coordinator_cannot_pair_in_another_town(district):
    other_town_village = district.villages[4]
    with pytest.raises(PermissionDenied):
        pair(district.users.town_coordinator, lawyer=district.lawyers[0], village=other_town_village,
             term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
    assert active_pairing(other_town_village) is None


def test_lawyer_cannot_end_a_pairing(district):
    with pytest.raises(PermissionDenied):
        end_pairing(district.users.lawyer, district.pairings[0], ended_on=D(2026, 6, 30))
