"""People are told: the notices the core's own changes send, as a default plugin.

Registered by ``core.plugins`` before any plugin (``DEFAULT_PLUGINS``), like
``core.reactions``; each hook here turns one act into at most one message per person:

- ``tasks_assigned``: the lawyer who now has the tasks (one message per call and lawyer,
  however many tasks), never the person who assigned them;
- ``events_changed``: the lawyer of each session, publicity event or task event added,
  moved, cancelled, reinstated or handed over (the previous lawyer hears it left them, the
  new one that they got it), and the village's users of its sessions and publicity events
  added, moved, cancelled or reinstated; one message per call and person, never the actor;
- ``lawyer_replaced``: both lawyers, the village's users and the local coordinators (not
  the actor); the new lawyer with the open tasks and sessions they take over;
- ``pairing_changed``: "paired" and "ended" that are not part of a replacement, to the
  lawyer and the village's users;
- a periodic report (monthly, quarterly, yearly statistics) that a job has prepared:
  ``announce_report`` tells ``report_recipients(town)`` — the coordinators and the
  leadership group who read the report's scope (kind ``report``).

Messages are stored in the district's language (``JIEDUI_LOCALE``); each links to the page
where it is acted on. They are personal: inbox, and e-mail for whoever asked
(``core.notify``), never the shared mailboxes or the group robot. The kinds and their
labels are ``core.notify.NOTICE_KINDS``.
"""
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from babel.lists import format_list

from core import clock
from core.config import get_settings
from core.hookspecs import hookimpl
from core.i18n import N_, gettext_for, ngettext_for
from core.localize import name_of
from core.models import AuditLog, Event, Lawyer, Pairing, Task, Town, User, Village
from core.notify import lawyer_users, local_coordinators, notify_users, village_users
from core.arrangements import describe
from core.vocabulary import OPEN_STATUSES

PROBLEMS_LINK = "/admin/problems"
PROBLEM_TITLE = N_("Problem: %(summary)s")

# what villages hear of (not task events; an activity of theirs a lawyer accepted, yes)
VILLAGE_EVENT_KINDS = ("session", "publicity", "activity")
LAWYER_EVENT_KINDS = ("session", "publicity", "task", "activity")
ON_SITE_KINDS = ("session", "publicity")  # what a new lawyer takes over from the plan
VILLAGE_CHANGES = ("added", "moved", "cancelled", "reinstated")
MAX_LINES = 10  # events listed in one message; the link shows the rest
TITLES_PER_PROGRAMME = 3
MAX_PROGRAMMES = 5
TASKS_LINK = "/tasks/mine"

# what happened to an event, as one person sees it: the line of a message, and its count
LINES = {
    "added": N_("Added: %(when)s %(title)s"),
    "moved": N_("Moved: %(title)s from %(old)s to %(new)s"),
    "cancelled": N_("Cancelled: %(when)s %(title)s"),
    "reinstated": N_("Reinstated: %(when)s %(title)s"),
    "handed_to_you": N_("Handed to you: %(when)s %(title)s"),
    "handed_over": N_("Handed over to %(lawyer)s: %(when)s %(title)s"),
    "taken_away": N_("No longer yours: %(when)s %(title)s"),
}
CANCELLED_BECAUSE = N_("Cancelled: %(when)s %(title)s (%(reason)s)")
COUNTS = {
    "added": N_("%(num)d added"),
    "moved": N_("%(num)d moved"),
    "cancelled": N_("%(num)d cancelled"),
    "reinstated": N_("%(num)d reinstated"),
    "handed_to_you": N_("%(num)d handed to you"),
    "handed_over": N_("%(num)d handed over"),  # "taken_away" counts with these
}
CALENDAR_CHANGED = N_("Calendar changes: %(changes)s")
VILLAGE_CALENDAR_CHANGED = N_("Calendar of %(village)s changes: %(changes)s")
YEAR_PLANNED = N_("On-site sessions and publicity events of %(year)s are planned: "
                  "%(count)d in all")
MORE = N_("… and %(more)d more.")

ASSIGNED_BY = N_("Assigned by %(name)s.")
PROGRAMME_LINE = N_("%(programme)s: %(titles)s")
DUE = N_("due %(date)s")

