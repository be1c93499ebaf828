"""Publishing the feeds (core.feeds): a change re-renders only the published feeds that show
it (marked dirty with the change), the hourly job only catches up on what was missed, each
event's VEVENT text is serialised once for every feed that shows it, and the district's feed
is bounded whatever the district's size."""
import datetime as dt
import uuid

import icalendar
import pytest

from core import clock, feeds
from core.models import Event, FeedDirty, FeedSnapshot, Lawyer, Town, Village
from tests.feed_helpers import add_event, at, calendar_district, later, local_day, utc  # noqa: F401

MB = 1024 * 1024


@pytest.fixture
def cal(district):
    return calendar_district(district)


@pytest.fixture
def renders(monkeypatch):
    """The keys of the feeds rendered from now on, in order."""
    rendered = []
    real = feeds._render

    def counting(prepared):
        rendered.append(prepared.key)
        return real(prepared)
    monkeypatch.setattr(feeds, "_render", counting)
    return rendered


def vevents(body: bytes) -> dict:
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def stored(key: str) -> dict:
    return vevents(bytes(FeedSnapshot.get(FeedSnapshot.key == key).body))


def every_key() -> list[str]:
    return (["district"] + [f"town:{code}" for (code,) in Town.select(Town.code).tuples()]
            + [f"lawyer:{i}" for (i,) in Lawyer.select(Lawyer.id).tuples()]
            + [f"village:{code}" for (code,) in Village.select(Village.code).tuples()])


def feeds_of(cal) -> set[str]:
    """The feeds a session of the calendar district's first village appears in."""
    return {f"lawyer:{cal.lawyer.id}", f"town:{cal.town.code}", "district",
            f"village:{cal.village.code}"}


def test_a_change_to_one_event_re_renders_only_the_published_feeds_that_show_it(
        cal, district, renders):
    from core.events import cancel_event
    unpublished = f"village:{cal.village.code}"
    feeds.publish_keys(key for key in every_key() if key != unpublished)
    renders.clear()
    cancel_event(district.users.coordinator, cal.events.afternoon, reason="暴雨")
    assert sorted(renders) == sorted(feeds_of(cal) - {unpublished})
    assert stored(f"lawyer:{cal.lawyer.id}")[cal.events.afternoon.uid]["STATUS"] == "CANCELLED"
    # the published feeds' marks are gone; the other's stays for a first rendering
    assert [key for (key,) in FeedDirty.select(FeedDirty.key).tuples()] == [unpublished]
    # a feed nobody fetched yet is rendered when first asked for, with the change
    assert FeedSnapshot.get_or_none(FeedSnapshot.key == unpublished) is None
    first = vevents(bytes(feeds.snapshot_for(unpublished).body))
    assert first[cal.events.afternoon.uid]["STATUS"] == "CANCELLED"
    assert not FeedDirty.select().exists()  # it read the change: its mark is done with


def test_an_hour_with_nothing_changed_renders_nothing(cal, renders, later):
    feeds.publish_keys(every_key())
    feeds.catch_up()  # the first catch-up republishes every feed
    renders.clear()
    later(1)
    assert feeds.catch_up() == {}
    later(2)
    assert feeds.catch_up() == {}
    assert renders == []


def test_the_hourly_catch_up_re_renders_exactly_the_feeds_whose_window_crossed_an_event(
        cal, renders, later):
    now = clock.now_utc()
    entering = add_event(cal.pairing, start=clock.to_local(
        now + feeds.WINDOW_AHEAD + dt.timedelta(minutes=30)))
    leaving = add_event(cal.pairing, start=clock.to_local(
        now - feeds.DISTRICT_WINDOW_BACK + dt.timedelta(minutes=30)))
    feeds.publish_keys(every_key())
    feeds.catch_up()
    assert entering.uid not in stored(f"lawyer:{cal.lawyer.id}")
    assert leaving.uid in stored("district")
    renders.clear()
    later(1)
    results = feeds.catch_up()
    # the 400-day window of the lawyer's and the village's feed took the one in; the
    # district's week back let the other go; the town's seven months moved past neither
    assert sorted(renders) == sorted(results) == sorted(
        {f"lawyer:{cal.lawyer.id}", f"village:{cal.village.code}", "district"})
    assert entering.uid in stored(f"lawyer:{cal.lawyer.id}")
    assert leaving.uid not in stored("district")
    assert leaving.uid in stored(f"town:{cal.town.code}")


def test_a_change_made_while_the_queue_is_down_is_published_by_the_hourly_catch_up(
        cal, district, renders, later, monkeypatch):
    from core import jobs
    from core.events import cancel_event
    feeds.publish_keys(every_key())
    feeds.catch_up()
    renders.clear()

    def down(ids):
        raise ConnectionError("redis is down")
    monkeypatch.setattr(jobs, "publish_feeds", down)
    cancel_event(district.users.coordinator, cal.events.afternoon, reason="暴雨")
    assert renders == []
    assert set(feeds.dirty_keys()) == feeds_of(cal)
    assert stored(f"lawyer:{cal.lawyer.id}")[cal.events.afternoon.uid]["STATUS"] == "CONFIRMED"
    later(1)
    jobs.republish_all_feeds()  # the hourly job (huey runs it at once in the tests)
    assert sorted(renders) == sorted(feeds_of(cal))
    assert feeds.dirty_keys() == []
    assert stored(f"lawyer:{cal.lawyer.id}")[cal.events.afternoon.uid]["STATUS"] == "CANCELLED"


