"""Programme 3, 走访100+重点人群: the visit form, the sensitive person, the people-visited
metric."""
from io import BytesIO

import pytest
from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from core.clock import today
from core.models import AuditLog
from core.plugins import describe, get_registry
from core.tasks import assign_task, complete_task
from core.users import create_user
from core.testing import (assert_examples_valid, assign_and_complete, done, form_errors,
                          installed_only, ledger_rows)
from plugins.key_populations import CATEGORIES, PersonVisitForm
from plugins.key_populations.roster import NOT_SHOWN, counts, export_roster, roster
from tests.factories import PASSWORD

VISIT = {"person": "张小雨", "category": "left_behind_child",
         "needs": "父母在外务工，由祖父母监护", "publicity": "开展未成年人自我保护教育"}


@pytest.fixture(autouse=True)
def _only_this_programme():
    with installed_only("key_populations"):
        yield


def visit(**changes) -> dict:
    data = {**VISIT, **changes}
    return {k: v for k, v in data.items() if v is not None}  # None: the field is not posted


def test_every_category_of_the_plan_can_be_chosen():
    assert [choice.label for choice in CATEGORIES] == ["农民工", "特困人员", "孤寡（独居）老人",
                                                      "留守儿童", "未成年人"]
    for choice in CATEGORIES:
        assert form_errors(PersonVisitForm, visit(category=choice.value)) == {}


@pytest.mark.parametrize("changes, field, message", [
    ({"person": ""}, "person", "请填写走访对象姓名"),
    ({"category": None}, "category",
     "请选择人群类别（农民工、特困人员、孤寡老人、留守儿童或未成年人）"),
    ({"category": "tourist"}, "category",
     "请选择人群类别（农民工、特困人员、孤寡老人、留守儿童或未成年人）"),
    ({"needs": "  "}, "needs", "请填写走访对象的需求与困难（没有请填“无”）"),
    ({"publicity": ""}, "publicity", "请填写走访时开展的普法宣传内容"),
])
def test_the_visit_form_rejects_bad_input_with_a_clear_message(changes, field, message):
    assert form_errors(PersonVisitForm, visit(**changes)) == {field: [message]}


def test_the_person_is_always_sensitive_minors_included():
    task_type = get_registry().task_types["person_visit"]
    assert task_type.subject_field == "person"
    assert "person" in task_type.sensitive_fields and "needs" in task_type.sensitive_fields


def test_the_examples_are_valid_and_cover_the_categories():
    datas = assert_examples_valid("person_visit")
    assert len({d["category"] for d in datas}) >= 4


def test_jiedui_plugins_lists_the_programme_with_its_task_type_and_metric():
    listing = describe()
    assert [(p["slug"], p["name"], p["order"]) for p in listing["programs"]] == [
        ("key_populations", "走访100+重点人群", 3)]
    assert [t["slug"] for t in listing["task_types"]] == ["person_visit"]
    assert [(m["slug"], m["distinct_field"]) for m in listing["metrics"]] == [
        ("people_visited", "person")]


def test_the_metric_counts_done_visits_of_distinct_people(district):
    from core.tasks import assign_task
    users, village = district.users, district.villages[0]

    def visit_done(**changes):
        return assign_and_complete(users.coordinator, users.lawyer, program="key_populations",
                                   task_type="person_visit", village=village,
                                   data=visit(**changes))

    visit_done(person="张小雨")
    visit_done(person="张小雨", needs="学习有进步，继续关注")  # visited again
    visit_done(person="郑桂芳", category="elderly_alone", needs="想立遗嘱")
    visit_done(person="刘建军", category="migrant_worker", needs="被拖欠工资")
    assign_task(users.coordinator, program="key_populations", task_type="person_visit",
                village=village)
    assert done("people_visited") == 3


def test_a_visit_with_bad_data_is_refused_and_counts_nothing(district):
    from werkzeug.datastructures import MultiDict

    from core.errors import ValidationError
    from core.tasks import assign_task, complete_task
    users = district.users
    task = assign_task(users.coordinator, program="key_populations", task_type="person_visit",
                       village=district.villages[0])
    with pytest.raises(ValidationError) as failure:
        complete_task(users.lawyer, task, MultiDict(visit(person="", publicity="")))
    assert failure.value.errors == {"person": ["请填写走访对象姓名"],
                                    "publicity": ["请填写走访时开展的普法宣传内容"]}
    assert type(task).get_by_id(task.id).status == "open"
    assert done("people_visited") == 0


def test_the_village_committee_never_sees_the_childs_name(district):
    from core.tasks import task_data_for
    users = district.users
    task = assign_and_complete(users.coordinator, users.lawyer, program="key_populations",
                               task_type="person_visit", village=district.villages[0],
                               data=VISIT)
    seen = task_data_for(users.village, task)
    # the category (留守儿童) and the free text identify the child as well as a name
    assert seen == {"person": "***", "category": "***", "needs": "***", "publicity": "***"}


