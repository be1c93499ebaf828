"""User administration and "my account": sessions end when they should (logout, logout
everywhere, disabling, a new password, a new role, idleness, age), password rules refuse
with a clear message and change nothing, the current password is throttled like a login,
administrators unlock accounts, only administrators manage users, and the audit log keeps
no secrets."""
import datetime as dt

import pytest
from werkzeug.security import check_password_hash

from core import sessions
from core import users as service
from core.errors import PermissionDenied, ValidationError
from core.feeds import create_token, find_token
from core.models import AuditLog, User, UserSession
from tests.factories import PASSWORD
from tests.planning_support import now  # noqa: F401 (fixture)

NEW_PASSWORD = "brand-new-pass-9"


@pytest.fixture
def logged_in(app):
    """``logged_in(user)``: a new test client (an own browser) logged in as ``user``."""
    def _client(user, password=PASSWORD):
        client = app.test_client()
        client.set_cookie("lang", "en")
        response = client.post("/login", data={"username": user.username, "password": password})
        assert response.status_code == 302, f"login as {user.username} failed"
        return client
    return _client


def is_logged_in(client) -> bool:
    return client.get("/villages/").status_code == 200


def fresh(user: User) -> User:
    return User.get_by_id(user.id)


# --- sessions ----------------------------------------------------------------------------

def test_logout_on_other_devices_ends_the_other_session_and_keeps_this_one(district, logged_in):
    phone, laptop = logged_in(district.users.lawyer), logged_in(district.users.lawyer)
    response = laptop.post("/account/end-sessions")
    assert response.status_code == 302
    assert not is_logged_in(phone)
    assert is_logged_in(laptop)
    assert "/login" in phone.get("/account").headers["Location"]




def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_copied_cookie_stops_working_at_logout_and_other_devices_stay(district, logged_in,
                                                                         app):
    lawyer = district.users.lawyer
    laptop, phone = logged_in(lawyer), logged_in(lawyer)
    copied = copy_of(app, laptop)
    assert is_logged_in(copied)  # the copy works while the session lives
    assert laptop.post("/logout").status_code == 302
    assert not is_logged_in(laptop)
    assert not is_logged_in(copied)  # replayed after the logout: refused
    assert is_logged_in(phone)  # the user's other device is still logged in
    assert sessions.count(lawyer) == 1


def test_logging_out_other_devices_also_ends_a_copy_of_this_ones_cookie(district, logged_in,
                                                                         app):
    lawyer = district.users.lawyer
    laptop = logged_in(lawyer)
    copied = copy_of(app, laptop)
    assert laptop.post("/account/end-sessions").status_code == 302
    assert is_logged_in(laptop) and not is_logged_in(copied)
    assert sessions.count(lawyer) == 1


def test_a_session_ends_after_eight_idle_hours(district, logged_in, now):
    start = now(dt.datetime(2026, 3, 2, 1, 0))
    browser = logged_in(district.users.lawyer)
    now(start + dt.timedelta(hours=7))
    assert is_logged_in(browser)  # activity: the idle clock starts again
    now(start + dt.timedelta(hours=14, minutes=59))
    assert is_logged_in(browser)
    now(start + dt.timedelta(hours=23))  # 8 hours and a minute after the last request
    assert not is_logged_in(browser)
    assert not UserSession.select().exists()  # the expired session is gone


def test_the_idle_limit_is_a_setting(district, logged_in, now, monkeypatch):
    monkeypatch.setenv("JIEDUI_SESSION_IDLE_HOURS", "1")
    start = now(dt.datetime(2026, 3, 2, 1, 0))
    browser = logged_in(district.users.lawyer)
    now(start + dt.timedelta(minutes=61))
    assert not is_logged_in(browser)


def test_a_session_ends_after_seven_days_however_active(district, logged_in, now):
    start = now(dt.datetime(2026, 3, 2, 1, 0))
    browser = logged_in(district.users.lawyer)
    for hours in range(4, 7 * 24, 4):
        now(start + dt.timedelta(hours=hours))
        assert is_logged_in(browser)
    now(start + dt.timedelta(days=7, minutes=1))
    assert not is_logged_in(browser)


