"""The demo district: 131 villages and communities in 8 towns, 3 law firms, 45 lawyers,
every village paired for a three-year term, one login of each role, and a spread of
programme tasks for every installed programme (``core.demo_tasks``).

Everything is made up (names, phones, licence numbers) but shaped like the real thing,
and the same on every load: one ``random.Random`` with a fixed seed draws it all.
Pairings go through ``core.pairings.pair`` so the demo obeys the same rules as the UI.
"""
import datetime as dt
import io
import random
import time
import uuid

from peewee import ModelDelete, chunked, sort_models
from PIL import Image, ImageDraw

from core import clock, pace_tally, session_tally, signins
from core.arrangements import Arrangement
from core.config import get_settings
from core.db import BaseModel, db, transaction
from core.demo_tasks import load_demo_tasks
from core.errors import ConflictError, ValidationError
from core.events import clash, lawyer_busy, travel_gap
from core.i18n import N_, gettext_for
from core.models import (ALL_MODELS, Assistant, District, LawFirm, Lawyer, Pairing, SignIn,
                         Town, User, Village, WechatGroup, WechatGroupMember)
from core.inspections import close_follow_up, record_inspection
from core.pairings import pair
from core.placements import event_title
from core.users import create_user
from core.models import Event
from core.planner import plan_year
from core.plugins import get_plugin_manager
from core.worklog import log_held_event, log_held_events
from core import village_requests

SEED = 20231231  # the programme's full-coverage deadline
DISTRICT_CODE = "310117"
DISTRICT_NAME = "清溪区"

# role -> (username, password); printed by `jiedui demo` and `jiedui run`. One password
# for all, which the password rules accept (core.users: no username in it, not common).
DEMO_PASSWORD = "jiedui-demo"
DEMO_LOGINS = {
    "admin": ("admin", DEMO_PASSWORD),
    "coordinator": ("coordinator", DEMO_PASSWORD),
    "town coordinator": ("town", DEMO_PASSWORD),
    "leader": ("leader", DEMO_PASSWORD),  # the leadership group: reads the district
    "firm head": ("firm", DEMO_PASSWORD),  # the demo lawyer's firm: reads its lawyers' work
    "lawyer": ("lawyer", DEMO_PASSWORD),
    "village": ("village", DEMO_PASSWORD),
}

# code, name, number of villages and communities, share of communities.
# Sub-districts (街道) are mostly urban communities; towns (镇) mostly villages.
TOWNS = [
    ("310117001", "清溪街道", 12, 0.85),
    ("310117002", "永丰街道", 9, 1.0),
    ("310117101", "石湖镇", 22, 0.2),
    ("310117102", "泖塘镇", 19, 0.15),
    ("310117103", "枫林镇", 17, 0.2),
    ("310117104", "荷泾镇", 20, 0.2),
    ("310117105", "柳港镇", 16, 0.25),
    ("310117106", "云岭镇", 16, 0.2),
]

FIRMS = [
    ("上海清溪律师事务所", "清溪区人民北路168号3楼", 18),
    ("上海恒诚律师事务所", "清溪区荣乐东路2366号12楼", 15),
    ("上海泖滨律师事务所", "清溪区石湖镇泖亭路55号", 12),
]

SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"),
    ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"), ("郑", "zheng"),
    ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"), ("许", "xu"),
    ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
    ("曾", "zeng"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"), ("潘", "pan"),
    ("蒋", "jiang"), ("蔡", "cai"), ("杜", "du"), ("叶", "ye"), ("程", "cheng"),
    ("苏", "su"), ("魏", "wei"), ("丁", "ding"), ("沈", "shen"), ("姚", "yao"),
    ("陆", "lu"), ("顾", "gu"), ("钱", "qian"), ("金", "jin"), ("范", "fan"),
    ("戴", "dai"), ("严", "yan"), ("倪", "ni"), ("施", "shi"), ("俞", "yu"),
    ("龚", "gong"), ("夏", "xia"),
]

