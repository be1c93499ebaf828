"""Calendar feeds over HTTP, and the "my calendar feeds" page.

``/feeds/<token>.ics`` and ``/v/<village code>/calendar.ics`` serve the stored snapshot
(``core.feeds``) with ``ETag``/``Last-Modified`` and answer ``304`` to a client that has it
already. A wrong or revoked token gets the same bare 404 as any unknown URL would, so a
guess learns nothing. The page lets each lawyer or coordinator name a token per device,
shows its URL once (the https address with a copy button first, the webcal link, an e-mail
to one's computer, a QR code for another device) and revokes it.
"""
import base64
import datetime as dt
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote

import qrcode
from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_wtf import FlaskForm
from werkzeug.http import http_date, is_resource_modified, parse_accept_header
from wtforms import StringField

from core import clock
from core import feeds as service
from core.db import close_quietly, db
from core.errors import JieduiError, NotFound
from core.models import FeedToken, Village
from core.vocabulary import STAFF
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.access import actor, allow, public
from web.feed_polls import POLLS
from web.render import htmx, render

bp = Blueprint("feeds", __name__)
log = logging.getLogger(__name__)

CHANGED = "feedTokensChanged"
CALENDAR_TYPE = "text/calendar; charset=utf-8"
PRIVATE_CACHE = "private, max-age=300"
PUBLIC_CACHE = "public, max-age=300"


# --- the feeds -------------------------------------------------------------------------------
#
# A phone polls its feed every few minutes all day: the answer is a token lookup and the
# stored bytes, nothing else. ``FeedFastPath`` answers ``GET``/``HEAD`` of the two feed
# addresses in front of Flask (no request context, session, CSRF, template or plugin work),
# with the security headers every answer carries; anything unusual (a feed never published,
# an address with other characters, an error) goes on to the Flask routes below, which
# give the same answer the ordinary way.

NOT_FOUND_BODY = b"Not found\n"
TEXT_TYPE = "text/plain; charset=utf-8"
_FEED_PATH = re.compile(r"^/(?:feeds/(?P<token>[A-Za-z0-9_-]{1,64})\.ics"
                        r"|v/(?P<code>[A-Za-z0-9_.-]{1,64})/calendar\.ics)$")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list
    body: bytes = b""


def _not_found() -> Answer:
    """The same few bytes for an unknown and a revoked token (and an unknown village)."""
    return Answer(404, [("Content-Type", TEXT_TYPE)], NOT_FOUND_BODY)


def _accepts_gzip(environ) -> bool:
    return parse_accept_header(environ.get("HTTP_ACCEPT_ENCODING"))["gzip"] > 0


def _published(key: str, gzip_ok: bool) -> service.StoredFeed:
    """A feed asked for before it was ever published: rendered now (``snapshot_for``)."""
    snapshot = service.snapshot_for(key)
    gzipped = snapshot.body_gzip is not None and gzip_ok
    return service.StoredFeed(snapshot.id, snapshot.etag, snapshot.generated_at, gzipped,
                              bytes(snapshot.body_gzip if gzipped else snapshot.body))


class Bodies:
    """The bytes of the feeds this process answered lately, by snapshot, ETag and
    encoding, up to ``limit`` bytes (the least recently answered go first). A feed's
    answer reads its validators from the database, and its bytes from here when they are
    the same ones: a client without an ETag (some calendar servers) costs no transfer of
    the stored feed (on PostgreSQL, 140 KiB of hex for a district feed). The ETag is part
    of the key, so a feed published again is read again, never answered stale."""

    def __init__(self, limit: int):
        self.limit, self.size = limit, 0
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, stored: service.StoredFeed) -> bytes:
        key = (stored.id, stored.etag, stored.gzipped)
        with self.lock:
            body = self.entries.get(key)
            if body is not None:
                self.entries.move_to_end(key)
                return body
        body = service.stored_content(stored)
        with self.lock:
            if key not in self.entries and len(body) <= self.limit:
                self.entries[key] = body
                self.size += len(body)
                while self.size > self.limit:
                    _key, dropped = self.entries.popitem(last=False)
                    self.size -= len(dropped)
        return body


BODIES = Bodies(limit=32 * 2 ** 20)  # per process: a province's lawyers' gzip feeds, ~15 KiB each


def _polled(raw: str, gzip_ok: bool):
    """``core.feeds.polled_feed``, or the answer this process kept of it (PostgreSQL:
    ``web.feed_polls``, forgotten when the database says the token or the feed changed)."""
    hashed = service.token_hash(raw)
    if hashed is None:
        return None
    kept, generation = POLLS.get(hashed, gzip_ok)
    if kept is not None:
        return kept
    polled = service.polled_feed(raw, gzip_ok=gzip_ok)
    if polled is not None and polled[2] is not None and generation is not None:
        POLLS.keep(hashed, gzip_ok, polled, generation)
    return polled


