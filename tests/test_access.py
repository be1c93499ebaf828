"""Every route has an explicit access rule, and each rule holds for every kind of user.

The table below must name every endpoint of the app: a new route without a row fails
``test_every_route_is_in_the_table``. Each row gives the URL of an object in town 1 and
who may reach it; everyone else must get 403 or 404, and anonymous users go to the login.
"""
import pytest

from core.users import create_user
from tests.factories import PASSWORD

ACTORS = ("admin", "coordinator", "town_coordinator", "other_town_coordinator", "lawyer",
          "other_lawyer", "village", "other_village")
MANAGERS_IN_SCOPE = {"admin", "coordinator", "town_coordinator"}
COORDINATORS = MANAGERS_IN_SCOPE | {"other_town_coordinator"}
READERS_OF_VILLAGE_0 = MANAGERS_IN_SCOPE | {"lawyer", "village"}
LOGGED_IN = set(ACTORS)

# endpoint: (method, url built from the district `d`, actors admitted)
ROUTES = {
    "coverage.index": ("GET", lambda d: "/", LOGGED_IN),
    "villages.index": ("GET", lambda d: "/villages/", LOGGED_IN),
    "villages.detail": ("GET", lambda d: f"/villages/{d.villages[0].code}", READERS_OF_VILLAGE_0),
    "towns.index": ("GET", lambda d: "/towns/", LOGGED_IN),
    "towns.detail": ("GET", lambda d: f"/towns/{d.towns[0].code}", READERS_OF_VILLAGE_0),
    "lawyers.index": ("GET", lambda d: "/lawyers/", COORDINATORS),
    "lawyers.detail": ("GET", lambda d: f"/lawyers/{d.lawyers[0].id}", COORDINATORS | {"lawyer"}),
    "firms.index": ("GET", lambda d: "/firms/", COORDINATORS),
    "firms.detail": ("GET", lambda d: f"/firms/{d.firms[0].id}", COORDINATORS),
    "pairings.panel": ("GET", lambda d: f"/pairings/village/{d.villages[0].code}/panel",
                       READERS_OF_VILLAGE_0),
    "pairings.pair": ("POST", lambda d: f"/pairings/village/{d.villages[0].code}",
                      MANAGERS_IN_SCOPE),
    "pairings.update_term": ("POST", lambda d: f"/pairings/{d.pairings[0].id}/term",
                             MANAGERS_IN_SCOPE),
    "pairings.end": ("POST", lambda d: f"/pairings/{d.pairings[0].id}/end", MANAGERS_IN_SCOPE),
    "pairings.replace": ("POST", lambda d: f"/pairings/{d.pairings[0].id}/replace",
                         MANAGERS_IN_SCOPE),
    "auth.logout": ("POST", lambda d: "/logout", LOGGED_IN),
}
PUBLIC = {
    "auth.login": "/login",
    "auth.language": "/lang/en",
    "static": "/static/app.css",
}


@pytest.fixture
def users(district):
    """The district's users plus a lawyer and a village user of town 2."""
    u = district.users
    u.other_lawyer = create_user("lawyer-t2", PASSWORD, "lawyer", lawyer=district.lawyers[3])
    u.other_village = create_user("village-t2", PASSWORD, "village", village=district.villages[3])
    return u


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(ROUTES) - set(PUBLIC) == set(), "add the new routes to ROUTES"
    assert set(ROUTES) | set(PUBLIC) <= endpoints, "the table names routes that are gone"


def test_every_view_declares_its_rule(app):
    undeclared = [endpoint for endpoint, view in app.view_functions.items()
                  if endpoint != "static" and not hasattr(view, "access_rule")]
    assert undeclared == []
    for endpoint in PUBLIC:
        if endpoint != "static":
            assert app.view_functions[endpoint].access_rule[0] == "public"


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_anonymous_is_sent_to_login(endpoint, client, district):
    method, url, _ = ROUTES[endpoint]
    response = client.open(url(district), method=method)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("endpoint", sorted(PUBLIC))
def test_public_routes_serve_anyone(endpoint, client, district):
    assert client.get(PUBLIC[endpoint]).status_code in (200, 302)


@pytest.mark.parametrize("actor", ACTORS)
def test_each_actor_reaches_exactly_what_the_table_admits(actor, users, district, login):
    client = login(getattr(users, actor))
    wrong = []
    for endpoint, (method, url, admitted) in sorted(ROUTES.items()):
        if endpoint == "auth.logout":
            continue  # would end the session under test; covered below
        status = client.open(url(district), method=method, data={}).status_code
        if actor in admitted and status in (401, 403, 404) or status >= 500:
            wrong.append(f"{endpoint}: {status}, expected to be admitted")
        elif actor not in admitted and status not in (403, 404):
            wrong.append(f"{endpoint}: {status}, expected 403 or 404")
    assert wrong == []


def test_logout_ends_the_session(users, login):
    client = login(users.lawyer)
    assert client.post("/logout").status_code == 302
    assert "/login" in client.get("/villages/").headers["Location"]


def test_a_route_without_rule_is_refused(app, users, login):
    """Fail closed: a view that forgot its rule is not served, even to an administrator."""
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    client = login(users.admin)
    assert client.get("/forgotten").status_code == 403


def test_a_disabled_user_is_logged_out_at_once(users, login):
    client = login(users.coordinator)
    users.coordinator.active = False
    users.coordinator.save()
    assert client.get("/villages/").status_code == 302
