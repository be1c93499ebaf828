"""A village's address (core.villages): the coordinators who manage the village keep it on
the village page; it is checked, audited, and the feeds of the village's events show it as
their LOCATION at once (with a new SEQUENCE)."""
import icalendar
import pytest

from core import feeds
from core.errors import PermissionDenied, ValidationError
from core.models import AuditLog, FeedSnapshot, Village
from core.villages import update_address
from tests.feed_helpers import add_event, at, local_day

ADDRESS = "上海市示范区东湖镇东湖1村村民委员会"


@pytest.fixture
def session(district):
    return add_event(district.pairings[0], start=at(local_day(10), 9))


def location(key: str, uid: str) -> tuple[str, int]:
    body = bytes(FeedSnapshot.get(FeedSnapshot.key == key).body)
    event = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}[uid]
    return str(event["LOCATION"]), int(event["SEQUENCE"])


def test_a_new_address_is_audited_and_reaches_the_feeds_at_once(district, session):
    village = district.villages[0]
    keys = [f"lawyer:{district.lawyers[0].id}", f"village:{village.code}", "district"]
    for key in keys:
        feeds.publish(key)
    assert location(keys[0], session.uid) == ("示范区东湖镇东湖1村", 0)
    update_address(district.users.town_coordinator, village, f"  {ADDRESS} ")
    assert Village.get_by_id(village.id).address == ADDRESS
    for key in keys:
        assert location(key, session.uid) == (ADDRESS, 1), key
    entry = AuditLog.get(AuditLog.action == "village.update")
    assert entry.detail == {"before": {"address": ""}, "after": {"address": ADDRESS}}
    assert entry.object_id == str(village.id) and entry.username == "coord-t1"
    update_address(district.users.coordinator, village, ADDRESS)  # the same: nothing written
    assert AuditLog.select().where(AuditLog.action == "village.update").count() == 1
    update_address(None, village, "")  # cleared: the feeds name district, town and village
    assert location(keys[0], session.uid) == ("示范区东湖镇东湖1村", 2)


def test_only_the_villages_managers_change_it_and_typed_text_is_checked(district):
    village = district.villages[0]
    u = district.users
    for user in (u.other_town_coordinator, u.lawyer, u.village):
        with pytest.raises(PermissionDenied):
            update_address(user, village, ADDRESS)
    for bad, says in (("x" * 201, "At most"), ("东湖\x00村", "control character")):
        with pytest.raises(ValidationError, match=says):
            update_address(u.coordinator, village, bad)
    assert Village.get_by_id(village.id).address == ""
    assert not AuditLog.select().where(AuditLog.action == "village.update").exists()


@pytest.fixture
def english(client):
    client.set_cookie("lang", "en")


def test_the_village_page_offers_the_form_to_its_managers(english, client, login, district):
    village = district.villages[0]
    url = f"/villages/{village.code}"
    login(district.users.town_coordinator)
    page = client.get(url).get_data(as_text=True)
    assert 'id="village-address"' in page and f'hx-post="{url}/address"' in page
    assert "No address yet: calendars show 示范区东湖镇东湖1村." in page

    saved = client.post(f"{url}/address", data={"address-address": ADDRESS},
                        headers={"HX-Request": "true"})
    assert saved.status_code == 200 and saved.headers["HX-Trigger"] == "villageChanged"
    fragment = saved.get_data(as_text=True)
    assert "<html" not in fragment and ADDRESS in fragment
    assert f"The address of {village.name} was saved." in fragment

    refused = client.post(f"{url}/address", data={"address-address": "x" * 300},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "At most 200 characters." in refused.get_data(
        as_text=True)
    assert Village.get_by_id(village.id).address == ADDRESS

    plain = client.post(f"{url}/address", data={"address-address": "东湖路1号"})
    assert plain.status_code == 302 and plain.headers["Location"].endswith(url)

    login(district.users.lawyer)  # reads the address, has no form
    page = client.get(url).get_data(as_text=True)
    assert "东湖路1号" in page and f'{url}/address"' not in page
    assert client.post(f"{url}/address", data={"address-address": "x"}).status_code == 403
    login(district.users.other_town_coordinator)
    assert client.post(f"{url}/address", data={"address-address": "x"}).status_code == 404
    assert Village.get_by_id(village.id).address == "东湖路1号"
