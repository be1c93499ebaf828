"""Programme 3, 走访100+重点人群: the visit form, the sensitive person, the people-visited
metric."""
import pytest

from core.plugins import describe, get_registry
from core.testing import (assert_examples_valid, assign_and_complete, done, form_errors,
                          installed_only, ledger_rows)
from plugins.key_populations import CATEGORIES, PersonVisitForm

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
