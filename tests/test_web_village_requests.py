"""The village's requests on the web (web/village_requests.py): the village's page and the
homes' partials, the lawyer's answers, the coordinators' lists — and a village user who
follows every link they see never meets a 403, 404 or 500."""
import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from flask import render_template_string
from playhouse.test_utils import count_queries

from core import clock
from core import village_requests as service
from core.demo import DEMO_LOGINS
from core.models import AuditLog, Event, Invitation, ResidentDemand, User
from tests.factories import session

HX = {"HX-Request": "true"}


def workday(days_ahead: int = 7) -> dt.date:
    day = clock.today() + dt.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def invite_form(**change) -> dict:
    values = {"invite-kind": "activity", "invite-title": "村民代表大会",
              "invite-day": workday().isoformat(), "invite-start": "14:00",
              "invite-end": "16:00", "invite-place": "村委会", "invite-description": ""}
    values.update(change)
    return values


# --- the village -----------------------------------------------------------------------------

def test_the_village_invites_its_lawyer_from_its_page(district, login):
    client = login(district.users.village)
    page = client.get("/village/requests").get_data(as_text=True)
    assert "邀请律师参加活动" in page and "转达居民诉求" in page
    answer = client.post("/village/requests/invite", data=invite_form(), headers=HX)
    assert answer.status_code == 200
    assert answer.headers["HX-Trigger"] == "villageRequestsChanged"
    body = answer.get_data(as_text=True)
    assert "已邀请张明律师" in body and "村民代表大会" in body
    assert Invitation.select().count() == 1
    # without JavaScript: posted, then back to the page with the message
    plain = client.post("/village/requests/invite",
                        data=invite_form(**{"invite-start": "16:30", "invite-end": "17:00"}))
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/village/requests")
    assert "已邀请张明律师" in client.get("/village/requests").get_data(as_text=True)


def test_a_refused_invitation_keeps_what_was_typed_and_says_why_in_chinese(district, login):
    client = login(district.users.village)
    answer = client.post("/village/requests/invite", headers=HX, data=invite_form(
        **{"invite-day": "2020-03-02", "invite-title": "法律明白人座谈"}))
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert "该时间已过" in body and 'value="法律明白人座谈"' in body and "2020-03-02" in body
    answer = client.post("/village/requests/invite", headers=HX,
                         data=invite_form(**{"invite-day": "not a day"}))
    assert answer.status_code == 422 and "请填写活动日期" in answer.get_data(as_text=True)
    assert Invitation.select().count() == 0


def test_the_village_passes_on_a_demand_and_a_bad_phone_loses_nothing(district, login):
    client = login(district.users.village)
    typed = {"demand-category": "labour", "demand-text": "工资被拖欠三个月",
             "demand-contact_name": "王建华", "demand-contact_phone": "12345"}
    refused = client.post("/village/requests/demand", data=typed, headers=HX)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "不是电话号码" in body
    assert "工资被拖欠三个月" in body and 'value="王建华"' in body
    typed["demand-contact_phone"] = "13917650032"
    assert client.post("/village/requests/demand", data=typed, headers=HX).status_code == 200
    assert ResidentDemand.get().contact_phone == "13917650032"


