"""Shared pieces of the fuzz tests: hypothesis settings, nasty values, a fingerprint of the
database and of the uploads folder, and the app's routes with a URL for each.

The routes come from ``app.url_map``, so a route added tomorrow is fuzzed too: its URL is
taken from the access table (tests/test_access.py) when it has a row, else built from the
rule with plausible arguments.
"""
import hashlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from core.models import ALL_MODELS

# Reproducible in CI and bounded in time: every fuzz test names its own max_examples.
FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.filter_too_much])

# Values that have broken web apps before: out-of-range numbers and dates, unicode,
# half percent-escapes, paths, URLs to other hosts, control characters.
NASTY = ("", " ", "-1", "0", "1", "00", "+1", "1.5", "1e309", "nan", "inf", "-inf",
         "99999999999999999999", str(2 ** 63), str(-2 ** 63 - 1), "0x10", "１２",
         "2026-02-30", "2026-13-01", "0000-01-01", "9999-12-31", "10000-01-01", "-2026-01-01",
         "2026", "12", "13", "2026-W60", "2026-03-10T25:61", "24:00", "99:99",
         "%", "%00", "%zz", "%E4%B8", "%%", "\x00", "a\x00b", "\r\n", "\t", "\u202e", "\ufeff",
         "\ud7ff", "😀" * 3, "东湖镇", "T1", "T1V1", "T9V9", "open", "closed", "done",
         "../../etc/passwd", "//evil.example/x", "http://evil.example/", "javascript:alert(1)",
         "/\\evil.example", "<script>alert(1)</script>", "' OR 1=1 --", "a" * 2000,
         "true", "false", "None", "null", "[]", "{}")

# Query keys the views read (grep request.args / query_text), plus a few they might.
QUERY_KEYS = ("page", "q", "year", "month", "week", "day", "date", "town", "village",
              "lawyer", "status", "next", "mode", "period", "program", "task", "task_type",
              "target", "show", "view", "compact", "overdue", "unpaired", "work_log", "kind",
              "lang", "from", "to", "start", "end")

nasty_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str),
    st.dates().map(lambda d: d.isoformat()),
)


def header_text(max_size: int = 60):
    """A header value as a WSGI server hands it over: latin-1 text, no line breaks
    (a real server refuses those); UTF-8 arrives as mojibake."""
    return st.one_of(
        st.sampled_from(("true", "false", "", "1", "0", "null", "undefined")),
        st.text(max_size=max_size).map(lambda s: s.encode("utf-8").decode("latin-1")),
    ).map(lambda s: s.replace("\r", "").replace("\n", ""))


# --- what the database and the uploads folder hold ------------------------------------------

def fingerprint(exclude=(), only: dict | None = None) -> dict:
    """Row count and a hash of every row, per table; equal fingerprints mean nothing was
    written (not only no new rows: no changed row either). ``only`` maps a model to an SQL
    condition on the rows that count. Plain SQL: a tenth of the time of peewee models,
    which matters at two fingerprints per fuzzed request."""
    from core.db import db
    result = {}
    for model in ALL_MODELS:
        if model in exclude:
            continue
        where = f" WHERE {only[model]}" if only and model in only else ""
        rows = db.execute_sql(f'SELECT * FROM "{model._meta.table_name}"{where} '
                              "ORDER BY 1").fetchall()
        result[model.__name__] = (len(rows), hashlib.sha256(repr(
            [tuple(map(_plain, row)) for row in rows]).encode()).hexdigest())
    return result


def _plain(value):
    """A column's value as its content: PostgreSQL hands ``bytea`` over as a memoryview,
    whose repr is its memory address (a new one on every read)."""
    return bytes(value) if isinstance(value, memoryview) else value


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


def files_under(folder: Path) -> set[str]:
    """Every file (hidden ones too: a half-written temporary file counts) under ``folder``."""
    if not folder.exists():
        return set()
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


# --- the app's routes -------------------------------------------------------------------------

def _plausible_arguments(rule, district) -> dict:
    """Arguments for a rule that the access table does not name yet."""
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if kind in ("IntegerConverter", "FloatConverter"):
            values[name] = 1
        elif "code" in name or "village" in name:
            values[name] = district.villages[0].code
        else:
            values[name] = "x"
    return values


def _table_url(build, district) -> str | None:
    """The access table's URL; its helpers make objects once per test, and two of them
    (the feed token's id and its secret) would make the same device name twice."""
    from core.errors import JieduiError
    from core.models import FeedToken
    FeedToken.update(label=FeedToken.label.concat(FeedToken.id)).execute()
    try:
        return build(district)
    except JieduiError:
        return None


def routes(app, district):
    """(endpoint, methods, url, admitted actors or None when public/unknown) of every rule
    but the static files."""
    from tests.test_access import PUBLIC, ROUTES
    found = []
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = set(rule.methods) - {"HEAD", "OPTIONS"}
        build, admitted = ROUTES.get(rule.endpoint, (None, None, None))[1:]
        build = build or PUBLIC.get(rule.endpoint)
        url = _table_url(build, district) if build else None
        if url is None:
            url = adapter.build(rule.endpoint, _plausible_arguments(rule, district))
        found.append((rule.endpoint, methods, url, admitted))
    return sorted(found)


class FormFinder(HTMLParser):
    """The POST forms of a page: action path -> {field name: (input type, set of values
    the page offers)}. Forms without an action post to the page itself."""

    def __init__(self, page_path: str):
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: dict[str, dict[str, tuple[str, set]]] = {}
        self._fields = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            method = (attributes.get("method") or "").lower()
            action = attributes.get("hx-post") or attributes.get("action") or self.page_path
            if method == "post" or "hx-post" in attributes:
                self._fields = self.forms.setdefault(urlsplit(action).path, {})
            return
        name = attributes.get("name")
        if self._fields is None:
            return
        if tag in ("input", "select", "textarea", "button") and name:
            kind = attributes.get("type", tag)
            values = self._fields.setdefault(name, (kind, set()))[1]
            if attributes.get("value") is not None:
                values.add(attributes["value"])
            self._select = name if tag == "select" else None
        elif tag == "option" and self._select and attributes.get("value") is not None:
            self._fields[self._select][1].add(attributes["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None