GIVEN_NAMES = [
    ("明", "ming"), ("伟", "wei"), ("芳", "fang"), ("敏", "min"), ("静", "jing"),
    ("磊", "lei"), ("洋", "yang"), ("勇", "yong"), ("杰", "jie"), ("涛", "tao"),
    ("超", "chao"), ("婷", "ting"), ("琳", "lin"), ("斌", "bin"), ("鹏", "peng"),
    ("辉", "hui"), ("颖", "ying"), ("倩", "qian"), ("燕", "yan"), ("峰", "feng"),
    ("建华", "jianhua"), ("志强", "zhiqiang"), ("晓东", "xiaodong"), ("海燕", "haiyan"),
    ("文博", "wenbo"), ("思远", "siyuan"), ("雨婷", "yuting"), ("子涵", "zihan"),
    ("俊杰", "junjie"), ("佳怡", "jiayi"), ("欣怡", "xinyi"), ("浩然", "haoran"),
    ("宇航", "yuhang"), ("丽华", "lihua"), ("国庆", "guoqing"), ("建国", "jianguo"),
    ("秀英", "xiuying"), ("桂芳", "guifang"), ("玉兰", "yulan"), ("卫东", "weidong"),
    ("红梅", "hongmei"), ("晓燕", "xiaoyan"), ("立新", "lixin"), ("永刚", "yonggang"),
    ("春华", "chunhua"), ("雅琴", "yaqin"), ("振宇", "zhenyu"), ("嘉伟", "jiawei"),
    ("慧敏", "huimin"), ("一鸣", "yiming"), ("梦瑶", "mengyao"), ("天宇", "tianyu"),
    ("晨阳", "chenyang"), ("诗雨", "shiyu"), ("家豪", "jiahao"), ("明轩", "mingxuan"),
    ("静怡", "jingyi"), ("文静", "wenjing"), ("志明", "zhiming"), ("海峰", "haifeng"),
    ("丽娟", "lijuan"), ("美玲", "meiling"), ("晓峰", "xiaofeng"), ("建平", "jianping"),
    ("金华", "jinhua"), ("伟民", "weimin"), ("雪芬", "xuefen"), ("菊英", "juying"),
    ("根宝", "genbao"), ("福林", "fulin"), ("国平", "guoping"), ("玉琴", "yuqin"),
]

# Village names: a first syllable and a water-town landmark (浜, 泾, 桥 …) plus 村.
VILLAGE_FIRST = "东西南北新大长黄石杨柳张陈沈金马高徐胡周曹钱朱花桃荷梅竹松枫莲泖横塘湖唐顾"
VILLAGE_SECOND = "浜桥泾塘港湾庄巷河埭圩墩宅溪浦荡泽庙汇角"
# Community names: two auspicious or leafy syllables plus 社区.
COMMUNITY_FIRST = "锦嘉华翠兴永和康福瑞祥春文明乐安泰荣丰云景绿阳金"
COMMUNITY_SECOND = "苑园里庭城湾轩居华馨悦都润林晖汇"

MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150",
                   "151", "152", "155", "156", "157", "158", "159", "180", "181", "182",
                   "183", "186", "187", "188", "189")
ORDINALS = ("一", "二", "三", "四")  # 第四个 exists in every month
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五")
# The half-days villages publish; each lasts the 3.5 hours of the half-day rule.
HOURS = {"am": ((dt.time(8, 30), dt.time(12, 0)), (dt.time(9, 0), dt.time(12, 30))),
         "pm": ((dt.time(13, 30), dt.time(17, 0)), (dt.time(14, 0), dt.time(17, 30)))}
# The village side of a WeChat group: role -> (fewest, most) members.
GROUP_SIDE = (("village_committee", 2, 2), ("mediation", 1, 1), ("party_member", 1, 2),
              ("resident_rep", 1, 2))

REFUSE_MESSAGE = N_("The database already holds data. Use --reset to delete everything "
                    "and load the demo district.")


