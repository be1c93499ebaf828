"""The register of a pairing's WeChat service group (五.7): its name, administrator and
members by role.

The group is created with the pairing (``core.pairings._create_group``: the lawyer and the
assistants, and the village side of the group it replaces). Here the coordinators who manage
the village, and administrators, keep the rest: rename the group, make one of its members the
administrator, add, edit and remove members (村(居)两委, 调委会, 党员, 居民代表, 司法所 ...).
The paired lawyer reads the register; village users do not.

The paired lawyer stays in the group while the pairing lasts (they cannot be removed or given
another role), and no one else joins as the paired lawyer. Only the group of an active pairing
changes. Every change is audited on the group (``wechat_group.*``, with what was before and
after); a refused change writes nothing.

The group's join QR code (入群二维码) is a picture a coordinator uploads (a screenshot of the
QR card WeChat shows in the group's settings) with the day it expires, by default 7 days after
the upload, as in WeChat. It is checked and re-encoded like a lawyer's photo
(``core.photos.store_picture``: no EXIF, no GPS position, nothing of the upload kept) and the
public page shows it until the day before it expires (``join_qr_shown``); then the page asks
residents to ask the lawyer or the village instead. It passes with the group to a new lawyer.

The private calendar feeds describe the village's events with the group's name and its
village-side members (``core.feeds``): a change to those republishes the feeds of those
events once it is committed (``core.feeds.publish_changes``), not at the hourly republish.
"""
import datetime as dt
from pathlib import Path

from core import clock
from core.access import can_read_group, require_manage_village
from core.audit import record
from core.db import transaction
from core.errors import PermissionDenied, ValidationError
from core.feeds import events_of_group, publish_changes
from core.i18n import N_
from core.photos import store_picture, stored_picture
from core.models import GROUP_ROLES, Pairing, User, WechatGroup, WechatGroupMember
from core.models.pairing import LAWYER_SIDE
from core.phones import clean_phone
from core.text import clean_text

GROUP_NAME_MAX = 100
PERSON_NAME_MAX = 50
PAIRED_LAWYER = "lawyer"
# The roles a member can be added with or moved to: the paired lawyer comes with the pairing.
MEMBER_ROLES = tuple(role for role in GROUP_ROLES if role != PAIRED_LAWYER)
# The join QR code (入群二维码): WeChat's group QR codes work for 7 days.
JOIN_QR_DAYS = 7
JOIN_QR_FOLDER = "group-qr"  # under the uploads folder, by hash, like the lawyers' photos
JOIN_QR_LONGEST_SIDE = 800  # a screenshot of WeChat's QR card: enough to scan, light to load


# --- who may --------------------------------------------------------------------------------

def require_read_group(user: User | None, group: WechatGroup) -> None:
    if not can_read_group(user, group):
        raise PermissionDenied(N_("You may not see the WeChat group of %(village)s."),
                               village=group.pairing.village.name)


def _require_change(user: User | None, group: WechatGroup) -> None:
    require_manage_village(user, group.pairing.village)
    if group.pairing.status != "active":
        raise ValidationError(N_("This pairing has ended; its WeChat group can no longer "
                                 "be changed."))


# --- reading --------------------------------------------------------------------------------

def group_of(pairing: Pairing) -> WechatGroup | None:
    return WechatGroup.get_or_none(WechatGroup.pairing == pairing)


def members_in_role_order(group: WechatGroup) -> list[WechatGroupMember]:
    """The members in the plan's order of roles (any other role last), then as added."""
    order = {role: index for index, role in enumerate(GROUP_ROLES)}
    members = list(group.members.order_by(WechatGroupMember.id))
    return sorted(members, key=lambda m: (order.get(m.role, len(order)), m.role))


def read_group(actor: User | None, group: WechatGroup) -> list[WechatGroupMember]:
    """The group's members for ``actor`` (see ``members_in_role_order``)."""
    require_read_group(actor, group)
    return members_in_role_order(group)


def administrator(group: WechatGroup, members: list[WechatGroupMember]):
    """The member who administers the group (the first of that name), or None."""
    return next((m for m in members if m.name == group.admin_name), None)


# --- checks ---------------------------------------------------------------------------------


