"""Forms of programme 9, one per stage of a classic case: write-up (撰写) → review (审核)
→ publish (发布). Every stage names the case by its title (the counted subject), so the
workflow can carry it from one stage to the next."""
from wtforms import Form, RadioField, SelectChoice, SelectField, URLField
from wtforms.validators import URL, DataRequired, InputRequired, Optional, ValidationError

from core.formkit import checkboxes, past_date, strip, text, text_area, yes_no

CASE_TYPES = [SelectChoice("marriage_family", "婚姻家庭"), SelectChoice("inheritance", "继承"),
              SelectChoice("support", "赡养抚养"), SelectChoice("land_contract", "土地承包经营"),
              SelectChoice("homestead", "宅基地"), SelectChoice("neighbours", "相邻关系"),
              SelectChoice("labour", "劳动争议"), SelectChoice("loans", "民间借贷"),
              SelectChoice("contract", "合同纠纷"), SelectChoice("tort", "人身损害赔偿"),
              SelectChoice("village_affairs", "村务管理"), SelectChoice("legal_aid", "法律援助"),
              SelectChoice("other", "其他")]
DECISIONS = [SelectChoice("approve", "审核通过"), SelectChoice("revise", "退回修改")]
CHANNELS = [SelectChoice("bureau_site", "区司法局网站"), SelectChoice("wechat", "微信公众号"),
            SelectChoice("collection", "经典案例汇编"),
            SelectChoice("notice_board", "村（居）务公开栏"), SelectChoice("other", "其他")]


def case_title():
    return text("案例标题", DataRequired("请填写案例标题"))


def narrative(label, required_message, most=3000):
    return text_area(label, DataRequired(required_message), most=most)


class WriteUpForm(Form):
    """撰写: the case as it will be published, explaining the law through it (以案释法).
    Parties are named by pseudonyms (张某), so no field holds personal data."""
    title = case_title()
    case_type = SelectField("案件类型", choices=CASE_TYPES,
                            invalid_choice_message="请从列表中选择案件类型")
    facts = narrative("基本案情（当事人用化名，如张某）", "请填写基本案情")
    legal_points = narrative("法律要点", "请填写法律要点（争议焦点与法律分析）")
    outcome = narrative("处理结果", "请填写处理结果", most=1000)
    lesson = narrative("以案释法", "请填写以案释法：这个案例告诉村（居）民什么", most=1000)


class ReviewForm(Form):
    """审核: the office checks the write-up; a case goes out only with its parties'
    identities removed. A case sent back is written up again."""
    title = case_title()
    reviewed_on = past_date("审核日期")
    anonymised = yes_no("当事人信息已脱敏", "请选择当事人信息是否已脱敏")
    decision = RadioField("审核结论", choices=DECISIONS,
                          validators=[InputRequired("请选择审核结论")],
                          invalid_choice_message="审核结论应为“审核通过”或“退回修改”")
    opinion = narrative("审核意见", "请填写审核意见；退回修改的，请写明需修改之处", most=1000)

    def validate_decision(self, field):
        if field.data == "approve" and self.anonymised.data != "yes":
            raise ValidationError("当事人信息未脱敏的案例不能审核通过，请退回修改")


class PublishForm(Form):
    """发布: where and when the reviewed case was published."""
    title = case_title()
    published_on = past_date("发布日期")
    channels = checkboxes("发布渠道", CHANNELS, DataRequired("请至少选择一个发布渠道"),
                          invalid="发布渠道不在可选范围内，请重新选择")
    link = URLField("链接", filters=[strip], validators=[
        Optional(), URL(message="链接应为完整网址，如 https://mp.weixin.qq.com/s/…")])