class _Draw:
    """The demo's random source: people, phones and ids, never the same one twice."""

    def __init__(self, seed=SEED):
        self.rng = random.Random(seed)
        self.used = set()

    def _unique(self, make):
        while True:
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value

    def person(self) -> tuple[str, str]:
        """A name and its pinyin; names repeat in a real district, so these may too."""
        surname, given = self.rng.choice(SURNAMES), self.rng.choice(GIVEN_NAMES)
        return surname[0] + given[0], surname[1] + given[1]

    def unique_person(self) -> tuple[str, str]:
        return self._unique(self.person)

    def mobile(self) -> str:
        return self._unique(lambda: self.rng.choice(MOBILE_PREFIXES)
                            + f"{self.rng.randrange(10 ** 8):08d}")

    def landline(self) -> str:
        return self._unique(lambda: f"021-57{self.rng.randrange(10 ** 6):06d}")

    def licence_no(self) -> str:
        """执业证号, 17 digits: category, area (3101), first year, kind, sex, serial."""
        return self._unique(lambda: f"13101{self.rng.randint(2005, 2021)}1"
                            f"{self.rng.randint(0, 1)}{self.rng.randrange(10 ** 6):06d}")

    def wechat(self, pinyin: str) -> str:
        """A WeChat id: starts with a letter, 6 to 20 letters, digits and underscores."""
        patterns = ("{p}", "{p}{y}", "{p}_law", "lawyer_{p}", "{p}{n}")

        def make():
            text = self.rng.choice(patterns).format(p=pinyin, y=self.rng.randint(70, 99),
                                                    n=self.rng.randint(100, 999))
            return text if len(text) >= 6 else f"{text}{self.rng.randint(1000, 9999)}"
        return self._unique(make)

    def place(self, first: str, second: str, suffix: str) -> str:
        """A place name, unique in the district (so group names are unique too)."""
        def make():
            a, b = self.rng.choice(first), self.rng.choice(second)
            while b == a:
                b = self.rng.choice(second)
            return a + b + suffix
        return self._unique(make)


def has_data() -> bool:
    """True when the database holds anything the demo would overwrite or collide with."""
    return any(model.select().exists()
               for model in (Village, User, Town, LawFirm, Lawyer, District))


def demo_loaded() -> bool:
    """True when the demo district and its logins are in the database."""
    return (District.select().where(District.code == DISTRICT_CODE).exists()
            and User.select().where(User.username == DEMO_LOGINS["admin"][0]).exists())


def delete_everything() -> None:
    """Delete every row of every model (core and loaded plugins), children first."""
    get_plugin_manager()  # plugin modules, and so their models, are imported
    existing = set(db.get_tables())
    models = [m for m in sort_models(_all_models()) if m._meta.table_name in existing]
    for model in reversed(models):
        # ModelDelete rather than model.delete(): the audit log refuses deletes from the
        # app (core.models.AuditLog), but a reset of the whole database removes it too.
        ModelDelete(model).execute()


def _all_models():
    found, pending = set(ALL_MODELS), list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        found.add(model)
        pending.extend(model.__subclasses__())
    return found


def load_demo(reset: bool = False, *, tasks: bool = True, plan: bool = True) -> dict:
    """Load the demo district; with ``reset`` delete all data first (both or neither).
    ``tasks=False`` leaves out the programme tasks (tests of the district alone);
    ``plan=False`` leaves this year unplanned (with it, the sessions and publicity events
    of this year are planned, most of those of the days before today are recorded as held,
    some signed in (签到), and the demo lawyer has a session today to sign in to).

    Refuses (ConflictError) when the database holds data and ``reset`` is not given.
    """
    started = time.perf_counter()
    with transaction():  # plugins hear of the pairings once they are committed
        if reset:
            delete_everything()
        elif has_data():
            raise ConflictError(REFUSE_MESSAGE)
        summary = _build(_Draw(), tasks=tasks)
    if plan:
        summary["events"] = _plan_this_year()
        summary["signins"] = _demo_sign_ins()
        _village_requests()
        summary["inspections"] = _inspections()
        # the events were recorded held in bulk, past the services: count them again
        pace_tally.rebuild()
        session_tally.rebuild()
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def _plan_this_year() -> int:
    """Plan this year through the planner, then record the events of the days before today
    as held (today's wait for their lawyers), except in one village in seven, which missed
    its last two sessions (the quota page and the early warning then have a few pairings
    to chase, as in a real district)."""
    plan_year(clock.today().year)
    today_starts = clock.utc_from_local(clock.today(), dt.time.min)
    past_by_village: dict[int, list[tuple[int, str]]] = {}
    for event_id, village_id, kind in (Event.select(Event.id, Event.village, Event.kind)
                                       .where((Event.starts_at < today_starts)
                                              & (Event.status == "planned"))
                                       .order_by(Event.starts_at, Event.id).tuples()):
        past_by_village.setdefault(village_id, []).append((event_id, kind))
    held = []
    for n, village_id in enumerate(sorted(past_by_village)):
        events = past_by_village[village_id]
        sessions = [event_id for event_id, kind in events if kind == "session"]
        missed = set(sessions[-2:]) if n % 7 == 3 else set()
        held.extend(event_id for event_id, _kind in events if event_id not in missed)
    with transaction():
        for batch in range(0, len(held), 500):
            (Event.update(status="held", held_start=Event.starts_at, held_end=Event.ends_at)
             .where(Event.id.in_(held[batch:batch + 500])).execute())
        # as record_held does: a held event is a service of its lawyer, in the work log
        for batch in range(0, len(held), 500):
            log_held_events(None, Event.select().where(Event.id.in_(held[batch:batch + 500])))
    return Event.select().count()


