"""Sign-in on the phone: the one-tap action partial in each state (as a home includes it and
on the event's page), its HTMX answers, what coordinators see of a sign-in on the event's
page, the calendar and the quota, and photos only for those who may read the event."""
import datetime as dt
import io
import re

import pytest
from flask import render_template_string
from PIL import Image
from playhouse.test_utils import count_queries

from core import signins
from core.events import record_held
from core.models import Event, SignIn, WorkLog
from core.users import create_user
from tests.factories import PASSWORD
from tests.planning_support import make_event, now, published, utc  # noqa: F401 (fixtures)
from web.access import allow

HX = {"HX-Request": "true"}
D = dt.date
MONDAY = D(2026, 3, 2)


@pytest.fixture
def home(app):
    """A stand-in for the lawyer's home: one session row including the partial exactly as
    the home does (``ignore missing``)."""
    @allow("lawyer", "admin", "coordinator", "village")
    def rows(ids):
        events = [Event.get_by_id(int(event_id)) for event_id in ids.split(",")]
        return render_template_string(
            '{% for event in events %}<li class="row">'
            '{% include "signin/_home_action.html" ignore missing %}</li>{% endfor %}',
            events=events)
    app.add_url_rule("/test-home/<ids>", "test_home_rows", rows)
    return lambda client, *events: client.get(
        "/test-home/" + ",".join(str(event.id) for event in events)).get_data(as_text=True)


@pytest.fixture
def today(district, now, published, tmp_path, monkeypatch):
    """Pairing 0's session on MONDAY 08:30-12:00, the clock at 08:20 that day."""
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path))
    now(utc(2026, 3, 2, 8, 20))
    return make_event(district.pairings[0], MONDAY, "am")


def text(response) -> str:
    return response.get_data(as_text=True)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def sign_in_and_out(district, event, now, photos=1):
    signins.sign_in(district.users.lawyer, event,
                    position=signins.read_position("31.037512", "121.227934", "23.4"))
    now(utc(2026, 3, 2, 12, 5))
    return signins.sign_out(district.users.lawyer, event, content="解答宅基地纠纷咨询",
                            residents=7, photos=[io.BytesIO(jpeg()) for _ in range(photos)])


# --- the action partial, state by state ---------------------------------------------------------

def test_on_the_day_the_lawyer_sees_one_big_sign_in_button(district, today, home, login):
    html = home(login(district.users.lawyer), today)
    assert f'id="signin-action-{today.id}"' in html
    form = re.search(r"<form class=\"signin-form\".*?</form>", html, re.S).group(0)
    assert f'hx-post="/signins/events/{today.id}/in"' in form and "data-geolocate" in form
    assert f'hx-target="#signin-action-{today.id}"' in form
    for name in ("latitude", "longitude", "accuracy"):
        assert re.search(rf'<input[^>]*name="signin-{today.id}-{name}"[^>]*type="hidden"', form) \
            or re.search(rf'<input[^>]*type="hidden"[^>]*name="signin-{today.id}-{name}"', form)
    assert re.search(r'<button type="submit" class="signin-button">签到</button>', form)
    assert "<script" not in html and "style=" not in html  # the CSP allows neither


def test_after_signing_in_the_lawyer_sees_the_sign_out_form(district, today, home, login):
    signins.sign_in(district.users.lawyer, today)
    html = home(login(district.users.lawyer), today)
    assert "已签到 08:20" in html and "未记录位置" in html
    form = re.search(r"<form class=\"signout-form\".*?</form>", html, re.S).group(0)
    assert 'hx-encoding="multipart/form-data"' in form
    assert f'name="signout-{today.id}-content"' in form
    assert re.search(rf'name="signout-{today.id}-residents"[^>]*type="number"', form) or \
        re.search(rf'type="number"[^>]*name="signout-{today.id}-residents"', form)
    photo = re.search(r"<input[^>]*type=\"file\"[^>]*>", form).group(0)
    assert 'accept="image/*"' in photo and 'capture="environment"' in photo
    assert "multiple" in photo
    assert ">签退</button>" in form


def test_after_signing_out_the_row_says_signed_in_out_and_held(district, today, home, login,
                                                               now):
    sign_in_and_out(district, today, now, photos=0)
    html = home(login(district.users.lawyer), today)
    assert "已签到 08:20" in html and "已签退 12:05" in html and "已举行" in html
    assert "<form" not in html


@pytest.mark.parametrize("who", ["coordinator", "village", "admin"])
def test_others_see_no_action_on_the_lawyers_row(district, today, home, login, who):
    html = home(login(getattr(district.users, who)), today)
    assert "signin-action" not in html


def test_another_days_session_shows_nothing(district, today, home, login):
    tomorrow = make_event(district.pairings[0], D(2026, 3, 3), "am")
    assert "signin-action" not in home(login(district.users.lawyer), tomorrow)


