"""Programme 3: visit 100+ people of key populations (走访100+重点人群).

Counts the distinct people visited (metric ``people_visited``; a person visited twice
counts once). A visit records the person, their category (migrant worker, extreme
poverty, elderly living alone, left-behind child, minor), their needs and the legal
publicity given on the visit. Many of them are minors or otherwise vulnerable, so every
answer (the person, their category, their needs, the publicity given) is sensitive and
none is public: a village sees that someone was visited in a month, not who.

Besides the programme's ledger the plugin keeps the roster of key populations (摸排名册,
``roster.py``): per village, the people the metric counts for a year with their group,
lawyers, visits and latest needs; a page counting each village's people by group and
listing one village's people, and an .xlsx download of a village or of the whole scope
(``/programmes/key_populations/roster``, linked from the programme's page, template
``templates/programs/key_populations/toolbar.html``), masked and audited as the ledger.
"""
from core import Metric, Program, TaskType, hookimpl

from .forms import CATEGORIES, PROGRAM, PersonVisitForm
from .roster import bp

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN_NAMES = ("建军", "志刚", "永福", "海波", "德胜", "秀珍", "长贵", "玉兰", "桂芳", "德顺",
               "凤英", "福生", "小雨", "子涵", "思琪", "浩然", "梓轩", "欣怡", "一鸣", "雨桐")


NEEDS = {
    "migrant_worker": ["工程完工后包工头拖欠工资三个月", "工作中受伤，用人单位未缴工伤保险"],
    "extreme_poverty": ["特困供养金发放有疑问", "房屋漏雨，申请危房改造需要帮助"],
    "elderly_alone": ["子女长期不探望，想了解赡养义务", "想立遗嘱，担心房产纠纷"],
    "left_behind_child": ["父母在外务工，由祖父母监护，学习需要关心", "在校遭受同学欺凌"],
    "minor": ["沉迷网络游戏，家长求助", "辍学在家，想了解义务教育政策"],
}
PUBLICITY = {
    "migrant_worker": "讲解《保障农民工工资支付条例》，告知欠薪投诉与法律援助申请渠道。",
    "extreme_poverty": "宣讲社会救助相关政策，告知法律援助免费申请条件。",
    "elderly_alone": "讲解《老年人权益保障法》中的赡养义务，提示防范养老诈骗。",
    "left_behind_child": "开展未成年人自我保护教育，发放《未成年人保护法》宣传册。",
    "minor": "讲解《预防未成年人犯罪法》，提醒监护人履行监护职责。",
}


def example(rng) -> dict:
    category = rng.choice([c.value for c in CATEGORIES])
    person = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)  # 700 names: the demo can reach 100
    return {"person": person, "category": category,
            "needs": rng.choice(NEEDS[category]), "publicity": PUBLICITY[category]}


@hookimpl
def register_programs(register):
    register(Program(slug=PROGRAM, name="走访100+重点人群",
                     name_en="Visit 100+ people of key populations",
                     description="以农民工、特困人员、孤寡老人、留守儿童、未成年人等人群为重点，"
                                 "摸排相关数据，开展走访和普法工作。",
                     order=3))


@hookimpl
def register_task_types(register):
    # Sensitivity is declared per field, not per value: the person is sensitive in every
    # category, so minors and left-behind children are always covered. The category itself
    # (a left-behind child, a minor) and the free text identify the person in a village
    # as well as a name: every field is sensitive, none is public.
    register(TaskType(slug="person_visit", program=PROGRAM, name="走访重点人群", duty="publicity",
                      form=PersonVisitForm, subject_field="person",
                      sensitive_fields=("person", "category", "needs", "publicity"),
                      public_fields=(), example=example))


@hookimpl
def register_metrics(register):
    register(Metric(slug="people_visited", program=PROGRAM, name="已走访重点人群",
                    task_types=("person_visit",), distinct_field="person"))


@hookimpl
def register_blueprints(app):
    app.register_blueprint(bp)  # the roster (摸排名册), linked from the programme page
