"""Login protection (core.throttle, core.logins and the login page): failures counted per
account and address with a growing delay, so nobody locks another person out; a limit
per address over all accounts; one message for every kind of wrong login; session
rotation and cookie flags."""
import datetime as dt

import pytest

from core import clock as service_clock
from core import logins, throttle
from core.errors import PermissionDenied, TooManyAttempts
from core.models import LoginAttempt
from core.users import create_user
from tests.factories import PASSWORD
from tests.planning_support import now  # noqa: F401 (fixture)

ADDRESS = "10.0.0.7"
ATTACKER, OWNER = "10.6.6.6", "10.1.1.1"
WRONG = "Wrong username or password."


@pytest.fixture
def user(database):
    return create_user("wang", PASSWORD, "coordinator")


@pytest.fixture
def clock(now):
    """``clock.later(seconds)`` moves the services' clock on."""
    state = {"at": now(dt.datetime(2026, 3, 2, 1, 0))}

    class Clock:
        @staticmethod
        def later(seconds):
            state["at"] = now(state["at"] + dt.timedelta(seconds=seconds))
            return state["at"]
    return Clock


def fail(username, times, address=ADDRESS):
    for _ in range(times):
        with pytest.raises(PermissionDenied) as refused:
            logins.attempt(username, "wrong-pass-1", address)
        assert not isinstance(refused.value, TooManyAttempts)


def waits(username, password, address=ADDRESS) -> int:
    """The seconds a try must wait (it is refused), or 0 when it went ahead."""
    try:
        logins.attempt(username, password, address)
    except TooManyAttempts as refused:
        return refused.retry_after
    except PermissionDenied:
        return 0
    return 0


def age_attempts(minutes):
    """Move every recorded attempt ``minutes`` into the past (instead of sleeping)."""
    for attempt in LoginAttempt.select():
        attempt.at -= dt.timedelta(minutes=minutes)
        attempt.save()


# --- per account and address: a growing delay ------------------------------------------

def test_an_attackers_failures_from_one_address_never_keep_the_owner_out(user, clock):
    """50 wrong passwords from the attacker's address, as fast as the delays allow, do not
    stop the right password from the owner's address; they do slow the attacker."""
    for _ in range(50):
        wait = waits("wang", "wrong-pass-1", ATTACKER)
        if wait:
            clock.later(wait)
            fail("wang", 1, ATTACKER)
    assert len(throttle.counted_failures("wang", ATTACKER, service_clock.now_utc())) == 50
    assert logins.attempt("wang", PASSWORD, OWNER) == user
    # the owner's success does not let the attacker off: even the right password waits
    with pytest.raises(TooManyAttempts) as refused:
        logins.attempt("wang", PASSWORD, ATTACKER)
    assert refused.value.retry_after == 15 * 60
    assert str(refused.value) == "Too many failed attempts. Try again in 15 minutes."
    assert waits(" WANG ", PASSWORD, ATTACKER) == 15 * 60  # the same account, typed so


def test_after_three_free_failures_each_try_waits_twice_as_long_up_to_the_cap(user, clock):
    fail("wang", 3)  # free: no wait between them
    seen = []
    for _ in range(12):
        with pytest.raises(TooManyAttempts) as refused:
            logins.attempt("wang", PASSWORD, ADDRESS)  # refused at once, even when right
        seen.append(refused.value.retry_after)
        clock.later(refused.value.retry_after - 1)
        assert waits("wang", "wrong-pass-1") == 1  # a second early: still waiting
        clock.later(1)
        fail("wang", 1)
    assert seen == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    with pytest.raises(TooManyAttempts) as refused:
        logins.attempt("wang", PASSWORD, ADDRESS)
    assert str(refused.value) == "Too many failed attempts. Try again in 15 minutes."
    clock.later(15 * 60)
    assert logins.attempt("wang", PASSWORD, ADDRESS) == user  # the wait over, it goes ahead


def test_a_short_wait_is_said_in_seconds(user, clock):
    fail("wang", 3)
    with pytest.raises(TooManyAttempts) as refused:
        logins.attempt("wang", PASSWORD, ADDRESS)
    assert str(refused.value) == "Too many failed attempts. Try again in 2 seconds."


def test_a_success_from_the_address_starts_the_count_again(user, clock):
    fail("wang", 3)
    clock.later(2)
    assert logins.attempt("wang", PASSWORD, ADDRESS) == user
    fail("wang", 3)
    clock.later(2)
    assert logins.attempt("wang", PASSWORD, ADDRESS) == user


