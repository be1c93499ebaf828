"""The leadership group (领导小组): leaders read everything of their scope and change nothing.

Leaders of the district, of a town, and firm heads (a leader whose scope is one law firm)
are checked against every route of ``tests/test_access.py``'s table, so a route added
tomorrow is checked too: a route that writes (any method but GET) refuses every leader
unless it is one of the user's own-account actions (``SELF_SERVICE``); a page that reads
admits exactly the leaders ``LEADER_READS`` names for it (none when it is not listed).
"""
import datetime as dt
import re

import pytest

from core import access
from core.errors import PermissionDenied, ValidationError
from core.matters import acknowledge, escalate_overdue, report_matter
from core.models import MajorMatter, Notification, Pairing, Task, User, Village, WorkLog
from core.notices import announce_report, report_recipients
from core.notify import unread_count
from core.tasks import assign_task
from core.users import add_user, create_user
from core.vocabulary import READ_ONLY
from tests.factories import PASSWORD
from tests.test_access import PUBLIC_POSTS, ROUTES

LEADERS = ("leader", "town_leader", "other_town_leader", "firm_head", "other_firm_head")
ALL = set(LEADERS)
# the objects of the table are of village 0: town 1, lawyer 0 of firm 0
OF_VILLAGE_0 = {"leader", "town_leader", "firm_head"}
# lawyer 0 (any leader but the heads of other firms)
OF_LAWYER_0 = {"leader", "town_leader", "other_town_leader", "firm_head"}
# town 1 (its villages 0 and 1 are paired with lawyers of both firms)
OF_TOWN_1 = {"leader", "town_leader", "firm_head", "other_firm_head"}

# What a leader may open; any GET route not listed refuses every leader.
LEADER_READS = {
    "coverage.index": ALL, "coverage.start": ALL, "home.index": ALL, "villages.index": ALL, "towns.index": ALL,
    "villages.detail": OF_VILLAGE_0, "towns.detail": OF_TOWN_1,
    "lawyers.index": ALL, "lawyers.detail": OF_LAWYER_0, "lawyers.photo": OF_LAWYER_0,
    "firms.index": ALL, "firms.detail": {"leader", "town_leader", "other_town_leader",
                                         "firm_head"},
    "pairings.panel": OF_VILLAGE_0,
    "calendar.index": ALL, "calendar.lawyer_calendar": OF_LAWYER_0,
    "calendar.village_calendar": OF_VILLAGE_0, "calendar.town_calendar": OF_TOWN_1,
    "calendar.event": OF_VILLAGE_0, "calendar.quota": ALL, "signins.photo": OF_VILLAGE_0,
    # the lists' .xlsx, as the lists
    "villages.export": ALL, "lawyers.export": ALL, "tasks.export": ALL,
    "calendar.quota_export": ALL,
    "tasks.index": ALL, "tasks.detail": OF_VILLAGE_0,
    # the district's month opens a calendar by name; the task filter's suggestions
    "calendar.find": ALL, "tasks.suggest_villages": ALL, "tasks.suggest_lawyers": ALL,
    "tasks.suggest_towns": ALL,
    "programs.index": ALL, "programs.detail": ALL, "programs.chart_page": ALL, "programs.ledger": ALL,
    "programs.town_table": ALL,
    "records.log": ALL, "records.cases": ALL, "records.log_export": ALL,
    "records.case_detail": OF_VILLAGE_0, "records.log_entry": OF_VILLAGE_0,
    "records.log_photo": OF_VILLAGE_0, "records.log_photo_thumb": OF_VILLAGE_0,
    "records.attachment_download": OF_VILLAGE_0,
    "matters.index": ALL, "matters.detail": OF_VILLAGE_0,
    "matters.inbox": ALL, "matters.badge": ALL,
    "feedback.visits": ALL, "feedback.ratings": ALL,
    "public.warnings": ALL, "public.wechat_groups": ALL,
    "assessment.index": ALL, "assessment.export": ALL, "assessment.behind": ALL,
    "assessment.sheet": OF_VILLAGE_0, "assessment.sheet_export": OF_VILLAGE_0,
    "users.account": ALL, "classic_cases.collection_docx": ALL,
    "groups.register": OF_VILLAGE_0, "groups.join_qr": OF_VILLAGE_0,
    "village_requests.index": ALL, "village_requests.invitation": OF_VILLAGE_0,
    "village_requests.demand": OF_VILLAGE_0,
    "reports.index": ALL, "reports.export": ALL, "reports.pairings": ALL,
    "reports.chart_image": ALL, "reports.register": ALL,
    "inspections.index": ALL, "inspections.detail": OF_VILLAGE_0,
}
# What a leader does to their own account (and their own inbox); nothing of the programme.
SELF_SERVICE = {"auth.logout", "users.change_password", "users.end_my_sessions",
                "users.save_notices", "matters.read", "matters.read_all"}