def test_a_mark_made_while_a_feed_was_rendered_stays(cal, monkeypatch):
    key = f"lawyer:{cal.lawyer.id}"
    feeds.publish(key)
    feeds.mark_dirty([cal.events.session.id])
    real = feeds._publish  # what the job runs for each feed

    def publish_then_changed(key, **kwargs):  # another change lands during the rendering
        snapshot = real(key, **kwargs)
        marked = FeedDirty.get(FeedDirty.key == key).marked_at
        FeedDirty.update(marked_at=marked + dt.timedelta(seconds=1)).execute()
        return snapshot
    monkeypatch.setattr(feeds, "_publish", publish_then_changed)
    feeds.publish_dirty()
    assert key in feeds.dirty_keys()
    monkeypatch.setattr(feeds, "_publish", real)
    feeds.publish_dirty()
    assert feeds.dirty_keys() == []



def test_a_change_committed_during_a_feeds_first_rendering_is_not_lost(cal, district,
                                                                         monkeypatch):
    """The feed had no snapshot when the change was committed, so no published feed was
    there to mark: its first publishing finds the change's mark and reads again."""
    from core.events import cancel_event
    key = f"lawyer:{cal.lawyer.id}"
    assert FeedSnapshot.get_or_none(FeedSnapshot.key == key) is None
    real, changed = feeds._render, []

    def render_then_changed(prepared):
        body = real(prepared)
        if not changed:  # the coordinator cancels while the phone's first poll renders
            changed.append(cancel_event(district.users.coordinator, cal.events.afternoon,
                                        reason="暴雨"))
        return body
    monkeypatch.setattr(feeds, "_render", render_then_changed)
    feeds.snapshot_for(key)
    assert changed
    assert stored(key)[cal.events.afternoon.uid]["STATUS"] == "CANCELLED"


def test_unpublished_feeds_are_marked_but_never_rendered_by_the_job(cal, renders, later):
    assert feeds.mark_dirty([cal.events.session.id]) == []  # none of its feeds is published
    assert FeedDirty.select().count() == len(feeds_of(cal))
    assert feeds.dirty_keys() == []
    feeds.publish_dirty()
    assert renders == []
    assert FeedDirty.select().count() == len(feeds_of(cal))  # a first rendering may need them
    later(1)
    feeds.publish_dirty()
    assert renders == [] and FeedDirty.select().count() == 0

# --- the VEVENT texts, serialised once ------------------------------------------------------