PAIRED_LAWYER = N_("You are now the lawyer of %(village)s (%(start)s to %(end)s)")
PAIRED_VILLAGE = N_("%(lawyer)s is now the lawyer of %(village)s (%(start)s to %(end)s)")
ONSITE = N_("On-site: %(arrangement)s")
ENDED_LAWYER = N_("Your pairing with %(village)s ended on %(date)s")
ENDED_VILLAGE = N_("The pairing of %(village)s with %(lawyer)s ended on %(date)s")

REPLACED_OLD = N_("From %(date)s %(new)s replaces you as the lawyer of %(village)s")
REPLACED_OLD_BODY = N_("Your open tasks there and its sessions from that day on pass to "
                       "%(new)s.")
REPLACED_NEW = N_("From %(date)s you replace %(old)s as the lawyer of %(village)s")
REPLACED_OTHERS = N_("From %(date)s %(new)s replaces %(old)s as the lawyer of %(village)s")
REASON = N_("Reason: %(reason)s")
TASK_LINE = N_("Task: %(title)s")
TAKE_OVER = N_("You take over %(tasks)d open tasks and %(events)d planned sessions and "
               "publicity events:")


# --- common -----------------------------------------------------------------------------------

def _language():
    locale = get_settings().locale
    return gettext_for(locale), ngettext_for(locale), locale


def _not_actor(users, actor: User | None) -> list[User]:
    """Nobody is told of what they did themself."""
    return [user for user in users if actor is None or user.id != actor.id]


def _when(instant: dt.datetime) -> str:
    return clock.to_local(instant).strftime("%Y-%m-%d %H:%M")


def _with_more(lines: list[str], limit: int, gettext) -> list[str]:
    if len(lines) <= limit:
        return lines
    return lines[:limit] + [gettext(MORE) % {"more": len(lines) - limit}]


def _village_link(village: Village) -> str:
    return f"/villages/{village.code}"  # the village page, with its pairing panel


def _lawyer_page(lawyer_id: int) -> str:
    return f"/lawyers/{lawyer_id}"  # a lawyer's own page: all their villages


# --- tasks ------------------------------------------------------------------------------------

@hookimpl
def tasks_assigned(tasks, actor):
    """One message per lawyer who got tasks in this act: how many, and a few titles by
    programme; to ``/tasks/mine``. A task done or cancelled by the time the act is told
    (an import or the demo, told after their commit) is not news."""
    by_lawyer: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        if task.assignee_id and task.status in OPEN_STATUSES:
            by_lawyer[task.assignee_id].append(task)
    users = lawyer_users(by_lawyer)
    recipients = {lawyer_id: _not_actor(found, actor) for lawyer_id, found in users.items()}
    if not any(recipients.values()):
        return
    gettext, ngettext, locale = _language()
    for lawyer_id, mine in by_lawyer.items():
        if not recipients[lawyer_id]:
            continue
        title = ngettext("You have %(num)d new task", "You have %(num)d new tasks",
                         len(mine)) % {"num": len(mine)}
        lines = []
        if actor is not None:
            lines.append(gettext(ASSIGNED_BY) % {"name": actor.display_name or actor.username})
        lines += _programme_lines(mine, gettext, locale)
        notify_users(recipients[lawyer_id], kind="tasks_assigned", title=title,
                     body="\n".join(lines), link=TASKS_LINK, outside=False)


def _programme_lines(tasks: list[Task], gettext, locale: str) -> list[str]:
    """A line per programme (the first few), with the first few titles of its tasks."""
    by_programme: dict[str, list[Task]] = defaultdict(list)
    for task in sorted(tasks, key=lambda t: (t.due_on or dt.date.max, t.id)):
        by_programme[task.program].append(task)
    lines = []
    for slug, group in by_programme.items():
        titles = [_task_text(task, gettext) for task in group[:TITLES_PER_PROGRAMME]]
        if len(group) > TITLES_PER_PROGRAMME:
            titles.append(gettext(MORE) % {"more": len(group) - TITLES_PER_PROGRAMME})
        name = name_of("programme", slug, locale)
        lines.append("- " + gettext(PROGRAMME_LINE) % {
            "programme": name, "titles": format_list(titles, locale=locale)})
    return _with_more(lines, MAX_PROGRAMMES, gettext)


def _task_text(task: Task, gettext) -> str:
    """The task's title, village and due date (the services hand the tasks over with their
    villages read: ``core.tasks.with_related``)."""
    text = task.title
    if task.village_id:
        text += f" · {task.village.name}"
    if task.due_on:
        text += f" ({gettext(DUE) % {'date': task.due_on.isoformat()}})"
    return text


