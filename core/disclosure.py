"""Information disclosure (信息公开, DOMAIN.md 五.6/五.7): what residents may see of a
village's lawyer, the coordinators' warnings about it, and the WeChat group register.

``public_village`` builds a value object field by field from the public columns only, so a
template given it cannot reach an assistant's phone, a group's members, a user or a task
however it is written. Warnings and the register follow the reader's scope
(``core.access.village_filter``).
"""
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from peewee import JOIN, fn

from core import clock
from core.access import village_filter
from core.arrangements import Arrangement
from core.config import get_settings
from core.errors import NotFound
from core.groups import join_qr_path, join_qr_shown
from core.i18n import N_
from core.lawyers import photo_version
from core.photos import picture_size, picture_version, scaled_picture, stored_picture
from core.models import (GROUP_ROLES, Event, LawFirm, Lawyer, Pairing, Town, User, Village,
                         WechatGroup, WechatGroupMember)

# The ten duties of a paired lawyer (DOMAIN.md 四), as msgids: the page translates them.
DUTIES = (
    N_("Help revise the village charter, residents' conventions and rules."),
    N_("Regular legal publicity, legal Q&A and legal training for residents and village staff."),
    N_("Help with public security work and take part in dispute mediation."),
    N_("Attend village party-group meetings, residents' meetings and owners' committees, "
       "and give legal opinions on their decisions."),
    N_("Legal services for public affairs; draft and revise legal documents."),
    N_("Help the elderly, women, children and other vulnerable people apply for legal aid."),
    N_("Collect residents' livelihood demands and pass them on to government departments."),
    N_("Review and draft important contracts and agreements for the village."),
    N_("Act for the village in litigation or non-litigation matters."),
    N_("Other legal matters of the village."),
)

PUBLIC_EVENT_KINDS = ("session", "publicity")  # programme tasks may name people: never shown
NEXT_EVENTS = 5
TERM_WARNING_DAYS = 60
# The public legal service hotline (公共法律服务热线), the same number everywhere in China:
# residents call it when they cannot reach their lawyer; the page always shows it.
LEGAL_HOTLINE = "12348"


@dataclass(frozen=True)
class PublicEvent:
    kind: str  # "session" | "publicity"
    starts_at: dt.datetime  # aware, district zone
    ends_at: dt.datetime
    place: str = ""  # the village's address ("": the page names the village committee)


@dataclass(frozen=True)
class PublicVillage:
    """Everything a resident may see about a village's pairing, and nothing else."""
    code: str
    name: str
    kind: str
    town_code: str
    town_name: str
    paired: bool
    lawyer_name: str = ""
    firm_name: str = ""
    has_photo: bool = False  # the web serves it at the village's photo URL
    photo_version: str = ""  # changes with the photo (core.lawyers.photo_version)
    phone: str = ""
    wechat: str = ""
    arrangement: Arrangement | None = None  # the on-site hours, as planned
    address: str = ""
    term_start: dt.date | None = None
    term_end: dt.date | None = None
    group_name: str = ""
    # The group's join QR code while it works (``core.groups.join_qr_shown``), else "" and
    # None: the web serves it at the village's group-QR URL with this version; its size in
    # pixels, and the last day it is shown (the day before it expires).
    join_qr_version: str = ""
    join_qr_size: tuple[int, int] | None = None
    join_qr_until: dt.date | None = None
    next_events: tuple[PublicEvent, ...] = ()
    successor_name: str = ""  # a replacement from a later day: who takes over
    successor_from: dt.date | None = None
    duties: tuple[str, ...] = DUTIES


@dataclass(frozen=True)
class DirectoryEntry:
    code: str
    name: str
    town_name: str
    lawyer_name: str  # "" when the village has no lawyer
    firm_name: str


def photo_path(lawyer: Lawyer, instance: Path | None = None) -> Path | None:
    """The lawyer's photo file, if the stored path names an image inside the instance
    folder that exists; None otherwise (no path a user controls ever leaves the folder)."""
    return stored_picture(lawyer.photo, instance)


def _village(code: str) -> Village:
    village = (Village.select(Village, Town).join(Town).where(Village.code == code).first()
               if code and code.isprintable() else None)
    if village is None:
        raise NotFound(N_("There is no village with the code %(code)s."), code=code)
    return village


def _active_pairing(village: Village) -> Pairing | None:
    return (Pairing.select(Pairing, Lawyer, LawFirm).join(Lawyer).join(LawFirm)
            .where((Pairing.village == village) & (Pairing.status == "active")).first())


