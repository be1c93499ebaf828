"""Forms of programme 1: the household visit and the three screening reports."""
from wtforms import BooleanField, Form, SelectChoice, SelectField
from wtforms.validators import DataRequired, Optional, ValidationError

from core.formkit import checkboxes, text, text_area, whole_number

DISPUTE_TYPES = [SelectChoice("affair", "婚外情"), SelectChoice("domestic_violence", "家庭暴力"),
                 SelectChoice("in_law_conflict", "婆媳矛盾严重"),
                 SelectChoice("long_separation", "因矛盾长期分居"),
                 SelectChoice("third_party", "第三者介入")]
RISK_SIGNS = [SelectChoice("extreme_tendency", "有极端倾向"),
              SelectChoice("mental_disorder", "有精神障碍")]
REFERRALS = [SelectChoice("none", "无需移交"), SelectChoice("police", "公安机关"),
             SelectChoice("court", "人民法院"), SelectChoice("petition", "信访部门")]


class HouseholdVisitForm(Form):
    """走访家庭. The plan asks that every household showing signs of a marriage or family
    dispute be registered case by case in the village's ledger (逐案逐户登记台账)."""
    household = text("户主姓名", DataRequired("请填写户主姓名"), most=50)
    address = text("住址（村民小组、门牌号）", Optional(), name="住址")
    members = text_area("家庭成员及矛盾当事人", Optional(), most=500, name="家庭成员情况")
    dispute_types = checkboxes("矛盾纠纷类型", DISPUTE_TYPES, Optional())
    risk_signs = checkboxes("风险苗头", RISK_SIGNS, Optional())
    actions = text_area("采取的措施（调解、疏导、普法等）", DataRequired("请填写走访中采取的措施"),
                        most=1000, name="采取的措施")
    referral = SelectField("移交部门", choices=REFERRALS, default="none",
                           invalid_choice_message="请选择移交部门（无需移交、公安、法院或信访）")
    registered = BooleanField("已逐户登记入婚姻家庭矛盾纠纷台账")

    def validate_registered(self, field):
        if (self.dispute_types.data or self.risk_signs.data) and not field.data:
            raise ValidationError("发现矛盾纠纷或风险苗头的家庭须登记入台账")


class ScreeningForm(Form):
    """周排查 / 月排查 / 季度研判: what the screening of the unit found."""
    findings = text_area("排查情况", DataRequired("请填写排查情况"))
    households_flagged = whole_number("发现矛盾苗头的家庭数", 0, 10000, name="家庭数",
                                      required="请填写发现矛盾苗头的家庭数（没有请填0）")
    # no Optional(): it would stop the chain before validate_follow_up
    follow_up = text_area("后续跟进措施", most=1000)

    def validate_follow_up(self, field):
        if (self.households_flagged.data or 0) > 0 and not field.data:
            raise ValidationError("发现矛盾苗头的家庭时，请填写后续跟进措施")
