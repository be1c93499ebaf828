"""Forms of programme 7, one per stage of a revision of a village's rules (村规民约):
draft (起草) → legal review (合法性审查) → villagers' assembly vote (村民会议表决) →
filing (备案). Every stage names the rules it is about (``title``, the counted subject),
so the workflow can carry it from one stage to the next."""
from wtforms import Form, RadioField, SelectChoice, SelectField
from wtforms.validators import DataRequired, InputRequired, ValidationError

from core.formkit import checkboxes, past_date, text, text_area, whole_number, yes_no

# The questions the plan asks every revision to settle (DOMAIN.md 六.7).
ISSUES = [SelectChoice("married_out_women", "已嫁未迁女能否享受村集体福利"),
          SelectChoice("remarriage", "再婚人员及其子女的分配"),
          SelectChoice("rural_to_urban", "农转非人员的权益"),
          SelectChoice("fines", "村规民约能否设定罚款"),
          SelectChoice("living_environment", "农村人居环境整治"),
          SelectChoice("other", "其他")]
MEETING_KINDS = [
    SelectChoice("villagers", "村民会议（本村18周岁以上村民过半数参加）"),
    SelectChoice("households", "村民会议（本村三分之二以上的户的代表参加）"),
    SelectChoice("representatives", "村民代表会议（经村民会议授权，三分之二以上组成人员参加）")]
OUTCOMES = [SelectChoice("passed", "通过"), SelectChoice("rejected", "未通过")]
OUTCOME_LABELS = {choice.value: choice.label for choice in OUTCOMES}
MAX_PEOPLE = 100000


def rules_title():
    # The title is the counted subject, distinct across the district: it names the village.
    return text("村规民约名称", DataRequired("请填写村规民约名称，如：东湖村村规民约（2024年修订）"),
                description="写明村（居）名称，如：东湖村村规民约（2024年修订）")


def issues(label):
    return checkboxes(label, ISSUES, invalid="重点问题不在可选范围内，请重新选择")


class DraftForm(Form):
    """起草: the draft, after the villagers' opinions were gathered."""
    title = rules_title()
    drafted_on = past_date("草案完成日期")
    issues = issues("涉及的重点问题")
    main_changes = text_area("主要修订内容", DataRequired("请填写主要修订内容"))
    opinions = text_area("征求意见情况", DataRequired("请填写征求村民意见的情况（方式、人次、主要意见）"),
                         most=1000)


class ReviewForm(Form):
    """合法性审查: is the content lawful and was the procedure regular (内容合法、程序规范)?
    A draft that fails either goes back to drafting."""
    title = rules_title()
    reviewed_on = past_date("审查日期")
    issues = issues("已审查的重点问题")
    content_lawful = yes_no("内容合法（不与宪法、法律法规和国家政策相抵触）",
                            "请选择内容是否合法")
    procedure_regular = yes_no("程序规范（已征求村民意见、经村党组织和村民委员会讨论）",
                               "请选择程序是否规范")
    opinion = text_area("审查意见", DataRequired("请填写审查意见；不合法或不规范的，请写明需修改之处"))

    @property
    def approved(self):
        return self.content_lawful.data == "yes" and self.procedure_regular.data == "yes"


# Quorum of each kind of meeting, as (numerator, denominator, strictly more): the Organic
# Law of Villagers' Committees asks "more than half" of adult villagers, or "two thirds or
# more" of the households or of the representatives; a decision needs more than half of
# those present.
QUORUMS = {"villagers": (1, 2, True), "households": (2, 3, False),
           "representatives": (2, 3, False)}


def has_quorum(kind: str, eligible: int, attended: int) -> bool:
    numerator, denominator, strictly = QUORUMS[kind]
    share, needed = attended * denominator, eligible * numerator
    return share > needed if strictly else share >= needed


def vote_passes(attended: int, in_favour: int) -> bool:
    return in_favour * 2 > attended


class VoteForm(Form):
    """村民会议表决: the meeting that adopts the rules; the figures must bear out the result."""
    title = rules_title()
    voted_on = past_date("表决日期")
    meeting_kind = SelectField("会议形式", choices=MEETING_KINDS,
                               invalid_choice_message="请从列表中选择会议形式")
    eligible = whole_number("应到人数（户数）", 0, MAX_PEOPLE)
    attended = whole_number("实到人数（户数）", 0, MAX_PEOPLE)
    in_favour = whole_number("赞成人数（户数）", 0, MAX_PEOPLE)
    outcome = RadioField("表决结果", choices=OUTCOMES, validators=[InputRequired("请选择表决结果")],
                         invalid_choice_message="表决结果应为“通过”或“未通过”")

    def validate_attended(self, field):
        if self.eligible.data is not None and field.data is not None \
                and field.data > self.eligible.data:
            raise ValidationError("实到人数不能超过应到人数")

    def validate_in_favour(self, field):
        if self.attended.data is not None and field.data is not None \
                and field.data > self.attended.data:
            raise ValidationError("赞成人数不能超过实到人数")

    def validate_outcome(self, field):
        kind, eligible = self.meeting_kind.data, self.eligible.data
        attended, in_favour = self.attended.data, self.in_favour.data
        figures = (self.eligible, self.attended, self.in_favour)
        if kind not in QUORUMS or any(f.data is None or f.errors for f in figures):
            return  # the figures are wrong already: their own errors say so
        if not has_quorum(kind, eligible, attended):
            raise ValidationError("实到人数未达到法定人数，表决无效：请在符合法定人数的会议上重新表决")
        expected = "passed" if vote_passes(attended, in_favour) else "rejected"
        if field.data != expected:
            raise ValidationError(
                f"按实到和赞成人数，表决结果应为“{OUTCOME_LABELS[expected]}”"
                "（须经到会人员过半数同意）")


class FilingForm(Form):
    """备案: the adopted rules are filed with the town government and published."""
    title = rules_title()
    filed_on = past_date("备案日期")
    filed_with = text("备案机关", DataRequired("请填写备案机关，如：东湖镇人民政府"))
    filing_number = text("备案编号", most=64, unit="个字符")
    published = yes_no("已向村（居）民公布", "请选择是否已向村（居）民公布")
