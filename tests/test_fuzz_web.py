"""Bad input over HTTP (issue 6): query strings, HTMX headers and forms are fuzzed on every
route of ``app.url_map``. No input gives a 500, and a refused form writes nothing.

The app, the district and the logged-in clients are built once per test function; each
hypothesis example takes its own fingerprint of the database, so examples stay independent
even when an earlier one was accepted and wrote.
"""
import io
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import Holiday, LoginAttempt, RatingCodeMiss, UserSession
from tests import factories
from tests.fuzz_support import (FUZZ, QUERY_KEYS, FormFinder, changed_tables,
                                fingerprint, header_text, nasty_text, routes)

pytestmark = pytest.mark.slow  # every route with every kind of nasty input

HTMX_HEADERS = ("HX-Request", "HX-Target", "HX-Trigger", "HX-Trigger-Name", "HX-Current-URL",
                "HX-Boosted", "HX-History-Restore-Request", "HX-Prompt")
# Roles tried in this order when a POST route admits several: the widest scope first.
POSTING_ROLES = ("admin", "coordinator", "lawyer", "village")
# Ends the session under test; covered by tests/test_access.py.
NOT_FUZZED = {"auth.logout"}
# A failed password check and a wrong rating code are recorded on purpose (rate limiting);
# a session records its last activity every few minutes, whatever the request.
NOT_A_WRITE = (LoginAttempt, RatingCodeMiss, UserSession)


def _login(app, user):
    client = app.test_client()
    client.set_cookie("lang", "en")
    response = client.post("/login", data={"username": user.username,
                                           "password": factories.PASSWORD})
    assert response.status_code == 302, f"login as {user.username} failed"
    return client


class Site(SimpleNamespace):
    def __repr__(self):  # hypothesis prints the arguments of a failing example
        return "site"


@pytest.fixture
def site(app, district, tmp_path, monkeypatch):
    """The app with clients logged in as each role, and every route with a URL."""
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path / "instance"))
    users = district.users
    clients = {"admin": _login(app, users.admin), "coordinator": _login(app, users.coordinator),
               "lawyer": _login(app, users.lawyer), "village": _login(app, users.village),
               None: app.test_client()}
    all_routes = routes(app, district)
    return Site(
        app=app, district=district, clients=clients, routes=all_routes,
        gets=[r for r in all_routes if "GET" in r[1]],
        posts=[r for r in all_routes if "POST" in r[1] and r[0] not in NOT_FUZZED])


def _db_state():
    """What a refused request must leave as it was: every table; of the holidays only the
    administrator's rows (the package's are a cache any holiday page fills)."""
    return fingerprint(exclude=NOT_A_WRITE, only={Holiday: "source = 'manual'"})


def _get(client, url, query="", headers=None, failures=None):
    """GET, and fail on a 5xx (or note it in ``failures``, so a sweep reports them all)."""
    target = f"{url}{'&' if '?' in url else '?'}{query}" if query else url
    try:
        status = client.get(target, headers=headers or {}).status_code
    except Exception as error:  # TESTING propagates exceptions: that is a 500 too
        status = f"500 ({type(error).__name__}: {str(error)[:80]})"
    problem = None if isinstance(status, int) and status < 500 else \
        f"GET {target[:150]} {headers or ''} -> {status}"
    if failures is None:
        assert problem is None, problem
    elif problem:
        failures.append(problem)


# --- query strings ------------------------------------------------------------------------------

queries = st.dictionaries(st.one_of(st.sampled_from(QUERY_KEYS), st.text(max_size=8)),
                          nasty_text, max_size=6)
# Raw query strings: half escapes and separators a browser would never send.
raw_queries = st.text(alphabet="%&=;+?#[]09azAZ.-_~", max_size=30)


@pytest.mark.parametrize("role", ["admin", "lawyer", None])
@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_query_strings_never_give_a_500(site, role, data):
    endpoint, _, url, _ = data.draw(st.sampled_from(site.gets), label="route")
    query = urlencode(data.draw(queries, label="query"))
    raw = data.draw(raw_queries, label="raw")
    _get(site.clients[role], url, "&".join(part for part in (query, raw) if part))



SWEEP_VALUES = ("-1", "99999999999999999999", "10000-01-01", "²", "东湖镇😀", "%zz%E4")
SWEEP_REQUESTS = 4  # per route and caller; each key meets a different value in each


def _sweep_query(round_: int) -> str:
    """Every key the views read, each with another nasty value (rotating, so a route
    meets each value on some key within a few requests)."""
    parts = []
    for position, key in enumerate(QUERY_KEYS):
        value = SWEEP_VALUES[(round_ + position) % len(SWEEP_VALUES)]
        parts.append(f"{key}={value}" if "%" in value else urlencode({key: value}))
    return "&".join(parts)


