"""The demo district's programme work: a realistic spread of tasks for every installed
programme, so each programme page has progress, breakdowns, a trend and a ledger.

The core does not know the programmes: it walks the registry. Every task type with an
``example`` gets tasks; for each metric, done tasks of its task types are completed with
the plugin's example data (through ``core.tasks``, so the work log, the audit log and the
``task_completed`` hook see them as they see real work) until the metric stands at
40–110 % of its target. Around a third of the tasks are left open, in progress, overdue
or cancelled. Tasks are spread over this year up to today; each programme draws from its
own seeded ``random.Random``, so installing a plugin changes no other programme's tasks.
"""
import datetime as dt
import logging
import random

from core import clock
from core.errors import ValidationError
from core.models import Lawyer, Task, Town, User, Village
from core.plugins import get_registry
from core.registry import Metric, Program, TaskType
from core.tasks import assign_task, cancel_task, complete_task, start_task

log = logging.getLogger(__name__)

PROGRESS_SHARE = (0.4, 1.1)  # where a metric ends, as a share of its target
DONE_SHARE = (0.6, 0.8)      # share of a programme's tasks that are done
OTHER_DONE = (3, 10)         # done tasks of a task type that no metric counts
MISSES = 8                   # a metric stops after this many done tasks in a row add nothing
MINE = 2                     # open tasks per programme in the demo lawyer's villages
MODES = ("onsite",) * 6 + ("phone", "wechat", "network")
DURATIONS = tuple(range(30, 241, 15))
CANCEL_REASONS = ("村里另有安排，改期后重新派发", "与其他任务重复")