def test_a_home_of_several_sessions_reads_their_sign_ins_at_once(district, today, home, login):
    week = [today] + [make_event(district.pairings[0], D(2026, 3, day), "am") for day in (3, 4)]
    signins.sign_in(district.users.lawyer, today)
    client = login(district.users.lawyer)
    shown = []
    assert sign_in_queries(lambda: shown.append(home(client, *week))) == 1
    assert shown[0].count('id="signin-action-') == 1 and "signout-form" in shown[0]


def test_a_session_recorded_late_shows_it(district, today, home, login, now):
    last_week = make_event(district.pairings[0], D(2026, 2, 23), "am")
    record_held(district.users.lawyer, last_week, start=last_week.starts_at,
                end=last_week.ends_at)
    html = home(login(district.users.lawyer), last_week)
    assert "已举行" in html and "补录" in html


# --- posting -------------------------------------------------------------------------------------

def test_sign_in_with_htmx_answers_with_the_partial(district, today, login):
    client = login(district.users.lawyer)
    response = client.post(f"/signins/events/{today.id}/in", headers=HX, data={
        f"signin-{today.id}-latitude": "31.037512", f"signin-{today.id}-longitude": "121.227934",
        f"signin-{today.id}-accuracy": "23.4", "place": "home"})
    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    assert response.headers["HX-Trigger"] == "calendarChanged"
    assert "已于 08:20 签到，已记录位置（误差约 24 米）。" in html
    assert "signout-form" in html
    assert SignIn.get().accuracy_m == 24


def test_sign_in_without_a_position_still_works_and_says_so(district, today, login):
    response = login(district.users.lawyer).post(f"/signins/events/{today.id}/in", headers=HX,
                                                 data={"place": "home"})
    assert response.status_code == 200
    assert "已于 08:20 签到，未记录位置：手机没有提供位置。" in text(response)
    assert SignIn.get().latitude is None


@pytest.mark.parametrize("place, headers", [("home", HX), ("event", HX), ("home", {})])
def test_sign_in_refused_on_another_day_says_why_in_chinese(district, today, login, now, place,
                                                            headers):
    now(utc(2026, 3, 3, 9))
    response = login(district.users.lawyer).post(f"/signins/events/{today.id}/in",
                                                 headers=headers, data={"place": place})
    assert response.status_code == 422
    assert "只能在活动当天（2026-03-02）签到。" in text(response)
    assert ("<html" in text(response)) == (not headers)  # without HTMX, a whole page
    assert SignIn.select().count() == 0


def post_sign_out(district, event, login, now, content, residents, photos=()):
    """The lawyer, signed in at 08:20, posts the sign-out form at 12:05 from the home."""
    client = login(district.users.lawyer)
    signins.sign_in(district.users.lawyer, event)
    now(utc(2026, 3, 2, 12, 5))
    fields = {f"signout-{event.id}-content": content, f"signout-{event.id}-residents": residents,
              f"signout-{event.id}-photos": [(io.BytesIO(data), "IMG.jpg") for data in photos],
              "place": "home"}
    response = client.post(f"/signins/events/{event.id}/out", headers=HX, data=fields,
                           content_type="multipart/form-data")
    return response, text(response)


def test_sign_out_with_a_photo_records_held_and_writes_the_work_log(district, today, login, now):
    response, html = post_sign_out(district, today, login, now, "法律咨询 5 起", "9", [jpeg()])
    assert response.status_code == 200, html
    assert "已于 12:05 签退。本次活动已登记为已举行，并已写入您的工作日志。" in html
    assert Event.get_by_id(today.id).status == "held"
    entry = WorkLog.get(WorkLog.event == today.id)
    assert (entry.content, entry.result) == (f"在{today.village.name}坐班：法律咨询 5 起", "服务群众 9 人。")
    assert len(signins.photos_of(SignIn.get())) == 1


def test_a_refused_sign_out_keeps_what_was_typed(district, today, login, now):
    response, html = post_sign_out(district, today, login, now, "讲解民法典婚姻家庭编", "许多")
    assert response.status_code == 422
    assert "讲解民法典婚姻家庭编" in html and 'value="许多"' in html
    assert "请填写服务群众人数" in html and 'aria-invalid="true"' in html
    assert Event.get_by_id(today.id).status == "planned"


def test_a_photo_that_is_not_one_is_refused_beside_the_photos(district, today, login, now):
    response, html = post_sign_out(district, today, login, now, "讲座", "3", [b"%PDF-1.4"])
    assert response.status_code == 422
    assert re.search(r'signin-photos has-error.*?这个文件不是照片', html, re.S)
    assert "讲座" in html and Event.get_by_id(today.id).status == "planned"


def test_on_the_event_page_the_answer_is_the_events_section(district, today, login):
    client = login(district.users.lawyer)
    page = text(client.get(f"/calendar/events/{today.id}"))
    assert f'hx-target="#event-{today.id}"' in page and 'name="place" value="event"' in page
    response = client.post(f"/signins/events/{today.id}/in", headers=HX, data={"place": "event"})
    html = text(response)
    assert response.status_code == 200
    assert html.lstrip().startswith("<section") and f'id="event-{today.id}"' in html
    assert "已于 08:20 签到" in html and "signout-form" in html
    assert "已签到 08:20" in html  # the event's facts show the sign-in