def test_polling_the_inbox_badge_does_not_keep_a_page_logged_in(district, logged_in, now):
    start = now(dt.datetime(2026, 3, 2, 1, 0))
    browser = logged_in(district.users.lawyer)
    for minutes in range(30, 8 * 60, 30):  # the page left open, its badge polling
        now(start + dt.timedelta(minutes=minutes))
        assert browser.get("/inbox/badge", headers={"HX-Request": "true"}).status_code == 200
    now(start + dt.timedelta(hours=8, minutes=1))
    # the expired page is sent to the login as a whole, not swapped into the badge
    response = browser.get("/inbox/badge", headers={
        "HX-Request": "true", "HX-Current-URL": "http://localhost/calendar/?view=month"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/calendar/?view%3Dmonth"


def test_the_last_activity_is_written_at_most_every_five_minutes(district, logged_in, now):
    start = now(dt.datetime(2026, 3, 2, 1, 0))
    browser = logged_in(district.users.lawyer)

    def last_seen():
        return UserSession.get().last_seen_at
    now(start + dt.timedelta(minutes=4))
    assert is_logged_in(browser) and last_seen() == start
    now(start + dt.timedelta(minutes=6))
    assert is_logged_in(browser) and last_seen() == start + dt.timedelta(minutes=6)
    now(start + dt.timedelta(minutes=7))
    assert is_logged_in(browser) and last_seen() == start + dt.timedelta(minutes=6)


def test_admin_ends_a_users_sessions(district, logged_in):
    village = logged_in(district.users.village)
    admin = logged_in(district.users.admin)
    response = admin.post(f"/admin/users/{district.users.village.id}/end-sessions",
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "logged out on every device" in response.get_data(as_text=True)
    assert not is_logged_in(village)
    assert is_logged_in(admin)
    assert is_logged_in(logged_in(district.users.village))  # they can log in again


def test_disabling_ends_a_live_session_at_once_and_stops_the_feed(district, logged_in, client):
    lawyer = district.users.lawyer
    _token, raw = create_token(None, lawyer, "iPhone")
    assert client.get(f"/feeds/{raw}.ics").status_code == 200
    browser = logged_in(lawyer)
    admin = logged_in(district.users.admin)

    response = admin.post(f"/admin/users/{lawyer.id}/disable")
    assert response.status_code == 302
    assert not fresh(lawyer).active
    assert not is_logged_in(browser)
    assert find_token(raw) is None
    assert client.get(f"/feeds/{raw}.ics").status_code == 404
    refused = browser.post("/login", data={"username": lawyer.username, "password": PASSWORD})
    assert refused.status_code == 401

    admin.post(f"/admin/users/{lawyer.id}/enable")
    # back at work, but the old feed addresses stay revoked: a new one is made on purpose
    assert fresh(lawyer).active and find_token(raw) is None
    assert is_logged_in(logged_in(lawyer))


def test_an_admin_cannot_disable_themself(district, logged_in):
    admin = district.users.admin
    with pytest.raises(ValidationError):
        service.disable_user(admin, admin)
    client = logged_in(admin)
    response = client.post(f"/admin/users/{admin.id}/disable", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "cannot disable your own account" in response.get_data(as_text=True)
    assert fresh(admin).active and is_logged_in(client)
    page = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert f"/admin/users/{admin.id}/disable" not in page


def test_a_new_role_ends_the_sessions_a_new_display_name_does_not(district, logged_in):
    coordinator = district.users.town_coordinator
    browser = logged_in(coordinator)
    admin = district.users.admin
    service.update_user(admin, coordinator, display_name="东湖镇 王", role="coordinator",
                        town=district.towns[0])
    assert fresh(coordinator).display_name == "东湖镇 王" and is_logged_in(browser)
    service.update_user(admin, coordinator, display_name="东湖镇 王", role="coordinator",
                        town=district.towns[1])
    assert fresh(coordinator).town_id == district.towns[1].id
    assert not is_logged_in(browser)


# --- passwords -----------------------------------------------------------------------------

def test_changing_my_password_keeps_this_session_and_ends_the_others(district, logged_in, app):
    lawyer = district.users.lawyer
    other, this = logged_in(lawyer), logged_in(lawyer)
    response = this.post("/account/password", data={
        "current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert is_logged_in(this) and not is_logged_in(other)
    assert logged_in(lawyer, NEW_PASSWORD)
    assert app.test_client().post("/login", data={"username": lawyer.username,
                                                   "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize("form, message", [
    ({"current": "not-my-pass-1", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
     "The current password is wrong."),
    ({"current": PASSWORD, "password": "short1", "confirm": "short1"},
     "A password needs at least 8 characters."),
    ({"current": PASSWORD, "password": "onlyletters", "confirm": "onlyletters"},
     "A password needs both letters and digits or symbols."),
    ({"current": PASSWORD, "password": NEW_PASSWORD, "confirm": "something-else-1"},
     "The two passwords differ."),
])
def test_a_refused_password_change_says_why_and_changes_nothing(district, logged_in, form,
                                                                message):
    lawyer = district.users.lawyer
    other, this = logged_in(lawyer), logged_in(lawyer)
    hash_before = fresh(lawyer).password_hash
    response = this.post("/account/password", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert fresh(lawyer).password_hash == hash_before
    assert is_logged_in(this) and is_logged_in(other)
    assert not AuditLog.select().where(AuditLog.action == "user.change_password").exists()


def test_admin_resets_a_password_with_the_rules(district, logged_in):
    village = district.users.village
    browser = logged_in(village)
    admin = logged_in(district.users.admin)
    url = f"/admin/users/{village.id}/password"
    refused = admin.post(url, data={"reset-password": "12345678", "reset-confirm": "12345678"},
                         headers={"HX-Request": "true"})
    assert refused.status_code == 422
    assert "letters and digits or symbols" in refused.get_data(as_text=True)
    assert check_password_hash(fresh(village).password_hash, PASSWORD)
    assert is_logged_in(browser)

    done = admin.post(url, data={"reset-password": NEW_PASSWORD, "reset-confirm": NEW_PASSWORD},
                      headers={"HX-Request": "true"})
    assert done.status_code == 200
    assert not is_logged_in(browser)
    assert logged_in(village, NEW_PASSWORD)




def test_the_current_password_is_throttled_like_a_login(district, logged_in, now, app):
    now(dt.datetime(2026, 3, 2, 1, 0))
    lawyer = district.users.lawyer
    browser = logged_in(lawyer)
    hash_before = fresh(lawyer).password_hash
    change = {"current": "guess-pass-1", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    for _ in range(3):
        response = browser.post("/account/password", data=change, headers={"HX-Request": "true"})
        assert response.status_code == 422
    slowed = browser.post("/account/password", data=dict(change, current=PASSWORD),
                          headers={"HX-Request": "true"})  # even the right one must wait
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "2"
    assert "Try again in 2 seconds." in slowed.get_data(as_text=True)
    assert fresh(lawyer).password_hash == hash_before
    # the failures count against the account from this address: its logins wait too
    again = app.test_client()
    refused = again.post("/login", data={"username": lawyer.username, "password": PASSWORD})
    assert refused.status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.2.3.4"
    assert elsewhere.post("/login", data={"username": lawyer.username,
                                          "password": PASSWORD}).status_code == 302
    now(dt.datetime(2026, 3, 2, 1, 0, 2))
    done = browser.post("/account/password", data=dict(change, current=PASSWORD))
    assert done.status_code == 302 and fresh(lawyer).password_hash != hash_before


def test_an_administrator_unlocks_an_account(district, logged_in, app, now):
    now(dt.datetime(2026, 3, 2, 1, 0))
    target = district.users.coordinator
    locked = app.test_client()
    locked.set_cookie("lang", "en")
    for _ in range(12):
        locked.post("/login", data={"username": target.username, "password": "guess-pass-1"})
        now(dt.datetime(2026, 3, 2, 1, 0) + dt.timedelta(seconds=1))
    assert locked.post("/login", data={"username": target.username,
                                       "password": PASSWORD}).status_code == 429
    admin = logged_in(district.users.admin)
    page = admin.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert "3 recent failures" in page and f"/admin/users/{target.id}/unlock" in page
    response = admin.post(f"/admin/users/{target.id}/unlock", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "can log in again at once" in response.get_data(as_text=True)
    assert f"/admin/users/{target.id}/unlock" not in response.get_data(as_text=True)
    assert locked.post("/login", data={"username": target.username,
                                       "password": PASSWORD}).status_code == 302
    (entry,) = AuditLog.select().where(AuditLog.action == "user.unlock")
    assert (entry.username, entry.object_id, entry.detail) == (
        "admin", str(target.id), {"failures": 3})
    assert logged_in(district.users.coordinator).post(
        f"/admin/users/{target.id}/unlock").status_code == 403


# --- only administrators -------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    lambda actor, user: service.disable_user(actor, user),
    lambda actor, user: service.enable_user(actor, user),
    lambda actor, user: service.end_sessions(actor, user),
    lambda actor, user: service.reset_password(actor, user, NEW_PASSWORD),
    lambda actor, user: service.update_user(actor, user, display_name="x", role="admin"),
    lambda actor, user: service.add_user(actor, "new-admin", NEW_PASSWORD, "admin"),
])
def test_non_admins_are_refused_by_the_services(district, change):
    target = district.users.village
    sessions.start(target)
    before = service._describe(fresh(target)), sessions.count(target)
    for actor in (district.users.coordinator, district.users.town_coordinator,
                  district.users.lawyer):
        with pytest.raises(PermissionDenied):
            change(actor, target)
    after = fresh(target)
    assert (service._describe(after), sessions.count(target)) == before and after.active
    assert not User.select().where(User.username == "new-admin").exists()
    assert AuditLog.select().where(AuditLog.action.startswith("user.")).count() == 0


def test_non_admins_get_403_on_the_user_pages(district, logged_in):
    client = logged_in(district.users.coordinator)
    assert client.get("/admin/users").status_code == 403
    assert client.post(f"/admin/users/{district.users.village.id}/disable").status_code == 403
    assert fresh(district.users.village).active


# --- create, edit, list --------------------------------------------------------------------

def test_admin_creates_a_village_user_who_can_log_in(district, logged_in):
    admin = logged_in(district.users.admin)
    village = district.villages[1]
    response = admin.post("/admin/users/new", data={
        "username": "cun2", "display_name": "二村", "role": "village", "village": village.id,
        "town": district.towns[0].id, "lawyer": "", "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    created = User.get(User.username == "cun2")
    # the town does not apply to a village user and is not kept
    assert (created.role, created.village_id, created.town_id) == ("village", village.id, None)
    assert logged_in(created, NEW_PASSWORD)


@pytest.mark.parametrize("fields, message", [
    ({"role": "village", "village": ""}, "A village user must be linked to a village."),
    ({"role": "lawyer"}, "A lawyer user must be linked to a lawyer."),
    ({"password": "short1", "confirm": "short1"}, "A password needs at least 8 characters."),
    ({"username": "coord"}, "The username coord is taken."),
])
def test_a_refused_new_user_says_why_and_creates_nothing(district, logged_in, fields, message):
    admin = logged_in(district.users.admin)
    data = {"username": "new-one", "role": "coordinator", "town": "", "village": "",
            "lawyer": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, **fields}
    count = User.select().count()
    response = admin.post("/admin/users/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert User.select().count() == count


def test_admin_edits_role_and_scope_and_a_bad_edit_changes_nothing(district, logged_in):
    admin = logged_in(district.users.admin)
    user = district.users.coordinator
    url = f"/admin/users/{user.id}"
    bad = admin.post(url, data={"edit-display_name": "x", "edit-role": "lawyer",
                                "edit-town": "", "edit-village": "", "edit-lawyer": ""},
                     headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "must be linked to a lawyer" in bad.get_data(as_text=True)
    assert fresh(user).role == "coordinator"
    good = admin.post(url, data={"edit-display_name": "东湖镇协调员", "edit-role": "coordinator",
                                 "edit-town": district.towns[0].id, "edit-village": "",
                                 "edit-lawyer": ""}, headers={"HX-Request": "true"})
    assert good.status_code == 200
    assert (fresh(user).display_name, fresh(user).town_id) == ("东湖镇协调员", district.towns[0].id)


def test_an_admin_cannot_change_their_own_role(district):
    admin = district.users.admin
    with pytest.raises(ValidationError):
        service.update_user(admin, admin, display_name="x", role="coordinator")
    assert fresh(admin).role == "admin"


def test_the_list_searches_filters_and_shows_status(district, logged_in):
    service.disable_user(None, district.users.village)
    admin = logged_in(district.users.admin)
    html = admin.get("/admin/users?q=coord", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in html  # the results fragment only
    assert "coord-t1" in html and "lawyer" not in html.split("</thead>")[1]
    lawyers = admin.get("/admin/users?role=lawyer").get_data(as_text=True)
    assert ">lawyer</a>" in lawyers and ">coord</a>" not in lawyers
    disabled = admin.get("/admin/users?status=disabled").get_data(as_text=True)
    assert ">village</a>" in disabled and ">admin</a>" not in disabled
    assert "Disabled" in disabled
    assert "Never" in admin.get("/admin/users?q=village").get_data(as_text=True)


def test_the_role_filter_shows_the_filter_in_use_not_the_viewers_role(district, logged_in):
    admin = logged_in(district.users.admin)
    unfiltered = admin.get("/admin/users").get_data(as_text=True)
    assert 'value="admin" selected' not in unfiltered  # "All roles" is what is shown
    lawyers = admin.get("/admin/users?role=lawyer").get_data(as_text=True)
    assert 'value="lawyer" selected' in lawyers and 'value="admin" selected' not in lawyers


def test_nav_links_users_for_admins_and_my_account_for_everyone(district, logged_in):
    assert "/admin/users" in logged_in(district.users.admin).get("/home").get_data(as_text=True)
    page = logged_in(district.users.village).get("/villages/").get_data(as_text=True)
    assert "/account" in page and "/admin/users" not in page


# --- audit ---------------------------------------------------------------------------------

def test_every_change_is_audited_without_secrets(district, logged_in):
    admin_user = district.users.admin
    admin = logged_in(admin_user)
    target = district.users.village
    admin.post(f"/admin/users/{target.id}/password",
               data={"reset-password": NEW_PASSWORD, "reset-confirm": NEW_PASSWORD})
    admin.post(f"/admin/users/{target.id}/end-sessions")
    admin.post(f"/admin/users/{target.id}/disable")
    admin.post(f"/admin/users/{target.id}/enable")
    logged_in(target, NEW_PASSWORD).post("/account/password", data={
        "current": NEW_PASSWORD, "password": "third-pass-77", "confirm": "third-pass-77"})
    service.add_user(admin_user, "added", "joined-pass-1", "coordinator")

    entries = list(AuditLog.select().where(AuditLog.action.startswith("user."))
                   .order_by(AuditLog.id))
    assert [(e.action, e.username) for e in entries] == [
        ("user.reset_password", "admin"), ("user.end_sessions", "admin"),
        ("user.disable", "admin"), ("user.enable", "admin"),
        ("user.change_password", "village"), ("user.create", "admin")]
    assert all(e.object_type == "user" for e in entries)
    assert entries[0].object_id == str(target.id) and entries[0].address == "127.0.0.1"
    secrets = [NEW_PASSWORD, "third-pass-77", "joined-pass-1", fresh(target).password_hash,
               "pbkdf2", "scrypt"]
    text = " ".join(f"{e.detail} {e.object_id} {e.address}" for e in entries)
    assert not [secret for secret in secrets if secret in text]