class DemoWork:
    """Draws the tasks of one programme after another, and when each happened."""

    def __init__(self, seed, towns: list[Town], units: list[tuple[Village, Lawyer]],
                 coordinator: User, lawyer_user: User):
        self.seed = seed
        self.today, self.now = clock.today(), clock.now_utc()
        self.start = dt.date(self.today.year, 1, 1)  # progress counts this year's work
        # Work happened up to yesterday, so a reload today draws the same instants (only
        # on 1 January is it today, before now).
        self.last_day = max(self.start, self.today - dt.timedelta(days=1))
        self.towns, self.units = towns, units
        self.mine = [(v, lw) for v, lw in units if lw.id == lawyer_user.lawyer_id]
        self.coordinator, self.lawyer_user = coordinator, lawyer_user
        self.scope_of = {s.task_type: s.scope for s in get_registry().schedules.values()}
        self.history: list[Task] = []  # tasks whose dates are moved into the past
        self.rng = random.Random(seed)
        self.counts = {"tasks": 0, "tasks_done": 0}

    # --- dates ---

    def day_between(self, first: dt.date, last: dt.date) -> dt.date:
        return first + dt.timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def at(self, day: dt.date, first_hour: int, last_hour: int) -> dt.datetime:
        """A stored (UTC) instant on a district working day's clock, never after now."""
        time = dt.time(self.rng.randint(first_hour, last_hour), self.rng.choice((0, 15, 30, 45)))
        return min(clock.utc_from_local(day, time), self.now)

    # --- one task ---

    def actor_for(self, task: Task) -> User | None:
        """The demo lawyer works as themself; other lawyers have no login, so their work
        is entered by the operator (None), as an import would."""
        return self.lawyer_user if task.assignee_id == self.lawyer_user.lawyer_id else None

    def assign(self, kind: TaskType, assigned_on: dt.date, due_on: dt.date,
               mine: bool = False) -> Task:
        scope = self.scope_of.get(kind.slug, "village")  # a schedule says where it is done
        if scope == "village" or mine:
            village, lawyer = self.rng.choice(self.mine if mine and self.mine else self.units)
            place = {"village": village, "assignee": lawyer}
        elif scope == "town":
            place = {"town": self.rng.choice(self.towns)}
        else:
            place = {}
        task = assign_task(self.coordinator, program=kind.program, task_type=kind.slug,
                           due_on=due_on, **place)
        task.created_at = task.updated_at = self.at(assigned_on, 8, 8)
        self.history.append(task)
        self.counts["tasks"] += 1
        return task

    def example(self, kind: TaskType) -> dict | None:
        """The plugin's example data; a plugin whose example fails is logged and gets no
        done tasks, the other programmes still load (as with event hooks)."""
        try:
            return kind.example(self.rng)
        except Exception:
            log.exception("demo: the example of task type %r failed", kind.slug)
            return None

    def done_task(self, kind: TaskType) -> Task | None:
        """A task assigned this year and completed by its due date (and by yesterday)."""
        data = self.example(kind)
        if data is None:
            return None
        assigned_on = self.day_between(self.start, self.last_day)
        due_on = assigned_on + dt.timedelta(days=self.rng.randint(14, 45))
        task = self.assign(kind, assigned_on, due_on)
        completed_on = self.day_between(assigned_on, min(self.last_day, due_on))
        occurred_at = max(self.at(completed_on, 9, 17), task.created_at)
        try:
            complete_task(self.actor_for(task), task, data, mode=self.rng.choice(MODES),
                          duration_minutes=self.rng.choice(DURATIONS), occurred_at=occurred_at)
        except ValidationError as invalid:  # the plugin's example is wrong: say so, go on
            log.warning("demo: the example of task type %r does not validate: %s",
                        kind.slug, invalid.errors or invalid)
            return None
        task.completed_at = task.updated_at = occurred_at
        self.counts["tasks_done"] += 1
        return task

    def pending_task(self, kind: TaskType, mine: bool = False) -> Task:
        """Open, in progress, overdue (its due date passed) or, now and then, cancelled."""
        roll = self.rng.random()
        if roll < 0.3:  # overdue
            due_on = self.day_between(max(self.start, self.today - dt.timedelta(days=30)),
                                      self.last_day)
            assigned_on = self.day_between(max(self.start, due_on - dt.timedelta(days=45)),
                                           due_on)
        else:
            due_on = self.today + dt.timedelta(days=self.rng.randint(0, 30))
            assigned_on = self.day_between(max(self.start, self.today - dt.timedelta(days=20)),
                                           self.last_day)
        task = self.assign(kind, assigned_on, due_on, mine=mine)
        state = self.rng.random()
        if state < 0.4:
            start_task(self.actor_for(task), task)
        elif state > 0.95 and not mine:
            cancel_task(self.coordinator, task, reason=self.rng.choice(CANCEL_REASONS))
        return task

    # --- one programme ---

    def programme(self, program: Program, kinds: dict[str, TaskType],
                  metrics: list[Metric]) -> None:
        self.rng = random.Random(f"{self.seed}:{program.slug}")
        done = 0
        for metric in metrics:
            done += self.fill_metric(metric, [kinds[s] for s in metric.task_types if s in kinds])
        counted = {slug for metric in metrics for slug in metric.task_types}
        for kind in kinds.values():
            if kind.slug not in counted:
                for _ in range(self.rng.randint(*OTHER_DONE)):
                    done += self.done_task(kind) is not None
        pending = max(MINE + 1, round(done * (1 / self.rng.uniform(*DONE_SHARE) - 1)))
        choices = list(kinds.values())
        for n in range(pending):
            self.pending_task(self.rng.choice(choices), mine=n < MINE)

    def fill_metric(self, metric: Metric, kinds: list[TaskType]) -> int:
        """Done tasks until ``metric`` stands at its drawn share of the target. Examples
        may repeat a subject (that is what distinct counting is for); when they keep
        repeating (a plugin whose examples know few subjects), stop there."""
        if not kinds:
            return 0
        goal = round(metric.target * self.rng.uniform(*PROGRESS_SHARE))
        subjects, done, misses = set(), 0, 0
        while (len(subjects) if metric.distinct_field else done) < goal and misses < MISSES:
            task = self.done_task(self.rng.choice(kinds))
            if task is None:
                misses += 1
                continue
            done += 1
            if metric.distinct_field:
                # told apart per village, as core.progress counts them
                subject = (task.village_id, str(task.data.get(metric.distinct_field) or "").strip())
                misses = 0 if subject not in subjects else misses + 1
                subjects.add(subject)
        return done

    def backdate(self) -> None:
        """Move each task's timestamps to when the demo says it happened (the services
        stamp "now"), in a few statements."""
        done = [task for task in self.history if task.completed_at is not None]
        others = [task for task in self.history if task.completed_at is None]
        # Apart: a batch of NULLs only would leave PostgreSQL without the column's type.
        Task.bulk_update(done, fields=[Task.created_at, Task.updated_at, Task.completed_at],
                         batch_size=200)
        Task.bulk_update(others, fields=[Task.created_at, Task.updated_at], batch_size=200)


def load_demo_tasks(seed, towns: list[Town], units: list[tuple[Village, Lawyer]],
                    coordinator: User, lawyer_user: User) -> dict:
    """Tasks of every installed programme whose task types have examples; returns the
    counts ``{"tasks", "tasks_done"}`` (follow-up tasks that plugins assign when a task
    is completed come on top, once the demo is committed)."""
    registry = get_registry()
    work = DemoWork(seed, towns, units, coordinator, lawyer_user)
    for program in sorted(registry.programs.values(), key=lambda p: (p.order, p.slug)):
        kinds = {slug: kind for slug, kind in registry.task_types.items()
                 if kind.program == program.slug and kind.example is not None}
        metrics = [m for m in registry.metrics.values() if m.program == program.slug]
        if kinds:
            work.programme(program, kinds, metrics)
    work.backdate()
    return work.counts
