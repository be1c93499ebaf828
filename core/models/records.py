"""The work systems' records (DOMAIN 五): case files and attachments, major-matter
reports, notifications, return visits and residents' ratings."""
from peewee import (BooleanField, CharField, DateField, DateTimeField, ForeignKeyField,
                    IntegerField, JSONField, TextField)

from core.clock import now_utc
from core.db import BaseModel
from core.models.organisation import Lawyer, User, Village
from core.models.calendar import Event
from core.models.pairing import Pairing
from core.models.tasks import Task, WorkLog
from core.vocabulary import MATTER_CATEGORIES, MATTER_STATUSES  # noqa: F401 (models' API)



class CaseFile(BaseModel):
    """一案一档: one file per legal matter, numbered per year ("2026-0001")."""
    number = CharField(unique=True)
    year = IntegerField()
    title = CharField()
    village = ForeignKeyField(Village, null=True, backref="case_files", on_delete="SET NULL")
    lawyer = ForeignKeyField(Lawyer, backref="case_files", on_delete="RESTRICT")
    category = CharField(default="")
    opened_on = DateField()
    closed_on = DateField(null=True)
    status = CharField(default="open")  # open | closed
    summary = TextField(default="")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=now_utc)


class Attachment(BaseModel):
    """A file of a case, stored under the instance folder by its SHA-256, never by a name
    a user chose."""
    case = ForeignKeyField(CaseFile, backref="attachments", on_delete="CASCADE")
    filename = CharField()  # as uploaded, for display and download only
    sha256 = CharField(index=True)
    size = IntegerField()
    mime = CharField()
    uploaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    uploaded_at = DateTimeField(default=now_utc)


class MajorMatter(BaseModel):
    """重大事项报告 (DOMAIN 五.3): reported by a lawyer, handled by the bureau."""
    category = CharField()
    title = CharField()
    description = TextField(default="")
    lawyer = ForeignKeyField(Lawyer, backref="major_matters", on_delete="RESTRICT")
    village = ForeignKeyField(Village, null=True, on_delete="SET NULL")
    work_log = ForeignKeyField(WorkLog, null=True, on_delete="SET NULL")
    task = ForeignKeyField(Task, null=True, on_delete="SET NULL")
    occurred_at = DateTimeField()  # UTC
    reported_at = DateTimeField(default=now_utc)
    deadline_at = DateTimeField()  # occurred_at + the category's reporting deadline
    late = BooleanField(default=False)
    status = CharField(default="reported", index=True)
    acknowledged_at = DateTimeField(null=True)
    acknowledged_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    resolution = TextField(default="")
    closed_at = DateTimeField(null=True)
    escalation_level = IntegerField(default=0)  # 0 none, 1 town, 2 district coordinators, 3 leaders
    escalated_at = DateTimeField(null=True)


class MatterNote(BaseModel):
    """A follow-up step on a major matter."""
    matter = ForeignKeyField(MajorMatter, backref="notes", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField(default=now_utc)
    text = TextField()


class Notification(BaseModel):
    """An in-app message (the inbox); e-mail and webhook copies are Deliveries."""
    user = ForeignKeyField(User, backref="notifications", on_delete="CASCADE")
    kind = CharField()
    title = CharField()
    body = TextField(default="")
    link = CharField(default="")
    dedupe_key = CharField(null=True, unique=True)  # a job run twice notifies once
    created_at = DateTimeField(default=now_utc)
    read_at = DateTimeField(null=True)


class NotificationPreference(BaseModel):
    """Per user and kind of notice: also send an e-mail copy to the user's address (the
    inbox always gets it)."""
    user = ForeignKeyField(User, backref="notification_preferences", on_delete="CASCADE")
    kind = CharField()
    email = BooleanField(default=False)

    class Meta:
        indexes = ((("user", "kind"), True),)


class Delivery(BaseModel):
    """One notification sent through one outside channel, retried until it goes."""
    notification = ForeignKeyField(Notification, backref="deliveries", on_delete="CASCADE")
    channel = CharField()  # email | webhook
    address = CharField(default="")  # a user's own e-mail address; empty: the shared mailboxes
    status = CharField(default="pending", index=True)  # pending | sent | failed
    attempts = IntegerField(default=0)
    last_error = TextField(default="")
    next_attempt_at = DateTimeField(default=now_utc)
    sent_at = DateTimeField(null=True)


class ReturnVisit(BaseModel):
    """回访 (DOMAIN 五.4): the town coordinator asks the village about its lawyer."""
    pairing = ForeignKeyField(Pairing, backref="return_visits", on_delete="CASCADE")
    period = CharField()  # "2026Q4"
    assignee = ForeignKeyField(User, null=True, on_delete="SET NULL")
    due_on = DateField()
    status = CharField(default="open")  # open | done
    contact = CharField(default="")  # whom in the village was asked
    satisfaction = IntegerField(null=True)  # 1..5
    comments = TextField(default="")
    done_at = DateTimeField(null=True)
    done_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("pairing", "period"), True),)


