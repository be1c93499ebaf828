"""The roster of key populations (重点人群摸排名册) of programme 3, per village.

The plan asks the lawyers to survey the key populations of each village (摸排相关数据) and
visit them. The roster is built from the people the programme's metric counts
(``core.counted_tasks("people_visited", year)``): one row per person visited in a village
(the visit's subject, told apart per village as the metric does) with their group
(农民工, 特困人员, 孤寡（独居）老人, 留守儿童, 未成年人), the lawyers who visited them, the
first and latest visit of the year, the number of visits and the latest needs. So the
roster of a year holds exactly the number the programme's progress shows the same reader.

Per village the page counts the people of each group; a village's roster (or the whole
scope's) downloads as .xlsx. The core's rules hold as for the ledger: the roster holds the
visits ``user`` may read (a town's coordinator their town); a person is shown in full only
to whoever sees every visit of theirs in full (``core.task_view``), else the row says only
where, by whom, how many visits and the months — the name, the group and the needs read
"***" and the group is counted as not shown; every page and export is audited
(``core.audit_export``, action ``ledger.export`` with ``register: key_populations``, and
``task.view_masked``). Admins and coordinators open it from the programme's page
(``GET /programmes/key_populations/roster?year=&village=``, ``…/roster.xlsx``).
"""
import datetime as dt
from dataclasses import dataclass, field

from flask import Blueprint, make_response, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from core import (MANAGERS, MASK, N_, Task, User, allow, audit_export, audit_views,
                  counted_tasks, download_headers, gettext_for, list_tasks, month_of,
                  task_view, to_local, today, xlsx)

from .forms import CATEGORIES, PROGRAM

VISIT = "person_visit"
METRIC = "people_visited"
ROSTER_NAME = N_("重点人群摸排名册")
NOT_SHOWN = "masked"  # the group of a person the reader may not see in full


@dataclass
class Person:
    """A person of a key population visited in a village, with their done visits."""
    name: str
    village_id: int | None
    village: str
    town: str
    place: tuple  # town and village codes: the district's order
    visits: list[Task] = field(default_factory=list)
    shown: bool = True  # the reader sees every visit in full
    views: list = field(default_factory=list)

    @property
    def category(self) -> str:
        """The group, as the latest visit says; NOT_SHOWN when the reader may not see it."""
        if not self.shown:
            return NOT_SHOWN
        return next(((v.data or {}).get("category") for v in reversed(self.visits)
                     if (v.data or {}).get("category")), "")

    def latest(self, name: str) -> str | None:
        return next(((v.data or {}).get(name) for v in reversed(self.visits)
                     if (v.data or {}).get(name)), None)


def _in_year(task: Task, year: int | None) -> bool:
    return year is None or (task.completed_at is not None
                            and to_local(task.completed_at).year == year)


def roster(user: User | None, year: int | None = None,
           village_id: int | None = None) -> list[Person]:
    """The people of ``user``'s scope the metric counts for ``year`` (None: every year),
    of one village when given, by town, village and name; each with the visits of the
    year ``user`` may read."""
    counted = counted_tasks(METRIC, year, user=user)
    keys = {(task.village_id, task.subject) for task in counted
            if village_id is None or task.village_id == village_id}
    people: dict[tuple, Person] = {}
    for task in counted:
        key = (task.village_id, task.subject)
        if key in keys and key not in people:
            village = task.village if task.village_id else None
            town = village.town if village else (task.town if task.town_id else None)
            people[key] = Person(name=task.subject, village_id=task.village_id,
                                 village=village.name if village else "",
                                 town=town.name if town else "",
                                 place=(town.code if town else "", village.code if village else ""))
    for visit in list_tasks(user, program=PROGRAM, task_type=VISIT, status="done"):
        person = people.get((visit.village_id, visit.subject))
        if person is not None and _in_year(visit, year):
            person.visits.append(visit)
    for person in people.values():
        person.visits.sort(key=lambda t: (t.completed_at, t.id))
        person.views = [task_view(user, visit) for visit in person.visits]
        person.shown = not any(view.masked for view in person.views)
    return sorted(people.values(), key=lambda p: (p.place, p.name))


@dataclass
class VillageCount:
    village_id: int | None
    village: str
    town: str
    by_category: dict
    total: int