def _member_values(name, role, phone, *, current: WechatGroupMember | None = None) -> dict:
    name = clean_text(name, "name", PERSON_NAME_MAX, one_line=True,
                      required=N_("Enter the member's name."))
    if current is not None and current.role == PAIRED_LAWYER:
        if role != PAIRED_LAWYER:
            raise ValidationError(N_("The paired lawyer stays in the group as its lawyer; "
                                     "their role cannot change."), field="role")
    elif role == PAIRED_LAWYER:
        raise ValidationError(N_("The paired lawyer joins the group with the pairing; "
                                 "choose another role."), field="role")
    elif role not in MEMBER_ROLES:
        raise ValidationError(N_("Choose the member's role."), field="role")
    return {"name": name, "role": role, "phone": clean_phone(phone, field="phone")}


def _require_member_of(group: WechatGroup, member: WechatGroupMember) -> None:
    if member.group_id != group.id:
        raise ValidationError(N_("%(name)s is not a member of this group."), field="member",
                              name=member.name)


def _described(member: WechatGroupMember) -> dict:
    return {"name": member.name, "role": member.role, "phone": member.phone}


def _others_named(member: WechatGroupMember, name: str):
    return (WechatGroupMember.select()
            .where((WechatGroupMember.group == member.group_id)
                   & (WechatGroupMember.id != member.id) & (WechatGroupMember.name == name)))


def _events_showing(group: WechatGroup, *roles: str) -> list[int]:
    """The events whose feed descriptions show the group's name or, with ``roles``, a member
    in one of these roles: the feeds show only the village side (not the lawyer's)."""
    if roles and all(role in LAWYER_SIDE for role in roles):
        return []
    return events_of_group(group.pairing)


# --- changes --------------------------------------------------------------------------------

def rename_group(actor: User | None, group: WechatGroup, name: str) -> WechatGroup:
    """Give the group the name it has in WeChat (by default ``<村名>结对律师服务微信群``)."""
    _require_change(actor, group)
    name = clean_text(name, "name", GROUP_NAME_MAX, one_line=True,
                      required=N_("Enter the group's name."))
    if name == group.name:
        return group
    before = group.name
    group.name = name
    with transaction():
        group.save(only=[WechatGroup.name])
        record(actor, "wechat_group.rename", obj=group,
               detail={"before": {"name": before}, "after": {"name": name}})
        shown = _events_showing(group)
    publish_changes(shown)
    return group


def set_administrator(actor: User | None, group: WechatGroup,
                      member: WechatGroupMember) -> WechatGroup:
    """Make ``member`` (one of the group's members) its administrator. (The feeds do not
    show who administers the group: nothing to republish.)"""
    _require_change(actor, group)
    _require_member_of(group, member)
    before = group.admin_name
    if member.name == before:
        return group
    group.admin_name = member.name
    with transaction():
        group.save(only=[WechatGroup.admin_name])
        record(actor, "wechat_group.set_admin", obj=group,
               detail={"before": {"admin_name": before},
                       "after": {"admin_name": member.name, "member": member.id}})
    return group


def add_member(actor: User | None, group: WechatGroup, *, name: str, role: str,
               phone: str = "") -> WechatGroupMember:
    """Add a member in one of ``MEMBER_ROLES``; the phone number is optional."""
    _require_change(actor, group)
    values = _member_values(name, role, phone)
    twin = (group.members.where((WechatGroupMember.name == values["name"])
                                & (WechatGroupMember.role == values["role"])).exists())
    if twin:
        raise ValidationError(N_("%(name)s is already a member of this group in this role."),
                              field="name", name=values["name"])
    with transaction():
        member = WechatGroupMember.create(group=group, **values)
        record(actor, "wechat_group.add_member", obj=group,
               detail={"member": member.id, "after": values})
        shown = _events_showing(group, values["role"])
    publish_changes(shown)
    return member


def edit_member(actor: User | None, member: WechatGroupMember, *, name: str, role: str,
                phone: str = "") -> WechatGroupMember:
    """Correct a member's name, role or phone. The administrator's new name follows them."""
    group = member.group
    _require_change(actor, group)
    values = _member_values(name, role, phone, current=member)
    before = _described(member)
    if values == before:
        return member
    follows = (group.admin_name == member.name and values["name"] != member.name
               and not _others_named(member, member.name).exists())
    for key, value in values.items():
        setattr(member, key, value)
    with transaction():
        member.save()
        detail = {"member": member.id, "before": before, "after": values}
        if follows:
            group.admin_name = values["name"]
            group.save(only=[WechatGroup.admin_name])
            detail["admin_name"] = values["name"]
        record(actor, "wechat_group.edit_member", obj=group, detail=detail)
        shown = _events_showing(group, before["role"], values["role"])
    publish_changes(shown)
    return member


