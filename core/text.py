"""Text people type into forms, checked one way everywhere (``clean_text``).

Trimmed; on one line (``one_line``) inner runs of spaces and line breaks become one space;
``required`` is the message for an empty value; at most ``limit`` characters; control
characters other than line breaks and tabs are refused (PostgreSQL refuses NUL outright,
and none belongs in a name or a note). ``clean_email`` checks an e-mail address the same way.
"""
import re
import unicodedata

from core.errors import ValidationError
from core.i18n import N_

TOO_LONG = N_("At most %(limit)s characters.")
CONTROL = N_("This text holds a control character; type it again.")
LINE_CONTROLS = "\n\r\t"


def clean_text(value, field: str, limit: int, *, required: str | None = None,
               one_line: bool = False, too_long: str = TOO_LONG) -> str:
    """The text as it is kept, or a ValidationError on ``field``."""
    text = str(value or "")
    text = " ".join(text.split()) if one_line else text.strip()
    if required and not text:
        raise ValidationError(required, field=field)
    if len(text) > limit:
        raise ValidationError(too_long, field=field, limit=limit)
    if any(unicodedata.category(ch) == "Cc" and ch not in LINE_CONTROLS for ch in text):
        raise ValidationError(CONTROL, field=field)
    return text


# An e-mail address as people type it: one mailbox, no name or angle brackets, no comma
# (a list would send the copies elsewhere too). ASCII before the @; the domain may be
# internationalised (例子.中国), each label letters, digits and inner hyphens, a top-level
# label of letters (or its punycode, xn--…).
_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                    r"@(?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})",
                    re.IGNORECASE)
NOT_AN_EMAIL = N_("%(value)s is not an e-mail address; write it as name@example.org.")
MAX_EMAIL = 254  # RFC 5321: the longest address a mail server must accept


def clean_email(value, field: str = "email") -> str:
    """An e-mail address as it is kept (trimmed), "" for none, or a ValidationError on
    ``field``: one plausible address, at most 254 characters, 64 before the @."""
    text = clean_text(value, field, MAX_EMAIL, one_line=True)
    if text and (not _EMAIL.fullmatch(text) or len(text.split("@", 1)[0]) > 64
                 or not _idna(text.split("@", 1)[1])):
        raise ValidationError(NOT_AN_EMAIL, field=field, value=text)
    return text


def _idna(domain: str) -> bool:
    """Can the domain be written in ASCII for a mail server (core.notify sends it so)?"""
    try:
        domain.encode("idna")
    except UnicodeError:
        return False
    return True


# A duration as people type it, once: hours ("1.5", "2 小时", "1.5h"), minutes ("90 分钟",
# "90min"), hours and minutes ("1小时30分", "1h30m", "1:30"), or from–to on the clock
# ("9:00-10:30"). A bare number is hours: a lawyer says "两个小时", and 90 hours is refused
# with a hint to write minutes.
_HOURS = r"(?:小时|个小时|钟头|时|h|hr|hrs|hour|hours)"
_MINUTES = r"(?:分钟|分|min|mins|minute|minutes|m)"
_NUMBER = r"(\d+(?:\.\d+)?)"
_DURATION_FORMS = (
    ("hours", re.compile(rf"{_NUMBER}\s*{_HOURS}?", re.IGNORECASE)),
    ("minutes", re.compile(rf"{_NUMBER}\s*{_MINUTES}", re.IGNORECASE)),
    ("both", re.compile(rf"(\d+)\s*{_HOURS}\s*(\d+)\s*{_MINUTES}?", re.IGNORECASE)),
    ("clock", re.compile(r"(\d{1,2}):(\d{2})")),
    ("range", re.compile(r"(\d{1,2}):(\d{2})\s*(?:-|~|～|—|–|至|到)\s*(\d{1,2}):(\d{2})")),
)
NOT_A_DURATION = N_("Write the duration in hours (1.5), in minutes (90 分钟) or from–to "
                    "(9:00-10:30).")
DURATION_TOO_LONG = N_("A service lasts at most %(hours)s hours; for minutes, write "
                       "\"%(value)s 分钟\".")
MAX_DURATION_MINUTES = 24 * 60


def parse_duration(value, field: str = "duration") -> int | None:
    """Whole minutes of a duration typed in one field (the forms above), None when empty;
    a ValidationError on ``field`` for anything else, or for more than 24 hours."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip().replace("：", ":")
    if not text:
        return None
    for form, pattern in _DURATION_FORMS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        if form == "hours":
            minutes = round(float(match[1]) * 60)
        elif form == "minutes":
            minutes = round(float(match[1]))
        elif form == "both":
            minutes = int(match[1]) * 60 + int(match[2])
        elif form == "clock":
            minutes = int(match[1]) * 60 + int(match[2])
        else:
            start = int(match[1]) * 60 + int(match[2])
            end = int(match[3]) * 60 + int(match[4])
            if max(int(match[1]), int(match[3])) > 23 or max(int(match[2]), int(match[4])) > 59 \
                    or end <= start:
                raise ValidationError(NOT_A_DURATION, field=field)
            minutes = end - start
        if minutes > MAX_DURATION_MINUTES:
            raise ValidationError(DURATION_TOO_LONG, field=field,
                                  hours=MAX_DURATION_MINUTES // 60, value=match[1])
        return minutes
    raise ValidationError(NOT_A_DURATION, field=field)


def duration_text(minutes: int | None) -> str:
    """Minutes as the duration field shows them: hours with at most one decimal when they
    are whole tenths of an hour ("1.5"), else "<n> 分钟"; "" for none."""
    if minutes is None:
        return ""
    if minutes % 6 == 0:
        return f"{minutes / 60:g}"
    return f"{minutes} 分钟"
