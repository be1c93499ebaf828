"""The audit log viewer and export (/admin/audit): filters in the district's time zone,
pages newest first, the .xlsx export of the filtered rows (itself audited), admins only;
and the log cannot be changed: no route writes to it, the model refuses it."""
import datetime as dt
import io

import pytest
from peewee import ModelDelete
from openpyxl import load_workbook

from core import audit
from core.audit import AuditFilter, record, search
from core.errors import PermissionDenied
from core.models import AuditLog
from tests.xlsx_support import TRICKY_TEXTS, assert_stored_as_text

UTC_EVENING = dt.datetime(2026, 3, 1, 17, 0)  # 2026-03-02 01:00 in Shanghai


@pytest.fixture
def english(client):
    client.set_cookie("lang", "en")


@pytest.fixture
def entries(district):
    """A small log: the admin ending a pairing, a lawyer reading a task, the operator.
    What building the district logged is cleared first (as a reset does)."""
    ModelDelete(AuditLog).execute()
    users = district.users
    pairing = district.pairings[0]
    return {
        "end": AuditLog.create(at=dt.datetime(2026, 2, 27, 3, 0), user=users.admin,
                               username="admin", action="pairing.end", object_type="pairing",
                               object_id=str(pairing.id), detail={"reason": "任期结束"},
                               address="10.0.0.5"),
        "read": AuditLog.create(at=UTC_EVENING, user=users.lawyer,
                                username=users.lawyer.username, action="task.view_sensitive",
                                object_type="task", object_id="7", detail={"fields": ["phone"]},
                                address="192.168.1.20"),
        "job": AuditLog.create(at=dt.datetime(2026, 3, 5, 2, 0), user=None, username="",
                               action="task.schedule_create", detail={"created": 3}),
    }


def actions(query) -> list[str]:
    return [entry.action for entry in query]


# --- the query the page and the export share ---------------------------------------------

def test_search_is_newest_first_and_each_filter_narrows_it(entries):
    assert actions(search()) == ["task.schedule_create", "task.view_sensitive", "pairing.end"]
    assert actions(search(AuditFilter(username="ADM"))) == ["pairing.end"]  # part, any case
    assert actions(search(AuditFilter(action="task.view_sensitive"))) == ["task.view_sensitive"]
    assert actions(search(AuditFilter(object_type="task", object_id="7"))) == [
        "task.view_sensitive"]
    assert actions(search(AuditFilter(object_type="task", object_id="8"))) == []
    assert actions(search(AuditFilter(address="10.0."))) == ["pairing.end"]  # a subnet
    assert actions(search(AuditFilter(address="0.0"))) == []  # the start, not anywhere


def test_dates_are_district_dates_both_included(entries):
    # 17:00 UTC on 1 March is 01:00 on 2 March in Shanghai
    on_second = search(AuditFilter(date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 2)))
    assert actions(on_second) == ["task.view_sensitive"]
    assert actions(search(AuditFilter(date_to=dt.date(2026, 3, 1)))) == ["pairing.end"]
    assert actions(search(AuditFilter(date_from=dt.date(2026, 3, 3)))) == ["task.schedule_create"]


def test_wildcards_in_a_user_name_are_taken_literally(entries):
    assert actions(search(AuditFilter(username="%"))) == []
    assert actions(search(AuditFilter(username="_"))) == []


def test_the_action_choices_are_the_actions_present(entries):
    assert audit.actions_present() == ["pairing.end", "task.schedule_create",
                                       "task.view_sensitive"]


# --- the page ----------------------------------------------------------------------------

def test_admin_sees_the_filtered_entries_with_readable_detail(client, login, district,
                                                              entries, english):
    login(district.users.admin)
    page = client.get("/admin/audit?action=pairing.end").get_data(as_text=True)
    assert "1 entry" in page and "pairing.end" in page and "10.0.0.5" in page
    assert "任期结束" in page  # the JSON detail with its Chinese left readable
    assert "192.168.1.20" not in page and "task.schedule_create</code>" not in page
    assert '<option value="task.view_sensitive"' in page  # the select offers every action


