"""The yearly assessment and the early warning: figures from a known set of records,
weights and pass lines, the pace list and its weekly notice, the .xlsx table, a fixed
number of queries, and who sees what."""
import datetime as dt
import io
import uuid

import pytest
from openpyxl import load_workbook
from playhouse.test_utils import count_queries

from core import clock
from core.assessment import (CRITERIA_LABELS, DIGEST_LINES, EXPORT_HEADERS, GRADES,
                             OWES_NOTHING, PACE_LINK, PACE_MORE, PACE_TITLE, PACE_TITLE_LAWYER,
                             SHEET_CRITERIA, SHEET_SUMMARY,
                             assess, assessment_sheet, behind_pace, export_assessment,
                             export_sheet, send_pace_warnings)
from core.config import ConfigError, assessment_settings, parse_assessment
from core.i18n import gettext_for
from core.models import (AuditLog, Delivery, Event, MajorMatter, Notification, Pairing,
                         Rating, ReturnVisit, Task, User, Village, WorkLog)
from core.pairings import pair
from tests.factories import counted, make_lawyer, verified_rating
from tests.xlsx_support import TRICKY_TEXTS, assert_stored_as_text

YEAR = 2026
ZH = gettext_for("zh_CN")


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return clock.utc_from_local(day, dt.time(hour))


def event(pairing, kind, day, hours=4.0, status="held"):
    start = at(day)
    end = start + dt.timedelta(hours=hours)
    return counted(Event.create(uid=str(uuid.uuid4()), kind=kind, village=pairing.village_id,
                                pairing=pairing, lawyer=pairing.lawyer_id, starts_at=start,
                                ends_at=end, status=status,
                                held_start=start if status == "held" else None,
                                held_end=end if status == "held" else None))


def log(lawyer, village, day):
    return WorkLog.create(lawyer=lawyer, village=village, occurred_at=at(day), content="咨询")


def matter(lawyer, village, day, late=False):
    return MajorMatter.create(category="collective", title="集体上访", lawyer=lawyer,
                              village=village, occurred_at=at(day), deadline_at=at(day, 10),
                              late=late)


def task(village, completed_day=None, status="done"):
    return Task.create(program="family-visits", task_type="visit", village=village,
                       status=status, title="走访",
                       completed_at=at(completed_day) if completed_day else None)


def known_records(d):
    """Pairing 0 (village 0, lawyer 0, the whole of 2026) with records of each kind, some of
    which must not count; pairing 1 with none."""
    p, lawyer, village = d.pairings[0], d.lawyers[0], d.villages[0]
    for month in (1, 2, 3):
        event(p, "session", dt.date(YEAR, month, 10), hours=4)
    event(p, "session", dt.date(YEAR, 4, 10), hours=2)  # too short: not counted
    event(p, "session", dt.date(YEAR, 5, 12), status="planned")  # not held
    event(p, "session", dt.date(YEAR, 6, 12), status="cancelled")
    event(p, "publicity", dt.date(YEAR, 3, 15), hours=2)  # publicity has no minimum
    for day in range(1, 7):
        log(lawyer, village, dt.date(YEAR, 2, day))
    log(lawyer, village, dt.date(YEAR - 1, 12, 31))  # last year
    log(d.lawyers[1], village, dt.date(YEAR, 2, 1))  # another lawyer
    log(lawyer, d.villages[1], dt.date(YEAR, 2, 1))  # another village
    matter(lawyer, village, dt.date(YEAR, 3, 1))
    matter(lawyer, village, dt.date(YEAR, 4, 1))
    matter(lawyer, village, dt.date(YEAR, 5, 1), late=True)
    matter(d.lawyers[1], d.villages[1], dt.date(YEAR, 5, 1), late=True)
    ReturnVisit.create(pairing=p, period=f"{YEAR}Q1", due_on=dt.date(YEAR, 3, 31),
                       status="done", satisfaction=5)
    ReturnVisit.create(pairing=p, period=f"{YEAR}Q2", due_on=dt.date(YEAR, 6, 30),
                       status="done", satisfaction=3)
    ReturnVisit.create(pairing=p, period=f"{YEAR}Q3", due_on=dt.date(YEAR, 9, 30))  # open
    ReturnVisit.create(pairing=p, period=f"{YEAR - 1}Q4", due_on=dt.date(YEAR - 1, 12, 31),
                       status="done", satisfaction=1)
    verified_rating(p, f"{YEAR}Q1", 4)
    verified_rating(p, f"{YEAR}Q2", 2)
    Rating.create(pairing=p, period=f"{YEAR}Q2", device_hash="c", score=1)  # anonymous: no
    task(village, dt.date(YEAR, 4, 1))
    task(village, dt.date(YEAR, 5, 1))
    task(village, status="open")
    task(village, dt.date(YEAR - 1, 11, 1))
    task(d.villages[1], dt.date(YEAR, 5, 1))


