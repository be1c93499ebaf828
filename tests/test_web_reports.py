"""The reports page (web/reports.py): the figures a coordinator reads, in their scope, the
period chooser and its refusal in Chinese, the downloads (.xlsx, .docx) and the registers,
each audited; lawyers and villages are not let in."""
import datetime as dt
import io
import re

from docx import Document
from openpyxl import load_workbook

from core import clock
from core.models import AuditLog, CaseFile, MajorMatter, ReturnVisit
from tests.test_reports import EAST, HEADINGS, WEST, first_quarter_records


def cells_of(html: str, label: str) -> list[str]:
    """The cells of the table row headed ``label`` (the first such row)."""
    row = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', html, re.S)
    assert row, label
    return re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row[1])


def shown(values: dict) -> list[str]:
    return ["—" if v is None else str(v) for v in values.values()]


def test_the_page_shows_the_periods_figures_by_town_and_lawyer(district, login):
    first_quarter_records(district)
    html = login(district.users.coordinator).get("/reports/?period=2026Q1").get_data(as_text=True)
    assert "<h1>示范区 2026年第1季度工作报告</h1>" in html
    assert cells_of(html, "东湖镇") == shown(EAST) and cells_of(html, "西山街道") == shown(WEST)
    assert cells_of(html, "张明")[HEADINGS.index("法律咨询")] == "2"
    assert 'data-figure="sessions_held">3<' in html
    assert "实际坐班3次" in html  # the summary
    assert 'href="/reports/report.docx?period=2026Q1"' in html
    assert 'href="/reports/report.xlsx?period=2026Q1"' in html
    assert 'href="/reports/matters.xlsx?period=2026Q1"' in html
    assert '<option value="2026Q1" selected>' in html


def test_the_default_is_the_last_complete_quarter(district, login, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 5, 6))
    html = login(district.users.admin).get("/reports/").get_data(as_text=True)
    assert "2026年第1季度工作报告" in html and '<option value="2026Q1" selected>' in html
    assert '<option value="2026-05">2026年5月</option>' in html


def test_a_bad_period_is_refused_in_chinese_and_the_default_shown(district, login):
    client = login(district.users.coordinator)
    for url in ("/reports/?period=2026Q7", "/reports/report.docx?period=abc"):
        answer = client.get(url)
        assert answer.status_code == 422
        html = answer.get_data(as_text=True)
        assert "不是一个统计期间" in html and "<h1>" in html


def test_a_town_coordinator_sees_their_town_only(district, login):
    first_quarter_records(district)
    client = login(district.users.town_coordinator)
    html = client.get("/reports/?period=2026Q1").get_data(as_text=True)
    assert "<h1>东湖镇 2026年第1季度工作报告</h1>" in html
    assert "西山街道" not in html and "赵强" not in html
    book = load_workbook(io.BytesIO(client.get("/reports/report.xlsx?period=2026Q1").data))
    towns = [row[0] for row in list(book["按镇(街道)"].values)[1:]]
    assert towns == ["东湖镇", "合计"]
    pairings = list(load_workbook(io.BytesIO(client.get("/reports/pairings.xlsx").data))
                    .active.values)
    assert {row[0] for row in pairings[1:]} == {"东湖镇"} and len(pairings) == 1 + 3


def test_the_downloads_hold_the_pages_figures_and_are_audited(district, login):
    first_quarter_records(district)
    client = login(district.users.coordinator)
    xlsx = client.get("/reports/report.xlsx?period=2026Q1")
    assert xlsx.status_code == 200 and xlsx.headers["Cache-Control"] == "no-store"
    assert "filename*=UTF-8''" in xlsx.headers["Content-Disposition"]
    rows = {row[0]: list(row[1:]) for row in list(load_workbook(io.BytesIO(xlsx.data))
                                                  ["按镇(街道)"].values)[1:]}
    assert rows["西山街道"] == list(WEST.values())
    docx = client.get("/reports/report.docx?period=2026Q1")
    assert docx.headers["Content-Type"].endswith("wordprocessingml.document")
    table = Document(io.BytesIO(docx.data)).tables[0]
    assert [c.text for c in table.rows[1].cells][1:] == shown(EAST)
    exports = [entry.detail for entry in
               AuditLog.select().where(AuditLog.action == "report.export")]
    assert exports == [{"period": "2026Q1", "format": "xlsx"},
                       {"period": "2026Q1", "format": "docx"}]


