"""Who is who: the district, its towns and villages, law firms, lawyers and users."""
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, TextField

from core.clock import now_utc
from core.db import BaseModel
from core.vocabulary import ROLES, VILLAGE_KINDS  # noqa: F401 (models' API)


class District(BaseModel):
    code = CharField(unique=True)
    name = CharField()


class Town(BaseModel):
    """A town (镇) or sub-district (街道) with its judicial office (司法所)."""
    district = ForeignKeyField(District, backref="towns", on_delete="CASCADE")
    code = CharField(unique=True)
    name = CharField(index=True)
    judicial_office = CharField(default="")
    office_head = CharField(default="")
    office_phone = CharField(default="")




class Village(BaseModel):
    """A village (村) or residential community (社区); ``code`` is stable and public."""
    town = ForeignKeyField(Town, backref="villages", on_delete="CASCADE")
    code = CharField(unique=True)
    name = CharField(index=True)
    kind = CharField(default="village")
    address = CharField(default="")  # where a map app finds it (the feeds' LOCATION)


class LawFirm(BaseModel):
    name = CharField(unique=True)
    address = CharField(default="")
    phone = CharField(default="")


class Lawyer(BaseModel):
    name = CharField(index=True)
    firm = ForeignKeyField(LawFirm, backref="lawyers", on_delete="RESTRICT")
    licence_no = CharField(unique=True)  # 执业证号
    phone = CharField(default="")
    wechat = CharField(default="")
    # where the lawyer's login invitation is sent (core.invitations); from the import
    email = CharField(default="")
    photo = CharField(default="")  # path under the instance folder, or empty
    active = BooleanField(default=True)


class Assistant(BaseModel):
    """A lawyer's assistant (律师助理)."""
    lawyer = ForeignKeyField(Lawyer, backref="assistants", on_delete="CASCADE")
    name = CharField()
    phone = CharField(default="")




class User(BaseModel):
    """A login. The scope is the district (no town, no village), one town, or one village.

    A lawyer user is linked to its ``Lawyer`` and sees that lawyer's villages.
    """
    username = CharField(unique=True)
    password_hash = CharField()
    display_name = CharField(default="")
    email = CharField(default="")  # for the e-mail copies a user asks for (core.notify)
    role = CharField()
    town = ForeignKeyField(Town, null=True, on_delete="SET NULL")
    village = ForeignKeyField(Village, null=True, on_delete="SET NULL")
    lawyer = ForeignKeyField(Lawyer, null=True, on_delete="SET NULL")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=now_utc)
    last_login_at = DateTimeField(null=True)
    note = TextField(default="")

    @property
    def scope(self) -> str:
        if self.village_id:
            return "village"
        if self.town_id:
            return "town"
        return "district"
