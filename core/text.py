"""Text people type into forms, checked one way everywhere (``clean_text``).

Trimmed; on one line (``one_line``) inner runs of spaces and line breaks become one space;
``required`` is the message for an empty value; at most ``limit`` characters; control
characters other than line breaks and tabs are refused (PostgreSQL refuses NUL outright,
and none belongs in a name or a note).
"""
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
