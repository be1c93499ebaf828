"""Case files (一案一档, DOMAIN 五.2): one file per legal matter, with a number unique per
year ("2026-0001"), its work-log entries and its attachments.

Who may do what: the case's lawyer and the coordinators whose scope holds the case's village
read and change it (open, close, attach); administrators everything; village users nothing.

Corrections (``edit_case``): its author (``core.access.is_record_author``: the case's
lawyer, the coordinators of its village) may change its title, category, opening date and
summary for ``JIEDUI_RECORDS_EDIT_DAYS`` days after it was opened in Jiedui
(``core.access.record_edit_until``); then it is locked. Each change is audited with the
changed fields' values before and after (``case.update``). Closing it and attaching files
stay open to those who work on it.

Reads are audited as changes are, one entry per read: a case file's page (``view_case``,
``case.view``), an attachment's download (``open_attachment``, ``attachment.download``)
and a page of the list (``audit_list``, ``case.list`` with the ids of the files it showed).

Attachments are checked by what they contain, never by their name: PDF, PNG, JPEG, Word
(.docx) and Excel (.xlsx) documents, plain UTF-8 text. They are stored under
``<instance>/uploads/<sha256[:2]>/<sha256>``; the uploaded name is kept for display only.
"""
import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path

from peewee import JOIN, IntegrityError, fn

from core import clock
from core.access import can_manage_village, can_read_case, record_filter, require_record_edit
from core.audit import record
from core.config import get_settings
from core.db import transaction
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from core.models import Attachment, CaseFile, Lawyer, Pairing, User, Village, WorkLog

TITLE_MAX = 200
CATEGORY_MAX = 100
FILENAME_MAX = 150
NUMBER_RETRIES = 5
NOT_FOUND = N_("There is no such case file, or you may not open it.")

# Office documents are zip files: refuse those that would unpack to far more than they
# weigh (zip bombs) or hold too many parts.
ZIP_MAX_ENTRIES = 2000
ZIP_MAX_RATIO = 100
ZIP_MAX_UNPACKED = 200 * 1024 * 1024
# A document may embed another (a spreadsheet in a Word file is a zip in a zip): those are
# checked too, and a zip nested deeper than that is refused.
ZIP_MAX_DEPTH = 2
ZIP_MAGIC = b"PK\x03\x04"

# Text may hold tabs, line and page breaks, but no other control character (binaries do).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")

MIME_PDF = "application/pdf"
MIME_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MIME_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME_TEXT = "text/plain"  # served as text/plain; charset=utf-8 (the web adds the charset)


# --- who may do what ---------------------------------------------------------------------

def case_visible_to(user: User | None):
    """The case files ``user`` may read, with lawyer and village joined, newest first."""
    return (CaseFile.select(CaseFile, Lawyer, Village)
            .join(Lawyer).switch(CaseFile).join(Village, JOIN.LEFT_OUTER)
            .where(record_filter(user, CaseFile))
            .order_by(CaseFile.opened_on.desc(), CaseFile.id.desc()))


def get_case(user: User | None, case_id: int) -> CaseFile:
    """The case, or NotFound when it does not exist or lies outside the user's scope."""
    case = case_visible_to(user).where(CaseFile.id == case_id).first()
    if case is None:
        raise NotFound(NOT_FOUND)
    return case


def view_case(user: User | None, case_id: int, *, address: str = "") -> CaseFile:
    """The case for its page (as ``get_case``), the read audited (``case.view``)."""
    case = get_case(user, case_id)
    record(user, "case.view", obj=case, detail={"number": case.number}, address=address)
    return case


def audit_list(user: User | None, cases, *, address: str = "") -> None:
    """One page of the case-file list was shown: one ``case.list`` entry with the ids of
    the files on it (titles may name the parties); nothing for an empty page."""
    ids = [case.id for case in cases]
    if ids:
        record(user, "case.list", detail={"cases": ids}, address=address)


def _require_change(actor: User | None, case: CaseFile) -> None:
    # whoever may read a case works on it: its lawyer and the coordinators of its village
    if not can_read_case(actor, case):
        raise PermissionDenied(N_("You may not change this case file."))