def test_without_htmx_the_sign_in_returns_to_the_page(district, today, login):
    client = login(district.users.lawyer)
    response = client.post(f"/signins/events/{today.id}/in", data={"place": "home"},
                           headers={"Referer": "http://localhost/calendar/"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/calendar/")


@pytest.mark.parametrize("who", ["coordinator", "admin"])
def test_coordinators_cannot_sign_in_for_the_lawyer(district, today, login, who):
    response = login(getattr(district.users, who)).post(f"/signins/events/{today.id}/in",
                                                        headers=HX, data={})
    assert response.status_code == 403
    assert SignIn.select().count() == 0


# --- what coordinators see ---------------------------------------------------------------------

def test_the_coordinator_sees_the_sign_in_on_the_events_page(district, today, login, now):
    signin = sign_in_and_out(district, today, now)
    [photo] = signins.photos_of(signin)
    html = text(login(district.users.town_coordinator).get(f"/calendar/events/{today.id}"))
    assert "已签到 08:20 · 已签退 12:05" in html
    assert "约 ±24 米" in html and "31.037512, 121.227934" in html
    assert f'src="/signins/photos/{photo.id}"' in html
    assert "解答宅基地纠纷咨询" in html and "现场签到" in html
    assert "signin-form" not in html and "signout-form" not in html


def test_the_village_sees_the_sign_in_but_not_the_position(district, today, login, now):
    signin = sign_in_and_out(district, today, now)
    html = text(login(district.users.village).get(f"/calendar/events/{today.id}"))
    assert "已签到 08:20" in html and f"/signins/photos/{signins.photos_of(signin)[0].id}" in html
    assert "31.037512" not in html and "±24" not in html


def signed_and_late(district, today, now) -> Event:
    """Today's session signed in and out, and the next day's recorded on the 5th (late)."""
    sign_in_and_out(district, today, now, photos=0)
    late = make_event(district.pairings[0], D(2026, 3, 3), "am")
    now(utc(2026, 3, 5, 9))
    record_held(district.users.coordinator, late, start=late.starts_at, end=late.ends_at)
    return late


def sign_in_queries(get) -> int:
    """How many queries of the sign-ins ``get()`` makes."""
    with count_queries() as counted:
        get()
    return sum('FROM "sign_in"' in record.msg[0] for record in counted.get_queries())


def test_the_calendar_marks_signed_in_and_late_sessions(district, today, login, now):
    late = signed_and_late(district, today, now)
    html = text(login(district.users.coordinator).get("/calendar/town/T1?month=2026-03"))
    signed = re.search(rf'id="calendar-event-{today.id}">(.*?)</li>', html, re.S).group(1)
    recorded_late = re.search(rf'id="calendar-event-{late.id}">(.*?)</li>', html, re.S).group(1)
    assert 'class="signin-mark"' in signed and "已签到 08:20" in signed
    assert 'class="late-mark"' in recorded_late and "补录" in recorded_late
    assert "signin-mark" not in recorded_late
    page = text(login(district.users.coordinator).get(f"/calendar/events/{late.id}"))
    assert re.search(r"登记方式</dt>\s*<dd><span class=\"badge late\">补录</span>", page)


def test_the_month_reads_the_sign_ins_in_one_query(district, today, login, now):
    """However many events the month holds, their sign-ins are read at once."""
    for day in (3, 4, 5, 6):
        make_event(district.pairings[0], D(2026, 3, day), "am")
    sign_in_and_out(district, today, now, photos=0)
    client = login(district.users.coordinator)
    assert sign_in_queries(lambda: client.get("/calendar/town/T1?month=2026-03")) == 1


def test_the_quota_page_tells_signed_in_from_late(district, today, login, now):
    signed_and_late(district, today, now)
    html = text(login(district.users.coordinator).get("/calendar/quota?year=2026"))
    row = re.search(rf'<tr id="quota-{district.pairings[0].id}"[^>]*>(.*?)</tr>', html,
                    re.S).group(1)
    assert "签到 1" in row and "补录 1" in row
    assert 'id="total-proofs"' in html


# --- photos ---------------------------------------------------------------------------------

def test_photos_are_served_only_to_readers_of_the_event(district, today, login, now):
    [photo] = signins.photos_of(sign_in_and_out(district, today, now))
    url = f"/signins/photos/{photo.id}"
    for who in ("lawyer", "village", "town_coordinator"):
        response = login(getattr(district.users, who)).get(url)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert "no-cache" in response.headers["Cache-Control"]
        assert b"Exif" not in response.get_data()
    other_village = create_user("village-t2", PASSWORD, "village", village=district.villages[3])
    other_lawyer = create_user("lawyer-t2", PASSWORD, "lawyer", lawyer=district.lawyers[3])
    for user in (other_village, other_lawyer, district.users.other_town_coordinator):
        assert login(user).get(url).status_code == 404
    assert login(district.users.admin).get(f"/signins/photos/{photo.id + 1}").status_code == 404
