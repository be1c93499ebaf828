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
from urllib.parse import quote

import qrcode
from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.http import http_date, is_resource_modified
from wtforms import StringField

from core import clock
from core import feeds as service
from core.errors import JieduiError, NotFound
from core.models import FeedSnapshot, FeedToken, Village
from core.vocabulary import STAFF
from web.access import actor, allow, public
from web.render import htmx, render

bp = Blueprint("feeds", __name__)

CHANGED = "feedTokensChanged"
CALENDAR_TYPE = "text/calendar; charset=utf-8"
PRIVATE_CACHE = "private, max-age=300"
PUBLIC_CACHE = "public, max-age=300"


# --- the feeds -------------------------------------------------------------------------------

def _not_found() -> Response:
    """The same few bytes for an unknown and a revoked token (and an unknown village)."""
    return Response("Not found\n", status=404, mimetype="text/plain")


def _accepts_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def _serve(snapshot: FeedSnapshot, cache_control: str) -> Response:
    """The stored feed: gzip-compressed (stored at publishing, never compressed per request)
    for a client that accepts it, under its own ETag; ``304`` for a client that has the
    representation it would get."""
    last_modified = snapshot.generated_at.replace(tzinfo=dt.timezone.utc, microsecond=0)
    compressed = snapshot.body_gzip is not None and _accepts_gzip()
    etag = service.gzip_etag(snapshot.etag) if compressed else snapshot.etag
    headers = {"ETag": etag, "Last-Modified": http_date(last_modified),
               "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    unchanged = not is_resource_modified(request.environ, etag=etag.strip('"'),
                                         last_modified=last_modified)
    if unchanged:
        return Response(status=304, headers=headers)
    if compressed:
        headers["Content-Encoding"] = "gzip"
    body = bytes(snapshot.body_gzip if compressed else snapshot.body)
    return Response(body, status=200, headers=headers, content_type=CALENDAR_TYPE)


@bp.route("/feeds/<token>.ics")
@public  # the secret token is the credential (calendar apps cannot log in)
def token_feed(token):
    found = service.find_token(token)
    if found is None:
        return _not_found()
    try:
        snapshot = service.snapshot_for(service.feed_key_for(found.user))
    except NotFound:  # e.g. the coordinator's town is gone
        return _not_found()
    service.record_use(found, request.headers.get("User-Agent", ""))
    return _serve(snapshot, PRIVATE_CACHE)


@bp.route("/v/<code>/calendar.ics")
@public  # a village's on-site sessions and publicity events are published to residents
def village_feed(code):
    if not Village.select().where(Village.code == code).exists():
        return _not_found()
    return _serve(service.snapshot_for(f"village:{code}"), PUBLIC_CACHE)


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