def _require_open_for(actor: User | None, lawyer: Lawyer, village: Village) -> None:
    if actor is not None and actor.role == "lawyer":
        if actor.lawyer_id != lawyer.id:
            raise PermissionDenied(N_("You may open case files only for yourself."))
    elif not can_manage_village(actor, village):
        raise PermissionDenied(N_("You may not open case files for %(village)s."),
                               village=village.name)
    paired = Pairing.select().where((Pairing.lawyer == lawyer.id)
                                    & (Pairing.village == village.id)).exists()
    if not paired:
        raise ValidationError(N_("%(lawyer)s is not paired with %(village)s."),
                              field="village", lawyer=lawyer.name, village=village.name)


# --- opening and closing -----------------------------------------------------------------

def _next_number(year: int) -> str:
    """The year's next number: "<year>-<nnnn>" (more digits after 9999)."""
    last = (CaseFile.select(CaseFile.number).where(CaseFile.year == year)
            .order_by(fn.LENGTH(CaseFile.number).desc(), CaseFile.number.desc()).first())
    serial = int(last.number.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{year}-{serial:04d}"


def open_case(actor: User | None, *, title: str, lawyer: Lawyer, village: Village,
              category: str = "", opened_on: dt.date | None = None,
              summary: str = "") -> CaseFile:
    """Open a case file numbered within the year it was opened. Two files opened at once
    cannot share a number: the unique index refuses the second, which takes the next."""
    if village is None:
        raise ValidationError(N_("Choose the village of the case."), field="village")
    _require_open_for(actor, lawyer, village)
    title, category = _clean_title(title), _clean_category(category)
    opened_on = opened_on or clock.today()
    if opened_on > clock.today():
        raise ValidationError(N_("A case cannot be opened in the future."), field="opened_on")
    for attempt in range(NUMBER_RETRIES):
        try:
            with transaction():
                case = CaseFile.create(number=_next_number(opened_on.year), year=opened_on.year,
                                       title=title, lawyer=lawyer, village=village,
                                       category=category, opened_on=opened_on,
                                       summary=(summary or "").strip(), created_by=actor,
                                       created_at=clock.now_utc())
                record(actor, "case.open", obj=case, detail={"number": case.number})
            return case
        except IntegrityError:
            if attempt == NUMBER_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _clean_title(title) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError(N_("Give the case a title."), field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError(N_("The title may have at most %(max)s characters."),
                              field="title", max=TITLE_MAX)
    return title


def _clean_category(category) -> str:
    category = (category or "").strip()
    if len(category) > CATEGORY_MAX:
        raise ValidationError(N_("The category may have at most %(max)s characters."),
                              field="category", max=CATEGORY_MAX)
    return category


CASE_EDITABLE = ("title", "category", "opened_on", "summary")


def edit_case(actor: User | None, case: CaseFile, **changes) -> CaseFile:
    """Correct some of ``title``, ``category``, ``opened_on`` and ``summary`` of ``case``:
    its author, until it is locked. The number stays (it names the file on paper too). Each
    changed field is audited before and after (``case.update``); nothing is written when
    a value is refused or nothing changed."""
    unknown = set(changes) - set(CASE_EDITABLE)
    if unknown:
        raise TypeError(f"unknown case-file fields {sorted(unknown)}")
    require_record_edit(actor, case)
    values = {}
    if "title" in changes:
        values["title"] = _clean_title(changes["title"])
    if "category" in changes:
        values["category"] = _clean_category(changes["category"])
    if "summary" in changes:
        values["summary"] = (changes["summary"] or "").strip()
    if "opened_on" in changes:
        opened_on = changes["opened_on"]
        if not isinstance(opened_on, dt.date):
            raise ValidationError(N_("Give the date the case was opened."), field="opened_on")
        if opened_on > clock.today():
            raise ValidationError(N_("A case cannot be opened in the future."),
                                  field="opened_on")
        if opened_on.year != case.year:
            raise ValidationError(N_("The case is numbered in %(year)s: its opening date "
                                     "stays in that year."), field="opened_on", year=case.year)
        if case.closed_on is not None and opened_on > case.closed_on:
            raise ValidationError(N_("A case cannot be closed before it was opened."),
                                  field="opened_on")
        values["opened_on"] = opened_on
    before = {name: getattr(case, name) for name in values}
    changed = [name for name in values if values[name] != before[name]]
    if not changed:
        return case

    def shown(value):
        return value.isoformat() if isinstance(value, dt.date) else value
    with transaction():
        CaseFile.update(**{name: values[name] for name in changed}) \
            .where(CaseFile.id == case.id).execute()
        record(actor, "case.update", obj=case,
               detail={"number": case.number,
                       "before": {name: shown(before[name]) for name in changed},
                       "after": {name: shown(values[name]) for name in changed}})
    for name in changed:
        setattr(case, name, values[name])
    return case


def close_case(actor: User | None, case: CaseFile, *, closed_on: dt.date | None = None
               ) -> CaseFile:
    _require_change(actor, case)
    if case.status == "closed":
        raise ValidationError(N_("This case file is closed already."))
    closed_on = closed_on or clock.today()
    if closed_on < case.opened_on:
        raise ValidationError(N_("A case cannot be closed before it was opened."),
                              field="closed_on")
    if closed_on > clock.today():
        raise ValidationError(N_("A case cannot be closed in the future."), field="closed_on")
    with transaction():
        case.status, case.closed_on = "closed", closed_on
        case.save()
        record(actor, "case.close", obj=case, detail={"number": case.number})
    return case


def case_logs(case: CaseFile):
    return (WorkLog.select().where(WorkLog.case_id == case.id)
            .order_by(WorkLog.occurred_at.desc(), WorkLog.id.desc()))


# --- attachments ---------------------------------------------------------------------------

def clean_filename(filename: str) -> str:
    """The uploaded name, for display only. A name with a folder in it is refused: a
    browser sends only the name, so a path is a crafted request."""
    name = "".join(ch for ch in (filename or "") if ch.isprintable()).strip()
    if "/" in name or "\\" in name or name.startswith("..") or name in ("", "."):
        raise ValidationError(N_("The file name may not contain a folder or a path."),
                              field="file")
    return name[-FILENAME_MAX:]


def require_upload_size(size: int, limit: int | None = None) -> None:
    """``JIEDUI_MAX_UPLOAD_MB``: the web asks before it reads a request this large."""
    limit = get_settings().max_upload_bytes if limit is None else limit
    if size > limit:
        raise ValidationError(N_("The file is larger than %(max)s MB."), field="file",
                              max=f"{limit / 1024 / 1024:g}")


def read_limited(stream, limit: int) -> bytes:
    """At most ``limit`` bytes; a longer file is refused without reading it all."""
    data = stream.read(limit + 1)
    require_upload_size(len(data), limit)
    return data


def require_safe_zip(archive: zipfile.ZipFile, depth: int = 0) -> None:
    """Refuse an Office document (a zip) with too many parts, a part whose name is a path
    out of the archive, or parts that unpack to far more than they weigh (a zip bomb),
    also in the zips it embeds. The sizes are those the archive declares: reading a part
    stops at its declared size, so a part that lies fails its checksum instead of filling
    the memory."""
    entries = archive.infolist()
    if len(entries) > ZIP_MAX_ENTRIES:
        raise ValidationError(N_("The document holds too many parts."), field="file")
    for entry in entries:
        parts = entry.filename.replace("\\", "/").split("/")
        if entry.filename.startswith("/") or ".." in parts or ":" in entry.filename:
            raise ValidationError(N_("The document contains a file with a path that is "
                                     "not allowed."), field="file")
    unpacked = sum(entry.file_size for entry in entries)
    packed = max(1, sum(entry.compress_size for entry in entries))
    if unpacked > ZIP_MAX_UNPACKED or unpacked / packed > ZIP_MAX_RATIO:
        raise ValidationError(N_("The document unpacks to far more than it weighs; it is "
                                 "refused."), field="file")
    for entry in entries:
        inner = _embedded_zip(archive, entry)
        if inner is None:
            continue
        if depth + 1 >= ZIP_MAX_DEPTH:
            raise ValidationError(N_("The document holds archives within archives; it is "
                                     "refused."), field="file")
        with inner:
            require_safe_zip(inner, depth + 1)


def _embedded_zip(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> zipfile.ZipFile | None:
    """The part as a zip when it is one (its size is bounded by the checks above); None
    for any other part, and for a damaged one (testzip reports those)."""
    try:
        with archive.open(entry) as part:
            if part.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
                return None
        return zipfile.ZipFile(io.BytesIO(archive.read(entry)))
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError,
            ValueError, zlib.error):
        return None


def _office_type(data: bytes) -> str | None:
    """DOCX or XLSX mime type of a safe Office zip; None when it is none of them."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError):
        return None
    with archive:
        require_safe_zip(archive)
        entries = archive.infolist()
        names = {entry.filename for entry in entries}
        if "[Content_Types].xml" not in names:
            return None
        try:
            if archive.testzip() is not None:  # bounded by the sizes checked above
                return None
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
            return None
    if "word/document.xml" in names:
        return MIME_DOCX
    if "xl/workbook.xml" in names:
        return MIME_XLSX
    return None


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return not CONTROL_CHARACTERS.search(text)


def sniff_type(data: bytes) -> str:
    """The mime type of an allowed file, read from its content; refused otherwise."""
    if data.startswith(b"%PDF-"):
        return MIME_PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"PK\x03\x04"):
        mime = _office_type(data)
        if mime:
            return mime
    elif _is_text(data):
        return MIME_TEXT
    raise ValidationError(N_("This kind of file is not accepted: upload a PDF, a PNG or "
                             "JPEG picture, a Word (.docx) or Excel (.xlsx) document, or "
                             "plain text."), field="file")


def uploads_dir() -> Path:
    return get_settings().instance / "uploads"


def stored_path(sha256: str) -> Path:
    """Where the content with this hash lives; the hash is ours, never a user's text."""
    if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
        raise NotFound(N_("The file is missing."))
    return uploads_dir() / sha256[:2] / sha256


def _store(data: bytes, sha256: str) -> None:
    store_once(data, stored_path(sha256))


def store_once(data: bytes, path: Path) -> None:
    """Write the content at ``path``, a name made of its hash (so the same content uploaded
    twice is one file), once; via a temporary file and a rename, so a half-written file is
    never seen under its hash. Lawyers' photos are stored this way too (core.lawyers)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def attach_file(actor: User | None, case: CaseFile, filename: str, stream) -> Attachment:
    """Check and store an uploaded file (``stream``: a binary file object) for ``case``."""
    _require_change(actor, case)
    name = clean_filename(filename)
    data = read_limited(stream, get_settings().max_upload_bytes)
    if not data:
        raise ValidationError(N_("The file is empty."), field="file")
    mime = sniff_type(data)
    sha256 = hashlib.sha256(data).hexdigest()
    _store(data, sha256)
    with transaction():
        attachment = Attachment.create(case=case, filename=name, sha256=sha256,
                                       size=len(data), mime=mime, uploaded_by=actor)
        record(actor, "case.attach", obj=case,
               detail={"attachment": attachment.id, "sha256": sha256, "size": len(data)})
    return attachment


def open_attachment(user: User | None, attachment: Attachment, *,
                    address: str = "") -> tuple[Path, str, str]:
    """(path, mime type, display name) of an attachment of a case ``user`` may read, the
    download audited (``attachment.download``); NotFound otherwise, as for a case that
    does not exist."""
    if not can_read_case(user, attachment.case):
        raise NotFound(NOT_FOUND)
    path = stored_path(attachment.sha256)
    if not path.is_file():
        raise NotFound(N_("The file is missing."))
    record(user, "attachment.download", obj=attachment,
           detail={"case": attachment.case_id, "size": attachment.size}, address=address)
    return path, attachment.mime, attachment.filename
