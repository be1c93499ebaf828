"""Programme 4: serve 100+ rural enterprises (服务100+乡村企业).

Counts the distinct enterprises served (metric ``enterprises_served``) across the plan's
four forms of service — visit, forum, training and legal health check (走访+座谈+培训+体检):
an enterprise visited and then given a health check counts once. The health check records
the risk points found (survival, development, financing, hiring, disputes, IP,
compliance), the rectification advice and the follow-up date.
"""
from core import Metric, Program, TaskType, hookimpl

from .forms import (CODE_ALPHABET, DIFFICULTIES, RISK_POINTS, EnterpriseForumForm,
                    EnterpriseTrainingForm, EnterpriseVisitForm, LegalHealthCheckForm,
                    code_check_char)

PROGRAM = "rural_enterprises"
TASK_TYPES = ("enterprise_visit", "enterprise_forum", "enterprise_training",
              "legal_health_check")

PLACES = ["青溪", "石桥", "柳湾", "东湖", "西山", "杏林", "桃源", "南塘"]
TRADES = [("农产品加工", "有限公司"), ("生态农业", "专业合作社"), ("竹木制品", "有限公司"),
          ("乡村旅游", "开发有限公司"), ("茶叶", "种植专业合作社"), ("建材", "有限公司"),
          ("电商", "服务有限公司"), ("食品", "有限公司")]
SERVICES = ["审查企业购销合同模板，提示违约责任条款风险。", "解答劳动合同签订及社保缴纳问题。",
            "协助梳理应收账款，发送律师函催收欠款。", "讲解商标注册与品牌保护要点。"]
TOPICS = ["民营企业法律风险防范", "劳动用工合规", "合同管理与纠纷预防", "知识产权保护",
          "融资担保法律风险"]
ADVICE = "建议完善劳动合同与规章制度，规范合同审批流程，建立知识产权台账。"


def credit_code(rng) -> str:
    first17 = "91" + rng.choice(("330106", "320583", "510112", "410184")) + "".join(
        rng.choice(CODE_ALPHABET) for _ in range(9))
    return first17 + code_check_char(first17)


def enterprise(rng) -> dict:
    trade, suffix = rng.choice(TRADES)
    data = {"enterprise": f"{rng.choice(PLACES)}{trade}{suffix}"}
    if rng.random() < 0.6:
        data["credit_code"] = credit_code(rng)
    return data


def example_visit(rng) -> dict:
    return {**enterprise(rng), "services": rng.choice(SERVICES),
            "difficulties": rng.sample([c.value for c in DIFFICULTIES], rng.randint(0, 2))}


def example_forum(rng) -> dict:
    return {**enterprise(rng), "topic": rng.choice(TOPICS),
            "participants": str(rng.randint(5, 40)),
            "summary": "座谈了解企业经营中的法律需求，现场解答问题，收集意见建议。"}


def example_training(rng) -> dict:
    return {**enterprise(rng), "topic": rng.choice(TOPICS),
            "attendees": str(rng.randint(10, 120)),
            "content": "结合典型案例讲解企业常见法律风险及防范措施。"}


def example_health_check(rng) -> dict:
    risks = rng.sample([c.value for c in RISK_POINTS], rng.randint(0, 3))
    data = {**enterprise(rng), "risk_points": risks}
    if risks:
        data["advice"] = ADVICE
        data["follow_up_on"] = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return data


@hookimpl
def register_programs(register):
    register(Program(slug=PROGRAM, name="服务100+乡村企业", name_en="Serve 100+ rural enterprises",
                     description="通过“走访+座谈+培训+体检”帮助乡村企业解决生存、发展、融资、"
                                 "用工、纠纷处理和知识产权保护等难题，参与企业合规工作。",
                     order=4))


@hookimpl
def register_task_types(register):
    # The enterprise and what kind of service it had are public; the free text (the
    # services given, the forum's minutes, the training's content, the advice) may name a
    # worker in a dispute or an owner's affairs, and is not.
    enterprise = ("enterprise", "credit_code")
    for slug, name, form, example, public in (
            ("enterprise_visit", "走访企业", EnterpriseVisitForm, example_visit,
             (*enterprise, "difficulties")),
            ("enterprise_forum", "企业座谈", EnterpriseForumForm, example_forum,
             (*enterprise, "topic", "participants")),
            ("enterprise_training", "企业培训", EnterpriseTrainingForm, example_training,
             (*enterprise, "topic", "attendees")),
            ("legal_health_check", "企业法律体检", LegalHealthCheckForm, example_health_check,
             (*enterprise, "risk_points", "follow_up_on"))):
        register(TaskType(slug=slug, program=PROGRAM, name=name, form=form,
                          subject_field="enterprise", public_fields=public, example=example,
                          duty="other"))  # 四.10: the village's other legal matters


@hookimpl
def register_metrics(register):
    register(Metric(slug="enterprises_served", program=PROGRAM, name="已服务乡村企业",
                    task_types=TASK_TYPES, distinct_field="enterprise"))
