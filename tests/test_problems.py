"""Problems reported to administrators: a failing plugin, notification channel, calendar
feed or job becomes one Problem per key and an inbox notification for every active admin
(once per opening), and the rest keeps working; admins resolve problems on /admin/problems."""
import datetime as dt

import pytest
from huey.exceptions import TaskException

from core import feeds, hookimpl, problems
from core.config import notify_settings
from core.matters import report_matter
from core.errors import PermissionDenied, ValidationError
from core.models import AuditLog, Delivery, MajorMatter, Notification, Pairing, Problem
from core.notify import send_deliveries, without_secrets
from core.pairings import pair
from core.plugins import register_plugin, unregister_plugin
from core.queue import huey
from core.users import create_user
from tests.factories import PASSWORD
from tests.feed_helpers import calendar_district


@pytest.fixture
def no_channels(monkeypatch):
    for name in ("JIEDUI_SMTP_URL", "JIEDUI_WEBHOOK_URL", "JIEDUI_MAIL_TO"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def installed():
    names = []

    def install(name, plugin):
        register_plugin(plugin, name)
        names.append(name)
    yield install
    for name in names:
        unregister_plugin(name)


def admin_inbox(user):
    return list(Notification.select().where((Notification.user == user.id)
                                            & (Notification.kind == "problem")))


# --- report ------------------------------------------------------------------------------

def test_a_repeat_counts_and_a_resolved_problem_reopens_telling_admins_once_each(
        district, no_channels):
    second_admin = create_user("admin2", PASSWORD, "admin")
    retired = create_user("admin3", PASSWORD, "admin")
    retired.active = False
    retired.save()
    first = problems.report("feed", "feed:district", "calendar feed district failed", "trace")
    assert (first.count, first.source, first.resolved_at) == (1, "feed", None)
    assert [len(admin_inbox(u)) for u in (district.users.admin, second_admin, retired)] == [1, 1, 0]
    assert admin_inbox(district.users.admin)[0].link == "/admin/problems"
    assert admin_inbox(district.users.coordinator) == []

    again = problems.report("feed", "feed:district", "calendar feed district failed again")
    assert (again.id, again.count, again.summary) == (first.id, 2, "calendar feed district failed again")
    assert len(admin_inbox(district.users.admin)) == 1  # an open problem is not told twice

    problems.resolve(district.users.admin, again)
    reopened = problems.report("feed", "feed:district", "calendar feed district failed")
    assert reopened.resolved_at is None and reopened.count == 3
    assert len(admin_inbox(district.users.admin)) == 2  # reopened: told again
    assert Problem.select().count() == 1


def test_problem_notifications_stay_in_the_inbox(district, monkeypatch):
    """No outside copy: it could go through the failing channel itself."""
    monkeypatch.setenv("JIEDUI_WEBHOOK_URL", "http://127.0.0.1:9/robot")
    monkeypatch.delenv("JIEDUI_SMTP_URL", raising=False)
    problems.report("job", "job:x", "job x failed")
    assert len(admin_inbox(district.users.admin)) == 1
    assert Delivery.select().count() == 0


def test_reporting_never_raises_and_bad_input_writes_nothing(district, no_channels):
    assert problems.report("weather", "weather:rain", "it rains") is None
    assert Problem.select().count() == 0 and Notification.select().count() == 0


def test_resolve_is_for_admins_audited_and_refused_twice(district, no_channels):
    problem = problems.report("job", "job:x", "job x failed")
    with pytest.raises(PermissionDenied):
        problems.resolve(district.users.coordinator, problem)
    assert Problem.get_by_id(problem.id).resolved_at is None
    resolved = problems.resolve(district.users.admin, problem, address="10.1.2.3")
    assert resolved.resolved_at is not None
    entry = AuditLog.get(AuditLog.action == "problem.resolve")
    assert (entry.object_type, entry.object_id, entry.address) == ("problem", str(problem.id),
                                                                  "10.1.2.3")
    with pytest.raises(ValidationError):
        problems.resolve(district.users.admin, resolved)
    assert AuditLog.select().where(AuditLog.action == "problem.resolve").count() == 1


# --- a failing plugin ----------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.calls = []

    @hookimpl
    def pairing_changed(self, pairing, change):
        self.calls.append((pairing.id, change))


class Failing:
    @hookimpl
    def pairing_changed(self, pairing, change):
        raise RuntimeError("sms gateway down")


def test_a_failing_plugin_is_a_problem_the_others_ran_and_the_change_is_kept(
        district, no_channels, installed):
    before, after = Recorder(), Recorder()
    installed("test-after", after)
    installed("test-failing", Failing())
    installed("test-before", before)
    pairing = pair(None, lawyer=district.lawyers[1], village=district.villages[5],
                   term_start=dt.date(2026, 1, 1), term_end=dt.date(2026, 12, 31))
    assert before.calls == after.calls == [(pairing.id, "paired")]
    assert Pairing.get_by_id(pairing.id).status == "active"
    problem = Problem.get(Problem.key == "plugin:test-failing:pairing_changed")
    assert problem.source == "plugin" and "sms gateway down" in problem.summary
    assert "Traceback" in problem.detail and "RuntimeError" in problem.detail
    notice = admin_inbox(district.users.admin)
    assert len(notice) == 1 and "sms gateway down" in notice[0].title


# --- a failing notification channel ---------------------------------------------------------

def test_a_failing_webhook_is_a_problem_naming_no_secret_and_the_report_is_saved(
        district, monkeypatch):
    monkeypatch.setenv("JIEDUI_WEBHOOK_URL", "http://127.0.0.1:9/robot/send?key=s3cret-key")
    monkeypatch.setenv("JIEDUI_NOTIFY_TIMEOUT_SECONDS", "2")
    monkeypatch.delenv("JIEDUI_SMTP_URL", raising=False)
    matter = report_matter(district.users.lawyer, category="emergency", title="群体性纠纷",
                           occurred_at=dt.datetime(2026, 3, 1, 1, 0),
                           village=district.villages[0])
    delivery = Delivery.get()
    assert send_deliveries(now=delivery.next_attempt_at)["retry"] == 1
    assert MajorMatter.get_by_id(matter.id).title == "群体性纠纷"  # the report is kept
    problem = Problem.get(Problem.key == "notification:webhook")
    assert problem.source == "notification"
    assert "webhook" in problem.summary and "127.0.0.1" in problem.summary
    assert "s3cret-key" not in problem.summary + problem.detail
    assert len(admin_inbox(district.users.admin)) == 1
    assert Delivery.select().count() == 1  # the admins' notice sent no copy anywhere


def test_a_closed_smtp_port_is_a_problem_without_the_password(district, monkeypatch):
    monkeypatch.setenv("JIEDUI_SMTP_URL", "smtp://office:hunter2pass@127.0.0.1:9")
    monkeypatch.setenv("JIEDUI_MAIL_TO", "office@example.org")
    monkeypatch.setenv("JIEDUI_NOTIFY_TIMEOUT_SECONDS", "2")
    monkeypatch.delenv("JIEDUI_WEBHOOK_URL", raising=False)
    from core.notify import notify_users
    notify_users([district.users.coordinator], kind="test", title="Down")  # sent at once
    problem = Problem.get(Problem.key == "notification:email")
    assert "hunter2pass" not in problem.summary + problem.detail
    assert Delivery.get().status == "pending"  # retried later, as before


def test_secrets_are_masked_in_any_error_text():
    settings = notify_settings({"JIEDUI_WEBHOOK_URL": "https://qyapi.example/send?key=K123",
                                "JIEDUI_SMTP_URL": "smtps://u:pw%21x@mail.example:465",
                                "JIEDUI_MAIL_TO": "a@example.org"})
    text = without_secrets("POST https://qyapi.example/send?key=K123 failed; key=K123; "
                           "login u:pw%21x refused", settings)
    assert "K123" not in text and "pw%21x" not in text and "qyapi.example" not in text


# --- a feed that cannot be rendered -----------------------------------------------------------

@pytest.fixture
def broken_catalogue(monkeypatch):
    """The programmes' names cannot be read (a fault injected where a task event's
    CATEGORIES is looked up): the feeds holding a task event cannot be rendered, the
    others can."""
    def unreachable(events, locale):
        if any(event.kind == "task" for event in events):
            raise RuntimeError("programme catalogue unreachable")
        return {}

    def break_it():
        monkeypatch.setattr(feeds, "_task_kinds", unreachable)
    return break_it


def test_a_feed_that_fails_is_a_problem_others_go_out_and_the_last_good_one_is_served(
        client, district, no_channels, broken_catalogue):
    cal = calendar_district(district)
    lawyer_key = f"lawyer:{cal.lawyer.id}"
    other_key = f"lawyer:{district.pairings[1].lawyer.id}"
    village_key = f"village:{cal.village.code}"
    token, raw = feeds.create_token(None, district.users.lawyer, "iPhone")
    assert feeds.feed_key_for(district.users.lawyer) == lawyer_key
    good = client.get(f"/feeds/{raw}.ics").data
    assert cal.events.task.uid.encode() in good

    cal.events.task.title = "改过的标题"
    cal.events.task.save()
    broken_catalogue()
    results = feeds.publish_keys([lawyer_key, other_key, village_key])
    assert results == {lawyer_key: "failed", other_key: "published", village_key: "published"}
    problem = Problem.get(Problem.key == f"feed:{lawyer_key}")
    assert problem.source == "feed" and "programme catalogue unreachable" in problem.summary
    assert len(admin_inbox(district.users.admin)) == 1
    served = client.get(f"/feeds/{raw}.ics")
    assert served.status_code == 200 and served.data == good  # the last good snapshot


def test_a_feed_rendered_on_demand_that_fails_is_reported(district, no_channels, broken_catalogue):
    calendar_district(district)
    broken_catalogue()
    with pytest.raises(Exception, match="programme catalogue unreachable"):
        feeds.snapshot_for("district")
    assert Problem.get(Problem.key == "feed:district").count == 1


def test_a_feed_of_nothing_is_not_a_problem(district, no_channels):
    assert feeds.publish_keys(["town:nowhere"]) == {"town:nowhere": "failed"}
    assert Problem.select().count() == 0


# --- a failing job ---------------------------------------------------------------------------

RUNS = []


@huey.task()
def exploding_job(n: int):
    RUNS.append(n)
    raise ValueError(f"bad input {n}")


@huey.task(retries=1)
def flaky_job(n: int):
    RUNS.append(n)
    raise ValueError("still failing")


def test_a_job_that_raises_is_a_problem(district, no_channels):
    assert huey.immediate  # conftest: jobs run in the caller, signals too
    result = exploding_job(7)
    with pytest.raises(TaskException):
        result.get()
    problem = Problem.get(Problem.key == "job:exploding_job")
    assert problem.source == "job" and "bad input 7" in problem.summary
    assert "ValueError" in problem.detail
    assert len(admin_inbox(district.users.admin)) == 1


def test_a_job_with_retries_left_is_reported_once_it_gives_up(district, no_channels):
    RUNS.clear()
    flaky_job(1)
    assert RUNS == [1, 1]  # the first run and its one retry
    assert Problem.get(Problem.key == "job:flaky_job").count == 1


# --- the page ---------------------------------------------------------------------------------

@pytest.fixture
def english(client):
    client.set_cookie("lang", "en")


def test_admins_see_open_problems_first_and_the_count_in_the_nav(
        client, login, district, no_channels, english):
    old = problems.report("job", "job:old", "job old failed")
    problems.resolve(district.users.admin, old)
    problems.report("feed", "feed:district", "calendar feed district failed")
    login(district.users.admin)
    page = client.get("/admin/problems").get_data(as_text=True)
    assert page.index("calendar feed district failed") < page.index("job old failed")
    assert page.index("Open") < page.index("Recently resolved")
    nav = client.get("/calendar/").get_data(as_text=True)
    assert 'id="problems-nav"' in nav and 'title="Open problems">1<' in nav


def test_admin_marks_a_problem_resolved_with_a_post(client, login, district, no_channels):
    problem = problems.report("feed", "feed:district", "calendar feed district failed")
    login(district.users.admin)
    response = client.post(f"/admin/problems/{problem.id}/resolve")
    assert response.status_code == 303
    assert Problem.get_by_id(problem.id).resolved_at is not None
    assert client.post(f"/admin/problems/{problem.id}/resolve").status_code == 303  # flashed
    assert AuditLog.select().where(AuditLog.action == "problem.resolve").count() == 1
    assert client.post("/admin/problems/999/resolve").status_code == 404
    assert client.get(f"/admin/problems/{problem.id}/resolve").status_code == 405


@pytest.mark.parametrize("role", ["coordinator", "lawyer"])
def test_others_cannot_resolve_or_see_the_count(client, login, district, no_channels, role):
    problem = problems.report("feed", "feed:district", "calendar feed district failed")
    login(getattr(district.users, role))
    assert client.post(f"/admin/problems/{problem.id}/resolve").status_code == 403
    assert Problem.get_by_id(problem.id).resolved_at is None
    assert 'id="problems-nav"' not in client.get("/calendar/").get_data(as_text=True)