def test_failures_are_forgotten_after_a_day(user, clock):
    fail("wang", 3)
    clock.later(2)
    fail("wang", 1)
    assert waits("wang", PASSWORD) == 4
    clock.later(24 * 3600 + 1)
    assert logins.attempt("wang", PASSWORD, ADDRESS) == user


def test_an_unknown_username_is_throttled_the_same_way(database, clock):
    fail("nobody", 3)
    assert waits("nobody", "whatever-1") == 2


def test_a_try_counts_as_a_failure_while_its_password_is_checked(user):
    """Tries sent at once cannot all pass one opening: each is recorded (as a failure)
    before its password is checked, in the same locked step as the check of the wait."""
    fail("wang", 2)
    during = []

    def check():
        during.append(len(throttle.counted_failures("wang", ADDRESS, service_clock.now_utc())))
        return False
    assert throttle.checked("wang", ADDRESS, check) is False
    assert during == [3]
    with pytest.raises(TooManyAttempts):
        throttle.checked("wang", ADDRESS, lambda: pytest.fail("checked while it must wait"))


# --- per address, over all accounts ------------------------------------------------------

def test_one_address_failing_on_many_accounts_is_throttled(user, monkeypatch):
    monkeypatch.setenv("JIEDUI_LOGIN_MAX_FAILURES_PER_ADDRESS", "6")
    for name in ("a", "b", "c"):
        fail(name, 2)
    # no account has a delay, but the address has 6 failures: even the right password waits
    with pytest.raises(TooManyAttempts):
        logins.attempt("wang", PASSWORD, ADDRESS)
    # the same account from another address is fine
    assert logins.attempt("wang", PASSWORD, "10.0.0.8") == user
    age_attempts(16)
    assert logins.attempt("wang", PASSWORD, ADDRESS) == user


def test_settings_change_the_limits(user, clock, monkeypatch):
    monkeypatch.setenv("JIEDUI_LOGIN_FREE_FAILURES", "1")
    monkeypatch.setenv("JIEDUI_LOGIN_MAX_DELAY_MINUTES", "1")
    fail("wang", 1)
    seen = []
    for _ in range(7):
        wait = waits("wang", PASSWORD)
        seen.append(wait)
        clock.later(wait)
        fail("wang", 1)
    assert seen == [2, 4, 8, 16, 32, 60, 60]


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
    LoginAttempt.create(at=service_clock.now_utc() - dt.timedelta(days=2), username="old", address="x")
    fail("Wang ", 1)
    logins.attempt("wang", PASSWORD, ADDRESS)
    rows = [(a.username, a.address, a.succeeded)
            for a in LoginAttempt.select().order_by(LoginAttempt.id)]
    assert rows == [("wang", ADDRESS, False), ("wang", ADDRESS, True)]


# --- the login page --------------------------------------------------------------------

def post_login(client, username, password, address="127.0.0.1"):
    """Log in from ``address`` (the client stays there: the session is bound to it)."""
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/login", data={"username": username, "password": password})


def test_login_page_answers_401_then_429_with_the_same_words_for_any_account(client, user,
                                                                            clock):
    client.set_cookie("lang", "en")
    for username in ("wang", "nobody"):
        response = post_login(client, username, "wrong-pass-1")
        assert response.status_code == 401 and WRONG in response.get_data(as_text=True)
    for username in ("a", "b", "c", "d", "e", "f") * 3:  # no account gets a delay
        assert post_login(client, username, "wrong-pass-1").status_code == 401
    # 20 failures from this address: refused, whatever the account or the password
    for username, password in (("wang", PASSWORD), ("nobody", "x-1234567")):
        response = post_login(client, username, password)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == str(15 * 60)
        assert "Too many failed attempts. Try again in 15 minutes." in response.get_data(
            as_text=True)
    assert client.get("/villages/").status_code == 302  # not logged in
    # from another address the account logs in
    assert post_login(client, "wang", PASSWORD, address="10.0.0.9").status_code == 302
    assert client.get("/villages/").status_code == 200


def test_login_page_slows_one_address_and_lets_the_owner_in_from_another(app, user, clock):
    attacker, owner = app.test_client(), app.test_client()
    for client in (attacker, owner):
        client.set_cookie("lang", "en")
    for _ in range(3):
        assert post_login(attacker, "wang", "wrong-pass-1", ATTACKER).status_code == 401
    slowed = post_login(attacker, "wang", PASSWORD, ATTACKER)
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "2"
    assert "Try again in 2 seconds." in slowed.get_data(as_text=True)
    assert post_login(owner, "wang", PASSWORD, OWNER).status_code == 302
    assert owner.get("/villages/").status_code == 200


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
