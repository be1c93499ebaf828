"""A synthetic district or province for the benchmarks, built once and cached.

``prepare(scale)`` returns a database URL holding a generated world: towns and villages,
law firms and lawyers, one active pairing per village (with its WeChat group), a planned
year (this year: 12 sessions and 2 publicity events per village, those before today
recorded as held, with their work-log entries), programme tasks of every installed
programme, and users (an administrator, a district coordinator, a leader, a coordinator
per town, a login per lawyer, a village login) with feed tokens.

Scales (villages, towns, lawyers): ``tiny`` (10, 2, 4: for the tests), ``district``
(131, 12, 45: the demo's shape), ``10x`` (1,310), ``50x`` (6,550), ``province`` (26,000
villages in 1,300 towns, 9,000 lawyers in 600 firms, ~364,000 events, ~1,000,000 tasks).

The world is written with the real schema (``core.db.migrate``) and the real models, in
bulk (``insert_many`` in batches, explicit ids), not through the services or the planner
(whose speed is what the benchmarks measure): the rows are shaped as the services and the
planner shape theirs (``plan_key``, ``uid``, titles, placements, work-log entries).
Deterministic: the same scale gives the same rows (seeded ``random``), save for which
events are past on the day it is built.

Cache: SQLite files under ``bench/.data/`` (or ``JIEDUI_BENCH_DATA``: set it to one
directory, e.g. /tmp/jiedui-bench-data, to share the built worlds between checkouts), keyed
by scale, year and ``GENERATOR_VERSION``; ``writable=True`` hands out a fresh copy in a
temporary directory. With ``JIEDUI_BENCH_DATABASE_URL`` (PostgreSQL) the world is built once
into a template database ``jiedui_bench_<scale>`` and ``writable=True`` hands out
``CREATE DATABASE … TEMPLATE`` copies (``writable=False`` returns the template itself: do not
keep connections to it open while another copy is made). ``discard(url)`` removes a copy.

CLI: ``python -m bench.generate --scale 10x`` prints the URL, the counts and the build time.
"""
import argparse
import base64
import datetime as dt
import fcntl
import functools
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

GENERATOR_VERSION = 3
SEED = 20261207
BATCH = 5000
PASSWORD = "bench-password-2026"  # every generated login's password
PASSWORD_METHOD = "pbkdf2:sha256:1000"  # cheap, as bench/__main__ uses

# scale -> (villages, towns, lawyers, firms, tasks per village)
SCALES = {
    "tiny": (10, 2, 4, 2, 6),
    "district": (131, 12, 45, 6, 38),
    "10x": (1310, 120, 450, 30, 38),
    "50x": (6550, 600, 2250, 150, 38),
    "province": (26000, 1300, 9000, 600, 38),
}
SESSIONS, PUBLICITY = 12, 2
# The logins a benchmark uses (``login(client, "lawyer")``); town and lawyer logins exist for
# every town and lawyer: ``town_username(code)``, ``lawyer_username(n)``.
ADMIN, COORDINATOR, LEADER, VILLAGE = "admin", "coordinator", "leader", "village-user"

ROOT = Path(__file__).resolve().parent.parent
HALVES = {"am": ((dt.time(8, 30), dt.time(12, 0)), (dt.time(9, 0), dt.time(12, 30))),
          "pm": ((dt.time(13, 30), dt.time(17, 0)), (dt.time(14, 0), dt.time(17, 30)))}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建文辉玲鹏晶红国志峰宇浩凯健俊帆琳颖倩婷雪慧佳"
PLACE_A = "东西南北新大长黄石杨柳张陈沈金马高徐胡周曹钱朱花桃荷梅竹松枫莲泖横塘湖唐顾锦嘉华翠兴永和康福瑞祥春文明乐安泰荣丰云景绿阳"
PLACE_B = "浜桥泾塘港湾庄巷河埭圩墩宅溪浦荡泽庙汇角苑园里庭城湾轩居华馨悦都润林晖"


def town_username(code: str) -> str:
    return f"town-{code}"


