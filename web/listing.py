"""Search and pagination for every list, so all lists behave alike."""
from dataclasses import dataclass

from flask import current_app, request


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    total: int
    query: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def query_text(name: str, max_length: int = 50) -> str:
    """A text parameter of the query string, trimmed, bounded and without control
    characters (PostgreSQL refuses a NUL in a string): bad input never gives an error."""
    value = "".join(ch for ch in request.args.get(name) or "" if ch.isprintable())
    return value.strip()[:max_length]


# Ids are PostgreSQL serials; SQLite refuses any number beyond 64 bits (OverflowError).
MAX_ID = 2 ** 31 - 1


def whole_number(text, low: int = 0, high: int = MAX_ID) -> int | None:
    """``text`` as a whole number from ``low`` to ``high``, else None. ASCII digits only:
    "²" and "１２" pass ``str.isdigit()``, yet ``int("²")`` fails and no link sends them."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)):
        return None
    number = int(text)
    return number if low <= number <= high else None


def query_number(name: str, low: int = 0, high: int = MAX_ID) -> int | None:
    """A whole-number parameter of the query string; None when absent or bad."""
    return whole_number(request.args.get(name), low, high)


def search_term(max_length: int = 50) -> str:
    """The ``q`` parameter, trimmed and bounded: bad input gives an empty search, never an error."""
    return query_text("q", max_length)


def page_number() -> int:
    return query_number("page", 1, 99_999) or 1


def paginate(query, *, per_page: int | None = None) -> Page:
    """One page of a peewee ``query`` (already filtered and ordered), or of a list of rows
    a core function computed."""
    per_page = per_page or current_app.config["PER_PAGE"]
    total = len(query) if isinstance(query, list) else query.count()
    number = min(page_number(), max(1, -(-total // per_page)))
    if isinstance(query, list):
        items = query[(number - 1) * per_page:number * per_page]
    else:
        items = list(query.paginate(number, per_page))
    return Page(items=items, number=number, per_page=per_page, total=total, query=search_term())

