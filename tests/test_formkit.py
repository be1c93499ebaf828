"""core.formkit: the form pieces the programmes share, each with the messages the
programmes' tests pin (tests/test_program_*.py)."""
import datetime as dt
import random

from werkzeug.datastructures import MultiDict
from wtforms import DateField, Form
from wtforms.validators import DataRequired, Optional

from core.clock import today
from core.formkit import (YES_NO, NotInFuture, checkboxes, past_date, recent_date, text,
                          text_area, village_choices, whole_number, yes_no)
from core.testing import form_errors

DAY = dt.timedelta(days=1)


class Sample(Form):
    name = text("户主姓名", DataRequired("请填写户主姓名"), most=5)
    code = text("案件编号", most=3, unit="个字符")
    notes = text_area("采取的措施（调解等）", Optional(), most=4, name="采取的措施")
    count = whole_number("参加人数", 1, 10)
    flagged = whole_number("发现矛盾苗头的家庭数", 0, 9, name="家庭数", required="没有请填0")
    held_on = past_date("培训日期")
    published_on = past_date("发布日期", future="发布日期不能晚于今天：请在视频发布后填写")
    kinds = checkboxes("矛盾纠纷类型", YES_NO, Optional())
    channels = checkboxes("发布渠道", YES_NO, DataRequired("请至少选择一个发布渠道"),
                          invalid="发布渠道不在可选范围内，请重新选择")
    agreed = yes_no("当事人信息已脱敏", "请选择当事人信息是否已脱敏")


def good(**changes):
    yesterday = (today() - DAY).isoformat()
    return {"name": " 王家 ", "code": "", "notes": "", "count": "3", "flagged": "0",
            "held_on": yesterday, "published_on": yesterday, "channels": ["yes"],
            "agreed": "no", **changes}


def test_good_data_passes_and_text_is_stripped():
    assert form_errors(Sample, good()) == {}
    assert Sample(MultiDict(good())).name.data == "王家"


def test_every_piece_says_what_is_wrong_in_its_own_words():
    tomorrow = (today() + DAY).isoformat()
    assert form_errors(Sample, good(name="", code="abcd", notes="12345", count="", flagged="")) \
        == {"name": ["请填写户主姓名"], "code": ["案件编号不超过3个字符"],
            "notes": ["采取的措施不超过4个字"], "count": ["请填写参加人数"],
            "flagged": ["没有请填0"]}
    assert form_errors(Sample, good(count="x", flagged="10", held_on="2024/5/20")) == {
        "count": ["参加人数应为整数"], "flagged": ["家庭数应为0到9之间的整数"],
        "held_on": ["培训日期格式应为 年-月-日，如 2024-05-20"]}
    assert form_errors(Sample, good(held_on=tomorrow, published_on=tomorrow)) == {
        "held_on": ["培训日期不能晚于今天"],
        "published_on": ["发布日期不能晚于今天：请在视频发布后填写"]}
    assert form_errors(Sample, good(kinds=["maybe"], channels=[], agreed="")) == {
        "kinds": ["矛盾纠纷类型不在可选范围内"], "channels": ["请至少选择一个发布渠道"],
        "agreed": ["请选择当事人信息是否已脱敏"]}
    assert form_errors(Sample, good(channels=["maybe"], agreed="perhaps")) == {
        "channels": ["发布渠道不在可选范围内，请重新选择"], "agreed": ["请选择“是”或“否”"]}


def test_not_in_future_passes_today_and_an_empty_date():
    class Day(Form):
        day = past_date("日期")
        other = DateField("其他", validators=[NotInFuture()])
    assert form_errors(Day, {"day": today().isoformat()}) == {}
    assert form_errors(Day, {"day": today().isoformat(),
                             "other": (today() + DAY).isoformat()}) == \
        {"other": ["其他不能晚于今天"]}


def test_recent_date_is_a_past_day_within_the_range():
    days = {recent_date(random.Random(seed), 3) for seed in range(50)}
    assert days == {(today() - n * DAY).isoformat() for n in (1, 2, 3)}


def test_village_choices_are_the_districts_villages_by_town(district):
    choices = village_choices()
    assert [c.value for c in choices] == [v.code for v in district.villages]
    assert choices[0].label == "东湖镇 · 东湖1村"
