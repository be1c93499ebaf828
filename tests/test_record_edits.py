"""Work records that can be corrected, shown and sorted (issue 12): a work-log entry or a
case file is corrected by its author for a set period, then locked, every change audited
with its values before and after; photos on work-log entries (re-encoded without their
metadata, served only to those who read the entry in full); the category of each entry
(the lawyer's ten duties, 四.1–10); the duration asked once; no default gender."""
import datetime as dt
import html as html_lib
import io
import re

import pytest
from openpyxl import load_workbook
from PIL import Image

from core import cases, clock, tasks
from core import worklog
from core.access import record_edit_until
from core.errors import PermissionDenied, ValidationError
from core.events import record_held
from core.i18n import gettext_for
from core.models import AuditLog, CaseFile, Task, WorkLog, WorkLogPhoto
from core.vocabulary import DUTIES
from tests.planning_support import make_event, now, published, utc  # noqa: F401 (fixtures)
from tests.sample_programme import sample_programme  # noqa: F401 (fixture)

NOW = dt.datetime(2026, 3, 10, 8, 0)  # 16:00 in the district
ZH = gettext_for("zh_CN")


@pytest.fixture
def clock_at(now):
    now(NOW)
    return now


def _entry(district, actor="lawyer", **fields):
    values = dict(lawyer=district.lawyers[0], village=district.villages[0],
                  occurred_at=utc(2026, 3, 9, 9), duration_minutes=60, mode="phone",
                  content="电话咨询：宅基地纠纷", result="", category="publicity")
    values.update(fields)
    return worklog.log_service(getattr(district.users, actor) if actor else None, **values)


def _audits(action):
    return list(AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id))


def _jpeg_with_gps(width=1600, height=1200) -> bytes:
    """A phone camera's JPEG: EXIF with the camera and the GPS position where it was taken."""
    image = Image.new("RGB", (width, height), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "HUAWEI"  # Make
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 5.52), 3: "E", 4: (121.0, 28.0, 44.1)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=70)
    return out.getvalue()


def field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<span class="field-error" id="{field_id}-error">([^<]*)<', html)
    return html_lib.unescape(match.group(1)) if match else ""


# --- correcting an entry --------------------------------------------------------------------

def test_the_author_corrects_an_entry_within_the_period_and_each_change_is_audited(
        district, clock_at):
    entry = _entry(district)
    clock_at(NOW + dt.timedelta(days=6, hours=23))  # still within the 7 days
    fixed = worklog.edit_entry(district.users.lawyer, entry, result="已答复，建议协商",
                               duration_minutes=90, category="mediation",
                               content="电话咨询：宅基地纠纷")  # the same content: unchanged
    assert (fixed.result, fixed.duration_minutes, fixed.category) == (
        "已答复，建议协商", 90, "mediation")
    (audit,) = _audits("worklog.update")
    assert audit.object_id == str(entry.id) and audit.user_id == district.users.lawyer.id
    assert audit.detail == {"before": {"duration_minutes": 60, "category": "publicity",
                                       "result": ""},
                            "after": {"duration_minutes": 90, "category": "mediation",
                                      "result": "已答复，建议协商"}}


def test_a_coordinator_of_the_village_corrects_it_too_others_may_not(district, clock_at):
    entry = _entry(district)
    worklog.edit_entry(district.users.town_coordinator, entry, mode="onsite")
    assert WorkLog.get_by_id(entry.id).mode == "onsite"
    before = _audits("worklog.update")
    from core.users import create_user
    other_lawyer = create_user("lawyer-2", "test-pass-123", "lawyer", lawyer=district.lawyers[1])
    for outsider in (other_lawyer, district.users.other_town_coordinator, district.users.village):
        with pytest.raises(PermissionDenied):
            worklog.edit_entry(outsider, entry, result="改过")
    assert WorkLog.get_by_id(entry.id).result == "" and _audits("worklog.update") == before