def test_the_registers_list_the_periods_records(district, login):
    first_quarter_records(district)
    client = login(district.users.coordinator)
    matters = list(load_workbook(io.BytesIO(
        client.get("/reports/matters.xlsx?period=2026Q1").data)).active.values)
    assert matters[0][:3] == ("报告时间", "类别", "标题")
    assert sorted(row[2] for row in matters[1:]) == sorted(
        m.title for m in MajorMatter.select())
    cases = list(load_workbook(io.BytesIO(
        client.get("/reports/cases.xlsx?period=2026Q1").data)).active.values)
    assert sorted(row[0] for row in cases[1:]) == ["2025-0009", "2026-0001", "2026-0002"]
    assert CaseFile.select().count() == 3
    visits = list(load_workbook(io.BytesIO(
        client.get("/reports/visits.xlsx?period=2026Q1").data)).active.values)
    assert len(visits) == 1 + ReturnVisit.select().count()  # two done, one due and open
    assert {row[7] for row in visits[1:]} == {4, 5, None}
    pairings = list(load_workbook(io.BytesIO(client.get("/reports/pairings.xlsx").data))
                    .active.values)
    assert pairings[0][:7] == ("镇(街道)", "村(居)", "编码", "类型", "律师", "律师事务所", "电话")
    assert [row[4] for row in pairings[1:]] == ["张明", "李华", "王芳", "赵强"]
    assert pairings[1][7] == dt.datetime(2026, 1, 1)  # the term, as dates
    registers = [entry.detail["register"] for entry in
                 AuditLog.select().where(AuditLog.action == "register.export")
                 .order_by(AuditLog.id)]
    assert registers == ["matters", "cases", "visits", "pairings"]


def test_lawyers_and_villages_are_not_let_in(district, login):
    for user in (district.users.lawyer, district.users.village):
        client = login(user)
        for url in ("/reports/", "/reports/report.docx", "/reports/pairings.xlsx",
                    "/reports/cases.xlsx"):
            assert client.get(url).status_code == 403, (user.role, url)


def test_managers_find_the_page_in_the_navigation(district, login):
    html = login(district.users.town_coordinator).get("/reports/").get_data(as_text=True)
    assert 'href="/reports/"' in html and "统计报表" in html
    html = login(district.users.lawyer).get("/").get_data(as_text=True)
    assert 'href="/reports/"' not in html


def test_text_typed_by_people_stays_text_in_the_registers(district, login):
    """A case title or a matter's resolution that looks like a formula is stored as text."""
    from tests.xlsx_support import TRICKY_TEXTS, assert_stored_as_text
    p0 = district.pairings[0]
    for n, text in enumerate(TRICKY_TEXTS, start=1):
        CaseFile.create(number=f"2026-{n:04d}", year=2026, title=text, village=p0.village_id,
                        lawyer=p0.lawyer_id, opened_on=dt.date(2026, 2, n))
    client = login(district.users.coordinator)
    assert_stored_as_text(client.get("/reports/cases.xlsx?period=2026Q1").data)


def test_the_page_shows_the_charts_of_the_docx(district, login):
    first_quarter_records(district)
    day = clock.utc_from_local(dt.date(2026, 2, 2), dt.time(9))
    MajorMatter.create(category="stability", title="区级事项", lawyer=district.lawyers[0],
                       occurred_at=day, reported_at=day, deadline_at=day)  # no village
    client = login(district.users.coordinator)
    html = client.get("/reports/?period=2026Q1").get_data(as_text=True)
    assert 'src="/reports/towns.png?period=2026Q1"' in html
    assert cells_of(html, "区级（无所属村居）")[HEADINGS.index("重大事项报告")] == "1"
    # the caption names the numbered towns (the district level has no sessions: no bar)
    assert "：1 东湖镇 · 2 西山街道</figcaption>" in html
    image = client.get("/reports/months.png?period=2026Q1")
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/reports/towns.png?period=nonsense").status_code == 404
