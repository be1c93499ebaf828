"""What a village asks of its lawyer (core.village_requests): invitations its current lawyer
accepts into their calendar and feed or declines with a reason, residents' demands the
lawyer answers and the coordinators of the scope see, and the village's word on whether a
session took place — each asked only by the village's own users, answered only by its
current lawyer, refused with a clear Chinese message when wrong, nothing written."""
import datetime as dt

import pytest

from core import clock
from core import village_requests as service
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import gettext_for
from core.models import (AuditLog, Event, FeedSnapshot, Invitation, Notification,
                         ResidentDemand, SessionConfirmation)
from core.pairings import replace_lawyer
from core.users import create_user
from tests.factories import PASSWORD, make_lawyer, session
from tests.feed_helpers import add_event

ZH = gettext_for("zh_CN")


def zh(error) -> str:
    return error.value.translate(ZH)


def workday(days_ahead: int = 7) -> dt.date:
    day = clock.today() + dt.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def invite(district, day=None, *, kind="activity", start=(14, 0), end=(16, 0), **fields):
    values = dict(title="村民代表大会", place="村委会二楼会议室", description="讨论村规民约修订")
    values.update(fields)
    return service.invite(district.users.village, district.villages[0], kind=kind,
                          day=day or workday(), start=dt.time(*start), end=dt.time(*end),
                          **values)


def notices(user, kind):
    return list(Notification.select().where((Notification.user == user.id)
                                            & (Notification.kind == kind)))


# --- invitations -----------------------------------------------------------------------------

def test_only_the_villages_own_users_invite_its_lawyer(district):
    users = district.users
    other_village = create_user("village-2", PASSWORD, "village", village=district.villages[1])
    for outsider in (other_village, users.lawyer, users.town_coordinator, users.admin):
        with pytest.raises(PermissionDenied):
            service.invite(outsider, district.villages[0], title="会议", place="村委会",
                           day=workday(), start=dt.time(9), end=dt.time(10))
    assert Invitation.select().count() == 0

    invitation = invite(district)
    assert invitation.status == "pending" and invitation.village_id == district.villages[0].id
    told = notices(users.lawyer, "invitation")
    assert len(told) == 1 and "村民代表大会" in told[0].title and district.villages[0].name in told[0].title
    assert told[0].link == f"/requests/invitations/{invitation.id}"
    assert AuditLog.get(AuditLog.action == "invitation.create").object_id == str(invitation.id)


@pytest.mark.parametrize("change, field, words", [
    (dict(day=dt.date(2020, 3, 2)), "day", "该时间已过"),
    (dict(start=(16, 0), end=(14, 0)), "end", "结束时间须晚于开始时间"),
    (dict(title="  "), "title", "请填写活动名称"),
    (dict(place=""), "place", "请填写活动地点"),
    (dict(kind="party"), "kind", "请选择活动类型"),
    (dict(day=dt.date(2029, 3, 5)), "day", "不在结对聘期内"),
])
def test_a_bad_invitation_is_refused_in_chinese_and_nothing_is_written(district, change, field,
                                                                       words):
    with pytest.raises(ValidationError) as refused:
        invite(district, **change)
    assert refused.value.field == field
    assert words in zh(refused)
    assert Invitation.select().count() == 0 and Notification.select().count() == 0


def test_an_invitation_when_the_lawyer_is_booked_is_refused_without_the_other_events_title(
        district):
    day = workday()
    busy = session(district.pairings[0], day, status="planned", kind="task")
    Event.update(title="走访张三家").where(Event.id == busy.id).execute()
    with pytest.raises(ValidationError) as refused:
        invite(district, day, start=(10, 0), end=(11, 0))  # the session runs 08:30-12:00
    message = zh(refused)
    assert "已有安排" in message and "08:30" in message and "张三" not in message
    assert Invitation.select().count() == 0
    # from another village the lawyer needs the travel time too
    later = workday(14)
    add_event(village=district.villages[1], lawyer=district.lawyers[0],
              start=dt.datetime.combine(later, dt.time(8, 30), tzinfo=clock.zone()))
    with pytest.raises(ValidationError) as travel:
        invite(district, later, start=(12, 10), end=(13, 0))  # the other ends at 12:00
    assert "路程" in zh(travel)
    assert invite(district, later, start=(14, 0), end=(15, 0)).status == "pending"