def test_after_the_period_the_entry_is_locked_with_a_chinese_reason(district, clock_at):
    entry = _entry(district)
    clock_at(NOW + dt.timedelta(days=7, minutes=1))
    with pytest.raises(ValidationError) as refused:
        worklog.edit_entry(district.users.lawyer, entry, result="补充结果")
    assert refused.value.translate(ZH) == "这份记录已于 2026-03-17 16:00 锁定，不能再修改。"
    assert WorkLog.get_by_id(entry.id).result == "" and _audits("worklog.update") == []


def test_the_period_is_a_setting(district, clock_at, monkeypatch):
    monkeypatch.setenv("JIEDUI_RECORDS_EDIT_DAYS", "30")
    entry = _entry(district)
    assert record_edit_until(entry) == NOW + dt.timedelta(days=30)
    clock_at(NOW + dt.timedelta(days=20))
    worklog.edit_entry(district.users.lawyer, entry, result="二十天后补充")
    monkeypatch.setenv("JIEDUI_RECORDS_EDIT_DAYS", "0")  # locked as soon as written
    with pytest.raises(ValidationError):
        worklog.edit_entry(district.users.lawyer, _entry(district), result="x")


@pytest.mark.parametrize("changes, words", [
    (dict(content="  "), "Say what the service was"),
    (dict(category="gossip"), "which of the lawyer's duties"),
    (dict(category=None), "which of the lawyer's duties"),
    (dict(duration_minutes=24 * 60 + 1), "between 0 and 1440"),
    (dict(mode="carrier pigeon"), "how the service was given"),
    (dict(occurred_at=utc(2026, 3, 11, 9)), "once it has happened"),
])
def test_a_bad_correction_is_refused_and_changes_nothing(district, clock_at, changes, words):
    entry = _entry(district)
    with pytest.raises(ValidationError, match=words):
        worklog.edit_entry(district.users.lawyer, entry, result="新结果", **changes)
    fresh = WorkLog.get_by_id(entry.id)
    assert (fresh.result, fresh.content, fresh.category) == ("", entry.content, "publicity")
    assert _audits("worklog.update") == []


def test_a_held_session_writes_meaningful_text_its_author_completes(district, now, published):
    now(dt.datetime(2025, 12, 1))
    event = make_event(district.pairings[0], dt.date(2026, 3, 2), "am")
    now(dt.datetime(2026, 3, 3))
    record_held(None, event, start=utc(2026, 3, 2, 8, 30), end=utc(2026, 3, 2, 12, 0))
    entry = WorkLog.get(WorkLog.event == event.id)
    village = district.villages[0].name
    assert (entry.content, entry.category) == (f"在{village}坐班，接待村(居)民法律咨询",
                                               "publicity")
    worklog.edit_entry(district.users.lawyer, entry, result="接待咨询 6 人次，调解邻里纠纷 1 起")
    assert WorkLog.get_by_id(entry.id).result.startswith("接待咨询 6 人次")
    with pytest.raises(ValidationError, match="those of the task or the session"):
        worklog.edit_entry(district.users.lawyer, entry, occurred_at=utc(2026, 3, 2, 9))


def test_an_entry_may_change_village_only_to_one_the_lawyer_served(district, clock_at):
    entry = _entry(district)
    with pytest.raises(ValidationError, match="not paired"):
        worklog.edit_entry(district.users.lawyer, entry, village=district.villages[1])
    assert WorkLog.get_by_id(entry.id).village_id == district.villages[0].id


# --- case files -----------------------------------------------------------------------------

@pytest.fixture
def case(district, clock_at):
    return cases.open_case(district.users.lawyer, title="土地承包纠纷", lawyer=district.lawyers[0],
                           village=district.villages[0], opened_on=dt.date(2026, 3, 9))


