"""The pace figures kept at commit (``core.pace_tally``) say what working every pairing out
again says: after each change a coordinator or lawyer makes on the demo district, the
kept table equals a fresh count, and the pairings behind pace (the desk's counts, the list,
the quota page's filter) equal the reference — the way ``behind_pace`` worked before the
figures were kept: every village's quota, every held event counted up to the day."""
import datetime as dt
from collections import Counter

import pytest

from core import clock, desk, pace_tally, series, town_tally
from core.calendar_views import event_filter
from core.session_tally import FIGURES, SESSIONS
from core.assessment import (Figures, _count_events, _held_events, _pairings, behind_counts,
                             behind_pace, behind_pairing_ids, count_behind)
from core.config import get_settings
from core.demo import DEMO_LOGINS
from core.errors import ValidationError
from core.events import add_makeup, cancel_event, move_event, record_held, reinstate_event
from core.models import Event, PaceTally, Pairing, User
from core.pace import quota_due, term_share
from core.pairings import replace_lawyer
from tests.factories import make_lawyer
from tests.planning_support import now  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow  # the demo district



def reference(year: int, today: dt.date, user=None) -> list[tuple]:
    """The slow path: (pairing, held sessions, due, held publicity, due) of the active
    pairings in scope behind pace by ``today``, by town and village."""
    owned = _pairings(year, user, active_only=True)
    until = clock.utc_from_local(today + dt.timedelta(days=1), dt.time())
    held = {pairing_id: Figures() for pairing_id in owned}
    for pairing_id, events in _held_events(year, list(owned), until).items():
        _count_events(held[pairing_id], events, get_settings().min_session_hours)
    rows = []
    for pairing_id, (pairing, quota) in owned.items():
        share = term_share(pairing.term_start, pairing.term_end, year, today)
        row = (pairing_id, held[pairing_id].sessions_held, quota_due(quota.sessions, share),
               held[pairing_id].publicity_held, quota_due(quota.publicity, share))
        if row[1] < row[2] or row[3] < row[4]:
            rows.append(((pairing.village.town.code, pairing.village.code), row))
    return [row for _key, row in sorted(rows, key=lambda item: item[0])]


def kept(year: int, today: dt.date, user=None) -> list[tuple]:
    return [(r.pairing.id, r.sessions_held, r.sessions_due, r.publicity_held, r.publicity_due)
            for r in behind_pace(year, today, user)]


def kept_page(today: dt.date, offset: int) -> list[tuple]:
    return [(r.pairing.id, r.sessions_held, r.sessions_due, r.publicity_held, r.publicity_due)
            for r in behind_pace(today.year, today, offset=offset, limit=7)]


def users() -> list:
    return [None] + [User.get(User.username == DEMO_LOGINS[role][0])
                     for role in ("coordinator", "town coordinator", "lawyer")]


def assert_sessions_true_to_the_records(label: str) -> None:
    """The sessions kept per town and month (``core.session_tally``) are what a fresh
    count gives, and the charts read from them what counting the events says."""
    wanted, stored = town_tally._compared(SESSIONS, list(FIGURES), None)
    assert wanted == stored, label
    year, now_ = clock.today().year, clock.now_utc()
    months = [dt.date(year, m, 1) for m in range(1, 13)]
    for user in users():
        counted = series.sessions_by_month(months, dt.date(year + 1, 1, 1), user)
        assert [(m.planned, m.held) for m in series.session_months(year, user=user)] == [
            (planned, held) for _day, planned, held in counted], (label, user)
        # due by a moment early in the year (the months before it, kept) and late (the
        # year less the months from it on)
        for moment in (now_, *(clock.utc_from_local(dt.date(year, m, 15), dt.time(12))
                               for m in (3, 10, 12))):
            by_town = series._town_sessions_counted(year, moment, event_filter(user))
            for row in series.town_sessions(year, user=user, now=moment):
                expected = by_town.get(row.town.id, {"planned": 0, "held": 0, "due": 0})
                assert (row.pace.target, row.pace.done, row.pace.expected) == (
                    expected["planned"], expected["held"], expected["due"]), (
                    label, user, moment)


def assert_true_to_the_records(label: str) -> None:
    """The kept table is what a fresh count gives, and every reader sees the reference."""
    assert pace_tally._stored() == pace_tally.work_out(), label
    assert_sessions_true_to_the_records(label)
    today = clock.today()
    for day in (today, dt.date(today.year, 3, 31), dt.date(today.year, 12, 31)):
        for user in users():
            expected = reference(today.year, day, user)
            assert kept(today.year, day, user) == expected, (label, day, user)
    expected = reference(today.year, today)
    assert {pairing_id for pairing_id, in behind_pairing_ids(today.year, today).tuples()} == {
        row[0] for row in expected}, label  # the quota page's "only behind the pace"
    assert count_behind(today.year, today) == len(expected)
    pages = [kept_page(today, offset) for offset in range(0, len(expected) + 1, 7)]
    assert [row for page in pages for row in page] == expected, label  # a page at a time
    counts = behind_counts(today.year, today)
    assert counts["count"] == len(expected), label
    by_lawyer = Counter(Pairing.get_by_id(row[0]).lawyer_id for row in expected)
    assert {lawyer_id: n for lawyer_id, _name, n in counts["lawyers"]} == dict(by_lawyer)
    first = behind_counts(today.year, today, top=3)  # the desk's: the first few of each
    assert (first["count"], first["towns"], first["lawyers"]) == (
        counts["count"], counts["towns"][:3], counts["lawyers"][:3]), label
    assert first["most_behind"] == [row.pairing.id for row in behind_pace(
        today.year, today, most_behind=3)], label


