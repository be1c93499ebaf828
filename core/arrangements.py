"""A pairing's on-site arrangement (驻点时间): the week of the month, the weekday, and the
hours the lawyer is at the village, e.g. 每月第二个周二上午 9:00–12:30.

It is the one source of truth for the on-site sessions: the planner puts each month's
session on it (``Arrangement.day_in``), and the public village page, the contact card, the
pairing panel and the feeds show it as ``describe`` words it. The half-day rule of the plan
(每次不少于半天, ``JIEDUI_MIN_SESSION_HOURS``) is checked where an arrangement is made or
edited (``check``), so a session held as arranged always counts.
"""
import calendar as stdlib_calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass

from core import clock
from core.errors import ValidationError
from core.i18n import N_

WEEKS = (1, 2, 3, 4, 5)  # 5: the last such weekday of the month
WEEKDAYS = (0, 1, 2, 3, 4)  # Monday to Friday: on-site sessions are on workdays
NOON = dt.time(12, 0)

# Labels (msgids) used by every page, the CLI and the feeds.
WEEK_NAMES = {1: N_("first"), 2: N_("second"), 3: N_("third"), 4: N_("fourth"), 5: N_("last")}
WEEKDAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
                 N_("Saturday"), N_("Sunday"))
HALF_DAY_NAMES = {"am": N_("Morning"), "pm": N_("Afternoon")}
TEXT = N_("The %(week)s %(weekday)s of each month, %(half_day)s %(start)s–%(end)s")


