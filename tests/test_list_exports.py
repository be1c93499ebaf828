"""The villages, lawyers, tasks and quota lists export what they show: the export link is in
the results (so it follows a sort or filter chosen with htmx) and carries the search, the
filters and the order; the .xlsx holds exactly the list's rows, every page, in its order,
with Chinese headers, and is audited; a town coordinator's holds only their town."""
import io
import re
from html import unescape

import pytest
from openpyxl import load_workbook

from core.demo import DEMO_LOGINS
from core.models import AuditLog, Town, User

HTMX = {"HX-Request": "true"}


def _client(app, client, who: str, lang: str | None = "en"):
    username, password = DEMO_LOGINS[who]
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302
    if lang:
        client.set_cookie("lang", lang)
    return client


@pytest.fixture
def coordinator(demo_db, app, client):
    """The demo's district coordinator, reading English; every row on one page, so the
    page shows what every page together shows."""
    app.config["PER_PAGE"] = 10_000
    return _client(app, client, "coordinator")


@pytest.fixture
def town_coordinator(demo_db, app, client):
    app.config["PER_PAGE"] = 10_000
    return _client(app, client, "town coordinator")


def page(client, url) -> str:
    response = client.get(url, headers=HTMX)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    assert "<html" not in html  # the results only, as htmx asks for them
    return html


def cells(html: str, label: str) -> list[str]:
    """The first words of the ``data-label=label`` cells of a page, in order."""
    found = re.findall(rf'<td data-label="{re.escape(label)}"[^>]*>(.*?)</td>', html, re.S)
    return [(unescape(re.sub(r"<[^>]+>", " ", cell)).split() or [""])[0] for cell in found]


def export_link(html: str, path: str) -> str:
    """The results' export link, checked to be the list's own arguments, without a page."""
    link = unescape(re.search(rf'href="({re.escape(path)}[^"]*)"', html).group(1))
    assert "page=" not in link  # every page
    return link