# --- calendar events --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Seen:
    """One change of one event as one recipient sees it (``what``: a key of LINES)."""
    event: Event
    what: str
    previous_start: dt.datetime | None = None
    other_lawyer: str = ""


@hookimpl
def events_changed(changes, actor):
    """One message per lawyer and per village touched by this act."""
    for_lawyers: dict[int, list[_Seen]] = defaultdict(list)
    for_villages: dict[int, list[_Seen]] = defaultdict(list)
    lawyer_ids = {c.event.lawyer_id for c in changes} | {c.previous_lawyer_id for c in changes}
    names = dict(Lawyer.select(Lawyer.id, Lawyer.name).where(
        Lawyer.id.in_([i for i in lawyer_ids if i])).tuples())
    for change in changes:
        event = change.event
        if event.kind not in LAWYER_EVENT_KINDS:
            continue
        before, now = change.previous_lawyer_id, event.lawyer_id
        if change.change == "reassigned" or (before and before != now):
            if before and before != now:
                what = "handed_over" if now else "taken_away"
                for_lawyers[before].append(_Seen(event, what, other_lawyer=names.get(now, "")))
            if now and now != before:
                for_lawyers[now].append(_Seen(event, "handed_to_you"))
        elif now:
            for_lawyers[now].append(_Seen(event, change.change, change.previous_start))
        if event.kind in VILLAGE_EVENT_KINDS and event.village_id \
                and change.change in VILLAGE_CHANGES:
            for_villages[event.village_id].append(
                _Seen(event, change.change, change.previous_start))
    gettext, _ngettext, locale = _language()
    users = lawyer_users(for_lawyers)
    for lawyer_id, seen in for_lawyers.items():
        recipients = _not_actor(users.get(lawyer_id, []), actor)
        if recipients:
            title, body = _calendar_message(seen, actor, gettext, locale)
            link = _calendar_link(seen, f"/calendar/lawyer/{lawyer_id}",
                                  readable=seen[0].what not in ("handed_over", "taken_away"))
            notify_users(recipients, kind="events_changed", title=title, body=body, link=link,
                         outside=False)
    if not for_villages:
        return
    users = village_users(for_villages)
    villages = {v.id: v for v in Village.select().where(Village.id.in_(list(for_villages)))}
    for village_id, seen in for_villages.items():
        recipients = _not_actor(users.get(village_id, []), actor)
        if recipients:
            village = villages[village_id]
            title, body = _calendar_message(seen, actor, gettext, locale, village=village)
            link = _calendar_link(seen, f"/calendar/village/{village.code}", readable=False)
            notify_users(recipients, kind="events_changed", title=title, body=body, link=link,
                         outside=False)


def _calendar_message(seen: list[_Seen], actor: User | None, gettext, locale: str,
                      village: Village | None = None) -> tuple[str, str]:
    """The title and body of one person's message: a single change is its own title; a
    planning run that only added events of one year says so; else the counts by change.
    The body lists the first MAX_LINES changes in time order."""
    seen = sorted(seen, key=lambda s: (s.event.starts_at, s.event.id))
    lines = [_line(s, gettext) for s in seen]
    if len(seen) == 1:
        return lines[0], ""
    counts = Counter("handed_over" if s.what == "taken_away" else s.what for s in seen)
    years = {clock.local_date(s.event.starts_at).year for s in seen}
    if set(counts) == {"added"} and actor is None and len(years) == 1:
        title = gettext(YEAR_PLANNED) % {"year": years.pop(), "count": len(seen)}
    else:
        parts = [gettext(COUNTS[what]) % {"num": counts[what]} for what in COUNTS
                 if counts[what]]
        changes = format_list(parts, locale=locale)
        title = (gettext(VILLAGE_CALENDAR_CHANGED) % {"village": village.name,
                                                      "changes": changes}
                 if village is not None else gettext(CALENDAR_CHANGED) % {"changes": changes})
    return title, "\n".join(_with_more(lines, MAX_LINES, gettext))


def _line(seen: _Seen, gettext) -> str:
    event = seen.event
    params = {"title": event.title, "when": _when(event.starts_at),
              "lawyer": seen.other_lawyer}
    if seen.what == "moved" and seen.previous_start is not None:
        params.update(old=_when(seen.previous_start), new=_when(event.starts_at))
        return gettext(LINES["moved"]) % params
    if seen.what == "moved":  # where it was is not known: say where it is
        return gettext(LINES["added"]) % params
    if seen.what == "cancelled" and event.cancel_reason:
        return gettext(CANCELLED_BECAUSE) % {**params, "reason": " ".join(
            event.cancel_reason.split())}
    return gettext(LINES[seen.what]) % params