WRITES = sorted(endpoint for endpoint, (method, _url, _who) in ROUTES.items()
                if method != "GET" and endpoint not in SELF_SERVICE)
READS = sorted(endpoint for endpoint, (method, _url, _who) in ROUTES.items()
               if method == "GET")


def make_leaders(d):
    u = d.users
    u.leader = create_user("leader", PASSWORD, "leader", display_name="局领导")
    u.town_leader = create_user("leader-t1", PASSWORD, "leader", town=d.towns[0])
    u.other_town_leader = create_user("leader-t2", PASSWORD, "leader", town=d.towns[1])
    u.firm_head = create_user("firm-head-1", PASSWORD, "leader", firm=d.firms[0])
    u.other_firm_head = create_user("firm-head-2", PASSWORD, "leader", firm=d.firms[1])
    return u


@pytest.fixture
def leaders(district):
    return make_leaders(district)


# --- the marks: what a view declares ------------------------------------------------------

def test_no_view_that_writes_admits_a_leader(app):
    """Checked on the marks of every route of the app: a route taking anything but GET
    admits no read-only role, unless it is the user's own account or inbox."""
    wrong = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        kind, roles = getattr(view, "access_rule", ("roles", ()))
        if kind != "roles" or rule.endpoint in SELF_SERVICE:
            continue
        if rule.methods - {"GET", "HEAD", "OPTIONS"} and set(roles) & set(READ_ONLY):
            wrong.append(rule.endpoint)
    assert wrong == []


def test_the_tables_name_routes_that_exist():
    assert set(LEADER_READS) <= set(READS)
    assert SELF_SERVICE - PUBLIC_POSTS <= set(ROUTES)


# --- the routes: what each leader gets ------------------------------------------------------

@pytest.mark.parametrize("actor", LEADERS)
def test_every_write_is_refused_to_leaders(actor, leaders, district, login):
    client = login(getattr(leaders, actor))
    urls = {endpoint: ROUTES[endpoint][1](district) for endpoint in WRITES}  # makes objects
    before = _counts()
    wrong = []
    for endpoint in WRITES:
        method = ROUTES[endpoint][0]
        status = client.open(urls[endpoint], method=method, data={}).status_code
        if status not in (403, 404):
            wrong.append(f"{endpoint}: {status}")
    assert wrong == []
    assert _counts() == before  # nothing written, whatever the route


def _counts():
    return [model.select().count() for model in (Task, WorkLog, MajorMatter, Pairing, User,
                                                 Village)]


@pytest.mark.parametrize("actor", LEADERS)
def test_leaders_read_exactly_their_scope(actor, leaders, district, login):
    client = login(getattr(leaders, actor))
    wrong = []
    for endpoint in READS:
        _method, url, _admitted = ROUTES[endpoint]
        status = client.get(url(district)).status_code
        admitted = actor in LEADER_READS.get(endpoint, set())
        if admitted and status in (401, 403, 404) or status >= 500:
            wrong.append(f"{endpoint}: {status}, expected to be admitted")
        elif not admitted and status not in (403, 404):
            wrong.append(f"{endpoint}: {status}, expected 403 or 404")
    assert wrong == []


