"""Why an event is where it is, in words: the note a lawyer's feed and the event's page show
when a session is not on its pairing's arranged day (``Event.placement``, set by the planner
and by the event services), e.g. 原定10月13日（星期二）为休息日（国庆节），改在最近的工作日.

One home for the wording (``placement_note``); ``notes_for`` words many events with one
query for the holidays' names and one for the days that make-ups make up for.
"""
import datetime as dt

from core import clock
from core.arrangements import WEEKDAY_NAMES
from core.i18n import N_
from core.models import Event, Holiday

# The programme's own words for its on-site work (not UI text): titles, feed categories,
# what a make-up makes up for.
KIND_WORDS = {"session": "坐班", "publicity": "法制宣传"}
# Every kind of event at a village with its word: the on-site work above, and a village's
# activity its lawyer accepted an invitation to (core.village_requests), which is no quota
# slot and cannot be made up.
EVENT_WORDS = {**KIND_WORDS, "activity": "村(居)活动"}
MAKEUP_MARK = "（补）"  # a make-up's title: 坐班（补） · 东浜村


def event_title(kind: str, village_name: str, makeup: bool = False) -> str:
    """坐班 · 东浜村, 法制宣传 · 东浜村, 坐班（补） · 东浜村, 村(居)活动 · 东浜村: what
    calendars show of an event at a village (the planner's, the make-up's and an accepted
    invitation's titles, the feeds' summaries): never a title someone typed."""
    return f"{EVENT_WORDS[kind]}{MAKEUP_MARK if makeup else ''} · {village_name}"

DAY = N_("%(weekday)s %(month)s/%(day)s")
DAY_OFF_NAMED = N_("Arranged for %(day)s, a day off (%(holiday)s); moved to the nearest "
                   "workday.")
DAY_OFF = N_("Arranged for %(day)s, a day off; moved to the nearest workday.")
BUSY = N_("Arranged for %(day)s, when the lawyer is booked elsewhere; moved to the nearest "
          "free workday.")
TERM = N_("Arranged for %(day)s, outside the pairing's term; moved to the nearest workday "
          "within it.")
MANUAL_FROM = N_("Arranged for %(day)s; moved by hand.")
MANUAL = N_("Moved by hand.")
MAKEUP = N_("Make-up of the %(kind)s of %(day)s.")
MAKEUP_UNDATED = N_("Make-up of a missed %(kind)s.")


def day_text(day: dt.date, gettext) -> str:
    """10月13日（星期二）; Tuesday 10/13."""
    return gettext(DAY) % {"weekday": gettext(WEEKDAY_NAMES[day.weekday()]),
                           "month": day.month, "day": day.day}


def placement_note(event: Event, gettext, holiday_name: str | None = None,
                   made_up_day: dt.date | None = None) -> str:
    """Why ``event`` is not on its arranged day, or "" when it is (or the planner did not
    place it: tasks, publicity events near a publicity day). ``holiday_name`` names the day
    off it left (see ``holiday_names``); ``made_up_day`` is the day of the event a make-up
    makes up for (read from ``event.makeup_for`` when not given)."""
    placement, arranged = event.placement, event.arranged_on
    if placement == "makeup":
        kind = KIND_WORDS.get(event.kind, event.kind)
        if made_up_day is None and event.makeup_for_id:
            missed = Event.get_or_none(Event.id == event.makeup_for_id)
            made_up_day = clock.local_date(missed.starts_at) if missed else None
        if made_up_day is None:
            return gettext(MAKEUP_UNDATED) % {"kind": kind}
        return gettext(MAKEUP) % {"kind": kind, "day": day_text(made_up_day, gettext)}
    if placement == "manual":
        if arranged is None:
            return gettext(MANUAL)
        return gettext(MANUAL_FROM) % {"day": day_text(arranged, gettext)}
    if arranged is None:
        return ""
    day = day_text(arranged, gettext)
    if placement == "day_off":
        if holiday_name:
            return gettext(DAY_OFF_NAMED) % {"day": day, "holiday": holiday_name}
        return gettext(DAY_OFF) % {"day": day}
    if placement == "busy":
        return gettext(BUSY) % {"day": day}
    if placement == "term":
        return gettext(TERM) % {"day": day}
    return ""


def holiday_names(days) -> dict[dt.date, str]:
    """The names of the days off among ``days`` (one query)."""
    wanted = sorted({day for day in days if day is not None})
    if not wanted:
        return {}
    rows = (Holiday.select(Holiday.day, Holiday.name)
            .where(Holiday.day.in_(wanted) & (Holiday.kind == "off")).tuples())
    return {_as_date(day): name for day, name in rows if name}


def notes_for(events, gettext) -> dict[int, str]:
    """The placement note of each event that has one, by event id: one query for the
    holidays' names, one for the days the make-ups make up for."""
    events = list(events)
    holidays = holiday_names(e.arranged_on for e in events if e.placement == "day_off")
    missed_ids = {e.makeup_for_id for e in events if e.placement == "makeup" and e.makeup_for_id}
    made_up = {}
    if missed_ids:
        made_up = {event_id: clock.local_date(starts_at) for event_id, starts_at in
                   Event.select(Event.id, Event.starts_at)
                   .where(Event.id.in_(sorted(missed_ids))).tuples()}
    notes = {}
    for event in events:
        note = placement_note(event, gettext, holidays.get(event.arranged_on),
                              made_up.get(event.makeup_for_id))
        if note:
            notes[event.id] = note
    return notes


def note_of(event: Event, gettext) -> str:
    """The placement note of one event (the event's page)."""
    return notes_for([event], gettext).get(event.id, "")


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value
