"""Public disclosure (信息公开): the village directory, each village's public page, its
printable contact card (社区律师服务联系卡) and a town's sheet of cards — no login, and only
what ``core.disclosure`` hands over. Coordinators get the disclosure warnings (loaded into
the coverage page) and the WeChat group register.

Routes stay clear of ``/v/<code>/calendar.ics`` (web/feeds.py).
"""
from flask import Blueprint, abort, current_app, request, send_file, url_for

from core import clock
from core import disclosure as service
from core.arrangements import WEEKDAY_NAMES
from core.feedback import CODE_LENGTH, normalize_code
from core.feeds import village_feed_urls
from core.models import GROUP_ROLES
from core.phones import dial_uri, readable
from core.vocabulary import READERS
from web.access import actor, allow, public
from web.feeds import qr_data_uri, subscription, vary_on_browser
from web.listing import paginate, search_term
from web.pairings import GROUP_ROLE_LABELS
from web.render import render

bp = Blueprint("public", __name__)



def _page_url(code: str) -> str:
    """The absolute address of a village's public page, as printed in its QR code."""
    base_url = current_app.config["JIEDUI_SETTINGS"].base_url
    return base_url + url_for("public.village", code=code)


def _subscription(code: str) -> dict:
    """The village's public calendar feed, to subscribe to (feeds/_subscribe.html)."""
    return subscription(village_feed_urls(code, current_app.config["JIEDUI_SETTINGS"].base_url))


def _card(village: service.PublicVillage) -> dict:
    url = _page_url(village.code)
    return {"village": village, "url": url, "qr": qr_data_uri(url),
            "sub": _subscription(village.code) if village.paired else None}


# --- public ----------------------------------------------------------------------------------

@bp.route("/v/")
@public  # the directory of every village's lawyer is published to residents
def directory():
    listing = paginate(service.directory(search_term()))
    return render("public/directory.html", "public/_directory.html", listing=listing)


@bp.route("/v/<code>")
@public
def village(code):
    village = service.public_village(code)  # NotFound: 404
    # a rating slip's QR code opens the page with its code (?rc=…) to fill in the form
    rating_code = normalize_code(request.args.get("rc", ""))[:CODE_LENGTH]
    return vary_on_browser(render("public/village.html", village=village, code=village.code,
                                  duties=service.DUTIES, today=clock.today(),
                                  sub=_subscription(village.code), rating_code=rating_code,
                                  hotline=service.LEGAL_HOTLINE, weekdays=WEEKDAY_NAMES,
                                  dial_uri=dial_uri, readable=readable))


def _picture(path, max_age: int):
    if path is None:
        abort(404)
    response = send_file(path, max_age=max_age)
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.route("/v/<code>/photo")
@public
def photo(code):
    return _picture(service.public_photo(code), 3600)


@bp.route("/v/<code>/group-qr")
@public
def group_qr(code):
    """The WeChat group's join QR code, only while it works (core.groups.join_qr_shown):
    an expired one is no longer served."""
    return _picture(service.public_join_qr(code), 600)


@bp.route("/v/<code>/card")
@public
def card(code):
    return vary_on_browser(render("public/card.html",
                                  cards=[_card(service.public_village(code))], single=True))


@bp.route("/v/town/<code>/cards")
@public
def town_cards(code):
    town, villages = service.town_villages(code)
    return render("public/card.html", town=town, single=False,
                  cards=[_card(v) for v in villages if v.paired],
                  unpaired=[v for v in villages if not v.paired])


# --- coordinators ----------------------------------------------------------------------------

@bp.route("/warnings")
@allow(*READERS)
def warnings():
    found = service.warnings(actor())
    return render("public/warnings.html", "public/_warnings.html",
                  warnings=[w for w in found if w.kind != "incomplete"],
                  missing=service.lawyers_missing(found), days=service.TERM_WARNING_DAYS)


@bp.route("/wechat-groups")
@allow(*READERS)
def wechat_groups():
    groups = service.wechat_register(actor())
    roles = [*GROUP_ROLES, *sorted({role for g in groups for role in g.counts} - set(GROUP_ROLES))]
    return render("public/wechat_groups.html", groups=groups, roles=roles,
                  role_labels=GROUP_ROLE_LABELS)
