"""A staged workflow: a piece of work that passes through stages, one task type each.

Programme 9 takes a classic case from write-up to review to publication, programme 7 a
revision of a village's rules from draft to legal review, vote and filing. Each stage is a
task type of the programme; completing one assigns the next to the same village and
lawyer, due some days later, with the subject (the case's or the rules' title) filled in,
so every stage names the same thing and a metric counts it once. A stage's outcome may
send the work back (a review that finds a fault: drafting again).

A plugin declares its stages once and lets the workflow register them and react::

    WORKFLOW = Workflow("village_rules", [
        Stage("rule_draft", "起草村规民约", DraftForm, days=30, then="rule_review"),
        Stage("rule_review", "村规民约合法性审查", ReviewForm, days=15,
              then=lambda data: "rule_filing" if data.get("lawful") == "yes" else "rule_draft"),
        Stage("rule_filing", "村规民约备案", FilingForm, days=15),
    ])

    @hookimpl
    def register_task_types(register):
        WORKFLOW.register_task_types(register)

    @hookimpl
    def task_completed(task):
        WORKFLOW.task_completed(task)
"""
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.clock import today
from core.models import Lawyer, Task
from core.registry import TaskType
from core.tasks import assign_task

UNFINISHED = ("open", "in_progress")


@dataclass(frozen=True)
class Stage:
    """One stage of a workflow, registered as a task type of the workflow's programme.

    ``days``: how long the lawyer has when the previous stage assigns this one.
    ``then``: the stage after this one is done — a stage's slug, a function of the done
    task's data that returns one (or None), or None for the last stage.
    ``prefill(subject)``: the data the form starts with when the workflow assigns this
    stage (None, or no ``prefill``: the subject alone).
    ``public_fields``, ``sensitive_fields``, ``example``, ``template``: as for ``TaskType``
    (every stage's ``subject_field`` is the workflow's)."""
    slug: str
    name: str
    form: type
    days: int
    then: str | Callable[[dict], str | None] | None = None
    public_fields: tuple[str, ...] | None = None
    sensitive_fields: tuple[str, ...] = ()
    example: Callable | None = None
    template: str | None = None
    prefill: Callable[[str], dict | None] | None = None

    def after(self, data: dict) -> str | None:
        """The slug of the stage that follows this one, done with ``data``."""
        return self.then(data) if callable(self.then) else self.then


class Workflow:
    """The stages of one programme's workflow, in order (the first is assigned by people,
    the others by the workflow). ``subject_field``: the field every stage's form has that
    names the piece of work (its subject). ``duty``: which of the lawyer's ten duties the
    work is (``TaskType.duty``, the category of every stage's work-log entry)."""

    def __init__(self, program: str, stages: Iterable[Stage], *, subject_field: str = "title",
                 duty: str | None = None):
        self.program = program
        self.subject_field = subject_field
        self.duty = duty
        self.stages = {stage.slug: stage for stage in stages}

    def task_types(self) -> list[TaskType]:
        """A task type per stage. Raises ``ValueError`` for a workflow that cannot work
        (reported as the plugin's error when it registers them)."""
        for stage in self.stages.values():
            if not isinstance(stage.days, int) or isinstance(stage.days, bool) or stage.days < 0:
                raise ValueError(f"stage {stage.slug!r}: days must be a whole number of days")
            if isinstance(stage.then, str) and stage.then not in self.stages:
                raise ValueError(f"stage {stage.slug!r} is followed by {stage.then!r}, "
                                 f"which is not a stage of the workflow")
        return [TaskType(slug=stage.slug, program=self.program, name=stage.name,
                         form=stage.form, subject_field=self.subject_field,
                         sensitive_fields=stage.sensitive_fields,
                         public_fields=stage.public_fields, template=stage.template,
                         example=stage.example, duty=self.duty)
                for stage in self.stages.values()]

    def register_task_types(self, register) -> None:
        """Call from the plugin's ``register_task_types`` hook with its ``register``."""
        for task_type in self.task_types():
            register(task_type)

    def next_stage(self, task: Task) -> Stage | None:
        """The stage after ``task``, a done stage of this workflow (None: the work is
        finished, or ``task`` is not a stage of it)."""
        stage = self.stages.get(task.task_type) if task.program == self.program else None
        slug = stage.after(task.data or {}) if stage is not None else None
        if slug is not None and slug not in self.stages:
            raise ValueError(f"stage {stage.slug!r} is followed by {slug!r}, which is not a "
                             f"stage of the workflow")
        return self.stages[slug] if slug is not None else None

    def task_completed(self, task: Task) -> Task | None:
        """Call from the plugin's ``task_completed`` hook: assign the stage after ``task``
        to the same village (or town) and lawyer, due in the stage's ``days``, titled
        "<stage name>：<subject>". Returns the new task, or None: ``task`` is of another
        programme, the last stage, has no subject, or the next stage of its subject is
        waiting already (a stage completed again after a reopen assigns nothing twice)."""
        stage = self.next_stage(task)
        subject = (task.data or {}).get(self.subject_field) or task.subject
        if stage is None or not subject or self._waiting(task, stage, subject):
            return None
        data = (stage.prefill(subject) if stage.prefill else None) or \
            {self.subject_field: subject}
        return assign_task(None, program=self.program, task_type=stage.slug,
                           village=task.village, town=None if task.village_id else task.town,
                           assignee=_same_lawyer(task),
                           due_on=today() + dt.timedelta(days=stage.days),
                           title=f"{stage.name}：{subject}", data=data)

    def _waiting(self, task: Task, stage: Stage, subject: str) -> bool:
        """Is ``stage`` of this subject, in the task's place, still to be done?"""
        same_place = (Task.village == task.village_id) if task.village_id else \
            (Task.village.is_null() & (Task.town == task.town_id))
        waiting = Task.select().where(Task.program == self.program, Task.task_type == stage.slug,
                                      same_place, Task.status.in_(UNFINISHED))
        return any((other.data or {}).get(self.subject_field) == subject for other in waiting)


def _same_lawyer(task: Task) -> Lawyer | None:
    """The lawyer who did the stage; when they have left, None: ``assign_task`` then gives
    the next stage to the village's paired lawyer."""
    lawyer = Lawyer.get_or_none(Lawyer.id == task.assignee_id)  # as it is now, not as cached
    return lawyer if lawyer is not None and lawyer.active else None