def test_every_get_route_survives_nasty_queries(site):
    """Every GET route, not only those hypothesis happens to draw, as an administrator and
    as a lawyer (anonymous callers reach only the public views)."""
    failures = []
    for endpoint, _, url, _ in site.gets:
        public = site.app.view_functions[endpoint].access_rule[0] == "public"
        for role in ("admin", "lawyer", None) if public else ("admin", "lawyer"):
            for round_ in range(SWEEP_REQUESTS):
                _get(site.clients[role], url, _sweep_query(round_), failures=failures)
    assert failures == []


# --- path segments -------------------------------------------------------------------------------

# What a crafted link can put in a code, slug or token of a path (werkzeug percent-encodes it):
# a NUL (PostgreSQL refuses it deep inside a query), other control characters, a lone
# surrogate's bytes, emoji, dots and slashes.
SEGMENTS = ("a\x00b", "\x00", "a\x01b", "\x7f", "a\tb", "a\r\nb", "\udcff", "东湖😀", "../..",
            "%00", "a" * 300)


def test_every_get_route_survives_nasty_path_segments(site):
    """Every GET route whose path holds text (a village code, a slug, a feed token), with
    each nasty segment in each place, as an administrator and anonymously: never a 500."""
    adapter = site.app.url_map.bind("localhost")
    failures = []
    for rule in site.app.url_map.iter_rules():
        text_arguments = [name for name, converter in rule._converters.items()
                          if type(converter).__name__ in ("UnicodeConverter", "PathConverter")]
        if rule.endpoint == "static" or "GET" not in rule.methods or not text_arguments:
            continue
        base = {name: (1 if name not in text_arguments else "x") for name in rule.arguments}
        for name in text_arguments:
            for segment in SEGMENTS:
                try:
                    url = adapter.build(rule.endpoint, {**base, name: segment})
                except (UnicodeEncodeError, ValueError):
                    continue  # not even a URL: no client can send it
                for role in ("admin", None):
                    _get(site.clients[role], url, failures=failures)
    assert failures == []


# --- HTMX headers --------------------------------------------------------------------------------

htmx_headers = st.dictionaries(st.sampled_from(HTMX_HEADERS), header_text(), max_size=5)


@pytest.mark.parametrize("role", ["admin", "lawyer", None])
@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_htmx_headers_never_give_a_500(site, role, data):
    endpoint, _, url, _ = data.draw(st.sampled_from(site.gets), label="route")
    headers = data.draw(htmx_headers, label="headers")
    _get(site.clients[role], url, headers=headers)



def test_every_get_route_answers_htmx_requests(site):
    """The fragment of every page renders (an HTMX request with odd targets and triggers)."""
    headers = {"HX-Request": "true", "HX-Target": "#nowhere", "HX-Trigger": "x\u00e4",
               "HX-Current-URL": "http://evil.example/%zz", "HX-Boosted": "maybe"}
    failures = []
    for endpoint, _, url, _ in site.gets:
        for role in ("admin", "lawyer"):
            _get(site.clients[role], url, headers=headers, failures=failures)
    assert failures == []


# --- forms -------------------------------------------------------------------------------------

_FIELDS_FOUND: dict = {}


def _form_fields(site) -> dict[str, dict[str, tuple[str, set]]]:
    """endpoint -> the fields its forms carry, as found on every page the roles can open
    (found once per run: the pages are the same in every test's fresh district)."""
    if not _FIELDS_FOUND:
        _FIELDS_FOUND.update(_find_form_fields(site))
    return _FIELDS_FOUND


def _find_form_fields(site):
    adapter = site.app.url_map.bind("localhost")
    fields: dict[str, dict] = {}
    for role in ("admin", "lawyer"):  # a coordinator sees a subset of the admin's forms
        for endpoint, _, url, _ in site.gets:
            response = site.clients[role].get(url)
            if response.status_code != 200 or not response.mimetype == "text/html":
                continue
            finder = FormFinder(url.split("?")[0])
            finder.feed(response.get_data(as_text=True))
            for action, found in finder.forms.items():
                try:
                    target, _ = adapter.match(action, method="POST")
                except Exception:  # noqa: BLE001 - a GET form, or another site's address
                    continue
                for name, (kind, values) in found.items():
                    known = fields.setdefault(target, {}).setdefault(name, (kind, set()))
                    known[1].update(values)
    return fields


def _poster(site, endpoint):
    kind, roles = site.app.view_functions[endpoint].access_rule
    if kind == "public":
        return site.clients[None]
    return site.clients[next((r for r in POSTING_ROLES if r in roles), "admin")]


def _file_value(data: bytes, name: str):
    return (io.BytesIO(data), name)


def _field_value(kind: str, offered: set):
    """A strategy for one field: what the page offers, or anything nasty."""
    choices = [st.none(), nasty_text]
    if offered:
        choices.insert(0, st.sampled_from(sorted(offered)))
    if kind == "file":
        return st.one_of(st.none(), st.builds(_file_value, st.binary(max_size=300),
                                               st.sampled_from(("a.csv", "../../x.pdf", "x"))))
    return st.one_of(*choices)