def lawyer_username(number: int) -> str:
    """The login of the ``number``-th lawyer (1-based, in id order)."""
    return f"lawyer-{number:05d}"


def feed_token(username: str) -> str:
    """The (made-up, deterministic) feed token of a generated login: 43 URL-safe
    characters, as ``core.feeds`` hands out; ``/feeds/<token>.ics`` serves its feed."""
    digest = hashlib.sha256(f"jiedui-bench:{username}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# --- the cache -------------------------------------------------------------------------------

def data_dir() -> Path:
    path = Path(os.environ.get("JIEDUI_BENCH_DATA") or ROOT / "bench" / ".data")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stem(scale: str) -> str:
    return f"{scale}-{dt.date.today().year}-v{GENERATOR_VERSION}"


def _pg_base() -> str | None:
    url = os.environ.get("JIEDUI_BENCH_DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _with_dbname(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _template_name(scale: str) -> str:
    return f"jiedui_bench_{_stem(scale).replace('-', '_')}"


def prepare(scale: str, *, writable: bool = True) -> str:
    """A database URL holding the generated world of ``scale`` (built on first use)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: one of {', '.join(SCALES)}")
    base = _pg_base()
    lock_path = data_dir() / f"{_stem(scale)}{'-pg' if base else ''}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; the others wait for it
        if base:
            return _prepare_postgres(base, scale, writable)
        return _prepare_sqlite(scale, writable)


def _prepare_sqlite(scale: str, writable: bool) -> str:
    cached = data_dir() / f"{_stem(scale)}.db"
    if not cached.exists():
        partial = cached.with_suffix(".building")
        partial.unlink(missing_ok=True)
        _build_in_subprocess(scale, f"sqlite:///{partial}")
        partial.rename(cached)
    if not writable:
        return f"sqlite:///{cached}"
    copy = Path(tempfile.mkdtemp(prefix=f"jiedui-bench-{scale}-")) / "bench.db"
    shutil.copyfile(cached, copy)
    return f"sqlite:///{copy}"


def _pg_admin(base: str):
    import psycopg2
    connection = psycopg2.connect(_with_dbname(base, "postgres"))
    connection.autocommit = True
    return connection


def _prepare_postgres(base: str, scale: str, writable: bool) -> str:
    template = _template_name(scale)
    admin = _pg_admin(base)
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT datistemplate FROM pg_database WHERE datname = %s",
                           (template,))
            found = cursor.fetchone()
            if not found or not found[0]:  # none, or a build that did not finish
                cursor.execute(f'DROP DATABASE IF EXISTS "{template}"')
                cursor.execute(f'CREATE DATABASE "{template}"')
                _build_in_subprocess(scale, _with_dbname(base, template))
                cursor.execute(f'ALTER DATABASE "{template}" WITH IS_TEMPLATE true')
            if not writable:
                return _with_dbname(base, template)
            copy = f"{template}_{os.getpid()}_{random.randrange(10 ** 8)}"
            cursor.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"')
            return _with_dbname(base, copy)
    finally:
        admin.close()


def discard(url: str) -> None:
    """Remove a writable copy handed out by ``prepare`` (never the cached world)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if path.parent.name.startswith("jiedui-bench-"):
            shutil.rmtree(path.parent, ignore_errors=True)
        return
    name = urlsplit(url).path.lstrip("/")
    if name.startswith("jiedui_bench_") and "_v" in name and not name.endswith(
            f"_v{GENERATOR_VERSION}"):
        admin = _pg_admin(url)
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        finally:
            admin.close()


def _build_in_subprocess(scale: str, url: str) -> None:
    """Build in a process of its own, so the caller's database and plugins stay as they are."""
    env = dict(os.environ)
    env.setdefault("JIEDUI_INSTANCE", tempfile.mkdtemp(prefix="jiedui-gen-"))
    env.setdefault("JIEDUI_SECRET_KEY", "bench")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    subprocess.run([sys.executable, "-m", "bench.generate", "--scale", scale, "--build", url],
                   cwd=ROOT, env=env, check=True, stdout=sys.stderr)


def open_world(url: str):
    """Open the world at ``url`` in this process as a server process would be: the
    database, and the job queue of the settings (``JIEDUI_QUEUE_URL``; by default a SQLite
    queue in the instance folder, which nobody consumes: jobs are queued, not run)."""
    from core import queue
    from core.config import get_settings
    from core.db import open_database
    database = open_database(url)
    queue.configure(get_settings())
    return database


# --- the build ---------------------------------------------------------------------------------

def build(scale: str, url: str) -> dict:
    """Write the world of ``scale`` into the empty database at ``url``; returns the counts."""
    from core.db import db, migrate, open_database
    database = open_database(url)
    sqlite = url.startswith("sqlite")
    if sqlite:
        database.execute_sql("PRAGMA synchronous=OFF")
        database.execute_sql("PRAGMA journal_mode=WAL")
        database.execute_sql("PRAGMA cache_size=-400000")  # 400 MB: the indexes stay in memory
    with db.connection_context():
        migrate()
        counts = _World(scale).write()
        # written past the services: the kept figures counted
        from core import pace_tally, progress_tally, session_tally
        pace_tally.rebuild()
        progress_tally.rebuild()
        session_tally.rebuild()
        if sqlite:
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            database.execute_sql("ANALYZE")
        else:
            _fix_sequences(database)
            # what autovacuum does to a live database: the visibility map set, so that a
            # count can be answered from an index alone
            database.execute_sql("VACUUM (ANALYZE)")
    db.close()
    return counts


def _fix_sequences(database) -> None:
    """The rows were written with explicit ids: move PostgreSQL's sequences past them."""
    from core.models import ALL_MODELS
    for model in ALL_MODELS:
        table = model._meta.table_name
        database.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 0) + 1, false)")


