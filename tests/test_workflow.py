"""core.workflow: a staged workflow registers a task type per stage and, when a stage is
done, assigns the next one to the same place and lawyer (programmes 7 and 9 use it; their
own tests pin their workflows)."""
import datetime as dt

import pytest
from wtforms import Form, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired

from core import Metric, Program, Stage, Workflow, hookimpl
from core.clock import today
from core.models import Lawyer, Task
from core.plugins import plugin_errors
from core.tasks import assign_task, complete_task, reopen_task
from core.testing import alone

PROGRAM = "test_cases"


class DraftForm(Form):
    title = StringField("标题", validators=[DataRequired()])
    text = TextAreaField("正文", validators=[DataRequired()])


class CheckForm(Form):
    title = StringField("标题", validators=[DataRequired()])
    verdict = RadioField("结论", choices=[SelectChoice("ok", "通过"), SelectChoice("redo", "退回")])


class PublishForm(Form):
    title = StringField("标题", validators=[DataRequired()])


def latest_text(title):
    """The latest done draft of ``title`` starts the draft it is sent back to."""
    drafts = Task.select().where(Task.task_type == "test_draft", Task.status == "done",
                                 Task.subject == title).order_by(Task.id.desc())
    draft = drafts.first()
    return dict(draft.data) if draft else None


def workflow(**check):
    return Workflow(PROGRAM, [
        Stage("test_draft", "起草", DraftForm, days=30, then="test_check",
              public_fields=("title",), prefill=latest_text),
        Stage("test_check", "审核", CheckForm, days=10,
              then=lambda data: "test_publish" if data.get("verdict") == "ok" else "test_draft",
              **check),
        Stage("test_publish", "发布", PublishForm, days=5),
    ])


class CasesPlugin:
    def __init__(self, flow):
        self.flow = flow

    @hookimpl
    def register_programs(self, register):
        register(Program(slug=PROGRAM, name="测试案例"))

    @hookimpl
    def register_task_types(self, register):
        self.flow.register_task_types(register)

    @hookimpl
    def register_metrics(self, register):
        register(Metric(slug="test_published", program=PROGRAM, name="已发布",
                        task_types=("test_publish",), distinct_field="title"))

    @hookimpl
    def task_completed(self, task):
        self.flow.task_completed(task)


@pytest.fixture
def cases():
    with alone(("test-cases", CasesPlugin(workflow()))) as registry:
        yield registry


def waiting(stage):
    return list(Task.select().where(Task.task_type == stage,
                                    Task.status.in_(("open", "in_progress"))))


def draft(district, title="甲案", text="案情", village=None):
    task = assign_task(district.users.coordinator, program=PROGRAM, task_type="test_draft",
                       village=village or district.villages[0])
    return complete_task(district.users.lawyer, task, {"title": title, "text": text})


def test_each_stage_is_a_task_type_counting_the_workflows_subject(cases):
    assert [t.slug for t in cases.task_types.values()] == ["test_draft", "test_check",
                                                           "test_publish"]
    draft_type = cases.task_types["test_draft"]
    assert (draft_type.program, draft_type.name, draft_type.subject_field) == \
        (PROGRAM, "起草", "title")
    assert draft_type.public_fields == ("title",)
    assert cases.task_types["test_check"].public_fields == ("title", "verdict")  # the default
    assert cases.owners[("task type", "test_publish")] == "test-cases"


def test_a_done_stage_assigns_the_next_to_the_same_village_and_lawyer(district, cases):
    draft(district)
    (check,) = waiting("test_check")
    assert (check.village_id, check.assignee_id, check.assigned_by_id) == \
        (district.villages[0].id, district.lawyers[0].id, None)
    assert check.title == "审核：甲案" and check.data == {"title": "甲案"}
    assert check.due_on == today() + dt.timedelta(days=10)
    complete_task(district.users.lawyer, check, {"title": "甲案", "verdict": "ok"})
    (publish,) = waiting("test_publish")
    assert publish.due_on == today() + dt.timedelta(days=5)
    complete_task(district.users.lawyer, publish, {"title": "甲案"})
    assert waiting("test_draft") == waiting("test_check") == waiting("test_publish") == []


def test_an_outcome_sends_the_work_back_with_what_prefill_gives(district, cases):
    draft(district, text="初稿")
    complete_task(district.users.lawyer, waiting("test_check")[0],
                  {"title": "甲案", "verdict": "redo"})
    assert waiting("test_publish") == []
    (again,) = waiting("test_draft")
    assert again.data == {"title": "甲案", "text": "初稿"}


def test_a_stage_done_again_does_not_assign_the_next_twice(district, cases):
    first = draft(district)
    reopen_task(district.users.coordinator, first)
    complete_task(district.users.lawyer, first, {"title": "甲案", "text": "改稿"})
    assert len(waiting("test_check")) == 1
    draft(district, title="乙案")  # another subject is other work
    assert len(waiting("test_check")) == 2


def test_a_lawyer_who_left_hands_the_next_stage_to_the_villages_lawyer(district, cases):
    from core.pairings import replace_lawyer
    task = assign_task(district.users.coordinator, program=PROGRAM, task_type="test_draft",
                       village=district.villages[0])
    replace_lawyer(district.users.coordinator, district.pairings[0], lawyer=district.lawyers[2],
                   on=today())
    Lawyer.update(active=False).where(Lawyer.id == district.lawyers[0].id).execute()
    complete_task(district.users.coordinator, task, {"title": "甲案", "text": "案情"})
    assert waiting("test_check")[0].assignee_id == district.lawyers[2].id


def test_a_town_stage_is_followed_at_the_town(district, cases):
    task = assign_task(district.users.coordinator, program=PROGRAM, task_type="test_draft",
                       town=district.towns[1])
    complete_task(district.users.coordinator, task, {"title": "镇案", "text": "案情"})
    (check,) = waiting("test_check")
    assert (check.village_id, check.town_id, check.assignee_id) == \
        (None, district.towns[1].id, None)


def test_a_workflow_naming_an_unknown_stage_disables_its_plugin():
    broken = Workflow(PROGRAM, [Stage("test_draft", "起草", DraftForm, days=3,
                                      then="test_nowhere")])
    with alone(("test-broken", CasesPlugin(broken))) as registry:
        assert "plugin 'test-broken'" in registry.disabled["test-broken"]
        assert "'test_nowhere', which is not a stage" in registry.disabled["test-broken"]


def test_an_outcome_naming_an_unknown_stage_is_the_plugins_error(district):
    flow = workflow()
    flow.stages["test_check"] = Stage("test_check", "审核", CheckForm, days=1,
                                      then=lambda data: "test_elsewhere")
    with alone(("test-cases", CasesPlugin(flow))):
        draft(district)
        complete_task(district.users.lawyer, waiting("test_check")[0],
                      {"title": "甲案", "verdict": "ok"})
        assert Task.select().where(Task.status == "done").count() == 2  # the completion stands
        assert [(e["plugin"], e["hook"]) for e in plugin_errors] == [("test-cases",
                                                                       "task_completed")]
