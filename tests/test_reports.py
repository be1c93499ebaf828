"""The bureau's periodic reports (core.reports): the figures of a period equal the records
made for it, by town, by lawyer and in total; the period's edges are the district's; a
town's coordinator reports on their town; the .xlsx and the .docx hold the same figures;
the quarterly report is prepared once, on the quarter's first workday."""
import datetime as dt
import io
import uuid

import pytest
from docx import Document
from openpyxl import load_workbook
from playhouse.test_utils import count_queries

from core import clock, jobs
from core.queue import huey
from core.series import session_months
from core.errors import ValidationError
from core.i18n import gettext_for
from core.models import (CaseFile, Event, MajorMatter, Notification, Rating, RatingCode,
                         ReturnVisit, Task, WorkLog)
from core.reports import (FIGURES, Period, build_report, first_workday, last_complete_quarter,
                          parse_period, period_of, prepare_quarterly_report, report_docx,
                          report_xlsx, stored_folder)
from tests.factories import session

ZH = gettext_for("zh_CN")
Q1 = Period("quarter", 2026, 1)
HEADINGS = [ZH(label) for _figure, label in FIGURES]


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return clock.utc_from_local(day, dt.time(hour, minute))


def names(slug):
    return slug


def log(pairing, day, category, **fields):
    return WorkLog.create(lawyer=pairing.lawyer_id, village=pairing.village_id,
                          occurred_at=at(day), content="服务", category=category, **fields)


def rating(pairing, day, score, *, with_code=True):
    code = None
    if with_code:
        event = Event.create(uid=str(uuid.uuid4()), kind="activity", village=pairing.village_id,
                             lawyer=pairing.lawyer_id, starts_at=at(day), ends_at=at(day, 11))
        code = RatingCode.create(event=event, code_hash=uuid.uuid4().hex, used_at=at(day))
    return Rating.create(pairing=pairing, period="2026Q1", score=score, code=code,
                         created_at=at(day), device_hash=None if with_code else uuid.uuid4().hex)


def first_quarter_records(district):
    """What the lawyers of the small district did in 2026Q1, and a few things outside it."""
    p0, p1, _p2, p3 = district.pairings  # 张明 and 李华 in 东湖镇, 赵强 in 西山街道
    jan, feb, mar = dt.date(2026, 1, 12), dt.date(2026, 2, 9), dt.date(2026, 3, 9)
    held = [session(p0, jan), session(p0, feb), session(p1, mar)]
    session(p0, mar, status="planned")
    session(p0, dt.date(2026, 3, 16), status="cancelled")
    session(p3, feb, kind="publicity")
    session(p3, mar, status="planned", kind="publicity")
    session(p0, dt.date(2026, 4, 13))  # the second quarter
    WorkLog.create(lawyer=p0.lawyer_id, village=p0.village_id, occurred_at=held[0].starts_at,
                   content="在东湖1村坐班", category="publicity", event=held[0])  # the session's own
    log(p0, jan, "publicity")
    log(p0, feb, "publicity", mode="phone")
    log(p1, feb, "mediation")
    log(p3, mar, "mediation")
    log(p3, mar, "contracts")
    log(p3, dt.date(2025, 12, 30), "mediation")  # last year
    CaseFile.create(number="2026-0001", year=2026, title="土地承包纠纷", village=p0.village_id,
                    lawyer=p0.lawyer_id, opened_on=jan, closed_on=mar, status="closed")
    CaseFile.create(number="2026-0002", year=2026, title="劳动报酬", village=p3.village_id,
                    lawyer=p3.lawyer_id, opened_on=feb)
    CaseFile.create(number="2025-0009", year=2025, title="旧案", village=p1.village_id,
                    lawyer=p1.lawyer_id, opened_on=dt.date(2025, 11, 3), closed_on=feb,
                    status="closed")
    MajorMatter.create(category="collective", title="集体上访", lawyer=p1.lawyer_id,
                       village=p1.village_id, occurred_at=at(feb), reported_at=at(feb, 10),
                       deadline_at=at(feb, 12), status="closed", closed_at=at(mar))
    MajorMatter.create(category="emergency", title="山体滑坡", lawyer=p3.lawyer_id,
                       village=p3.village_id, occurred_at=at(mar), reported_at=at(mar, 10),
                       deadline_at=at(mar, 12))
    ReturnVisit.create(pairing=p0, period="2026Q1", due_on=dt.date(2026, 3, 31), status="done",
                       contact="村主任", satisfaction=4, done_at=at(mar))
    ReturnVisit.create(pairing=p3, period="2026Q1", due_on=dt.date(2026, 3, 31), status="done",
                       contact="书记", satisfaction=5, done_at=at(mar))
    ReturnVisit.create(pairing=p1, period="2026Q1", due_on=dt.date(2026, 3, 31))  # not done
    rating(p0, feb, 5)
    rating(p0, mar, 2)
    rating(p1, mar, 1, with_code=False)  # anonymous: does not count
    for day in (jan, feb):
        Task.create(program="family_visits", task_type="household_visit", village=p0.village_id,
                    town=district.towns[0], assignee=p0.lawyer_id, status="done",
                    completed_at=at(day))
    Task.create(program="family_visits", task_type="household_visit", village=p3.village_id,
                town=district.towns[1], assignee=p3.lawyer_id, status="open")