def _insert(model, rows) -> int:
    """Insert ``rows`` (dicts of field names, the same keys in each) in batches of
    ``BATCH``, a transaction each: one prepared statement run over the batch (peewee's
    ``insert_many`` spends most of a big load building its SQL text)."""
    from peewee import chunked

    from core.db import db
    count = 0
    for batch in chunked(rows, BATCH):
        with db.atomic():
            _insert_batch(model, batch)
        count += len(batch)
    return count


def _insert_batch(model, batch: list[dict]) -> None:
    from peewee import JSONField, TimeField

    from core.db import db, is_sqlite
    if not batch:
        return
    names = list(batch[0])
    # the fields left out take their model defaults, as insert_many would give them
    defaults = {field.name: field.default() if callable(field.default) else field.default
                for field in model._meta.sorted_fields
                if field.name not in names and field.default is not None}
    names += list(defaults)
    batch = [{**row, **defaults} for row in batch] if defaults else batch
    fields = [model._meta.fields[name] for name in names]
    convert = [(i, lambda value, dumps=field._dumps: None if value is None else dumps(value))
               for i, field in enumerate(fields) if isinstance(field, JSONField)]
    convert += [(i, lambda value: value and value.isoformat()) for i, field in enumerate(fields)
                if isinstance(field, TimeField)]
    values = []
    for row in batch:
        value = [row[name] for name in names]
        for i, db_value in convert:
            value[i] = db_value(value[i])
        values.append(value)
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    table = model._meta.table_name
    cursor = db.cursor()
    if is_sqlite():
        marks = ", ".join("?" * len(names))
        cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', values)
    else:
        from psycopg2.extras import execute_values
        execute_values(cursor, f'INSERT INTO "{table}" ({columns}) VALUES %s', values,
                       page_size=1000)


