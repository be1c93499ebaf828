"""A test-only programme, registered in-process (core.testing.alone), so the web
tests do not depend on the ten real plugins: one task type with a subject field, a
sensitive field, a multi-select and an integer with a range, and a distinct metric."""
import pytest
from wtforms import (Form, IntegerField, SelectChoice, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from core import Metric, Program, TaskType, hookimpl
from core.testing import alone

PROGRAM = "sample_visits"
TASK_TYPE = "sample_visit"
METRIC = "sample_households"
PLUGIN = "test-sample-programme"


class HouseholdForm(Form):
    household = StringField("户主姓名", validators=[DataRequired(message="请填写户主姓名")])
    members = TextAreaField("家庭成员及矛盾当事人", validators=[Optional()])
    disputes = SelectMultipleField("矛盾类型", choices=[SelectChoice("affair", "婚外情"),
                                                     SelectChoice("violence", "家庭暴力"),
                                                     SelectChoice("in_law", "婆媳矛盾")],
                                   validators=[Optional()])
    visitors = IntegerField("走访人数", validators=[
        InputRequired(message="请填写走访人数"),
        NumberRange(min=1, max=20, message="走访人数应在1到20之间")],
        invalid_value_message="走访人数应为整数")


def example(rng):
    return {"household": f"王{rng.randint(1, 99)}", "members": "王某与其妻", "disputes": ["affair"],
            "visitors": 2}


class SampleProgramme:
    @hookimpl
    def register_programs(self, register):
        register(Program(slug=PROGRAM, name="走访示范家庭", name_en="Sample visits", order=1))

    @hookimpl
    def register_task_types(self, register):
        register(TaskType(slug=TASK_TYPE, program=PROGRAM, name="入户走访", form=HouseholdForm,
                          subject_field="household", sensitive_fields=("members",),
                          example=example, duty="mediation"))

    @hookimpl
    def register_metrics(self, register):
        register(Metric(slug=METRIC, program=PROGRAM, name="走访家庭数", task_types=(TASK_TYPE,),
                        distinct_field="household"))


@pytest.fixture
def sample_programme():
    """Only the sample programme is loaded (no entry points), for the whole test."""
    with alone((PLUGIN, SampleProgramme())):
        yield


def good_data(**changes) -> dict:
    return {"household": "王大明", "members": "王大明与妻子李小红", "disputes": ["affair"],
            "visitors": "2", **changes}