def tree_render(prepared) -> bytes:
    """The feed as the renderer before VEVENT texts were shared made it: one icalendar tree
    per feed, serialised whole."""
    feed, settings = prepared.feed, prepared.settings
    zone_name = clock.zone().key
    calendar = icalendar.Calendar.new(prodid=feeds.PRODID, calscale="GREGORIAN",
                                      method="PUBLISH", name=feed.name)
    calendar.pop("UID", None)
    calendar.add("REFRESH-INTERVAL", feeds.REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", "PT1H")
    calendar.add("X-WR-TIMEZONE", zone_name)
    if feed.district:
        from core.i18n import gettext_for
        calendar.add("X-WR-CALDESC", gettext_for(settings.locale)(feeds.DISTRICT_NOTE) % {
            "n": feeds.DISTRICT_BACK_MAX + feeds.DISTRICT_AHEAD_MAX})
    listed = [(e, prepared.shown[e.id]) for e in prepared.events]
    listed += [(e, prepared.handed_shown[e.id]) for e in prepared.handed]
    listed.sort(key=lambda pair: (pair[0].starts_at, pair[0].id))
    for event, shown in listed:
        calendar.add_component(feeds._vevent(event, shown, feed, settings.feed_alarms))
    for position, tzid in enumerate(sorted(calendar.get_missing_tzids())):
        calendar.subcomponents.insert(position, feeds._timezone(tzid))
    if not listed:
        calendar.add_component(feeds._timezone(zone_name))
    return calendar.to_ical()


def test_the_feeds_are_the_bytes_one_icalendar_tree_gives(cal, district):
    from core.events import hand_over
    hand_over(cal.events.afternoon, district.lawyers[2].id)  # a handed-over block too
    keys = every_key()
    for key in keys:
        assert feeds.render_feed(key) == tree_render(feeds._prepare(key, None)), key


def test_an_event_shown_in_several_feeds_is_serialised_once_per_variant(cal):
    feeds._blocks.clear()
    before = feeds.block_renders
    town = vevents(feeds.render_feed(f"town:{cal.town.code}"))
    assert feeds.block_renders - before == len(town)
    before = feeds.block_renders
    district = vevents(feeds.render_feed("district"))
    assert feeds.block_renders - before == len(set(district) - set(town))  # the others' towns
    before = feeds.block_renders
    feeds.render_feed(f"lawyer:{cal.lawyer.id}")  # another text: the lawyer's, with contacts
    assert feeds.block_renders > before
    before = feeds.block_renders
    feeds.render_feed(f"lawyer:{cal.lawyer.id}")
    feeds.render_feed("district")
    assert feeds.block_renders == before


def test_a_changed_event_is_serialised_again(cal, district):
    from core.events import cancel_event
    key = f"lawyer:{cal.lawyer.id}"
    feeds.publish(key)
    cancel_event(district.users.coordinator, cal.events.afternoon, reason="暴雨")
    assert stored(key)[cal.events.afternoon.uid]["STATUS"] == "CANCELLED"
    assert feeds.render_feed(key) == tree_render(feeds._prepare(key, None))


# --- the district's feed is bounded ----------------------------------------------------------

def test_the_district_feed_holds_the_nearest_events_and_stays_under_a_megabyte(cal, district):
    """A province's worth of events in the district's window (here 1,500 in a month): the
    feed keeps the nearest DISTRICT_BACK_MAX before now and DISTRICT_AHEAD_MAX after."""
    now = clock.now_utc().replace(microsecond=0) + dt.timedelta(seconds=5)  # still ahead
    rows = []
    for n in range(1500):
        village = district.villages[n % len(district.villages)]
        start = now + dt.timedelta(minutes=20 * n - 5 * 24 * 60)  # 5 days back, 16 ahead
        rows.append(dict(uid=f"{uuid.uuid4()}@jiedui.test", kind="session", village=village.id,
                         starts_at=start, ends_at=start + dt.timedelta(hours=3),
                         status="planned", created_at=now, updated_at=now))
    Event.insert_many(rows).execute()
    body = feeds.render_feed("district")
    found = vevents(body)
    assert len(found) == feeds.DISTRICT_BACK_MAX + feeds.DISTRICT_AHEAD_MAX
    assert len(body) < MB
    starts = sorted(utc(e.decoded("DTSTART")) for e in found.values())
    ahead = [s for s in starts if s >= now]
    back = [s for s in starts if s < now]
    assert (len(back), len(ahead)) == (feeds.DISTRICT_BACK_MAX, feeds.DISTRICT_AHEAD_MAX)
    assert min(ahead) == now  # the nearest first: the next one is in, the furthest are not
    assert max(back) == now - dt.timedelta(minutes=20)
    assert max(ahead) < now + dt.timedelta(days=11)
    town = vevents(feeds.render_feed(f"town:{cal.town.code}"))
    assert len(town) > len(found) / 3  # a town's feed keeps all of the town's month


def test_a_village_feed_of_a_day_far_ahead_is_not_in_the_district(cal):
    far = add_event(cal.pairing, start=at(local_day(60), 9))
    assert far.uid not in vevents(feeds.render_feed("district"))
    assert far.uid in vevents(feeds.render_feed(f"town:{cal.town.code}"))


def test_an_import_that_changes_a_towns_judicial_office_republishes_the_towns_feeds(
        cal, district, tmp_path, renders):
    """The hourly job no longer renders every feed: an import republishes what it changed
    (here the office of the town, from a row of another of its villages)."""
    from core.importer import import_file
    from tests.test_importer import write_csv
    feeds.publish_keys(every_key())
    renders.clear()
    village = district.pairings[1].village
    assert village.town_id == cal.town.id and village.id != cal.village.id
    row = dict(town_code=cal.town.code, town_name=cal.town.name, judicial_office="东湖镇新司法所",
               village_code=village.code, village_name=village.name, kind="村")
    import_file(write_csv(tmp_path / "office.csv", [row], keys=list(row)))
    described = str(stored(f"lawyer:{cal.lawyer.id}")[cal.events.session.uid]["DESCRIPTION"])
    assert "东湖镇新司法所" in described
    other_town = f"town:{cal.events.other_town.village.town.code}"
    assert f"lawyer:{cal.lawyer.id}" in renders and other_town not in renders
    assert feeds.dirty_keys() == []


def test_a_mark_of_a_feed_of_nothing_is_dropped_and_a_broken_feeds_mark_stays(cal, monkeypatch):
    # a town's feed published once, the town since gone
    FeedSnapshot.create(key="town:gone", body=b"", etag='"gone"', generated_at=clock.now_utc())
    FeedDirty.create(key="town:gone", marked_at=clock.now_utc())
    key = f"lawyer:{cal.lawyer.id}"
    feeds.publish(key)
    feeds.mark_dirty([cal.events.session.id])
    real = feeds._prepare

    def broken(feed_key, now):
        if feed_key == key:
            raise RuntimeError("boom")
        return real(feed_key, now)
    monkeypatch.setattr(feeds, "_prepare", broken)
    results = feeds.publish_dirty()
    assert results["town:gone"] == results[key] == "failed"
    assert feeds.dirty_keys() == [key]  # tried again by the next job or the hourly catch-up
    monkeypatch.setattr(feeds, "_prepare", real)
    assert feeds.publish_dirty()[key] == "published"
    assert feeds.dirty_keys() == []
