"""Long work run as a queued job (core.longwork): an export of many rows, an import, a
report. The row is what its page shows (a progress bar, then the download) and what lets a
second click join the job already running instead of starting another."""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, JSONField, TextField

from core.clock import now_utc
from core.db import BaseModel
from core.models.organisation import User
from core.vocabulary import LONG_JOB_STATUSES  # noqa: F401 (models' API)


class LongJob(BaseModel):
    kind = CharField()  # a registered kind (core.longwork.register): "export", …
    params = JSONField(default=dict)
    key = CharField(index=True)  # hash of kind, params and user: the same work, the same job
    user = ForeignKeyField(User, backref="long_jobs", on_delete="CASCADE")
    locale = CharField(default="zh_CN")  # the language its file and message are made in
    address = CharField(default="")  # the client that asked (audited with the work)
    status = CharField(default="queued", index=True)  # LONG_JOB_STATUSES
    done = IntegerField(default=0)
    total = IntegerField(default=0)
    message = TextField(default="")  # what it says when done, or why it failed
    result_path = CharField(default="")  # the file made, under the instance folder
    filename = CharField(default="")  # the name the download takes
    url = CharField(default="")  # or where its result is to be seen
    created_at = DateTimeField(default=now_utc, index=True)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
