"""Programme 9: compile 100+ classic cases (汇编100+经典案例).

A classic case — explaining the law through a real case of the village (以案释法) — moves
through three stages, one task type each: write-up (撰写) → review (审核) → publish
(发布). Completing a stage assigns the next one to the same village and lawyer
(``task_completed``); a review that sends the case back assigns a new write-up, filled in
with the previous text.

What it counts: ``cases_published`` is the number of distinct cases (by title, the subject
of every stage, in each village) whose publish stage is done. The collection (汇编) of
the published cases is a .docx built from exactly those tasks (``core.counted_tasks``), so
it holds the number the progress page shows: ``GET
/programmes/classic_cases/collection.docx?year=YYYY`` (admins and coordinators, over their
scope; linked from the programme's page for the year shown) or ``jiedui cases-export FILE``
(the district).
"""
from io import BytesIO
from pathlib import Path

import click
from flask import Blueprint, request, send_file
from flask_login import current_user

from core import READERS, Metric, Program, Stage, Workflow, allow, connect, hookimpl
from core.formkit import recent_date

from .collection import DOCX_MIMETYPE, build_collection, latest_writeups
from .forms import CHANNELS, PublishForm, ReviewForm, WriteUpForm

PROGRAM = "classic_cases"


def _previous_text(title: str) -> dict | None:
    """A write-up sent back starts from the text that was reviewed."""
    previous = latest_writeups([title]).get(title)
    return dict(previous.data) if previous is not None else None


# --- the collection, on the web and on the command line ---------------------------------

bp = Blueprint(PROGRAM, __name__, url_prefix="/programmes/classic_cases",
               template_folder="templates")


@bp.route("/collection.docx")
@allow(*READERS)
def collection_docx():
    # The cases the coordinator's progress page counts: their scope, the year asked for.
    year = request.args.get("year", type=int)
    name = f"经典案例汇编{year or ''}.docx"
    body = build_collection(year, current_user.user)
    return send_file(BytesIO(body), mimetype=DOCX_MIMETYPE,
                     as_attachment=True, download_name=name)


def _export(path, year):
    """Write the collection to ``path``; the command opens the database as core commands do."""
    connect()
    Path(path).write_bytes(build_collection(year))
    click.echo(f"collection written to {path}")


# --- examples (demo data and tests) -----------------------------------------------------

