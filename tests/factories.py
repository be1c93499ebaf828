"""Small, explicit test data built through the core services."""
import datetime as dt
from types import SimpleNamespace

from core.models import District, LawFirm, Lawyer, Town, Village
from core.pairings import pair
from core.users import create_user

PASSWORD = "test-pass-123"
TERM_START = dt.date(2026, 1, 1)
TERM_END = dt.date(2028, 12, 31)


def make_lawyer(name: str, firm: LawFirm, licence_no: str | None = None, **fields) -> Lawyer:
    return Lawyer.create(name=name, firm=firm,
                         licence_no=licence_no or f"1310{Lawyer.select().count():09d}", **fields)


def small_district() -> SimpleNamespace:
    district = District.create(code="310000", name="示范区")
    towns = [Town.create(district=district, code=f"T{i}", name=name, judicial_office=f"{name}司法所")
             for i, name in enumerate(("东湖镇", "西山街道"), start=1)]
    villages = [Village.create(town=town, code=f"{town.code}V{j}", name=f"{town.name[:2]}{j}村",
                               kind="village" if j < 3 else "community")
                for town in towns for j in range(1, 4)]
    firms = [LawFirm.create(name="明德律师事务所"), LawFirm.create(name="正义律师事务所")]
    lawyers = [make_lawyer(name, firms[i % 2], phone=f"1380000000{i}")
               for i, name in enumerate(("张明", "李华", "王芳", "赵强"))]
    pairings = [pair(None, lawyer=lawyers[i], village=villages[i], term_start=TERM_START,
                     term_end=TERM_END) for i in range(4)]
    users = SimpleNamespace(
        admin=create_user("admin", PASSWORD, "admin"),
        coordinator=create_user("coord", PASSWORD, "coordinator"),
        town_coordinator=create_user("coord-t1", PASSWORD, "coordinator", town=towns[0]),
        other_town_coordinator=create_user("coord-t2", PASSWORD, "coordinator", town=towns[1]),
        lawyer=create_user("lawyer", PASSWORD, "lawyer", lawyer=lawyers[0]),
        village=create_user("village", PASSWORD, "village", village=villages[0]),
    )
    return SimpleNamespace(district=district, towns=towns, villages=villages, firms=firms,
                           lawyers=lawyers, pairings=pairings, users=users)