# --- sign-in at a session (签到) ---------------------------------------------------------------

SIGNIN_DAYS = 60  # the held sessions of the last two months were signed in (one in four late)
SIGNIN_CONTENT = ("解答土地承包经营权流转咨询", "调解邻里宅基地纠纷", "讲解《民法典》婚姻家庭编",
                  "审查村规民约修订稿", "接待来访群众，解答劳动报酬咨询", "讲解防范电信诈骗",
                  "为老年人讲解赡养与遗嘱", "梳理物业服务合同纠纷")
DEMO_POSITION = (31.0325, 121.2270)  # near the district's seat; each village a little apart


def _demo_sign_ins() -> int:
    """The demo lawyer's session today, to try the sign-in (签到) on; and sign-ins at the
    sessions and publicity events held in the last two months in the demo lawyer's town,
    one in four recorded late instead, so the calendar and the quota page show both.
    Returns how many sign-ins there are."""
    lawyer = User.get(User.username == DEMO_LOGINS["lawyer"][0]).lawyer
    _demo_session_today(lawyer)
    town = (Village.select(Village.town).join(Pairing)
            .where((Pairing.lawyer == lawyer.id) & (Pairing.status == "active"))
            .order_by(Village.code).first().town_id)
    rng = random.Random(f"{SEED}:signins")
    held = (Event.select().join(Village)
            .where((Village.town == town) & (Event.status == "held")
                   & Event.kind.in_(("session", "publicity"))
                   & (Event.starts_at >= clock.now_utc() - dt.timedelta(days=SIGNIN_DAYS)))
            .order_by(Event.starts_at, Event.id))
    settings = get_settings()
    served = gettext_for(settings.locale)(signins.SERVED)
    with transaction():
        for n, event in enumerate(held):
            if n % 4 == 3:  # recorded by hand a few days later
                Event.update(held_late=True).where(Event.id == event.id).execute()
                continue
            _demo_sign_in(rng, event, lawyer, served)
    return SignIn.select().count()


def _demo_sign_in(rng: random.Random, event: Event, demo_lawyer: Lawyer, served: str) -> None:
    """A sign-in and sign-out around the event's planned hours, as the lawyer's phone gave
    them (one in five without a position), its work-log entry saying what was done; photos
    for the demo lawyer's."""
    start = event.starts_at - dt.timedelta(minutes=rng.randint(3, 20))
    end = event.ends_at + dt.timedelta(minutes=rng.randint(0, 15))
    local = random.Random(f"{SEED}:village:{event.village_id}")
    place = {}
    if rng.random() >= 0.2:
        place = dict(latitude=round(DEMO_POSITION[0] + local.uniform(-0.08, 0.08), 6),
                     longitude=round(DEMO_POSITION[1] + local.uniform(-0.08, 0.08), 6),
                     accuracy_m=rng.choice((8, 12, 15, 25, 35, 65)))
    content, residents = rng.choice(SIGNIN_CONTENT), rng.randint(3, 28)
    signin = SignIn.create(event=event.id, lawyer=event.lawyer_id, signed_in_at=start,
                           signed_out_at=end, content=content, residents_served=residents,
                           **place)
    Event.update(held_start=start, held_end=end).where(Event.id == event.id).execute()
    event.held_start, event.held_end = start, end
    log_held_event(None, event, content=content, result=served % {"count": residents})
    if event.lawyer_id == demo_lawyer.id:
        for number in range(rng.randint(1, 2)):
            signins.add_photo(signin, _demo_photo(rng))