def counts(people: list[Person], categories) -> list[VillageCount]:
    """Per village, how many people of each group (and not shown), in the roster's order."""
    rows: dict = {}
    for person in people:
        row = rows.setdefault(person.village_id, VillageCount(
            person.village_id, person.village, person.town,
            dict.fromkeys([*categories, NOT_SHOWN], 0), 0))
        row.by_category[person.category] = row.by_category.get(person.category, 0) + 1
        row.total += 1
    return list(rows.values())


def _headers(gettext, own):
    return [own(N_("姓名")), own(N_("人群类别")), gettext("Village"), gettext("Town"),
            gettext("Lawyer"), own(N_("首次走访")), own(N_("最近走访")), own(N_("走访次数")),
            own(N_("需求与困难"))]


def _row(person: Person, labels: dict) -> list:
    lawyers = ", ".join(dict.fromkeys(t.assignee.name for t in person.visits if t.assignee_id))
    first, latest = person.visits[0].completed_at, person.visits[-1].completed_at
    where = [person.village or None, person.town or None, lawyers or None]
    if not person.shown:  # where, by whom and how often; never who, which group or what
        return [MASK, MASK, *where, month_of(first), month_of(latest), len(person.visits), MASK]
    return [person.name, labels.get(person.category, person.category), *where,
            to_local(first).date(), to_local(latest).date(), len(person.visits),
            person.latest("needs")]


def export_roster(user: User | None, year: int | None = None, village_id: int | None = None,
                  *, address: str = "", locale: str = "zh_CN") -> bytes:
    """The roster as the bytes of an .xlsx file; rows restricted as the module says; the
    export audited."""
    core_text, own = gettext_for(locale), gettext_for(locale, __package__)
    people = roster(user, year, village_id)
    labels = category_labels(own)
    body = xlsx(own(ROSTER_NAME), _headers(core_text, own),
                [_row(person, labels) for person in people])
    _audit(user, people, year, village_id, address, "roster.xlsx")
    return body


def _audit(user, people, year, village_id, address, via) -> None:
    views = [view for person in people for view in person.views]
    masked = sum(not person.shown for person in people)
    audit_export(user, PROGRAM, tasks=len(views), shown=len(people) - masked, masked=masked,
                 address=address, register="key_populations", people=len(people),
                 year=year, village=village_id, via=via)
    audit_views(user, views, via="register", address=address, program=PROGRAM)


def category_labels(own) -> dict:
    return {choice.value: own(choice.label) for choice in CATEGORIES}


# --- the pages, linked from the programme's page ---------------------------------------------

bp = Blueprint(PROGRAM, __name__, url_prefix="/programmes/key_populations",
               template_folder="templates")


def _year() -> int | None:
    """?year=YYYY (default this year); ?year=all: every year."""
    text = request.args.get("year", "")
    if text == "all":
        return None
    return int(text) if text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100 \
        else today().year


def _village() -> int | None:
    text = request.args.get("village", "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


@bp.route("/roster")
@allow(*MANAGERS)
def roster_page():
    user, year, village_id = current_user.user, _year(), _village()
    own = gettext_for(_locale(), __package__)
    everyone = roster(user, year)
    people = [p for p in everyone if village_id is None or p.village_id == village_id]
    labels = category_labels(own)
    if village_id is not None:
        _audit(user, people, year, village_id, request.remote_addr or "", "roster")
    return render_template("programs/key_populations/roster.html", people=people,
                           counts=counts(everyone, list(labels)), labels=labels,
                           not_shown=NOT_SHOWN, year=year, village_id=village_id,
                           this_year=today().year, rows=[_row(p, labels) for p in people])


@bp.route("/roster.xlsx")
@allow(*MANAGERS)
def roster_xlsx():
    """The roster of the coordinator's scope (of one village with ``?village=``)."""
    year, village_id = _year(), _village()
    body = export_roster(current_user.user, year, village_id,
                         address=request.remote_addr or "", locale=_locale())
    day = today().isoformat()
    # not cached: names of vulnerable people
    return make_response(body, download_headers(f"{ROSTER_NAME}-{day}.xlsx",
                                                f"roster-{PROGRAM}-{day}.xlsx"))


def _locale() -> str:
    return str(get_locale() or "zh_CN")