def _calendar_link(seen: list[_Seen], calendar: str, readable: bool = True) -> str:
    """A lawyer's one event: its page (when they may still open it); else the calendar
    (the village's, for its users) at the month of the first event."""
    if len(seen) == 1 and readable:
        return f"/calendar/events/{seen[0].event.id}"
    first = min(s.event.starts_at for s in seen)
    return f"{calendar}?month={clock.local_date(first):%Y-%m}"


# --- pairings ---------------------------------------------------------------------------------

def _replacement_entry(pairing: Pairing) -> AuditLog | None:
    """The audit entry of the replacement that made ``pairing``, if one did."""
    return (AuditLog.select().where((AuditLog.action == "pairing.replace")
                                    & (AuditLog.object_type == Pairing._meta.table_name)
                                    & (AuditLog.object_id == str(pairing.id))).first())


def part_of_replacement(pairing: Pairing, change: str) -> bool:
    """Is this "paired" or "ended" one side of a replacement (``lawyer_replaced`` tells
    everyone then)? A replacement is the one act that ends a pairing while another of the
    village begins; its audit entry names both."""
    if change == "paired":
        return _replacement_entry(pairing) is not None
    successor = (Pairing.select().where((Pairing.village == pairing.village_id)
                                        & (Pairing.status == "active")).first())
    entry = _replacement_entry(successor) if successor is not None else None
    return entry is not None and (entry.detail or {}).get("replaced") == pairing.id


@hookimpl
def pairing_changed(pairing, change):
    """A lawyer paired with a village, or a pairing ended: the lawyer and the village's
    users (a replacement is told by ``lawyer_replaced``)."""
    if change not in ("paired", "ended") or getattr(pairing, "village_id", None) is None \
            or part_of_replacement(pairing, change):
        return
    gettext, _ngettext, _locale = _language()
    village, lawyer = pairing.village, pairing.lawyer
    key = f"pairing:{pairing.id}:{change}"
    lawyers = lawyer_users([lawyer.id]).get(lawyer.id, [])
    villagers = village_users([village.id]).get(village.id, [])
    if change == "paired":
        params = {"village": village.name, "lawyer": lawyer.name,
                  "start": pairing.term_start.isoformat(), "end": pairing.term_end.isoformat()}
        body = gettext(ONSITE) % {"arrangement": describe(pairing.arrangement, gettext)}
        notify_users(lawyers, kind="pairing_changed", title=gettext(PAIRED_LAWYER) % params,
                     body=body, link=_village_link(village), dedupe_key=key, outside=False)
        notify_users(villagers, kind="pairing_changed", title=gettext(PAIRED_VILLAGE) % params,
                     body=body, link=_village_link(village), dedupe_key=key, outside=False)
        return
    ended = pairing.ended_on or pairing.term_end
    params = {"village": village.name, "lawyer": lawyer.name, "date": ended.isoformat()}
    notify_users(lawyers, kind="pairing_changed", title=gettext(ENDED_LAWYER) % params,
                 link=_lawyer_page(lawyer.id), dedupe_key=key, outside=False)
    notify_users(villagers, kind="pairing_changed", title=gettext(ENDED_VILLAGE) % params,
                 link=_village_link(village), dedupe_key=key, outside=False)


@hookimpl
def lawyer_replaced(old, new, actor):
    """Who replaces whom from which day: to both lawyers, the village's users and the
    village's and town's coordinators; the new lawyer also reads what they take over."""
    gettext, _ngettext, _locale = _language()
    village = new.village
    params = {"old": old.lawyer.name, "new": new.lawyer.name, "village": village.name,
              "date": new.term_start.isoformat()}
    key = f"lawyer_replaced:{new.id}"
    lawyers = lawyer_users([old.lawyer_id, new.lawyer_id])
    notify_users(_not_actor(lawyers[old.lawyer_id], actor), kind="lawyer_replaced",
                 title=gettext(REPLACED_OLD) % params, body=gettext(REPLACED_OLD_BODY) % params,
                 link=_lawyer_page(old.lawyer_id), dedupe_key=key, outside=False)
    notify_users(_not_actor(lawyers[new.lawyer_id], actor), kind="lawyer_replaced",
                 title=gettext(REPLACED_NEW) % params, body=_taken_over(new, gettext),
                 link=_village_link(village), dedupe_key=key, outside=False)
    villagers = village_users([village.id])[village.id]
    others = gettext(REPLACED_OTHERS) % params
    notify_users(_not_actor(villagers, actor), kind="lawyer_replaced", title=others,
                 link=_village_link(village), dedupe_key=key, outside=False)
    reason = " ".join((old.end_reason or "").split())
    notify_users(_not_actor(local_coordinators(village), actor), kind="lawyer_replaced",
                 title=others, body=gettext(REASON) % {"reason": reason} if reason else "",
                 link=_village_link(village), dedupe_key=key, outside=False)