def row_of(rows, pairing):
    return next(row for row in rows if row.pairing.id == pairing.id)


def test_figures_scores_and_grade_from_known_records(district):
    known_records(district)
    rows = assess(YEAR)
    assert [r.pairing.id for r in rows] == [p.id for p in district.pairings]
    row = row_of(rows, district.pairings[0])
    f = row.figures
    assert (f.sessions_held, f.sessions_too_short, f.sessions_required) == (3, 1, 12)
    assert (f.publicity_held, f.publicity_required) == (1, 2)
    assert (f.worklog, f.worklog_target) == (6, 24)
    assert (f.matters, f.matters_on_time) == (3, 2)
    assert (f.visits, f.visit_average) == (2, 4.0)
    assert (f.ratings, f.rating_average) == (2, 3.0)
    assert f.satisfaction == 3.5
    assert (f.tasks_done, f.tasks_target) == (2, 8)
    assert row.scores == pytest.approx({"sessions": 0.25, "publicity": 0.5, "worklog": 0.25,
                                        "matters": 2 / 3, "satisfaction": 0.625,
                                        "tasks": 0.25})
    # 30·.25 + 15·.5 + 15·.25 + 10·⅔ + 20·.625 + 10·.25 = 40.42
    assert row.total == 40.4
    assert row.grade == "fail"
    assert (row.village, row.town, row.lawyer) == (district.villages[0], district.towns[0],
                                                   district.lawyers[0])


def test_no_matters_scores_full_and_no_satisfaction_is_left_out(district):
    row = row_of(assess(YEAR), district.pairings[1])
    assert row.scores["matters"] == 1.0
    assert row.scores["satisfaction"] is None
    # only the matters (weight 10) are earned, out of the 80 that could be judged
    assert row.total == 12.5


def test_sessions_capped_and_grades_follow_configured_lines(district, monkeypatch):
    p = district.pairings[0]
    for month in range(1, 13):
        event(p, "session", dt.date(YEAR, month, 10))
        event(p, "session", dt.date(YEAR, month, 20))  # 24 held: still 100 %
    monkeypatch.setenv("JIEDUI_ASSESSMENT", "sessions=1,publicity=0,worklog=0,matters=0,"
                                            "satisfaction=0,tasks=0;pass=50;excellent=90")
    rows = assess(YEAR)
    assert row_of(rows, p).scores["sessions"] == 1.0
    assert (row_of(rows, p).total, row_of(rows, p).grade) == (100.0, "excellent")
    assert (row_of(rows, district.pairings[1]).total,
            row_of(rows, district.pairings[1]).grade) == (0.0, "fail")
    event(district.pairings[1], "session", dt.date(YEAR, 1, 10))
    for month in range(2, 7):
        event(district.pairings[1], "session", dt.date(YEAR, month, 10))
    assert row_of(assess(YEAR), district.pairings[1]).grade == "pass"  # 6 of 12: 50


def test_partial_term_owes_its_share(district):
    """A pairing from 1 July owes half the year: 6 sessions, 1 publicity event, half the
    targets; another year it does not appear."""
    late = pair(None, lawyer=district.lawyers[1], village=district.villages[4],
                term_start=dt.date(YEAR, 7, 1), term_end=dt.date(YEAR + 1, 6, 30))
    row = row_of(assess(YEAR), late)
    f = row.figures
    assert (f.months, f.sessions_required, f.publicity_required) == (6, 6, 1)
    assert (f.worklog_target, f.tasks_target) == (12, 4)
    assert late.id not in [r.pairing.id for r in assess(YEAR - 1)]


