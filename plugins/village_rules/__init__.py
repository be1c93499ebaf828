"""Programme 7: revise 100+ village rules (修订100+村规民约).

A revision of a village's rules moves through four stages, one task type each:
draft (起草) → legal review (合法性审查) → villagers' assembly vote (村民会议表决) →
filing (备案). Completing a stage assigns the next one to the same village and lawyer
(``task_completed``): a review that finds the content unlawful or the procedure irregular,
or a vote that does not pass, sends the revision back to drafting.

What it counts: ``rules_filed`` is the number of distinct rules (by title, the subject of
every stage) whose filing stage is done. Drafts, reviews and votes do not count: a
revision counts once it is adopted and filed. The title names the village (东湖村村规民约
（2024年修订）), so one village's rules filed twice count once and two villages' rules
count twice.
"""
from core import Metric, Program, Stage, Workflow, hookimpl, today
from core.formkit import recent_date

from .forms import (ISSUES, MEETING_KINDS, DraftForm, FilingForm, ReviewForm, VoteForm,
                    vote_passes)

PROGRAM = "village_rules"


# --- examples (demo data and tests) ---------------------------------------------------

# Places of made-up villages (东湖村, 后湾社区 …): enough of them for a demo's hundred rules.
PLACE_FIRST = "东西南北新老上下前后"
PLACE_SECOND = "湖山塘桥庄岗坪湾河林"
ISSUE_VALUES = [choice.value for choice in ISSUES]


def _title(rng) -> str:
    place = rng.choice(PLACE_FIRST) + rng.choice(PLACE_SECOND)
    rules = "社区居民公约" if rng.random() < 0.2 else "村村规民约"
    return f"{place}{rules}（{today().year - rng.randint(0, 1)}年修订）"


def example_draft(rng) -> dict:
    issues = rng.sample(ISSUE_VALUES[:-1], rng.randint(1, 3))
    changes = {"married_out_women": "明确已嫁未迁女在户籍未迁出期间平等享受集体收益分配",
               "remarriage": "再婚人员及其随迁子女按户籍和实际居住享受分配",
               "rural_to_urban": "农转非人员不再参与新增集体收益分配，已分配部分不予追回",
               "fines": "删除原第十二条罚款规定，改为批评教育、公示通报等自治措施",
               "living_environment": "增加门前三包、垃圾分类和禁止乱搭乱建的约定"}
    return {"title": _title(rng), "drafted_on": recent_date(rng, 120),
            "issues": issues, "main_changes": "；".join(changes[i] for i in issues) + "。",
            "opinions": f"召开村民小组会议{rng.randint(3, 9)}次，入户征求意见{rng.randint(60, 400)}户，"
                        f"收集意见建议{rng.randint(5, 40)}条。"}


def example_review(rng) -> dict:
    approved = rng.random() < 0.8
    return {"title": _title(rng), "reviewed_on": recent_date(rng, 120),
            "issues": rng.sample(ISSUE_VALUES[:-1], rng.randint(1, 4)),
            "content_lawful": "yes" if approved else "no",
            "procedure_regular": "yes" if approved or rng.random() < 0.5 else "no",
            "opinion": "内容合法，程序规范，同意提交村民会议表决。" if approved else
                       "第十二条设定罚款，超出村民自治范围，应予删除；修改后重新提交审查。"}


def example_vote(rng) -> dict:
    kind = rng.choice([choice.value for choice in MEETING_KINDS])
    eligible = rng.randint(30, 60) if kind == "representatives" else rng.randint(200, 1500)
    attended = rng.randint(-(-eligible * 2 // 3) + 1, eligible)  # above every quorum
    in_favour = rng.randint(attended // 2 + 1, attended) if rng.random() < 0.9 \
        else rng.randint(0, attended // 2)
    return {"title": _title(rng), "voted_on": recent_date(rng, 120), "meeting_kind": kind,
            "eligible": eligible, "attended": attended, "in_favour": in_favour,
            "outcome": "passed" if vote_passes(attended, in_favour) else "rejected"}


def example_filing(rng) -> dict:
    town = rng.choice(["东湖镇", "西山街道", "城关镇", "南岭镇"])
    return {"title": _title(rng), "filed_on": recent_date(rng, 60), "filed_with": f"{town}人民政府",
            "filing_number": f"{town[:2]}备〔{today().year}〕{rng.randint(1, 60)}号",
            "published": rng.choice(["yes", "yes", "yes", "no"])}


def _after_review(data: dict) -> str:
    lawful = data.get("content_lawful") == "yes" and data.get("procedure_regular") == "yes"
    return "rule_vote" if lawful else "rule_draft"


# The stages, and what a village's users and another lawyer see of each: the village's
# rules are public, and so is every step of adopting them, except how the villagers'
# opinions were gathered (it may name who said what). A review that finds a fault or a
# vote that fails sends the revision back to drafting; nothing follows the filing.
WORKFLOW = Workflow(PROGRAM, [
    Stage("rule_draft", "起草村规民约", DraftForm, days=30, then="rule_review",
          public_fields=("title", "drafted_on", "issues", "main_changes"),
          example=example_draft),
    Stage("rule_review", "村规民约合法性审查", ReviewForm, days=15, then=_after_review,
          public_fields=("title", "reviewed_on", "issues", "content_lawful",
                         "procedure_regular", "opinion"), example=example_review),
    Stage("rule_vote", "村民会议表决", VoteForm, days=30,
          then=lambda data: "rule_filing" if data.get("outcome") == "passed" else "rule_draft",
          public_fields=("title", "voted_on", "meeting_kind", "eligible", "attended",
                         "in_favour", "outcome"), example=example_vote),
    Stage("rule_filing", "村规民约备案", FilingForm, days=15,
          public_fields=("title", "filed_on", "filed_with", "filing_number", "published"),
          example=example_filing),
], duty="rules")  # 四.1


# --- hooks ------------------------------------------------------------------------------

@hookimpl
def register_programs(register):
    register(Program(slug=PROGRAM, name="修订100+村规民约", name_en="Revise 100+ village rules",
                     description="就已嫁未迁女、再婚分配、农转非、能否设定罚款、人居环境整治等问题，"
                                 "制定内容合法、程序规范、切实可行的村规民约。",
                     order=7))


@hookimpl
def register_task_types(register):
    WORKFLOW.register_task_types(register)


@hookimpl
def register_metrics(register):
    register(Metric(slug="rules_filed", program=PROGRAM, name="已备案村规民约",
                    task_types=("rule_filing",), distinct_field="title"))


@hookimpl
def task_completed(task):
    WORKFLOW.task_completed(task)  # the next stage, to the same village and lawyer
