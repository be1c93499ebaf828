"""Programme 5, 调研100+村(居): the survey form (the village chosen from the district's
villages) and the villages-surveyed metric."""
import pytest

from core.plugins import describe, get_registry
from core.testing import (assert_examples_valid, assign_and_complete, done, form_errors,
                          installed_only, ledger_rows)
from plugins.village_surveys import VillageSurveyForm, village_choices

SURVEY = {"village": "T1V1", "key_groups": "外出务工人员约300人，留守儿童25人",
          "legal_needs": "土地承包咨询较多", "rules_status": "needs_revision",
          "legal_problems": "宅基地界址纠纷多发", "findings": "建议修订村规民约"}


@pytest.fixture(autouse=True)
def _only_this_programme():
    with installed_only("village_surveys"):
        yield


@pytest.fixture
def villages(database):
    """The villages of tests.factories.small_district without its users (quicker)."""
    from core.models import District, Town, Village
    district = District.create(code="310000", name="示范区")
    for i, name in enumerate(("东湖镇", "西山街道"), start=1):
        town = Town.create(district=district, code=f"T{i}", name=name)
        for j in range(1, 4):
            Village.create(town=town, code=f"T{i}V{j}", name=f"{name[:2]}{j}村")


def survey(**changes) -> dict:
    data = {**SURVEY, **changes}
    return {k: v for k, v in data.items() if v is not None}  # None: the field is not posted


def test_the_village_is_chosen_among_the_districts_villages_by_town(villages):
    assert [(choice.value, choice.label) for choice in village_choices()] == [
        ("T1V1", "东湖镇 · 东湖1村"), ("T1V2", "东湖镇 · 东湖2村"), ("T1V3", "东湖镇 · 东湖3村"),
        ("T2V1", "西山街道 · 西山1村"), ("T2V2", "西山街道 · 西山2村"), ("T2V3", "西山街道 · 西山3村")]
    assert form_errors(VillageSurveyForm, SURVEY) == {}


@pytest.mark.parametrize("changes, field, message", [
    ({"village": None}, "village", "请选择被调研的村(居)"),
    ({"village": "T9V9"}, "village", "请选择被调研的村(居)"),
    ({"key_groups": ""}, "key_groups",
     "请填写本村(居)重点人群情况（如农民工、留守儿童、孤寡老人等）"),
    ({"legal_needs": " "}, "legal_needs", "请填写村(居)民的法律服务需求"),
    ({"rules_status": "perfect"}, "rules_status", "请选择村规民约情况"),
    ({"legal_problems": ""}, "legal_problems", "请填写村(居)当前遇到的法律问题"),
    ({"findings": "调" * 2001}, "findings", "调研分析与建议不超过2000个字"),
])
def test_the_survey_form_rejects_bad_input_with_a_clear_message(villages, changes, field,
                                                                message):
    assert form_errors(VillageSurveyForm, survey(**changes)) == {field: [message]}


def test_the_surveyed_village_is_the_subject_and_nothing_is_sensitive():
    task_type = get_registry().task_types["village_survey"]
    assert (task_type.subject_field, task_type.sensitive_fields) == ("village", ())


def test_the_examples_are_valid_and_name_villages_of_the_district(villages):
    datas = assert_examples_valid("village_survey")
    codes = {f"T{i}V{j}" for i in (1, 2) for j in (1, 2, 3)}
    assert {d["village"] for d in datas} <= codes and len({d["village"] for d in datas}) > 1


def test_jiedui_plugins_lists_the_programme_with_its_task_type_and_metric():
    listing = describe()
    assert [(p["slug"], p["name"], p["order"]) for p in listing["programs"]] == [
        ("village_surveys", "调研100+村(居)", 5)]
    assert [t["slug"] for t in listing["task_types"]] == ["village_survey"]
    assert [(m["slug"], m["distinct_field"]) for m in listing["metrics"]] == [
        ("villages_surveyed", "village")]


def test_the_metric_counts_distinct_villages_surveyed(district):
    from core.tasks import assign_task
    users, villages = district.users, district.villages

    def surveyed(village):
        return assign_and_complete(users.coordinator, users.lawyer, program="village_surveys",
                                   task_type="village_survey", village=villages[0],
                                   data=survey(village=village.code))

    surveyed(villages[0])
    surveyed(villages[0])  # surveyed again: still one village
    surveyed(villages[3])
    assign_task(users.coordinator, program="village_surveys", task_type="village_survey",
                village=villages[1])
    assert done("villages_surveyed") == 2


def test_a_survey_with_bad_data_is_refused_and_counts_nothing(district):
    from werkzeug.datastructures import MultiDict

    from core.errors import ValidationError
    from core.tasks import assign_task, complete_task
    users = district.users
    task = assign_task(users.coordinator, program="village_surveys", task_type="village_survey",
                       village=district.villages[0])
    with pytest.raises(ValidationError) as failure:
        complete_task(users.lawyer, task, MultiDict(survey(village="", findings="")))
    assert failure.value.errors == {"village": ["请选择被调研的村(居)"],
                                    "findings": ["请填写调研分析与建议"]}
    assert type(task).get_by_id(task.id).status == "open"
    assert done("villages_surveyed") == 0


def test_the_ledger_names_the_surveyed_village(district):
    users = district.users
    assign_and_complete(users.coordinator, users.lawyer, program="village_surveys",
                        task_type="village_survey", village=district.villages[0], data=SURVEY)
    header, row = ledger_rows("village_surveys", "村(居)调研", users.coordinator)
    assert header[:6] == ["调研村(居)", "重点人群情况", "法律服务需求", "村规民约情况",
                          "当前遇到的法律问题", "调研分析与建议"]
    assert row[:4] == ["东湖镇 · 东湖1村", SURVEY["key_groups"], SURVEY["legal_needs"],
                       "已制定，需要修订完善"]