def test_the_village_confirms_a_session_from_the_home_partial(district, login, app):
    event = session(district.pairings[0], clock.today() - dt.timedelta(days=2))
    client = login(district.users.village)
    with app.test_request_context():
        from flask_login import login_user
        from web.auth import LoginUser
        login_user(LoginUser(district.users.village))
        with count_queries() as queries:
            html = render_template_string(
                '{% include "village_requests/_village_home.html" ignore missing %}')
    assert f"session-word-{event.id}" in html and "以下坐班是否已开展" in html
    assert len(queries.get_queries()) <= 6
    answer = client.post(f"/village/requests/sessions/{event.id}", headers=HX,
                         data={"verdict": "disputed", "back": "home",
                               f"confirm-{event.id}-reason": ""})
    assert answer.status_code == 422 and "请说明哪些情况与记录不符" in answer.get_data(as_text=True)
    answer = client.post(f"/village/requests/sessions/{event.id}", headers=HX,
                         data={"verdict": "confirmed", "back": "home"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="village-home-requests"' in body
    assert "谢谢，已记录为已开展" in body and f"session-word-{event.id}" not in body
    # the event's page says so, and lets the village change its word
    page = client.get(f"/calendar/events/{event.id}").get_data(as_text=True)
    assert "确认已开展" in page and "修改确认" in page


def test_the_homes_partials_show_nothing_to_other_roles(district, app):
    for user in (district.users.coordinator, district.users.admin):
        with app.test_request_context():
            from flask_login import login_user
            from web.auth import LoginUser
            login_user(LoginUser(user))
            html = render_template_string(
                '{% include "village_requests/_village_home.html" %}'
                '{% include "village_requests/_lawyer_home.html" %}')
        assert html.strip() == ""


# --- the lawyer ---------------------------------------------------------------------------------

def test_the_lawyer_accepts_from_the_home_partial_and_finds_it_in_the_calendar(district, login):
    invitation = service.invite(district.users.village, district.villages[0], title="村民代表大会",
                                place="村委会", day=workday(), start=dt.time(14),
                                end=dt.time(16))
    client = login(district.users.lawyer)
    page = client.get("/requests/awaiting").get_data(as_text=True)
    assert "村民代表大会" in page and "接受" in page
    answer = client.post(f"/requests/invitations/{invitation.id}/accept", headers=HX,
                         data={"back": "home"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="lawyer-home-requests"' in body
    assert "已加入您的日程" in body and "暂无待您答复的事项" in body
    event = Invitation.get_by_id(invitation.id).event
    calendar = client.get(f"/calendar/lawyer/{district.lawyers[0].id}"
                          f"?month={workday():%Y-%m}").get_data(as_text=True)
    assert f"calendar-event-{event.id}" in calendar and "村(居)活动" in calendar
    event_page = client.get(f"/calendar/events/{event.id}").get_data(as_text=True)
    assert "村(居)邀请" in event_page and "村民代表大会" in event_page


def test_declining_without_a_reason_is_refused_next_to_the_field(district, login):
    invitation = service.invite(district.users.village, district.villages[0], title="年会",
                                place="村委会", day=workday(), start=dt.time(14),
                                end=dt.time(16))
    client = login(district.users.lawyer)
    answer = client.post(f"/requests/invitations/{invitation.id}/decline", headers=HX,
                         data={"back": "home", f"decline-{invitation.id}-reason": ""})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "请说明谢绝的原因" in body and "年会" in body
    answer = client.post(f"/requests/invitations/{invitation.id}/decline", headers=HX,
                         data={"decline-reason": "当天开庭"})
    assert answer.status_code == 200 and "已谢绝" in answer.get_data(as_text=True)
    # a second answer finds it answered already, and says so
    again = client.post(f"/requests/invitations/{invitation.id}/accept", headers=HX, data={})
    assert again.status_code == 422 and "已经答复过了" in again.get_data(as_text=True)


def test_the_lawyer_answers_a_demand_and_its_page_shows_the_contact_audited(district, login):
    demand = service.pass_on_demand(district.users.village, district.villages[0],
                                    category="family", text="赡养纠纷", contact_name="张秀英",
                                    contact_phone="13805710001")
    client = login(district.users.lawyer)
    awaiting = client.get("/requests/awaiting").get_data(as_text=True)
    assert "张**" in awaiting and "138****0001" in awaiting and "13805710001" not in awaiting
    page = client.get(f"/requests/demands/{demand.id}").get_data(as_text=True)
    assert "张秀英" in page and "tel:13805710001" in page
    assert AuditLog.select().where(AuditLog.action == "demand.view").count() == 1
    answer = client.post(f"/requests/demands/{demand.id}/answer", headers=HX,
                         data={"answer-answer": "建议先由调委会调解"})
    assert answer.status_code == 200 and "已答复" in answer.get_data(as_text=True)
    assert ResidentDemand.get_by_id(demand.id).status == "answered"


def test_every_notice_opens_for_whoever_gets_it(district, login):
    users, village = district.users, district.villages[0]
    first = service.invite(users.village, village, title="会议", place="村委会", day=workday(),
                           start=dt.time(9), end=dt.time(10))
    second = service.invite(users.village, village, title="年会", place="村委会", day=workday(),
                            start=dt.time(14), end=dt.time(15))
    service.accept_invitation(users.lawyer, first)
    service.decline_invitation(users.lawyer, second, "开庭")
    demand = service.pass_on_demand(users.village, village, category="other", text="咨询")
    service.answer_demand(users.lawyer, demand, "已答复")
    held = session(district.pairings[0], clock.today() - dt.timedelta(days=1))
    service.confirm_session(users.village, held, verdict="disputed", reason="未到场")
    kinds = {"invitation", "invitation.answered", "demand", "demand.answered",
             "session.disputed"}
    from core.models import Notification
    sent = list(Notification.select().where(Notification.kind.in_(list(kinds))))
    assert {n.kind for n in sent} == kinds
    for notice in sent:
        client = login(User.get_by_id(notice.user_id))
        assert client.get(notice.link).status_code == 200, (notice.kind, notice.link)


# --- the coordinators ----------------------------------------------------------------------------

def test_coordinators_see_the_open_demands_of_their_scope_with_a_count(district, login):
    for village in (district.villages[0], district.villages[1], district.villages[3]):
        service.pass_on_demand(None, village, category="labour", text="工资被拖欠",
                               contact_phone="13917650032")
    client = login(district.users.town_coordinator)
    page = client.get("/requests/").get_data(as_text=True)
    assert "2 条诉求" in page and "139****0032" in page and "13917650032" not in page
    assert district.villages[3].name not in page
    client = login(district.users.coordinator)
    assert "3 条诉求" in client.get("/requests/?show=demands").get_data(as_text=True)
    town2 = client.get(f"/requests/?show=demands&town={district.towns[1].code}&status=open",
                       headers=HX).get_data(as_text=True)
    assert "1 条诉求" in town2 and district.villages[3].name in town2
    client = login(district.users.other_town_coordinator)
    demand = ResidentDemand.get(ResidentDemand.village == district.villages[0])
    assert client.get(f"/requests/demands/{demand.id}").status_code == 404


def test_coordinators_see_disputed_sessions(district, login):
    event = session(district.pairings[0], clock.today() - dt.timedelta(days=4))
    service.confirm_session(district.users.village, event, verdict="disputed",
                            reason="律师提前离开")
    client = login(district.users.town_coordinator)
    page = client.get("/requests/?show=disputes").get_data(as_text=True)
    assert "1 次有异议的坐班" in page and "律师提前离开" in page
    other = login(district.users.other_town_coordinator)
    assert "0 次有异议的坐班" in other.get("/requests/?show=disputes").get_data(as_text=True)


# --- no dead end for a village user --------------------------------------------------------------

LINK = re.compile(r'(?:href|hx-get)="([^"#]+)')


def test_a_village_user_following_every_link_never_meets_an_error(demo_db, client, app):
    """From the first page after login and the navigation, every same-origin link the demo
    village user sees (one per route and argument shape) answers without 403, 404 or 500.
    The crawl also starts at the village's own places in the navigation (its requests page
    and their list, which the navigation links to for village users)."""
    username, password = DEMO_LOGINS["village"]
    assert client.post("/login", data={"username": username,
                                       "password": password}).status_code == 302
    adapter = app.url_map.bind("localhost")
    seen, queue, failures = set(), ["/", "/village/requests", "/requests/"], []
    while queue:
        url = queue.pop(0)
        response = client.get(url)
        if response.status_code in (301, 302, 303):
            location = urlsplit(response.headers["Location"])
            target = location.path + (f"?{location.query}" if location.query else "")
            assert not target.startswith("/login"), f"{url} logged the village user out"
            queue.append(target)
            continue
        if response.status_code in (403, 404) or response.status_code >= 500:
            failures.append(f"{response.status_code} {url}")
            continue
        if "html" not in response.content_type:
            continue
        for href in LINK.findall(response.get_data(as_text=True)):
            href = href.replace("&amp;", "&")
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/") \
                    or parts.path.startswith(("/static/", "/lang/", "/logout")):
                continue
            try:
                endpoint, args = adapter.match(parts.path, method="GET")
            except Exception:  # noqa: BLE001 - an address of no route: a 404 to report
                failures.append(f"no route {href}")
                continue
            shape = (endpoint, tuple(sorted(args)), tuple(sorted(
                name for name in re.findall(r"(\w+)=", parts.query))))
            if shape not in seen:
                seen.add(shape)
                queue.append(href)
    reached = {endpoint for endpoint, _args, _query in seen}
    assert failures == []
    # what a village may do and read is reachable from its pages
    assert {"village_requests.village_page", "village_requests.invitation",
            "village_requests.demand", "calendar.event", "tasks.detail",
            "villages.detail"} <= reached
    assert User.get(User.username == username).role == "village"