def _demo_photo(rng: random.Random) -> bytes:
    """A made-up picture of a session: a room, a table, people (coloured shapes)."""
    image = Image.new("RGB", (800, 600), tuple(rng.randint(200, 240) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 420, 800, 600), fill=(150, 120, 90))  # the floor
    draw.rectangle((180, 330, 620, 380), fill=(110, 70, 40))  # the table
    for n in range(rng.randint(3, 6)):
        x = 90 + n * 120 + rng.randint(-15, 15)
        colour = tuple(rng.randint(30, 200) for _ in range(3))
        draw.ellipse((x, 200, x + 60, 260), fill=(235, 200, 170))  # a head
        draw.rectangle((x - 10, 260, x + 70, 420), fill=colour)  # a body
    draw.rectangle((300, 40, 500, 110), fill=(180, 30, 30))  # the banner
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _demo_session_today(lawyer: Lawyer) -> Event:
    """An on-site event of the demo lawyer today, so the sign-in can be tried: the first
    session or publicity event planned today, if any; else a session added at the first
    free published hours of their villages, or after their last event of the day when none
    is free (a session outside the plan: the quota stays as planned)."""
    today = clock.today()
    since = clock.utc_from_local(today, dt.time.min)
    until = clock.utc_from_local(today + dt.timedelta(days=1), dt.time.min)
    planned = (Event.select().where((Event.lawyer == lawyer.id)
                                    & Event.kind.in_(("session", "publicity"))
                                    & (Event.status == "planned") & (Event.starts_at >= since)
                                    & (Event.starts_at < until))
               .order_by(Event.starts_at).first())
    if planned is not None:
        return planned
    pairings = list(Pairing.select(Pairing, Village).join(Village)
                    .where((Pairing.lawyer == lawyer.id) & (Pairing.status == "active"))
                    .order_by(Village.code))
    settings, gap = get_settings(), travel_gap()
    hours = [(p, p.arrangement.start, p.arrangement.end) for p in pairings]
    hours += [(pairings[0], *settings.morning), (pairings[0], *settings.afternoon)]
    for pairing, start, end in hours:
        starts_at, ends_at = clock.utc_from_local(today, start), clock.utc_from_local(today, end)
        busy = lawyer_busy(lawyer.id, starts_at - gap, ends_at + gap)
        if clash(starts_at, ends_at, pairing.village_id, busy, gap) is None:
            break
    else:  # a busy day (legal publicity days): after the last event, in another village
        taken = lawyer_busy(lawyer.id, since, until)
        pairing = next((p for p in pairings if p.village_id not in
                        {busy.village_id for busy in taken}), pairings[0])
        starts_at = max(busy.ends_at for busy in taken) + gap
        ends_at = starts_at + dt.timedelta(hours=settings.min_session_hours)
    now = clock.now_utc()
    return Event.create(uid=f"{uuid.uuid4().hex}@jiedui", kind="session",
                        village=pairing.village_id, pairing=pairing.id, lawyer=lawyer.id,
                        starts_at=starts_at, ends_at=ends_at, status="planned",
                        title=event_title("session", pairing.village.name),
                        placement="manual", created_at=now, updated_at=now)


def _build(draw: _Draw, tasks: bool = True) -> dict:
    district = District.create(code=DISTRICT_CODE, name=DISTRICT_NAME)
    towns = _towns(draw, district)
    villages = _villages(draw, towns)
    lawyers = _lawyers(draw)
    term_start, term_end = _term()
    assignments = _assign(draw, lawyers, villages)
    for lawyer, village, slot in assignments:
        pair(None, lawyer=lawyer, village=village, term_start=term_start, term_end=term_end,
             **slot)
    members = _village_side_of_groups(draw, towns)
    demo_lawyer = assignments[0][0]
    coordinator, lawyer_user = _users(towns[0], demo_lawyer, assignments[0][1])
    work = {"tasks": 0, "tasks_done": 0}
    if tasks:
        work = load_demo_tasks(f"{SEED}:tasks", towns,
                               [(village, lawyer) for lawyer, village, _slot in assignments],
                               coordinator, lawyer_user)
    return {
        "district": district.name, "towns": len(towns), "villages": len(villages),
        "communities": sum(v.kind == "community" for v in villages), "firms": len(FIRMS),
        "lawyers": len(lawyers), "pairings": len(assignments), "group_members": members,
        "users": len(DEMO_LOGINS), "term": f"{term_start.isoformat()}..{term_end.isoformat()}",
        **work,
    }


