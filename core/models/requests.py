"""What a village asks of its lawyer (core.village_requests): invitations to its activities
(五.5), residents' demands passed on (四.7), and its word on whether a session took place.

Each belongs to the village, not to one lawyer: the village's current lawyer (its active
pairing's) answers, so a replacement passes what is still pending to the new lawyer."""
from peewee import CharField, DateField, DateTimeField, ForeignKeyField, TextField

from core.clock import now_utc
from core.db import BaseModel
from core.models.calendar import Event
from core.models.organisation import Lawyer, User, Village
from core.vocabulary import (DEMAND_CATEGORIES, DEMAND_STATUSES,  # noqa: F401 (models' API)
                             INVITATION_KINDS, INVITATION_STATUSES, VERDICTS)


class Invitation(BaseModel):
    """A village invites its lawyer to an activity: a meeting (村民代表大会), a legal-publicity
    event (普法活动). Accepted, it is an event in the lawyer's calendar (``event``)."""
    village = ForeignKeyField(Village, backref="invitations", on_delete="CASCADE")
    kind = CharField(default="activity")  # INVITATION_KINDS
    title = CharField()
    description = TextField(default="")
    place = CharField(default="")
    day = DateField(index=True)  # the district date of starts_at
    starts_at = DateTimeField()  # UTC
    ends_at = DateTimeField()  # UTC
    status = CharField(default="pending", index=True)  # INVITATION_STATUSES
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=now_utc)
    lawyer = ForeignKeyField(Lawyer, null=True, on_delete="SET NULL")  # who answered
    answered_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    answered_at = DateTimeField(null=True)
    reason = TextField(default="")  # why the lawyer declined
    event = ForeignKeyField(Event, null=True, backref="invitations", on_delete="SET NULL")


class ResidentDemand(BaseModel):
    """A resident's demand (民生诉求) the village passes on to its lawyer, who answers it."""
    village = ForeignKeyField(Village, backref="demands", on_delete="CASCADE")
    category = CharField()  # DEMAND_CATEGORIES
    text = TextField()
    contact_name = CharField(default="")  # the resident, if they agreed to be named
    contact_phone = CharField(default="")
    status = CharField(default="open", index=True)  # DEMAND_STATUSES
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=now_utc, index=True)
    answer = TextField(default="")
    lawyer = ForeignKeyField(Lawyer, null=True, on_delete="SET NULL")  # who answered
    answered_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    answered_at = DateTimeField(null=True)


class SessionConfirmation(BaseModel):
    """A village's word on a past session or publicity event: it took place (confirmed) or
    not as recorded (disputed, with the reason). One per event; a change is audited."""
    event = ForeignKeyField(Event, unique=True, backref="confirmations", on_delete="CASCADE")
    village = ForeignKeyField(Village, backref="confirmations", on_delete="CASCADE")
    verdict = CharField(index=True)  # VERDICTS
    reason = TextField(default="")
    by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField(default=now_utc)
