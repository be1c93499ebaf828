"""Programme 8, legal understanders: the training register, its examples and the count of
distinct people trained."""
import datetime as dt

import pytest

from core.clock import today
from core.plugins import get_registry
from core.testing import (assert_examples_valid, assert_ledger, assign_and_complete, date_cell,
                          done, form_errors, installed_only)
from plugins.legal_understanders import ROLES, UnderstanderTrainingForm


@pytest.fixture(autouse=True)
def _only_this_programme():
    with installed_only("legal_understanders"):
        yield


DAY = dt.timedelta(days=1)


def attendance(**changes) -> dict:
    data = {"name": "王桂兰", "gender": "female", "identity": "mediator",
            "roles": ["mediator", "messenger"], "trained_on": (today() - 7 * DAY).isoformat(),
            "hours": "2.5", "course": "人民调解实务"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_a_complete_attendance_is_valid():
    assert form_errors(UnderstanderTrainingForm, attendance()) == {}


def test_the_six_roles_of_the_plan_can_be_chosen():
    assert [choice.label for choice in ROLES] == [
        "法律法规讲解员", "矛盾纠纷调解员", "社情民意传递员", "法治活动组织员", "法治创建监督员",
        "法律援助引导员"]
    every_role = [choice.value for choice in ROLES]
    assert form_errors(UnderstanderTrainingForm, attendance(roles=every_role)) == {}


def test_an_empty_attendance_names_every_missing_field():
    assert form_errors(UnderstanderTrainingForm, {}) == {
        "name": ["请填写法律明白人姓名"], "gender": ["请选择性别"],
        "identity": ["请从列表中选择身份"], "roles": ["请至少选择一项履职角色"],
        "trained_on": ["请填写培训日期"], "hours": ["请填写培训时长"],
        "course": ["请填写培训内容，如：民法典婚姻家庭编"]}


def test_roles_come_from_the_six():
    assert form_errors(UnderstanderTrainingForm, attendance(roles=["mediator", "judge"])) == \
        {"roles": ["履职角色不在可选范围内，请重新选择"]}


def test_training_hours_are_a_sensible_number():
    assert form_errors(UnderstanderTrainingForm, attendance(hours="0")) == \
        {"hours": ["培训时长应在0.5到24小时之间"]}
    assert form_errors(UnderstanderTrainingForm, attendance(hours="30")) == \
        {"hours": ["培训时长应在0.5到24小时之间"]}
    assert form_errors(UnderstanderTrainingForm, attendance(hours="两小时")) == \
        {"hours": ["培训时长应为数字，如 2 或 1.5"]}


def test_a_future_session_is_refused():
    tomorrow = (today() + DAY).isoformat()
    assert form_errors(UnderstanderTrainingForm, attendance(trained_on=tomorrow)) == \
        {"trained_on": ["培训日期不能晚于今天：请在培训结束后填写"]}


def test_examples_are_valid_and_varied():
    datas = assert_examples_valid("understander_training")
    assert len({d["name"] for d in datas}) > 10


def test_programme_eight_counts_people_and_hides_nothing():
    registry = get_registry()
    program = registry.programs["legal_understanders"]
    assert (program.name, program.order) == ("培养100+法律明白人", 8)
    task_type = registry.task_types["understander_training"]
    # adults in a public role: their names are posted in the village, nothing is sensitive
    assert task_type.subject_field == "name" and task_type.sensitive_fields == ()
    assert registry.metrics["people_trained"].distinct_field == "name"


def test_a_person_trained_twice_counts_once(district):
    coordinator, lawyer = district.users.coordinator, district.users.lawyer
    village = district.villages[0]
    sessions = [attendance(), attendance(course="反家庭暴力法"), attendance(name="李志强")]
    for data in sessions:
        assign_and_complete(coordinator, lawyer, program="legal_understanders",
                            task_type="understander_training", village=village, data=data)
    assert done("people_trained") == 2


def test_the_ledger_lists_each_attendance_under_the_forms_labels(district):
    coordinator, lawyer = district.users.coordinator, district.users.lawyer
    sessions = [attendance(),
                attendance(name="李志强", gender="male", identity="grid_worker",
                           roles=["explainer", "aid_guide"], hours="1",
                           trained_on=(today() - 30 * DAY).isoformat(), course="法律援助申请指引")]
    # the lawyer reports their village's session, the coordinator one in another town
    for data, village, completer in ((sessions[0], district.villages[0], lawyer),
                                     (sessions[1], district.villages[3], coordinator)):
        assign_and_complete(coordinator, completer, program="legal_understanders",
                            task_type="understander_training", village=village, data=data)
    assert_ledger("legal_understanders", "法律明白人培训",
                  ["姓名", "性别", "身份", "履职角色", "培训日期", "培训时长（小时）", "培训内容"], [
                      ["王桂兰", "女", "人民调解员", "矛盾纠纷调解员, 社情民意传递员",
                       date_cell(today() - 7 * DAY), 2.5, "人民调解实务",
                       "东湖1村", "东湖镇", "张明"],
                      ["李志强", "男", "网格员", "法律法规讲解员, 法律援助引导员",
                       date_cell(today() - 30 * DAY), 1, "法律援助申请指引",
                       "西山1村", "西山街道", "赵强"]],
                  user=coordinator)
