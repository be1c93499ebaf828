"""Time: instants are stored in UTC; dates are read in the district's time zone."""
import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
_zone = ZoneInfo("Asia/Shanghai")


def set_timezone(name: str) -> None:
    global _zone
    _zone = ZoneInfo(name)


def zone() -> ZoneInfo:
    return _zone


def now_utc() -> dt.datetime:
    """Naive UTC, as stored in the database (SQLite has no time zones)."""
    return dt.datetime.now(UTC).replace(tzinfo=None)


def today() -> dt.date:
    return dt.datetime.now(_zone).date()


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week: a week runs Monday to Sunday, as the district's
    calendars print it."""
    return day - dt.timedelta(days=day.weekday())


def utc_from_local(day: dt.date, time: dt.time) -> dt.datetime:
    """The stored (naive UTC) form of a wall-clock time on a district date."""
    return dt.datetime.combine(day, time, tzinfo=_zone).astimezone(UTC).replace(tzinfo=None)


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The district year as a stored (naive UTC) instant range [start, end): from
    1 January 00:00 district time."""
    return (utc_from_local(dt.date(year, 1, 1), dt.time.min),
            utc_from_local(dt.date(year + 1, 1, 1), dt.time.min))


def as_utc(instant: dt.datetime) -> dt.datetime:
    """Naive UTC, as stored: an aware datetime is converted, a naive one is taken as UTC."""
    if instant.tzinfo is not None:
        return instant.astimezone(UTC).replace(tzinfo=None)
    return instant


def local_date(instant: dt.datetime) -> dt.date:
    """The district date of a stored (naive UTC) instant."""
    return instant.replace(tzinfo=UTC).astimezone(_zone).date()


def to_local(instant: dt.datetime | None) -> dt.datetime | None:
    """A stored (naive UTC) instant in the district's time zone."""
    if instant is None:
        return None
    return instant.replace(tzinfo=UTC).astimezone(_zone)
