"""Programme 9, classic cases: the stage forms, their examples, the workflow from write-up
to publication (task_completed), the count of published cases and the .docx collection
(web and CLI)."""
import datetime as dt
import re
from io import BytesIO

import pytest
from click.testing import CliRunner
from docx import Document
from werkzeug.datastructures import MultiDict

from core.clock import today
from core.db import db
from core.demo import DEMO_LOGINS, DEMO_PASSWORD
from core.models import Task, User
from core.plugins import call_setup_hook, get_registry
from core.progress import program_progress
from core.testing import (assert_examples_valid, assert_ledger, date_cell, done, form_errors,
                          installed_only)
from plugins.classic_cases import CASES as CASE_TEMPLATES
from plugins.classic_cases.collection import DOCX_MIMETYPE, build_collection
from plugins.classic_cases.forms import PublishForm, ReviewForm, WriteUpForm


@pytest.fixture(autouse=True)
def _only_this_programme():
    with installed_only("classic_cases"):
        yield


PROGRAM = "classic_cases"
DAY = dt.timedelta(days=1)
STAGES = ("case_writeup", "case_review", "case_publish")
URL = "/programmes/classic_cases/collection.docx"
CASES = [[text.format(a="王", b="李") for text in case] for case in CASE_TEMPLATES]


def past(days=3) -> str:
    return (today() - days * DAY).isoformat()


def writeup(n=0, **changes) -> dict:
    title, case_type, facts, points, outcome, lesson = CASES[n]
    return {"title": title, "case_type": case_type, "facts": facts, "legal_points": points,
            "outcome": outcome, "lesson": lesson, **changes}


def review(title=CASES[0][0], **changes) -> dict:
    return {"title": title, "reviewed_on": past(), "anonymised": "yes", "decision": "approve",
            "opinion": "同意发布。", **changes}


def publish(title=CASES[0][0], **changes) -> dict:
    return {"title": title, "published_on": past(), "channels": ["wechat", "collection"],
            "link": "https://mp.weixin.qq.com/s/AbC123", **changes}


# --- forms ------------------------------------------------------------------------------

def test_complete_stage_reports_are_valid():
    assert form_errors(WriteUpForm, writeup()) == {}
    assert form_errors(ReviewForm, review()) == {}
    assert form_errors(PublishForm, publish()) == {}
    assert form_errors(PublishForm, publish(link="")) == {}  # the link is optional


def test_an_empty_write_up_names_every_missing_part():
    assert form_errors(WriteUpForm, {}) == {
        "title": ["请填写案例标题"], "case_type": ["请从列表中选择案件类型"],
        "facts": ["请填写基本案情"], "legal_points": ["请填写法律要点（争议焦点与法律分析）"],
        "outcome": ["请填写处理结果"], "lesson": ["请填写以案释法：这个案例告诉村（居）民什么"]}


def test_a_case_with_identifiable_parties_cannot_be_approved():
    assert form_errors(ReviewForm, review(anonymised="no")) == \
        {"decision": ["当事人信息未脱敏的案例不能审核通过，请退回修改"]}
    assert form_errors(ReviewForm, review(anonymised="no", decision="revise")) == {}
    assert form_errors(ReviewForm, review(decision="publish", opinion="")) == {
        "decision": ["审核结论应为“审核通过”或“退回修改”"],
        "opinion": ["请填写审核意见；退回修改的，请写明需修改之处"]}


def test_publication_needs_a_channel_a_past_date_and_a_real_link():
    errors = form_errors(PublishForm, publish(channels=[], link="weixin",
                                              published_on=(today() + DAY).isoformat()))
    assert errors == {"channels": ["请至少选择一个发布渠道"],
                      "link": ["链接应为完整网址，如 https://mp.weixin.qq.com/s/…"],
                      "published_on": ["发布日期不能晚于今天"]}


@pytest.mark.parametrize("slug", STAGES)
def test_examples_are_valid_and_varied(slug):
    assert_examples_valid(slug)


def test_programme_nine_registers_three_stages_and_counts_publications():
    registry = get_registry()
    program = registry.programs["classic_cases"]
    assert (program.name, program.order) == ("汇编100+经典案例", 9)
    for slug in STAGES:
        assert registry.task_types[slug].subject_field == "title"
    metric = registry.metrics["cases_published"]
    assert metric.task_types == ("case_publish",) and metric.distinct_field == "title"


# --- workflow ---------------------------------------------------------------------------

def _complete(user, task, data):
    from core.tasks import complete_task
    return complete_task(user, task, MultiDict(data))


