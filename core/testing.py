"""Helpers for testing a plugin against the real core, shipped with Jiedui for plugin
authors (Jiedui's own tests use them too). Nothing here needs pytest.

Which plugins are loaded::

    with alone(my_plugin) as registry:        # only it: no installed plugin loads
        assert "my_programme" in registry.programs
    with installed_only("legal_aid"):         # one installed plugin (its entry point)
        ...
    with registered(("test-recorder", Recorder())):   # added to what is loaded
        ...

Forms and their examples (form data as a browser posts it: strings, a list for a
multi-select, "y" for a ticked box)::

    assert form_errors(MyForm, {"school": ""}) == {"school": ["请填写学校名称"]}
    assert_examples_valid("school_training")

Tasks in a database (``scratch_district`` makes a small one; Jiedui's tests have the
``district`` fixture)::

    with scratch_district(tmp_path) as district:
        assign_and_complete(district.users.coordinator, district.users.lawyer,
                            program="my_programme", task_type="my_task", data=data,
                            village=district.villages[0])
        assert done("my_metric") == 1
        assert_ledger("my_programme", "我的任务", labels, expected_rows)

A plugin's catalog (docs/plugins.md, "Translations")::

    assert missing_translations("my_programme", "en") == []
"""
import datetime as dt
import random
import secrets
from contextlib import contextmanager
from io import BytesIO
from types import SimpleNamespace

from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from core import clock, config
from core.db import db, migrate, open_database
from core.i18n import gettext_for
from core.ledger import FIXED_HEADERS, export_ledger
from core.localize import missing
from core.models import District, LawFirm, Lawyer, Task, Town, Village
from core.pairings import pair
from core.plugins import get_registry, register_plugin, reset, unregister_plugin
from core.progress import progress
from core.queue import huey
from core.tasks import assign_task, complete_task, validate_task_data
from core.users import create_user

SEEDS = range(20)


# --- which plugins are loaded ---------------------------------------------------------------

def _named(item) -> tuple[str, object]:
    """``(name, plugin)`` as given, or a plugin named after its module (the last part of
    its dotted name, as an entry point would name it) or its class."""
    if isinstance(item, tuple):
        return item
    name = getattr(item, "__name__", None) or type(item).__name__
    return name.rsplit(".", 1)[-1], item


@contextmanager
def registered(*plugins):
    """Register in-process plugins for the block, each a plugin (a module, a class or an
    object with ``@hookimpl`` functions) or a ``(name, plugin)`` pair, beside whatever is
    loaded already. They are always unregistered afterwards. (The registry is built when
    it is first used, as in a running process.)"""
    names = []
    try:
        for item in plugins:
            name, plugin = _named(item)
            register_plugin(plugin, name)
            names.append(name)
        yield
    finally:
        for name in reversed(names):
            unregister_plugin(name)


@contextmanager
def alone(*plugins):
    """Only these in-process plugins for the block (no installed plugin loads, whatever
    ``JIEDUI_LOAD_PLUGINS`` says); yields the registry. Afterwards everything loaded is
    forgotten, so the next use loads the installed plugins again."""
    reset(installed=())
    try:
        with registered(*plugins):
            yield get_registry()
    finally:
        reset()


@contextmanager
def installed_only(*names: str):
    """Only these installed plugins (by their entry-point names, as ``jiedui plugins``
    lists them) for the block, whatever ``JIEDUI_LOAD_PLUGINS`` says; yields the
    registry. Afterwards everything loaded is forgotten."""
    reset(installed=names)
    try:
        yield get_registry()
    finally:
        reset()


# --- forms and examples ---------------------------------------------------------------------

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
    """Every example passes the core's validation of the task type's form (as the demo
    completes tasks with it) and names its subject, and they are not all alike."""
    task_type = get_registry().task_types[task_type_slug]
    datas = examples(task_type_slug, seeds)
    for seed, data in zip(seeds, datas):
        assert validate_task_data(task_type, data)[1] == {}, f"seed {seed}: {data}"
        if task_type.subject_field:
            assert data[task_type.subject_field], f"seed {seed} has no subject"
    assert len({repr(sorted(d.items())) for d in datas}) > len(datas) // 2, "too few variants"
    return datas


# --- tasks, progress and ledgers (need a database) ------------------------------------------

def assign_and_complete(actor, completer, *, program, task_type, data, village=None,
                        town=None):
    """A task assigned by ``actor`` and completed with ``data`` by ``completer`` (None:
    the system, for either)."""
    task = assign_task(actor, program=program, task_type=task_type, village=village, town=town)
    return complete_task(completer, task, MultiDict(data) if isinstance(data, dict) else data)


def done(metric_slug: str, **kwargs) -> int:
    """The metric's current count, as the dashboard reads it (``kwargs``: the year, the
    user whose scope counts, as ``core.progress.progress`` takes them)."""
    return progress(**kwargs)[metric_slug]["done"]