def test_the_author_corrects_a_case_file_then_it_is_locked(district, clock_at, case):
    cases.edit_case(district.users.lawyer, case, title="土地承包经营权纠纷", summary="村民甲乙争议")
    fresh = CaseFile.get_by_id(case.id)
    assert (fresh.title, fresh.summary, fresh.number) == ("土地承包经营权纠纷", "村民甲乙争议",
                                                          case.number)
    (audit,) = _audits("case.update")
    assert audit.detail == {"number": case.number,
                            "before": {"title": "土地承包纠纷", "summary": ""},
                            "after": {"title": "土地承包经营权纠纷", "summary": "村民甲乙争议"}}
    with pytest.raises(PermissionDenied):
        cases.edit_case(district.users.other_town_coordinator, case, title="x")
    clock_at(NOW + dt.timedelta(days=8))
    with pytest.raises(ValidationError) as refused:
        cases.edit_case(district.users.lawyer, case, title="再改")
    assert "锁定" in refused.value.translate(ZH)
    assert CaseFile.get_by_id(case.id).title == "土地承包经营权纠纷"
    assert len(_audits("case.update")) == 1


def test_a_case_is_corrected_through_its_page(district, clock_at, case, login):
    client = login(district.users.lawyer)
    page = client.get(f"/records/cases/{case.id}").get_data(as_text=True)
    assert "您可以在 2026-03-17 16:00 前修改这份案卷。" in page
    response = client.post(f"/records/cases/{case.id}/edit", headers={"HX-Request": "true"},
                           data={"edit-title": "", "edit-opened_on": "2026-03-09",
                                 "edit-summary": "写了一半的摘要"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and field_error(html, "edit-title") == "请填写案件标题。"
    assert "写了一半的摘要</textarea>" in html  # what was typed stays
    response = client.post(f"/records/cases/{case.id}/edit", headers={"HX-Request": "true"},
                           data={"edit-title": "宅基地纠纷", "edit-opened_on": "2026-03-09",
                                 "edit-summary": "写完的摘要"})
    assert response.status_code == 200 and "宅基地纠纷" in response.get_data(as_text=True)
    assert CaseFile.get_by_id(case.id).title == "宅基地纠纷"
    clock_at(NOW + dt.timedelta(days=8))
    client = login(district.users.lawyer)  # a login lasts 7 days
    page = client.get(f"/records/cases/{case.id}").get_data(as_text=True)
    assert "已锁定" in page and 'name="edit-title"' not in page


# --- the entry's page -------------------------------------------------------------------------

def test_an_entry_is_corrected_on_its_page_and_locked_later(district, clock_at, login):
    entry = _entry(district)
    client = login(district.users.lawyer)
    page = client.get(f"/records/log/{entry.id}").get_data(as_text=True)
    assert "待补充" in page and "您可以在 2026-03-17 16:00 前修改这条日志及其照片。" in page
    response = client.post(f"/records/log/{entry.id}", headers={"HX-Request": "true"}, data={
        "village": district.villages[0].id, "occurred_at": "2026-03-09T09:00",
        "duration": "一个半小时", "mode": "phone", "category": "mediation",
        "content": "电话咨询：宅基地纠纷", "result": "建议双方协商"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "duration") == \
        "时长请写小时数（如 1.5）、分钟数（如 90 分钟）或起止时间（如 9:00-10:30）。"
    assert 'value="一个半小时"' in html and "建议双方协商</textarea>" in html
    assert WorkLog.get_by_id(entry.id).result == ""
    response = client.post(f"/records/log/{entry.id}", headers={"HX-Request": "true"}, data={
        "village": district.villages[0].id, "occurred_at": "2026-03-09T09:00",
        "duration": "9:00-10:30", "mode": "phone", "category": "mediation",
        "content": "电话咨询：宅基地纠纷", "result": "建议双方协商"})
    assert response.status_code == 200 and "日志已保存。" in response.get_data(as_text=True)
    fresh = WorkLog.get_by_id(entry.id)
    assert (fresh.duration_minutes, fresh.category, fresh.result) == (90, "mediation",
                                                                      "建议双方协商")
    clock_at(NOW + dt.timedelta(days=7, minutes=1))
    client = login(district.users.lawyer)  # a login lasts 7 days
    page = client.get(f"/records/log/{entry.id}").get_data(as_text=True)
    assert "这条日志已于 2026-03-17 16:00 锁定，不能再修改。" in page
    assert 'name="result"' not in page and 'name="photo-file"' not in page
    response = client.post(f"/records/log/{entry.id}", data={
        "duration": "1.5", "mode": "phone", "category": "mediation",
        "content": "电话咨询：宅基地纠纷", "result": "锁定后再改"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "这份记录已于 2026-03-17 16:00 锁定" in html
    assert "锁定后再改</textarea>" in html and WorkLog.get_by_id(entry.id).result == "建议双方协商"


def test_another_lawyer_cannot_open_or_correct_the_entry(district, clock_at, login):
    from core.users import create_user
    entry = _entry(district)
    other = create_user("lawyer-2", "test-pass-123", "lawyer", lawyer=district.lawyers[1])
    client = login(other)
    assert client.get(f"/records/log/{entry.id}").status_code == 404
    assert client.post(f"/records/log/{entry.id}", data={"result": "x"}).status_code == 404


# --- photos ---------------------------------------------------------------------------------

def test_a_photo_is_kept_without_its_gps_position_with_a_thumbnail(district, clock_at, login):
    entry = _entry(district)
    upload = _jpeg_with_gps()
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(0x8825)  # the position is there
    client = login(district.users.lawyer)
    response = client.post(f"/records/log/{entry.id}/photos",
                           data={"photo-file": (io.BytesIO(upload), "IMG_0001.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    (photo,) = WorkLogPhoto.select()
    for url, longest in ((f"/records/photos/{photo.id}", 1200),
                         (f"/records/photos/{photo.id}/thumb", worklog.THUMB_SIDE)):
        served = client.get(url)
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert "no-store" in served.headers["Cache-Control"]
        with Image.open(io.BytesIO(served.data)) as image:
            assert not image.getexif() and max(image.size) == longest
        assert b"HUAWEI" not in served.data and b"GPS" not in served.data
    assert "IMG_0001" not in photo.path  # the upload's name plays no part
    assert [a.detail["photo"] for a in _audits("worklog.photo_add")] == [photo.id]
    assert [a.detail["photo"] for a in _audits("worklog.photo_view")] == [photo.id]
    page = client.get(f"/records/log/{entry.id}").get_data(as_text=True)
    assert f"/records/photos/{photo.id}/thumb" in page


def test_a_file_that_is_no_photo_or_one_too_many_is_refused(district, clock_at):
    entry = _entry(district)
    with pytest.raises(ValidationError, match="not a photo"):
        worklog.add_photo(district.users.lawyer, entry, io.BytesIO(b"%PDF-1.4 not a photo"))
    small = _jpeg_with_gps(40, 30)
    for _ in range(worklog.MAX_PHOTOS):
        worklog.add_photo(district.users.lawyer, entry, io.BytesIO(small))
    with pytest.raises(ValidationError, match="at most 9 photos"):
        worklog.add_photo(district.users.lawyer, entry, io.BytesIO(small))
    assert WorkLogPhoto.select().count() == worklog.MAX_PHOTOS


def test_photos_are_served_only_to_readers_of_the_entry(district, clock_at, login):
    from core.users import create_user
    entry = _entry(district)
    photo = worklog.add_photo(district.users.lawyer, entry, io.BytesIO(_jpeg_with_gps(40, 30)))
    other_lawyer = create_user("lawyer-2", "test-pass-123", "lawyer", lawyer=district.lawyers[1])
    for outsider in (other_lawyer, district.users.other_town_coordinator, district.users.village):
        client = login(outsider)
        for url in (f"/records/photos/{photo.id}", f"/records/photos/{photo.id}/thumb"):
            assert client.get(url).status_code in (403, 404), (outsider.username, url)
    client = login(district.users.town_coordinator)
    assert client.get(f"/records/photos/{photo.id}/thumb").status_code == 200


def test_a_photo_of_a_task_the_reader_sees_restricted_is_not_served(district, clock_at,
                                                                    sample_programme):
    """A household visit's entry stays its first lawyer's when the task passes to another:
    that lawyer now sees the visit restricted (type and month), and its photo would show
    the family: it is not served to them, nor counted on their list."""
    from tests.sample_programme import PROGRAM, TASK_TYPE, good_data
    task = tasks.assign_task(None, program=PROGRAM, task_type=TASK_TYPE,
                             village=district.villages[0])
    tasks.complete_task(district.users.lawyer, task, good_data())
    entry = WorkLog.get(WorkLog.task == task.id)
    photo = worklog.add_photo(district.users.lawyer, entry, io.BytesIO(_jpeg_with_gps(40, 30)))
    assert worklog.photo_for(district.users.lawyer, photo.id)[0].id == photo.id
    tasks.reopen_task(None, Task.get_by_id(task.id))
    tasks.reassign_task(None, Task.get_by_id(task.id), district.lawyers[1])
    with pytest.raises(Exception, match="no such photo"):
        worklog.photo_for(district.users.lawyer, photo.id, thumbnail=True)


def test_the_author_removes_a_photo_until_the_entry_is_locked(district, clock_at, login):
    entry = _entry(district)
    first = worklog.add_photo(district.users.lawyer, entry, io.BytesIO(_jpeg_with_gps(40, 30)))
    second = worklog.add_photo(district.users.lawyer, entry, io.BytesIO(_jpeg_with_gps(30, 40)))
    client = login(district.users.lawyer)
    page = client.get(f"/records/log/{entry.id}").get_data(as_text=True)
    assert 'hx-confirm="要从这条日志中删除这张照片吗？"' in page  # asked first
    assert client.post(f"/records/photos/{first.id}/remove").status_code == 303
    assert [p.id for p in WorkLogPhoto.select()] == [second.id]
    assert client.get(f"/records/photos/{first.id}").status_code == 404
    assert _audits("worklog.photo_remove")[0].detail["photo"] == first.id
    clock_at(NOW + dt.timedelta(days=8))
    client = login(district.users.lawyer)  # a login lasts 7 days
    response = client.post(f"/records/photos/{second.id}/remove")
    assert response.status_code == 422 and "锁定" in response.get_data(as_text=True)
    assert WorkLogPhoto.select().count() == 1


# --- categories ---------------------------------------------------------------------------

def test_the_ten_duties_of_the_plan_are_the_categories(database):
    assert len(DUTIES) == 10
    from web.labels import DUTY_LABELS  # noqa: F401 (every duty has a label)
    from core.vocabulary import DUTY_LABELS as labels
    assert set(labels) == set(DUTIES)
    assert ZH(labels["mediation"]) == "协助综治、参与矛盾纠纷调解"


@pytest.mark.parametrize("category", [None, "", "gossip"])
def test_a_service_is_logged_with_one_of_the_duties(district, clock_at, category):
    with pytest.raises(ValidationError, match="which of the lawyer's duties"):
        _entry(district, category=category)
    assert WorkLog.select().count() == 0


def test_the_log_form_asks_the_category_and_keeps_what_was_typed(district, clock_at, login):
    client = login(district.users.lawyer)
    response = client.post("/records/log", data={
        "village": district.villages[0].id, "occurred_at": "2026-03-09T09:00",
        "duration": "90", "mode": "phone", "category": "", "content": "电话咨询：借款纠纷"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "category") == "请选择这项服务属于律师的哪项工作职责。"
    assert field_error(html, "duration") == "一次服务最长 24 小时；如果是分钟，请写“90 分钟”。"
    assert 'value="90"' in html and "电话咨询：借款纠纷</textarea>" in html
    assert WorkLog.select().count() == 0


def test_the_list_filters_by_category_and_the_export_names_it(district, clock_at, login):
    _entry(district, content="调解邻里纠纷", category="mediation")
    _entry(district, content="合同审查", category="contracts")
    WorkLog.create(lawyer=district.lawyers[0], village=district.villages[0],
                   occurred_at=utc(2026, 3, 1, 9), content="旧日志", category=None)
    client = login(district.users.lawyer)
    listed = client.get("/records/log?category=mediation",
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "调解邻里纠纷" in listed and "合同审查" not in listed and "协助综治" in listed
    listed = client.get("/records/log?category=none",
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "旧日志" in listed and "未分类" in listed and "合同审查" not in listed
    client = login(district.users.town_coordinator)
    response = client.get("/records/log.xlsx")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][4] == "类别"
    assert {row[6]: row[4] for row in rows[1:]} == {
        "调解邻里纠纷": "协助综治、参与矛盾纠纷调解", "合同审查": "审查、起草合同协议",
        "旧日志": "未分类"}


def test_a_completed_task_logs_its_programmes_duty(district, clock_at, sample_programme):
    from tests.sample_programme import PROGRAM, TASK_TYPE, good_data
    task = tasks.assign_task(None, program=PROGRAM, task_type=TASK_TYPE,
                             village=district.villages[0])
    tasks.complete_task(district.users.lawyer, task, good_data())
    entry = WorkLog.get(WorkLog.task == task.id)
    assert entry.category == "mediation" and entry.content.endswith(district.villages[0].name)


def test_the_migration_gives_existing_entries_the_category_of_their_kind(tmp_path):
    from playhouse.migrations import Runner

    from core.db import MIGRATIONS_DIR, db, open_database
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    with db.connection_context():
        runner = Runner(database, directory=str(MIGRATIONS_DIR))
        runner.up(target="0008_ratings")
        execute = database.execute_sql
        execute("INSERT INTO district (code, name) VALUES ('D', '区')")
        execute("INSERT INTO town (district_id, code, name, judicial_office, office_head, "
                "office_phone) VALUES (1, 'T', '镇', '', '', '')")
        execute("INSERT INTO village (town_id, code, name, kind, address) "
                "VALUES (1, 'V', '村', 'village', '')")
        execute("INSERT INTO law_firm (name, address, phone) VALUES ('所', '', '')")
        execute("INSERT INTO lawyer (name, firm_id, licence_no, phone, wechat, photo, active) "
                "VALUES ('张明', 1, 'L1', '', '', '', 1)")
        for kind in ("session", "publicity"):
            execute("INSERT INTO event (uid, kind, village_id, lawyer_id, starts_at, ends_at, "
                    "title, description, cancel_reason, shown_hash, status, sequence, "
                    "created_at, updated_at, placement) VALUES (?, ?, 1, 1, "
                    "'2026-03-02 00:30:00', '2026-03-02 04:00:00', '坐班', '', '', '', 'held', "
                    "0, '2026-01-01', '2026-01-01', '')", (f"e-{kind}", kind))
        for program in ("legal_aid", "someone_elses"):
            execute("INSERT INTO task (program, task_type, level, village_id, title, status, "
                    "data, created_at, updated_at, cancel_reason) VALUES (?, 't', 'village', "
                    "1, '', 'done', '{}', '2026-01-01', '2026-01-01', '')", (program,))
        rows = [("event_id", 1), ("event_id", 2), ("task_id", 1), ("task_id", 2),
                (None, None)]
        for column, value in rows:
            execute("INSERT INTO work_log (lawyer_id, village_id, occurred_at, duration_minutes, "
                    f"mode, content, result, created_at{', ' + column if column else ''}) "
                    "VALUES (1, 1, '2026-03-02 00:30:00', 60, 'onsite', '坐班', '', "
                    f"'2026-03-02'{', ?' if column else ''})", (value,) if column else ())
        runner.up()
        found = [category for (category,) in
                 execute("SELECT category FROM work_log ORDER BY id").fetchall()]
    assert found == ["publicity", "publicity", "legal_aid", None, None]


# --- forms: the duration once, no default gender, the required mark --------------------------

def test_the_log_form_defaults_to_now_and_the_lawyers_only_village(district, clock_at, login):
    html = login(district.users.lawyer).get("/records/log?log=1").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="occurred_at"[^>]*value="2026-03-10T16:00"', html)
    assert re.search(rf'<option selected value="{district.villages[0].id}">', html)
    category = re.search(r'<select[^>]*name="category".*?</select>', html, re.S).group(0)
    assert "selected" not in category  # the lawyer chooses it


def test_every_required_field_has_the_same_mark(district, clock_at, login):
    html = login(district.users.lawyer).get("/records/log?log=1").get_data(as_text=True)
    start = html.index('action="/records/log" novalidate')
    form = html[start:html.index("</form>", start)]
    labels = re.findall(r'<span class="field-label">([^<]*?)\s*(<span class="required"[^>]*>\*'
                        r'</span>)?</span>', form)
    marked = {label for label, mark in labels if mark}
    assert {label for label, _mark in labels} - marked == {"结果", "案件档案"}
    assert marked == {"村(居)", "日期时间", "时长", "服务方式", "类别", "内容"}


def test_gender_has_no_default_and_a_missing_one_is_refused(district, clock_at, login):
    task = tasks.assign_task(None, program="legal_understanders",
                             task_type="understander_training", village=district.villages[0])
    client = login(district.users.lawyer)
    html = client.get(f"/tasks/{task.id}/complete").get_data(as_text=True)
    gender = re.search(r'<select[^>]*name="gender".*?</select>', html, re.S).group(0)
    assert "selected" not in gender and '<option value="">请选择…</option>' in gender
    assert '<span class="required"' in html[html.index("性别"):html.index('name="gender"')]
    assert 'name="worklog-duration"' not in html  # the training's hours are the duration
    data = {"name": "王秀英", "identity": "villager", "roles": ["mediator"],
            "trained_on": "2026-03-09", "hours": "2.5", "course": "人民调解实务"}
    response = client.post(f"/tasks/{task.id}/complete", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and field_error(html, "gender") == "请选择性别"
    assert 'value="王秀英"' in html and Task.get_by_id(task.id).status == "open"
    response = client.post(f"/tasks/{task.id}/complete", data={**data, "gender": "female"})
    assert response.status_code == 303
    entry = WorkLog.get(WorkLog.task == task.id)
    assert (entry.duration_minutes, entry.category) == (150, "publicity")


def test_the_completion_form_opens_in_place_and_answers_in_place(district, clock_at, login,
                                                                 sample_programme):
    from tests.sample_programme import PROGRAM, TASK_TYPE, good_data
    task = tasks.assign_task(None, program=PROGRAM, task_type=TASK_TYPE,
                             village=district.villages[0], due_on=dt.date(2026, 3, 10))
    client = login(district.users.lawyer)
    mine = client.get("/tasks/mine").get_data(as_text=True)
    assert f'hx-get="/tasks/{task.id}/complete"' in mine
    form = client.get(f"/tasks/{task.id}/complete", headers={"HX-Request": "true"})
    html = form.get_data(as_text=True)
    assert "<html" not in html and f'hx-post="/tasks/{task.id}/complete"' in html
    assert re.search(r'name="worklog-occurred_at"[^>]*value="2026-03-10T16:00"', html)
    response = client.post(f"/tasks/{task.id}/complete", headers={"HX-Request": "true"},
                           data=good_data())
    done = response.get_data(as_text=True)
    assert response.status_code == 200 and "工作日志已生成" in done
    entry = WorkLog.get(WorkLog.task == task.id)
    assert f"/records/log/{entry.id}" in done and Task.get_by_id(task.id).status == "done"
    assert clock.as_utc(entry.occurred_at) == NOW


def test_an_entry_is_filed_under_an_open_case_of_its_lawyer(district, clock_at):
    entry = _entry(district)
    case = cases.open_case(district.users.lawyer, title="借款纠纷", lawyer=district.lawyers[0],
                           village=district.villages[0])
    worklog.edit_entry(district.users.lawyer, entry, case=case)
    assert WorkLog.get_by_id(entry.id).case_id == case.id
    assert _audits("worklog.update")[-1].detail == {"before": {"case": None},
                                                    "after": {"case": case.id}}
    others = cases.open_case(None, title="别人的案件", lawyer=district.lawyers[1],
                             village=district.villages[1])
    with pytest.raises(ValidationError, match="belongs to another lawyer"):
        worklog.edit_entry(district.users.lawyer, entry, case=others)
    worklog.edit_entry(district.users.lawyer, entry, case=None)
    assert WorkLog.get_by_id(entry.id).case_id is None