# (title, type, facts, legal points, outcome, lesson); {a} and {b} are the parties'
# pseudonyms (王某, 李某), as a published case names them.
CASES = [
    ("{a}某诉村民小组土地征收补偿款分配纠纷案", "land_contract",
     "{a}某婚后户籍仍在本村，村民小组以其已出嫁为由拒绝分给土地征收补偿款。",
     "户籍在本村、未取得其他集体经济组织成员资格的妇女，享有平等的集体收益分配权。",
     "经律师调解，村民小组按人均标准向{a}某补发补偿款。",
     "村规民约和村民会议决定不得以婚嫁为由侵害妇女的合法权益。"),
    ("{a}某与子女赡养纠纷调解案", "support",
     "{a}某年逾八旬，三个子女互相推诿，均不愿承担赡养费用。",
     "成年子女对父母负有赡养扶助的义务，不因分家、继承份额等理由免除。",
     "在村调委会和律师主持下，三子女签订赡养协议，按月轮流支付赡养费。",
     "赡养父母是法定义务，不能附加条件，也不能以放弃继承权为由推脱。"),
    ("{a}某与{b}某相邻通行纠纷案", "neighbours",
     "{a}某翻建房屋时砌墙堵住了邻居{b}某家唯一的出入通道，双方多次争吵。",
     "不动产相邻权利人应当为相邻方的通行提供必要便利。",
     "{a}某拆除部分围墙，留出一米五宽通道，双方握手言和。",
     "处理相邻关系应本着有利生产、方便生活、团结互助、公平合理的原则。"),
    ("{a}某等六名农民工追讨劳动报酬案", "labour",
     "{a}某等六人在某工地务工半年，包工头{b}某以工程款未结清为由拖欠工资。",
     "施工总承包单位对分包单位拖欠农民工工资承担清偿责任。",
     "律师协助申请法律援助并向劳动保障监察部门投诉，六人全额拿回工资。",
     "讨薪要保留考勤、转账记录等证据，通过合法途径维权，切勿采取过激行为。"),
    ("{a}某诉{b}某民间借贷纠纷案", "loans",
     "{a}某借给同村{b}某五万元，未写借条，{b}某事后否认借款。",
     "借贷关系可以通过转账记录、聊天记录等证据证明；主张权利的一方负举证责任。",
     "{a}某凭银行转账记录和微信聊天记录起诉，法院判决{b}某还款。",
     "借钱给他人要写借条、走转账，保存好证据。"),
    ("{a}某等村民与某合作社土地经营权流转合同纠纷案", "contract",
     "某合作社承包{a}某等村民的土地种植果树，三年未付流转费。",
     "土地经营权流转合同依法成立即受法律保护，受让方应按约支付流转费。",
     "经村委会和律师协调，合作社分两期付清欠款并续签合同。",
     "流转土地要签书面合同，写明期限、价款和违约责任。"),
    ("{a}某遗产继承分割纠纷案", "inheritance",
     "{a}某去世后未留遗嘱，其子女与再婚配偶{b}某就房屋继承发生争议。",
     "再婚配偶属于第一顺序继承人，与子女同等享有继承权。",
     "经调解，各继承人按法定份额分割房屋，由{b}某继续居住。",
     "再婚家庭可通过遗嘱或协议提前安排财产，减少纠纷。"),
    ("{a}某等村民要求公开集体资产收益纠纷案", "village_affairs",
     "{a}某等村民对村集体资产出租收入去向提出质疑，多次到镇里反映。",
     "村民委员会应当及时公布集体财务收支情况，接受村民监督。",
     "村委会在律师指导下逐项公开账目，召开村民代表会议作出说明，矛盾化解。",
     "村务公开是村民的知情权，也是化解集体经济矛盾的有效办法。"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"


def _case(rng) -> list[str]:
    """One of CASES, its parties given pseudonyms."""
    a, b = rng.sample(SURNAMES, 2)
    return [text.format(a=a, b=b) for text in rng.choice(CASES)]


def _title(rng) -> str:
    return _case(rng)[0]


def example_writeup(rng) -> dict:
    title, case_type, facts, points, outcome, lesson = _case(rng)
    return {"title": title, "case_type": case_type, "facts": facts,
            "legal_points": points, "outcome": outcome, "lesson": lesson}


def example_review(rng) -> dict:
    approved = rng.random() < 0.8
    return {"title": _title(rng), "reviewed_on": recent_date(rng, 120),
            "anonymised": "yes" if approved or rng.random() < 0.5 else "no",
            "decision": "approve" if approved else "revise",
            "opinion": "案情清楚，法律分析准确，当事人信息已脱敏，同意发布。" if approved else
                       "法律要点引用条文不够准确，请补充依据后重新提交。"}


def example_publish(rng) -> dict:
    channels = rng.sample([choice.value for choice in CHANNELS[:-1]], rng.randint(1, 3))
    data = {"title": _title(rng), "published_on": recent_date(rng, 60), "channels": channels}
    if "wechat" in channels:
        data["link"] = f"https://mp.weixin.qq.com/s/{rng.getrandbits(64):016x}"
    return data


# What a village's users and another lawyer see of each stage. A write-up tells a real
# case, and until the review it may still name the parties: its narrative (facts, legal
# points, outcome, lesson) and the reviewer's opinion are not public; the title, the kind
# of case, the review's verdict and where the case was published are. A review that sends
# the case back assigns a new write-up, filled in with the reviewed text.
WORKFLOW = Workflow(PROGRAM, [
    Stage("case_writeup", "撰写经典案例", WriteUpForm, days=30, then="case_review",
          public_fields=("title", "case_type"), example=example_writeup,
          prefill=_previous_text),
    Stage("case_review", "审核经典案例", ReviewForm, days=15,
          then=lambda data: "case_publish" if data.get("decision") == "approve" else "case_writeup",
          public_fields=("title", "reviewed_on", "anonymised", "decision"),
          example=example_review),
    Stage("case_publish", "发布经典案例", PublishForm, days=15,
          public_fields=("title", "published_on", "channels", "link"),
          example=example_publish),
], duty="publicity")  # 以案释法: explaining the law through cases (四.2)


# --- hooks ------------------------------------------------------------------------------

@hookimpl
def register_programs(register):
    register(Program(slug=PROGRAM, name="汇编100+经典案例", name_en="Compile 100+ classic cases",
                     description="以“以案释法”的形式汇编典型案例，为全区村（居）法律服务工作"
                                 "提供可推广借鉴的经验。",
                     order=9))


@hookimpl
def register_task_types(register):
    WORKFLOW.register_task_types(register)


@hookimpl
def register_metrics(register):
    register(Metric(slug="cases_published", program=PROGRAM, name="已发布经典案例",
                    task_types=("case_publish",), distinct_field="title"))


@hookimpl
def task_completed(task):
    WORKFLOW.task_completed(task)  # the next stage, to the same village and lawyer


@hookimpl
def register_blueprints(app):
    app.register_blueprint(bp)


@hookimpl
def register_commands(cli):
    @cli.command(name="cases-export")
    @click.argument("path", type=click.Path(dir_okay=False, writable=True))
    @click.option("--year", type=int, help="Only the cases published in this year.")
    def cases_export(path, year):
        """Export the published classic cases (经典案例汇编) to a .docx file."""
        _export(path, year)