def test_htmx_search_answers_the_results_fragment_only(client, login, district, entries):
    login(district.users.admin)
    response = client.get("/admin/audit?user=adm", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "pairing.end" in body and "task.view_sensitive" not in body


def test_pages_hold_25_entries_newest_first_and_keep_the_filter(client, login, district,
                                                                english):
    ModelDelete(AuditLog).execute()
    start = dt.datetime(2026, 1, 1)
    for n in range(30):
        AuditLog.create(at=start + dt.timedelta(hours=n), username="bulk", action="bulk.test",
                        object_type="task", object_id=str(n))
    AuditLog.create(at=start, username="other", action="other.test")
    login(district.users.admin)
    first = client.get("/admin/audit?action=bulk.test").get_data(as_text=True)
    assert "30 entries" in first and "task 29</code>" in first and "task 5</code>" in first
    assert "task 4</code>" not in first
    assert "action=bulk.test" in first and "page=2" in first  # the next link keeps the filter
    second = client.get("/admin/audit?action=bulk.test&page=2").get_data(as_text=True)
    assert "task 4</code>" in second and "task 0</code>" in second
    assert "task 5</code>" not in second and "other.test</code>" not in second


def test_bad_filter_input_filters_nothing_and_never_fails(client, login, district, entries):
    login(district.users.admin)
    response = client.get("/admin/audit?from=yesterday&to=2026-13-40&page=x&user=" + "a" * 500)
    assert response.status_code == 200


# --- the export --------------------------------------------------------------------------

def test_export_holds_the_filtered_rows_with_headers_and_is_audited(client, login, district,
                                                                    entries, english):
    login(district.users.admin)
    response = client.get("/admin/audit.xlsx?from=2026-03-01&to=2026-03-10")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Time", "User", "Action", "Object", "Changes", "Address", "Action code",
                       "Object type", "Object id", "Detail")
    # in words first (the page's), then as stored
    assert [row[6] for row in rows[1:]] == ["task.schedule_create", "task.view_sensitive"]
    assert [row[2] for row in rows[1:]] == ["Create the scheduled tasks",
                                            "Read a task's sensitive fields"]
    read = rows[2]
    assert read[0] == dt.datetime(2026, 3, 2, 1, 0)  # district time
    assert read[1] == district.users.lawyer.display_name
    assert read[3] == "Task · #7" and read[4] == "Fields: phone"
    assert read[5:9] == ("192.168.1.20", "task.view_sensitive", "task", "7")
    assert '"phone"' in read[9]
    export = AuditLog.get(AuditLog.action == "audit.export")
    assert export.user_id == district.users.admin.id and export.address == "127.0.0.1"
    assert export.detail == {"entries": 2, "filter": {"date_from": "2026-03-01",
                                                      "date_to": "2026-03-10"}}


@pytest.mark.parametrize("role", ["coordinator", "lawyer", "village"])
def test_only_admins_read_or_export_the_log(client, login, district, entries, role):
    login(getattr(district.users, role))
    for url in ("/admin/audit", "/admin/audit.xlsx", "/admin/problems"):
        assert client.get(url).status_code == 403
    assert not AuditLog.select().where(AuditLog.action == "audit.export").exists()


def test_anonymous_users_are_sent_to_the_login(client, database):
    response = client.get("/admin/audit.xlsx")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the log cannot be changed -----------------------------------------------------------

def test_no_route_under_admin_audit_changes_anything(app):
    routes = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/audit")]
    assert {rule.endpoint for rule in routes} == {"admin.audit_log", "admin.audit_export"}
    for rule in routes:
        assert not rule.methods & {"POST", "PUT", "PATCH", "DELETE"}, rule
    for method in ("post", "put", "delete"):
        assert getattr(app.test_client(), method)("/admin/audit").status_code == 405


def test_the_model_is_append_only(district):
    entry = record(district.users.admin, "pairing.end", detail={"n": 1})
    entry.action = "pairing.nothing"
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied):
        AuditLog.update(action="x")
    with pytest.raises(PermissionDenied):
        AuditLog.delete()
    with pytest.raises(PermissionDenied):
        entry.delete_instance()
    stored = AuditLog.get_by_id(entry.id)
    assert (stored.action, stored.detail) == ("pairing.end", {"n": 1})
    before = AuditLog.select().count()
    record(None, "still.appends")  # writing new entries goes on
    assert AuditLog.select().count() == before + 1


def test_a_whole_reset_still_empties_the_log(district):
    from core.demo import delete_everything
    record(district.users.admin, "pairing.end")
    delete_everything()
    assert AuditLog.select().count() == 0


def test_export_stores_text_as_text_never_as_a_formula(district):
    ModelDelete(AuditLog).execute()
    for text in TRICKY_TEXTS:
        AuditLog.create(user=None, username=text, action="x", address=text)
    assert_stored_as_text(audit.export_entries(AuditFilter()))
