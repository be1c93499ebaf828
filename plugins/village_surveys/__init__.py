"""Programme 5: survey 100+ villages (调研100+村(居)).

Counts the distinct villages surveyed (metric ``villages_surveyed``): a village surveyed
twice counts once. A survey records the village's key groups, its legal-service needs,
the state of its village rules (村规民约), its current legal problems and the findings.

The subject is the surveyed village itself, chosen from the district's villages and
stored as its code: the registry counts distinct values of a form field, and a village
picked from a list cannot be spelt two ways, as a typed name could ("东湖村" and
"东湖村委会" would count twice).
"""
from wtforms import Form, SelectChoice, SelectField
from wtforms.validators import DataRequired

from core import Metric, Program, TaskType, hookimpl
from core.formkit import text_area, village_choices

PROGRAM = "village_surveys"
RULES_STATUSES = [SelectChoice("sound", "已制定，内容合法、程序规范"),
                  SelectChoice("needs_revision", "已制定，需要修订完善"),
                  SelectChoice("missing", "尚未制定")]


def text(label: str, message: str):
    return text_area(label, DataRequired(message))


class VillageSurveyForm(Form):
    village = SelectField("调研村(居)", choices=village_choices,
                          invalid_choice_message="请选择被调研的村(居)")
    key_groups = text("重点人群情况", "请填写本村(居)重点人群情况（如农民工、留守儿童、孤寡老人等）")
    legal_needs = text("法律服务需求", "请填写村(居)民的法律服务需求")
    rules_status = SelectField("村规民约情况", choices=RULES_STATUSES,
                               invalid_choice_message="请选择村规民约情况")
    legal_problems = text("当前遇到的法律问题", "请填写村(居)当前遇到的法律问题")
    findings = text("调研分析与建议", "请填写调研分析与建议")


KEY_GROUPS = ["外出务工人员约{n}人，留守儿童{m}人，孤寡老人{k}人。",
              "常住人口中60岁以上老人约{n}人，其中独居老人{k}人；留守儿童{m}人。"]
NEEDS = ["土地承包、宅基地确权咨询需求较多；希望定期开展婚姻家庭法律讲座。",
         "外出务工人员追索劳动报酬需求突出，希望提供法律援助指引。",
         "村集体经济合同审查需求较大，村民希望了解继承和赡养相关法律。"]
PROBLEMS = ["部分村民对征地补偿分配有异议；邻里宅基地界址纠纷多发。",
            "村集体资产租赁合同不规范，存在到期未续签情况。",
            "已嫁未迁女集体收益分配存在争议；个别家庭赡养纠纷反复。"]
FINDINGS = ["建议修订村规民约中集体收益分配条款，加强婚姻家庭矛盾排查，每月开展一次普法活动。",
            "建议建立合同审查台账，由结对律师定期审核；对留守儿童开展自护教育。"]


def example(rng) -> dict:
    """A survey of one of the district's villages (the database must hold some)."""
    codes = [choice.value for choice in village_choices()]
    return {"village": rng.choice(codes) if codes else "",
            "key_groups": rng.choice(KEY_GROUPS).format(
                n=rng.randint(50, 600), m=rng.randint(3, 60), k=rng.randint(2, 30)),
            "legal_needs": rng.choice(NEEDS),
            "rules_status": rng.choice([c.value for c in RULES_STATUSES]),
            "legal_problems": rng.choice(PROBLEMS),
            "findings": rng.choice(FINDINGS)}


@hookimpl
def register_programs(register):
    register(Program(slug=PROGRAM, name="调研100+村(居)", name_en="Survey 100+ villages",
                     description="深入村居，就重点人群、法律服务需求、村规民约建设及当前村居"
                                 "所遇到的法律问题开展调研分析。",
                     order=5))


@hookimpl
def register_task_types(register):
    # The survey's findings are written about people of the village (its key groups, the
    # problems of a family): the free text is not public, the village and the state of
    # its rules are.
    register(TaskType(slug="village_survey", program=PROGRAM, name="村(居)调研", duty="demands",
                      form=VillageSurveyForm, subject_field="village",
                      public_fields=("village", "rules_status"), example=example))


@hookimpl
def register_metrics(register):
    register(Metric(slug="villages_surveyed", program=PROGRAM, name="已调研村(居)",
                    task_types=("village_survey",), distinct_field="village"))