def test_a_town_leader_sees_only_the_town(leaders, district, login):
    client = login(leaders.town_leader)
    page = client.get("/villages/").get_data(as_text=True)
    assert district.villages[0].name in page
    assert district.villages[3].name not in page  # town 2
    assert client.get(f"/villages/{district.villages[3].code}").status_code in (403, 404)
    assert client.get(f"/calendar/town/{district.towns[1].code}").status_code in (403, 404)
    village_ids = {v.id for v in Village.select().where(access.village_filter(leaders.town_leader))}
    assert village_ids == {v.id for v in district.villages[:3]}


def test_a_firm_head_sees_only_the_firms_lawyers_work(leaders, district, login):
    head, d = leaders.firm_head, district  # firm 0: lawyers 0 and 2, villages 0 and 2
    assert ({v.id for v in Village.select().where(access.village_filter(head))}
            == {d.villages[0].id, d.villages[2].id})
    assert ({p.id for p in Pairing.select().where(access.sheet_filter(head))}
            == {d.pairings[0].id, d.pairings[2].id})
    assert access.can_read_lawyer(head, d.lawyers[2])
    assert not access.can_read_lawyer(head, d.lawyers[1])
    client = login(head)
    lawyers = client.get("/lawyers/").get_data(as_text=True)
    assert d.lawyers[0].name in lawyers and d.lawyers[1].name not in lawyers
    assert client.get(f"/assessment/{d.pairings[1].id}").status_code in (403, 404)
    assert client.get(f"/lawyers/{d.lawyers[1].id}").status_code in (403, 404)
    firms = client.get("/firms/").get_data(as_text=True)
    assert d.firms[0].name in firms and d.firms[1].name not in firms
    coverage = client.get("/coverage").get_data(as_text=True)  # the firm's villages only
    assert d.villages[0].name in coverage and d.villages[1].name not in coverage
    ours, theirs = (assign_task(None, program="family_visits", task_type="household_visit",
                                village=d.villages[i]) for i in (0, 1))
    tasks = {t.id for t in Task.select().where(access.task_filter(head))}
    assert ours.id in tasks and theirs.id not in tasks


def test_a_firm_head_reads_an_ended_pairing_of_the_firm(leaders, district):
    from core.pairings import end_pairing
    pairing = district.pairings[0]
    end_pairing(None, pairing, ended_on=dt.date(2026, 6, 30))
    assert access.can_read_sheet(leaders.firm_head, Pairing.get_by_id(pairing.id))
    assert not access.can_read_sheet(leaders.other_firm_head, Pairing.get_by_id(pairing.id))


def test_leaders_change_nothing_in_the_services(leaders, district):
    matter = report_matter(district.users.lawyer, category="emergency", title="山林纠纷",
                           occurred_at=dt.datetime(2026, 3, 1, 1, 0), village=district.villages[0])
    for actor in LEADERS:
        leader = getattr(leaders, actor)
        assert not access.can_manage_village(leader, district.villages[0])
        assert not access.can_plan(leader, district.towns[0])
        assert not access.can_assign(leader, village=district.villages[0])
        assert not access.can_handle_matter(leader, matter)
        assert not access.can_log_for(leader, district.lawyers[0])
        with pytest.raises(PermissionDenied):
            acknowledge(leader, matter)
    assert MajorMatter.get_by_id(matter.id).acknowledged_at is None


# --- users: creating a leader -------------------------------------------------------------

def test_an_administrator_creates_a_town_leader_and_a_firm_head(district, login):
    client = login(district.users.admin)
    response = client.post("/admin/users/new", data={
        "username": "zhen-lingdao", "password": "Qingxi-2026!", "confirm": "Qingxi-2026!",
        "role": "leader", "town": str(district.towns[0].id), "village": "", "lawyer": "",
        "firm": ""})
    assert response.status_code == 302
    leader = User.get(User.username == "zhen-lingdao")
    assert (leader.role, leader.town_id, leader.firm_id) == ("leader", district.towns[0].id, None)
    response = client.post("/admin/users/new", data={
        "username": "suozhang", "password": "Qingxi-2026!", "confirm": "Qingxi-2026!",
        "role": "leader", "town": "", "village": "", "lawyer": "",
        "firm": str(district.firms[1].id)})
    assert response.status_code == 302
    assert User.get(User.username == "suozhang").scope == "firm"