@dataclass(frozen=True)
class Arrangement:
    """When the lawyer is at the village: the ``week``-th ``weekday`` of every month (week 5:
    the last one), from ``start`` to ``end`` on the district's wall clock."""
    week: int
    weekday: int
    start: dt.time
    end: dt.time

    @property
    def half_day(self) -> str:
        """"am" or "pm": the half of the day the session starts in."""
        return "am" if self.start < NOON else "pm"

    @property
    def hours(self) -> float:
        return (_minutes(self.end) - _minutes(self.start)) / 60

    def day_in(self, year: int, month: int) -> dt.date:
        """The arranged day of a month, e.g. its second Tuesday."""
        return _day_in(self.week, self.weekday, year, month)

    def times_on(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The arranged hours on ``day``, as stored (naive UTC)."""
        return clock.utc_from_local(day, self.start), clock.utc_from_local(day, self.end)

    def meets(self, other: "Arrangement", gap: dt.timedelta) -> bool:
        """Could the two arrangements ask one lawyer to be in two villages at once? The same
        weekday, a week that can be the same day (the fourth is the last in a short month),
        and hours closer than ``gap`` (the travel between two villages)."""
        if self.weekday != other.weekday:
            return False
        weeks = {self.week, other.week}
        if len(weeks) == 2 and weeks != {4, 5}:
            return False
        margin = gap.total_seconds() / 60
        return (_minutes(self.start) < _minutes(other.end) + margin
                and _minutes(other.start) < _minutes(self.end) + margin)


@functools.lru_cache(maxsize=4096)
def _day_in(week: int, weekday: int, year: int, month: int) -> dt.date:
    """``Arrangement.day_in``, worked out once per week, weekday and month (a province's
    26,000 pairings share 25 arrangements' days: the quota asks for each pairing's)."""
    days = [day for day in range(1, stdlib_calendar.monthrange(year, month)[1] + 1)
            if dt.date(year, month, day).weekday() == weekday]
    return dt.date(year, month, days[-1] if week == 5 else days[week - 1])


def _minutes(time: dt.time) -> int:
    return time.hour * 60 + time.minute


def clock_text(time: dt.time) -> str:
    """9:00, 14:30: how the programme's notices write a time of day."""
    return f"{time.hour}:{time.minute:02d}"


def describe(arrangement: Arrangement, gettext) -> str:
    """The arrangement in words, e.g. 每月第二个星期二上午 9:00–12:30."""
    return gettext(TEXT) % {"week": gettext(WEEK_NAMES[arrangement.week]),
                            "weekday": gettext(WEEKDAY_NAMES[arrangement.weekday]),
                            "half_day": gettext(HALF_DAY_NAMES[arrangement.half_day]),
                            "start": clock_text(arrangement.start),
                            "end": clock_text(arrangement.end)}


def check(arrangement: Arrangement, min_hours: float) -> Arrangement:
    """Refuse an arrangement that is not a workday's half-day of at least ``min_hours``."""
    if arrangement.week not in WEEKS:
        raise ValidationError(N_("Choose the week of the month (first to fourth, or last)."),
                              field="onsite_week")
    if arrangement.weekday not in WEEKDAYS:
        raise ValidationError(N_("On-site sessions are on a weekday, Monday to Friday."),
                              field="onsite_weekday")
    if not isinstance(arrangement.start, dt.time) or not isinstance(arrangement.end, dt.time):
        raise ValidationError(N_("Enter the hours the lawyer is at the village."),
                              field="onsite_start")
    if arrangement.end <= arrangement.start:
        raise ValidationError(N_("The on-site hours must end after they start."),
                              field="onsite_end")
    if arrangement.hours < min_hours - 1e-9:
        raise ValidationError(N_("An on-site session lasts at least half a day (%(hours)s "
                                 "hours); %(start)s–%(end)s is %(actual)s."), field="onsite_end",
                              hours=f"{min_hours:g}", start=clock_text(arrangement.start),
                              end=clock_text(arrangement.end),
                              actual=f"{arrangement.hours:g}")
    return arrangement


def candidates(village_id: int, morning: tuple[dt.time, dt.time],
               afternoon: tuple[dt.time, dt.time]):
    """Arrangements for a pairing made without one (an import without the columns, a
    script), best first: every week, weekday and half-day with the configured half-day
    hours, starting at one derived from the village's id, so one lawyer's villages do not
    all ask for the same morning. The caller takes the first that fits the lawyer."""
    choices = [(week, weekday, half) for half in (morning, afternoon) for week in WEEKS[:4]
               for weekday in WEEKDAYS]
    first = (village_id * 7) % len(choices)
    for week, weekday, (start, end) in choices[first:] + choices[:first]:
        yield Arrangement(week=week, weekday=weekday, start=start, end=end)


# --- reading an arrangement written in words (imports, older data) ---------------------------

_WEEK_WORDS = {"一": 1, "1": 1, "二": 2, "2": 2, "三": 3, "3": 3, "四": 4, "4": 4,
               "最后一": 5, "最后": 5, "末": 5}
_WEEKDAY_WORDS = {"一": 0, "1": 0, "二": 1, "2": 1, "三": 2, "3": 2, "四": 3, "4": 3,
                  "五": 4, "5": 4, "六": 5, "6": 5, "日": 6, "天": 6, "7": 6}
_WEEK = re.compile(r"(?:第\s*([一二三四1-4])\s*个?|(最后一|最后|末)\s*个?)\s*(?:周|星期|礼拜)")
_WEEKDAY = re.compile(r"(?:周|星期|礼拜)\s*([一二三四五六日天1-7])")
_HOURS = re.compile(r"(\d{1,2})\s*[:：]\s*(\d{2})\s*[-–—~～至到]\s*(\d{1,2})\s*[:：]\s*(\d{2})")


def parse(text: str, morning: tuple[dt.time, dt.time],
          afternoon: tuple[dt.time, dt.time]) -> Arrangement | None:
    """An arrangement written as the office writes it, e.g. "每月第二个周二上午 9:00-12:30",
    "第一个星期三 下午", "每月最后一个周五 14:00–17:30"; None when the text does not name a
    week and a weekday. Without hours, 上午/下午 (or neither: the morning) takes the
    configured half-day."""
    text = (text or "").strip()
    week, weekday = _WEEK.search(text), _WEEKDAY.search(text)
    if week is None or weekday is None:
        return None
    hours = _HOURS.search(text)
    if hours:
        h1, m1, h2, m2 = (int(part) for part in hours.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            return None
        start, end = dt.time(h1, m1), dt.time(h2, m2)
    else:
        start, end = afternoon if "下午" in text else morning
    return Arrangement(week=_WEEK_WORDS[week.group(1) or week.group(2)],
                       weekday=_WEEKDAY_WORDS[weekday.group(1)], start=start, end=end)


def stretched(arrangement: Arrangement, min_hours: float) -> Arrangement:
    """The arrangement lengthened at its end to ``min_hours`` when it is shorter (older data
    published 3-hour windows that the half-day rule does not count)."""
    if arrangement.hours >= min_hours - 1e-9:
        return arrangement
    end = dt.datetime.combine(dt.date(2000, 1, 1), arrangement.start) + dt.timedelta(
        minutes=round(min_hours * 60))
    return Arrangement(arrangement.week, arrangement.weekday, arrangement.start,
                       min(end.time(), dt.time(23, 59)) if end.day == 1 else dt.time(23, 59))