def test_sheet_lists_the_records_behind_the_figures(district):
    known_records(district)
    sheet = assessment_sheet(district.pairings[0], YEAR)
    assert sheet.total == 40.4
    counted = [(e.kind, counts) for e, _hours, counts in sheet.details["events"]]
    assert counted.count(("session", True)) == 3 and ("session", False) in counted
    assert ("publicity", True) in counted
    assert len(sheet.details["matters"]) == 3
    assert [v.period for v in sheet.details["visits"]] == [f"{YEAR}Q1", f"{YEAR}Q2",
                                                           f"{YEAR}Q3"]
    assert len(sheet.details["tasks"]) == 2
    assert len(sheet.details["worklogs"]) == sheet.figures.worklog == 6
    assert assessment_sheet(district.pairings[0], 2020) is None


# --- settings --------------------------------------------------------------------------------

def test_default_rules():
    rules = assessment_settings({})
    assert dict(rules.weights) == {"sessions": 30, "publicity": 15, "worklog": 15,
                                   "matters": 10, "satisfaction": 20, "tasks": 10}
    assert (rules.pass_line, rules.excellent_line) == (60, 85)
    assert (rules.worklog_target, rules.tasks_target) == (24, 8)


def test_rules_parse_weights_lines_and_targets():
    rules = parse_assessment("sessions=40,publicity=10,worklog=10,matters=10,satisfaction=20,"
                             "tasks=10;pass=70;excellent=90", "worklog=36,tasks=4")
    assert dict(rules.weights)["sessions"] == 40
    assert (rules.pass_line, rules.excellent_line) == (70, 90)
    assert (rules.worklog_target, rules.tasks_target) == (36, 4)


@pytest.mark.parametrize("value, message", [
    ("sessions=30", "no weight for publicity"),
    ("sessions=x,publicity=15,worklog=15,matters=10,satisfaction=20,tasks=10", "not a number"),
    ("sessions=-1,publicity=15,worklog=15,matters=10,satisfaction=20,tasks=10", "zero or more"),
    ("visits=10,sessions=30", "'visits' is neither a criterion"),
    ("sessions", "is not name=number"),
    ("sessions=1,sessions=2", "given twice"),
    ("sessions=0,publicity=0,worklog=0,matters=0,satisfaction=0,tasks=0", "every weight is zero"),
    ("sessions=30,publicity=15,worklog=15,matters=10,satisfaction=20,tasks=10;pass=101",
     "between 0 and 100"),
    ("sessions=30,publicity=15,worklog=15,matters=10,satisfaction=20,tasks=10;pass=80;"
     "excellent=70", "excellent (70) is below pass (80)"),
])
def test_bad_rules_are_refused_with_a_clear_error(value, message):
    with pytest.raises(ConfigError, match="JIEDUI_ASSESSMENT") as error:
        parse_assessment(value)
    assert message in str(error.value)


@pytest.mark.parametrize("targets, message", [("tasks=0", "more than zero"),
                                              ("cases=3", "not one of worklog, tasks")])
def test_bad_targets_are_refused(targets, message):
    with pytest.raises(ConfigError, match="JIEDUI_ASSESSMENT_TARGETS") as error:
        parse_assessment("sessions=1,publicity=1,worklog=1,matters=1,satisfaction=1,tasks=1",
                         targets)
    assert message in str(error.value)


