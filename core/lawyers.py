"""A lawyer's details as disclosed to residents (信息公开, DOMAIN.md 五.6/五.7): name, law
firm, licence number, phone, WeChat and photo.

Who may change what: an administrator or a district coordinator (lawyers serve the whole
district, ``core.access.is_district_manager``) every detail; the lawyer themself their phone,
WeChat and photo. Town coordinators read lawyers but change nothing. Every change is audited
with the values before and after. The private calendar feeds name the lawyer (their own
feed's name, each event's lawyer in the coordinators' feeds) but show no lawyer's phone: a new
name republishes the feeds of the lawyer's events once committed (``core.feeds``).

Photos are checked, re-encoded and stored by ``core.photos`` (no EXIF or GPS, at most
``PHOTO_LONGEST_SIDE`` pixels, bombs refused before decoding), under
``<instance>/uploads/photos/``, so the backup carries them. ``Lawyer.photo`` holds that path
relative to the instance folder; the public page (``core.disclosure.photo_path``) serves only
such a path. A replaced or removed photo's file stays, as attachments do (it is no longer
served).
"""

from peewee import IntegrityError

from core.access import is_district_manager
from core.audit import record
from core.db import transaction
from core.errors import PermissionDenied, ValidationError
from core.feeds import events_of_lawyer, publish_changes
from core.i18n import N_
from core.models import LawFirm, Lawyer, User
from core.phones import clean_phone
from core.photos import picture_version, store_picture
from core.text import clean_text

CONTACT_FIELDS = ("phone", "wechat")  # the lawyer's own
MANAGER_FIELDS = ("name", "firm", "licence_no")  # the district's
IN_FEEDS = ("name",)  # what the calendar feeds say of a lawyer (core.feeds)
NAME_MAX = 50
LICENCE_MAX = 30
WECHAT_MAX = 64


# --- who may do what -----------------------------------------------------------------------

def editable_fields(user: User | None, lawyer: Lawyer) -> tuple[str, ...]:
    """The details ``user`` may change (empty: none). The photo goes with the phone."""
    if is_district_manager(user):
        return MANAGER_FIELDS + CONTACT_FIELDS
    if user.role == "lawyer" and user.lawyer_id == lawyer.id:
        return CONTACT_FIELDS
    return ()


def _require_edit(actor: User | None, lawyer: Lawyer) -> tuple[str, ...]:
    fields = editable_fields(actor, lawyer)
    if not fields:
        raise PermissionDenied(N_("Only an administrator, a district coordinator or the lawyer "
                                  "themself may change a lawyer's details."))
    return fields


# --- details -------------------------------------------------------------------------------


def _firm(value) -> LawFirm:
    if isinstance(value, LawFirm):
        return value
    firm = LawFirm.get_or_none(LawFirm.id == value) if isinstance(value, int) else None
    if firm is None:
        raise ValidationError(N_("Choose the law firm."), field="firm")
    return firm


def _wechat(value) -> str:
    text = clean_text(value, "wechat", WECHAT_MAX)
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValidationError(N_("A WeChat ID has no spaces."), field="wechat")
    return text


def _cleaned(lawyer: Lawyer, changes: dict) -> dict:
    """Each field checked, in the form's order, and brought to the form it is kept in."""
    cleaners = {
        "name": lambda v: clean_text(v, "name", NAME_MAX, one_line=True,
                                     required=N_("Enter the lawyer's name.")),
        "firm": _firm,
        "licence_no": lambda v: clean_text(v, "licence_no", LICENCE_MAX, one_line=True,
                                           required=N_("Enter the licence number.")),
        "phone": lambda v: clean_phone(v, field="phone"),
        "wechat": _wechat,
    }
    values = {name: cleaners[name](changes[name]) for name in cleaners if name in changes}
    licence = values.get("licence_no")
    if licence and licence != lawyer.licence_no and Lawyer.select().where(
            (Lawyer.licence_no == licence) & (Lawyer.id != lawyer.id)).exists():
        raise ValidationError(N_("Another lawyer has the licence number %(licence)s."),
                              field="licence_no", licence=licence)
    return values


def _audited(lawyer: Lawyer, name: str):
    return lawyer.firm_id if name == "firm" else getattr(lawyer, name)


def update_details(actor: User | None, lawyer: Lawyer, **changes) -> Lawyer:
    """Change some of ``name``, ``firm`` (a LawFirm or its id), ``licence_no``, ``phone``
    and ``wechat``. A lawyer may change only their own phone and WeChat. Empty phone or
    WeChat: none is disclosed. Nothing is written when a value is refused."""
    unknown = set(changes) - set(MANAGER_FIELDS + CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"unknown lawyer fields {sorted(unknown)}")
    allowed = _require_edit(actor, lawyer)
    if set(changes) - set(allowed):
        raise PermissionDenied(N_("You may change only your own phone, WeChat and photo."))
    values = _cleaned(lawyer, changes)
    before = {name: _audited(lawyer, name) for name in values}
    for name, value in values.items():
        setattr(lawyer, name, value)
    after = {name: _audited(lawyer, name) for name in values}
    changed = [name for name in values if before[name] != after[name]]
    if not changed:
        return lawyer
    try:
        with transaction():
            lawyer.save()
            record(actor, "lawyer.update", obj=lawyer,
                   detail={"before": {n: before[n] for n in changed},
                           "after": {n: after[n] for n in changed}})
            shown = events_of_lawyer(lawyer.id) if set(changed) & set(IN_FEEDS) else []
    except IntegrityError:  # the same licence number saved meanwhile by someone else
        for name in changed:
            setattr(lawyer, name, before[name] if name != "firm" else _firm(before[name]))
        raise ValidationError(N_("Another lawyer has the licence number %(licence)s."),
                              field="licence_no", licence=values.get("licence_no", "")) from None
    publish_changes(shown)
    return lawyer


# --- photo ---------------------------------------------------------------------------------

def set_photo(actor: User | None, lawyer: Lawyer, stream) -> Lawyer:
    """Check, re-encode and store an uploaded photo (``stream``: a binary file object) as
    the lawyer's. The upload itself is never stored (``reencode_photo``); its file name
    plays no part."""
    _require_edit(actor, lawyer)
    stored = store_picture(stream)
    relative = stored.path
    if lawyer.photo == relative:
        return lawyer
    before = lawyer.photo
    with transaction():
        lawyer.photo = relative
        lawyer.save()
        record(actor, "lawyer.photo", obj=lawyer,
               detail={"before": before, "after": relative, "sha256": stored.sha256,
                       "size": stored.size})
    return lawyer


def remove_photo(actor: User | None, lawyer: Lawyer) -> Lawyer:
    """No photo is disclosed any more (removing none changes nothing)."""
    _require_edit(actor, lawyer)
    if not lawyer.photo:
        return lawyer
    before = lawyer.photo
    with transaction():
        lawyer.photo = ""
        lawyer.save()
        record(actor, "lawyer.photo", obj=lawyer, detail={"before": before, "after": ""})
    return lawyer


def photo_version(lawyer: Lawyer) -> str:
    return picture_version(lawyer.photo)