def _taken_over(new: Pairing, gettext) -> str:
    """What the new lawyer takes over: the village's open tasks (theirs now) and its
    sessions and publicity events still to come in their term (re-planning hands them
    over, in the job queue, if it has not yet)."""
    tasks = list(Task.select().where((Task.village == new.village_id)
                                     & (Task.assignee == new.lawyer_id)
                                     & Task.status.in_(OPEN_STATUSES))
                 .order_by(Task.due_on.is_null(), Task.due_on, Task.id))
    start = max(clock.now_utc(), clock.utc_from_local(new.term_start, dt.time()))
    events = list(Event.select().where((Event.village == new.village_id)
                                       & Event.kind.in_(ON_SITE_KINDS)
                                       & (Event.status == "planned")
                                       & (Event.starts_at >= start)
                                       & (Event.starts_at <= clock.utc_from_local(
                                           new.term_end + dt.timedelta(days=1), dt.time())))
                  .order_by(Event.starts_at, Event.id))
    if not tasks and not events:
        return ""
    lines = [gettext(TAKE_OVER) % {"tasks": len(tasks), "events": len(events)}]
    lines += _with_more([gettext(TASK_LINE) % {"title": task.title} for task in tasks],
                        TITLES_PER_PROGRAMME, gettext)
    lines += _with_more([f"{_when(event.starts_at)} {event.title}" for event in events],
                        TITLES_PER_PROGRAMME, gettext)
    return "\n".join(lines)


@hookimpl
def problem_opened(problem, opening):
    """Every active administrator, once per opening, in the inbox only: the shared copies
    go through the very channels that may be the problem. One who asked for problems by
    e-mail gets their own copy (core.notify)."""
    gettext = _language()[0]
    admins = User.select().where((User.role == "admin") & User.active).order_by(User.id)
    notify_users(admins, kind="problem",
                 title=gettext(PROBLEM_TITLE) % {"summary": problem.summary},
                 body=problem.key, link=PROBLEMS_LINK,
                 dedupe_key=f"problem:{problem.id}:{opening}", outside=False)


# --- periodic reports -----------------------------------------------------------------------

REPORT_KIND = "report"  # core.notify.NOTICE_KINDS: coordinators and leaders receive it


def report_recipients(town: Town | None = None) -> list[User]:
    """Who receives a periodic report of the district (``town`` None) or of one town: the
    active coordinators and members of the leadership group whose scope covers it — the
    district's for every report, the town's own for its report — district coordinators
    first. Coordinators of one village and firm heads are not among them (a report is of
    a place they do not read whole). Each person once."""
    scope = User.town.is_null()
    if town is not None:
        scope = scope | (User.town == town.id)
    return list(User.select().where(
        User.role.in_(("coordinator", "leader")) & User.active & User.village.is_null()
        & User.firm.is_null() & scope)
        .order_by(User.role, User.town.is_null(False), User.id))


def announce_report(msgid: str, link: str, *, town: Town | None = None, body: str = "",
                    dedupe_key: str | None = None, **values) -> list:
    """Tell ``report_recipients(town)`` that a report is ready: the message's title is
    ``msgid``, an English msgid (``N_``) with ``%(name)s`` ``values``, stored in the
    district's language like every notice; ``link`` leads to the report. With
    ``dedupe_key`` (e.g. ``report:2026-Q4``) a job run twice tells nobody twice. Returns
    the notifications made now."""
    gettext, _ngettext, _locale = _language()
    text = gettext(msgid) % values if values else gettext(msgid)
    return notify_users(report_recipients(town), kind=REPORT_KIND, title=text, body=body,
                        link=link, dedupe_key=dedupe_key)
