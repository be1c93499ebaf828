"""The ledger (台账) export (core.ledger): an .xlsx that reads back with openpyxl, a sheet
per task type headed by the form's labels, sensitive fields only for who may see them,
every export audited."""
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from core.errors import NotFound
from core.i18n import gettext_for
from core.ledger import FIXED_HEADERS, export_ledger, headers
from core.models import AuditLog, Task
from core.privacy import MASK
from core.tasks import assign_task, complete_task, list_tasks
from tests.tasks_support import PROGRAM, programme, visit_data  # noqa: F401 (fixture)
from tests.xlsx_support import TRICKY_TEXTS, assert_stored_as_text

ZH = gettext_for("zh_CN")
VISIT_LABELS = ["户主", "家庭人数", "走访日期", "矛盾类型", "转介", "紧急", "补助金额",
                "当事人姓名", "情况记录"]


def read(xlsx: bytes):
    return load_workbook(io.BytesIO(xlsx))


def rows(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def ledger_tasks(district, programme):
    """A done visit (completed 2026-03-02 10:00 district time), an open follow-up, a town
    review, all in town 1."""
    visit = assign_task(None, program=PROGRAM, task_type="test_visit",
                        village=district.villages[0], due_on=dt.date(2026, 3, 31))
    complete_task(None, visit, visit_data())
    Task.update(completed_at=dt.datetime(2026, 3, 2, 2, 0)).where(Task.id == visit.id).execute()
    followup = assign_task(None, program=PROGRAM, task_type="test_followup",
                           village=district.villages[1], due_on=dt.date(2099, 1, 1))
    review = assign_task(None, program=PROGRAM, task_type="test_review", town=district.towns[0])
    return visit, followup, review


def test_ledger_has_a_sheet_per_task_type_headed_by_the_forms_labels(district, ledger_tasks):
    book = read(export_ledger(PROGRAM, list_tasks(None)))
    assert book.sheetnames == ["走访家庭", "回访", "研判"]
    fixed = [ZH(h) for h in FIXED_HEADERS]
    visits = rows(book["走访家庭"])
    assert visits[0] == VISIT_LABELS + fixed
    assert headers("test_visit") == VISIT_LABELS + list(FIXED_HEADERS)
    assert visits[1] == ["王家", 4, dt.datetime(2026, 3, 2), "婚外情, 家庭暴力", "派出所",
                         ZH("yes"), "120.50", "李某", "丈夫有暴力倾向",
                         "东湖1村", "东湖镇", "张明", ZH("Done"), dt.datetime(2026, 3, 31),
                         dt.datetime(2026, 3, 2, 10, 0),  # completed: district time
                         2026]  # the year whose progress counts it
    assert rows(book["回访"]) == [["户主", "回访结果"] + fixed,
                                 [None, None, "东湖2村", "东湖镇", "李华", ZH("Open"),
                                  dt.datetime(2099, 1, 1), None, None]]
    assert rows(book["研判"])[1] == [None, None, "东湖镇", None, ZH("Open"), None, None, None]


def test_ledger_masks_sensitive_fields_for_who_may_not_see_them_and_audits(district,
                                                                           ledger_tasks):
    visit = Task.get_by_id(ledger_tasks[0].id)  # as completed on 2026-03-02
    masked = rows(read(export_ledger(PROGRAM, [visit], user=district.users.village))["走访家庭"])
    # no public_fields declared: no field of the sensitive type; the due date and the
    # completion only as their month
    assert masked[1] == [MASK] * 9 + ["东湖1村", "东湖镇", "张明", ZH("Done"), "2026-03",
                                      "2026-03", 2026]
    shown = rows(read(export_ledger(PROGRAM, [visit], user=district.users.town_coordinator,
                                    address="10.1.1.1"))["走访家庭"])
    assert shown[1][7:9] == ["李某", "丈夫有暴力倾向"]
    exports = list(AuditLog.select().where(AuditLog.action == "ledger.export")
                   .order_by(AuditLog.id))
    assert [(e.username, e.detail["rows_with_sensitive_masked"],
             e.detail["rows_with_sensitive_shown"], e.address) for e in exports] == [
        ("village", 1, 0, ""), ("coord-t1", 0, 1, "10.1.1.1")]
    masked_views = AuditLog.select().where(AuditLog.action == "task.view_masked")
    assert [(e.username, e.detail) for e in masked_views] == [
        ("village", {"via": "ledger", "program": PROGRAM, "tasks": [visit.id]})]


def test_ledger_marks_overdue_tasks_and_leaves_out_other_programmes(district, ledger_tasks):
    _, followup, _ = ledger_tasks
    Task.update(due_on=dt.date(2020, 1, 1)).where(Task.id == followup.id).execute()
    foreign = Task.get_by_id(followup.id)
    foreign.program = "another_programme"
    book = read(export_ledger(PROGRAM, [Task.get_by_id(followup.id), foreign]))
    assert rows(book["回访"])[1][5] == ZH("Overdue") and len(rows(book["回访"])) == 2


def test_ledger_of_an_unknown_programme_is_refused(district, programme):
    with pytest.raises(NotFound):
        export_ledger("no_such_programme", [])
    assert AuditLog.select().where(AuditLog.action == "ledger.export").count() == 0


def test_empty_ledger_still_has_its_headers(district, programme):
    book = read(export_ledger(PROGRAM, []))
    assert rows(book["走访家庭"]) == [VISIT_LABELS + [ZH(h) for h in FIXED_HEADERS]]


def test_ledger_stores_text_as_text_never_as_a_formula(district, programme):
    tasks = []
    for text in TRICKY_TEXTS:
        task = assign_task(None, program=PROGRAM, task_type="test_review",
                           village=district.villages[0])
        complete_task(None, task, {"summary": text})
        tasks.append(Task.get_by_id(task.id))
    assert_stored_as_text(export_ledger(PROGRAM, tasks))
