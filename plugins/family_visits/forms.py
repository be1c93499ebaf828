"""Forms of programme 1: the household visit and the three screening reports."""
from wtforms import (BooleanField, Form, IntegerField, SelectChoice, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                StopValidation, ValidationError)
from wtforms.widgets import CheckboxInput, ListWidget
from core.formkit import strip

DISPUTE_TYPES = [SelectChoice("affair", "婚外情"), SelectChoice("domestic_violence", "家庭暴力"),
                 SelectChoice("in_law_conflict", "婆媳矛盾严重"),
                 SelectChoice("long_separation", "因矛盾长期分居"),
                 SelectChoice("third_party", "第三者介入")]
RISK_SIGNS = [SelectChoice("extreme_tendency", "有极端倾向"),
              SelectChoice("mental_disorder", "有精神障碍")]
REFERRALS = [SelectChoice("none", "无需移交"), SelectChoice("police", "公安机关"),
             SelectChoice("court", "人民法院"), SelectChoice("petition", "信访部门")]



def readable(form, field):
    """Stop at "not a number": a range message on top of it would only confuse."""
    if field.process_errors:
        raise StopValidation()


def checkboxes(label: str, choices: list) -> SelectMultipleField:
    """A multi-select shown as a list of checkboxes; none ticked is allowed."""
    return SelectMultipleField(label, choices=choices, validators=[Optional()],
                               widget=ListWidget(prefix_label=False),
                               option_widget=CheckboxInput(),
                               invalid_choice_message=f"{label}不在可选范围内")


class HouseholdVisitForm(Form):
    """走访家庭. The plan asks that every household showing signs of a marriage or family
    dispute be registered case by case in the village's ledger (逐案逐户登记台账)."""
    household = StringField("户主姓名", filters=[strip], validators=[
        DataRequired(message="请填写户主姓名"), Length(max=50, message="户主姓名不超过50个字")])
    address = StringField("住址（村民小组、门牌号）", filters=[strip], validators=[
        Optional(), Length(max=100, message="住址不超过100个字")])
    members = TextAreaField("家庭成员及矛盾当事人", filters=[strip], validators=[
        Optional(), Length(max=500, message="家庭成员情况不超过500个字")])
    dispute_types = checkboxes("矛盾纠纷类型", DISPUTE_TYPES)
    risk_signs = checkboxes("风险苗头", RISK_SIGNS)
    actions = TextAreaField("采取的措施（调解、疏导、普法等）", filters=[strip], validators=[
        DataRequired(message="请填写走访中采取的措施"),
        Length(max=1000, message="采取的措施不超过1000个字")])
    referral = SelectField("移交部门", choices=REFERRALS, default="none",
                           invalid_choice_message="请选择移交部门（无需移交、公安、法院或信访）")
    registered = BooleanField("已逐户登记入婚姻家庭矛盾纠纷台账")

    def validate_registered(self, field):
        if (self.dispute_types.data or self.risk_signs.data) and not field.data:
            raise ValidationError("发现矛盾纠纷或风险苗头的家庭须登记入台账")


class ScreeningForm(Form):
    """周排查 / 月排查 / 季度研判: what the screening of the unit found."""
    findings = TextAreaField("排查情况", filters=[strip], validators=[
        DataRequired(message="请填写排查情况"), Length(max=2000, message="排查情况不超过2000个字")])
    households_flagged = IntegerField(
        "发现矛盾苗头的家庭数",
        validators=[InputRequired(message="请填写发现矛盾苗头的家庭数（没有请填0）"), readable,
                    NumberRange(min=0, max=10000, message="家庭数应为0到10000之间的整数")],
        invalid_value_message="家庭数应为整数")
    # no Optional(): it would stop the chain before validate_follow_up
    follow_up = TextAreaField("后续跟进措施", filters=[strip], validators=[
        Length(max=1000, message="后续跟进措施不超过1000个字")])

    def validate_follow_up(self, field):
        if (self.households_flagged.data or 0) > 0 and not field.data:
            raise ValidationError("发现矛盾苗头的家庭时，请填写后续跟进措施")