def _serving_pairings(village: Village) -> tuple[Pairing | None, Pairing | None]:
    """(the pairing whose lawyer serves the village today, the one taking over later). A
    replacement from a later day leaves the old lawyer on duty until then: residents see
    them, and who takes over from when — as the calendar does."""
    active = _active_pairing(village)
    if active is None or active.term_start <= clock.today():
        return active, None
    today = clock.today()
    outgoing = (Pairing.select(Pairing, Lawyer, LawFirm).join(Lawyer).join(LawFirm)
                .where((Pairing.village == village) & (Pairing.term_start <= today)
                       & (Pairing.term_end >= today) & (Pairing.id != active.id))
                .order_by(Pairing.term_start.desc()).first())
    return (outgoing, active) if outgoing is not None else (active, None)


def next_events(village: Village, limit: int = NEXT_EVENTS) -> tuple[PublicEvent, ...]:
    """The next planned on-site sessions and publicity events of the village."""
    rows = (Event.select(Event.kind, Event.starts_at, Event.ends_at)
            .where((Event.village == village) & Event.kind.in_(PUBLIC_EVENT_KINDS)
                   & (Event.status == "planned") & (Event.starts_at >= clock.now_utc()))
            .order_by(Event.starts_at).limit(limit))
    return tuple(PublicEvent(kind=e.kind, starts_at=clock.to_local(e.starts_at),
                             ends_at=clock.to_local(e.ends_at), place=village.address)
                 for e in rows)


def public_village(code: str) -> PublicVillage:
    """The disclosed information of the village ``code``; NotFound for an unknown code."""
    village = _village(code)
    base = dict(code=village.code, name=village.name, kind=village.kind,
                town_code=village.town.code, town_name=village.town.name,
                address=village.address)
    pairing, successor = _serving_pairings(village)
    if pairing is None:
        return PublicVillage(paired=False, **base)
    lawyer = pairing.lawyer
    group = WechatGroup.get_or_none(WechatGroup.pairing == pairing)
    qr_path = join_qr_path(group) if join_qr_shown(group) else None
    qr_size = picture_size(qr_path) if qr_path else None
    return PublicVillage(
        paired=True, **base, lawyer_name=lawyer.name, firm_name=lawyer.firm.name,
        has_photo=photo_path(lawyer) is not None, photo_version=photo_version(lawyer),
        phone=lawyer.phone, wechat=lawyer.wechat,
        arrangement=pairing.arrangement, term_start=pairing.term_start,
        term_end=pairing.term_end, group_name=group.name if group else "",
        join_qr_version=picture_version(group.join_qr) if qr_size else "",
        join_qr_size=qr_size,
        join_qr_until=group.join_qr_expires - dt.timedelta(days=1) if qr_size else None,
        next_events=next_events(village),
        successor_name=successor.lawyer.name if successor else "",
        successor_from=successor.term_start if successor else None)


def public_photo(code: str) -> Path | None:
    """The photo file of the lawyer serving the village today, at most
    ``PUBLIC_PHOTO_SIDE`` pixels (``core.photos.scaled_picture``), or None."""
    pairing, _successor = _serving_pairings(_village(code))
    path = photo_path(pairing.lawyer) if pairing else None
    return scaled_picture(path) if path else None


def public_join_qr(code: str) -> Path | None:
    """The join QR code of the WeChat group of the village's serving lawyer, while it
    works (``core.groups.join_qr_shown``); None otherwise."""
    pairing, _successor = _serving_pairings(_village(code))
    group = WechatGroup.get_or_none(WechatGroup.pairing == pairing) if pairing else None
    return join_qr_path(group) if join_qr_shown(group) else None


def town_villages(town_code: str) -> tuple[Town, list[PublicVillage]]:
    """A town and the disclosed information of each of its villages (for the card sheet)."""
    town = Town.get_or_none(Town.code == town_code) if town_code.isprintable() else None
    if town is None:
        raise NotFound(N_("There is no town with the code %(code)s."), code=town_code)
    codes = [v.code for v in town.villages.select(Village.code).order_by(Village.code)]
    return town, [public_village(code) for code in codes]


def directory(query: str | None = None) -> list[DirectoryEntry]:
    """Every village with its current lawyer and firm, in one query; ``query`` matches the
    village's name or code or its town's name."""
    rows = (Village.select(Village.code, Village.name, Town.name.alias("town_name"),
                           Lawyer.name.alias("lawyer_name"), LawFirm.name.alias("firm_name"))
            .join(Town).switch(Village)
            .join(Pairing, JOIN.LEFT_OUTER,
                  on=(Pairing.village == Village.id) & (Pairing.status == "active"))
            .join(Lawyer, JOIN.LEFT_OUTER).join(LawFirm, JOIN.LEFT_OUTER)
            .order_by(Town.code, Village.code))
    term = (query or "").strip()
    if term:
        rows = rows.where(Village.name.contains(term) | Village.code.contains(term)
                          | Town.name.contains(term))
    return [DirectoryEntry(code=r["code"], name=r["name"], town_name=r["town_name"],
                           lawyer_name=r["lawyer_name"] or "", firm_name=r["firm_name"] or "")
            for r in rows.dicts()]


