"""Programme 1: visit 100+ families (走访100+家庭).

Counts the distinct households visited (metric ``households_visited``; a household
visited twice counts once). A visit records the household, its members, the marriage and
family dispute types and risk signs found, what was done and any referral to the police,
the court or the petition office; households with a dispute are registered in the
village's ledger (台账). The plan's screening cadence — weekly by village, monthly by town,
quarterly analysis by district (周排查、月排查、季度研判) — is three schedules, each
creating a small screening report task on time. Every answer of a visit (the household,
its address and members, the dispute types, risk signs, actions and referral) and the
screening reports are sensitive; nothing of them is public (``public_fields=()``).

Besides the programme's ledger (every visit, from the core), the plugin keeps the register
of households (婚姻家庭矛盾纠纷台账, ``register.py``): one row per registered household —
a household with a done visit whose "registered" box is ticked — with its village, town,
lawyers, first and latest visit, number of visits, the dispute types, risk signs and
referrals seen over all its visits and the latest actions. Admins and coordinators download
it as .xlsx from a link next to the ledger on the programme's page
(``/programmes/family_visits/households.xlsx``, template
``templates/programs/family_visits/toolbar.html``), over their own scope; as in the
ledger, a household is shown restricted to whoever may not see every visit of it (where,
by whom, how many visits and in which months; nothing else) and every export is audited.
"""
from core import Metric, Program, Schedule, TaskType, hookimpl

from .forms import DISPUTE_TYPES, RISK_SIGNS, HouseholdVisitForm, ScreeningForm
from .register import PROGRAM, bp

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = ["建国", "秀英", "桂兰", "志强", "海燕", "德明", "玉梅", "国庆", "春花", "永刚",
         "丽娟", "卫东", "红霞", "金龙", "淑珍", "宏伟", "小燕", "文斌", "凤英", "立新"]
ACTIONS = ["入户释法说理，对双方分别疏导，约定一周后回访。",
           "联合村调委会组织双方调解，达成书面和解协议。",
           "讲解《反家庭暴力法》及人身安全保护令申请程序，告知求助渠道。",
           "向当事人发放婚姻家庭普法资料，建议到镇司法所申请人民调解。",
           "协调村妇联干部共同走访，帮助修复婆媳关系，纳入重点关注名单。",
           "了解家庭基本情况，未发现矛盾纠纷苗头，宣传婚姻家庭相关法律。"]
FINDINGS = ["本周排查农户{n}户，重点关注长期分居、家庭暴力苗头，已逐户登记。",
            "本月各村上报排查情况汇总，共排查家庭{n}户，矛盾主要集中在赡养与婆媳关系。",
            "本季度全区婚姻家庭矛盾纠纷排查研判：排查{n}户，重点风险家庭已落实包案。"]


def person_name(rng) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def example_visit(rng) -> dict:
    """A realistic household visit; a household with a dispute is registered in the ledger."""
    head = person_name(rng)
    disputes = rng.sample([c.value for c in DISPUTE_TYPES], rng.choice((0, 0, 1, 1, 2)))
    risks = rng.sample([c.value for c in RISK_SIGNS], rng.choice((0, 0, 0, 1)))
    spouse = rng.choice(SURNAMES) + rng.choice(GIVEN)
    data = {
        "household": head,
        "address": f"第{rng.randint(1, 9)}村民小组{rng.randint(1, 80)}号",
        "members": f"户主{head}（{rng.randint(35, 70)}岁）、配偶{spouse}、"
                   f"子女{rng.randint(1, 3)}人",
        "dispute_types": disputes,
        "risk_signs": risks,
        "actions": rng.choice(ACTIONS[:-1] if disputes or risks else ACTIONS),
        "referral": rng.choice(("police", "court", "petition")) if risks else "none",
    }
    if disputes or risks or rng.random() < 0.3:
        data["registered"] = "y"  # a checked box; an unchecked one is simply absent
    return data


def example_screening(rng) -> dict:
    flagged = rng.randint(0, 6)
    data = {"findings": rng.choice(FINDINGS).format(n=rng.randint(20, 300)),
            "households_flagged": str(flagged)}
    if flagged:
        data["follow_up"] = "对发现苗头的家庭逐户包案，由结对律师和村调委会两周内回访。"
    return data


@hookimpl
def register_programs(register):
    register(Program(slug=PROGRAM, name="走访100+家庭", name_en="Visit 100+ families",
                     description="深入排查婚姻家庭矛盾纠纷，逐案逐户登记台账，落实村（社区）"
                                 "周排查、镇街月排查、区季度研判，加强与公安、法院、信访衔接。",
                     order=1))


@hookimpl
def register_task_types(register):
    # Every answer of a visit says something about one family: who they are, where they
    # live, whether there is violence, a risk or a referral, what was done. All of it is
    # sensitive, and nothing is public: a village or another lawyer sees that a household
    # was visited in their village in a month, never which one (a visit's day and hour
    # would tell, so the core shows them only the month).
    register(TaskType(slug="household_visit", program=PROGRAM, name="走访家庭", duty="mediation",
                      form=HouseholdVisitForm, subject_field="household",
                      sensitive_fields=("household", "address", "members", "dispute_types",
                                        "risk_signs", "actions", "referral", "registered"),
                      public_fields=(), example=example_visit))
    # The screening reports speak of families in dispute: the text is sensitive, and the
    # number of families flagged is not for the village either.
    for slug, name in (("village_screening", "村（社区）周排查"),
                       ("town_screening", "镇街月排查"),
                       ("district_analysis", "区季度研判")):
        register(TaskType(slug=slug, program=PROGRAM, name=name, form=ScreeningForm,
                          duty="mediation",
                          sensitive_fields=("findings", "follow_up"), public_fields=(),
                          example=example_screening))


@hookimpl
def register_metrics(register):
    register(Metric(slug="households_visited", program=PROGRAM, name="已走访家庭",
                    task_types=("household_visit",), distinct_field="household"))


@hookimpl
def register_schedules(register):
    # cron is in the district's time zone (JIEDUI_TIMEZONE); day_of_week 1 = Monday
    register(Schedule(slug="weekly_village_screening", program=PROGRAM,
                      name="村（社区）周排查", task_type="village_screening", scope="village",
                      cron={"minute": "0", "hour": "9", "day_of_week": "1"}))
    register(Schedule(slug="monthly_town_screening", program=PROGRAM, name="镇街月排查",
                      task_type="town_screening", scope="town",
                      cron={"minute": "0", "hour": "9", "day": "1"}))
    register(Schedule(slug="quarterly_district_analysis", program=PROGRAM, name="区季度研判",
                      task_type="district_analysis", scope="district",
                      cron={"minute": "0", "hour": "9", "day": "1", "month": "1,4,7,10"}))


@hookimpl
def register_blueprints(app):
    app.register_blueprint(bp)  # the register of households, linked from the programme page
