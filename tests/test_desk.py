"""The coordinator's desk (core.desk, /home of coordinators and administrators)."""
import datetime as dt

from core import desk
from tests.planning_support import utc


def test_demo_desk_renders(demo_db, login):
    from core.models import User
    from core.demo import DEMO_LOGINS
    coordinator = User.get(User.username == DEMO_LOGINS["coordinator"][0])
    found = desk.desk(coordinator)
    print(found.coverage.paired, found.coverage.total, found.needs, found.week_sessions,
          len(found.behind), found.behind_towns, found.behind_lawyers, found.problems)
    from core.demo import DEMO_PASSWORD
    html = login(coordinator, DEMO_PASSWORD).get("/home").get_data(as_text=True)
    open("/tmp/desk.html", "w").write(html)
    assert False
