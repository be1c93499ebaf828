"""The benchmarks' generated world (bench/generate.py) is one the app's own services agree
with: every village paired, each year's quota planned, feeds that render and are served."""
import pytest

from bench import generate
from core.db import close_quietly, db, open_database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JIEDUI_BENCH_DATA", str(tmp_path_factory.mktemp("bench-data")))
        patch.delenv("JIEDUI_BENCH_DATABASE_URL", raising=False)
        url = generate.prepare("tiny")  # built in a process of its own, then copied
        again = generate.prepare("tiny", writable=False)
    assert url != again and again.endswith("tiny-%d-v%d.db" % (
        __import__("datetime").date.today().year, generate.GENERATOR_VERSION))
    open_database(url)
    db.connect(reuse_if_open=True)
    yield url
    close_quietly()
    generate.discard(url)


def test_the_counts_are_the_scales(world):
    from core.models import Event, FeedToken, LawFirm, Lawyer, Pairing, Task, Town, User, Village
    wanted = generate.expected("tiny")
    assert Town.select().count() == wanted["towns"]
    assert Village.select().count() == wanted["villages"]
    assert LawFirm.select().count() == wanted["firms"]
    assert Lawyer.select().count() == wanted["lawyers"]
    assert Pairing.select().where(Pairing.status == "active").count() == wanted["villages"]
    assert Event.select().count() == wanted["events"]
    assert Task.select().count() == wanted["tasks"]
    assert User.select().count() == wanted["users"]
    assert FeedToken.select().count() == wanted["towns"] + wanted["lawyers"] + 1


def test_coverage_shows_every_village_paired(world):
    from core.coverage import coverage
    from core.models import User
    shown = coverage(User.get(User.username == generate.COORDINATOR))
    assert shown.total == shown.paired == generate.expected("tiny")["villages"]


def test_the_quota_is_planned_for_every_pairing(world):
    from core import clock
    from core.models import User
    from core.planner import quota_status
    rows = quota_status(User.get(User.username == generate.COORDINATOR), clock.today().year)
    assert len(rows) == generate.expected("tiny")["villages"]
    assert all((row.required_sessions, row.required_publicity) == (12, 2) for row in rows)
    assert all(row.planned_sessions + len(row.missed) >= 12 and row.planned_publicity == 2
               for row in rows), [(r.village.code, r.shortfall) for r in rows if r.shortfall]
    assert sum(row.held_sessions for row in rows) > 0


def test_planning_the_year_again_changes_nothing(world):
    """The generated events are where the planner would keep them."""
    from core import clock
    from core.planner import plan_year
    summary = plan_year(clock.today().year)
    assert summary["created"] == summary["cancelled"] == 0
    assert summary["moved"] == 0, summary
    assert not summary["shortfalls"]


def test_a_lawyers_feed_is_served_by_its_token(world):
    from core import clock
    from core.feeds import publish
    from core.models import Event, User
    from web import create_app
    user = User.get(User.username == generate.lawyer_username(1))
    publish(f"lawyer:{user.lawyer_id}")
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    answer = client.get(f"/feeds/{generate.feed_token(user.username)}.ics")
    assert answer.status_code == 200
    coming = [uid for (uid,) in Event.select(Event.uid).where(
        (Event.lawyer == user.lawyer_id) & (Event.starts_at > clock.now_utc())).tuples()]
    assert all(uid.encode() in answer.data for uid in coming)
    assert answer.data.count(b"BEGIN:VEVENT") >= len(coming)


def test_a_generated_login_logs_in(world):
    from web import create_app
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/login", data={"username": generate.COORDINATOR, "password": generate.PASSWORD})
    for path in ("/home", "/tasks/", "/calendar/"):
        assert client.get(path).status_code == 200, path


PG_URL = __import__("os").environ.get("JIEDUI_TEST_DATABASE_URL")


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL: JIEDUI_TEST_DATABASE_URL is not set")
def test_on_postgresql_copies_of_a_template_take_new_rows(monkeypatch, tmp_path):
    """The world is built once into a template database; each copy is a database of its
    own whose ids go on after the generated rows."""
    import psycopg2

    from core.models import Event, Village
    monkeypatch.setenv("JIEDUI_BENCH_DATA", str(tmp_path))
    monkeypatch.setenv("JIEDUI_BENCH_DATABASE_URL", PG_URL)
    url = generate.prepare("tiny")
    try:
        open_database(url)
        with db.connection_context():
            assert Village.select().count() == generate.expected("tiny")["villages"]
            first = Event.select().order_by(Event.id).first()
            added = Event.create(uid="added@bench", kind="session", starts_at=first.starts_at,
                                 ends_at=first.ends_at)
            assert added.id == generate.expected("tiny")["events"] + 1
    finally:
        close_quietly()
        generate.discard(url)
        admin = psycopg2.connect(generate._with_dbname(PG_URL, "postgres"))
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                           (url.rsplit("/", 1)[1],))
            assert cursor.fetchone() is None  # the copy is gone
        admin.close()
