"""The audit log in words (core.audit.describe, /admin/audit and its .xlsx): each action by
its label in the reader's language, the object and the ids of the detail by name (one query
per kind of row, not per entry), changes as "field: before → after", the district's time.
And every action a service records has a label, so a new one cannot slip in unnamed."""
import ast
import io
from pathlib import Path

from openpyxl import load_workbook
from peewee import ModelDelete
from playhouse.test_utils import count_queries

from core import audit, clock
from core.audit import ACTION_LABELS, describe
from core.models import AuditLog
from core.tasks import assign_task, reassign_task
from tests.tasks_support import PROGRAM, programme  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parent.parent
RECORDERS = {"record", "_save_change", "list_export"}  # core.audit.record, core.events' and
# web.exports' wrappers of it


def _literal_actions(node) -> list[str]:
    """The action names an argument can be: a string, or either side of a conditional."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literal_actions(node.body) + _literal_actions(node.orelse)
    return []


def recorded_actions() -> dict[str, str]:
    """Every action name the code of core, web and the plugins passes to ``record`` (or to
    ``core.events._save_change``), with where."""
    found = {}
    for folder in ("core", "web", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in RECORDERS or len(node.args) < 2:
                    continue
                for action in _literal_actions(node.args[1]):
                    found[action] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_recorded_action_has_a_label():
    found = recorded_actions()
    assert "task.assign" in found and "event.move" in found and "session.dispute" in found
    missing = {action: where for action, where in found.items() if action not in ACTION_LABELS}
    assert not missing, f"give these actions a label in core.audit.ACTION_LABELS: {missing}"


def test_every_label_is_translated_into_chinese():
    from core.i18n import translations
    zh = translations("zh_CN")
    untranslated = [label for label in {**ACTION_LABELS, **audit.OBJECT_LABELS,
                                        **audit.FIELD_LABELS}.values()
                    if zh.gettext(label) == label]
    assert not untranslated


def test_an_action_without_a_label_is_shown_readably():
    assert audit.action_label("family_visits.register_export") == "family visits · register export"


def test_a_task_assignment_in_words_on_the_page(district, programme, login, client):
    ModelDelete(AuditLog).execute()
    village = district.villages[0]
    task = assign_task(district.users.coordinator, program=PROGRAM, task_type="test_visit",
                       village=village, title="走访王家")
    entry = AuditLog.get(AuditLog.action == "task.assign")
    words = describe([entry], locale="zh_CN")[0]
    assert words.action == "Assign a task"
    assert village.name in words.object and "走访王家" in words.object
    assert f"Lawyer: {district.pairings[0].lawyer.name}" in words.lines

    login(district.users.admin)
    html = client.get("/admin/audit").get_data(as_text=True)  # Chinese by default
    assert "分配任务" in html
    assert f"走访王家 · {village.name}" in html
    assert f"律师：{district.pairings[0].lawyer.name}" in html
    shown = clock.to_local(entry.at).strftime("%Y-%m-%d %H:%M:%S")
    assert shown in html  # the district's time
    assert "<code>task.assign</code>" in html  # the stored form stays a click away
    assert task.id


def test_a_change_is_field_before_after_with_names_and_local_times(district, programme):
    ModelDelete(AuditLog).execute()
    village = district.villages[0]
    task = assign_task(district.users.coordinator, program=PROGRAM, task_type="test_visit",
                       village=village)
    old, new = district.pairings[0].lawyer, district.lawyers[3]
    reassign_task(district.users.coordinator, task, new)
    entry = AuditLog.get(AuditLog.action == "task.reassign")
    words = describe([entry])[0]
    assert words.changes == [("Lawyer", old.name, new.name)]
    assert words.lines == [f"Lawyer: {old.name} → {new.name}"]
    moved = AuditLog.create(
        username="admin", action="event.move", object_type="event", object_id="999",
        detail={"before": {"starts_at": "2026-03-02T01:00:00"},
                "after": {"starts_at": "2026-03-03T06:30:00", "lawyer": new.id}})
    words = describe([moved])[0]
    assert words.lines == ["Starts: 2026-03-02 09:00 → 2026-03-03 14:30",
                           f"Lawyer: — → {new.name}"]
    assert words.object == "Event · #999"  # gone: its id


def test_names_cost_one_query_per_kind_not_per_entry(district, programme):
    ModelDelete(AuditLog).execute()
    for village in district.villages[:4]:
        assign_task(district.users.coordinator, program=PROGRAM, task_type="test_visit",
                    village=village)
    few = list(AuditLog.select().limit(2))
    many = list(AuditLog.select())
    with count_queries() as two:
        describe(few)
    with count_queries() as four:
        describe(many)
    assert len(many) == 4 and four.count == two.count


def test_the_export_has_the_same_words(district, programme, login, client):
    ModelDelete(AuditLog).execute()
    village = district.villages[0]
    assign_task(district.users.coordinator, program=PROGRAM, task_type="test_visit",
                village=village, title="走访王家")
    login(district.users.admin)
    response = client.get("/admin/audit.xlsx?action=task.assign")
    rows = list(load_workbook(io.BytesIO(response.data)).active.values)
    assert rows[0][:5] == ("时间", "用户", "操作", "对象", "变更")
    entry = rows[1]
    assert entry[2] == "分配任务" and f"走访王家 · {village.name}" in entry[3]
    assert f"律师：{district.pairings[0].lawyer.name}" in entry[4]
    assert entry[1] == district.users.coordinator.display_name
    assert entry[6] == "task.assign"
