"""Programme 8: train 100+ "legal understanders" (培养100+法律明白人).

The register of people trained: one task of type ``understander_training`` records one
person's attendance at a training session — who they are, the roles they take on among
the plan's six (explainer, mediator, messenger of public opinion, organiser, supervisor,
legal-aid guide) and the session (date, hours, content).

What it counts: ``people_trained`` is the number of distinct people (the person's name is
the subject) with a done training; a person who attends several sessions counts once.

No field is sensitive: a legal understander is an adult who takes on a public role in the
village (the roster is posted so residents know whom to ask), unlike the people in family
disputes or the minors of other programmes. Minors are never registered here.
"""
from wtforms import FloatField, Form, SelectChoice, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from core import Metric, Program, TaskType, hookimpl
from core.formkit import checkboxes, choice, parsed, past_date, recent_date, text

PROGRAM = "legal_understanders"
# The plan's six duties (六.8): 法律法规"讲解员"、矛盾纠纷"调解员"、社情民意"传递员"、
# 法治活动"组织员"、法治创建"监督员"、法律援助"引导员".
ROLES = [SelectChoice("explainer", "法律法规讲解员"), SelectChoice("mediator", "矛盾纠纷调解员"),
         SelectChoice("messenger", "社情民意传递员"), SelectChoice("organiser", "法治活动组织员"),
         SelectChoice("supervisor", "法治创建监督员"), SelectChoice("aid_guide", "法律援助引导员")]
GENDERS = [SelectChoice("male", "男"), SelectChoice("female", "女")]
IDENTITIES = [SelectChoice("cadre", "村（居）两委干部"), SelectChoice("group_leader", "村（居）民小组长"),
              SelectChoice("party_member", "党员"), SelectChoice("mediator", "人民调解员"),
              SelectChoice("grid_worker", "网格员"), SelectChoice("representative", "村（居）民代表"),
              SelectChoice("villager", "村（居）民"), SelectChoice("other", "其他")]
MAX_HOURS = 24


class UnderstanderTrainingForm(Form):
    name = text("姓名", DataRequired("请填写法律明白人姓名"), most=50)
    gender = choice("性别", GENDERS, "请选择性别")  # no default: the form does not guess
    identity = SelectField("身份", choices=IDENTITIES,
                           invalid_choice_message="请从列表中选择身份")
    roles = checkboxes("履职角色", ROLES, DataRequired("请至少选择一项履职角色"),
                       invalid="履职角色不在可选范围内，请重新选择")
    trained_on = past_date("培训日期", future="培训日期不能晚于今天：请在培训结束后填写")
    hours = FloatField("培训时长（小时）", validators=[
        InputRequired("请填写培训时长"), parsed,
        NumberRange(min=0.5, max=MAX_HOURS, message=f"培训时长应在0.5到{MAX_HOURS}小时之间")],
        invalid_value_message="培训时长应为数字，如 2 或 1.5")
    course = text("培训内容", DataRequired("请填写培训内容，如：民法典婚姻家庭编"), most=200)


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["建国", "秀英", "志强", "桂兰", "德明", "玉梅", "国庆", "春花", "永刚", "丽娟",
         "卫东", "红霞", "金龙", "淑珍", "宏伟", "小燕", "文斌", "海燕", "正华", "明"]
COURSES = ["民法典婚姻家庭编", "人民调解实务", "土地承包与宅基地法律政策", "法律援助申请指引",
           "反家庭暴力法", "未成年人保护法", "村民委员会组织法与村务公开", "信访工作条例"]


def example(rng) -> dict:
    """One person's attendance at a session of the last year."""
    identity = rng.choice([choice.value for choice in IDENTITIES])
    roles = rng.sample([choice.value for choice in ROLES], rng.randint(1, 3))
    if identity == "mediator" and "mediator" not in roles:
        roles.append("mediator")
    return {"name": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "gender": rng.choice(GENDERS).value, "identity": identity, "roles": roles,
            "trained_on": recent_date(rng, 300),
            "hours": rng.choice((1, 1.5, 2, 2.5, 3, 4, 6)), "course": rng.choice(COURSES)}


@hookimpl
def register_programs(register):
    register(Program(slug=PROGRAM, name="培养100+法律明白人",
                     name_en='Train 100+ "legal understanders"',
                     description="探索“律师+法律明白人”工作模式，培育法律明白人履行讲解员、调解员、"
                                 "传递员、组织员、监督员、引导员职责。",
                     order=8))


@hookimpl
def register_task_types(register):
    # The roster is posted in the village: every field is public.
    register(TaskType(slug="understander_training", program=PROGRAM, name="法律明白人培训",
                      duty="publicity", duration_field="hours",
                      form=UnderstanderTrainingForm, subject_field="name",
                      public_fields=("name", "gender", "identity", "roles", "trained_on",
                                     "hours", "course"), example=example))


@hookimpl
def register_metrics(register):
    register(Metric(slug="people_trained", program=PROGRAM, name="已培养法律明白人",
                    task_types=("understander_training",), distinct_field="name"))
