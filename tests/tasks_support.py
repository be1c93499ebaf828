"""A small programme plugin for the core task tests (tests/test_tasks.py, test_progress.py,
test_ledger.py, test_schedules.py), registered in-process with only it loaded
(``core.testing.alone``), so the tests do not depend on the ten real programmes."""
import datetime as dt
import pytest
from wtforms import (BooleanField, DecimalField, Form, IntegerField, SelectChoice, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.fields import DateField
from wtforms.validators import DataRequired, NumberRange, Optional

from core import Metric, Program, Schedule, TaskType, hookimpl
from core.testing import alone

PROGRAM = "test_visits"
DISPUTES = [SelectChoice("affair", "婚外情"), SelectChoice("violence", "家庭暴力"),
            SelectChoice("in_law", "婆媳矛盾")]


class VisitForm(Form):
    household = StringField("户主", validators=[DataRequired()])
    members = IntegerField("家庭人数", validators=[DataRequired(), NumberRange(min=1, max=30)])
    visited_on = DateField("走访日期", validators=[DataRequired()])
    disputes = SelectMultipleField("矛盾类型", choices=DISPUTES, validators=[Optional()])
    referral = SelectField("转介", choices=[SelectChoice("none", "无"), SelectChoice("police", "派出所")])
    urgent = BooleanField("紧急")
    allowance = DecimalField("补助金额", places=2, validators=[Optional()])
    person = StringField("当事人姓名")
    notes = TextAreaField("情况记录")


class FollowUpForm(Form):
    household = StringField("户主", validators=[DataRequired()])
    outcome = StringField("回访结果", validators=[DataRequired()])


class ReviewForm(Form):
    summary = TextAreaField("研判意见", validators=[DataRequired()])


def visit_example(rng):
    return {"household": f"户{rng.randint(1, 999)}", "members": rng.randint(1, 6),
            "visited_on": dt.date(2026, 3, rng.randint(1, 28)), "disputes": ["in_law"],
            "referral": "none", "urgent": False, "person": "某某", "notes": "见面谈话"}


class VisitsPlugin:
    """One programme with three task types, three metrics and three schedules."""

    def __init__(self, schedules=True):
        self.with_schedules = schedules

    @hookimpl
    def register_programs(self, register):
        register(Program(slug=PROGRAM, name="测试走访", order=1))

    @hookimpl
    def register_task_types(self, register):
        register(TaskType(slug="test_visit", program=PROGRAM, name="走访家庭", form=VisitForm,
                          subject_field="household", sensitive_fields=("person", "notes"),
                          example=visit_example))
        register(TaskType(slug="test_followup", program=PROGRAM, name="回访", form=FollowUpForm,
                          subject_field="household"))
        register(TaskType(slug="test_review", program=PROGRAM, name="研判", form=ReviewForm))

    @hookimpl
    def register_metrics(self, register):
        register(Metric(slug="test_households", program=PROGRAM, name="已走访家庭",
                        task_types=("test_visit", "test_followup"), distinct_field="household"))
        register(Metric(slug="test_visit_count", program=PROGRAM, name="走访次数",
                        task_types=("test_visit",), target=50))
        register(Metric(slug="test_reviews", program=PROGRAM, name="研判次数",
                        task_types=("test_review",), target=4))

    @hookimpl
    def register_schedules(self, register):
        if not self.with_schedules:
            return
        register(Schedule(slug="test_weekly", program=PROGRAM, name="每周排查",
                          task_type="test_visit", scope="village",
                          cron={"minute": "0", "hour": "9", "day_of_week": "1"}))
        register(Schedule(slug="test_monthly", program=PROGRAM, name="每月排查",
                          task_type="test_visit", scope="town",
                          cron={"minute": "0", "hour": "9", "day": "1"}))
        register(Schedule(slug="test_quarterly", program=PROGRAM, name="季度研判",
                          task_type="test_review", scope="district",
                          cron={"minute": "30", "hour": "8", "day": "1", "month": "1,4,7,10"}))


@pytest.fixture
def programme():
    """The test programme, alone (no installed plugin loads)."""
    with alone(("test-visits", VisitsPlugin())):
        yield PROGRAM


def visit_data(household="王家", **fields):
    """Valid data for the test_visit form, as a browser posts it (strings)."""
    return {"household": household, "members": "4", "visited_on": "2026-03-02",
            "disputes": ["affair", "violence"], "referral": "police", "urgent": "y",
            "allowance": "120.50", "person": "李某", "notes": "丈夫有暴力倾向", **fields}
