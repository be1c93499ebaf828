"""Photos people upload (a lawyer's portrait, the photos of a work-log entry): checked by
what they contain, re-encoded and stored so that nothing of the upload but the picture is
kept.

A photo is a JPEG, PNG or WebP picture, recognised by its content (``sniff_photo``; never by
its name, which is not kept), of at most ``photo_limit()`` bytes. It is re-encoded
(``reencode_photo``): turned upright, no EXIF or GPS, no other metadata, at most
``PHOTO_LONGEST_SIDE`` pixels; a picture of too many pixels is refused from its header,
before it is decoded (a decompression bomb). Only the re-encoded JPEG is stored, like the
case files' attachments (``core.cases.store_once``), under
``<instance>/uploads/photos/<sha256[:2]>/<sha256>.jpg`` (``store_photo``), so the backup
carries it; the caller keeps the path relative to the instance folder and serves it only
through a view that checks who may see it. Other kinds of picture keep their own folder
(a WeChat group's join QR code, the photos of a sign-in) through ``store_picture``.
"""
import hashlib
import io
import struct
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from core.cases import read_limited, store_once, uploads_dir
from core.config import get_settings
from core.errors import ValidationError
from core.i18n import N_

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


def reencode_photo(data: bytes, *, longest: int = PHOTO_LONGEST_SIDE) -> bytes:
    """The picture as a fresh JPEG: turned upright, at most ``longest`` pixels on its
    longest side, and nothing else of the upload — no EXIF (a phone's GPS position of
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
            upright.thumbnail((longest, longest))
            out = io.BytesIO()
            upright.save(out, "JPEG", quality=85, optimize=True)
    except Image.DecompressionBombError as exc:  # Pillow's own limit, met while opening
        raise too_large from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(NOT_A_PHOTO, field="file") from exc
    return out.getvalue()


def read_photo(stream, *, longest: int = PHOTO_LONGEST_SIDE) -> bytes:
    """An uploaded photo (``stream``: a binary file object) read within the limit, checked
    and re-encoded: the JPEG to store."""
    data = read_limited(stream, photo_limit())
    if not data:
        raise ValidationError(N_("The file is empty."), field="file")
    sniff_photo(data)
    return reencode_photo(data, longest=longest)


def store_photo(data: bytes, folder: str = PHOTO_FOLDER) -> tuple[str, str]:
    """Store a re-encoded photo once under ``<instance>/uploads/<folder>/``; (its path
    relative to the instance folder, its SHA-256)."""
    sha256 = hashlib.sha256(data).hexdigest()
    path = uploads_dir() / folder / sha256[:2] / f"{sha256}.jpg"
    store_once(data, path)
    return path.relative_to(get_settings().instance).as_posix(), sha256


@dataclass(frozen=True)
class StoredPicture:
    path: str  # relative to the instance folder, as the models keep it
    sha256: str
    size: int


def store_picture(stream, folder: str = PHOTO_FOLDER,
                  longest_side: int = PHOTO_LONGEST_SIDE) -> StoredPicture:
    """Read, check and re-encode an uploaded picture (``read_photo``) and store only that, by
    its hash, under ``<instance>/uploads/<folder>/`` (a WeChat group's join QR code is stored
    this way too, ``core.groups``)."""
    data = read_photo(stream, longest=longest_side)
    path, sha256 = store_photo(data, folder)
    return StoredPicture(path=path, sha256=sha256, size=len(data))


def stored_picture(relative: str, instance: Path | None = None) -> Path | None:
    """The file of a stored picture (a path the database holds), if that path names an image
    inside the instance folder that exists; None otherwise (no path ever leaves the
    folder)."""
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


def picture_version(path: str) -> str:
    """Changes with a stored picture: a query parameter, so a browser fetches a new one at
    once."""
    return hashlib.sha256(path.encode()).hexdigest()[:12] if path else ""


def picture_size(path: Path) -> tuple[int, int] | None:
    """A stored picture's width and height in pixels, read from its header (None if it
    cannot be read): a page gives an <img> its size, so nothing moves when it arrives."""
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def pixel_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a stored (re-encoded) photo."""
    with Image.open(io.BytesIO(data)) as image:
        return image.size
