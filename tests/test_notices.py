"""People are told (core.notices): one message per person per act, to the right people and
never to whoever did it, each linking to a page they may open; and the e-mail copies people
ask for on /account, sent to their own address through a real SMTP server on localhost."""
import datetime as dt

import pytest
from markupsafe import escape

from core.events import move_event
from core.i18n import gettext_for, ngettext_for
from core.models import (AuditLog, Delivery, Event, Notification, NotificationPreference,
                         Pairing, Task, User, Village)
from core.notices import LINES, REPLACED_NEW, REPLACED_OLD, REPLACED_OTHERS, YEAR_PLANNED
from core.notify import NOTICE_KINDS, notify_users, save_notice_settings, send_deliveries
from core.pairings import end_pairing, pair, replace_lawyer
from core.planner import plan_year
from core.tasks import assign_bulk, assign_task, reassign_task
from core.text import NOT_AN_EMAIL, TOO_LONG
from core.users import create_user
from tests.factories import PASSWORD, make_lawyer, session
from tests.mail_support import parsed, smtp_sink  # noqa: F401 (a fixture)
from tests.planning_support import make_event, now, published, utc  # noqa: F401 (fixtures)
from tests.tasks_support import PROGRAM, programme  # noqa: F401 (a fixture)

D = dt.date
ZH = gettext_for("zh_CN")
ZH_PLURAL = ngettext_for("zh_CN")


