"""Search, sorting and pagination for every list, so all lists behave alike.

A list's URL says everything it shows (``q``, its filters, ``sort`` and ``dir``, ``page``),
so a sorted, filtered view can be bookmarked, paged and exported: ``Page.args`` gives the
arguments that show it again, for the pager, the column headers and the export link."""
from dataclasses import dataclass, field

from flask import current_app, request

from core.access import town_filter
from core.models import Town, User


@dataclass(frozen=True)
class Sort:
    """The order a list is shown in: one key of its ``Sorting`` and the direction."""
    key: str
    descending: bool = False

    def args(self) -> dict:
        return {"sort": self.key, "dir": "desc" if self.descending else None}


class Sorting:
    """The keys a list may be sorted by, each with what it sorts on: for rows from SQL a
    peewee column or expression (or a tuple of them), for rows a core function computed a
    function of the row. Only these keys are read from the URL (``sort``; ``dir=desc`` for
    descending): an unknown key shows the list in its usual order, and nothing of the URL
    ever reaches the SQL but the choice among these columns. Empty values (NULL, None) come
    last in both directions; ``tiebreak`` (SQL) keeps the order of equal rows stable."""

    def __init__(self, columns: dict, *, tiebreak: tuple = ()):
        self.columns = columns
        self.tiebreak = tiebreak

    def requested(self) -> Sort | None:
        """The sort the URL asks for, None when it asks for none (or for an unknown key)."""
        key = query_text("sort", 30)
        if key not in self.columns:
            return None
        return Sort(key, request.args.get("dir") == "desc")

    def order(self, query, sort: Sort | None, *usual):
        """``query`` ordered by ``sort``, else by the ``usual`` order."""
        if sort is None:
            return query.order_by(*usual)
        columns = self.columns[sort.key]
        columns = columns if isinstance(columns, tuple) else (columns,)
        return query.order_by(*(column.desc(nulls="LAST") if sort.descending
                                else column.asc(nulls="LAST") for column in columns),
                              *self.tiebreak)

    def sorted(self, rows: list, sort: Sort | None) -> list:
        """Computed ``rows`` in the order of ``sort`` (stable: equal rows keep their usual
        order), else as they are."""
        if sort is None:
            return rows
        value = self.columns[sort.key]
        present = [row for row in rows if value(row) is not None]
        return (sorted(present, key=value, reverse=sort.descending)
                + [row for row in rows if value(row) is None])


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    total: int
    query: str
    sort: Sort | None = None
    filters: dict = field(default_factory=dict)
    more: bool = False  # more rows match than ``total``, which was counted only so far

    def args(self, **changes) -> dict:
        """The query-string arguments that show this list again (search, filters, sort,
        page), with ``changes``; an empty value drops an argument."""
        return list_args(self.query, self.filters, self.sort, **changes)

    def sort_args(self, key: str) -> dict:
        """The arguments of a column header's link: sorted by ``key``, ascending, or
        descending when it is so sorted already; from the first page."""
        flip = self.sort is not None and self.sort.key == key and not self.sort.descending
        return self.args(sort=key, dir="desc" if flip else None, page=None)

    def aria_sort(self, key: str) -> str | None:
        """``aria-sort`` of the column of ``key``: ascending, descending, or None."""
        if self.sort is None or self.sort.key != key:
            return None
        return "descending" if self.sort.descending else "ascending"

    @property
    def pages(self) -> int:
        if self.more:  # at least one page after this one; how many was not counted
            return max(self.number + 1, -(-self.total // self.per_page))
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def list_args(query: str, filters: dict, sort: Sort | None, /, **changes) -> dict:
    """The query-string arguments that show a list: its search, filters and sort (read
    and cleaned already), with ``changes``; an empty value drops an argument."""
    args = {"q": query, **filters, **(sort.args() if sort else {}), **changes}
    return {name: value for name, value in args.items()
            if value is not None and value != "" and value is not False}


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


def paginate(query, *, per_page: int | None = None, sort: Sort | None = None,
             filters: dict | None = None, count_up_to: int | None = None,
             rows_of=None) -> Page:
    """One page of a peewee ``query`` (already filtered and ordered), or of a list of rows
    a core function computed. ``sort`` and ``filters`` (query-string arguments) are what
    the page's links keep (``Page.args``). With ``count_up_to`` a query's rows are counted
    only that far (or to the page asked for): a list of a million rows says "more than
    10,000" instead of counting them all on every request (``Page.more``). ``rows_of``
    turns the page's query (ordered, limited) into its rows when reading them otherwise
    pays (``web.tasks``: the page's ids sorted first, then only their rows read)."""
    per_page = per_page or current_app.config["PER_PAGE"]
    more = False
    if isinstance(query, list):
        total = len(query)
    elif count_up_to:
        bound = max(count_up_to, page_number() * per_page)
        total = query.limit(bound + 1).count()  # the count stops at the bound
        more, total = total > bound, min(total, bound)
    else:
        total = query.count()
    number = min(page_number(), max(1, -(-total // per_page))) if not more else page_number()
    if isinstance(query, list):
        items = query[(number - 1) * per_page:number * per_page]
    else:
        items = list((rows_of or list)(query.paginate(number, per_page)))
    return Page(items=items, number=number, per_page=per_page, total=total, query=search_term(),
                sort=sort, filters=dict(filters or {}), more=more)


# --- the town filter of a list ------------------------------------------------------------

# a scope of more towns than this (a province's 1,300) filters by a typed town (a code or
# a name, with suggestions from ``web.tasks.suggest_towns``) instead of a select of every
# town; a district's 12 keep it
TOWN_SELECT_MAX = 36


def town_choices(user: User) -> list[tuple[str, str]] | None:
    """The towns of ``user``'s scope as (code, name) for a list's town select, or None
    when there are more than ``TOWN_SELECT_MAX``: the filter is then typed
    (``web.tasks.suggest_towns``). Every list with a town filter uses it."""
    towns = list(Town.select(Town.code, Town.name).where(town_filter(user))
                 .order_by(Town.code).limit(TOWN_SELECT_MAX + 1).tuples())
    return towns if len(towns) <= TOWN_SELECT_MAX else None


def town_matching(value: str):
    """The town a filter names: its code (a select, a suggestion, a link) or its whole
    name typed in the field."""
    return (Town.code == value) | (Town.name == value)


def town_code_for(value: str) -> str:
    """The code of the town a filter names (``town_matching``), for lists that filter
    their rows by code; what names no town stays as typed and matches nothing."""
    if not value:
        return value
    return Town.select(Town.code).where(town_matching(value)).scalar() or value