def _waiting(stage):
    return list(Task.select().where(Task.program == "classic_cases", Task.task_type == stage,
                                    Task.status.in_(("open", "in_progress"))))


def _next(stage):
    (task,) = _waiting(stage)
    return task


def _write_up(district, village=None, n=0):
    from core.tasks import assign_task
    task = assign_task(district.users.coordinator, program="classic_cases",
                       task_type="case_writeup", village=village or district.villages[0])
    return _complete(district.users.coordinator, task, writeup(n))


def _publish_case(district, n=0, village=None, **publish_changes):
    """A case taken through every stage."""
    coordinator, title = district.users.coordinator, CASES[n][0]
    _write_up(district, village, n)
    _complete(coordinator, _next("case_review"), review(title))
    _complete(coordinator, _next("case_publish"), publish(title, **publish_changes))


def test_a_case_moves_stage_by_stage_and_counts_once_published(district):
    lawyer_user, title = district.users.lawyer, CASES[0][0]
    _write_up(district)
    for stage, data in (("case_review", review()), ("case_publish", publish())):
        assert done("cases_published") == 0
        task = _next(stage)
        assert (task.village_id, task.assignee_id) == (district.villages[0].id,
                                                       district.lawyers[0].id)
        assert task.data["title"] == title and title in task.title
        _complete(lawyer_user, task, data)
    assert done("cases_published") == 1
    assert not any(_waiting(stage) for stage in STAGES)


def test_a_case_sent_back_is_written_up_again_from_its_text(district):
    _write_up(district)
    _complete(district.users.lawyer, _next("case_review"),
              review(decision="revise", opinion="请补充法律依据。"))
    assert _waiting("case_publish") == []
    again = _next("case_writeup")
    assert again.data == writeup()  # the writer starts from the reviewed text
    assert done("cases_published") == 0


def test_the_ledger_has_a_sheet_per_stage_with_every_report_under_the_forms_labels(district):
    """A case sent back once by the review: two write-ups, two reviews, a publication."""
    lawyer_user, title = district.users.lawyer, CASES[0][0]
    sent_back = review(reviewed_on=past(4), anonymised="no", decision="revise",
                       opinion="请将当事人姓名改为化名。")
    _write_up(district)
    _complete(lawyer_user, _next("case_review"), sent_back)
    rewritten = writeup(facts=CASES[0][2] + "（已脱敏）")
    _complete(lawyer_user, _next("case_writeup"), rewritten)
    _complete(lawyer_user, _next("case_review"), review())
    _complete(lawyer_user, _next("case_publish"), publish(channels=["bureau_site", "wechat"]))
    coordinator, place = district.users.coordinator, ["东湖1村", "东湖镇", "张明"]
    _, _, facts, points, outcome, lesson = CASES[0]
    assert_ledger("classic_cases", "撰写经典案例",
                  ["案例标题", "案件类型", "基本案情（当事人用化名，如张某）", "法律要点", "处理结果",
                   "以案释法"], [
                      [title, "土地承包经营", facts, points, outcome, lesson, *place],
                      [title, "土地承包经营", rewritten["facts"], points, outcome, lesson, *place]],
                  user=coordinator)
    assert_ledger("classic_cases", "审核经典案例",
                  ["案例标题", "审核日期", "当事人信息已脱敏", "审核结论", "审核意见"], [
                      [title, date_cell(today() - 4 * DAY), "否", "退回修改", sent_back["opinion"],
                       *place],
                      [title, date_cell(today() - 3 * DAY), "是", "审核通过", "同意发布。", *place]],
                  user=coordinator)
    assert_ledger("classic_cases", "发布经典案例", ["案例标题", "发布日期", "发布渠道", "链接"], [
        [title, date_cell(today() - 3 * DAY), "区司法局网站, 微信公众号",
         "https://mp.weixin.qq.com/s/AbC123", *place]], user=coordinator)


# --- the collection (汇编) --------------------------------------------------------------

def _texts(content: bytes) -> list[str]:
    return [paragraph.text for paragraph in Document(BytesIO(content)).paragraphs]


