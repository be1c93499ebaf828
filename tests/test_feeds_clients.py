"""Real calendar clients: vdirsyncer syncs a lawyer's feed from a real HTTP server into a
folder, one file per event, and khal lists from that folder exactly the events the web
calendar shows (day, start, title). A calendar-level UID made vdirsyncer name every item
after it, so all but one event were lost."""
import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.placements import event_title
from werkzeug.serving import make_server

from core import calendar_views, clock, feeds
from core.events import cancel_event
from core.planner import plan_year

pytestmark = pytest.mark.slow  # real calendar clients (vdirsyncer, khal) in their own processes

BIN = Path(sys.executable).parent
VDIRSYNCER, KHAL = BIN / "vdirsyncer", BIN / "khal"


@pytest.fixture
def served(app):
    """The app on a real loopback HTTP server (a port of its own), in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _env(tmp_path: Path, **more) -> dict:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "VDIRSYNCER"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"),
               TZ="Asia/Shanghai", LANG="C.UTF-8", LC_ALL="C.UTF-8", **more)
    return env


def _run(command, env) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], env=env, capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


def sync_with_vdirsyncer(url: str, tmp_path: Path) -> Path:
    folder = tmp_path / "calendar"
    folder.mkdir()
    config = tmp_path / "vdirsyncer.conf"
    config.write_text(f'''[general]
status_path = "{tmp_path / 'status'}/"

[pair jiedui]
a = "jiedui_feed"
b = "jiedui_folder"
collections = null
conflict_resolution = "a wins"

[storage jiedui_feed]
type = "http"
url = "{url}"
read_only = true

[storage jiedui_folder]
type = "filesystem"
path = "{folder}/"
fileext = ".ics"
''')
    env = _env(tmp_path, VDIRSYNCER_CONFIG=str(config))
    _run([VDIRSYNCER, "discover"], env)
    _run([VDIRSYNCER, "sync"], env)
    return folder


def list_with_khal(folder: Path, first: dt.date, last: dt.date, tmp_path: Path) -> list:
    config = tmp_path / "khal.conf"
    config.write_text(f'''[calendars]
[[jiedui]]
path = {folder}
type = calendar

[sqlite]
path = {tmp_path / 'khal.db'}

[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
local_timezone = Asia/Shanghai
default_timezone = Asia/Shanghai
''')
    listed = _run([KHAL, "-c", config, "list", "--once", "--day-format", "",
                   "--format", "{start-date}|{start-time}|{title}|{cancelled}",
                   first.isoformat(), last.isoformat()], _env(tmp_path)).stdout
    rows = []
    for line in listed.splitlines():
        if line.strip():
            day, start, title, cancelled = line.split("|")
            rows.append((day, start, title, bool(cancelled.strip())))
    return sorted(rows)


def shown_on_the_web(user, first: dt.date, last: dt.date, within=None) -> list:
    """The lawyer's calendar as the web shows it (core.calendar_views), in the feed's words;
    ``within``: only the events starting between these two instants (naive UTC)."""
    scope = calendar_views.default_scope(user)
    rows = []
    for event in calendar_views.events_in_range(user, scope, first, last + dt.timedelta(days=1)):
        if within and not within[0] <= event.starts_at <= within[1]:
            continue
        start = calendar_views.to_local(event.starts_at)
        title = event_title(event.kind, event.village.name, event.placement == "makeup")
        cancelled = event.status == "cancelled"
        if cancelled:
            title = f"（已取消）{title}"
        rows.append((start.date().isoformat(), start.strftime("%H:%M"), title, cancelled))
    return sorted(rows)


def test_vdirsyncer_and_khal_list_what_the_web_calendar_shows(served, district, tmp_path):
    assert VDIRSYNCER.exists() and KHAL.exists(), \
        "vdirsyncer and khal come with the test extra: `make install` (pyproject.toml)"
    today = clock.today()
    for year in (today.year, today.year + 1):
        if year <= 2028:  # the small district's terms end then
            plan_year(year)
    user = district.users.lawyer
    _, raw = feeds.create_token(None, user, "khal")
    upcoming = calendar_views.events_in_range(user, calendar_views.default_scope(user),
                                              today + dt.timedelta(days=7),
                                              today + dt.timedelta(days=60))
    assert upcoming, "the plan gave the lawyer sessions in the coming weeks"
    cancel_event(None, upcoming[0], reason="暴雨")  # listed too, marked as cancelled

    folder = sync_with_vdirsyncer(f"{served}/feeds/{raw}.ics", tmp_path)
    # The feed's window is instants (now − 90 days to now + 400 days): on its first and last
    # days it holds the events on the right side of this moment's time of day only.
    now = clock.now_utc()
    window = (now - feeds.WINDOW_BACK, now + feeds.WINDOW_AHEAD)
    first, last = (clock.local_date(instant) for instant in window)
    expected = shown_on_the_web(user, first, last, within=window)
    assert len(expected) >= 12
    assert len(list(folder.glob("*.ics"))) == len(expected)  # one file per event
    assert list_with_khal(folder, first, last, tmp_path) == expected