def test_a_leader_is_a_town_or_a_firm_not_both(district):
    count = User.select().count()
    with pytest.raises(ValidationError) as refused:
        add_user(None, "both", PASSWORD, "leader", town=district.towns[0], firm=district.firms[0])
    assert refused.value.field == "firm"
    assert User.select().count() == count


def test_the_user_form_refuses_both_in_chinese(district, login):
    client = login(district.users.admin)
    response = client.post("/admin/users/new", data={
        "username": "both", "password": "Qingxi-2026!", "confirm": "Qingxi-2026!",
        "role": "leader", "town": str(district.towns[0].id), "village": "", "lawyer": "",
        "firm": str(district.firms[0].id)})
    assert response.status_code == 422
    assert "不能同时" in response.get_data(as_text=True)
    assert not User.select().where(User.username == "both").exists()


def test_a_coordinator_or_lawyer_never_keeps_a_firm(district):
    user = create_user("c-firm", PASSWORD, "coordinator", firm=district.firms[0])
    assert user.firm_id is None and user.scope == "district"


# --- escalation: the last level ------------------------------------------------------------

T0 = dt.datetime(2026, 3, 2, 1, 0)
HOUR = dt.timedelta(hours=1)


def test_escalation_reaches_the_leaders_after_the_coordinators_once(leaders, district):
    matter = report_matter(district.users.lawyer, category="emergency", title="山林纠纷",
                           occurred_at=T0 - HOUR, village=district.villages[0], now=T0)
    escalate_overdue(now=T0 + 2 * HOUR)  # levels 1 and 2: the coordinators
    assert unread_count(leaders.leader) == 0
    [escalated] = escalate_overdue(now=T0 + 3 * HOUR)
    assert escalated.escalation_level == 3
    told = {n.user_id for n in Notification.select().where(
        (Notification.kind == "matter.escalated")
        & Notification.user.in_([getattr(leaders, a).id for a in LEADERS]))}
    # the district's and the matter's town's leaders; not town 2's, not the firm heads
    assert told == {leaders.leader.id, leaders.town_leader.id}
    assert escalate_overdue(now=T0 + 30 * HOUR) == []  # the last level: once
    MajorMatter.update(escalation_level=2).execute()  # as if a crash lost the update
    escalate_overdue(now=T0 + 30 * HOUR)
    assert Notification.select().where((Notification.kind == "matter.escalated")
                                       & (Notification.user == leaders.leader.id)).count() == 1


def test_an_acknowledged_matter_never_reaches_the_leaders(leaders, district):
    matter = report_matter(district.users.lawyer, category="emergency", title="山林纠纷",
                           occurred_at=T0 - HOUR, village=district.villages[0], now=T0)
    escalate_overdue(now=T0 + 2 * HOUR)
    acknowledge(district.users.coordinator, matter, now=T0 + 2 * HOUR)
    assert escalate_overdue(now=T0 + 5 * HOUR) == []
    assert unread_count(leaders.leader) == 0


# --- periodic reports -------------------------------------------------------------------------

def test_report_recipients_are_the_coordinators_and_leaders_of_the_scope(leaders, district):
    u = leaders
    assert [user.id for user in report_recipients()] == [u.coordinator.id, u.leader.id]
    town = {user.id for user in report_recipients(district.towns[0])}
    assert town == {u.coordinator.id, u.town_coordinator.id, u.leader.id, u.town_leader.id}
    u.leader.active = False
    u.leader.save()
    assert u.leader.id not in {user.id for user in report_recipients()}