def test_accepting_puts_the_activity_in_the_lawyers_calendar_and_feed(district):
    from core.feeds import snapshot_for
    feed_key = f"lawyer:{district.lawyers[0].id}"
    snapshot_for(feed_key)  # the lawyer's phone subscribed: the feed is published
    invitation = invite(district)
    accepted = service.accept_invitation(district.users.lawyer, invitation)
    event = accepted.event
    assert accepted.status == "accepted" and accepted.lawyer_id == district.lawyers[0].id
    assert (event.kind, event.lawyer_id, event.village_id, event.pairing_id) == (
        "activity", district.lawyers[0].id, district.villages[0].id, district.pairings[0].id)
    assert (event.starts_at, event.ends_at) == (invitation.starts_at, invitation.ends_at)
    assert event.title == f"村(居)活动 · {district.villages[0].name}"
    # the feed (published again after the commit) shows it, without what the village typed
    feed = bytes(FeedSnapshot.get(FeedSnapshot.key == feed_key).body)
    text = feed.decode()
    assert event.uid in text and "村(居)活动" in text
    assert "村民代表大会" not in text and "村规民约" not in text
    told = notices(district.users.village, "invitation.answered")
    assert len(told) == 1 and "已接受邀请" in told[0].title
    # an activity takes the lawyer's time: a second invitation then is refused
    with pytest.raises(ValidationError):
        invite(district, invitation.day, start=(15, 0), end=(17, 0))
    with pytest.raises(ValidationError) as again:
        service.accept_invitation(district.users.lawyer, Invitation.get_by_id(invitation.id))
    assert "已经答复" in zh(again)


def test_only_the_current_lawyer_answers(district):
    invitation = invite(district)
    other_lawyer = create_user("lawyer-2", PASSWORD, "lawyer", lawyer=district.lawyers[1])
    for outsider in (other_lawyer, district.users.village, district.users.town_coordinator):
        with pytest.raises(PermissionDenied):
            service.accept_invitation(outsider, invitation)
        with pytest.raises(PermissionDenied):
            service.decline_invitation(outsider, invitation, "没空")
    assert Invitation.get_by_id(invitation.id).status == "pending"
    assert Event.select().where(Event.kind == "activity").count() == 0


def test_accepting_when_the_lawyer_got_booked_meanwhile_is_refused(district):
    invitation = invite(district, start=(9, 0), end=(10, 0))
    session(district.pairings[0], invitation.day, status="planned")
    with pytest.raises(ValidationError) as refused:
        service.accept_invitation(district.users.lawyer, invitation)
    assert "已有安排" in zh(refused)
    assert Invitation.get_by_id(invitation.id).status == "pending"


def test_declining_needs_a_reason_which_the_village_reads(district):
    invitation = invite(district)
    with pytest.raises(ValidationError) as refused:
        service.decline_invitation(district.users.lawyer, invitation, "   ")
    assert refused.value.field == "reason" and "请说明谢绝的原因" in zh(refused)
    assert Invitation.get_by_id(invitation.id).status == "pending"
    declined = service.decline_invitation(district.users.lawyer, invitation, "当天开庭")
    assert (declined.status, declined.reason, declined.event_id) == ("declined", "当天开庭", None)
    told = notices(district.users.village, "invitation.answered")
    assert "谢绝" in told[0].title and "当天开庭" in told[0].body


def test_a_publicity_invitation_on_a_workday_takes_the_place_of_the_years_planned_one(district):
    day, later = workday(7), workday(14)
    if day.year != later.year:  # the last days of December: the slot is next year's
        pytest.skip("the planned publicity event would be in another year")
    planned = session(district.pairings[0], later, status="planned", kind="publicity")
    key = f"{district.villages[0].code}:{later.year}:publicity:01"
    Event.update(plan_key=key, placement="publicity").where(Event.id == planned.id).execute()
    invitation = invite(district, day, kind="publicity", title="普法讲座", start=(9, 0),
                        end=(11, 0))
    accepted = service.accept_invitation(district.users.lawyer, invitation)
    moved = Event.get_by_id(planned.id)
    assert accepted.event_id == planned.id
    assert (moved.starts_at, moved.plan_key, moved.kind) == (invitation.starts_at, key, "publicity")
    assert Event.select().where(Event.kind == "activity").count() == 0


def test_a_publicity_invitation_without_a_planned_one_is_an_activity(district):
    invitation = invite(district, kind="publicity", title="普法讲座")
    accepted = service.accept_invitation(district.users.lawyer, invitation)
    assert accepted.event.kind == "activity"


