"""A lawyer's details as disclosed to residents (信息公开, DOMAIN.md 五.6/五.7): name, law
firm, licence number, phone, WeChat and photo.

Who may change what: an administrator or a district coordinator (lawyers serve the whole
district, ``core.access.is_district_manager``) every detail; the lawyer themself their phone,
WeChat and photo. Town coordinators read lawyers but change nothing. Every change is audited
with the values before and after. The private calendar feeds name the lawyer (their own
feed's name, each event's lawyer in the coordinators' feeds) but show no lawyer's phone: a new
name republishes the feeds of the lawyer's events once committed (``core.feeds``).

Photos are JPEG, PNG or WebP pictures, recognised by their content (never by their name, which
is not kept), at most ``photo_limit()`` bytes. They are re-encoded (``reencode_photo``: no
EXIF or GPS, at most ``PHOTO_LONGEST_SIDE`` pixels, bombs refused before decoding) and only
the re-encoded JPEG is stored, like the case files' attachments (``core.cases.store_once``):
``<instance>/uploads/photos/<sha256[:2]>/<sha256>.jpg``, so the backup carries them. ``Lawyer.photo`` holds that path relative to the instance folder; the
public page (``core.disclosure.photo_path``) serves only such a path. A replaced or removed
photo's file stays, as attachments do (it is no longer served).
"""
import hashlib
import io
import struct
from dataclasses import dataclass
from pathlib import Path

from peewee import IntegrityError
from PIL import Image, ImageOps, UnidentifiedImageError

from core.access import is_district_manager
from core.audit import record
from core.cases import read_limited, store_once, uploads_dir
from core.config import get_settings
from core.db import transaction
from core.errors import PermissionDenied, ValidationError
from core.feeds import events_of_lawyer, publish_changes
from core.i18n import N_
from core.models import LawFirm, Lawyer, User
from core.phones import clean_phone
from core.text import clean_text

CONTACT_FIELDS = ("phone", "wechat")  # the lawyer's own
MANAGER_FIELDS = ("name", "firm", "licence_no")  # the district's
IN_FEEDS = ("name",)  # what the calendar feeds say of a lawyer (core.feeds)
NAME_MAX = 50
LICENCE_MAX = 30
WECHAT_MAX = 64
PHOTO_MAX_BYTES = 5 * 1024 * 1024  # a phone camera's picture; JIEDUI_MAX_UPLOAD_MB if smaller
PHOTO_FOLDER = "photos"  # under the uploads folder
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
MAX_SIDE = 20000  # pixels: a header claiming more is not a photo
PHOTO_MAX_PIXELS = 40_000_000  # a 40-megapixel camera; more is refused before decoding
PHOTO_LONGEST_SIDE = 1200  # as stored and published: enough for a page and a printed card
PUBLIC_PHOTO_SIDE = 320  # as residents load it (core.disclosure.public_photo)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")  # raster only: an SVG can carry script
NOT_A_PHOTO = N_("This file is not a photo: upload a JPEG, PNG or WebP picture.")
TOO_LARGE = N_("This picture has too many pixels; a photo of at most %(pixels)s million "
               "pixels will do.")


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

def photo_limit() -> int:
    return min(PHOTO_MAX_BYTES, get_settings().max_upload_bytes)


def _png(data: bytes) -> bool:
    """The signature, then the IHDR chunk with a plausible size."""
    if not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR" or len(data) < 33:
        return False
    width, height = struct.unpack(">II", data[16:24])
    return 0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE


def _jpeg(data: bytes) -> bool:
    """Start of image, then marker segments up to a frame header with a plausible size."""
    if not data.startswith(b"\xff\xd8\xff"):
        return False
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return False
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0xD9, 0xDA):  # another image start, the end or the scan: no frame
            return False
        (length,) = struct.unpack(">H", data[position + 2:position + 4])
        if length < 2:
            return False
        if marker in JPEG_FRAMES:
            if position + 9 > len(data):
                return False
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return 0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE
        position += 2 + length
    return False


def _webp(data: bytes) -> bool:
    return (data[:4] == b"RIFF" and data[8:12] == b"WEBP"
            and data[12:16] in (b"VP8 ", b"VP8L", b"VP8X"))


def sniff_photo(data: bytes) -> str:
    """The suffix (".jpg", ".png", ".webp") of a picture, read from its content; refused
    otherwise."""
    for suffix, looks_like in ((".jpg", _jpeg), (".png", _png), (".webp", _webp)):
        if looks_like(data):
            return suffix
    raise ValidationError(NOT_A_PHOTO, field="file")