def ledger_rows(program: str, sheet: str | None = None, user=None) -> list[list]:
    """The rows (header first) of one sheet of the programme's .xlsx ledger (a task type's
    name; None: the first sheet), as ``user`` exports it (every task, in the order they
    were assigned), read back with openpyxl."""
    tasks = Task.select().order_by(Task.id)
    book = load_workbook(BytesIO(export_ledger(program, tasks, user=user)))
    rows = (book[sheet] if sheet is not None else book.worksheets[0]).iter_rows(values_only=True)
    return [list(row) for row in rows]


def date_cell(day: dt.date) -> dt.datetime:
    """A date as openpyxl reads a date cell back: a datetime at midnight."""
    return dt.datetime.combine(day, dt.time())


def fixed_headers() -> list[str]:
    """The ledger's columns after the form's labels, in Chinese: village, town, lawyer,
    status, due date, completion time, the year whose progress counts the task."""
    return [gettext_for("zh_CN")(header) for header in FIXED_HEADERS]


def assert_ledger(program: str, sheet: str, labels: list[str], expected: list[list],
                  user=None) -> None:
    """One sheet of the programme's ledger reads back with exactly ``labels`` (the form's,
    in its order) then the fixed columns as headers, and exactly the ``expected`` rows in
    order: each the form's cells as the ledger shows them (choices by their label, dates as
    dates), then village, town and lawyer; every task done, with its completion time.
    A column or a row the exporter dropped (or added) fails it."""
    header, *rows = ledger_rows(program, sheet, user)
    assert header == [*labels, *fixed_headers()]
    width = len(labels)
    assert [row[:width + 3] for row in rows] == [list(row) for row in expected]
    for row in rows:
        assert len(row) == len(header)
        status, _due, completed, _counted = row[width + 3:]
        assert status == gettext_for("zh_CN")("Done")
        assert isinstance(completed, dt.datetime)


@contextmanager
def scratch_district(folder):
    """A small district in a new SQLite database in ``folder`` (a test's temporary
    folder), for the block: one town with three villages, one law firm, two lawyers, the
    first two villages paired (which plans their calendar), and users of every role —
    ``users.admin``, ``users.coordinator``, ``users.lawyer`` (the first lawyer's),
    ``users.village`` (the first village's), all with the password ``password``. Jobs run
    at once (huey's immediate mode). When ``JIEDUI_INSTANCE`` is not set it becomes
    ``folder``, so nothing is written where the test runs. Yields a ``SimpleNamespace``:
    ``district``, ``town``, ``villages``, ``firm``, ``lawyers``, ``pairings``, ``users``,
    ``password``."""
    config.configure(config.load_settings(default_instance=folder))
    was_immediate, huey.immediate = huey.immediate, True
    open_database(f"sqlite:///{folder}/jiedui.db")
    migrate()
    db.connect(reuse_if_open=True)
    try:
        yield _small_district()
    finally:
        db.close()
        huey.immediate = was_immediate
        config.configure(None)  # the environment's settings again


def _small_district() -> SimpleNamespace:
    district = District.create(code="310000", name="示范区")
    town = Town.create(district=district, code="T1", name="东湖镇", judicial_office="东湖镇司法所")
    villages = [Village.create(town=town, code=f"T1V{n}", name=f"东湖{n}村") for n in (1, 2, 3)]
    firm = LawFirm.create(name="明德律师事务所")
    lawyers = [Lawyer.create(name=name, firm=firm, licence_no=f"13100000000{n}")
               for n, name in enumerate(("张明", "李华"), start=1)]
    start = clock.today().replace(month=1, day=1)
    pairings = [pair(None, lawyer=lawyer, village=village, term_start=start,
                     term_end=start.replace(year=start.year + 2) - dt.timedelta(days=1))
                for lawyer, village in zip(lawyers, villages)]
    # a digit after a symbol: a token alone is all letters once in 28 draws, which the
    # password rules refuse ("letters and digits or symbols")
    password = f"{secrets.token_urlsafe(12)}-{secrets.randbelow(10)}"
    users = SimpleNamespace(
        admin=create_user("admin", password, "admin"),
        coordinator=create_user("coordinator", password, "coordinator"),
        lawyer=create_user("lawyer", password, "lawyer", lawyer=lawyers[0]),
        village=create_user("village", password, "village", village=villages[0]))
    return SimpleNamespace(district=district, town=town, villages=villages, firm=firm,
                           lawyers=lawyers, pairings=pairings, users=users, password=password)


# --- a plugin's catalog ---------------------------------------------------------------------

def missing_translations(plugin: str, locale: str = "en") -> list[str]:
    """The strings the loaded plugin ``plugin`` shows — its names, a programme's
    description, its forms' labels, descriptions and choices, what its code marks with
    ``N_`` — that its catalog for ``locale`` (the .po in its package's ``translations``)
    does not translate; [] when it says everything."""
    return missing(plugin, locale)