def test_announce_report_tells_them_once(leaders, district):
    sent = announce_report("Major matter reported: %(title)s", "/reports/2026-Q1",
                           dedupe_key="report:2026-Q1", title="2026年第一季度")
    assert {n.user_id for n in sent} == {leaders.coordinator.id, leaders.leader.id}
    assert announce_report("Major matter reported: %(title)s", "/reports/2026-Q1",
                           dedupe_key="report:2026-Q1", title="2026年第一季度") == []
    assert Notification.get(Notification.user == leaders.leader.id).kind == "report"


# --- the demo's leaders: every page they reach, and what it offers ----------------------------

LINK = re.compile(r'<a [^>]*href="(/[^"#]*)"')
FORM = re.compile(r'<form [^>]*>', re.S)


def _endpoint(app, url: str, method: str = "GET"):
    try:
        return app.url_map.bind("localhost").match(url.split("?")[0], method=method)[0]
    except Exception:  # a link to a page outside the app's routes (a download of a plugin)
        return None


@pytest.mark.parametrize("username", ["leader", "firm"])
def test_a_demo_leader_reaches_only_pages_that_open_and_offers_no_refused_form(
        username, demo_db, app, client):
    """From the home page and the navigation, one page per route (as the phone check
    does): every link a leader is shown opens, and no page shows them a form that would
    be refused (only their own account's, logout and their inbox)."""
    from core.demo import DEMO_LOGINS
    assert client.post("/login", data={"username": username,
                                       "password": DEMO_LOGINS["leader"][1]}).status_code == 302
    queue, seen_endpoints, problems = ["/home", "/"], set(), []
    while queue:
        url = queue.pop(0)
        endpoint = _endpoint(app, url)
        if endpoint in seen_endpoints or endpoint in (None, "auth.logout", "static"):
            continue
        seen_endpoints.add(endpoint)
        response = client.get(url, follow_redirects=True)
        if response.status_code != 200:
            problems.append(f"{url} ({endpoint}): {response.status_code}")
            continue
        if not response.mimetype.startswith("text/html"):
            continue
        page = response.get_data(as_text=True)
        for form in FORM.findall(page):
            if 'method="post"' not in form.lower():
                continue
            action = re.search(r'action="([^"]*)"', form)
            target = (_endpoint(app, action.group(1).replace("&amp;", "&"), "POST")
                      if action and action.group(1) else endpoint)
            if target not in SELF_SERVICE | PUBLIC_POSTS:  # a resident's rating form
                problems.append(f"{url}: a form to {target}")
        queue += [link for link in LINK.findall(page) if "/logout" not in link]
    assert problems == [], "\n".join(problems)
    assert {"coverage.index", "calendar.index", "tasks.index", "assessment.index",
            "matters.index"} <= seen_endpoints


# --- the command line ---------------------------------------------------------------------------

def test_jiedui_user_add_creates_a_firm_head_and_says_so_in_chinese(tmp_path):
    from tests.test_cli import SAMPLE, count_users, in_chinese, jiedui
    assert jiedui(tmp_path, "import", str(SAMPLE)).returncode == 0
    head = in_chinese(tmp_path, "user", "add", "--username", "suozhang", "--password",
                      "good-pass-1", "--role", "leader", "--firm", "1")
    assert head.returncode == 0, head.stderr
    assert head.stdout.startswith("已创建登录账号 suozhang（领导小组成员），范围：律师事务所 ")
    unknown = in_chinese(tmp_path, "user", "add", "--username", "x", "--password",
                         "good-pass-1", "--role", "leader", "--firm", "999")
    assert unknown.returncode != 0 and "编号为 999 的律师事务所不存在。" in unknown.stderr
    assert count_users(tmp_path) == 1


def test_the_navigation_gives_leaders_their_places(leaders, district, login):
    page = login(leaders.town_leader).get("/home").get_data(as_text=True)
    for place in ("/calendar/", "/tasks/", "/assessment/", "/matters/",
                  f"/towns/{district.towns[0].code}"):
        assert f'href="{place}"' in page, place
    assert 'href="/admin/users"' not in page and 'href="/tasks/new"' not in page
    page = login(leaders.firm_head).get("/home").get_data(as_text=True)
    assert f'href="/firms/{district.firms[0].id}"' in page