def test_the_village_withdraws_a_pending_invitation_and_the_lawyer_is_told(district):
    invitation = invite(district)
    with pytest.raises(PermissionDenied):
        service.withdraw_invitation(district.users.lawyer, invitation)
    service.withdraw_invitation(district.users.village, invitation)
    assert Invitation.get_by_id(invitation.id).status == "withdrawn"
    assert any("撤回" in n.title for n in notices(district.users.lawyer, "invitation"))
    with pytest.raises(ValidationError) as refused:
        service.accept_invitation(district.users.lawyer, Invitation.get_by_id(invitation.id))
    assert "已撤回" in zh(refused)


def test_a_replacement_passes_what_is_pending_to_the_new_lawyer(district):
    pending = invite(district, workday(7))
    accepted = invite(district, workday(21), start=(9, 0), end=(10, 0), title="调解会")
    service.accept_invitation(district.users.lawyer, accepted)
    demand = service.pass_on_demand(district.users.village, district.villages[0],
                                    category="labour", text="工资被拖欠")
    newcomer = make_lawyer("钱新", district.firms[0])
    new_user = create_user("lawyer-new", PASSWORD, "lawyer", lawyer=newcomer)
    replace_lawyer(None, district.pairings[0], lawyer=newcomer, on=clock.today())

    with pytest.raises(PermissionDenied):
        service.accept_invitation(district.users.lawyer, Invitation.get_by_id(pending.id))
    # the activity accepted after the end is handed back: its event cancelled, the
    # invitation waiting for the new lawyer
    reopened = Invitation.get_by_id(accepted.id)
    assert reopened.status == "pending" and reopened.event_id is None
    assert Event.get_by_id(accepted.event_id).status == "cancelled"  # accepted by the old one
    waiting, demands = service.awaiting_lawyer(new_user)
    assert {i.id for i in waiting} == {pending.id, accepted.id}
    assert [d.id for d in demands] == [demand.id]
    told = notices(new_user, "invitation")
    assert told and "2 项邀请和 1 条居民诉求" in told[-1].title
    taken = service.accept_invitation(new_user, Invitation.get_by_id(pending.id))
    assert taken.event.lawyer_id == newcomer.id
    assert service.answer_demand(new_user, demand, "已联系劳动监察").lawyer_id == newcomer.id


# --- residents' demands ----------------------------------------------------------------------

def test_a_demand_is_passed_on_and_answered_by_the_current_lawyer(district):
    users = district.users
    demand = service.pass_on_demand(users.village, district.villages[0], category="family",
                                    text="赡养纠纷，子女不支付赡养费", contact_name="张秀英",
                                    contact_phone="13805710001")
    told = notices(users.lawyer, "demand")
    assert len(told) == 1 and "婚姻家庭" in told[0].title and "赡养" not in told[0].title + told[0].body
    with pytest.raises(PermissionDenied):
        service.answer_demand(create_user("lawyer-2", PASSWORD, "lawyer",
                                          lawyer=district.lawyers[1]), demand, "好")
    with pytest.raises(ValidationError) as empty:
        service.answer_demand(users.lawyer, demand, "")
    assert empty.value.field == "answer" and "请填写对居民诉求的答复" in zh(empty)
    answered = service.answer_demand(users.lawyer, demand, "已电话联系，建议先调解")
    assert (answered.status, answered.lawyer_id) == ("answered", district.lawyers[0].id)
    assert notices(users.village, "demand.answered")
    with pytest.raises(ValidationError):
        service.answer_demand(users.lawyer, ResidentDemand.get_by_id(demand.id), "再答")
    actions = [e.action for e in AuditLog.select().order_by(AuditLog.id)]
    assert "demand.create" in actions and "demand.answer" in actions


@pytest.mark.parametrize("change, field, words", [
    (dict(category=""), "category", "请选择诉求类别"),
    (dict(text=" "), "text", "请填写居民的诉求内容"),
    (dict(contact_phone="12345"), "contact_phone", "不是电话号码"),
])
def test_a_bad_demand_is_refused_in_chinese_and_nothing_is_written(district, change, field, words):
    values = dict(category="labour", text="工资被拖欠", contact_phone="")
    values.update(change)
    with pytest.raises(ValidationError) as refused:
        service.pass_on_demand(district.users.village, district.villages[0], **values)
    assert refused.value.field == field and words in zh(refused)
    assert ResidentDemand.select().count() == 0


