"""Programme 7, village rules: the four stage forms, their examples, the workflow from
draft to filing (task_completed) and the count of filed rules."""
import datetime as dt

import pytest
from werkzeug.datastructures import MultiDict

from core.clock import today
from core.models import Task
from core.plugins import get_registry
from core.testing import (assert_examples_valid, assert_ledger, date_cell, done, form_errors,
                          installed_only)
from plugins.village_rules.forms import (ISSUES, DraftForm, FilingForm, ReviewForm, VoteForm,
                                         has_quorum)


@pytest.fixture(autouse=True)
def _only_this_programme():
    with installed_only("village_rules"):
        yield


DAY = dt.timedelta(days=1)
TITLE = "东湖1村村规民约（2024年修订）"
STAGES = ("rule_draft", "rule_review", "rule_vote", "rule_filing")


def past(days=3) -> str:
    return (today() - days * DAY).isoformat()


def draft(**changes) -> dict:
    return {"title": TITLE, "drafted_on": past(), "issues": ["married_out_women", "fines"],
            "main_changes": "删除罚款条款；明确外嫁女平等享受集体收益分配。",
            "opinions": "入户征求意见320户，收集意见18条。", **changes}


def review(**changes) -> dict:
    return {"title": TITLE, "reviewed_on": past(), "issues": ["fines"], "content_lawful": "yes",
            "procedure_regular": "yes", "opinion": "内容合法，程序规范。", **changes}


def vote(**changes) -> dict:
    return {"title": TITLE, "voted_on": past(), "meeting_kind": "villagers", "eligible": "800",
            "attended": "520", "in_favour": "470", "outcome": "passed", **changes}


def filing(**changes) -> dict:
    return {"title": TITLE, "filed_on": past(), "filed_with": "东湖镇人民政府",
            "filing_number": "东湖备〔2024〕7号", "published": "yes", **changes}


# --- forms ------------------------------------------------------------------------------

def test_complete_stage_reports_are_valid():
    for form, data in ((DraftForm, draft()), (ReviewForm, review()), (VoteForm, vote()),
                       (FilingForm, filing())):
        assert form_errors(form, data) == {}, form.__name__


def test_the_plans_issues_are_checkable_on_draft_and_review():
    labels = [choice.label for choice in ISSUES]
    assert labels[:5] == ["已嫁未迁女能否享受村集体福利", "再婚人员及其子女的分配",
                          "农转非人员的权益", "村规民约能否设定罚款", "农村人居环境整治"]
    every_issue = [choice.value for choice in ISSUES]
    assert form_errors(DraftForm, draft(issues=every_issue)) == {}
    assert form_errors(ReviewForm, review(issues=every_issue)) == {}
    assert form_errors(DraftForm, draft(issues=["fines", "dowry"])) == \
        {"issues": ["重点问题不在可选范围内，请重新选择"]}


def test_an_empty_draft_names_what_is_missing():
    assert form_errors(DraftForm, {}) == {
        "title": ["请填写村规民约名称，如：东湖村村规民约（2024年修订）"],
        "drafted_on": ["请填写草案完成日期"], "main_changes": ["请填写主要修订内容"],
        "opinions": ["请填写征求村民意见的情况（方式、人次、主要意见）"]}


def test_the_review_records_lawful_content_and_regular_procedure():
    errors = form_errors(ReviewForm, review(content_lawful=None, procedure_regular="maybe",
                                            opinion=""))
    assert errors == {"content_lawful": ["请选择内容是否合法"],
                      "procedure_regular": ["请选择“是”或“否”"],
                      "opinion": ["请填写审查意见；不合法或不规范的，请写明需修改之处"]}


def test_vote_figures_must_add_up():
    assert form_errors(VoteForm, vote(attended="900")) == {"attended": ["实到人数不能超过应到人数"]}
    assert form_errors(VoteForm, vote(in_favour="600")) == {"in_favour": ["赞成人数不能超过实到人数"]}
    assert form_errors(VoteForm, vote(eligible="八百")) == {"eligible": ["应到人数（户数）应为整数"]}
    assert form_errors(VoteForm, vote(eligible="200000")) == \
        {"eligible": ["应到人数（户数）应为0到100000之间的整数"]}


def test_a_meeting_without_quorum_cannot_adopt_rules():
    # 400 of 800 adult villagers is not "more than half"
    assert form_errors(VoteForm, vote(attended="400", in_favour="380")) == \
        {"outcome": ["实到人数未达到法定人数，表决无效：请在符合法定人数的会议上重新表决"]}
    # a representatives' meeting needs two thirds: 20 of 30 is enough, 19 is not
    assert form_errors(VoteForm, vote(meeting_kind="representatives", eligible="30",
                                      attended="20", in_favour="15")) == {}
    assert "outcome" in form_errors(VoteForm, vote(meeting_kind="representatives",
                                                   eligible="30", attended="19", in_favour="15"))


