"""Programme 4, 服务100+乡村企业: four forms of service, the credit code check, the legal
health check's follow-up rule, and one metric of distinct enterprises across all four."""
import datetime as dt

import pytest

from core.plugins import describe, get_registry
from core.testing import (assert_examples_valid, assign_and_complete, done, form_errors,
                          installed_only, ledger_rows)
from plugins.rural_enterprises.forms import (EnterpriseForumForm, EnterpriseTrainingForm,
                                             EnterpriseVisitForm, LegalHealthCheckForm)

TASK_TYPES = ["enterprise_visit", "enterprise_forum", "enterprise_training",
              "legal_health_check"]
VALID_CODE = "91350100M000100Y43"  # a well-formed code (its check character is right)
VISIT = {"enterprise": "青溪农产品加工有限公司", "credit_code": VALID_CODE,
         "difficulties": ["financing", "hiring"], "services": "审查购销合同模板"}
CHECK = {"enterprise": "石桥竹木制品有限公司", "risk_points": ["hiring", "compliance"],
         "advice": "完善劳动合同与规章制度", "follow_up_on": "2025-06-30"}


@pytest.fixture(autouse=True)
def _only_this_programme():
    with installed_only("rural_enterprises"):
        yield


def changed(data: dict, **changes) -> dict:
    data = {**data, **changes}
    return {k: v for k, v in data.items() if v is not None}  # None: the field is not posted


def test_a_visit_is_valid_with_or_without_a_credit_code():
    assert form_errors(EnterpriseVisitForm, VISIT) == {}
    assert form_errors(EnterpriseVisitForm, changed(VISIT, credit_code="")) == {}
    assert form_errors(EnterpriseVisitForm, changed(VISIT, credit_code=VALID_CODE.lower())) == {}


@pytest.mark.parametrize("code, message", [
    ("91350100M000100Y4", "统一社会信用代码应为18位"),
    ("91350100M000100Y430", "统一社会信用代码应为18位"),
    ("91350100M000I00Y43", "统一社会信用代码只含数字和大写字母（不含I、O、Z、S、V）"),
    ("91350100M000100Y44", "统一社会信用代码校验位不正确，请核对"),
])
def test_a_credit_code_if_given_must_be_a_valid_18_character_code(code, message):
    assert form_errors(EnterpriseVisitForm, changed(VISIT, credit_code=code)) == {
        "credit_code": [message]}


@pytest.mark.parametrize("form, data, field, message", [
    (EnterpriseVisitForm, changed(VISIT, enterprise=""), "enterprise", "请填写企业名称"),
    (EnterpriseVisitForm, changed(VISIT, services=""), "services", "请填写走访中提供的法律服务"),
    (EnterpriseVisitForm, changed(VISIT, difficulties=["weather"]), "difficulties",
     "企业反映的困难不在可选范围内"),
    (EnterpriseForumForm, {"enterprise": "甲公司", "topic": "", "participants": "8",
                           "summary": "座谈"}, "topic", "请填写座谈主题"),
    (EnterpriseForumForm, {"enterprise": "甲公司", "topic": "用工", "participants": "0",
                           "summary": "座谈"}, "participants", "参加人数应为1到10000之间的整数"),
    (EnterpriseTrainingForm, {"enterprise": "甲公司", "topic": "合规", "attendees": "",
                              "content": "讲解"}, "attendees", "请填写参训人数"),
    (EnterpriseTrainingForm, {"enterprise": "甲公司", "topic": "合规", "attendees": "二十",
                              "content": "讲解"}, "attendees", "参训人数应为整数"),
    (LegalHealthCheckForm, changed(CHECK, risk_points=["luck"]), "risk_points",
     "发现的风险点不在可选范围内"),
    (LegalHealthCheckForm, changed(CHECK, advice=""), "advice", "发现风险点时请填写整改建议"),
    (LegalHealthCheckForm, changed(CHECK, follow_up_on=None), "follow_up_on",
     "发现风险点时请填写整改跟进日期"),
    (LegalHealthCheckForm, changed(CHECK, follow_up_on="6月底"), "follow_up_on",
     "整改跟进日期格式应为 年-月-日"),
])
def test_the_forms_reject_bad_input_with_a_clear_message(form, data, field, message):
    assert form_errors(form, data) == {field: [message]}