def reencode_photo(data: bytes, longest_side: int = PHOTO_LONGEST_SIDE) -> bytes:
    """The picture as a fresh JPEG: turned upright, at most ``longest_side`` pixels
    on its longest side, and nothing else of the upload — no EXIF (a phone's GPS position of
    where it was taken, often the lawyer's home), no other metadata, no trailing bytes. A
    picture of more than ``PHOTO_MAX_PIXELS`` is refused from its header, before it is
    decoded (a 20,000 × 20,000 PNG is 1.6 GB once decoded)."""
    too_large = ValidationError(TOO_LARGE, field="file", pixels=PHOTO_MAX_PIXELS // 1_000_000)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise too_large
            upright = ImageOps.exif_transpose(image)
            if upright.mode in ("RGBA", "LA", "P"):  # transparency: on white, as printed
                upright = upright.convert("RGBA")
                background = Image.new("RGB", upright.size, "white")
                background.paste(upright, mask=upright.getchannel("A"))
                upright = background
            upright = upright.convert("RGB")
            upright.thumbnail((longest_side, longest_side))
            out = io.BytesIO()
            upright.save(out, "JPEG", quality=85, optimize=True)
    except Image.DecompressionBombError as exc:  # Pillow's own limit, met while opening
        raise too_large from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(NOT_A_PHOTO, field="file") from exc
    return out.getvalue()


@dataclass(frozen=True)
class StoredPicture:
    path: str  # relative to the instance folder, as the models keep it
    sha256: str
    size: int


def store_picture(stream, folder: str = PHOTO_FOLDER,
                  longest_side: int = PHOTO_LONGEST_SIDE) -> StoredPicture:
    """Read an uploaded picture (``stream``: a binary file object) of at most
    ``photo_limit()`` bytes, check it is one (``sniff_photo``), re-encode it
    (``reencode_photo``: no metadata) and store only that, by its hash, under
    ``<instance>/uploads/<folder>/``. A WeChat group's join QR code is stored this way too
    (``core.groups``)."""
    data = read_limited(stream, photo_limit())
    if not data:
        raise ValidationError(N_("The file is empty."), field="file")
    sniff_photo(data)
    data = reencode_photo(data, longest_side)
    sha256 = hashlib.sha256(data).hexdigest()
    path = uploads_dir() / folder / sha256[:2] / f"{sha256}.jpg"
    store_once(data, path)
    return StoredPicture(path=path.relative_to(get_settings().instance).as_posix(),
                         sha256=sha256, size=len(data))


def stored_picture(relative: str, instance: Path | None = None) -> Path | None:
    """The file of a stored picture (``StoredPicture.path``), if that path names an image
    inside the instance folder that exists; None otherwise (no path a user controls ever
    leaves the folder)."""
    if not relative:
        return None
    instance = (instance or get_settings().instance).resolve()
    path = (instance / relative).resolve()
    if not path.is_relative_to(instance) or path.suffix.lower() not in PHOTO_SUFFIXES:
        return None
    return path if path.is_file() else None


def scaled_picture(path: Path, longest_side: int = PUBLIC_PHOTO_SIDE) -> Path:
    """A stored picture at most ``longest_side`` pixels on its longest side: a copy made
    once beside it (``<hash>-<side>.jpg``) and kept, or the picture itself when it is no
    larger (or cannot be read). The public page shows the photo 72 × 96 px and the card
    20 × 26 mm: a resident's phone loads a tenth of the stored photo."""
    small = path.with_name(f"{path.stem}-{longest_side}.jpg")
    if small.is_file():
        return small
    try:
        with Image.open(path) as image:
            if max(image.size) <= longest_side:
                return path
            image = image.convert("RGB")
            image.thumbnail((longest_side, longest_side))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80, optimize=True)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return path
    store_once(out.getvalue(), small)
    return small


def picture_size(path: Path) -> tuple[int, int] | None:
    """A stored picture's width and height in pixels, read from its header (None if it
    cannot be read): a page gives an <img> its size, so nothing moves when it arrives."""
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError):
        return None


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


def picture_version(path: str) -> str:
    """Changes with a stored picture: a query parameter, so a browser fetches a new one at
    once."""
    return hashlib.sha256(path.encode()).hexdigest()[:12] if path else ""


def photo_version(lawyer: Lawyer) -> str:
    return picture_version(lawyer.photo)