@pytest.mark.parametrize("kind, eligible, attended, expected", [
    ("villagers", 800, 401, True), ("villagers", 800, 400, False),
    ("households", 300, 200, True), ("households", 300, 199, False),
    ("representatives", 31, 21, True), ("representatives", 31, 20, False)])
def test_quorum_follows_the_organic_law(kind, eligible, attended, expected):
    assert has_quorum(kind, eligible, attended) is expected


def test_the_outcome_must_match_the_votes():
    assert form_errors(VoteForm, vote(in_favour="260", outcome="passed")) == \
        {"outcome": ["按实到和赞成人数，表决结果应为“未通过”（须经到会人员过半数同意）"]}
    assert form_errors(VoteForm, vote(in_favour="261", outcome="rejected")) == \
        {"outcome": ["按实到和赞成人数，表决结果应为“通过”（须经到会人员过半数同意）"]}
    assert form_errors(VoteForm, vote(in_favour="260", outcome="rejected")) == {}


def test_filing_names_the_authority_and_is_not_in_the_future():
    errors = form_errors(FilingForm, filing(filed_with=" ", filed_on=(today() + DAY).isoformat()))
    assert errors == {"filed_with": ["请填写备案机关，如：东湖镇人民政府"],
                      "filed_on": ["备案日期不能晚于今天"]}


@pytest.mark.parametrize("slug", STAGES)
def test_examples_are_valid_and_varied(slug):
    assert_examples_valid(slug)


def test_programme_seven_registers_four_stages_and_counts_filings():
    registry = get_registry()
    program = registry.programs["village_rules"]
    assert (program.name, program.order) == ("修订100+村规民约", 7)
    for slug in STAGES:
        assert registry.task_types[slug].subject_field == "title"
    metric = registry.metrics["rules_filed"]
    assert metric.task_types == ("rule_filing",) and metric.distinct_field == "title"


# --- workflow ---------------------------------------------------------------------------

def _complete(user, task, data):
    from core.tasks import complete_task
    return complete_task(user, task, MultiDict(data))


def _waiting(stage):
    return list(Task.select().where(Task.program == "village_rules", Task.task_type == stage,
                                    Task.status.in_(("open", "in_progress"))))


def _start_revision(district):
    from core.tasks import assign_task
    return assign_task(district.users.coordinator, program="village_rules",
                       task_type="rule_draft", village=district.villages[0])


def _next(stage):
    (task,) = _waiting(stage)
    return task


def test_a_revision_moves_stage_by_stage_and_counts_once_filed(district):
    lawyer_user, village = district.users.lawyer, district.villages[0]
    _complete(lawyer_user, _start_revision(district), draft())
    for stage, data in (("rule_review", review()), ("rule_vote", vote()),
                        ("rule_filing", filing())):
        assert done("rules_filed") == 0  # nothing counts before the filing is done
        task = _next(stage)
        assert task.village_id == village.id and task.assignee_id == district.lawyers[0].id
        assert task.assigned_by_id is None  # assigned by the workflow, not a person
        assert task.data["title"] == TITLE and TITLE in task.title
        assert task.due_on > today()
        _complete(lawyer_user, task, data)
    assert done("rules_filed") == 1
    assert not any(_waiting(stage) for stage in STAGES)  # filing ends the revision


def test_a_review_that_finds_a_fault_sends_the_revision_back_to_drafting(district):
    lawyer_user = district.users.lawyer
    _complete(lawyer_user, _start_revision(district), draft())
    _complete(lawyer_user, _next("rule_review"),
              review(content_lawful="no", opinion="第十二条设定罚款，应予删除。"))
    assert _waiting("rule_vote") == []
    redraft = _next("rule_draft")
    assert redraft.data["title"] == TITLE
    _complete(lawyer_user, redraft, draft(main_changes="已删除罚款条款。"))
    _complete(lawyer_user, _next("rule_review"), review(procedure_regular="no"))
    assert _waiting("rule_vote") == [] and len(_waiting("rule_draft")) == 1


def test_a_failed_vote_sends_the_revision_back_to_drafting(district):
    lawyer_user = district.users.lawyer
    _complete(lawyer_user, _start_revision(district), draft())
    _complete(lawyer_user, _next("rule_review"), review())
    _complete(lawyer_user, _next("rule_vote"), vote(in_favour="200", outcome="rejected"))
    assert _waiting("rule_filing") == [] and len(_waiting("rule_draft")) == 1
    assert done("rules_filed") == 0


