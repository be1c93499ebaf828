"""Checks shared by the programme plugins' tests (tests/test_program_*.py).

Form data is given as a browser would post it: strings, a list for a multi-select, "y"
for a ticked checkbox (an unticked one is absent).
"""
import datetime as dt
import random

from werkzeug.datastructures import MultiDict

from core.plugins import get_registry

SEEDS = range(20)


def form_errors(form_class, data: dict) -> dict:
    """The form's errors for ``data`` (field -> list of messages); empty when valid."""
    form = form_class(MultiDict(data))
    form.validate()
    return form.errors


def examples(task_type_slug: str, seeds=SEEDS) -> list[dict]:
    """The task type's ``example(rng)`` for each seed."""
    task_type = get_registry().task_types[task_type_slug]
    assert task_type.example is not None, f"{task_type_slug} has no example"
    return [task_type.example(random.Random(seed)) for seed in seeds]


def assert_examples_valid(task_type_slug: str, seeds=SEEDS) -> list[dict]:
    """Every example validates with the task type's form, and they are not all alike."""
    task_type = get_registry().task_types[task_type_slug]
    datas = examples(task_type_slug, seeds)
    for seed, data in zip(seeds, datas):
        assert form_errors(task_type.form, data) == {}, f"seed {seed}: {data}"
        if task_type.subject_field:
            assert data[task_type.subject_field], f"seed {seed} has no subject"
    assert len({repr(sorted(d.items())) for d in datas}) > len(datas) // 2, "too few variants"
    return datas


def done(metric_slug: str, **kwargs) -> int:
    """The metric's current count, as the dashboard reads it."""
    from core.progress import progress
    return progress(**kwargs)[metric_slug]["done"]


def assign_and_complete(actor, completer, *, program, task_type, data, village=None,
                        town=None):
    """A task assigned by ``actor`` and completed with ``data`` by ``completer``."""
    from core.tasks import assign_task, complete_task
    task = assign_task(actor, program=program, task_type=task_type, village=village, town=town)
    return complete_task(completer, task, MultiDict(data))


def ledger_rows(program: str, sheet: str, user=None) -> list[list]:
    """The rows (header first) of one sheet of the programme's .xlsx ledger, as ``user``
    exports it (every task, in the order they were assigned), read back with openpyxl."""
    from io import BytesIO

    from openpyxl import load_workbook

    from core.ledger import export_ledger
    from core.models import Task
    tasks = Task.select().order_by(Task.id)
    book = load_workbook(BytesIO(export_ledger(program, tasks, user=user)))
    return [list(row) for row in book[sheet].iter_rows(values_only=True)]


def date_cell(day: dt.date) -> dt.datetime:
    """A date as openpyxl reads a date cell back: a datetime at midnight."""
    return dt.datetime.combine(day, dt.time())


def fixed_headers() -> list[str]:
    """The ledger's columns after the form's labels, in Chinese: village, town, lawyer,
    status, due date, completion time."""
    from core.i18n import gettext_for
    from core.ledger import FIXED_HEADERS
    return [gettext_for("zh_CN")(header) for header in FIXED_HEADERS]


def assert_ledger(program: str, sheet: str, labels: list[str], expected: list[list],
                  user=None) -> None:
    """One sheet of the programme's ledger reads back with exactly ``labels`` (the form's,
    in its order) then the fixed columns as headers, and exactly the ``expected`` rows in
    order: each the form's cells as the ledger shows them (choices by their label, dates as
    dates), then village, town and lawyer; every task done, with its completion time.
    A column or a row the exporter dropped (or added) fails it."""
    from core.i18n import gettext_for
    header, *rows = ledger_rows(program, sheet, user)
    assert header == [*labels, *fixed_headers()]
    width = len(labels)
    assert [row[:width + 3] for row in rows] == [list(row) for row in expected]
    for row in rows:
        assert len(row) == len(header)
        status, _due, completed = row[width + 3:]
        assert status == gettext_for("zh_CN")("Done")
        assert isinstance(completed, dt.datetime)