# --- coordinators: warnings ---------------------------------------------------------------

@dataclass(frozen=True)
class DisclosureWarning:
    kind: str  # "term_ended" | "term_ending" | "incomplete"
    village_code: str
    village_name: str
    town_name: str
    lawyer_name: str
    term_end: dt.date
    days_left: int  # negative once the term has ended
    missing: tuple[str, ...] = ()  # "photo", "phone", "wechat"
    lawyer_id: int | None = None  # whose page fixes what is missing


def _missing(lawyer: Lawyer, instance: Path) -> tuple[str, ...]:
    missing = []
    if photo_path(lawyer, instance) is None:
        missing.append("photo")
    if not lawyer.phone.strip():
        missing.append("phone")
    if not lawyer.wechat.strip():
        missing.append("wechat")
    return tuple(missing)


def warnings(user: User | None, today: dt.date | None = None) -> list[DisclosureWarning]:
    """Active pairings in ``user``'s scope whose term has ended or ends within
    TERM_WARNING_DAYS, then those whose disclosed information is incomplete."""
    today = today or clock.today()
    instance = get_settings().instance
    pairings = (Pairing.select(Pairing, Village, Town, Lawyer)
                .join(Village).join(Town).switch(Pairing).join(Lawyer)
                .where((Pairing.status == "active") & village_filter(user))
                .order_by(Pairing.term_end, Town.code, Village.code))
    terms, incomplete = [], []
    for pairing in pairings:
        days_left = (pairing.term_end - today).days
        common = dict(village_code=pairing.village.code, village_name=pairing.village.name,
                      town_name=pairing.village.town.name, lawyer_name=pairing.lawyer.name,
                      lawyer_id=pairing.lawyer_id, term_end=pairing.term_end,
                      days_left=days_left)
        if days_left <= TERM_WARNING_DAYS:
            kind = "term_ended" if days_left < 0 else "term_ending"
            terms.append(DisclosureWarning(kind=kind, **common))
        missing = _missing(pairing.lawyer, instance)
        if missing:
            incomplete.append(DisclosureWarning(kind="incomplete", missing=missing, **common))
    return terms + incomplete


MISSING_FIELDS = ("photo", "phone", "wechat")  # what a warning's ``missing`` may name


def lawyers_missing(found: list[DisclosureWarning]) -> dict[str, set[int]]:
    """The ``warnings`` grouped by cause: for each field, the lawyers who have not disclosed
    it (one lawyer's photo is missing from every village they serve; one upload fixes all)."""
    causes: dict[str, set[int]] = {name: set() for name in MISSING_FIELDS}
    for warning in found:
        for name in warning.missing:
            causes[name].add(warning.lawyer_id)
    return causes


# --- coordinators: the WeChat group register --------------------------------------------

@dataclass(frozen=True)
class GroupEntry:
    village_code: str
    village_name: str
    town_name: str
    lawyer_name: str
    name: str
    admin_name: str
    counts: dict  # role -> members, in GROUP_ROLES order, then any other role
    total: int


def wechat_register(user: User | None) -> list[GroupEntry]:
    """The service groups of the active pairings in ``user``'s scope, with member counts by
    role (two queries, whatever the number of groups)."""
    groups = list(WechatGroup.select(WechatGroup, Pairing, Village, Town, Lawyer)
                  .join(Pairing).join(Village).join(Town).switch(Pairing).join(Lawyer)
                  .where((Pairing.status == "active") & village_filter(user))
                  .order_by(Town.code, Village.code))
    counts: dict[int, dict[str, int]] = {g.id: {} for g in groups}
    if groups:
        member = WechatGroupMember
        rows = (member.select(member.group, member.role, fn.COUNT(member.id))
                .where(member.group.in_(list(counts)))
                .group_by(member.group, member.role).tuples())
        for group_id, role, number in rows:
            counts[group_id][role] = number
    return [GroupEntry(village_code=g.pairing.village.code, village_name=g.pairing.village.name,
                       town_name=g.pairing.village.town.name, lawyer_name=g.pairing.lawyer.name,
                       name=g.name, admin_name=g.admin_name, counts=_in_role_order(counts[g.id]),
                       total=sum(counts[g.id].values()))
            for g in groups]


def _in_role_order(by_role: dict[str, int]) -> dict[str, int]:
    roles = [*GROUP_ROLES, *sorted(set(by_role) - set(GROUP_ROLES))]
    return {role: by_role.get(role, 0) for role in roles}
