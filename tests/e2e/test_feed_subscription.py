"""A lawyer subscribes to their feed from a running `jiedui run`: the feed opens in three
independent iCalendar readers with the lawyer's planned events, and a second fetch with
its ETag gets 304."""
import datetime as dt
import re
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from ical.calendar_stream import IcsCalendarStream

from tests.e2e.conftest import LIVE

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _demo_lawyer_id() -> int:
    with sqlite3.connect(LIVE["instance"] / "jiedui.db") as conn:
        return conn.execute("SELECT lawyer_id FROM user WHERE username = 'lawyer'").fetchone()[0]


def _new_feed_url(base: str) -> str:
    result = subprocess.run([str(LIVE["jiedui"]), "feed-token", "--lawyer",
                             str(_demo_lawyer_id()), "--label", "iPhone"],
                            env=LIVE["env"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    urls = re.findall(r"(https?://\S+\.ics|webcal://\S+\.ics)", result.stdout)
    assert any(u.startswith("webcal://") for u in urls)
    return next(u for u in urls if u.startswith(base))


def _fetch(url, **headers):
    request = urllib.request.Request(url, headers={"User-Agent": "iOS/17 dataaccessd", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _revalidates(url: str, etag: str, attempts: int = 10) -> bool:
    """A client holding the current ETag gets 304 with no body. The running consumer may
    republish the feed between two fetches (an earlier test ended a pairing, which
    re-plans): then the answer is the new feed under a new ETag, and the client holds that
    one next."""
    for _ in range(attempts):
        status, headers, body = _fetch(url, **{"If-None-Match": etag})
        if status == 304:
            return body == b""
        assert status == 200 and headers["ETag"] != etag, "same ETag, yet the body was sent"
        etag = headers["ETag"]
        time.sleep(1)
    return False


def test_lawyer_feed_opens_in_three_readers_and_revalidates(live_server):
    url = _new_feed_url(live_server)
    status, headers, body = _fetch(url)
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")

    calendar = icalendar.Calendar.from_ical(body)
    events = [e for e in calendar.walk("VEVENT") if str(e.get("STATUS")) != "CANCELLED"]
    assert len(events) >= 12, "the demo lawyer's planned sessions are in the feed"
    kinds = {str(c) for e in events for c in e.get("CATEGORIES").cats}
    assert {"坐班", "法制宣传"} <= kinds
    first = min(e.decoded("DTSTART") for e in events)
    assert first.tzinfo is not None and first.utcoffset() == dt.timedelta(hours=8)

    parsed = IcsCalendarStream.calendar_from_ics(body.decode())
    assert {e.uid for e in parsed.timeline} >= {str(e["UID"]) for e in events
                                                if e.decoded("DTSTART").year == first.year}

    year = dt.datetime.now(SHANGHAI).year
    between = recurring_ical_events.of(calendar).between(dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
    live = [e for e in between if str(e.get("STATUS")) != "CANCELLED"]
    assert {str(e["UID"]) for e in live} == {str(e["UID"]) for e in events
                                             if e.decoded("DTSTART").year == year}

    assert _revalidates(url, headers["ETag"])
    unknown = url.rsplit("/", 1)[0] + "/" + "0" * 43 + ".ics"
    assert _fetch(unknown)[0] == 404