EAST = {"sessions_planned": 4, "sessions_held": 3, "publicity_planned": 0, "publicity_held": 0,
        "worklog": 4, "consultations": 2, "mediations": 1, "cases_opened": 1,
        "cases_closed": 2, "matters_reported": 1, "matters_closed": 1, "visits_done": 1,
        "visit_average": 4.0, "ratings": 2, "rating_average": 3.5, "tasks_done": 2}
WEST = {"sessions_planned": 0, "sessions_held": 0, "publicity_planned": 2, "publicity_held": 1,
        "worklog": 2, "consultations": 0, "mediations": 1, "cases_opened": 1,
        "cases_closed": 0, "matters_reported": 1, "matters_closed": 0, "visits_done": 1,
        "visit_average": 5.0, "ratings": 0, "rating_average": None, "tasks_done": 0}


def figures(row) -> dict:
    return {figure: row.value(figure) for figure, _label in FIGURES}


def test_figures_by_town_by_lawyer_and_in_total_equal_the_records(district):
    first_quarter_records(district)
    report = build_report(Q1, None, gettext=ZH)
    towns = {row.label: figures(row) for row in report.towns}
    assert list(towns) == ["东湖镇", "西山街道"]
    assert towns["东湖镇"] == EAST and towns["西山街道"] == WEST
    total = figures(report.total)
    assert total["sessions_held"] == 3 and total["consultations"] == 2
    assert total["mediations"] == 2 and total["visit_average"] == 4.5
    lawyers = {row.label: figures(row) for row in report.lawyers}
    assert lawyers["张明"]["sessions_held"] == 2 and lawyers["李华"]["sessions_held"] == 1
    assert lawyers["张明"]["consultations"] == 2 and lawyers["李华"]["mediations"] == 1
    assert lawyers["李华"]["cases_closed"] == 1 and lawyers["赵强"]["cases_opened"] == 1
    assert lawyers["王芳"]["worklog"] == 0  # paired, nothing done: still listed
    assert [row.note for row in report.lawyers if row.label == "张明"] == ["明德律师事务所"]
    for figure, _label in FIGURES:  # the tables add up to the total
        if figure not in ("visit_average", "rating_average"):
            assert sum(row.value(figure) for row in report.towns) == total[figure]
            assert sum(row.value(figure) for row in report.lawyers) == total[figure]
    assert report.months == [(dt.date(2026, 1, 1), 1, 1), (dt.date(2026, 2, 1), 1, 1),
                             (dt.date(2026, 3, 1), 2, 1)]