class RatingBurst(BaseModel):
    """More anonymous ratings of one village in a few minutes than residents give
    (``JIEDUI_RATINGS_BURST_COUNT`` within ``JIEDUI_RATINGS_BURST_MINUTES``): its ratings are
    flagged for the coordinators, who are told once per burst."""
    village = ForeignKeyField(Village, backref="rating_bursts", on_delete="CASCADE")
    started_at = DateTimeField()
    last_at = DateTimeField(index=True)
    count = IntegerField(default=0)


class RatingCode(BaseModel):
    """A one-time rating code (评价码) handed to a resident at an on-site session or a
    publicity event: a rating given with it counts toward the lawyer's assessment. Only a
    keyed hash of the code is kept; the code itself is shown once, on the printed sheet."""
    event = ForeignKeyField(Event, backref="rating_codes", on_delete="CASCADE")
    code_hash = CharField(unique=True)
    issued_at = DateTimeField(default=now_utc)
    issued_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    used_at = DateTimeField(null=True)


class Rating(BaseModel):
    """A resident's rating of the village's lawyer: verified when given with a rating code
    (one per code; it counts), else anonymous feedback (one per device per quarter; it does
    not count). ``core.feedback.counts`` is the rule."""
    pairing = ForeignKeyField(Pairing, backref="ratings", on_delete="CASCADE")
    period = CharField()
    device_hash = CharField(null=True)  # SHA-256 of a random cookie (anonymous ratings only)
    score = IntegerField()
    comment = TextField(default="")
    created_at = DateTimeField(default=now_utc)
    followed_up = BooleanField(default=False)
    code = ForeignKeyField(RatingCode, null=True, unique=True, on_delete="SET NULL")
    # a keyed hash of the client's network that changes daily (anonymous ratings only, for
    # the per-address limit); erased after a day. Never the address.
    address_hash = CharField(default="", index=True)
    burst = ForeignKeyField(RatingBurst, null=True, backref="ratings", on_delete="SET NULL")
    excluded = BooleanField(default=False)  # a coordinator set a flagged rating aside

    class Meta:
        indexes = ((("pairing", "period", "device_hash"), True),)


class RatingCodeMiss(BaseModel):
    """A rating code that matched nothing, per keyed hash of the client's network: too many
    in an hour refuse further codes from it (guessing). Kept a day."""
    address_hash = CharField(index=True)
    at = DateTimeField(index=True, default=now_utc)


class Inspection(BaseModel):
    """检查 (DOMAIN 五.4): a coordinator's visit or spot check of a village's service, with
    its checklist ({item: pass | fail | unchecked}, ``core.vocabulary.INSPECTION_ITEMS``),
    findings and follow-up. ``pairing`` and ``lawyer``: the pairing serving the village on
    the day (none when no lawyer was paired), whose assessment it counts in."""
    village = ForeignKeyField(Village, backref="inspections", on_delete="CASCADE")
    pairing = ForeignKeyField(Pairing, null=True, backref="inspections", on_delete="SET NULL")
    lawyer = ForeignKeyField(Lawyer, null=True, on_delete="SET NULL")
    inspected_on = DateField(index=True)
    kind = CharField(default="visit")
    checklist = JSONField(default=dict)
    findings = TextField(default="")
    follow_up = TextField(default="")  # what must be put right; empty: nothing
    follow_up_due = DateField(null=True)
    follow_up_done_on = DateField(null=True)
    follow_up_note = TextField(default="")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=now_utc)
