"""Programme 2: handle 100+ legal-aid cases (办理100+法援案件).

Counts cases (metric ``aid_cases``): distinct case numbers of done ``aid_case`` tasks, so
a case reported again at a later stage counts once. A case records the applicant (受援人),
the vulnerable groups they belong to, whether it is early intervention in a
non-litigation dispute or litigation agency, its stage and its outcome. The case number,
the applicant, the groups, the matter and the outcome (with the sum awarded) are
sensitive; only the way the case is handled and its stage are public.
"""
from wtforms import Form, SelectChoice, SelectField
from wtforms.validators import DataRequired, ValidationError

from core import Metric, Program, TaskType, hookimpl
from core.formkit import checkboxes, text, text_area

PROGRAM = "legal_aid"
GROUPS = [SelectChoice("elderly", "老年人"), SelectChoice("women", "妇女"),
          SelectChoice("minors", "未成年人"), SelectChoice("disabled", "残疾人"),
          SelectChoice("migrant_workers", "农民工"),
          SelectChoice("poverty", "经济困难群众（低保、特困）"),
          SelectChoice("veterans", "军人军属、退役军人"), SelectChoice("other", "其他")]
KINDS = [SelectChoice("non_litigation", "非诉纠纷（提前介入）"),
         SelectChoice("litigation", "诉讼代理")]
STAGES = [SelectChoice("intake", "受理"), SelectChoice("mediation", "调解"),
          SelectChoice("agency", "代理"), SelectChoice("closed", "结案")]


class AidCaseForm(Form):
    case_number = text("案件编号", DataRequired("请填写法律援助案件编号"), most=64,
                       unit="个字符")
    applicant = text("受援人姓名", DataRequired("请填写受援人姓名"), most=50)
    groups = checkboxes("受援人所属群体", GROUPS, DataRequired("请至少选择一个受援人所属群体"))
    matter = text("案由", DataRequired("请填写案由（如：追索劳动报酬、赡养纠纷）"))
    kind = SelectField("办理方式", choices=KINDS,
                       invalid_choice_message="请选择办理方式：非诉纠纷或诉讼代理")
    stage = SelectField("办理阶段", choices=STAGES,
                        invalid_choice_message="请选择办理阶段：受理、调解、代理或结案")
    outcome = text_area("办理结果", most=1000)

    def validate_outcome(self, field):
        if self.stage.data == "closed" and not field.data:
            raise ValidationError("结案的案件请填写办理结果")


MATTERS = ["追索劳动报酬", "工伤赔偿", "赡养纠纷", "抚养费纠纷", "离婚纠纷", "交通事故损害赔偿",
           "土地承包经营权纠纷", "宅基地纠纷", "民间借贷纠纷", "人身损害赔偿"]
OUTCOMES = ["经调解双方达成协议，受援人获赔{n}元。", "一审判决支持受援人诉讼请求，判赔{n}元。",
            "对方当庭履行，受援人获付劳动报酬{n}元。", "达成和解，对方分期支付{n}元。"]
NAMES = ["王桂兰", "李志强", "张秀英", "刘德明", "陈玉梅", "杨国庆", "黄春花", "赵永刚",
         "吴丽娟", "周卫东", "徐红霞", "孙金龙", "马淑珍", "朱宏伟", "胡小燕", "郭文斌"]


def example(rng) -> dict:
    stage = rng.choice([c.value for c in STAGES])
    data = {
        "case_number": f"（{rng.choice((2024, 2025))}）法援字第{rng.randint(1, 999):03d}号",
        "applicant": rng.choice(NAMES),
        "groups": rng.sample([c.value for c in GROUPS[:-1]], rng.choice((1, 1, 2))),
        "matter": rng.choice(MATTERS),
        "kind": rng.choice([c.value for c in KINDS]),
        "stage": stage,
    }
    if stage == "closed":
        data["outcome"] = rng.choice(OUTCOMES).format(n=rng.randrange(3000, 200000, 500))
    return data


@hookimpl
def register_programs(register):
    register(Program(slug=PROGRAM, name="办理100+法援案件", name_en="Handle 100+ legal-aid cases",
                     description="通过提前介入非诉纠纷和代理诉讼纠纷，为老年人、妇女、未成年人、"
                                 "残疾人、农民工等弱势群体提供法律援助，应援尽援。",
                     order=2))


@hookimpl
def register_task_types(register):
    # The case number finds the case file, the groups (a disabled person, a minor) and the
    # matter name the applicant in a village, the outcome says what they were awarded:
    # all sensitive. Only how the case is handled and its stage are public.
    register(TaskType(slug="aid_case", program=PROGRAM, name="法律援助案件", duty="legal_aid",
                      form=AidCaseForm,
                      subject_field="case_number",
                      sensitive_fields=("case_number", "applicant", "groups", "matter",
                                        "outcome"),
                      public_fields=("kind", "stage"), example=example))


@hookimpl
def register_metrics(register):
    register(Metric(slug="aid_cases", program=PROGRAM, name="已办理法援案件",
                    task_types=("aid_case",), distinct_field="case_number"))