def test_a_report_costs_a_fixed_number_of_queries(district):
    first_quarter_records(district)
    with count_queries() as few:
        build_report(Q1, None, gettext=ZH)
    for pairing in district.pairings:  # four times the records change no query count
        for month in (1, 2, 3):
            session(pairing, dt.date(2026, month, 20))
            log(pairing, dt.date(2026, month, 20), "mediation")
    with count_queries() as more:
        build_report(Q1, None, gettext=ZH)
    assert more.count == few.count <= 16


def test_the_periods_edges_are_the_districts_midnight(district):
    p0 = district.pairings[0]
    late = Event.create(uid="late@test", kind="session", village=p0.village_id, pairing=p0,
                        lawyer=p0.lawyer_id, starts_at=at(dt.date(2026, 3, 31), 23, 30),
                        ends_at=at(dt.date(2026, 3, 31), 23, 50), status="held")
    early = Event.create(uid="early@test", kind="session", village=p0.village_id, pairing=p0,
                         lawyer=p0.lawyer_id, starts_at=at(dt.date(2026, 4, 1), 0, 30),
                         ends_at=at(dt.date(2026, 4, 1), 3), status="held")
    assert late.starts_at.date() == dt.date(2026, 3, 31) == early.starts_at.date()  # UTC
    assert build_report(Q1, gettext=ZH).total.value("sessions_held") == 1
    assert build_report(Period("quarter", 2026, 2), gettext=ZH).total.value("sessions_held") == 1
    assert build_report(Period("month", 2026, 3), gettext=ZH).total.value("sessions_held") == 1
    assert build_report(Period("year", 2026), gettext=ZH).total.value("sessions_held") == 2


def test_a_town_coordinator_reports_on_their_town_only(district):
    first_quarter_records(district)
    report = build_report(Q1, district.users.town_coordinator, gettext=ZH)
    assert report.scope == "东湖镇"
    assert [row.label for row in report.towns] == ["东湖镇"]
    assert figures(report.total) == EAST
    assert {row.label for row in report.lawyers} == {"张明", "李华", "王芳"}
    other = build_report(Q1, district.users.other_town_coordinator, gettext=ZH)
    assert figures(other.total) == WEST and other.scope == "西山街道"


def test_periods_are_read_and_refused_in_words():
    assert parse_period("2026Q1") == Q1 and parse_period(" 2026q4 ").key == "2026Q4"
    assert parse_period("2026-03") == Period("month", 2026, 3)
    assert parse_period("2026") == Period("year", 2026)
    for bad in ("2026Q5", "2026-13", "26Q1", "", None, "2026Q1; drop"):
        with pytest.raises(ValidationError) as refused:
            parse_period(bad)
        assert "不是一个统计期间" in refused.value.translate(ZH)
    assert last_complete_quarter(dt.date(2026, 1, 5)) == Period("quarter", 2025, 4)
    assert period_of("month", dt.date(2026, 12, 7)).next_first == dt.date(2027, 1, 1)
    assert Period("quarter", 2026, 4).last == dt.date(2026, 12, 31)
    assert Q1.label(ZH) == "2026年第1季度"


def test_the_xlsx_and_the_docx_hold_the_pages_figures(district):
    first_quarter_records(district)
    report = build_report(Q1, None, gettext=ZH)
    book = load_workbook(io.BytesIO(report_xlsx(report, ZH, names)))
    assert book.sheetnames == ["按镇(街道)", "按律师", "项目", "坐班按月"]
    by_town = list(book["按镇(街道)"].values)
    assert list(by_town[0]) == ["镇(街道)"] + HEADINGS
    rows = {row[0]: list(row[1:]) for row in by_town[1:]}
    assert rows["东湖镇"] == list(EAST.values())
    assert rows["合计"][HEADINGS.index("坐班已举行")] == 3
    lawyers = {row[0]: row for row in list(book["按律师"].values)[1:]}
    assert lawyers["张明"][1] == "明德律师事务所"

    document = Document(io.BytesIO(report_docx(report, ZH, names)))
    assert document.paragraphs[0].text == "律师与村(居)结对共建：示范区 2026年第1季度工作报告"
    text = "\n".join(p.text for p in document.paragraphs)
    assert "2026-01-01" in text and "2026-03-31" in text
    assert "实际坐班3次" in text  # the summary's figures
    assert ("完成项目任务2项。回访平均满意度为4.5分（满分5分）。"
            "居民有效评价2条，平均3.5分（满分5分）。") in text
    town_table = document.tables[0]
    assert [c.text for c in town_table.rows[0].cells] == ["镇(街道)"] + HEADINGS
    cells = {row.cells[0].text: [c.text for c in row.cells[1:]] for row in town_table.rows[1:]}
    assert cells["东湖镇"] == ["—" if v is None else str(v) for v in EAST.values()]
    assert cells["西山街道"][HEADINGS.index("回访满意度")] == "5.0"
    assert len(document.inline_shapes) == 2  # the two charts


