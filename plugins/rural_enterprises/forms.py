"""Forms of programme 4: every form starts with the enterprise served (the subject)."""
from wtforms import DateField, Form, SelectChoice, StringField
from wtforms.validators import DataRequired, Optional, ValidationError

from core.formkit import checkboxes, strip, text, text_area, whole_number

# The plan's six difficulties (生存难、发展难、融资难、用工难、纠纷处理难、知识产权保护难),
# plus compliance, which the legal health check also covers.
DIFFICULTIES = [SelectChoice("survival", "生存"), SelectChoice("development", "发展"),
                SelectChoice("financing", "融资"), SelectChoice("hiring", "用工"),
                SelectChoice("disputes", "纠纷处理"), SelectChoice("ip", "知识产权保护")]
RISK_POINTS = DIFFICULTIES + [SelectChoice("compliance", "合规管理")]

# GB 32100-2015: 18 characters from this alphabet (no I, O, Z, S, V), the last a check.
CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def code_check_char(first17: str) -> str:
    total = sum(CODE_ALPHABET.index(c) * w for c, w in zip(first17, CODE_WEIGHTS))
    return CODE_ALPHABET[(31 - total % 31) % 31]


def upper(value):
    return value.upper() if isinstance(value, str) else value


class EnterpriseForm(Form):
    """The enterprise served; its unified social credit code is optional."""
    enterprise = text("企业名称", DataRequired("请填写企业名称"))
    credit_code = StringField("统一社会信用代码（选填）", filters=[strip, upper],
                              validators=[Optional()])

    def validate_credit_code(self, field):
        code = field.data
        if len(code) != 18:
            raise ValidationError("统一社会信用代码应为18位")
        if any(c not in CODE_ALPHABET for c in code):
            raise ValidationError("统一社会信用代码只含数字和大写字母（不含I、O、Z、S、V）")
        if code_check_char(code[:17]) != code[17]:
            raise ValidationError("统一社会信用代码校验位不正确，请核对")


class EnterpriseVisitForm(EnterpriseForm):
    difficulties = checkboxes("企业反映的困难", DIFFICULTIES, Optional())
    services = text_area("提供的法律服务", DataRequired("请填写走访中提供的法律服务"), most=1000,
                         name="法律服务内容")


class EnterpriseForumForm(EnterpriseForm):
    topic = text("座谈主题", DataRequired("请填写座谈主题"))
    participants = whole_number("参加人数", 1, 10000)
    summary = text_area("座谈纪要", DataRequired("请填写座谈纪要"))


class EnterpriseTrainingForm(EnterpriseForm):
    topic = text("培训主题", DataRequired("请填写培训主题"))
    attendees = whole_number("参训人数", 1, 10000)
    content = text_area("培训内容", DataRequired("请填写培训内容"))


class LegalHealthCheckForm(EnterpriseForm):
    """法律体检: the risk points found, and how and when their rectification is followed up."""
    risk_points = checkboxes("发现的风险点", RISK_POINTS, Optional())
    advice = text_area("整改建议")
    follow_up_on = DateField("整改跟进日期", validators=[Optional()],
                             invalid_value_message="整改跟进日期格式应为 年-月-日")

    def validate(self, extra_validators=None):
        # Optional() ends a field's own checks when it is empty, so the rule that found
        # risks need advice and a follow-up date is checked here, across fields.
        valid = super().validate(extra_validators)
        if self.risk_points.data and not self.risk_points.errors:
            if not self.advice.data:
                self.advice.errors.append("发现风险点时请填写整改建议")
                valid = False
            if self.follow_up_on.data is None and not self.follow_up_on.errors:
                self.follow_up_on.errors.append("发现风险点时请填写整改跟进日期")
                valid = False
        return valid