def _planned(**where) -> Event:
    query = Event.select().where((Event.status == "planned") & (Event.kind == "session"))
    for name, value in where.items():
        query = query.where(getattr(Event, name) < value if name == "before"
                            else getattr(Event, name) == value)
    return query.order_by(Event.starts_at, Event.id).first()


def test_the_kept_figures_follow_every_change(demo_db, now, monkeypatch):
    real_now = dt.datetime.utcnow()
    now(real_now)
    year = clock.today().year
    assert PaceTally.select().where(PaceTally.year == year).count() > 0
    assert_true_to_the_records("the demo as loaded")

    # a session that was over and not recorded: recorded as held
    missed = (Event.select().where((Event.status == "planned") & (Event.kind == "session")
                                   & (Event.ends_at < real_now - dt.timedelta(days=3)))
              .order_by(Event.starts_at.desc()).first())
    assert missed is not None
    record_held(None, missed, start=missed.starts_at, end=missed.ends_at)
    assert_true_to_the_records("recorded held")

    # a session to come: cancelled, reinstated, cancelled again and made up
    coming = (Event.select().where((Event.status == "planned") & (Event.kind == "session")
                                   & (Event.starts_at > real_now + dt.timedelta(days=2)))
              .order_by(Event.starts_at).first())
    cancel_event(None, coming, reason="路断了")
    assert_true_to_the_records("cancelled")
    reinstate_event(None, Event.get_by_id(coming.id))
    assert_true_to_the_records("reinstated")
    moved = Event.get_by_id(coming.id)
    was = moved.starts_at
    for days in range(1, 15):  # the first free slot of the lawyer's next days
        later = dt.timedelta(days=days)
        try:
            move_event(None, Event.get_by_id(coming.id), starts_at=moved.starts_at + later,
                       ends_at=moved.ends_at + later)
            break
        except ValidationError:
            continue
    assert Event.get_by_id(coming.id).starts_at != was
    assert_true_to_the_records("moved")

    # an over session not held: made up, and the make-up held (the clock moves on)
    over = (Event.select().where((Event.status == "planned") & (Event.kind == "session")
                                 & (Event.ends_at < real_now - dt.timedelta(days=3)))
            .order_by(Event.starts_at.desc()).first())
    start = over.starts_at + dt.timedelta(days=1)
    while start < real_now:
        start += dt.timedelta(days=1)
    makeup = None
    while makeup is None:  # the first day the lawyer is free
        try:
            makeup = add_makeup(None, over, starts_at=start,
                                ends_at=start + (over.ends_at - over.starts_at))
        except ValidationError:
            start += dt.timedelta(days=1)
    assert_true_to_the_records("made up")
    now(makeup.ends_at + dt.timedelta(hours=1))
    record_held(None, Event.get_by_id(makeup.id), start=makeup.starts_at, end=makeup.ends_at)
    assert_true_to_the_records("make-up held")

    # a lawyer replaced mid-year: the village's quota is shared between two pairings
    pairing = Pairing.select().where(Pairing.status == "active").order_by(Pairing.id).first()
    replace_lawyer(None, pairing, lawyer=make_lawyer("新律师", pairing.lawyer.firm),
                   on=max(pairing.term_start + dt.timedelta(days=1),
                          dt.date(year, 9, 1)))
    assert_true_to_the_records("lawyer replaced")

    # the minimum length of a session raised: the short ones no longer count
    monkeypatch.setenv("JIEDUI_MORNING", "08:00-12:00")
    monkeypatch.setenv("JIEDUI_AFTERNOON", "13:30-17:30")
    monkeypatch.setenv("JIEDUI_MIN_SESSION_HOURS", "4")
    before = pace_tally._stored()
    behind_pace(year, clock.today())  # a reader notices the change and counts again
    assert pace_tally._stored() != before
    assert_true_to_the_records("min_session_hours changed")

    # the product clock moved back (held events after the day) and forward
    now(dt.datetime(year, 5, 20, 4))
    assert_true_to_the_records("clock in May")
    now(dt.datetime(year, 12, 31, 12))
    assert_true_to_the_records("clock on New Year's Eve")


def test_the_repair_puts_back_what_a_change_past_the_services_left(demo_db):
    """A change written past the services (a script, a failed reaction): the hourly job
    (``rebuild``) finds and repairs exactly the rows that differ."""
    year = clock.today().year
    row = PaceTally.select().where(PaceTally.year == year).first()
    PaceTally.update(sessions_held=row.sessions_held + 5).where(
        (PaceTally.pairing == row.pairing) & (PaceTally.year == year)).execute()
    PaceTally.delete().where(PaceTally.pairing == (row.pairing_id + 1)).execute()
    assert pace_tally.rebuild() >= 2
    assert pace_tally._stored() == pace_tally.work_out()
    assert pace_tally.rebuild() == 0


def test_the_desk_groups_are_the_references(demo_db):
    today = clock.today()
    coordinator = User.get(User.username == DEMO_LOGINS["coordinator"][0])
    found = desk.desk(coordinator)
    expected = reference(today.year, today, coordinator)
    assert found.behind_count == len(expected)
    towns = Counter(Pairing.get_by_id(row[0]).village.town.name for row in expected)
    ranked = sorted(towns.items(), key=lambda item: (-item[1], item[0]))[:desk.TOP_SHOWN]
    assert [(g.name, g.count) for g in found.behind_towns] == ranked
    owed = sorted(expected, key=lambda r: -(max(r[2] - r[1], 0) + max(r[4] - r[3], 0)))
    assert [row.pairing.id for row in found.most_behind] == [r[0] for r in owed[:desk.TOP_SHOWN]]