def test_demands_are_seen_within_the_scope_and_the_contact_masked_in_lists(district):
    users = district.users
    demand = service.pass_on_demand(users.village, district.villages[0], category="labour",
                                    text="工资被拖欠", contact_name="李建国",
                                    contact_phone="13805710001")
    assert service.masked_contact(demand) == "李** · 138****0001"
    for reader in (users.village, users.lawyer, users.town_coordinator, users.coordinator,
                   users.admin):
        assert [d.id for d in service.demands_visible_to(reader)] == [demand.id]
    other_lawyer = create_user("lawyer-2", PASSWORD, "lawyer", lawyer=district.lawyers[1])
    other_village = create_user("village-2", PASSWORD, "village", village=district.villages[1])
    for outsider in (users.other_town_coordinator, other_lawyer, other_village):
        assert list(service.demands_visible_to(outsider)) == []
        with pytest.raises(NotFound):
            service.get_demand(outsider, demand.id)
    # reading the contact in full on the demand's page is audited
    service.view_demand(users.town_coordinator, demand.id, address="10.0.0.9")
    entry = AuditLog.get(AuditLog.action == "demand.view")
    assert (entry.username, entry.object_id) == ("coord-t1", str(demand.id))


# --- the village's word on a session ---------------------------------------------------------

def test_the_village_confirms_or_disputes_a_session_that_is_over(district):
    users = district.users
    held = session(district.pairings[0], clock.today() - dt.timedelta(days=3))
    word = service.confirm_session(users.village, held, verdict="confirmed")
    assert (word.verdict, word.village_id) == ("confirmed", district.villages[0].id)
    assert not notices(users.lawyer, "session.disputed")  # a confirmation bothers nobody
    assert [e.id for e in service.awaiting_confirmation(district.villages[0])] == []

    with pytest.raises(ValidationError) as bare:
        service.confirm_session(users.village, held, verdict="disputed")
    assert bare.value.field == "reason" and "请说明" in zh(bare)
    changed = service.confirm_session(users.village, held, verdict="disputed",
                                      reason="律师当天只来了一小时")
    assert SessionConfirmation.select().count() == 1 and changed.verdict == "disputed"
    told = notices(users.lawyer, "session.disputed")
    assert len(told) == 1 and "提出异议" in told[0].title and "一小时" in told[0].body
    entries = list(AuditLog.select().where(AuditLog.action.in_(["session.confirm",
                                                                "session.dispute"]))
                   .order_by(AuditLog.id))
    assert [e.action for e in entries] == ["session.confirm", "session.dispute"]
    assert entries[1].detail["before"] == {"verdict": "confirmed", "reason": ""}
    # the coordinators of the scope see the dispute; another town's do not
    assert [d.id for d in service.disputes_visible_to(users.town_coordinator)] == [changed.id]
    assert list(service.disputes_visible_to(users.other_town_coordinator)) == []
    # taking it back tells the lawyer too
    service.confirm_session(users.village, held, verdict="confirmed")
    assert "撤回异议" in notices(users.lawyer, "session.disputed")[-1].title


def test_what_cannot_be_confirmed(district):
    users, today = district.users, clock.today()
    other_village = create_user("village-2", PASSWORD, "village", village=district.villages[1])
    past = session(district.pairings[0], today - dt.timedelta(days=3))
    with pytest.raises(PermissionDenied):
        service.confirm_session(other_village, past, verdict="confirmed")
    with pytest.raises(PermissionDenied):
        service.confirm_session(users.lawyer, past, verdict="confirmed")
    coming = session(district.pairings[0], today + dt.timedelta(days=3), status="planned")
    cancelled = session(district.pairings[0], today - dt.timedelta(days=5), status="cancelled")
    old = session(district.pairings[0], today - dt.timedelta(days=service.CONFIRM_DAYS + 5))
    for event, words in ((coming, "结束后才能确认"), (cancelled, "已取消"), (old, "不能再确认")):
        with pytest.raises(ValidationError) as refused:
            service.confirm_session(users.village, event, verdict="confirmed")
        assert words in zh(refused)
    with pytest.raises(ValidationError):
        service.confirm_session(users.village, past, verdict="maybe")
    assert SessionConfirmation.select().count() == 0


def test_a_session_not_recorded_awaits_the_villages_word_too(district):
    missed = session(district.pairings[0], clock.today() - dt.timedelta(days=2), status="planned")
    assert [e.id for e in service.awaiting_confirmation(district.villages[0])] == [missed.id]
    service.confirm_session(district.users.village, missed, verdict="disputed",
                            reason="律师没有来")
    assert list(service.awaiting_confirmation(district.villages[0])) == []