def test_bad_environment_fails_the_assessment(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_ASSESSMENT", "sessions=abc")
    with pytest.raises(ConfigError):
        assess(YEAR)


# --- early warning ---------------------------------------------------------------------------

def test_behind_pace_lists_pairings_behind_the_pro_rata_pace(district):
    """1 July: 182 of 365 days gone, so 5 sessions (12 × 0.4986, rounded down) and no
    publicity event are due."""
    today = dt.date(YEAR, 7, 1)
    for month in range(1, 6):
        event(district.pairings[1], "session", dt.date(YEAR, month, 10))  # on pace
    for month in range(1, 5):
        event(district.pairings[2], "session", dt.date(YEAR, month, 10))  # one short
    event(district.pairings[2], "session", dt.date(YEAR, 5, 10), hours=1)  # too short
    rows = behind_pace(YEAR, today)
    by_pairing = {row.pairing.id: row for row in rows}
    assert set(by_pairing) == {district.pairings[0].id, district.pairings[2].id,
                               district.pairings[3].id}
    row = by_pairing[district.pairings[2].id]
    assert (row.sessions_held, row.sessions_due, row.publicity_due) == (4, 5, 0)
    assert row.sessions_behind and not row.publicity_behind
    # in December a publicity event is due too
    december = behind_pace(YEAR, dt.date(YEAR, 12, 1))
    assert {r.pairing.id for r in december if r.publicity_behind} == {
        p.id for p in district.pairings}


def test_behind_pace_ignores_ended_pairings_and_keeps_the_scope(district):
    today = dt.date(YEAR, 7, 1)
    Pairing.update(status="ended").where(Pairing.id == district.pairings[0].id).execute()
    ids = {r.pairing.id for r in behind_pace(YEAR, today)}
    assert district.pairings[0].id not in ids
    town2 = behind_pace(YEAR, today, district.users.other_town_coordinator)
    assert [r.pairing.id for r in town2] == [district.pairings[3].id]
    assert behind_pace(YEAR, dt.date(YEAR, 1, 1)) == []  # nothing due on the first day


def test_weekly_warning_is_one_digest_per_coordinator_once_a_week(district):
    monday = dt.date(YEAR, 7, 6)
    assert send_pace_warnings(monday) == 4
    users = district.users

    def inbox(user):
        return list(Notification.select().where(Notification.user == user.id))

    [town1] = inbox(users.town_coordinator)  # one message for the three pairings of town 1
    assert town1.kind == "pace" and town1.link == "/assessment/behind"
    assert town1.title == ZH(PACE_TITLE) % {"count": 3}
    assert [district.villages[i].name in town1.body for i in range(4)] == [
        True, True, True, False]
    [town2] = inbox(users.other_town_coordinator)
    assert town2.title == ZH(PACE_TITLE) % {"count": 1}
    assert district.villages[3].name in town2.body
    [everything] = inbox(users.coordinator)
    assert everything.title == ZH(PACE_TITLE) % {"count": 4}
    assert inbox(users.admin) == []
    digests = Notification.select().where(Notification.link == PACE_LINK)
    assert digests.count() == 3
    send_pace_warnings(monday + dt.timedelta(days=2))  # the same ISO week: nothing new
    assert digests.count() == 3
    send_pace_warnings(monday + dt.timedelta(days=7))  # next week: again
    assert digests.count() == 6


def test_weekly_warning_tells_each_lawyer_behind_of_their_own_villages_once_a_week(district):
    monday = dt.date(YEAR, 7, 6)
    lawyer = district.users.lawyer  # 张明, of 东湖1村 (pairing 0), behind in July
    second = User.create(username="lawyer-2", password_hash="x", role="lawyer",
                         lawyer=district.lawyers[1])
    send_pace_warnings(monday)

    def inbox(user):
        return list(Notification.select().where(Notification.user == user.id))

    [own] = inbox(lawyer)
    assert own.kind == "pace"
    assert own.title == ZH(PACE_TITLE_LAWYER) % {"count": 1}
    assert district.villages[0].name in own.body
    assert district.villages[1].name not in own.body  # another lawyer's village
    assert own.link == f"/assessment/{district.pairings[0].id}?year={YEAR}"
    assert own.dedupe_key  # once a week
    [theirs] = inbox(second)
    assert district.villages[1].name in theirs.body and district.villages[0].name not in theirs.body
    assert not Delivery.select().exists()  # a lawyer's digest never goes to shared channels
    send_pace_warnings(monday + dt.timedelta(days=3))  # the same ISO week: nothing new
    assert len(inbox(lawyer)) == 1
    send_pace_warnings(monday + dt.timedelta(days=7))  # next week: again
    assert len(inbox(lawyer)) == 2


def test_the_digest_of_a_long_list_stays_short_and_links_to_all(district):
    _more_pairings(district, DIGEST_LINES)  # these are on pace for February only
    monday = dt.date(YEAR, 7, 6)
    warned = send_pace_warnings(monday)
    assert warned > DIGEST_LINES
    digest = Notification.get(Notification.user == district.users.coordinator.id)
    assert digest.title == ZH(PACE_TITLE) % {"count": warned}
    assert digest.body.count("\n- ") == DIGEST_LINES
    assert ZH(PACE_MORE) % {"more": warned - DIGEST_LINES} in digest.body


def test_the_shared_channels_get_the_weekly_list_once(district, monkeypatch):
    """E-mail and the group robot go to shared addresses: the district coordinator's digest
    lists every pairing, so the towns' digests are not sent there again."""
    monkeypatch.setenv("JIEDUI_WEBHOOK_URL", "http://127.0.0.1:9/robot")
    from core import jobs
    monkeypatch.setattr(jobs, "send_deliveries", lambda: None)  # the robot is not there
    send_pace_warnings(dt.date(YEAR, 7, 6))
    [delivery] = Delivery.select()
    assert delivery.notification.user_id == district.users.coordinator.id
    send_pace_warnings(dt.date(YEAR, 7, 8))  # the same week
    assert Delivery.select().count() == 1
    # without a district coordinator, each town's digest goes out
    User.update(active=False).where(User.id == district.users.coordinator.id).execute()
    send_pace_warnings(dt.date(YEAR, 7, 13))
    assert Delivery.select().count() == 3


def test_weekly_job_runs_mondays_at_eight_district_time():
    from core.jobs import WARN_BEHIND_PACE_AT as validate
    monday_8 = clock.utc_from_local(dt.date(YEAR, 7, 6), dt.time(8, 0))
    assert validate(monday_8)
    assert not validate(monday_8 + dt.timedelta(hours=1))
    assert not validate(monday_8 + dt.timedelta(days=1))


# --- export and cost -------------------------------------------------------------------------

def test_export_reads_back(district):
    known_records(district)
    rows = assess(YEAR)
    headers = [h.upper() for h in EXPORT_HEADERS]
    body = export_assessment(rows, headers, title="Assessment 2026", grade_label=str.upper)
    sheet = load_workbook(io.BytesIO(body)).active
    values = list(sheet.values)
    assert sheet.title == "Assessment 2026"
    assert list(values[0]) == headers
    assert len(values) == 1 + len(rows)
    first = dict(zip(EXPORT_HEADERS, values[1]))
    assert first["Village"] == district.villages[0].name
    assert (first["Sessions held"], first["Sessions required"]) == (3, 12)
    assert (first["Major matters"], first["Reported on time"]) == (3, 2)
    assert (first["Return-visit satisfaction"], first["Residents' rating"]) == (4, 3)
    assert (first["Total"], first["Grade"]) == (40.4, "FAIL")


def _more_pairings(district, count):
    firm = district.firms[0]
    for n in range(count):
        village = Village.create(town=district.towns[n % 2], code=f"X{n}", name=f"新{n}村")
        lawyer = make_lawyer(f"律师{n}", firm)
        p = pair(None, lawyer=lawyer, village=village, term_start=dt.date(YEAR, 1, 1),
                 term_end=dt.date(YEAR, 12, 31))
        event(p, "session", dt.date(YEAR, 2, 10))
        log(lawyer, village, dt.date(YEAR, 2, 10))
        matter(lawyer, village, dt.date(YEAR, 3, 1))
        ReturnVisit.create(pairing=p, period=f"{YEAR}Q1", due_on=dt.date(YEAR, 3, 31),
                           status="done", satisfaction=4)
        verified_rating(p, f"{YEAR}Q1", 5)
        task(village, dt.date(YEAR, 4, 1))


def test_a_fixed_number_of_queries_for_4_or_8_pairings(district):
    known_records(district)
    with count_queries() as four:
        assert len(assess(YEAR)) == 4
    with count_queries() as four_pace:
        behind_pace(YEAR, dt.date(YEAR, 7, 1))
    _more_pairings(district, 4)
    with count_queries() as eight:
        assert len(assess(YEAR)) == 8
    with count_queries() as eight_pace:
        behind_pace(YEAR, dt.date(YEAR, 7, 1))
    assert four.count == eight.count <= 8, (four.count, eight.count)  # one per kind of record
    # the kept figures (core.pace_tally): the setting they were counted with, a held event
    # after the day (none), the rows
    assert four_pace.count == eight_pace.count <= 3


# --- scope -----------------------------------------------------------------------------------

def test_scope_of_the_table(district):
    users = district.users
    ids = lambda rows: [r.pairing.id for r in rows]  # noqa: E731
    assert ids(assess(YEAR, user=users.town_coordinator)) == [p.id for p in district.pairings[:3]]
    assert ids(assess(YEAR, user=users.other_town_coordinator)) == [district.pairings[3].id]
    assert ids(assess(YEAR, user=users.lawyer)) == [district.pairings[0].id]
    assert ids(assess(YEAR, user=users.village)) == []  # no sheet for a village (can_read_sheet)


# --- web -------------------------------------------------------------------------------------

def test_table_page_search_and_export(district, login, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: dt.date(YEAR, 7, 1))
    client = login(district.users.town_coordinator)
    page = client.get(f"/assessment/?year={YEAR}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert district.villages[0].name in text and district.villages[3].name not in text
    found = client.get(f"/assessment/?year={YEAR}&q={district.lawyers[1].name}",
                       headers={"HX-Request": "true"})
    assert district.villages[1].name in found.get_data(as_text=True)
    assert district.villages[0].name not in found.get_data(as_text=True)
    assert "<html" not in found.get_data(as_text=True)
    export = client.get(f"/assessment/export.xlsx?year={YEAR}")
    assert export.status_code == 200
    assert export.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(export.data)).active.values)
    assert len(rows) == 1 + 3