class _World:
    def __init__(self, scale: str):
        from core import clock
        self.scale = scale
        self.villages_n, self.towns_n, self.lawyers_n, self.firms_n, self.tasks_per = SCALES[scale]
        self.rng = random.Random(f"{SEED}:{scale}")
        self.now = clock.now_utc()
        self.today = clock.today()
        self.year = self.today.year
        self.counts: dict[str, int] = {}
        self.used_names: set[str] = set()

    # names ---------------------------------------------------------------------------------
    def person(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN)
                                                   for _ in range(self.rng.randint(1, 2)))

    def place(self, suffix: str) -> str:
        """A place name, unique in the world (group names are unique too)."""
        for length in (2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5):
            name = "".join(self.rng.choice(PLACE_A if i == 0 else PLACE_B + PLACE_A)
                           for i in range(length)) + suffix
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        name = f"{self.rng.choice(PLACE_A)}{len(self.used_names)}{suffix}"
        self.used_names.add(name)
        return name

    def mobile(self) -> str:
        return f"1{self.rng.choice('3578')}{self.rng.randrange(10 ** 9):09d}"

    # the world -----------------------------------------------------------------------------
    def write(self) -> dict:
        from core.plugins import get_plugin_manager
        get_plugin_manager()
        started = time.perf_counter()
        self.organisation()
        self.pairings()
        self.users()
        self.events()
        self.tasks()
        self.counts["seconds"] = round(time.perf_counter() - started, 1)
        return self.counts

    def organisation(self) -> None:
        from core.models import District, LawFirm, Lawyer, Town, Village
        _insert(District, [dict(id=1, code="BENCH", name="基准区")])
        towns, self.town_names = [], {}
        for n in range(1, self.towns_n + 1):
            name = self.place(self.rng.choice(("镇", "镇", "街道")))
            code = f"Z{n:04d}"
            self.town_names[n] = name
            towns.append(dict(id=n, district=1, code=code, name=name,
                              judicial_office=f"{name}司法所", office_head=self.person(),
                              office_phone=f"0571-{self.rng.randrange(10 ** 8):08d}"))
        self.counts["towns"] = _insert(Town, towns)
        self.town_codes = {row["id"]: row["code"] for row in towns}
        # villages spread over the towns as evenly as the numbers allow, in code order
        villages, self.village_town, self.village_names = [], {}, {}
        per_town = [self.villages_n // self.towns_n + (1 if t < self.villages_n % self.towns_n
                                                       else 0) for t in range(self.towns_n)]
        vid = 0
        for town_id, count in enumerate(per_town, start=1):
            communities = round(count * 0.3)
            for n in range(count):
                vid += 1
                community = n < communities
                name = self.place("社区" if community else "村")
                number = n + 1 if community else n - communities + 201
                code = f"{self.town_codes[town_id]}-{number:03d}"
                committee = "居民委员会" if community else "村民委员会"
                villages.append(dict(id=vid, town=town_id, code=code, name=name,
                                     kind="community" if community else "village",
                                     address=f"{self.town_names[town_id]}{name}{committee}"))
                self.village_town[vid], self.village_names[vid] = town_id, name
        self.village_codes = {row["id"]: row["code"] for row in villages}
        self.counts["villages"] = _insert(Village, villages)
        firms = [dict(id=n, name=f"{self.place('')}律师事务所",
                      address=f"{self.town_names[self.rng.randint(1, self.towns_n)]}"
                              f"{self.rng.randint(1, 300)}号",
                      phone=f"0571-{self.rng.randrange(10 ** 8):08d}")
                 for n in range(1, self.firms_n + 1)]
        self.counts["firms"] = _insert(LawFirm, firms)
        lawyers, self.lawyer_names = [], {}
        for n in range(1, self.lawyers_n + 1):
            name = self.person()
            self.lawyer_names[n] = name
            lawyers.append(dict(id=n, name=name, firm=self.rng.randint(1, self.firms_n),
                                licence_no=f"1{33010000 + n:08d}{self.rng.randrange(10 ** 8):08d}",
                                phone=self.mobile(), wechat=f"lawyer_{n:05d}"))
        self.counts["lawyers"] = _insert(Lawyer, lawyers)

    def pairings(self) -> None:
        """One active pairing per village for this year and the next two; a lawyer serves a
        run of neighbouring villages (1 to 5), each on its own arranged half-day."""
        from core.models import Pairing, WechatGroup, WechatGroupMember
        counts = [1] * self.lawyers_n
        spare = self.villages_n - self.lawyers_n
        while spare > 0:
            i = self.rng.randrange(self.lawyers_n)
            if counts[i] < 5:
                counts[i] += 1
                spare -= 1
        triples = [(week, weekday, half) for week in range(1, 5) for weekday in range(5)
                   for half in HALVES]
        term_start, term_end = dt.date(self.year, 1, 1), dt.date(self.year + 2, 12, 31)
        self.pairing_rows, groups, members = [], [], []
        vid = 0
        for lawyer_id, count in enumerate(counts, start=1):
            for week, weekday, half in self.rng.sample(triples, count):
                vid += 1
                start, end = self.rng.choice(HALVES[half])
                self.pairing_rows.append(dict(
                    id=vid, lawyer=lawyer_id, village=vid, term_start=term_start,
                    term_end=term_end, onsite_week=week, onsite_weekday=weekday,
                    onsite_start=start, onsite_end=end, status="active",
                    created_at=self.now, updated_at=self.now))
                groups.append(dict(id=vid, pairing=vid,
                                   name=f"{self.village_names[vid]}结对律师服务微信群",
                                   admin_name=self.lawyer_names[lawyer_id], created_at=self.now))
                members.append(dict(group=vid, name=self.lawyer_names[lawyer_id], role="lawyer",
                                    phone=""))
                members.append(dict(group=vid, name=self.person(), role="village_committee",
                                    phone=self.mobile()))
        self.counts["pairings"] = _insert(Pairing, self.pairing_rows)
        _insert(WechatGroup, groups)
        _insert(WechatGroupMember, members)

    def users(self) -> None:
        from werkzeug.security import generate_password_hash

        from core.models import FeedToken, User
        hashed = generate_password_hash(PASSWORD, PASSWORD_METHOD)
        rows = [dict(username=ADMIN, role="admin", display_name="系统管理员"),
                dict(username=COORDINATOR, role="coordinator", display_name="司法局结对办"),
                dict(username=LEADER, role="leader", display_name="司法局局长"),
                dict(username=VILLAGE, role="village", village=1,
                     display_name=f"{self.village_names[1]}村委会")]
        rows += [dict(username=town_username(code), role="coordinator", town=town_id,
                      display_name=f"{self.town_names[town_id]}司法所")
                 for town_id, code in self.town_codes.items()]
        rows += [dict(username=lawyer_username(n), role="lawyer", lawyer=n,
                      display_name=self.lawyer_names[n]) for n in range(1, self.lawyers_n + 1)]
        for n, row in enumerate(rows, start=1):
            row.update(id=n, password_hash=hashed, created_at=self.now)
            row.setdefault("town", None)
            row.setdefault("village", None)
            row.setdefault("lawyer", None)
        self.counts["users"] = _insert(User, rows)
        self.coordinator_id = 2
        # a feed token for the coordinators and every lawyer (the district feed, the town
        # feeds, the lawyers' feeds)
        tokens = [dict(user=row["id"], label="bench", created_at=self.now,
                       token_hash=hashlib.sha256(feed_token(row["username"]).encode()).hexdigest())
                  for row in rows if row["role"] in ("coordinator", "lawyer")]
        self.counts["feed_tokens"] = _insert(FeedToken, tokens)

    # the planned year ------------------------------------------------------------------------
    def events(self) -> None:
        """Each village's 12 sessions on its arranged day (the nearest free workday of the
        month when that is a day off or taken) and 2 publicity events (one in each half of
        the year), at the arranged hours; those begun before now are held (one village in
        seven missed its last two sessions), with their work-log entries."""
        from types import SimpleNamespace

        from core.arrangements import Arrangement
        from core.models import Event, WorkLog
        from core.placements import event_title
        from core.workdays import sync_official_holidays, workdays_between
        from core.worklog import HELD_DUTY, held_content
        from core.config import get_settings
        from core.planner import _YearPlan
        sync_official_holidays([self.year], replan=False)
        # the planner's calendar of the year (its workdays, its days near a publicity day),
        # read before any event exists
        plan = _YearPlan(self.year, self.now, get_settings())
        workdays = workdays_between(dt.date(self.year, 1, 1), dt.date(self.year, 12, 31))
        month_days = {m: [d for d in _days_of(self.year, m) if workdays.is_workday(d)]
                      for m in range(1, 13)}
        year_days = [d for m in range(1, 13) for d in month_days[m]]
        busy: dict[int, set] = {}
        # lawyer -> (day, half) of their villages' arranged sessions, as the planner reserves
        reserved: dict[int, dict] = {}
        arrangements = {}
        for pairing in self.pairing_rows:
            arrangement = Arrangement(week=pairing["onsite_week"],
                                      weekday=pairing["onsite_weekday"],
                                      start=pairing["onsite_start"], end=pairing["onsite_end"])
            half = "am" if arrangement.start.hour < 12 else "pm"
            arrangements[pairing["id"]] = (arrangement, half)
            mine = reserved.setdefault(pairing["lawyer"], {})
            for month in range(1, 13):
                day = _day_in(arrangement.week, arrangement.weekday, self.year, month)
                if workdays.is_workday(day):
                    mine.setdefault((day, half), set()).add(pairing["village"])
        self.events_by_village: dict[int, list] = {}
        event_id = 0
        counts = {"events": 0, "held": 0, "work_logs": 0}

        def choose(days, lawyer, vid, half):
            """The first free day, clear of the lawyer's other arranged days first."""
            taken, held = busy[lawyer], reserved[lawyer]
            for keep_clear in (True, False):
                for day in days:
                    if (day, half) in taken:
                        continue
                    if keep_clear and held.get((day, half), {vid}) - {vid}:
                        continue
                    return day
            return None

        def rows():
            nonlocal event_id
            for number, pairing in enumerate(self.pairing_rows):
                vid, lawyer = pairing["village"], pairing["lawyer"]
                arrangement, half = arrangements[pairing["id"]]
                taken = busy.setdefault(lawyer, set())
                code, name = self.village_codes[vid], self.village_names[vid]
                mine = []
                for month in range(1, 13):
                    arranged = _day_in(arrangement.week, arrangement.weekday, self.year, month)
                    if workdays.is_workday(arranged) and (arranged, half) not in taken:
                        day, placement, arranged_on = arranged, "arranged", None
                    else:
                        day = choose(sorted((d for d in month_days[month] if d != arranged),
                                            key=lambda d: (abs((d - arranged).days), d)),
                                     lawyer, vid, half)
                        if day is None:
                            continue
                        placement = "day_off" if not workdays.is_workday(arranged) else "busy"
                        arranged_on = arranged
                    mine.append(("session", f"{code}:{self.year}:session:{month:02d}", day,
                                 placement, arranged_on))
                    taken.add((day, half))
                for part, months in enumerate(((1, 2, 3, 4, 5, 6), (7, 8, 9, 10, 11, 12)),
                                              start=1):
                    # as the planner orders a publicity slot's days: in its window, near a
                    # publicity day, on the arrangement's weekday, earlier
                    day = choose(sorted(year_days, key=lambda d: (
                        d.month not in months, plan.publicity_distance.get(d, 0),
                        d.weekday() != arrangement.weekday, d)), lawyer, vid, half)
                    if day is None:
                        continue
                    mine.append(("publicity", f"{code}:{self.year}:publicity:{part:02d}", day,
                                 "publicity", None))
                    taken.add((day, half))
                past_sessions, village_rows = [], []
                for kind, key, day, placement, arranged_on in mine:
                    event_id += 1
                    starts_at = _utc(day, arrangement.start)
                    ends_at = _utc(day, arrangement.end)
                    held = starts_at < self.now
                    row = dict(id=event_id, uid=f"{self.rng.getrandbits(128):032x}@jiedui",
                               kind=kind, plan_key=key, village=vid, pairing=pairing["id"],
                               lawyer=lawyer, starts_at=starts_at, ends_at=ends_at,
                               status="held" if held else "planned", sequence=0,
                               title=event_title(kind, name), placement=placement,
                               arranged_on=arranged_on, held_start=starts_at if held else None,
                               held_end=ends_at if held else None,
                               created_at=self.now, updated_at=self.now)
                    if held and kind == "session":
                        past_sessions.append(row)
                    village_rows.append(row)
                if number % 7 == 3:  # missed its last two sessions: still planned, past
                    for row in past_sessions[-2:]:
                        row.update(status="planned", held_start=None, held_end=None)
                yield from village_rows
                self.events_by_village[vid] = [(kind, day) for kind, _k, day, _p, _a in mine]

        # rows are yielded in village order; the work-log entries follow each batch
        from peewee import chunked

        from core.db import db
        for batch in chunked(rows(), BATCH):
            logs = []
            for row in batch:
                if row["status"] != "held":
                    continue
                event = SimpleNamespace(kind=row["kind"], title=row["title"],
                                        village_id=row["village"])
                minutes = int((row["held_end"] - row["held_start"]).total_seconds() // 60)
                logs.append(dict(lawyer=row["lawyer"], village=row["village"], mode="onsite",
                                 content=held_content(event, self.village_names[row["village"]]),
                                 result="", category=HELD_DUTY, event=row["id"],
                                 occurred_at=row["held_start"], duration_minutes=minutes,
                                 created_at=self.now))
            with db.atomic():
                _insert_batch(Event, batch)
                _insert_batch(WorkLog, logs)
            counts["events"] += len(batch)
            counts["held"] += len(logs)
            counts["work_logs"] += len(logs)
        self.counts.update(counts)

    # programme tasks ---------------------------------------------------------------------------
    def tasks(self) -> None:
        """``tasks_per`` tasks per village spread over the installed programmes' task types
        (town-scoped schedules' types at the village's town), this year up to a month ahead:
        about two thirds done with the plugin's example data (and a work-log entry each),
        the rest open, in progress, overdue or cancelled."""
        from core.models import Task, WorkLog
        from core.plugins import get_registry
        from core.tasks import subject_of
        registry = get_registry()
        scope_of = {s.task_type: s.scope for s in registry.schedules.values()}
        kinds = [kind for kind in sorted(registry.task_types.values(), key=lambda k: k.slug)
                 if kind.example is not None and scope_of.get(kind.slug, "village") != "district"]
        examples = {}
        for kind in kinds:
            pool_rng = random.Random(f"{SEED}:{kind.slug}")
            pool = []
            for _ in range(40):
                try:
                    data = kind.example(pool_rng)
                except Exception:
                    continue
                pool.append((data, subject_of(kind, data)))
            examples[kind.slug] = pool
        kinds = [kind for kind in kinds if examples[kind.slug]]
        names = {kind.slug: str(kind.name) for kind in kinds}
        duties = {kind.slug: kind.duty for kind in kinds}
        start = dt.date(self.year, 1, 1)
        last_day = max(start, self.today - dt.timedelta(days=1))
        span = (last_day - start).days
        lawyer_of = {p["village"]: p["lawyer"] for p in self.pairing_rows}
        rng = random.Random(f"{SEED}:{self.scale}:tasks")
        task_id = 0
        counts = {"tasks": 0, "tasks_done": 0}

        def at(day: dt.date, hour: int) -> dt.datetime:
            return min(_utc(day, dt.time(hour, rng.choice((0, 15, 30, 45)))),
                       self.now)

        def rows():
            nonlocal task_id
            for vid in range(1, self.villages_n + 1):
                for _ in range(self.tasks_per):
                    task_id += 1
                    kind = kinds[rng.randrange(len(kinds))]
                    town_level = scope_of.get(kind.slug) == "town"
                    assigned_on = start + dt.timedelta(days=rng.randint(0, span))
                    due_on = assigned_on + dt.timedelta(days=rng.randint(14, 45))
                    roll = rng.random()
                    row = dict(id=task_id, program=kind.program, task_type=kind.slug,
                               level="town" if town_level else "village",
                               village=None if town_level else vid, town=self.village_town[vid],
                               assignee=None if town_level else lawyer_of.get(vid),
                               assigned_by=self.coordinator_id, title=names[kind.slug],
                               due_on=due_on, status="open", data={}, subject=None,
                               completed_at=None, created_at=at(assigned_on, 8),
                               cancel_reason="")
                    if roll < 0.66:
                        data, subject = examples[kind.slug][rng.randrange(
                            len(examples[kind.slug]))]
                        done_on = assigned_on + dt.timedelta(
                            days=rng.randint(0, max(0, (min(last_day, due_on) - assigned_on).days)))
                        row.update(status="done", data=data, subject=subject,
                                   completed_at=max(at(done_on, rng.randint(9, 17)),
                                                    row["created_at"]))
                    elif roll < 0.97:
                        row["status"] = "in_progress" if roll < 0.78 else "open"
                        if roll > 0.88:  # not due yet
                            row["due_on"] = self.today + dt.timedelta(days=rng.randint(0, 30))
                    else:
                        row.update(status="cancelled", cancel_reason="与其他任务重复")
                    row["updated_at"] = row["completed_at"] or row["created_at"]
                    yield row

        from peewee import chunked

        from core.db import db
        for batch in chunked(rows(), BATCH):
            logs = []
            for row in batch:
                if row["status"] != "done" or not row["assignee"]:
                    continue
                place = self.village_names[row["village"]]
                logs.append(dict(lawyer=row["assignee"], village=row["village"],
                                 occurred_at=row["completed_at"],
                                 duration_minutes=rng.choice((30, 60, 90, 120)),
                                 mode="onsite", content=f"{row['title']} · {place}", result="",
                                 category=duties[row["task_type"]],
                                 task=row["id"], created_at=row["completed_at"]))
            with db.atomic():
                _insert_batch(Task, batch)
                _insert_batch(WorkLog, logs)
            counts["tasks"] += len(batch)
            counts["tasks_done"] += sum(1 for row in batch if row["status"] == "done")
            self.counts["work_logs"] = self.counts.get("work_logs", 0) + len(logs)
        self.counts.update(counts)


@functools.lru_cache(maxsize=None)
def _day_in(week: int, weekday: int, year: int, month: int) -> dt.date:
    """``Arrangement.day_in``, once per arrangement and month."""
    from core.arrangements import Arrangement
    return Arrangement(week=week, weekday=weekday, start=dt.time(9), end=dt.time(12)) \
        .day_in(year, month)


@functools.lru_cache(maxsize=None)
def _utc(day: dt.date, time_: dt.time) -> dt.datetime:
    """``clock.utc_from_local`` (what ``Arrangement.times_on`` gives), once per day and time."""
    from core import clock
    return clock.utc_from_local(day, time_)


def _days_of(year: int, month: int) -> list[dt.date]:
    first = dt.date(year, month, 1)
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return [first + dt.timedelta(days=n) for n in range((following - first).days)]


def expected(scale: str) -> dict:
    """The counts a world of ``scale`` has (events and tasks: about)."""
    villages, towns, lawyers, firms, tasks_per = SCALES[scale]
    return {"villages": villages, "towns": towns, "lawyers": lawyers, "firms": firms,
            "pairings": villages, "events": villages * (SESSIONS + PUBLICITY),
            "tasks": villages * tasks_per, "users": 4 + towns + lawyers}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default=os.environ.get("JIEDUI_BENCH_SCALE", "district"),
                        choices=sorted(SCALES))
    parser.add_argument("--build", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build:  # the subprocess of prepare(): write into this (empty) database
        os.environ.setdefault("JIEDUI_SECRET_KEY", "bench")
        counts = build(args.scale, args.build)
        print(f"built {args.scale}: {counts}")
        return 0
    started = time.perf_counter()
    url = prepare(args.scale, writable=False)
    print(url)
    print(f"ready in {time.perf_counter() - started:.1f} s "
          f"(a build's own time is printed above when it was built now)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
