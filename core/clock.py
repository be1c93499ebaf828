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
