"""Phone numbers, as people in the district write them: one rule for every phone number a
user types or imports (a lawyer's details, the importer's 律师电话 column).

Accepted: a mobile number (13805710001, also +86 138 0571 0001), a landline with its area
code (0571-88886666, (021) 5712 3456), a 400/800 service number, each optionally with an
extension (0571-88886666转801, 0571-88886666-801, ext 801, #801). Spaces, hyphens and
brackets may group the digits; full-width digits and signs (typed with a Chinese input
method) are read as ASCII.
The number is kept as written (trimmed), so "0571-88886666" stays readable.
"""
import re

from core.errors import ValidationError
from core.i18n import N_

PHONE_MAX = 40
FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－（）＃　", "0123456789+-()# ")
_GROUPING = re.compile(r"[ \-()]")
_EXTENSION = re.compile(r"(?:转|ext\.?|x|#)\s*([0-9]{1,6})$", re.IGNORECASE)
_DASH_EXTENSION = re.compile(r"-[0-9]{1,6}$")
_COUNTRY = re.compile(r"^(?:\+86|0086)")
_NUMBER = re.compile(r"1[3-9][0-9]{9}"  # mobile
                     r"|0[1-9][0-9]{8,10}"  # area code (2-3 digits after the 0) + number
                     r"|[48]00[0-9]{7}")  # 400/800 service numbers
INVALID = N_("%(value)s is not a phone number: write a mobile number such as 13805710001 "
             "or a landline with its area code such as 0571-88886666.")


def clean_phone(text: str | None, field: str = "phone") -> str:
    """The phone number as it is kept ("" for none); ValidationError (on ``field``) for
    anything that is not a phone number."""
    value = " ".join((text or "").translate(FULL_WIDTH).split())
    if not value:
        return ""
    if len(value) > PHONE_MAX or not _is_phone(value):
        raise ValidationError(INVALID, field=field, value=value[:PHONE_MAX])
    return value


def _is_phone(value: str) -> bool:
    number = _EXTENSION.sub("", value).strip()
    if _digits_of(number) is None and _DASH_EXTENSION.search(number):
        number = _DASH_EXTENSION.sub("", number)  # 0571-88886666-801
    return _digits_of(number) is not None


def _digits_of(number: str) -> str | None:
    """The number's digits (without +86) when they make a phone number, else None."""
    if not re.fullmatch(r"\+?[0-9 \-()]+", number):
        return None
    digits = _GROUPING.sub("", number)
    digits = _COUNTRY.sub("", digits)
    return digits if _NUMBER.fullmatch(digits) else None


def _number_and_extension(text: str) -> tuple[str | None, str]:
    """A kept number's digits (None if they make no phone number) and its extension."""
    value = " ".join((text or "").translate(FULL_WIDTH).split())
    extension = ""
    match = _EXTENSION.search(value)
    if match:
        extension, value = match.group(1), value[:match.start()].strip()
    digits = _digits_of(value)
    if digits is None and _DASH_EXTENSION.search(value):
        extension = value[value.rindex("-") + 1:]
        digits = _digits_of(value[:value.rindex("-")])
    return digits, extension


def dial_uri(text: str) -> str:
    """The ``tel:`` address that dials a kept number from a phone: its digits (without
    +86), and an extension after a pause (``tel:057188886666,801``); "" for no number."""
    digits, extension = _number_and_extension(text)
    if digits is None:
        return ""
    return f"tel:{digits}" + (f",{extension}" if extension else "")


def readable(text: str) -> str:
    """A kept number as it is easiest to read aloud and type: a mobile number written as
    one block of 11 digits is grouped 3-4-4 (131 9031 9243); any other stays as written."""
    digits, extension = _number_and_extension(text)
    value = " ".join((text or "").split())
    if digits and not extension and len(digits) == 11 and digits[0] == "1" and value.isdigit():
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return value


def mask_phone(phone: str) -> str:
    """A phone number as a list shows it to those who need not call it: its first three
    and last four digits, the rest ``*`` (13805710001 → 138****0001; 0571-88886666 →
    057*****6666). A short number is all stars but its last two digits."""
    digits = [ch for ch in (phone or "") if ch.isdigit()]
    if not digits:
        return ""
    if len(digits) < 8:
        return "*" * max(len(digits) - 2, 1) + "".join(digits[-2:])
    return "".join(digits[:3]) + "*" * (len(digits) - 7) + "".join(digits[-4:])
