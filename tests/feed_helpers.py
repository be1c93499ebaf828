"""Shared test data for the feed tests: events created directly (the planner is separate)."""
import datetime as dt
import uuid
from types import SimpleNamespace

import pytest

from core import clock
from core.models import Event, WechatGroup, WechatGroupMember

SH = "Asia/Shanghai"


def local_day(days_from_today: int) -> dt.date:
    return clock.today() + dt.timedelta(days=days_from_today)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware district time."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=clock.zone())


def utc(aware: dt.datetime) -> dt.datetime:
    return aware.astimezone(clock.UTC).replace(tzinfo=None)


def add_event(pairing=None, *, village=None, lawyer=None, kind="session", start,
              hours=3.5, status="planned", **fields) -> Event:
    """An event of ``pairing`` (or of a village/lawyer without one) starting at ``start``
    (aware, district time)."""
    village = village or pairing.village
    lawyer = lawyer if lawyer is not None else (pairing.lawyer if pairing else None)
    return Event.create(uid=f"{uuid.uuid4()}@jiedui.test", kind=kind, village=village,
                        pairing=pairing, lawyer=lawyer, starts_at=utc(start),
                        ends_at=utc(start + dt.timedelta(hours=hours)), status=status,
                        **fields)


def calendar_district(district) -> SimpleNamespace:
    """The small district with contacts filled in and events for the first lawyer
    (village 0, town 1), a second lawyer in town 1 and a lawyer in town 2."""
    town = district.towns[0]
    town.office_head, town.office_phone = "陈所长", "0571-88886666"
    town.save()
    p0, p1, p3 = district.pairings[0], district.pairings[1], district.pairings[3]
    day = local_day(10)
    events = SimpleNamespace(
        session=add_event(p0, start=at(day, 8, 30), sequence=2),
        afternoon=add_event(p0, start=at(local_day(12), 14, 0)),
        publicity=add_event(p0, kind="publicity", start=at(local_day(20), 9, 0), hours=2),
        cancelled=add_event(p0, start=at(local_day(15), 8, 30), status="cancelled",
                            sequence=1, cancel_reason="村委会换届选举"),
        task=add_event(p0, kind="task", start=at(local_day(30), 9, 0), hours=1,
                       title="走访家庭", description="李某某 家暴 线索 13912345678"),
        other_lawyer=add_event(p1, start=at(day, 8, 30)),
        other_town=add_event(p3, start=at(day, 14, 0)),
    )
    group = WechatGroup.get(WechatGroup.pairing == p0)
    # The village side of the group (the lawyer's side is there already), a member
    # without a phone among them.
    contacts = SimpleNamespace(
        committee=WechatGroupMember.create(group=group, name="王主任", role="village_committee",
                                           phone="13800001111"),
        mediator=WechatGroupMember.create(group=group, name="赵调解", role="mediation",
                                          phone="13800002222"),
        party=WechatGroupMember.create(group=group, name="孙党员", role="party_member"))
    return SimpleNamespace(events=events, group=group, town=town, lawyer=p0.lawyer,
                           village=p0.village, pairing=p0, contacts=contacts)


@pytest.fixture
def later(monkeypatch):
    """``later(hours)`` moves the services' clock on."""
    start = clock.now_utc()

    def move(hours: float) -> dt.datetime:
        moved = start + dt.timedelta(hours=hours)
        monkeypatch.setattr(clock, "now_utc", lambda: moved)
        return moved
    return move