def _post_and_check(site, endpoint, url, form, headers) -> str | None:
    """POST; the problem found (a 5xx, or a refusal that wrote), or None."""
    client = _poster(site, endpoint)
    before = _db_state()
    try:
        status = client.post(url, data={k: v for k, v in form.items() if v is not None},
                             headers=headers).status_code
    except Exception as error:  # TESTING propagates exceptions: that is a 500 too
        return f"POST {url} {form!r:.300} {headers!r} -> {type(error).__name__}: {error}"
    if status >= 500:
        return f"POST {url} {form!r:.300} {headers!r} -> {status}"
    changed = changed_tables(before, _db_state()) if status >= 400 else []
    if changed:
        return f"POST {url} {form!r:.300} answered {status} but wrote {changed}"
    return None


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_forms_never_give_a_500_and_refusals_write_nothing(site, data):
    fields = _form_fields(site)
    endpoint, _, url, _ = data.draw(st.sampled_from(site.posts), label="route")
    known = fields.get(endpoint, {})
    form = {}
    for name, (kind, offered) in sorted(known.items()):
        if name != "csrf_token":
            form[name] = data.draw(_field_value(kind, offered), label=name)
    junk = data.draw(st.dictionaries(st.text(min_size=1, max_size=8), nasty_text, max_size=3),
                     label="junk")
    form.update({k: v for k, v in junk.items() if k not in form})
    headers = data.draw(st.one_of(st.just({}), st.just({"HX-Request": "true"}), htmx_headers),
                        label="headers")
    problem = _post_and_check(site, endpoint, url, form, headers)
    assert problem is None, problem



def test_every_post_route_refuses_nasty_forms_without_writing(site):
    """Every POST route, each field of its forms set to the same nasty value (and once
    empty), plain and through HTMX."""
    fields, failures = _form_fields(site), []
    for endpoint, _, url, _ in site.posts:
        names = [n for n in fields.get(endpoint, {}) if n != "csrf_token"] or ["x"]
        for number, value in enumerate(("", "99999999999999999999", "²", "a" * 2000)):
            headers = {"HX-Request": "true"} if number % 2 else {}
            failures.append(_post_and_check(site, endpoint, url,
                                            {name: value for name in names}, headers))
    assert [f for f in failures if f] == []


# --- CSRF ------------------------------------------------------------------------------------

def test_a_post_without_csrf_token_is_400_and_writes_nothing(district, tmp_path, monkeypatch):
    """With CSRF protection on (as in production), every POST route refuses a request
    without the token before the view runs, plain or through HTMX."""
    import re

    from web import create_app
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf[_-]token"[^>]*(?:value|content)="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": "admin", "password": factories.PASSWORD,
                                       "csrf_token": token}).status_code == 302
    failures = []
    for endpoint, methods, url, _ in routes(app, district):
        if "POST" not in methods:
            continue
        for headers in ({}, {"HX-Request": "true"}):
            before = _db_state()
            status = client.post(url, data={"x": "1"}, headers=headers).status_code
            changed = changed_tables(before, _db_state())
            if status != 400 or changed:
                failures.append(f"{endpoint} {headers}: {status}, wrote {changed}")
    assert failures == []
    assert client.get("/villages/").status_code == 200  # still logged in: logout refused too


# --- regressions found by the fuzzing ------------------------------------------------------------

@pytest.mark.parametrize("role, url", [
    ("admin", "/villages/?page=²"),  # "²".isdigit() is True, int("²") fails: was a 500
    ("admin", "/calendar/holidays?year=²"),
    ("admin", "/programmes/family_visits?year=99999999999999999999"),
    ("admin", "/assessment/?year=²"),
    ("admin", "/tasks/?lawyer=99999999999999999999"),
    ("admin", "/records/log?village=99999999999999999999"),
    # SQLite cannot bind an int beyond 64 bits (OverflowError): was a 500
    ("lawyer", "/matters/new?work_log=99999999999999999999&task=99999999999999999999"),
])
def test_odd_numbers_in_links_are_ignored(site, role, url):
    assert site.clients[role].get(url).status_code == 200


def test_a_plan_for_an_odd_year_is_a_bad_request(site):
    before = _db_state()
    for year in ("²", "99999999999999999999", "1999"):
        assert site.clients["admin"].post("/calendar/plan", data={"year": year}).status_code == 400
    assert changed_tables(before, _db_state()) == []


def test_whole_number_takes_ascii_digits_within_bounds():
    from web.listing import MAX_ID, whole_number
    assert [whole_number(t) for t in ("12", " 7 ", "0", str(MAX_ID))] == [12, 7, 0, MAX_ID]
    assert [whole_number(t) for t in ("²", "１２", "-1", "1.0", "", None, str(MAX_ID + 1),
                                      "9" * 40)] == [None] * 8
    assert whole_number("2101", 2000, 2100) is None and whole_number("2100", 2000, 2100) == 2100