def test_the_quarterly_report_is_prepared_once_on_the_first_workday(district, monkeypatch,
                                                                     tmp_path):
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path))
    q4 = Period("quarter", 2026, 4)
    start = first_workday(q4)
    assert start == dt.date(2026, 10, 8)  # 1-7 October is the National Day holiday
    today = {"value": dt.date(2026, 10, 1)}
    monkeypatch.setattr(clock, "today", lambda: today["value"])
    for day in (dt.date(2026, 10, 1), dt.date(2026, 10, 7)):
        today["value"] = day
        assert jobs.prepare_quarterly_report.call_local() is None
    assert not (tmp_path / "reports").exists()
    today["value"] = start
    folder = jobs.prepare_quarterly_report.call_local()
    assert folder == str(stored_folder(Period("quarter", 2026, 3)))
    assert folder.endswith("reports/2026Q3")
    docx, xlsx = (tmp_path / "reports/2026Q3" / name for name in ("report.docx", "report.xlsx"))
    stamps = docx.stat().st_mtime_ns, xlsx.stat().st_mtime_ns
    notices = list(Notification.select().where(Notification.kind == "report"))
    assert {n.user.username for n in notices} == {"coord"}  # the district's coordinator
    assert notices[0].title == "2026年第3季度工作报告已生成"
    assert notices[0].link == "/reports/?period=2026Q3"
    jobs.prepare_quarterly_report.call_local()  # twice: one report, one notice
    today["value"] = dt.date(2026, 10, 20)  # a later day of the month: nothing new
    prepare_quarterly_report()
    assert (docx.stat().st_mtime_ns, xlsx.stat().st_mtime_ns) == stamps
    assert Notification.select().where(Notification.kind == "report").count() == 1
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["2026Q3"]
    today["value"] = dt.date(2026, 11, 2)  # the quarter's second month: not the day
    assert prepare_quarterly_report() is None


def test_the_job_wakes_daily_at_half_past_seven_district_time():
    def wakes(*utc):
        return any(isinstance(task, jobs.prepare_quarterly_report.task_class)
                   for task in huey.read_periodic(dt.datetime(*utc)))
    assert wakes(2026, 10, 7, 23, 30)  # 8 October 07:30 in Shanghai
    assert not wakes(2026, 10, 8, 7, 30)  # 07:30 UTC is 15:30 there


def test_the_reports_months_are_the_charts_months(district):
    """One count of sessions by month: the report of a year and the charts say the same."""
    first_quarter_records(district)
    for user in (None, district.users.town_coordinator):
        report = build_report(Period("year", 2026), user, gettext=ZH)
        charted = session_months(2026, user=user, today=dt.date(2026, 12, 31))
        assert [(planned, held) for _day, planned, held in report.months] == \
            [(month.planned, month.held) for month in charted]
        assert sum(held for _day, _planned, held in report.months) > 0
        # and the tables' total is the months' sum: one count of the same events
        assert report.total.value("sessions_held") == sum(h for _d, _p, h in report.months)
        assert report.total.value("sessions_planned") == sum(p for _d, p, _h in report.months)
