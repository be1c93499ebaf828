"""Programme 6, school trainings: the training report form, its examples and the count."""
import datetime as dt

import pytest

from core.clock import today
from core.plugins import get_registry
from core.testing import (assert_examples_valid, assert_ledger, assign_and_complete, date_cell,
                          done, form_errors, installed_only)
from plugins.school_trainings import SchoolTrainingForm


@pytest.fixture(autouse=True)
def _only_this_programme():
    with installed_only("school_trainings"):
        yield


DAY = dt.timedelta(days=1)


def training(**changes) -> dict:
    data = {"school": "东湖镇中心小学", "held_on": (today() - 3 * DAY).isoformat(),
            "audience": ["primary", "teachers"], "audience_size": "320",
            "topics": ["bullying", "self_protection"], "format": "lecture", "speaker": "张明"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_a_complete_report_is_valid():
    assert form_errors(SchoolTrainingForm, training()) == {}


def test_an_empty_report_names_every_missing_field():
    errors = form_errors(SchoolTrainingForm, {})
    assert errors == {"school": ["请填写学校名称"], "held_on": ["请填写培训日期"],
                      "audience": ["请至少选择一类培训对象"], "audience_size": ["请填写参加人数"],
                      "topics": ["请至少选择一个培训主题"], "format": ["请从列表中选择培训形式"]}


def test_a_blank_school_name_is_refused():
    assert form_errors(SchoolTrainingForm, training(school="   ")) == {"school": ["请填写学校名称"]}


def test_the_audience_size_is_a_positive_whole_number():
    assert form_errors(SchoolTrainingForm, training(audience_size="0")) == \
        {"audience_size": ["参加人数应为1到10000之间的整数"]}
    assert form_errors(SchoolTrainingForm, training(audience_size="-5")) == \
        {"audience_size": ["参加人数应为1到10000之间的整数"]}
    assert form_errors(SchoolTrainingForm, training(audience_size="三百")) == \
        {"audience_size": ["参加人数应为整数"]}


def test_a_training_is_reported_after_it_was_held():
    tomorrow = (today() + DAY).isoformat()
    assert form_errors(SchoolTrainingForm, training(held_on=tomorrow)) == \
        {"held_on": ["培训日期不能晚于今天：请在培训结束后填写"]}
    assert form_errors(SchoolTrainingForm, training(held_on=today().isoformat())) == {}
    assert form_errors(SchoolTrainingForm, training(held_on="2024/05/20")) == \
        {"held_on": ["培训日期格式应为 年-月-日，如 2024-05-20"]}


def test_topics_and_audience_come_from_the_lists():
    errors = form_errors(SchoolTrainingForm, training(topics=["bullying", "astrology"],
                                                      audience=["pensioners"], format="karaoke"))
    assert errors == {"topics": ["培训主题不在可选范围内，请重新选择"],
                      "audience": ["培训对象不在可选范围内，请重新选择"],
                      "format": ["请从列表中选择培训形式"]}


def test_examples_are_valid_and_varied():
    datas = assert_examples_valid("school_training")
    assert len({d["school"] for d in datas}) > 5


def test_programme_six_counts_trainings():
    registry = get_registry()
    program = registry.programs["school_trainings"]
    assert (program.name, program.order, program.target) == ("开展100+学校培训", 6, 100)
    task_type = registry.task_types["school_training"]
    assert task_type.subject_field == "school" and task_type.sensitive_fields == ()
    metric = registry.metrics["trainings_held"]
    assert metric.task_types == ("school_training",) and metric.distinct_field is None


def test_every_done_training_counts_even_at_the_same_school(district):
    coordinator, lawyer = district.users.coordinator, district.users.lawyer
    village = district.villages[0]
    for days_ago in (30, 3):  # the same school trained twice: two trainings
        assign_and_complete(coordinator, lawyer, program="school_trainings",
                            task_type="school_training", village=village,
                            data=training(held_on=(today() - days_ago * DAY).isoformat()))
    assert done("trainings_held") == 2


def test_open_trainings_do_not_count(district):
    from core.tasks import assign_task
    assign_task(district.users.coordinator, program="school_trainings",
                task_type="school_training", village=district.villages[0])
    assert done("trainings_held") == 0


def test_the_ledger_lists_each_training_under_the_forms_labels(district):
    coordinator, lawyer = district.users.coordinator, district.users.lawyer
    first = training()
    second = training(school="西山街道第一中学", held_on=(today() - 10 * DAY).isoformat(),
                      audience=["senior"], audience_size="45", topics=["drugs"],
                      format="mock_trial", speaker=None)  # no speaker: an empty cell
    for data in (first, second):
        assign_and_complete(coordinator, lawyer, program="school_trainings",
                            task_type="school_training", village=district.villages[0], data=data)
    place = ["东湖1村", "东湖镇", "张明"]
    assert_ledger("school_trainings", "学校法治培训",
                  ["学校名称", "培训日期", "培训对象", "参加人数", "培训主题", "培训形式", "主讲人"], [
                      ["东湖镇中心小学", date_cell(today() - 3 * DAY),
                       "小学生, 教师", 320, "校园欺凌防治, 自我保护", "法治讲座", "张明", *place],
                      ["西山街道第一中学", date_cell(today() - 10 * DAY),
                       "高中生", 45, "禁毒", "模拟法庭", None, *place]],
                  user=coordinator)
