"""The navigation, defined once: every place a role goes to, which of them are its main
places (a phone's bottom bar, the top bar on a wide screen) and how the others are grouped
in the "More" menu. Coordinators and administrators get the desk navigation instead: their
工作台 and one menu per group (结对 / 日程 / 任务与项目 / 工作制度 / 系统), at most six
top-level entries. ``base.html`` renders it from ``navigation_for(user)``.

An entry is shown to a user only when

- its endpoint is registered (a part of the app not built yet, or a plugin not loaded, is
  simply left out),
- the view's own access rule (``core.access.allow``) admits the user's role — so no link
  in the navigation answers 403 — and the entry's ``roles`` include the role,
- its ``args`` give the URL's values for the user (e.g. their own village) or it needs none.

To add a place: append an ``Entry``. Entries sharing a ``key`` are alternatives: the first
that the user may open is shown (a lawyer's "My assessment" is the assessment page once it
admits lawyers, else the sheet of their first pairing).
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask import current_app, g, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from core import problems
from core.models import Pairing
from core.vocabulary import MANAGERS, READERS, ROLES, STAFF
from web.i18n import lazy_gettext as _l

MAIN_PLACES = 4  # the bottom bar: four places and "More"

GROUPS = {
    "work": _l("Work"),
    "places": _l("Villages and lawyers"),
    "admin": _l("Administration"),
    "me": _l("Me"),
}


# The desk navigation (coordinators and administrators, who work at office PCs): the desk,
# then one menu per group, at most six top-level entries in all. Every manager's entry
# names its group (``Entry.desk``); the "Me" entries (account, log-out, language) close the
# last menu.
DESK_ROLES = READERS  # coordinators, administrators and the leadership group
DESK_GROUPS = {
    "pairing": _l("Pairing"),
    "diary": _l("Diary"),
    "tasks": _l("Tasks and programmes"),
    "systems": _l("Work systems"),
    "system": _l("System"),
}


def _own_village(user):
    return {"code": user.village.code} if user.village_id else None


def _own_town(user):
    return {"code": user.town.code} if user.role in READERS and user.town_id else None


def _own_firm(user):
    return {"firm_id": user.firm_id} if user.firm_id else None


def _own_lawyer(user):
    return {"lawyer_id": user.lawyer_id} if user.lawyer_id else None


def _first_pairing(user):
    if not user.lawyer_id:
        return None
    pairing = (Pairing.select(Pairing.id)
               .where((Pairing.lawyer == user.lawyer_id) & (Pairing.status == "active"))
               .order_by(Pairing.term_start, Pairing.id).first())
    return {"pairing_id": pairing.id} if pairing else None


def _open_problems() -> int:
    return problems.open_count()


@dataclass(frozen=True)
class Entry:
    """One place. ``label`` names it in the menu, ``short`` in the bottom bar; ``labels``
    gives a role its own name (a lawyer's "My assessment"). ``main``: the roles for whom it
    is a main place. ``args(user)``: the URL's values, or None when the user has no such
    place. ``id``: an element id other parts rely on; ``count()``: a number to show."""
    endpoint: str
    label: object
    group: str
    main: tuple[str, ...] = ()
    roles: tuple[str, ...] = ROLES
    short: object = None
    labels: Mapping[str, object] = field(default_factory=dict)
    args: Callable | None = None
    key: str | None = None
    id: str | None = None
    count: Callable | None = None
    desk: str = "system"  # the group of the desk navigation (DESK_GROUPS)


ENTRIES = (
    Entry("home.index", _l("Home"), "work", main=ROLES, short=_l("Home"),
          labels={"admin": _l("Desk"), "coordinator": _l("Desk"), "leader": _l("Desk")}),
    Entry("coverage.index", _l("Coverage"), "work", roles=READERS, desk="pairing"),
    Entry("calendar.index", _l("Calendar"), "work", main=ROLES, desk="diary"),
    Entry("tasks.mine", _l("My tasks"), "work", main=("lawyer",), roles=("lawyer",),
          short=_l("Tasks")),
    Entry("tasks.index", _l("Tasks"), "work", main=READERS,
          roles=READERS + ("village",), desk="tasks"),
    # what a village asks of its lawyer (invitations, residents' demands, its word on a
    # session): the village's main place; the lawyer's and the coordinators' lists
    Entry("village_requests.village_page", _l("Asking our lawyer"), "work", main=("village",),
          roles=("village",), short=_l("Ask the lawyer")),
    Entry("village_requests.awaiting", _l("Asked by my villages"), "work", roles=("lawyer",)),
    Entry("village_requests.index", _l("Village requests"), "work", roles=READERS,
          desk="tasks"),
    Entry("records.log", _l("Work log"), "work", main=("lawyer",), desk="systems"),
    Entry("villages.detail", _l("Our village"), "places", main=("village",),
          roles=("village",), args=_own_village),
    Entry("lawyers.index", _l("Lawyers"), "places", main=("coordinator",), desk="pairing"),
    Entry("users.index", _l("Users"), "admin", main=("admin",)),
    Entry("setup.index", _l("District set-up"), "admin", roles=("admin",)),
    Entry("calendar.quota", _l("Quota"), "work", labels={"lawyer": _l("My progress")},
          key="quota", desk="diary"),
    Entry("assessment.index", _l("Assessment"), "work", labels={"lawyer": _l("My assessment")},
          key="assessment", desk="systems"),
    Entry("assessment.sheet", _l("My assessment"), "work", roles=("lawyer",),
          args=_first_pairing, key="assessment"),
    Entry("reports.index", _l("Reports"), "work", roles=READERS, desk="systems"),
    Entry("programs.index", _l("Programmes"), "work", desk="tasks"),
    Entry("records.cases", _l("Case files"), "work", desk="systems"),
    Entry("matters.index", _l("Major matters"), "work", desk="systems"),
    Entry("feedback.visits", _l("Return visits"), "work", desk="systems"),
    Entry("feedback.ratings", _l("Residents’ ratings"), "work", roles=MANAGERS,
          desk="systems"),
    Entry("inspections.index", _l("Inspections"), "work", roles=READERS, desk="systems"),
    Entry("feeds.tokens", _l("Calendar feeds"), "work", desk="diary"),
    Entry("lawyers.detail", _l("My villages"), "places", roles=("lawyer",), args=_own_lawyer),
    Entry("towns.detail", _l("Our town"), "places", roles=("coordinator", "leader"),
          args=_own_town, desk="pairing"),
    Entry("firms.detail", _l("Our law firm"), "places", roles=("leader",), args=_own_firm,
          desk="pairing"),
    Entry("villages.index", _l("Villages"), "places", roles=STAFF + ("leader",), desk="pairing"),
    Entry("towns.index", _l("Towns"), "places", roles=STAFF + ("leader",), desk="pairing"),
    Entry("firms.index", _l("Law firms"), "places", desk="pairing"),
    Entry("public.wechat_groups", _l("WeChat groups"), "places", desk="pairing"),
    Entry("admin.plugin_list", _l("Plugins"), "admin"),
    Entry("admin.audit_log", _l("Audit log"), "admin"),
    Entry("admin.problem_list", _l("Problems"), "admin", id="problems-nav",
          count=_open_problems),
    Entry("users.account", _l("My account"), "me"),
)


@dataclass(frozen=True)
class Link:
    """An entry resolved for the user: where it leads and what it is called."""
    url: str
    label: object
    short: object
    group: str
    current: bool
    id: str | None = None
    count: int = 0


@dataclass(frozen=True)
class Navigation:
    main: list[Link]
    groups: list[tuple[object, list[Link]]]  # (group label, links) of the "More" menu
    desk: bool = False  # the desk navigation: ``groups`` are top-level menus, no "More"

    @property
    def links(self) -> list[Link]:
        return self.main + [link for _label, links in self.groups for link in links]


def admits(endpoint: str, role: str) -> bool:
    """Whether `endpoint` is registered and its view admits `role`."""
    view = current_app.view_functions.get(endpoint)
    rule = getattr(view, "access_rule", None)
    if rule is None:
        return False
    kind, roles = rule
    return kind == "public" or role in roles


def may_open(endpoint: str) -> bool:
    """For templates: whether the current user may open `endpoint`'s page (by role; the
    view still checks the object), so a page shows no link that would answer 403:
    ``{% if may_open('programs.detail') %}<a …>{% endif %}``."""
    return current_user.is_authenticated and admits(endpoint, current_user.user.role)


def _is_current(url: str) -> bool:
    path = request.path
    return path == url or (url.endswith("/") and url != "/" and path.startswith(url))


def _resolve(entry: Entry, user) -> Link | None:
    if user.role not in entry.roles or not admits(entry.endpoint, user.role):
        return None
    args = entry.args(user) if entry.args else {}
    if args is None:
        return None
    try:
        url = url_for(entry.endpoint, **args)
    except BuildError:
        return None
    label = entry.labels.get(user.role, entry.label)
    return Link(url=url, label=label, short=entry.short or label, group=entry.group,
                current=_is_current(url), id=entry.id,
                count=entry.count() if entry.count else 0)


def navigation_for(user) -> Navigation:
    """The user's navigation: at most ``MAIN_PLACES`` main places, the rest by group.
    Worked out once per request."""
    cached = g.get("_navigation")
    if cached is not None:
        return cached
    resolved, keys, urls = [], set(), set()
    for entry in ENTRIES:
        if entry.key and entry.key in keys:
            continue
        link = _resolve(entry, user)
        if link is None or link.url in urls:
            continue
        if entry.key:
            keys.add(entry.key)
        urls.add(link.url)
        resolved.append((entry, link))
    if user.role in DESK_ROLES:
        main = [link for entry, link in resolved if entry.endpoint == "home.index"]
        groups = [(label, [link for entry, link in resolved
                           if entry.desk == name and link not in main])
                  for name, label in DESK_GROUPS.items()]
        # the last menu always shows: it holds the account, the log-out and the language
        groups = [(label, links) for label, links in groups[:-1] if links] + groups[-1:]
        g._navigation = Navigation(main=main, groups=groups, desk=True)
        return g._navigation
    main = [link for entry, link in resolved if user.role in entry.main][:MAIN_PLACES]
    rest = [link for _entry, link in resolved if link not in main]
    groups = [(label, [link for link in rest if link.group == name])
              for name, label in GROUPS.items()]
    g._navigation = Navigation(main=main, groups=[(label, links) for label, links in groups
                                                  if links])
    return g._navigation


def home_url(user) -> str:
    """Where the brand leads: the user's first main place."""
    if user is None:
        return url_for("auth.login")
    nav = navigation_for(user)
    return nav.main[0].url if nav.main else url_for("home.index")