def test_the_ledger_lists_the_visits_under_the_forms_labels(district):
    users = district.users
    assign_and_complete(users.coordinator, users.lawyer, program="key_populations",
                        task_type="person_visit", village=district.villages[0], data=VISIT)
    header, row = ledger_rows("key_populations", "走访重点人群", users.lawyer)
    assert header[:4] == ["走访对象姓名", "人群类别", "需求与困难", "开展的普法宣传"]
    assert row[:4] == ["张小雨", "留守儿童", VISIT["needs"], VISIT["publicity"]]


# --- the roster of key populations (摸排名册) ---------------------------------------------------

def _roster_visits(district):
    """Village 0 (town 1): 张小雨 twice, 郑桂芳; village 3 (town 2): another 张小雨, and a
    visit by village 0's other lawyer (lawyer 1) to 刘建军 in village 0."""
    users = district.users
    other = create_user("lawyer-1", PASSWORD, "lawyer", lawyer=district.lawyers[1])

    def visit_done(village, completer=users.lawyer, **changes):
        return assign_and_complete(users.coordinator, completer, program="key_populations",
                                   task_type="person_visit", village=district.villages[village],
                                   data=visit(**changes))
    visit_done(0)
    visit_done(0, needs="学习有进步，继续关注")
    visit_done(0, person="郑桂芳", category="elderly_alone", needs="想立遗嘱")
    visit_done(3, completer=None)
    task = assign_task(users.coordinator, program="key_populations", task_type="person_visit",
                       village=district.villages[0], assignee=district.lawyers[1])
    complete_task(other, task, MultiDict(visit(person="刘建军", category="migrant_worker",
                                               needs="被拖欠工资")))


def test_the_roster_counts_each_person_once_per_village_as_the_progress_does(district):
    _roster_visits(district)
    users = district.users
    people = roster(users.coordinator, today().year)
    first_village, fourth = district.villages[0].id, district.villages[3].id
    assert sorted((p.village_id == first_village, p.name, len(p.visits)) for p in people) == [
        (False, "张小雨", 1), (True, "刘建军", 1), (True, "张小雨", 2), (True, "郑桂芳", 1)]
    assert {p.village_id for p in people} == {first_village, fourth}
    assert len(people) == done("people_visited") == 4
    by_village = {row.village: row for row in counts(people, [c.value for c in CATEGORIES])}
    first = by_village[district.villages[0].name]
    assert first.total == 3 and first.by_category["left_behind_child"] == 1
    assert first.by_category["elderly_alone"] == 1 and first.by_category["migrant_worker"] == 1
    # a town's coordinator: their town's people, as their progress counts them
    town = roster(users.town_coordinator, today().year)
    assert len(town) == done("people_visited", user=users.town_coordinator) == 3
    assert roster(users.coordinator, today().year - 1) == []


def test_a_person_the_reader_may_not_see_in_full_is_masked_in_the_roster(district):
    _roster_visits(district)
    lawyer = district.users.lawyer  # village 0's lawyer sees their own visits only in full
    people = {p.name if p.shown else p.visits[0].assignee.name: p
              for p in roster(lawyer, today().year)}
    hidden = people[district.lawyers[1].name]
    assert hidden.category == NOT_SHOWN
    book = load_workbook(BytesIO(export_roster(lawyer, today().year)))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("姓名", "人群类别")
    assert ("***", "***") in [row[:2] for row in rows[1:]]
    assert "刘建军" not in str(rows) and "被拖欠工资" not in str(rows)
    entry = AuditLog.select().where(AuditLog.action == "ledger.export").get()
    assert entry.detail["register"] == "key_populations"
    assert entry.detail["rows_with_sensitive_masked"] == 1


def test_coordinators_open_and_download_the_roster_of_a_village(district, login):
    _roster_visits(district)
    village = district.villages[0]
    client = login(district.users.town_coordinator)
    page = client.get("/programmes/key_populations/roster").get_data(as_text=True)
    assert "重点人群摸排名册" in page and village.name in page
    assert district.villages[3].name not in page  # another town
    assert "张小雨" not in page  # the counts; names only on a village's roster
    one = client.get(f"/programmes/key_populations/roster?village={village.id}")
    assert "张小雨" in one.get_data(as_text=True) and "郑桂芳" in one.get_data(as_text=True)
    xlsx = client.get(f"/programmes/key_populations/roster.xlsx?village={village.id}")
    assert xlsx.status_code == 200 and "no-store" in xlsx.headers["Cache-Control"]
    names = [row[0] for row in load_workbook(BytesIO(xlsx.data)).worksheets[0]
             .iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["刘建军", "张小雨", "郑桂芳"]
    programme = client.get("/programmes/key_populations").get_data(as_text=True)
    assert "/programmes/key_populations/roster" in programme
    assert login(district.users.lawyer).get("/programmes/key_populations/roster").status_code \
        == 403
