"""At an office PC (1280 × 900): a coordinator sorts the assessment by score with a click on
its header (the lowest first, then the highest), narrows it to 不合格 and keeps the order,
and the export link follows; an administrator reads the audit log in words. Screenshots in
test-output/screenshots/; axe-core finds nothing critical or serious."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.e2e.pagecheck import axe_violations

pytestmark = pytest.mark.e2e


def totals(page) -> list[float]:
    # a total an inspection took points off shows them after it ("73.0 −2.0")
    return [float(text.split()[0]) for text in
            page.locator("#results td[data-label='总分']").all_inner_texts()]


def test_sorting_the_assessment_by_score_puts_the_lowest_first(desk, live_server):
    log_in(desk, live_server, "coordinator")
    desk.goto(live_server + "/assessment/")
    header = desk.locator("#results th", has_text="总分")
    header.locator("a").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(desk).to_have_url(re.compile(r"sort=score"))
    ascending = totals(desk)
    assert ascending == sorted(ascending)
    desk.shot("desk-assessment-by-score")

    desk.locator("#results th", has_text="总分").locator("a").click()  # again: highest first
    expect(desk.locator("#results th", has_text="总分")).to_have_attribute("aria-sort",
                                                                         "descending")
    descending = totals(desk)
    assert descending == sorted(descending, reverse=True) and descending[0] >= ascending[-1]

    # narrowed to a grade, the order stays (the header's choice rides in the search form)
    desk.select_option("select[name=grade]", "pass")
    expect(desk).to_have_url(re.compile(r"grade=pass"))
    expect(desk.locator("#results th", has_text="总分")).to_have_attribute("aria-sort",
                                                                         "descending")
    grades = desk.locator("#results td[data-label='等次']").all_inner_texts()
    assert grades and set(grade.strip() for grade in grades) == {"合格"}
    assert totals(desk) == sorted(totals(desk), reverse=True)
    export = desk.locator("#results a[data-download]").get_attribute("href")
    assert "grade=pass" in export and "sort=score" in export and "dir=desc" in export
    desk.shot("desk-assessment-passing-by-score")

    # the URL alone shows the same view (a bookmark)
    desk.goto(desk.url)
    expect(desk.locator("#results th", has_text="总分")).to_have_attribute("aria-sort",
                                                                         "descending")
    assert axe_violations(desk) == []
    assert desk.console_errors == []


def test_the_audit_log_speaks_words(desk, live_server):
    log_in(desk, live_server, "admin")
    desk.goto(live_server + "/admin/audit")
    first = desk.locator("tr.audit-entry").first
    expect(first).to_be_visible()
    actions = desk.locator("td.audit-action").all_inner_texts()
    assert actions and not any(re.fullmatch(r"[a-z_]+\.[a-z_]+", text.strip())
                               for text in actions)  # labels, not codes
    desk.shot("desk-audit-in-words")
    assert axe_violations(desk) == []
    assert desk.console_errors == []