def _term() -> tuple[dt.date, dt.date]:
    """Three calendar years: this one and the next two."""
    year = clock.today().year
    return dt.date(year, 1, 1), dt.date(year + 2, 12, 31)


def _towns(draw: _Draw, district: District) -> list[Town]:
    rows = []
    for code, name, _count, _share in TOWNS:
        head, _pinyin = draw.unique_person()
        rows.append(dict(district=district.id, code=code, name=name,
                         judicial_office=f"{name}司法所", office_head=head,
                         office_phone=draw.landline()))
    Town.insert_many(rows).execute()
    return list(Town.select().where(Town.district == district).order_by(Town.code))


def _villages(draw: _Draw, towns: list[Town]) -> list[Village]:
    """Communities are numbered from 001, villages from 201, as residents' and villagers'
    committees are in the official codes."""
    # A village named like another town (柳港村 in 泖塘镇) would confuse: keep those out.
    draw.used.update(f"{town.name[:2]}村" for town in towns)
    rows = []
    for town, (_code, _name, count, share) in zip(towns, TOWNS):
        communities = round(count * share)
        for n in range(communities):
            name = draw.place(COMMUNITY_FIRST, COMMUNITY_SECOND, "社区")
            rows.append(dict(town=town.id, code=f"{town.code}-{n + 1:03d}", name=name,
                             kind="community", address=_address(town, name)))
        for n in range(count - communities):
            name = draw.place(VILLAGE_FIRST, VILLAGE_SECOND, "村")
            rows.append(dict(town=town.id, code=f"{town.code}-{n + 201:03d}", name=name,
                             kind="village", address=_address(town, name)))
    for batch in chunked(rows, 100):
        Village.insert_many(batch).execute()
    return list(Village.select().join(Town).order_by(Town.code, Village.code))


def _address(town: Town, name: str) -> str:
    """Where the village's committee sits, as a map app is asked for it."""
    committee = "居民委员会" if name.endswith("社区") else "村民委员会"
    return f"上海市{DISTRICT_NAME}{town.name}{name}{committee}"


def _lawyers(draw: _Draw) -> list[Lawyer]:
    firm_rows = [dict(name=name, address=address, phone=draw.landline())
                 for name, address, _count in FIRMS]
    LawFirm.insert_many(firm_rows).execute()
    firms = {f.name: f for f in LawFirm.select()}
    rows = []
    for firm_name, _address, count in FIRMS:
        for _ in range(count):
            name, pinyin = draw.unique_person()
            rows.append(dict(name=name, firm=firms[firm_name].id, licence_no=draw.licence_no(),
                             phone=draw.mobile(), wechat=draw.wechat(pinyin)))
    Lawyer.insert_many(rows).execute()
    lawyers = list(Lawyer.select().order_by(Lawyer.id))
    # About a third of the lawyers have an assistant (律师助理), a few have two.
    assistants = []
    for lawyer in lawyers:
        for _ in range(draw.rng.choices((0, 1, 2), weights=(6, 3, 1))[0]):
            assistants.append(dict(lawyer=lawyer.id, name=draw.person()[0],
                                   phone=draw.mobile()))
    Assistant.insert_many(assistants).execute()
    return lawyers


def _village_counts(draw: _Draw, lawyers: int, villages: int) -> list[int]:
    """How many villages each lawyer serves: 1 to 5, adding up to ``villages``."""
    counts = [1] * lawyers
    for _ in range(villages - lawyers):
        counts[draw.rng.choice([i for i, c in enumerate(counts) if c < 5])] += 1
    return counts


def _slots(draw: _Draw, count: int) -> list[dict]:
    """Distinct on-site arrangements for one lawyer's villages, e.g. 每月第二个周三上午
    9:00-12:30: a week, a weekday and a half-day of at least 3.5 hours (the half-day rule)."""
    triples = [(o, w, h) for o in range(len(ORDINALS)) for w in range(len(WEEKDAYS))
               for h in HOURS]
    slots = []
    for ordinal, weekday, half in draw.rng.sample(triples, count):
        start, end = draw.rng.choice(HOURS[half])
        slots.append(dict(arrangement=Arrangement(week=ordinal + 1, weekday=weekday,
                                                  start=start, end=end)))
    return slots