def answer(environ, *, token: str | None = None, code: str | None = None,
           render: bool = True) -> Answer | None:
    """The answer to a feed request (``token`` or a village ``code``): the stored feed,
    gzip-compressed (stored at publishing, never compressed per request) for a client that
    accepts it, under its own ETag; ``304`` from the validators alone (the bytes are not
    read) for a client that has the representation it would get. None when the feed was
    never published and ``render`` is off (the caller goes the ordinary way)."""
    gzip_ok = _accepts_gzip(environ)
    # the validators only: a 304 needs no bytes, and a 200's are in ``BODIES`` (or read then)
    if token is not None:  # the token and its feed in one query, or as kept (``POLLS``)
        polled = _polled(token, gzip_ok)
        if polled is None:
            return _not_found()
        (found, key, stored), cache = polled, PRIVATE_CACHE
    else:
        key, cache = f"village:{code}", PUBLIC_CACHE
        stored = service.stored_feed(key, gzip_ok=gzip_ok, village_code=code)
    if stored is None:
        if not render:
            return None
        if code is not None and not Village.select().where(Village.code == code).exists():
            return _not_found()
        try:
            stored = _published(key, gzip_ok)
        except NotFound:  # e.g. the coordinator's town is gone
            return _not_found()
    if token is not None:
        service.record_use(found, environ.get("HTTP_USER_AGENT", ""))
    last_modified = stored.generated_at.replace(tzinfo=dt.timezone.utc, microsecond=0)
    etag = service.gzip_etag(stored.etag) if stored.gzipped else stored.etag
    headers = [("ETag", etag), ("Last-Modified", http_date(last_modified)),
               ("Cache-Control", cache), ("Vary", "Accept-Encoding")]
    if not is_resource_modified(environ, etag=etag.strip('"'), last_modified=last_modified):
        return Answer(304, headers)
    body = stored.content if stored.content is not None else BODIES.get(stored)
    headers.append(("Content-Type", CALENDAR_TYPE))
    if stored.gzipped:
        headers.append(("Content-Encoding", "gzip"))
    return Answer(200, headers, body)


def _response(found: Answer) -> Response:
    response = Response(found.body, status=found.status)
    response.headers.clear()
    response.headers.extend(found.headers)
    return response


@bp.route("/feeds/<token>.ics")
@public  # the secret token is the credential (calendar apps cannot log in)
def token_feed(token):
    return _response(answer(request.environ, token=token))


@bp.route("/v/<code>/calendar.ics")
@public  # a village's on-site sessions and publicity events are published to residents
def village_feed(code):
    return _response(answer(request.environ, code=code))


class FeedFastPath:
    """WSGI middleware: the feeds' ``GET``/``HEAD`` answered before Flask (see above),
    on the process's pooled connection (``core.db``: no connect, no setup statements)."""

    def __init__(self, wsgi_app, headers):
        self.wsgi_app = wsgi_app
        self.headers = list(headers)  # the security headers of every answer

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        match = _FEED_PATH.match(environ.get("PATH_INFO", "")) if method in (
            "GET", "HEAD") else None
        found = self._answer(environ, match) if match else None
        if found is None:
            return self.wsgi_app(environ, start_response)
        headers = found.headers + self.headers
        if found.status != 304:
            headers.append(("Content-Length", str(len(found.body))))
        start_response(_STATUS[found.status], headers)
        return [b""] if method == "HEAD" or found.status == 304 else [found.body]

    @staticmethod
    def _answer(environ, match) -> Answer | None:
        try:
            # No liveness check (a round trip): a connection the server ended fails the
            # query, is dropped, and the Flask route below checks its own (connect_alive).
            db.connect(reuse_if_open=True)
            return answer(environ, token=match["token"], code=match["code"], render=False)
        except Exception:  # noqa: BLE001 — Flask's route answers it (503, 500) as any page
            log.debug("feed fast path: going the ordinary way", exc_info=True)
            return None
        finally:
            close_quietly()


_STATUS = {200: "200 OK", 304: "304 Not Modified", 404: "404 NOT FOUND"}


# --- my calendar feeds -----------------------------------------------------------------------

class TokenForm(FlaskForm):
    label = StringField(_l("Device or app"), description=_l("e.g. iPhone, Outlook"))


