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
