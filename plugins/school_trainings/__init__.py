"""Programme 6: hold 100+ school trainings (开展100+学校培训).

Legal education for pupils and students (self-protection, bullying, online safety …),
in forms they enjoy. One task of type ``school_training`` is one training held at a
school; its form records the school, the date, who attended and how many, the topics and
the format.

What it counts: ``trainings_held`` is the number of done trainings. A school visited again
on another day is a second training (the plan counts trainings, not schools), so the
metric counts tasks, not distinct schools; the school is still the task's subject, so
lists and ledgers can group trainings by school.
"""
from wtforms import Form, SelectChoice, SelectField
from wtforms.validators import DataRequired

from core import Metric, Program, TaskType, hookimpl
from core.formkit import checkboxes, past_date, recent_date, text, whole_number

AUDIENCES = [SelectChoice("primary", "小学生"), SelectChoice("junior", "初中生"),
             SelectChoice("senior", "高中生"), SelectChoice("vocational", "职业学校学生"),
             SelectChoice("special", "特殊教育学校学生"), SelectChoice("teachers", "教师"),
             SelectChoice("parents", "家长")]
TOPICS = [SelectChoice("bullying", "校园欺凌防治"), SelectChoice("self_protection", "自我保护"),
          SelectChoice("online_safety", "网络安全与防诈骗"), SelectChoice("drugs", "禁毒"),
          SelectChoice("traffic", "交通安全"), SelectChoice("civil_code", "民法典"),
          SelectChoice("minors", "未成年人保护法"),
          SelectChoice("crime_prevention", "预防未成年人犯罪"),
          SelectChoice("sexual_assault", "防性侵"), SelectChoice("drowning", "防溺水")]
FORMATS = [SelectChoice("lecture", "法治讲座"), SelectChoice("mock_trial", "模拟法庭"),
           SelectChoice("class_meeting", "主题班会"), SelectChoice("quiz", "法律知识竞赛"),
           SelectChoice("drama", "法治情景剧"), SelectChoice("case_talk", "以案释法"),
           SelectChoice("other", "其他")]
MAX_AUDIENCE = 10000  # a whole school at most; more is a typing error


def _checkboxes(label, choices, required_message):
    return checkboxes(label, choices, DataRequired(required_message),
                      invalid=f"{label}不在可选范围内，请重新选择")


class SchoolTrainingForm(Form):
    school = text("学校名称", DataRequired("请填写学校名称"))
    held_on = past_date("培训日期", future="培训日期不能晚于今天：请在培训结束后填写")
    audience = _checkboxes("培训对象", AUDIENCES, "请至少选择一类培训对象")
    audience_size = whole_number("参加人数", 1, MAX_AUDIENCE)
    topics = _checkboxes("培训主题", TOPICS, "请至少选择一个培训主题")
    format = SelectField("培训形式", choices=FORMATS,
                         invalid_choice_message="请从列表中选择培训形式")
    speaker = text("主讲人", most=50, name="主讲人姓名")


SCHOOL_PLACES = ["东湖镇", "西山街道", "城关镇", "南岭镇", "北塘街道", "新桥镇", "青石镇", "区"]
SCHOOL_KINDS = [("中心小学", "primary"), ("实验小学", "primary"), ("第二小学", "primary"),
                ("初级中学", "junior"), ("第一中学", "senior"), ("实验中学", "junior"),
                ("职业技术学校", "vocational"), ("九年一贯制学校", "primary")]
SPEAKERS = ["张明", "李华", "王芳", "赵强", "陈静", "刘洋", "周律师", "吴律师"]


def example(rng):
    """A realistic training report: a school of the district, in the last half year."""
    kind, stage = rng.choice(SCHOOL_KINDS)
    audience = [stage] + rng.sample(["teachers", "parents"], rng.randint(0, 1))
    size = rng.randint(30, 60) if stage != "vocational" and rng.random() < 0.3 \
        else rng.randint(80, 900)
    return {
        "school": rng.choice(SCHOOL_PLACES) + kind,
        "held_on": recent_date(rng, 180),
        "audience": audience,
        "audience_size": size,
        "topics": rng.sample([choice.value for choice in TOPICS], rng.randint(1, 3)),
        "format": rng.choice(FORMATS[:-1]).value,
        "speaker": rng.choice(SPEAKERS),
    }


@hookimpl
def register_programs(register):
    register(Program(slug="school_trainings", name="开展100+学校培训",
                     name_en="Hold 100+ school trainings",
                     description="开展形式多样、师生喜闻乐见的普法活动，提高青少年的法治意识和"
                                 "自我保护意识。",
                     order=6))


@hookimpl
def register_task_types(register):
    # A training held at a school is public; the speaker is the lawyer or a guest in a
    # public role. No pupil is named.
    register(TaskType(slug="school_training", program="school_trainings", name="学校法治培训",
                      duty="publicity",
                      form=SchoolTrainingForm, subject_field="school",
                      public_fields=("school", "held_on", "audience", "audience_size",
                                     "topics", "format", "speaker"), example=example))


@hookimpl
def register_metrics(register):
    register(Metric(slug="trainings_held", program="school_trainings", name="已开展培训",
                    task_types=("school_training",)))