def in_wechat() -> bool:
    """Is the page open in WeChat's built-in browser? It opens no ``webcal://`` link, so the
    subscribing pieces say first how to leave it (a page that asks must send
    ``Vary: User-Agent``: ``vary_on_browser``)."""
    return "MicroMessenger" in request.headers.get("User-Agent", "")


def vary_on_browser(response: Response) -> Response:
    response.vary.add("User-Agent")
    return response


def subscription(urls: dict) -> dict:
    """What feeds/_subscribe.html shows: the two addresses, a QR code of the webcal one,
    and whether to explain WeChat first."""
    return {"urls": urls, "qr": qr_data_uri(urls["webcal"]), "wechat": in_wechat()}


def qr_svg(text: str, border: int = 2) -> bytes:
    """An SVG QR code of ``text``: one path, a rectangle per run of dark modules in a row,
    in module units (scaled by the <img>'s size). About a fifth of what qrcode's own
    SvgPathImage writes (a square per module), which the public village page and every
    card carry inline: it keeps the page light on a slow connection."""
    code = qrcode.QRCode(border=border)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1H{start}z")
            else:
                x += 1
    size = len(matrix)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
            f'shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/>'
            f'<path d="{"".join(runs)}"/></svg>').encode("ascii")


def qr_data_uri(text: str) -> str:
    """An SVG QR code (``qr_svg``) as a data: URI: an <img> needs no inline style (the CSP
    allows img-src data:)."""
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(text)).decode("ascii")


def _scope_text(user) -> str:
    key = service.feed_key_for(user)
    if key.startswith("lawyer:"):
        return _("Your sessions and publicity events in your villages.")
    if key.startswith("town:"):
        return _("The events of every village of %(town)s.", town=user.town.name)
    if key.startswith("village:"):
        return _("The sessions and publicity events of %(village)s.", village=user.village.name)
    return _(service.DISTRICT_NOTE,  # bounded: a province's would not fit a phone
             n=service.DISTRICT_BACK_MAX + service.DISTRICT_AHEAD_MAX)


def _page(form=None, created=None, status=200, trigger=None):
    user = actor()
    return vary_on_browser(render(
        "feeds/tokens.html", "feeds/_tokens.html", status=status, trigger=trigger,
        form=form or TokenForm(), tokens=list(service.active_tokens(user)), created=created,
        scope=_scope_text(user), local=clock.to_local, wechat=in_wechat()))


def send_to_computer(https_url: str, email: str = "") -> str:
    """A ``mailto:`` link of an e-mail carrying the feed's address, to the user's own
    address when they gave one (``User.email``): opened on the phone, it reaches their
    computer, where Outlook or Apple Calendar subscribes to it."""
    subject = _("My Jiedui calendar address")
    body = _("Subscribe to my Jiedui calendar with this address (in Outlook: Add calendar → "
             "Subscribe from web; in Apple Calendar: File → New Calendar Subscription):"
             "\n\n%(url)s\n\nDo not pass it on: anyone who has it can read the calendar.",
             url=https_url).replace("\n", "\r\n")  # RFC 6068: line breaks are CRLF
    return (f"mailto:{quote(email.strip(), safe='@')}?subject={quote(subject, safe='')}"
            f"&body={quote(body, safe='')}")


def _created(token, raw: str) -> dict:
    base_url = current_app.config["JIEDUI_SETTINGS"].base_url
    sub = subscription(service.feed_urls(raw, base_url))
    sub["mailto"] = send_to_computer(sub["urls"]["https"], actor().email or "")
    return {"token": token, "sub": sub}


@bp.route("/calendar/feeds")
@allow(*STAFF)
def tokens():
    return _page()


@bp.route("/calendar/feeds", methods=["POST"])
@allow(*STAFF)
def create():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        token, raw = service.create_token(actor(), actor(), form.label.data or "")
    except JieduiError as error:
        form.label.errors = [error.translate(_)]
        return _page(form, status=422)
    # The URL is shown in this answer only: no redirect, since the raw token is not kept.
    return _page(TokenForm(formdata=None), created=_created(token, raw), trigger=CHANGED)


@bp.route("/calendar/feeds/<int:token_id>/revoke", methods=["POST"])
@allow(*STAFF)
def revoke(token_id):
    user = actor()
    token = FeedToken.get_or_none((FeedToken.id == token_id) & (FeedToken.user == user))
    if token is None:  # someone else's token: not there
        abort(404)
    service.revoke_token(user, token)
    if htmx:
        return _page(trigger=CHANGED)
    flash(_("The feed %(label)s no longer works.", label=token.label))
    return redirect(url_for("feeds.tokens"))