def _assign(draw: _Draw, lawyers: list[Lawyer], villages: list[Village]):
    """(lawyer, village, on-site slot) for every village. A lawyer serves neighbouring
    villages: runs of villages in code order. The lawyer with the most villages comes
    first and is the demo lawyer login."""
    counts = _village_counts(draw, len(lawyers), len(villages))
    order = list(range(len(lawyers)))
    draw.rng.shuffle(order)
    order.sort(key=lambda i: counts[i] < max(counts))  # stable: one busiest lawyer first
    assignments, position = [], 0
    for i in order:
        for slot in _slots(draw, counts[i]):
            assignments.append((lawyers[i], villages[position], slot))
            position += 1
    return assignments


def _village_side_of_groups(draw: _Draw, towns: list[Town]) -> int:
    """Add the village committees, mediators, party members, resident representatives and
    one judicial-office worker of the town to every WeChat group."""
    office_staff = {t.id: (draw.person()[0], draw.mobile()) for t in towns}
    groups = (WechatGroup.select(WechatGroup.id, Village.town)
              .join(Pairing).join(Village).order_by(WechatGroup.id).tuples())
    rows = []
    for group_id, town_id in groups:
        for role, fewest, most in GROUP_SIDE:
            for _ in range(draw.rng.randint(fewest, most)):
                phone = draw.mobile() if role in ("village_committee", "mediation") else ""
                rows.append(dict(group=group_id, name=draw.person()[0], role=role, phone=phone))
        staff_name, staff_phone = office_staff[town_id]
        rows.append(dict(group=group_id, name=staff_name, role="judicial_office",
                         phone=staff_phone))
    for batch in chunked(rows, 200):
        WechatGroupMember.insert_many(batch).execute()
    return len(rows)


def _users(town: Town, lawyer: Lawyer, village: Village) -> tuple[User, User]:
    """The demo logins; returns the district coordinator and the lawyer."""
    def login(role):
        return DEMO_LOGINS[role]
    create_user(*login("admin"), "admin", display_name="系统管理员")
    coordinator = create_user(*login("coordinator"), "coordinator", display_name="区司法局结对办")
    create_user(*login("town coordinator"), "coordinator", town=town,
                display_name=f"{town.judicial_office} {town.office_head}")
    create_user(*login("leader"), "leader", display_name="区司法局局长")
    create_user(*login("firm head"), "leader", firm=lawyer.firm,
                display_name=f"{lawyer.firm.name}主任")
    lawyer_user = create_user(*login("lawyer"), "lawyer", lawyer=lawyer,
                              display_name=lawyer.name)
    create_user(*login("village"), "village", village=village,
                display_name=f"{village.name}{'居委会' if village.kind == 'community' else '村委会'}")
    return coordinator, lawyer_user


def _inspections() -> int:
    """The town coordinator's inspections (core.inspections) of the demo lawyer's villages,
    so that the inspections list, a village's page and the lawyer's sheet show some: a visit
    where everything checked met the standard, a spot check with an item falling short and
    a follow-up still open (not yet due), and an older one whose follow-up was done on
    time. They take points off those pairings' assessment, as the rule says."""
    coordinator = User.get(User.username == DEMO_LOGINS["town coordinator"][0])
    lawyer = User.get(User.username == DEMO_LOGINS["lawyer"][0])
    villages = [p.village for p in Pairing.select().where(
        (Pairing.lawyer == lawyer.lawyer_id) & (Pairing.status == "active"))
        .order_by(Pairing.id) if p.village.town_id == coordinator.town_id][:2]
    today = clock.today()
    if not villages:
        return 0
    passed = {"sessions": "pass", "hours_posted": "pass", "worklog": "pass",
              "disclosure": "pass", "wechat_group": "pass"}
    record_inspection(coordinator, villages[0], inspected_on=today - dt.timedelta(days=45),
                      kind="visit", checklist=passed,
                      findings="坐班记录齐全，公示栏信息完整，服务群运行正常。")
    record_inspection(coordinator, villages[0], inspected_on=today - dt.timedelta(days=3),
                      kind="spot_check", checklist={**passed, "contact_card": "fail"},
                      findings="抽查时部分村民表示未收到社区律师服务联系卡。",
                      follow_up="补发联系卡并在村民小组会议上宣传",
                      follow_up_due=today + dt.timedelta(days=14))
    older = record_inspection(
        coordinator, villages[-1], inspected_on=today - dt.timedelta(days=60), kind="spot_check",
        checklist={"sessions": "pass", "hours_posted": "fail", "publicity": "pass"},
        findings="村委会门口未张贴驻点时间。", follow_up="在公示栏和服务群公布驻点时间",
        follow_up_due=today - dt.timedelta(days=45))
    close_follow_up(coordinator, older, done_on=today - dt.timedelta(days=50),
                    note="已在公示栏张贴并在服务群置顶公布。")
    return 3