def test_completing_a_stage_again_does_not_assign_the_next_twice(district):
    from core.tasks import reopen_task
    lawyer_user, coordinator = district.users.lawyer, district.users.coordinator
    first = _complete(lawyer_user, _start_revision(district), draft())
    reopen_task(coordinator, first)
    _complete(lawyer_user, first, draft(opinions="补充征求意见后重新提交。"))
    assert len(_waiting("rule_review")) == 1


def test_a_bad_stage_report_writes_nothing_and_assigns_nothing(district):
    from core.errors import ValidationError
    task = _start_revision(district)
    with pytest.raises(ValidationError):
        _complete(district.users.lawyer, task, draft(main_changes=""))
    assert Task.get_by_id(task.id).status == "open"
    assert _waiting("rule_review") == []


def test_each_village_counts_its_own_filed_rules(district):
    from core.tasks import assign_task
    coordinator = district.users.coordinator
    for village, title in ((district.villages[0], TITLE),
                           (district.villages[0], TITLE),      # filed twice: once
                           (district.villages[1], "东湖2村村规民约（2024年修订）")):
        task = assign_task(coordinator, program="village_rules", task_type="rule_filing",
                           village=village)
        _complete(coordinator, task, filing(title=title))
    assert done("rules_filed") == 2


def test_when_the_lawyer_has_left_the_next_stage_goes_to_the_villages_new_lawyer(district):
    from core.models import Lawyer
    from core.pairings import replace_lawyer
    coordinator = district.users.coordinator
    draft_task = _start_revision(district)
    replace_lawyer(coordinator, district.pairings[0], lawyer=district.lawyers[2], on=today())
    Lawyer.update(active=False).where(Lawyer.id == district.lawyers[0].id).execute()
    _complete(coordinator, draft_task, draft())
    assert _next("rule_review").assignee_id == district.lawyers[2].id


def test_the_ledger_has_a_sheet_per_stage_with_every_report_under_the_forms_labels(district):
    """A revision sent back once by the review: two drafts, two reviews, a vote, a filing."""
    lawyer_user = district.users.lawyer
    redraft = draft(drafted_on=past(1), issues=["living_environment"],
                    main_changes="已删除罚款条款；增加垃圾分类约定。", opinions="再次入户征求意见。")
    refusal = review(reviewed_on=past(2), content_lawful="no", opinion="第十二条设定罚款，应予删除。")
    _complete(lawyer_user, _start_revision(district), draft())
    _complete(lawyer_user, _next("rule_review"), refusal)
    _complete(lawyer_user, _next("rule_draft"), redraft)
    for stage, data in (("rule_review", review()), ("rule_vote", vote()),
                        ("rule_filing", filing())):
        _complete(lawyer_user, _next(stage), data)
    coordinator, place = district.users.coordinator, ["东湖1村", "东湖镇", "张明"]
    issues = "已嫁未迁女能否享受村集体福利, 村规民约能否设定罚款"
    assert_ledger("village_rules", "起草村规民约",
                  ["村规民约名称", "草案完成日期", "涉及的重点问题", "主要修订内容", "征求意见情况"], [
                      [TITLE, date_cell(today() - 3 * DAY), issues, draft()["main_changes"],
                       draft()["opinions"], *place],
                      [TITLE, date_cell(today() - DAY), "农村人居环境整治", redraft["main_changes"],
                       redraft["opinions"], *place]], user=coordinator)
    assert_ledger("village_rules", "村规民约合法性审查",
                  ["村规民约名称", "审查日期", "已审查的重点问题",
                   "内容合法（不与宪法、法律法规和国家政策相抵触）",
                   "程序规范（已征求村民意见、经村党组织和村民委员会讨论）", "审查意见"], [
                      [TITLE, date_cell(today() - 2 * DAY), "村规民约能否设定罚款", "否", "是",
                       refusal["opinion"], *place],
                      [TITLE, date_cell(today() - 3 * DAY), "村规民约能否设定罚款", "是", "是",
                       "内容合法，程序规范。", *place]], user=coordinator)
    assert_ledger("village_rules", "村民会议表决",
                  ["村规民约名称", "表决日期", "会议形式", "应到人数（户数）", "实到人数（户数）",
                   "赞成人数（户数）", "表决结果"], [
                      [TITLE, date_cell(today() - 3 * DAY), "村民会议（本村18周岁以上村民过半数参加）",
                       800, 520, 470, "通过", *place]], user=coordinator)
    assert_ledger("village_rules", "村规民约备案",
                  ["村规民约名称", "备案日期", "备案机关", "备案编号", "已向村（居）民公布"], [
                      [TITLE, date_cell(today() - 3 * DAY), "东湖镇人民政府", "东湖备〔2024〕7号", "是",
                       *place]], user=coordinator)
