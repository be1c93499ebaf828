"""A lawyer completes a programme task on their phone in at most 6 taps (issue 12): from
"my tasks", "完成" opens the completion form in place, the work log's questions are
answered already (now, on site, the programme's duty, the slot's length), the lawyer fills
in what only they know and submits. Every tap, click, and focus-and-type of a field counts
one (typing counts once per field)."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

MAX_TAPS = 6
# Its own task: the demo lawyer's open "visit a key-population person" tasks (programme 3);
# no other end-to-end test completes one.
PROGRAMME = "走访100+重点人群"


class Taps:
    """Counts what the person does: a tap (click) counts one, filling a field counts one
    (tapping into it and typing)."""

    def __init__(self, page):
        self.page, self.count, self.log = page, 0, []

    def tap(self, locator, what: str):
        locator.click()
        self.count += 1
        self.log.append(f"tap {what}")

    def type(self, locator, text: str, what: str):
        locator.fill(text)
        self.count += 1
        self.log.append(f"type {what}")


def test_a_lawyer_completes_a_programme_task_in_at_most_six_taps(phone, live_server):
    log_in(phone, live_server, "lawyer")
    phone.goto(live_server + "/tasks/mine")
    card = phone.locator("li.task-card", has_text=PROGRAMME).last
    expect(card).to_be_visible()
    task_url = card.locator("a.task-title").get_attribute("href")
    task_id = re.search(r"/tasks/(\d+)", task_url).group(1)
    card.scroll_into_view_if_needed()
    phone.shot("task-six-taps-1-my-tasks")

    taps = Taps(phone)
    taps.tap(card.get_by_role("link", name="完成"), "完成 on the task's row")
    form = phone.locator(f"#complete-form-{task_id}")
    expect(form).to_be_visible()
    assert phone.url.endswith("/tasks/mine")  # opened in place, no page load
    # the work log is answered already: now, on site, the programme's duty
    assert form.locator("input[name=worklog-occurred_at]").input_value() != ""
    assert form.locator("select[name=worklog-category]").input_value() == "publicity"
    phone.shot("task-six-taps-2-form-in-place")

    taps.type(form.locator("input[name=person]"), "李秀珍", "the person visited")
    taps.type(form.locator("textarea[name=needs]"), "独居，想了解赡养义务和遗嘱订立", "needs")
    taps.type(form.locator("textarea[name=publicity]"), "讲解《老年人权益保障法》赡养义务，提示防范养老诈骗",
              "publicity given")
    phone.shot("task-six-taps-3-filled", full_page=True)
    taps.tap(form.get_by_role("button", name="确认完成"), "确认完成")

    done = phone.locator(f"#complete-form-{task_id}.task-done")
    expect(done).to_contain_text("已完成")
    done.scroll_into_view_if_needed()
    phone.shot("task-six-taps-4-done")
    assert taps.count <= MAX_TAPS, taps.log

    # the task shows done, and its work-log entry is written with the meaningful text
    entry_link = done.locator("a.done-entry")
    entry_url = entry_link.get_attribute("href")
    phone.goto(live_server + task_url)
    expect(phone.locator(".badge.status-done").first).to_be_visible()
    phone.goto(live_server + entry_url)
    facts = phone.locator("#log-entry")
    expect(facts).to_contain_text("走访重点人群")
    expect(facts).to_contain_text("法治宣传、法律咨询和培训")
    phone.shot("task-six-taps-5-work-log-entry")
    assert phone.console_errors == []