def _village_requests() -> None:
    """What the villages asked of the demo lawyer (core.village_requests), so that the
    village's, the lawyer's and the coordinators' pages show something: for the demo
    village a pending, an accepted and a declined invitation, an open and an answered
    resident's demand and its word on its earlier sessions (the latest awaits it); an
    invitation and a demand of another village of the demo lawyer; a demand in another
    town; a disputed session in the demo town."""
    village_user = User.get(User.username == DEMO_LOGINS["village"][0])
    lawyer_user = User.get(User.username == DEMO_LOGINS["lawyer"][0])
    village, today = village_user.village, clock.today()
    T = dt.time
    _free_invitation(village_user, village, "普法讲座：防范电信网络诈骗", "村文化礼堂",
                     today + dt.timedelta(days=4), (T(14), T(16)), kind="publicity",
                     description="面向老年居民，约60人参加。")
    # a meeting, not a publicity event: accepting leaves the planned calendar as it is
    accepted = _free_invitation(village_user, village, "村民代表大会", "村委会二楼会议室",
                                today + dt.timedelta(days=9), (T(9), T(10, 30)),
                                description="审议村规民约修订草案，请律师列席并提出法律意见。")
    if accepted is not None:
        village_requests.accept_invitation(lawyer_user, accepted)
    declined = _free_invitation(village_user, village, "老年协会年会", "村老年活动室",
                                today + dt.timedelta(days=12), (T(14), T(15, 30)))
    if declined is not None:
        village_requests.decline_invitation(lawyer_user, declined,
                                            "当天在区法院开庭，建议改到下周，我可以安排。")
    village_requests.pass_on_demand(
        village_user, village, category="labour", contact_name="王建华",
        contact_phone="13917650032",
        text="村民在外地工地务工，工资被拖欠三个月，包工头失联，询问如何维权。")
    answered = village_requests.pass_on_demand(
        village_user, village, category="land_housing",
        text="两户村民对宅基地边界有争议，多次协商未果。")
    village_requests.answer_demand(lawyer_user, answered,
                                   "已电话了解情况，下次坐班时到现场查看界址，先由调委会组织调解。")
    sessions = list(village_requests.confirmable_events(village))
    for event in sessions[1:]:  # the latest awaits the village's word
        village_requests.confirm_session(village_user, event, verdict="confirmed")
    others = list(Village.select().join(Pairing).where(
        (Pairing.lawyer == lawyer_user.lawyer_id) & (Pairing.status == "active")
        & (Village.id != village.id)).order_by(Village.code))
    if others:
        _free_invitation(None, others[0], "调解委员会例会", "居委会会议室",
                         today + dt.timedelta(days=6), (T(9), T(10)))
        village_requests.pass_on_demand(None, others[0], category="family",
                                        text="老人反映子女不支付赡养费，希望律师提供咨询。")
    elsewhere = (Village.select().where(Village.town != village.town_id)
                 .order_by(Village.code).first())
    village_requests.pass_on_demand(None, elsewhere, category="consumer",
                                    text="村民网购农资遇到假货，商家拒绝退款。")
    for neighbour in (Village.select().where((Village.town == village.town_id)
                                             & (Village.id != village.id))
                      .order_by(Village.code)):
        held = [e for e in village_requests.confirmable_events(neighbour) if e.status == "held"]
        if held:
            village_requests.confirm_session(None, held[0], verdict="disputed",
                                             reason="律师当天只在村里待了一个多小时，提前离开。")
            break


def _free_invitation(actor, village, title, place, first_day, hours, kind="activity",
                     description=""):
    """An invitation on the first day from ``first_day`` on when the lawyer is free at
    ``hours`` (None if none is in the next month)."""
    for offset in range(31):
        try:
            return village_requests.invite(
                actor, village, kind=kind, title=title, place=place, description=description,
                day=first_day + dt.timedelta(days=offset), start=hours[0], end=hours[1])
        except ValidationError:
            continue
    return None
