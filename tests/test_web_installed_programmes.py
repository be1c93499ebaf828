"""The ten installed programmes through the web: every task type's form is drawn by the
one generic template, refuses an empty submit beside its fields, and completes with the
plugin's example data; every programme page and ledger opens."""
import io
import random
import re

import pytest
from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from core import tasks as service
from core.models import Task, WorkLog
from core.plugins import get_registry

WORK_LOG = {"worklog-mode": "onsite", "worklog-duration": "1", "worklog-result": "已完成"}


@pytest.fixture
def lawyer(district, login, client):
    client.set_cookie("lang", "en")
    return login(district.users.lawyer)


def task_types():
    return sorted(get_registry().task_types.values(), key=lambda t: t.slug)


def test_the_ten_programmes_are_installed(database):
    assert len(get_registry().programs) >= 10


def test_every_task_type_completes_through_the_generic_form(district, lawyer):
    rng = random.Random(4)
    for kind in task_types():
        task = service.assign_task(None, program=kind.program, task_type=kind.slug,
                                   village=district.villages[0])
        url = f"/tasks/{task.id}/complete"
        html = lawyer.get(url).get_data(as_text=True)
        assert 'name="worklog-mode"' in html and "style=" not in html, kind.slug

        empty = lawyer.post(url, data=WORK_LOG)
        if empty.status_code == 422:  # a form with a required field says which, beside it
            assert 'class="field-error"' in empty.get_data(as_text=True), kind.slug
        else:  # nothing is required: it completed; open it again for the example
            assert empty.status_code == 303, kind.slug
            service.reopen_task(None, Task.get_by_id(task.id))

        assert kind.example is not None, f"{kind.slug} has no example"
        data = MultiDict(service.as_formdata(kind.example(rng)))
        data.update(WORK_LOG)
        response = lawyer.post(url, data=data)
        assert response.status_code == 303, (kind.slug, re.findall(
            r'class="field-error"[^>]*>([^<]*)<', response.get_data(as_text=True)))
        assert Task.get_by_id(task.id).status == "done", kind.slug
        assert WorkLog.select().where(WorkLog.task == task.id).count() == 1
        page = lawyer.get(f"/tasks/{task.id}")
        assert page.status_code == 200 and "style=" not in page.get_data(as_text=True)


def test_every_programme_page_and_ledger_opens(district, login, client):
    client.set_cookie("lang", "en")
    coordinator = login(district.users.coordinator)
    assert coordinator.get("/programmes/").status_code == 200
    for slug in get_registry().programs:
        assert coordinator.get(f"/programmes/{slug}").status_code == 200, slug
        response = coordinator.get(f"/programmes/{slug}/ledger.xlsx")
        assert response.status_code == 200, slug
        assert load_workbook(io.BytesIO(response.data)).worksheets, slug
    assert login(district.users.admin).get("/admin/plugins").status_code == 200