def test_sheet_for_managers_in_scope_and_the_lawyer_themself(district, login):
    users, pairings = district.users, district.pairings
    known_records(district)
    assert login(users.lawyer).get(f"/assessment/{pairings[0].id}?year={YEAR}").status_code == 200
    assert login(users.lawyer).get(f"/assessment/{pairings[1].id}?year={YEAR}").status_code == 404
    table = login(users.lawyer).get(f"/assessment/?year={YEAR}")  # their own pairings only
    assert table.status_code == 200
    assert f"/assessment/{pairings[0].id}?" in table.get_data(as_text=True)
    assert f"/assessment/{pairings[1].id}?" not in table.get_data(as_text=True)
    assert login(users.other_town_coordinator).get(
        f"/assessment/{pairings[0].id}").status_code == 404
    assert login(users.village).get(f"/assessment/{pairings[0].id}").status_code == 403
    assert login(users.admin).get("/assessment/99999").status_code == 404
    client = login(users.town_coordinator)
    client.set_cookie("lang", "en")
    page = client.get(f"/assessment/{pairings[0].id}?year={YEAR}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and district.lawyers[0].name in text
    assert "40.4" in text and "集体上访" in text and "too short" in text
    owes_nothing = login(users.admin).get(f"/assessment/{pairings[0].id}?year=2020")
    assert owes_nothing.status_code == 200


def test_behind_on_the_desk_and_a_page_of_its_own(district, login, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: dt.date(YEAR, 7, 1))
    client = login(district.users.other_town_coordinator)
    desk = client.get("/home").get_data(as_text=True)
    assert 'href="/assessment/behind"' in desk and district.villages[3].name in desk
    panel = client.get("/assessment/behind", headers={"HX-Request": "true"})
    text = panel.get_data(as_text=True)
    assert panel.status_code == 200 and "<html" not in text
    assert district.villages[3].name in text and district.villages[0].name not in text
    page = client.get("/assessment/behind")  # the weekly warning's link: a page of its own
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    assert district.villages[3].name in page.get_data(as_text=True)
    assert login(district.users.lawyer).get("/assessment/behind").status_code == 403


def test_the_weekly_job_sends_the_warnings(district, monkeypatch):
    from core.jobs import warn_behind_pace
    monkeypatch.setattr(clock, "today", lambda: dt.date(YEAR, 7, 6))
    warn_behind_pace()  # huey runs in immediate mode in the tests
    assert Notification.select().where(
        Notification.user == district.users.coordinator.id, Notification.kind == "pace"
    ).count() == 1


def test_export_stores_text_as_text_never_as_a_formula(district):
    for lawyer, text in zip(district.lawyers, TRICKY_TEXTS):
        type(lawyer).update(name=text).where(type(lawyer).id == lawyer.id).execute()
    for village, text in zip(district.villages, TRICKY_TEXTS[4:]):
        Village.update(name=text).where(Village.id == village.id).execute()
    texts = TRICKY_TEXTS[:len(district.lawyers)] + TRICKY_TEXTS[4:]
    body = export_assessment(assess(YEAR), EXPORT_HEADERS)
    assert_stored_as_text(body, texts)


# --- one pairing's sheet as .xlsx ------------------------------------------------------------

def _sheets(body: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(body))
    return {sheet.title: list(sheet.values) for sheet in book.worksheets}


def _criteria(rows) -> dict[str, tuple]:
    """The first worksheet's criteria table: {criterion label: (figure, requirement, weight,
    score, figures in words)}."""
    start = next(i for i, row in enumerate(rows) if row[0] == ZH(SHEET_CRITERIA[0]))
    assert list(rows[start][:6]) == [ZH(h) for h in SHEET_CRITERIA]
    return {row[0]: tuple(row[1:6]) for row in rows[start + 1:start + 7]}


def test_sheet_export_holds_the_figures_and_the_records_behind_them(district, login):
    known_records(district)
    p = district.pairings[0]
    response = login(district.users.town_coordinator).get(f"/assessment/{p.id}.xlsx?year={YEAR}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.headers["Cache-Control"] == "no-store"
    assert f"assessment-{p.id}-{YEAR}.xlsx" in response.headers["Content-Disposition"]
    sheets = _sheets(response.data)
    titles = list(sheets)
    assert titles == [ZH("Assessment %(year)s") % {"year": YEAR},
                      ZH("Sessions and publicity events held"), ZH("Work log"),
                      ZH("Major matters"), ZH("Return visits"), ZH("Programme tasks done")]
    first = sheets[titles[0]]
    assert list(first[0]) == [ZH(h) for h in SHEET_SUMMARY]  # Chinese headers
    assert list(first[1]) == [district.towns[0].name, district.villages[0].name,
                              district.lawyers[0].name, f"{p.term_start} – {p.term_end}", YEAR,
                              40.4, ZH(GRADES["fail"])]
    criteria = _criteria(first)

    def label(name):
        return ZH(CRITERIA_LABELS[name])

    assert criteria[label("sessions")][:4] == (3, 12, 30, 0.25)
    assert criteria[label("publicity")][:4] == (1, 2, 15, 0.5)
    assert criteria[label("worklog")][:4] == (6, 24, 15, 0.25)
    assert criteria[label("matters")][:3] == (2, 3, 10)
    assert criteria[label("matters")][3] == pytest.approx(2 / 3)
    assert criteria[label("satisfaction")][:4] == (3.5, None, 20, 0.625)
    assert criteria[label("tasks")][:4] == (2, 8, 10, 0.25)
    assert "3" in criteria[label("sessions")][4] and "12" in criteria[label("sessions")][4]
    notes = [row[0] for row in first if row[0]]
    assert ZH("%(num)d session was shorter than the minimum and does not count.") % {
        "num": 1} in notes

    events = sheets[titles[1]]
    assert len(events) == 1 + 5  # 3 sessions and 1 too short, 1 publicity event; no others
    assert events[1][:5] == (dt.datetime(YEAR, 1, 10, 9), dt.datetime(YEAR, 1, 10, 13),
                             ZH("On-site session"), 4, ZH("yes"))
    too_short = [row for row in events[1:] if row[4] == ZH("too short")]
    assert [(row[0], row[3]) for row in too_short] == [(dt.datetime(YEAR, 4, 10, 9), 2)]
    assert [row[2] for row in events[1:]].count(ZH("Publicity event")) == 1

    logs = sheets[titles[2]]
    assert [row[0] for row in logs[1:]] == [dt.datetime(YEAR, 2, day, 9) for day in range(1, 7)]
    assert {row[3] for row in logs[1:]} == {"咨询"}

    matters = sheets[titles[3]]
    assert [(row[0].date(), row[2], row[5]) for row in matters[1:]] == [
        (dt.date(YEAR, 3, 1), "集体上访", ZH("yes")), (dt.date(YEAR, 4, 1), "集体上访", ZH("yes")),
        (dt.date(YEAR, 5, 1), "集体上访", ZH("no"))]

    visits = sheets[titles[4]]
    assert [(row[0], row[2], row[3]) for row in visits[1:]] == [
        (f"{YEAR}Q1", ZH("Done"), 5), (f"{YEAR}Q2", ZH("Done"), 3),
        (f"{YEAR}Q3", ZH("not done yet"), None)]

    tasks = sheets[titles[5]]
    assert [(row[0].date(), row[3]) for row in tasks[1:]] == [
        (dt.date(YEAR, 4, 1), "走访"), (dt.date(YEAR, 5, 1), "走访")]

    [audit] = AuditLog.select().where(AuditLog.action == "assessment.export_sheet")
    assert (audit.user_id, audit.object_id, audit.detail) == (
        district.users.town_coordinator.id, str(p.id), {"year": YEAR})


def test_sheet_export_has_the_access_of_the_sheet(district, login):
    users, pairings = district.users, district.pairings
    known_records(district)
    own = login(users.lawyer).get(f"/assessment/{pairings[0].id}.xlsx?year={YEAR}")
    assert own.status_code == 200 and _sheets(own.data)
    assert login(users.lawyer).get(f"/assessment/{pairings[1].id}.xlsx").status_code == 404
    assert login(users.other_town_coordinator).get(
        f"/assessment/{pairings[0].id}.xlsx").status_code == 404
    assert login(users.other_town_coordinator).get(
        f"/assessment/{pairings[3].id}.xlsx").status_code == 200
    assert login(users.village).get(f"/assessment/{pairings[0].id}.xlsx").status_code == 403
    assert login(users.admin).get("/assessment/99999.xlsx").status_code == 404
    refused = AuditLog.select().where((AuditLog.action == "assessment.export_sheet")
                                      & (AuditLog.object_id == str(pairings[1].id)))
    assert refused.count() == 0


def test_the_sheet_page_links_its_export(district, login):
    p = district.pairings[0]
    page = login(district.users.lawyer).get(f"/assessment/{p.id}?year={YEAR}")
    assert f'href="/assessment/{p.id}.xlsx?year={YEAR}"' in page.get_data(as_text=True)


def test_sheet_export_of_a_year_the_pairing_owes_nothing(district, login):
    p = district.pairings[0]
    response = login(district.users.admin).get(f"/assessment/{p.id}.xlsx?year=2020")
    assert response.status_code == 200
    [rows] = _sheets(response.data).values()
    assert rows[1][:5] == (district.towns[0].name, district.villages[0].name,
                           district.lawyers[0].name, f"{p.term_start} – {p.term_end}", 2020)
    assert rows[1][5:] == (None, None)
    assert rows[-1][0] == ZH(OWES_NOTHING) % {"year": 2020}


def test_sheet_export_stores_text_as_text_never_as_a_formula(district):
    p = district.pairings[0]
    for text in TRICKY_TEXTS[:3]:
        WorkLog.create(lawyer=p.lawyer_id, village=p.village_id,
                       occurred_at=at(dt.date(YEAR, 2, 1)), content=text, result=text)
    MajorMatter.create(category="collective", title=TRICKY_TEXTS[3], lawyer=p.lawyer_id,
                       village=p.village_id, occurred_at=at(dt.date(YEAR, 3, 1)),
                       deadline_at=at(dt.date(YEAR, 3, 1), 10))
    ReturnVisit.create(pairing=p, period=f"{YEAR}Q1", due_on=dt.date(YEAR, 3, 31),
                       status="done", satisfaction=4, comments=TRICKY_TEXTS[4])
    Task.create(program="family-visits", task_type="visit", village=p.village_id,
                status="done", title=TRICKY_TEXTS[5], completed_at=at(dt.date(YEAR, 4, 1)))
    body = export_sheet(p, YEAR, assessment_sheet(p, YEAR), gettext=ZH)
    assert_stored_as_text(body)