def told(user, kind=None) -> list[Notification]:
    query = Notification.select().where(Notification.user == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(query.order_by(Notification.id))


def lawyer_user(lawyer, username) -> User:
    return create_user(username, PASSWORD, "lawyer", lawyer=lawyer)


@pytest.fixture
def no_channels(monkeypatch):
    for name in ("JIEDUI_SMTP_URL", "JIEDUI_WEBHOOK_URL", "JIEDUI_MAIL_TO"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mail(smtp_sink, monkeypatch):  # noqa: F811
    """E-mail configured, to the sink; the shared mailbox is the office's."""
    monkeypatch.setenv("JIEDUI_SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.server_address[1]}")
    monkeypatch.setenv("JIEDUI_MAIL_TO", "office@example.org")
    monkeypatch.delenv("JIEDUI_WEBHOOK_URL", raising=False)
    return smtp_sink


# --- tasks --------------------------------------------------------------------------------

def test_a_bulk_assignment_of_14_tasks_gives_the_lawyer_one_message(district, programme,
                                                                    no_channels):
    """张明 is paired with 14 villages; one assignment to the district gives them 14 tasks."""
    lawyer = district.lawyers[0]
    town = district.towns[0]
    for i in range(13):
        village = Village.create(town=town, code=f"T1X{i:02d}", name=f"新村{i:02d}",
                                 kind="village")
        pair(None, lawyer=lawyer, village=village, term_start=D(2026, 1, 1),
             term_end=D(2028, 12, 31))
    actor = district.users.coordinator
    tasks = assign_bulk(actor, program=PROGRAM, task_type="test_visit", title="春季走访",
                        due_on=D(2026, 4, 30))
    assert len([t for t in tasks if t.assignee_id == lawyer.id]) == 14
    [message] = told(district.users.lawyer, "tasks_assigned")
    assert message.title == ZH_PLURAL("You have %(num)d new task", "You have %(num)d new tasks",
                                      14) % {"num": 14}
    assert "测试走访" in message.body and "春季走访" in message.body  # programme and titles
    assert "2026-04-30" in message.body
    assert message.body.count("春季走访") == 3  # the first few, not all fourteen
    assert message.link == "/tasks/mine"
    assert told(actor) == []  # the coordinator who assigned them is not told
    assert not Delivery.select().exists()


def test_one_task_and_a_reassignment_each_tell_the_lawyer_who_has_it_now(district, programme,
                                                                         no_channels):
    second = lawyer_user(district.lawyers[1], "lawyer-li")
    task = assign_task(district.users.town_coordinator, program=PROGRAM,
                       task_type="test_visit", village=district.villages[0], title="王家走访")
    [first] = told(district.users.lawyer, "tasks_assigned")
    assert "王家走访" in first.body and "东湖1村" in first.body
    reassign_task(district.users.town_coordinator, task, district.lawyers[1])
    [handed] = told(second, "tasks_assigned")
    assert "王家走访" in handed.body
    assert len(told(district.users.lawyer, "tasks_assigned")) == 1  # nothing new for 张明


# --- calendar events ------------------------------------------------------------------------

def test_moving_an_event_tells_its_lawyer_and_village_but_not_the_actor(district, now,
                                                                        published,
                                                                        no_channels):
    users = district.users
    event = make_event(district.pairings[0], D(2026, 3, 2), kind="session", title="坐班 · 东湖1村")
    move_event(users.town_coordinator, event, starts_at=utc(2026, 3, 3, 8, 30),
               ends_at=utc(2026, 3, 3, 12, 0))
    [lawyer_note] = told(users.lawyer, "events_changed")
    assert lawyer_note.title == ZH(LINES["moved"]) % {
        "title": "坐班 · 东湖1村", "old": "2026-03-02 08:30", "new": "2026-03-03 08:30"}
    assert lawyer_note.link == f"/calendar/events/{event.id}"
    [village_note] = told(users.village, "events_changed")
    assert village_note.title == lawyer_note.title
    assert village_note.link == "/calendar/village/T1V1?month=2026-03"
    assert told(users.town_coordinator) == []
    # the lawyer moves their own session: the village hears, the lawyer does not
    move_event(users.lawyer, Event.get_by_id(event.id), starts_at=utc(2026, 3, 4, 8, 30),
               ends_at=utc(2026, 3, 4, 12, 0))
    assert len(told(users.lawyer, "events_changed")) == 1
    assert len(told(users.village, "events_changed")) == 2
    assert "2026-03-04 08:30" in told(users.village, "events_changed")[-1].title


def test_a_village_is_not_told_of_a_task_event_nor_of_another_village(district, now, published,
                                                                       no_channels):
    users = district.users
    task_event = make_event(district.pairings[0], D(2026, 3, 2), kind="task",
                            title="走访 · 东湖1村")
    other = make_event(district.pairings[1], D(2026, 3, 2), kind="session")
    move_event(users.coordinator, task_event, starts_at=utc(2026, 3, 3, 8, 30),
               ends_at=utc(2026, 3, 3, 12, 0))
    move_event(users.coordinator, other, starts_at=utc(2026, 3, 3, 14, 0),
               ends_at=utc(2026, 3, 3, 17, 30))
    assert len(told(users.lawyer, "events_changed")) == 1  # their task event
    assert told(users.village) == []


def test_planning_a_year_gives_each_lawyer_and_village_one_message(district, now, published,
                                                                   no_channels):
    users = district.users
    second = lawyer_user(district.lawyers[1], "lawyer-li")
    plan_year(2026)
    for user, lawyer in ((users.lawyer, district.lawyers[0]), (second, district.lawyers[1])):
        [message] = told(user, "events_changed")
        count = Event.select().where(Event.lawyer == lawyer.id).count()
        assert count == 14  # 12 sessions and 2 publicity events
        assert message.title == ZH(YEAR_PLANNED) % {"year": 2026, "count": count}
        assert message.link == f"/calendar/lawyer/{lawyer.id}?month=2026-01"
        assert message.body.count("\n") == 10  # ten events listed, then "… and 4 more."
        assert "2026-01-" in message.body.splitlines()[0]
    [village_note] = told(users.village, "events_changed")
    assert village_note.title == ZH(YEAR_PLANNED) % {"year": 2026, "count": 14}
    assert village_note.link == "/calendar/village/T1V1?month=2026-01"
    plan_year(2026)  # nothing changes: nobody is told again
    assert Notification.select().where(Notification.kind == "events_changed").count() == 3


# --- pairings ---------------------------------------------------------------------------------

@pytest.fixture
def replaced(district, now, published, programme, no_channels):
    """2026 planned on 2025-12-01 with an open task in 东湖1村; on 2026-06-01 the town's
    coordinator replaces 张明 by 钱进 there from 2026-07-01."""
    users = district.users
    plan_year(2026)
    task = assign_task(users.town_coordinator, program=PROGRAM, task_type="test_visit",
                       village=district.villages[0], title="王家走访")
    newcomer = make_lawyer("钱进", district.firms[0], phone="13800000009")
    new_user = lawyer_user(newcomer, "lawyer-qian")
    colleague = create_user("coord-t1b", PASSWORD, "coordinator", town=district.towns[0])
    Notification.delete().execute()
    now(dt.datetime(2026, 6, 1, 2, 0))
    new = replace_lawyer(users.town_coordinator, district.pairings[0], lawyer=newcomer,
                         on=D(2026, 7, 1), reason="工作调动")
    return dict(new=new, new_user=new_user, colleague=colleague, task=task, newcomer=newcomer)


def test_a_replacement_tells_both_lawyers_the_village_and_the_towns_coordinators(district,
                                                                                  replaced):
    users, new = district.users, replaced["new"]
    params = {"old": "张明", "new": "钱进", "village": "东湖1村", "date": "2026-07-01"}
    [old_note] = told(users.lawyer, "lawyer_replaced")
    assert old_note.title == ZH(REPLACED_OLD) % params
    assert old_note.link == f"/lawyers/{district.lawyers[0].id}"
    [new_note] = told(replaced["new_user"], "lawyer_replaced")
    assert new_note.title == ZH(REPLACED_NEW) % params
    assert "王家走访" in new_note.body  # the open task they take over
    assert "坐班 · 东湖1村" in new_note.body and "2026-07-" in new_note.body  # and sessions
    assert new_note.link == "/villages/T1V1"
    for user in (users.village, replaced["colleague"]):
        [note] = told(user, "lawyer_replaced")
        assert note.title == ZH(REPLACED_OTHERS) % params and note.link == "/villages/T1V1"
    assert "工作调动" in told(replaced["colleague"], "lawyer_replaced")[0].body
    assert "工作调动" not in told(users.village, "lawyer_replaced")[0].body
    assert told(users.town_coordinator) == []  # the actor
    assert told(users.other_town_coordinator) == [] and told(users.coordinator) == []
    # a replacement is one message each, not also "ended" and "paired"
    assert not Notification.select().where(Notification.kind == "pairing_changed").exists()
    # the new lawyer got the task, and the sessions from re-planning
    assert Task.get_by_id(replaced["task"].id).assignee_id == replaced["newcomer"].id
    handed = told(replaced["new_user"], "events_changed")
    assert len(handed) == 1 and "坐班 · 东湖1村" in handed[0].body
    assert Pairing.get_by_id(new.id).status == "active"


def test_pairing_and_ending_tell_the_lawyer_and_the_village(district, no_channels):
    users = district.users
    villager = create_user("village-5", PASSWORD, "village", village=district.villages[4])
    pairing = pair(users.coordinator, lawyer=district.lawyers[0], village=district.villages[4],
                   term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
    [mine] = told(users.lawyer, "pairing_changed")
    assert "西山2村" in mine.title and "2026-12-31" in mine.title
    assert mine.link == "/villages/T2V2"
    [theirs] = told(villager, "pairing_changed")
    assert "张明" in theirs.title and theirs.link == "/villages/T2V2"
    end_pairing(users.coordinator, pairing, ended_on=D(2026, 6, 30))
    ended = told(users.lawyer, "pairing_changed")[-1]
    assert "2026-06-30" in ended.title and ended.link == f"/lawyers/{district.lawyers[0].id}"
    assert "2026-06-30" in told(villager, "pairing_changed")[-1].title
    assert told(users.village, "pairing_changed") == []  # another village


# --- every link opens for the person told ----------------------------------------------------

def test_every_notice_links_to_a_page_its_reader_may_open(district, replaced, app):
    from core import feedback
    from core.assessment import send_pace_warnings
    lawyer_user(district.lawyers[1], "lawyer-li")  # of 东湖2村
    held = session(district.pairings[1], D(2026, 5, 29))  # a low rating with its code
    code = feedback.issue_codes(None, held, 1, now=dt.datetime(2026, 5, 29, 2))[0]
    feedback.rate_lawyer("T1V2", code=code, score=1, now=dt.datetime(2026, 6, 1, 2))
    send_pace_warnings(D(2026, 6, 1))
    notices = list(Notification.select().where(Notification.link != ""))
    kinds = {n.kind for n in notices}
    assert {"lawyer_replaced", "events_changed", "tasks_assigned", "low_rating",
            "pace"} <= kinds
    opened = set()
    for notice in notices:
        user = User.get_by_id(notice.user_id)
        client = app.test_client()
        assert client.post("/login", data={"username": user.username,
                                           "password": PASSWORD}).status_code == 302
        path = notice.link
        response = client.get(path)
        assert response.status_code == 200, (notice.kind, user.username, path)
        opened.add((notice.kind, user.role))
    assert ("low_rating", "lawyer") in opened and ("pace", "lawyer") in opened


# --- kinds and e-mail ------------------------------------------------------------------------

def test_every_kind_the_code_sends_is_named_once_with_a_label():
    for kind in ("matter.reported", "matter.acknowledged", "matter.closed", "matter.escalated",
                 "pace", "low_rating", "problem", "tasks_assigned", "events_changed",
                 "pairing_changed", "lawyer_replaced"):
        assert NOTICE_KINDS[kind]


def test_with_email_chosen_the_copy_goes_to_the_users_own_address(district, programme, mail):
    lawyer = district.users.lawyer
    save_notice_settings(lawyer, lawyer, email="  zhang.ming@example.org ",
                         by_email=["tasks_assigned"])
    assert User.get_by_id(lawyer.id).email == "zhang.ming@example.org"  # trimmed
    assign_task(district.users.town_coordinator, program=PROGRAM, task_type="test_visit",
                village=district.villages[0], title="王家走访")
    [message] = map(parsed, mail.messages)
    assert mail.recipients == [["zhang.ming@example.org"]]
    assert message["To"] == "zhang.ming@example.org"
    assert "/tasks/mine" in message.get_content() and "王家走访" in message.get_content()
    [delivery] = Delivery.select()
    assert (delivery.address, delivery.status) == ("zhang.ming@example.org", "sent")


def test_without_email_chosen_nothing_is_sent(district, programme, mail):
    lawyer = district.users.lawyer
    save_notice_settings(lawyer, lawyer, email="zhang.ming@example.org",
                         by_email=["events_changed"])  # not tasks
    other = lawyer_user(district.lawyers[1], "lawyer-li")
    User.update(email="li@example.org").where(User.id == other.id).execute()  # no choice
    assign_task(None, program=PROGRAM, task_type="test_visit", village=district.villages[0])
    assign_task(None, program=PROGRAM, task_type="test_visit", village=district.villages[1])
    assert len(told(lawyer, "tasks_assigned")) == 1 and len(told(other, "tasks_assigned")) == 1
    assert mail.messages == [] and not Delivery.select().exists()  # no copy, no robot


def test_without_smtp_there_are_no_personal_copies(district, programme, no_channels):
    lawyer = district.users.lawyer
    save_notice_settings(lawyer, lawyer, email="zhang.ming@example.org",
                         by_email=["tasks_assigned"])
    assign_task(None, program=PROGRAM, task_type="test_visit", village=district.villages[0])
    assert len(told(lawyer, "tasks_assigned")) == 1 and not Delivery.select().exists()


def test_shared_copies_stay_and_a_coordinator_who_asked_gets_their_own(district, mail):
    coordinator = district.users.coordinator
    save_notice_settings(coordinator, coordinator, email="coord@example.org",
                         by_email=["matter.reported"])
    notify_users([coordinator, district.users.town_coordinator], kind="matter.reported",
                 title="Collective petition\nBcc: everyone@example.org", link="/matters/7")
    assert sorted(map(tuple, mail.recipients)) == [("coord@example.org",),
                                                   ("office@example.org",)]
    for raw in mail.messages:  # one line: the title's line break is gone
        message = parsed(raw)
        assert message["Subject"] == "Collective petition Bcc: everyone@example.org"
        assert message["Bcc"] is None
    personal = next(parsed(m) for m in mail.messages if "To: coord@example.org" in m)
    assert "/account" in personal.get_content()  # why it came, and where to stop it
    assert "→" not in personal.get_content()  # the shared copy's list of recipients


def test_an_administrator_who_asked_gets_problems_by_email_and_no_shared_copy(district, mail):
    from core.problems import report
    admin = district.users.admin
    save_notice_settings(admin, admin, email="admin@example.org", by_email=["problem"])
    report("job", "job:test", "the nightly job failed")
    assert len(told(admin, "problem")) == 1
    assert mail.recipients == [["admin@example.org"]]  # never the office's mailbox


def test_a_failed_personal_copy_is_retried_like_the_others(district, programme, monkeypatch):
    monkeypatch.setenv("JIEDUI_SMTP_URL", "smtp://127.0.0.1:9")
    monkeypatch.setenv("JIEDUI_MAIL_TO", "office@example.org")
    monkeypatch.setenv("JIEDUI_NOTIFY_TIMEOUT_SECONDS", "2")
    lawyer = district.users.lawyer
    save_notice_settings(lawyer, lawyer, email="zhang.ming@example.org",
                         by_email=["tasks_assigned"])
    assign_task(None, program=PROGRAM, task_type="test_visit", village=district.villages[0])
    [delivery] = Delivery.select()
    assert (delivery.status, delivery.attempts) == ("pending", 1) and delivery.last_error
    assert send_deliveries(now=delivery.next_attempt_at)["retry"] == 1


# --- the account page -----------------------------------------------------------------------

@pytest.fixture
def browser(app, district):
    client = app.test_client()  # Chinese, the default language
    assert client.post("/login", data={"username": "lawyer",
                                       "password": PASSWORD}).status_code == 302
    return client


def test_the_account_page_offers_the_kinds_of_the_users_role(district, browser, no_channels):
    page = browser.get("/account").get_data(as_text=True)
    assert ZH(NOTICE_KINDS["tasks_assigned"]) in page
    assert ZH(NOTICE_KINDS["problem"]) not in page  # an administrator's
    assert 'name="by_email"' in page and 'name="email"' in page
    assert ZH("E-mail is not set up on this server: for now notices reach your inbox only. "
              "Your choices are kept for when it is.") in page


def test_saving_the_address_and_choices_on_the_account_page(district, browser, mail):
    page = browser.get("/account").get_data(as_text=True)
    assert "E-mail is not set up" not in page and "邮件" in page
    response = browser.post("/account/notices", data={
        "email": " zhang.ming@example.org ", "by_email": ["tasks_assigned", "problem"]},
        headers={"HX-Request": "true"})
    assert response.status_code == 200
    lawyer = User.get_by_id(district.users.lawyer.id)
    assert lawyer.email == "zhang.ming@example.org"
    chosen = {p.kind for p in NotificationPreference.select().where(
        (NotificationPreference.user == lawyer.id) & NotificationPreference.email)}
    assert chosen == {"tasks_assigned"}  # "problem" is not a lawyer's to choose
    entry = AuditLog.get(AuditLog.action == "user.notice_settings")
    assert entry.detail["after"] == {"email": "zhang.ming@example.org",
                                     "by_email": ["tasks_assigned"]}
    assert 'value="tasks_assigned" aria-label' in response.get_data(as_text=True)


@pytest.mark.parametrize("address", ["zhang.ming", "zhang@example", "a b@example.org",
                                     "a@example.org, b@example.org",
                                     "张明 <zhang@example.org>", "zhang@@example.org"])
def test_a_bad_address_is_refused_in_chinese_and_nothing_is_saved(district, browser, address,
                                                                   no_channels):
    response = browser.post("/account/notices", data={"email": address,
                                                      "by_email": ["tasks_assigned"]},
                            headers={"HX-Request": "true"})
    assert response.status_code == 422
    message = ZH(NOT_AN_EMAIL) % {"value": address}
    assert message != NOT_AN_EMAIL % {"value": address}  # in Chinese
    assert str(escape(message)) in response.get_data(as_text=True)
    assert User.get_by_id(district.users.lawyer.id).email == ""
    assert not NotificationPreference.select().exists()
    assert not AuditLog.select().where(AuditLog.action == "user.notice_settings").exists()


def test_a_too_long_address_is_refused(district, browser, no_channels):
    response = browser.post("/account/notices", data={"email": "x" * 250 + "@example.org"},
                            headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert ZH(TOO_LONG) % {"limit": 254} in response.get_data(as_text=True)
    assert User.get_by_id(district.users.lawyer.id).email == ""


def test_email_chosen_without_an_address_is_refused(district, browser, no_channels):
    response = browser.post("/account/notices", data={"email": "",
                                                      "by_email": ["tasks_assigned"]},
                            headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert ZH("Enter your e-mail address to get e-mail copies.") in response.get_data(
        as_text=True)
    assert not NotificationPreference.select().exists()


def test_nobody_changes_anothers_notice_settings(district):
    from core.errors import PermissionDenied
    with pytest.raises(PermissionDenied):
        save_notice_settings(district.users.admin, district.users.lawyer,
                             email="x@example.org", by_email=[])


def test_the_inbox_names_each_notices_kind(district, browser, programme, no_channels):
    assign_task(None, program=PROGRAM, task_type="test_visit", village=district.villages[0])
    page = browser.get("/inbox").get_data(as_text=True)
    assert ZH(NOTICE_KINDS["tasks_assigned"]) in page and "/account#notices" in page