def sheet(client, url) -> tuple[list, list[list]]:
    """The header row and the rows of the export at ``url``."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "no-store" in response.headers["Cache-Control"]
    values = [list(row) for row in load_workbook(io.BytesIO(response.data)).active.values]
    return values[0], values[1:]


def column(header: list, rows: list[list], name: str) -> list:
    at = header.index(name)
    return [row[at] for row in rows]


def _town_of(username: str) -> Town:
    return User.get(User.username == username).town


# --- villages --------------------------------------------------------------------------------

def test_the_villages_export_holds_the_filtered_rows_in_the_lists_order(coordinator):
    town = Town.select().order_by(Town.code).first()
    html = page(coordinator, f"/villages/?town={town.code}&sort=village&dir=desc")
    link = export_link(html, "/villages/export.xlsx")
    assert f"town={town.code}" in link and "sort=village" in link and "dir=desc" in link
    header, rows = sheet(coordinator, link)
    assert header == ["Village", "Code", "Kind", "Town", "Current lawyer", "Term ends"]
    assert column(header, rows, "Code") == cells(html, "Code")
    assert len(rows) > 3 and set(column(header, rows, "Town")) == {town.name}
    names = column(header, rows, "Village")
    assert names == sorted(names, reverse=True)
    entry = AuditLog.select().where(AuditLog.action == "village.export").get()
    assert entry.detail == {"rows": len(rows),
                            "args": {"town": town.code, "sort": "village", "dir": "desc"}}


def test_an_unknown_choice_exports_no_village_and_the_headers_are_chinese(demo_db, app,
                                                                            client):
    chinese = _client(app, client, "coordinator", lang=None)
    header, rows = sheet(chinese, "/villages/export.xlsx?paired=maybe")
    assert rows == []  # an unknown choice matches nothing; it is not ignored
    assert header == ["村(居)", "编码", "类型", "镇(街道)", "当前结对律师", "聘期结束"]
    # the audit entry keeps the arguments as the list read them, never raw input (a
    # control character would break the audit log's own export)
    assert sheet(chinese, "/villages/export.xlsx?q=%01%7F&junk=%01&sort=%01")[1]
    assert AuditLog.select().order_by(AuditLog.id.desc()).get().detail["args"] == {}


# --- lawyers ---------------------------------------------------------------------------------

def test_the_lawyers_export_holds_the_filtered_rows_in_the_lists_order(coordinator):
    html = page(coordinator, "/lawyers/?state=active&sort=villages&dir=desc")
    link = export_link(html, "/lawyers/export.xlsx")
    assert "state=active" in link and "sort=villages" in link and "dir=desc" in link
    header, rows = sheet(coordinator, link)
    assert column(header, rows, "Name") == cells(html, "Name")
    counts = column(header, rows, "Active villages")
    assert counts == [int(count) for count in cells(html, "Active villages")]
    assert counts == sorted(counts, reverse=True) and set(column(header, rows, "Status")) == {
        "Active"}


def test_a_town_coordinators_lawyer_export_counts_only_their_towns_villages(town_coordinator):
    html = page(town_coordinator, "/lawyers/?sort=villages&dir=desc")
    header, rows = sheet(town_coordinator, export_link(html, "/lawyers/export.xlsx"))
    counts = column(header, rows, "Active villages")
    assert counts == [int(count) for count in cells(html, "Active villages")]
    town = _town_of(DEMO_LOGINS["town coordinator"][0])
    assert sum(counts) == town.villages.count()  # every village of theirs is paired in the demo


# --- tasks -----------------------------------------------------------------------------------

def _titles(html: str) -> list[str]:
    return [unescape(title) for title in re.findall(r'href="/tasks/\d+">(.*?)</a>', html)]


def test_the_tasks_export_holds_the_filtered_rows_in_the_lists_order(coordinator):
    html = page(coordinator, "/tasks/?status=open&sort=due&dir=desc")
    link = export_link(html, "/tasks/export.xlsx")
    assert "status=open" in link and "sort=due" in link and "dir=desc" in link
    header, rows = sheet(coordinator, link)
    assert len(rows) > 10 and set(column(header, rows, "Status")) == {"Open"}
    assert column(header, rows, "Task") == _titles(html)  # the titles as the list shows them
    assert [due or "—" for due in column(header, rows, "Due")] == cells(html, "Due")
    lawyers = [name or "—" for name in column(header, rows, "Lawyer")]
    assert lawyers == cells(html, "Lawyer")


def test_a_village_users_task_export_is_the_list_they_see(demo_db, app, client):
    app.config["PER_PAGE"] = 10_000
    village = _client(app, client, "village")
    html = page(village, "/tasks/")
    header, rows = sheet(village, export_link(html, "/tasks/export.xlsx"))
    assert rows and column(header, rows, "Task") == _titles(html)
    assert len(set(column(header, rows, "Village"))) == 1  # their own village's only


# --- the quota -------------------------------------------------------------------------------

def test_the_quota_export_holds_the_filtered_rows_in_the_lists_order(coordinator):
    town = Town.select().order_by(Town.code).first()
    html = page(coordinator, f"/calendar/quota?town={town.code}&sort=remaining&dir=desc")
    link = export_link(html, "/calendar/quota/export.xlsx")
    assert f"town={town.code}" in link and "sort=remaining" in link and "dir=desc" in link
    assert "year=" in link
    header, rows = sheet(coordinator, link)
    assert column(header, rows, "Village") == cells(html, "Village")
    remaining = column(header, rows, "Sessions remaining")
    assert remaining == [int(value) for value in cells(html, "Sessions remaining")]
    assert remaining == sorted(remaining, reverse=True)
    assert rows and set(column(header, rows, "Town")) == {town.name}
    assert AuditLog.select().where(AuditLog.action == "quota.export").count() == 1




# --- a town coordinator's -------------------------------------------------------------------

@pytest.mark.parametrize(("url", "path", "key"), [
    ("/villages/?sort=code", "/villages/export.xlsx", "Code"),
    ("/calendar/quota?sort=held", "/calendar/quota/export.xlsx", "Village"),
    ("/tasks/?sort=village", "/tasks/export.xlsx", None)])
def test_a_town_coordinators_export_holds_only_their_town(town_coordinator, url, path, key):
    town = _town_of(DEMO_LOGINS["town coordinator"][0])
    html = page(town_coordinator, url)
    header, rows = sheet(town_coordinator, export_link(html, path))
    assert rows and set(column(header, rows, "Town")) == {town.name}
    if key is None:  # the tasks: their titles as the list shows them
        assert column(header, rows, "Task") == _titles(html)
    else:
        assert column(header, rows, key) == cells(html, key)


# --- a big export goes through a job ---------------------------------------------------------

@pytest.mark.parametrize("url", ["/tasks/export.xlsx?status=open&sort=lawyer",
                                 "/villages/export.xlsx?sort=lawyer&dir=desc",
                                 "/lawyers/export.xlsx?sort=firm",
                                 "/calendar/quota/export.xlsx?sort=held"])
def test_a_big_list_export_goes_through_a_job_and_gives_the_same_file(coordinator, url,
                                                                       monkeypatch):
    from core.models import LongJob
    direct = sheet(coordinator, url)
    monkeypatch.setenv("JIEDUI_EXPORT_JOB_ROWS", "3")
    response = coordinator.get(url)
    assert response.status_code == 303
    job = LongJob.get()
    assert response.headers["Location"].endswith(f"/jobs/{job.id}") and job.status == "done"
    assert sheet(coordinator, f"/jobs/{job.id}/download") == direct
