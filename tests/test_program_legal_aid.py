"""Programme 2, 办理100+法援案件: the case form and the cases metric."""
import pytest

from core.plugins import describe, get_registry
from core.testing import (assert_examples_valid, assign_and_complete, done, form_errors,
                          installed_only, ledger_rows)
from plugins.legal_aid import AidCaseForm

CASE = {"case_number": "（2025）法援字第012号", "applicant": "王桂兰",
        "groups": ["elderly", "women"], "matter": "赡养纠纷", "kind": "non_litigation",
        "stage": "mediation", "outcome": ""}


@pytest.fixture(autouse=True)
def _only_this_programme():
    with installed_only("legal_aid"):
        yield


def case(**changes) -> dict:
    data = {**CASE, **changes}
    return {k: v for k, v in data.items() if v is not None}  # None: the field is not posted


def test_a_case_in_progress_is_valid_without_an_outcome():
    assert form_errors(AidCaseForm, CASE) == {}


@pytest.mark.parametrize("changes, field, message", [
    ({"case_number": " "}, "case_number", "请填写法律援助案件编号"),
    ({"applicant": ""}, "applicant", "请填写受援人姓名"),
    ({"groups": []}, "groups", "请至少选择一个受援人所属群体"),
    ({"groups": ["elderly", "celebrities"]}, "groups", "受援人所属群体不在可选范围内"),
    ({"matter": ""}, "matter", "请填写案由（如：追索劳动报酬、赡养纠纷）"),
    ({"kind": None}, "kind", "请选择办理方式：非诉纠纷或诉讼代理"),
    ({"kind": "arbitration"}, "kind", "请选择办理方式：非诉纠纷或诉讼代理"),
    ({"stage": "appeal"}, "stage", "请选择办理阶段：受理、调解、代理或结案"),
    ({"stage": "closed"}, "outcome", "结案的案件请填写办理结果"),
])
def test_the_case_form_rejects_bad_input_with_a_clear_message(changes, field, message):
    assert form_errors(AidCaseForm, case(**changes)) == {field: [message]}


def test_a_closed_case_with_its_outcome_is_valid():
    assert form_errors(AidCaseForm, case(stage="closed", outcome="调解成功，子女按月支付赡养费")) == {}


def test_the_applicant_is_sensitive_and_the_case_number_is_the_subject():
    task_type = get_registry().task_types["aid_case"]
    assert (task_type.subject_field, task_type.sensitive_fields) == (
        "case_number", ("case_number", "applicant", "groups", "matter", "outcome"))
    assert task_type.public_fields == ("kind", "stage")


def test_the_examples_are_valid_and_varied():
    datas = assert_examples_valid("aid_case")
    assert {d["kind"] for d in datas} == {"non_litigation", "litigation"}


def test_jiedui_plugins_lists_the_programme_with_its_task_type_and_metric():
    listing = describe()
    assert [(p["slug"], p["name"], p["order"]) for p in listing["programs"]] == [
        ("legal_aid", "办理100+法援案件", 2)]
    assert [t["slug"] for t in listing["task_types"]] == ["aid_case"]
    assert [(m["slug"], m["task_types"], m["distinct_field"]) for m in listing["metrics"]] == [
        ("aid_cases", ["aid_case"], "case_number")]


def test_the_metric_counts_done_tasks_of_distinct_cases(district):
    from core.tasks import assign_task
    users, village = district.users, district.villages[0]

    def case_done(**changes):
        return assign_and_complete(users.coordinator, users.lawyer, program="legal_aid",
                                   task_type="aid_case", village=village, data=case(**changes))

    case_done(case_number="（2025）法援字第001号")
    case_done(case_number="（2025）法援字第001号", stage="closed", outcome="达成调解协议")
    case_done(case_number="（2025）法援字第002号", kind="litigation", stage="agency")
    assign_task(users.coordinator, program="legal_aid", task_type="aid_case", village=village)
    assert done("aid_cases") == 2


def test_a_case_with_bad_data_is_refused_and_counts_nothing(district):
    from werkzeug.datastructures import MultiDict

    from core.errors import ValidationError
    from core.tasks import assign_task, complete_task
    users = district.users
    task = assign_task(users.coordinator, program="legal_aid", task_type="aid_case",
                       village=district.villages[0])
    with pytest.raises(ValidationError) as failure:
        complete_task(users.lawyer, task, MultiDict(case(groups=[], stage="closed")))
    assert failure.value.errors == {"groups": ["请至少选择一个受援人所属群体"],
                                    "outcome": ["结案的案件请填写办理结果"]}
    assert type(task).get_by_id(task.id).status == "open"
    assert done("aid_cases") == 0


def test_the_ledger_lists_the_cases_with_the_applicant_masked_for_the_village(district):
    users = district.users
    assign_and_complete(users.coordinator, users.lawyer, program="legal_aid",
                        task_type="aid_case", village=district.villages[0], data=CASE)
    header, row = ledger_rows("legal_aid", "法律援助案件", users.coordinator)
    assert header[:7] == ["案件编号", "受援人姓名", "受援人所属群体", "案由", "办理方式", "办理阶段",
                          "办理结果"]
    assert row[:6] == [CASE["case_number"], "王桂兰", "老年人, 妇女", "赡养纠纷",
                       "非诉纠纷（提前介入）", "调解"]
    _, row = ledger_rows("legal_aid", "法律援助案件", users.village)
    assert row[:7] == ["***", "***", "***", "***", "非诉纠纷（提前介入）", "调解", "***"]
