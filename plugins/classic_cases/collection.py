"""The district's collection of classic cases (经典案例汇编) as a Word document.

A published case is what the programme's metric ``cases_published`` counts
(``core.counted_tasks``): the first done ``case_publish`` task of each title in each
village, in the year it was recorded published, among the tasks the reader may read — so
the collection holds exactly the number the programme's progress shows to the same reader
for the same year (two villages' cases of the same title are two cases, as the progress
counts them). Its text is the latest done write-up of the same title in the same village
(the review and publish stages carry only the title).
"""
from dataclasses import dataclass
from io import BytesIO

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Pt

from core import District, Task, User, counted_tasks, today

from .forms import CASE_TYPES

PROGRAM = "classic_cases"
METRIC = "cases_published"
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SECTIONS = (("facts", "基本案情"), ("legal_points", "法律要点"), ("outcome", "处理结果"),
            ("lesson", "以案释法"))
CHINESE_NUMERALS = "零一二三四五六七八九"
FONT = "宋体"


@dataclass
class PublishedCase:
    title: str
    case_type: str       # Chinese label
    place: str           # village (town) name
    lawyer: str
    published_on: str    # ISO date
    texts: dict          # section key -> text of the write-up


def _done_writeups(titles):
    return (Task.select().where(Task.program == PROGRAM, Task.task_type == "case_writeup",
                                Task.status == "done", Task.subject.in_(list(titles)))
            .order_by(Task.completed_at, Task.id))


def latest_writeups(titles) -> dict[str, Task]:
    """The latest done write-up of each title (later ones replace earlier ones)."""
    return {task.subject: task for task in _done_writeups(titles)}


def _writeups_by_place(titles) -> dict[tuple, Task]:
    """The latest done write-up of each (village, title)."""
    return {(task.village_id, task.subject): task for task in _done_writeups(titles)}


def published_cases(year: int | None = None, user: User | None = None) -> list[PublishedCase]:
    """The published cases (see the module: what ``cases_published`` counts for ``user``,
    None: the whole district) of ``year`` (None: every year), in the order they were
    published (a case published on several channels is one case)."""
    publications = counted_tasks(METRIC, year, user=user)
    writeups = _writeups_by_place({task.subject for task in publications})
    types = {choice.value: choice.label for choice in CASE_TYPES}
    cases = []
    for task in publications:
        title, published_on = task.subject, (task.data or {}).get("published_on") or ""
        writeup = writeups.get((task.village_id, title))
        data = writeup.data if writeup else {}
        cases.append(PublishedCase(
            title=title, case_type=types.get(data.get("case_type"), ""), place=_place(task),
            lawyer=task.assignee.name if task.assignee_id else "",
            published_on=published_on,
            texts={key: data.get(key, "") for key, _ in SECTIONS}))
    return sorted(cases, key=lambda case: (case.published_on, case.title))


def _place(task: Task) -> str:
    if task.village_id:
        return f"{task.village.town.name}{task.village.name}"
    return task.town.name if task.town_id else ""


def _numeral(n: int) -> str:
    """一, 二 … 九十九: the numbering of a Chinese contents list."""
    tens, units = divmod(n, 10)
    if n < 10:
        return CHINESE_NUMERALS[n]
    return (CHINESE_NUMERALS[tens] if tens > 1 else "") + "十" + \
        (CHINESE_NUMERALS[units] if units else "")


def _numbered(n: int) -> str:
    return f"{_numeral(n)}、" if n < 100 else f"{n}."


def _use_chinese_font(document) -> None:
    """Word picks the East Asian font separately; without it Chinese text falls back
    to whatever the reader's Word chooses."""
    for style_name in ("Normal", "Title", "Heading 1", "Heading 2"):
        style = document.styles[style_name]
        style.font.name = FONT
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)


def _title_page(document, district: str, year: int | None, count: int) -> None:
    for _ in range(6):
        document.add_paragraph()
    title = document.add_paragraph(style="Title")
    title.add_run("经典案例汇编")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in (f"{district}律师与村（居）结对共建", f"{year}年" if year else "",
                 f"共收录案例{count}篇", f"{today():%Y年%m月}"):
        if line:
            paragraph = document.add_paragraph(line)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph.runs[0].font.size = Pt(16)
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _contents(document, cases: list[PublishedCase]) -> None:
    document.add_heading("目录", level=1)
    if not cases:
        document.add_paragraph("暂无已发布的案例。")
    for n, case in enumerate(cases, start=1):
        kind = f"（{case.case_type}）" if case.case_type else ""
        document.add_paragraph(f"{_numbered(n)}{case.title}{kind}")
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _case_section(document, n: int, case: PublishedCase) -> None:
    document.add_heading(f"{_numbered(n)}{case.title}", level=1)
    facts = [f"案件类型：{case.case_type}" if case.case_type else "",
             f"村（居）：{case.place}" if case.place else "",
             f"结对律师：{case.lawyer}" if case.lawyer else "",
             f"发布日期：{case.published_on}" if case.published_on else ""]
    document.add_paragraph("　".join(filter(None, facts)))
    for key, heading in SECTIONS:
        document.add_heading(heading, level=2)
        for line in (case.texts.get(key) or "（未填写）").splitlines():
            if line.strip():
                document.add_paragraph(line.strip())


def build_collection(year: int | None = None, user: User | None = None) -> bytes:
    """The collection as .docx bytes: a title page, the contents, one section per case
    (``published_cases``: as many as the progress of ``year`` shows ``user``)."""
    cases = published_cases(year, user)
    district = District.select().first()
    document = Document()
    _use_chinese_font(document)
    document.core_properties.title = "经典案例汇编"
    _title_page(document, district.name if district else "", year, len(cases))
    _contents(document, cases)
    for n, case in enumerate(cases, start=1):
        _case_section(document, n, case)
    output = BytesIO()
    document.save(output)
    return output.getvalue()