def remove_member(actor: User | None, member: WechatGroupMember) -> None:
    """Take ``member`` out of the group; never the paired lawyer, nor the administrator
    (make another member the administrator first)."""
    group = member.group
    _require_change(actor, group)
    if member.role == PAIRED_LAWYER:
        raise ValidationError(N_("%(name)s is the paired lawyer and stays in the group while "
                                 "the pairing lasts."), name=member.name)
    if member.name == group.admin_name and not _others_named(member, member.name).exists():
        raise ValidationError(N_("%(name)s administers the group; make another member the "
                                 "administrator first."), name=member.name)
    before = _described(member)
    member_id = member.id
    with transaction():
        member.delete_instance()
        record(actor, "wechat_group.remove_member", obj=group,
               detail={"member": member_id, "before": before})
        shown = _events_showing(group, before["role"])
    publish_changes(shown)


# --- the join QR code -------------------------------------------------------------------

def join_qr_shown(group: WechatGroup | None, today: dt.date | None = None) -> bool:
    """Whether residents see the group's join QR code: one is uploaded and its expiry day
    has not come (on that day WeChat's code stops working)."""
    if group is None or not group.join_qr or group.join_qr_expires is None:
        return False
    return (today or clock.today()) < group.join_qr_expires


def join_qr_path(group: WechatGroup | None) -> Path | None:
    """The stored picture of the group's join QR code, or None."""
    return stored_picture(group.join_qr) if group is not None else None


def default_join_qr_expiry(today: dt.date | None = None) -> dt.date:
    return (today or clock.today()) + dt.timedelta(days=JOIN_QR_DAYS)


def _join_qr_expiry(value, today: dt.date) -> dt.date:
    """The expiry day of a QR code uploaded ``today``: after today and at most
    ``JOIN_QR_DAYS`` later (default: that)."""
    if value in (None, ""):
        return default_join_qr_expiry(today)
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(N_("Enter the day the QR code expires, such as %(day)s."),
                                  field="expires",
                                  day=default_join_qr_expiry(today).isoformat()) from None
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(N_("Enter the day the QR code expires, such as %(day)s."),
                              field="expires", day=default_join_qr_expiry(today).isoformat())
    last = default_join_qr_expiry(today)
    if not today < value <= last:
        raise ValidationError(N_("A WeChat group's QR code works for 7 days: the expiry day "
                                 "is from %(first)s to %(last)s."), field="expires",
                              first=(today + dt.timedelta(days=1)).isoformat(),
                              last=last.isoformat())
    return value


def _join_qr_state(group: WechatGroup) -> dict:
    expires = group.join_qr_expires
    return {"join_qr": group.join_qr, "expires": expires.isoformat() if expires else None}


def set_join_qr(actor: User | None, group: WechatGroup, stream, expires=None) -> WechatGroup:
    """Upload (or replace) the group's join QR code: ``stream`` a picture (binary file
    object), ``expires`` the day it stops working (a date or ``YYYY-MM-DD``; default 7 days
    from today, at most that). Nothing is written when the day or the picture is refused."""
    _require_change(actor, group)
    expires = _join_qr_expiry(expires, clock.today())
    stored = store_picture(stream, JOIN_QR_FOLDER, JOIN_QR_LONGEST_SIDE)
    before = _join_qr_state(group)
    group.join_qr, group.join_qr_expires = stored.path, expires
    with transaction():
        group.save(only=[WechatGroup.join_qr, WechatGroup.join_qr_expires])
        record(actor, "wechat_group.join_qr", obj=group,
               detail={"before": before, "after": _join_qr_state(group),
                       "sha256": stored.sha256, "size": stored.size})
    return group


def remove_join_qr(actor: User | None, group: WechatGroup) -> WechatGroup:
    """Residents no longer see a join QR code (removing none changes nothing). The file
    stays, as a replaced photo's does; it is no longer served."""
    _require_change(actor, group)
    if not group.join_qr:
        return group
    before = _join_qr_state(group)
    group.join_qr, group.join_qr_expires = "", None
    with transaction():
        group.save(only=[WechatGroup.join_qr, WechatGroup.join_qr_expires])
        record(actor, "wechat_group.remove_join_qr", obj=group,
               detail={"before": before, "after": _join_qr_state(group)})
    return group
