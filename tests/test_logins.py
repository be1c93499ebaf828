"""Login protection (core.logins and the login page): throttling per account and per
address, one message for every kind of wrong login, session rotation and cookie flags."""
import datetime as dt

import pytest

from core import logins
from core.clock import now_utc
from core.errors import PermissionDenied, TooManyAttempts
from core.models import LoginAttempt
from core.users import create_user
from tests.factories import PASSWORD

ADDRESS = "10.0.0.7"
WRONG = "Wrong username or password."


@pytest.fixture
def user(database):
    return create_user("wang", PASSWORD, "coordinator")


def fail(username, times, address=ADDRESS):
    for _ in range(times):
        with pytest.raises(PermissionDenied) as refused:
            logins.attempt(username, "wrong-pass-1", address)
        assert not isinstance(refused.value, TooManyAttempts)


def age_attempts(minutes):
    """Move every recorded attempt ``minutes`` into the past (instead of sleeping)."""
    for attempt in LoginAttempt.select():
        attempt.at -= dt.timedelta(minutes=minutes)
        attempt.save()


def test_five_failures_lock_the_account_even_for_the_right_password(user):
    fail("wang", 5)
    with pytest.raises(TooManyAttempts) as refused:
        logins.attempt("wang", PASSWORD, ADDRESS)
    assert str(refused.value) == "Too many failed attempts. Try again in 15 minutes."
    # another address, and the username typed differently, are the same account
    with pytest.raises(TooManyAttempts):
        logins.attempt(" WANG ", PASSWORD, "10.9.9.9")
    # the refused tries were not counted: after the window the right password works
    age_attempts(16)
    assert logins.attempt("wang", PASSWORD, ADDRESS) == user


def test_the_wait_counts_down_from_the_oldest_failure_that_blocks(user):
    fail("wang", 5)
    age_attempts(10)
    with pytest.raises(TooManyAttempts) as refused:
        logins.attempt("wang", PASSWORD, ADDRESS)
    assert refused.value.params == {"minutes": 5}


def test_four_failures_do_not_lock_and_a_success_starts_the_count_again(user):
    fail("wang", 4)
    assert logins.attempt("wang", PASSWORD, ADDRESS) == user
    fail("wang", 4)
    assert logins.attempt("wang", PASSWORD, ADDRESS) == user


def test_an_unknown_username_is_locked_the_same_way(database):
    fail("nobody", 5)
    with pytest.raises(TooManyAttempts) as refused:
        logins.attempt("nobody", "whatever-1", ADDRESS)
    assert "Try again in 15 minutes" in str(refused.value)


def test_one_address_failing_on_many_accounts_is_throttled(user, monkeypatch):
    monkeypatch.setenv("JIEDUI_LOGIN_MAX_FAILURES_PER_ADDRESS", "6")
    for name in ("a", "b", "c"):
        fail(name, 2)
    # no account has 5 failures, but the address has 6: even the right password is refused
    with pytest.raises(TooManyAttempts):
        logins.attempt("wang", PASSWORD, ADDRESS)
    # the same account from another address is fine
    assert logins.attempt("wang", PASSWORD, "10.0.0.8") == user
    age_attempts(16)
    assert logins.attempt("wang", PASSWORD, ADDRESS) == user


def test_settings_change_the_limits(user, monkeypatch):
    monkeypatch.setenv("JIEDUI_LOGIN_MAX_FAILURES", "2")
    monkeypatch.setenv("JIEDUI_LOGIN_WINDOW_MINUTES", "60")
    fail("wang", 2)
    age_attempts(30)
    with pytest.raises(TooManyAttempts) as refused:
        logins.attempt("wang", PASSWORD, ADDRESS)
    assert refused.value.params == {"minutes": 30}


def test_wrong_unknown_and_disabled_get_the_same_message(user):
    disabled = create_user("li", PASSWORD, "coordinator")
    disabled.active = False
    disabled.save()
    messages = set()
    for username, password in (("wang", "wrong-pass-1"), ("nobody", PASSWORD),
                               ("li", PASSWORD)):
        with pytest.raises(PermissionDenied) as refused:
            logins.attempt(username, password, ADDRESS)
        messages.add(str(refused.value))
    assert messages == {WRONG}


def test_every_attempt_is_recorded_and_old_ones_pruned(user):
    LoginAttempt.create(at=now_utc() - dt.timedelta(days=2), username="old", address="x")
    fail("Wang ", 1)
    logins.attempt("wang", PASSWORD, ADDRESS)
    rows = [(a.username, a.address, a.succeeded)
            for a in LoginAttempt.select().order_by(LoginAttempt.id)]
    assert rows == [("wang", ADDRESS, False), ("wang", ADDRESS, True)]


# --- the login page --------------------------------------------------------------------

def post_login(client, username, password):
    return client.post("/login", data={"username": username, "password": password})


def test_login_page_answers_401_then_429_with_the_same_words_for_any_account(client, user):
    client.set_cookie("lang", "en")
    for username in ("wang", "nobody"):
        response = post_login(client, username, "wrong-pass-1")
        assert response.status_code == 401 and WRONG in response.get_data(as_text=True)
    for username in ("a", "b", "c", "d", "e", "f") * 3:  # no account reaches 5 failures
        assert post_login(client, username, "wrong-pass-1").status_code == 401
    # 20 failures from this address: refused, whatever the account or the password
    for username, password in (("wang", PASSWORD), ("nobody", "x-1234567")):
        response = post_login(client, username, password)
        assert response.status_code == 429
        assert "Too many failed attempts. Try again in 15 minutes." in response.get_data(
            as_text=True)
    assert client.get("/villages/").status_code == 302  # not logged in


def test_session_rotation_the_cookie_from_before_login_is_not_logged_in(app, user):
    client = app.test_client()
    client.get("/login")
    client.set_cookie("lang", "en")
    client.post("/login", data={"username": "nobody", "password": "x"})  # writes a flash
    before = client.get_cookie("session").value
    assert post_login(client, "wang", PASSWORD).status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    assert client.get("/villages/").status_code == 200
    replay = app.test_client()
    replay.set_cookie("session", before)
    assert replay.get("/villages/").status_code == 302


def test_session_cookie_flags(client, user):
    response = post_login(client, "wang", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_when_served_over_https(database, user, monkeypatch):
    monkeypatch.setenv("JIEDUI_BASE_URL", "https://jiedui.example.org")
    from web import create_app
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    response = client.post("/login", data={"username": "wang", "password": PASSWORD},
                           base_url="https://jiedui.example.org")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
