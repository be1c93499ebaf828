"""Small, explicit test data built through the core services."""
import datetime as dt
import secrets
from types import SimpleNamespace

from core import clock
from core.models import District, Event, LawFirm, Lawyer, Rating, RatingCode, Town, Village
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


def session(pairing, day: dt.date, status: str = "held", kind: str = "session") -> Event:
    """An on-site session of ``pairing`` on ``day``, 08:30-12:00 district time."""
    start = clock.utc_from_local(day, dt.time(8, 30))
    end = clock.utc_from_local(day, dt.time(12, 0))
    held = status == "held"
    return counted(Event.create(uid=f"test-{secrets.token_hex(8)}@jiedui", kind=kind,
                                village=pairing.village_id, pairing=pairing,
                                lawyer=pairing.lawyer_id, starts_at=start, ends_at=end,
                                status=status, held_start=start if held else None,
                                held_end=end if held else None))


def counted(event: Event) -> Event:
    """An event written past the services: its village's kept pace figures and its town's
    kept session counts follow, as after a service's change (``core.pace_tally``,
    ``core.session_tally``)."""
    from core import pace_tally, session_tally
    pace_tally.refresh(village_ids=[event.village_id])
    session_tally.refresh_events([event.id])
    return event


def verified_rating(pairing, period: str, score: int, **fields) -> Rating:
    """A rating given with a rating code, so it counts (core.feedback.counts). The code's
    session is a planned one in the quarter: it leaves the sessions held as they are."""
    year, quarter = int(period[:4]), int(period[-1])
    event = session(pairing, dt.date(year, 3 * quarter - 2, 10), status="planned")
    code = RatingCode.create(event=event, code_hash=secrets.token_hex(32), used_at=clock.now_utc())
    return Rating.create(pairing=pairing, period=period, code=code, score=score, **fields)
