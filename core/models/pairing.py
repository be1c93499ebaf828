"""Pairings (结对): one lawyer with one village for a term, and the village's WeChat group."""
import datetime as dt

from peewee import (CharField, DateField, DateTimeField, ForeignKeyField, IntegerField,
                    SQL, TextField, TimeField)

from core.arrangements import Arrangement
from core.clock import now_utc
from core.db import BaseModel
from core.models.organisation import Lawyer, Village
from core.vocabulary import GROUP_ROLE_NAMES, GROUP_ROLES, HALF_DAYS, LAWYER_SIDE  # noqa: F401


class Pairing(BaseModel):
    lawyer = ForeignKeyField(Lawyer, backref="pairings", on_delete="RESTRICT")
    village = ForeignKeyField(Village, backref="pairings", on_delete="CASCADE")
    term_start = DateField()
    term_end = DateField()
    # The on-site arrangement (驻点时间, core.arrangements): the ``onsite_week``-th (5: last)
    # ``onsite_weekday`` (0 = Monday) of each month, ``onsite_start`` to ``onsite_end``.
    onsite_week = IntegerField(default=1)
    onsite_weekday = IntegerField(default=0)
    onsite_start = TimeField(default=dt.time(8, 30))
    onsite_end = TimeField(default=dt.time(12, 0))
    status = CharField(default="active")  # "active" | "ended"
    ended_on = DateField(null=True)
    end_reason = TextField(default="")
    created_at = DateTimeField(default=now_utc)
    updated_at = DateTimeField(default=now_utc)

    @property
    def arrangement(self) -> Arrangement:
        return Arrangement(week=self.onsite_week, weekday=self.onsite_weekday,
                           start=_as_time(self.onsite_start), end=_as_time(self.onsite_end))

    class Meta:
        # One village, one active lawyer: the database holds the rule too, so no
        # path around the service (a second process, a raw insert) can break it.
        constraints = [SQL("CHECK (term_end >= term_start)")]


def _as_time(value) -> dt.time:
    """A TimeField as read back (SQLite may hand back the stored text)."""
    if isinstance(value, dt.time):
        return value
    return dt.time.fromisoformat(str(value))


Pairing.add_index(Pairing.index(Pairing.village, unique=True, where=(Pairing.status == "active"),
                                name="pairing_one_active_per_village"))





class WechatGroup(BaseModel):
    """The pairing's service group, run under the lawyer's real name."""
    pairing = ForeignKeyField(Pairing, backref="wechat_groups", unique=True, on_delete="CASCADE")
    name = CharField()
    admin_name = CharField(default="")
    created_at = DateTimeField(default=now_utc)
    # The group's join QR code (入群二维码), as a coordinator uploaded it (core.groups): the
    # re-encoded picture's path relative to the instance folder ("" for none) and the day it
    # expires (WeChat's group QR codes work for 7 days); the public page shows it only before.
    join_qr = CharField(default="")
    join_qr_expires = DateField(null=True)


class WechatGroupMember(BaseModel):
    group = ForeignKeyField(WechatGroup, backref="members", on_delete="CASCADE")
    name = CharField()
    role = CharField()
    phone = CharField(default="")