def test_the_collection_holds_every_published_case_and_nothing_else(district):
    _publish_case(district, 0, published_on=past(5))
    _publish_case(district, 1, village=district.villages[3], published_on=past(3))
    _write_up(district, n=2)  # written up, not yet reviewed: not in the collection
    texts = _texts(build_collection())
    assert "经典案例汇编" in texts and "示范区律师与村（居）结对共建" in texts
    assert "共收录案例2篇" in texts
    assert f"一、{CASES[0][0]}（土地承包经营）" in texts  # the contents, in publication order
    assert f"二、{CASES[1][0]}（赡养抚养）" in texts
    for n in (0, 1):
        assert texts.count(f"{'一二'[n]}、{CASES[n][0]}") == 1  # the case's own heading
        title, _type, facts, points, outcome, lesson = CASES[n]
        assert {facts, points, outcome, lesson} <= set(texts)
    assert not any(CASES[2][0] in text for text in texts)
    assert any("结对律师：赵强" in text for text in texts)  # village 4's lawyer
    headings = [p.text for p in Document(BytesIO(build_collection())).paragraphs
                if p.style.name == "Heading 2"]
    assert headings == ["基本案情", "法律要点", "处理结果", "以案释法"] * 2


def test_the_collection_of_a_year_and_an_empty_one(district):
    _publish_case(district, 0, published_on=past(0))
    texts = _texts(build_collection(today().year - 1))
    assert "共收录案例0篇" in texts and "暂无已发布的案例。" in texts
    assert "共收录案例1篇" in _texts(build_collection(today().year))


def test_coordinators_download_the_collection(district, login):
    _publish_case(district, 0)
    for user, status in ((district.users.coordinator, 200), (district.users.town_coordinator, 200),
                         (district.users.admin, 200), (district.users.lawyer, 403),
                         (district.users.village, 403)):
        response = login(user).get(URL)
        assert response.status_code == status, user.username
        if status == 200:
            assert response.mimetype == DOCX_MIMETYPE
            assert "attachment" in response.headers["Content-Disposition"]
            assert f"一、{CASES[0][0]}" in _texts(response.data)


def test_the_collection_needs_a_login(district, client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_cases_export_writes_the_collection(district, tmp_path, monkeypatch):
    import web.cli
    _publish_case(district, 0)
    monkeypatch.setenv("JIEDUI_DATABASE_URL", _database_url())
    call_setup_hook("register_commands", cli=web.cli.cli)
    try:
        target = tmp_path / "汇编.docx"
        result = CliRunner().invoke(web.cli.cli, ["cases-export", str(target)])
        assert result.exit_code == 0, result.output
        assert f"一、{CASES[0][0]}" in _texts(target.read_bytes())
        assert str(target) in result.output
    finally:
        web.cli.cli.commands.pop("cases-export", None)


def _database_url() -> str:
    """The test's own database, for a command that opens the database from the settings."""
    from tests.conftest import PG_URL
    return PG_URL or f"sqlite:///{db.obj.database}"


# --- the figures agree: the progress page and the collection ---------------------------------

def test_two_villages_cases_of_one_title_are_two_cases_in_both(district):
    _publish_case(district, 0, published_on=past(5))
    _publish_case(district, 0, village=district.villages[3], published_on=past(3))
    assert program_progress(PROGRAM)[0]["done"] == 2
    assert "共收录案例2篇" in _texts(build_collection(today().year))


def _docx_cases(content: bytes) -> int:
    """The cases a collection holds: its sections' headings."""
    return sum(1 for p in Document(BytesIO(content)).paragraphs if p.style.name == "Heading 1"
               and p.text != "目录")


def test_the_progress_page_counts_the_cases_the_collection_holds_for_the_demo(demo_db, login):
    """The demo showed 101 published on the progress page and 81 in the collection: the
    collection merged two villages' cases of one title. Both now come from
    core.counted_tasks, for the district and for a town's coordinator alike."""
    year = today().year
    coordinator, town_coordinator = (User.get(User.username == DEMO_LOGINS[role][0])
                                     for role in ("coordinator", "town coordinator"))
    for user in (coordinator, town_coordinator):
        client = login(user, DEMO_PASSWORD)
        page = client.get(f"/programmes/{PROGRAM}?year={year}").get_data(as_text=True)
        shown = int(re.search(r'class="metric-total"><span class="big">(\d+)</span>', page)[1])
        assert shown == program_progress(PROGRAM, year, user=user)[0]["done"]
        assert f"/programmes/{PROGRAM}/collection.docx?year={year}" in page
        collection = client.get(f"/programmes/{PROGRAM}/collection.docx?year={year}").data
        assert _docx_cases(collection) == shown, user.username
        assert f"共收录案例{shown}篇" in _texts(collection)
    assert program_progress(PROGRAM, year)[0]["done"] > \
        program_progress(PROGRAM, year, user=town_coordinator)[0]["done"] > 0
