"""The ledger (台账) of a programme as an .xlsx workbook: one exporter for every programme.

One sheet per task type of the programme (in the order registered), one row per task.
The columns are the task type's form fields, headed by the form's own labels (the
plugin's words, in the export's language: ``core.localize``), then where and by whom: village, town, lawyer, status, due date,
completion time, and the year whose progress counts the task (``core.progress.counted_tasks``:
a household visited twice in a year is two rows and one count; the rows marked with a year
are as many as the programme's progress shows the exporting user for that year). Choice
fields show their choice's label, ticked boxes "yes".

A row shows a task as the exporting user may see it (``core.privacy``): in full to who may
see its sensitive fields, else restricted — the fields that are not public read "***"
(filled or not) and, for a sensitive task type, the due date and the completion time are
only their month. Every export is audited (``ledger.export``, and ``task.view_masked``
naming the tasks shown restricted). ``core.privacy.task_view``, ``hidden_fields`` and
``audit_export`` are that rule for a plugin's own register of its tasks (programme 1's
households, plugins/family_visits/register.py).
"""
import datetime as dt

from core import clock, spreadsheet
from core.audit import record
from core.errors import NotFound
from core.i18n import N_, gettext_for
from core.localize import name_of
from core.models import Lawyer, Task, Town, User, Village
from core.plugins import get_registry
from core.privacy import MASK, audit_views, task_view
from core.progress import counted_tasks
from core.tasks import STATUS_LABELS, build_form, choice_labels, is_overdue

FIXED_HEADERS = (N_("Village"), N_("Town"), N_("Lawyer"), N_("Status"), N_("Due"),
                 N_("Completed"), N_("Counted in the progress of"))
SHEET_TITLE_BAD = str.maketrans({c: " " for c in "[]:*?/\\"})


def headers(task_type) -> list[str]:
    """The ledger's column headers for a task type: its form's labels, then the fixed ones
    (untranslated msgids; ``export_ledger`` translates them)."""
    form = build_form(task_type)
    return [field.label.text for field in form] + list(FIXED_HEADERS)


def _names(model, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(model.select(model.id, model.name).where(model.id.in_(ids)).tuples())


def _cell(field, value, yes: str, no: str):
    """A stored (JSON) value as the form shows it: choices by their label, dates as dates."""
    from wtforms.fields import BooleanField, DateField, DateTimeField
    if value is None or value == "":
        return None
    if isinstance(field, BooleanField):
        return yes if value else no
    choices = choice_labels(field)
    if choices:
        if isinstance(value, list):
            return ", ".join(str(choices.get(str(v), v)) for v in value)
        return str(choices.get(str(value), value))
    if isinstance(value, str) and isinstance(field, DateTimeField | DateField):
        try:
            parsed = dt.datetime.fromisoformat(value)
            return parsed if isinstance(field, DateTimeField) else parsed.date()
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return value


def _status(task: Task, gettext, today: dt.date) -> str:
    status = "overdue" if is_overdue(task, today) else task.status
    return gettext(STATUS_LABELS.get(status, status))


def _sheet_title(name: str, taken: set[str]) -> str:
    title = name.translate(SHEET_TITLE_BAD).strip()[:31] or "sheet"
    base, n = title, 2
    while title in taken:
        title = f"{base[:28]}-{n}"
        n += 1
    taken.add(title)
    return title


def hidden_fields(user: User | None, task: Task, kind=None) -> set[str]:
    """The fields of ``task`` that ``user`` may not see (``core.privacy.task_view``), filled
    or not: a ledger writes ``MASK`` in their cells. ``kind`` is accepted for the plugins
    that pass it; the task's registered type decides."""
    return set(task_view(user, task).hidden_fields)


def audit_export(user: User | None, program_slug: str, *, tasks: int, shown: int, masked: int,
                 address: str = "", **detail) -> None:
    """Audit an export of a programme's tasks (action ``ledger.export``): how many tasks,
    how many rows showed sensitive fields and how many had them masked; ``detail`` adds what
    a plugin's own register needs to say (e.g. which register)."""
    record(user, "ledger.export", address=address,
           detail={"program": program_slug, "tasks": tasks, **detail,
                   "rows_with_sensitive_shown": shown, "rows_with_sensitive_masked": masked})


def counted_years(program_slug: str, tasks, user: User | None = None) -> dict[int, int]:
    """Task id -> the year whose progress counts it, for ``tasks`` (done ones, of
    ``program_slug``'s metrics): the very tasks ``core.progress.counted_tasks`` gives for
    each year they were done in, in ``user``'s scope."""
    years = {clock.to_local(t.completed_at).year for t in tasks
             if t.status == "done" and t.completed_at is not None}
    metrics = [m.slug for m in get_registry().metrics.values() if m.program == program_slug]
    counted = {}
    for year in sorted(years):
        for metric in metrics:
            counted.update((task.id, year) for task in counted_tasks(metric, year, user=user))
    return counted


def export_ledger(program_slug: str, tasks, *, user: User | None = None,
                  address: str = "", locale: str = "zh_CN", progress=None) -> bytes:
    """The .xlsx ledger of ``tasks`` (any iterable of Task; those of other programmes are
    left out) as bytes. ``user`` is who exports (None: the operator): each row shows its
    task as they may see it (``core.privacy``), and the export is audited.
    ``progress(done, total)``, if given, follows the tasks (a long job's bar)."""
    registry = get_registry()
    if program_slug not in registry.programs:
        raise NotFound(N_("There is no programme %(program)s (is its plugin loaded?)."),
                       program=program_slug)
    gettext = gettext_for(locale)
    tasks = [t for t in tasks if t.program == program_slug]
    villages = _names(Village, (t.village_id for t in tasks))
    towns = _names(Town, (t.town_id for t in tasks))
    lawyers = _names(Lawyer, (t.assignee_id for t in tasks))
    today = clock.today()
    yes, no = gettext(N_("yes")), gettext(N_("no"))
    counted = counted_years(program_slug, tasks, user)

    workbook = spreadsheet.workbook()
    taken: set[str] = set()
    masked = shown = 0
    views = []
    for kind in (k for k in registry.task_types.values() if k.program == program_slug):
        form = build_form(kind, locale=locale)
        fields = list(form)
        rows = []
        for task in (t for t in tasks if t.task_type == kind.slug):
            if progress is not None:
                progress(len(views), len(tasks))
            data, view = task.data or {}, task_view(user, task)
            views.append(view)
            hidden = set(view.hidden_fields)
            masked += view.masked
            shown += bool(view.sensitive_shown)
            values = [MASK if f.name in hidden else _cell(f, data.get(f.name), yes, no)
                      for f in fields]
            rows.append(values + [villages.get(task.village_id), towns.get(task.town_id),
                                  lawyers.get(task.assignee_id), _status(task, gettext, today),
                                  view.time(task.due_on), view.time(task.completed_at),
                                  counted.get(task.id)])
        spreadsheet.add_sheet(
            workbook, _sheet_title(name_of("task type", kind.slug, locale), taken),
            [f.label.text for f in fields] + [gettext(h) for h in FIXED_HEADERS], rows)
    if not workbook.worksheets:  # a programme without task types: an empty, valid workbook
        spreadsheet.add_sheet(workbook, _sheet_title(name_of("programme", program_slug, locale),
                                                     taken), [])
    audit_export(user, program_slug, tasks=len(tasks), shown=shown, masked=masked,
                 address=address)
    audit_views(user, views, via="ledger", address=address, program=program_slug)
    return spreadsheet.to_bytes(workbook)