def test_a_health_check_that_found_no_risk_needs_no_follow_up():
    assert form_errors(LegalHealthCheckForm, {"enterprise": "柳湾茶叶种植专业合作社"}) == {}


def test_every_form_starts_with_the_enterprise_as_its_subject():
    registry = get_registry()
    for slug in TASK_TYPES:
        task_type = registry.task_types[slug]
        assert task_type.field_names[:2] == ["enterprise", "credit_code"]
        assert task_type.subject_field == "enterprise"


@pytest.mark.parametrize("slug", TASK_TYPES)
def test_the_examples_are_valid_and_varied(slug):
    assert_examples_valid(slug)


def test_jiedui_plugins_lists_one_metric_over_the_four_task_types():
    listing = describe()
    assert [(p["slug"], p["name"], p["order"]) for p in listing["programs"]] == [
        ("rural_enterprises", "服务100+乡村企业", 4)]
    assert sorted(t["slug"] for t in listing["task_types"]) == sorted(TASK_TYPES)
    assert [(m["slug"], m["task_types"], m["distinct_field"]) for m in listing["metrics"]] == [
        ("enterprises_served", TASK_TYPES, "enterprise")]


def test_an_enterprise_served_in_several_ways_counts_once(district):
    from core.tasks import assign_task
    users, village = district.users, district.villages[0]

    def served(task_type, data):
        return assign_and_complete(users.coordinator, users.lawyer, program="rural_enterprises",
                                   task_type=task_type, village=village, data=data)

    served("enterprise_visit", VISIT)
    served("legal_health_check", changed(CHECK, enterprise=VISIT["enterprise"]))
    served("enterprise_forum", {"enterprise": VISIT["enterprise"], "topic": "融资",
                                "participants": "12", "summary": "座谈纪要"})
    served("enterprise_training", {"enterprise": "东湖生态农业专业合作社", "topic": "用工",
                                   "attendees": "30", "content": "劳动合同"})
    served("legal_health_check", CHECK)
    assign_task(users.coordinator, program="rural_enterprises", task_type="enterprise_visit",
                village=village)
    assert done("enterprises_served") == 3


def test_a_health_check_with_bad_data_is_refused_and_counts_nothing(district):
    from werkzeug.datastructures import MultiDict

    from core.errors import ValidationError
    from core.tasks import assign_task, complete_task
    users = district.users
    task = assign_task(users.coordinator, program="rural_enterprises",
                       task_type="legal_health_check", village=district.villages[0])
    with pytest.raises(ValidationError) as failure:
        complete_task(users.lawyer, task,
                      MultiDict(changed(CHECK, credit_code="123", advice="")))
    assert failure.value.errors == {"credit_code": ["统一社会信用代码应为18位"],
                                    "advice": ["发现风险点时请填写整改建议"]}
    assert type(task).get_by_id(task.id).status == "open"
    assert done("enterprises_served") == 0


def test_the_ledger_has_a_sheet_per_form_of_service(district):
    users = district.users
    assign_and_complete(users.coordinator, users.lawyer, program="rural_enterprises",
                        task_type="legal_health_check", village=district.villages[0],
                        data=CHECK)
    header, row = ledger_rows("rural_enterprises", "企业法律体检", users.coordinator)
    assert header[:5] == ["企业名称", "统一社会信用代码（选填）", "发现的风险点", "整改建议",
                          "整改跟进日期"]
    assert row[:4] == ["石桥竹木制品有限公司", None, "用工, 合规管理", CHECK["advice"]]
    assert row[4].date() == dt.date(2025, 6, 30)
    assert ledger_rows("rural_enterprises", "走访企业", users.coordinator)[0][:4] == [
        "企业名称", "统一社会信用代码（选填）", "企业反映的困难", "提供的法律服务"]
