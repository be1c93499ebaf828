"""The WeChat group register of a pairing (五.7): rename the group, set its administrator,
add, edit and remove members — core services with their access rules and audit entries,
and the HTMX section on the village page."""
import datetime as dt
import html as html_lib
import re

import pytest

from core import groups
from core.errors import PermissionDenied, ValidationError
from core.i18n import gettext_for
from core.models import AuditLog, WechatGroup, WechatGroupMember
from core.pairings import end_pairing, replace_lawyer
from core.phones import INVALID as BAD_PHONE

HX = {"HX-Request": "true"}
D = dt.date


@pytest.fixture
def group(district):
    """The group of pairing 0 (东湖1村, lawyer 张明) with a village committee member."""
    group = WechatGroup.get(WechatGroup.pairing == district.pairings[0])
    WechatGroupMember.create(group=group, name="王主任", role="village_committee",
                             phone="13900000001")
    return group


def member(group, name):
    return WechatGroupMember.get((WechatGroupMember.group == group)
                                 & (WechatGroupMember.name == name))


def snapshot():
    """Everything the register holds, to show that a refusal wrote nothing."""
    return ([tuple(row) for row in WechatGroup.select().order_by(WechatGroup.id).tuples()],
            [tuple(row) for row in
             WechatGroupMember.select().order_by(WechatGroupMember.id).tuples()],
            AuditLog.select().count())


def entries(action):
    return list(AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id))


def field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<span class="field-error" id="{field_id}-error">([^<]*)<', html)
    return html_lib.unescape(match.group(1)) if match else ""


# --- reading -------------------------------------------------------------------------------

def test_members_are_read_in_the_plans_order_of_roles(district, group):
    WechatGroupMember.create(group=group, name="李助理", role="assistant")
    names = [(m.role, m.name) for m in groups.read_group(district.users.coordinator, group)]
    assert names == [("lawyer", "张明"), ("assistant", "李助理"),
                     ("village_committee", "王主任")]
    assert groups.administrator(group, groups.members_in_role_order(group)).name == "张明"


def test_who_may_read_the_register(district, group):
    u = district.users
    for user in (u.admin, u.coordinator, u.town_coordinator, u.lawyer, None):
        assert groups.read_group(user, group)
    for user in (u.other_town_coordinator, u.village):
        with pytest.raises(PermissionDenied):
            groups.read_group(user, group)
    other_lawyers_group = WechatGroup.get(WechatGroup.pairing == district.pairings[1])
    with pytest.raises(PermissionDenied):
        groups.read_group(u.lawyer, other_lawyers_group)


# --- changing: allowed and refused actors ------------------------------------------------

CHANGES = {
    "rename": lambda g, user: groups.rename_group(user, g, "东湖1村法律服务群"),
    "set_admin": lambda g, user: groups.set_administrator(user, g, member(g, "王主任")),
    "add": lambda g, user: groups.add_member(user, g, name="陈调解", role="mediation"),
    "edit": lambda g, user: groups.edit_member(user, member(g, "王主任"), name="王书记",
                                               role="village_committee", phone=""),
    "remove": lambda g, user: groups.remove_member(user, member(g, "王主任")),
}


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("who", ["admin", "coordinator", "town_coordinator"])
def test_managers_of_the_village_change_the_register(district, group, change, who):
    CHANGES[change](group, getattr(district.users, who))
    (entry,) = AuditLog.select().where(AuditLog.action.startswith("wechat_group."))
    assert (entry.username, entry.object_type, entry.object_id) == (
        getattr(district.users, who).username, "wechat_group", str(group.id))


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("who", ["other_town_coordinator", "lawyer", "village"])
def test_others_may_not_change_the_register(district, group, change, who):
    before = snapshot()
    with pytest.raises(PermissionDenied):
        CHANGES[change](group, getattr(district.users, who))
    assert snapshot() == before


@pytest.mark.parametrize("change", CHANGES)
def test_the_group_of_an_ended_pairing_is_kept_as_it_was(district, group, change):
    end_pairing(None, district.pairings[0], ended_on=D(2026, 6, 30))
    group = WechatGroup.get_by_id(group.id)
    before = snapshot()
    with pytest.raises(ValidationError):
        CHANGES[change](group, district.users.coordinator)
    assert snapshot() == before


# --- each change: what it writes and audits ----------------------------------------------

def test_rename_is_audited_with_before_and_after(district, group):
    groups.rename_group(district.users.coordinator, group, "  东湖1村  法律服务群 ")
    assert WechatGroup.get_by_id(group.id).name == "东湖1村 法律服务群"
    (entry,) = entries("wechat_group.rename")
    assert entry.detail == {"before": {"name": "东湖1村结对律师服务微信群"},
                            "after": {"name": "东湖1村 法律服务群"}}
    # the same name again changes nothing and writes nothing
    groups.rename_group(district.users.coordinator, group, "东湖1村 法律服务群")
    assert len(entries("wechat_group.rename")) == 1


@pytest.mark.parametrize("name, field", [("", "name"), ("   ", "name"), ("群" * 101, "name"),
                                         ("东湖\x01群", "name")])
def test_rename_refuses_bad_names(district, group, name, field):
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        groups.rename_group(district.users.coordinator, group, name)
    assert caught.value.field == field
    assert snapshot() == before


def test_set_administrator(district, group):
    chief = member(group, "王主任")
    groups.set_administrator(district.users.town_coordinator, group, chief)
    assert WechatGroup.get_by_id(group.id).admin_name == "王主任"
    (entry,) = entries("wechat_group.set_admin")
    assert entry.detail == {"before": {"admin_name": "张明"},
                            "after": {"admin_name": "王主任", "member": chief.id}}


def test_the_administrator_is_one_of_the_groups_members(district, group):
    stranger = WechatGroupMember.get(WechatGroupMember.group != group.id)
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        groups.set_administrator(district.users.coordinator, group, stranger)
    assert caught.value.field == "member"
    assert snapshot() == before


def test_add_member(district, group):
    added = groups.add_member(district.users.coordinator, group, name=" 陈  调解 ",
                              role="mediation", phone=" 0571-88886666 ")
    assert (added.name, added.role, added.phone) == ("陈 调解", "mediation", "0571-88886666")
    (entry,) = entries("wechat_group.add_member")
    assert entry.detail == {"member": added.id, "after": {"name": "陈 调解", "role": "mediation",
                                                          "phone": "0571-88886666"}}
    no_phone = groups.add_member(None, group, name="党员甲", role="party_member")
    assert no_phone.phone == ""


@pytest.mark.parametrize("values, field", [
    (dict(name="", role="mediation"), "name"),
    (dict(name="人" * 51, role="mediation"), "name"),
    (dict(name="陈调解", role=""), "role"),
    (dict(name="陈调解", role="mayor"), "role"),
    (dict(name="陈调解", role="lawyer"), "role"),  # the paired lawyer comes with the pairing
    (dict(name="陈调解", role="mediation", phone="12345"), "phone"),
    (dict(name="王主任", role="village_committee"), "name"),  # already there in that role
])
def test_add_member_refuses_bad_values_and_writes_nothing(district, group, values, field):
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        groups.add_member(district.users.coordinator, group, **values)
    assert caught.value.field == field
    assert snapshot() == before


def test_edit_member_audits_before_and_after(district, group):
    chief = member(group, "王主任")
    groups.edit_member(district.users.coordinator, chief, name="王书记", role="party_member",
                       phone="021-57123456")
    chief = WechatGroupMember.get_by_id(chief.id)
    assert (chief.name, chief.role, chief.phone) == ("王书记", "party_member", "021-57123456")
    (entry,) = entries("wechat_group.edit_member")
    assert entry.detail == {
        "member": chief.id,
        "before": {"name": "王主任", "role": "village_committee", "phone": "13900000001"},
        "after": {"name": "王书记", "role": "party_member", "phone": "021-57123456"}}


def test_the_administrators_new_name_follows_them(district, group):
    chief = member(group, "王主任")
    groups.set_administrator(None, group, chief)
    groups.edit_member(None, chief, name="王书记", role="village_committee", phone="")
    assert WechatGroup.get_by_id(group.id).admin_name == "王书记"
    assert entries("wechat_group.edit_member")[0].detail["admin_name"] == "王书记"


def test_the_paired_lawyer_keeps_their_role(district, group):
    lawyer = member(group, "张明")
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        groups.edit_member(district.users.coordinator, lawyer, name="张明", role="assistant")
    assert caught.value.field == "role"
    with pytest.raises(ValidationError) as caught:
        groups.edit_member(district.users.coordinator, member(group, "王主任"), name="王主任",
                           role="lawyer")
    assert caught.value.field == "role"
    assert snapshot() == before
    # their phone in the group may be corrected
    groups.edit_member(district.users.coordinator, lawyer, name="张明", role="lawyer",
                       phone="13700000000")
    assert WechatGroupMember.get_by_id(lawyer.id).phone == "13700000000"


def test_edit_member_refuses_a_bad_phone_and_writes_nothing(district, group):
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        groups.edit_member(district.users.coordinator, member(group, "王主任"), name="王主任",
                           role="village_committee", phone="not a phone")
    assert caught.value.field == "phone" and caught.value.message == BAD_PHONE
    assert snapshot() == before


def test_remove_member(district, group):
    chief = member(group, "王主任")
    groups.remove_member(district.users.coordinator, chief)
    assert not WechatGroupMember.select().where(WechatGroupMember.id == chief.id).exists()
    (entry,) = entries("wechat_group.remove_member")
    assert entry.object_id == str(group.id)
    assert entry.detail == {"member": chief.id, "before": {
        "name": "王主任", "role": "village_committee", "phone": "13900000001"}}


def test_the_paired_lawyer_cannot_be_removed(district, group):
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        groups.remove_member(district.users.admin, member(group, "张明"))
    assert "张明" in caught.value.translate(gettext_for("zh_CN"))
    assert snapshot() == before


def test_the_administrator_is_replaced_before_being_removed(district, group):
    chief = member(group, "王主任")
    groups.set_administrator(None, group, chief)
    before = snapshot()
    with pytest.raises(ValidationError):
        groups.remove_member(district.users.coordinator, chief)
    assert snapshot() == before
    groups.set_administrator(None, group, member(group, "张明"))
    groups.remove_member(district.users.coordinator, member(group, "王主任"))
    assert not WechatGroupMember.select().where(WechatGroupMember.id == chief.id).exists()


def test_a_renamed_group_and_its_village_side_go_to_the_new_lawyer(district, group):
    groups.rename_group(None, group, "东湖1村法律服务群")
    new = replace_lawyer(None, district.pairings[0], lawyer=district.lawyers[3],
                         on=D(2026, 9, 1))
    new_group = groups.group_of(new)
    assert new_group.name == "东湖1村法律服务群" and new_group.admin_name == "赵强"
    assert {(m.name, m.role) for m in new_group.members} == {
        ("赵强", "lawyer"), ("王主任", "village_committee")}


def test_messages_are_in_chinese(district, group):
    with pytest.raises(ValidationError) as caught:
        groups.add_member(None, group, name="人" * 51, role="mediation")
    assert caught.value.translate(gettext_for("zh_CN")) == "最多 50 个字符。"


# --- the web section -----------------------------------------------------------------------

@pytest.fixture
def english(client):
    client.set_cookie("lang", "en")
    return client


def test_village_page_loads_the_section_for_managers_and_the_lawyer(district, login, english):
    for user in (district.users.coordinator, district.users.lawyer):
        html = login(user).get("/villages/T1V1").get_data(as_text=True)
        assert 'hx-get="/groups/village/T1V1"' in html
    html = login(district.users.village).get("/villages/T1V1").get_data(as_text=True)
    assert "/groups/village/T1V1" not in html


def test_section_shows_the_register_with_forms_for_managers(district, group, login, english):
    response = login(district.users.town_coordinator).get("/groups/village/T1V1", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    assert "东湖1村结对律师服务微信群" in html and "王主任" in html and "13900000001" in html
    assert "Paired lawyer" in html and "Village committees" in html
    chief, lawyer = member(group, "王主任"), member(group, "张明")
    for url in (f"/groups/{group.id}/name", f"/groups/{group.id}/administrator",
                f"/groups/{group.id}/members", f"/groups/members/{chief.id}",
                f"/groups/members/{chief.id}/remove", f"/groups/members/{lawyer.id}"):
        assert f'hx-post="{url}"' in html
    # removing asks first; the paired lawyer has no remove button
    assert html.count("hx-confirm=") == 1 and f"/groups/members/{lawyer.id}/remove" not in html
    assert 'hx-trigger="pairingChanged from:body"' in html


def test_section_without_htmx_is_a_full_page(district, group, login, english):
    html = login(district.users.coordinator).get("/groups/village/T1V1").get_data(as_text=True)
    assert "<html" in html and 'id="wechat-group-T1V1"' in html


def test_the_lawyer_reads_the_register_without_forms(district, group, login, english):
    client = login(district.users.lawyer)
    html = client.get("/groups/village/T1V1", headers=HX).get_data(as_text=True)
    assert "王主任" in html and "13900000001" in html and "<form" not in html
    assert client.get("/groups/village/T1V2", headers=HX).status_code == 404  # not theirs


def test_who_may_not_read_the_section(district, group, login):
    assert login(district.users.village).get("/groups/village/T1V1").status_code == 403
    assert login(district.users.other_town_coordinator).get(
        "/groups/village/T1V1").status_code == 404
    assert login(district.users.coordinator).get("/groups/village/NOPE").status_code == 404


def test_an_unpaired_village_has_no_group(district, login, english):
    html = login(district.users.coordinator).get("/groups/village/T2V2", headers=HX).get_data(
        as_text=True)
    assert "no paired lawyer" in html and "<form" not in html


def test_rename_through_the_web(district, group, login, english):
    client = login(district.users.coordinator)
    response = client.post(f"/groups/{group.id}/name", headers=HX,
                           data={"rename-name": "东湖1村法律服务群"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "groupChanged"
    assert "<html" not in html and "The group is now called 东湖1村法律服务群." in html
    assert WechatGroup.get_by_id(group.id).name == "东湖1村法律服务群"


def test_a_refused_rename_is_422_next_to_the_field(district, group, login, english):
    before = snapshot()
    response = login(district.users.coordinator).post(
        f"/groups/{group.id}/name", headers=HX, data={"rename-name": "  "})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "rename-name") == "Enter the group's name."
    assert snapshot() == before


def test_set_administrator_through_the_web(district, group, login, english):
    chief = member(group, "王主任")
    client = login(district.users.coordinator)
    response = client.post(f"/groups/{group.id}/administrator", headers=HX,
                           data={"admin-member": str(chief.id)})
    assert response.status_code == 200 and "王主任 administers the group now." in (
        response.get_data(as_text=True))
    assert WechatGroup.get_by_id(group.id).admin_name == "王主任"
    # another group's member, or garbage, is refused next to the field
    stranger = WechatGroupMember.get(WechatGroupMember.group != group.id)
    before = snapshot()
    for value in (str(stranger.id), "abc", ""):
        response = client.post(f"/groups/{group.id}/administrator", headers=HX,
                               data={"admin-member": value})
        assert response.status_code == 422
        assert field_error(response.get_data(as_text=True), "admin-member")
    assert snapshot() == before


def test_add_member_through_the_web(district, group, login, english):
    client = login(district.users.town_coordinator)
    response = client.post(f"/groups/{group.id}/members", headers=HX, data={
        "add-name": "陈调解", "add-role": "mediation", "add-phone": "13812345678"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "陈调解 was added to the group." in html
    assert member(group, "陈调解").phone == "13812345678"
    assert entries("wechat_group.add_member")[0].address == "127.0.0.1"


def test_a_refused_member_keeps_what_was_typed(district, group, login, english):
    before = snapshot()
    response = login(district.users.coordinator).post(
        f"/groups/{group.id}/members", headers=HX,
        data={"add-name": "陈调解", "add-role": "mediation", "add-phone": "12345"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "add-phone").startswith("12345 is not a phone number")
    assert 'value="陈调解"' in html and 'value="12345"' in html
    assert '<option selected value="mediation">' in html
    assert re.search(r'<details class="panel-form" open>\s*<summary>Add a member', html)
    assert snapshot() == before


def test_errors_are_in_chinese_by_default(district, group, login):
    response = login(district.users.coordinator).post(
        f"/groups/{group.id}/members", headers=HX,
        data={"add-name": "人" * 51, "add-role": "mediation", "add-phone": ""})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "add-name") == "最多 50 个字符。"


def test_edit_member_through_the_web(district, group, login, english):
    chief = member(group, "王主任")
    client = login(district.users.coordinator)
    prefix = f"member-{chief.id}"
    response = client.post(f"/groups/members/{chief.id}", headers=HX, data={
        f"{prefix}-name": "王书记", f"{prefix}-role": "village_committee",
        f"{prefix}-phone": ""})
    assert response.status_code == 200 and "王书记 was saved." in response.get_data(as_text=True)
    assert WechatGroupMember.get_by_id(chief.id).name == "王书记"
    before = snapshot()
    response = client.post(f"/groups/members/{chief.id}", headers=HX, data={
        f"{prefix}-name": "王书记", f"{prefix}-role": "lawyer", f"{prefix}-phone": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and field_error(html, f"{prefix}-role")
    assert re.search(rf'<details class="panel-form" open>\s*<summary>Edit</summary>\s*'
                     rf'<form method="post" action="/groups/members/{chief.id}"', html)
    assert snapshot() == before


def test_remove_member_through_the_web(district, group, login, english):
    chief, lawyer = member(group, "王主任"), member(group, "张明")
    client = login(district.users.coordinator)
    response = client.post(f"/groups/members/{chief.id}/remove", headers=HX)
    assert response.status_code == 200
    assert "王主任 was removed from the group." in response.get_data(as_text=True)
    assert not WechatGroupMember.select().where(WechatGroupMember.id == chief.id).exists()
    before = snapshot()
    response = client.post(f"/groups/members/{lawyer.id}/remove", headers=HX)
    assert response.status_code == 422
    assert "张明 is the paired lawyer" in response.get_data(as_text=True)
    assert snapshot() == before
    assert client.post(f"/groups/members/{chief.id}/remove", headers=HX).status_code == 404


def test_without_htmx_a_change_redirects_back_with_a_message(district, group, login, english):
    client = login(district.users.coordinator)
    response = client.post(f"/groups/{group.id}/name", data={"rename-name": "新群名"},
                           headers={"Referer": "http://localhost/villages/T1V1"})
    assert response.status_code == 302 and response.headers["Location"] == "/villages/T1V1"
    response = client.post(f"/groups/members/{member(group, '张明').id}/remove")
    assert response.status_code == 302
    page = client.get("/groups/village/T1V1").get_data(as_text=True)
    assert "张明 is the paired lawyer" in page


def test_web_changes_are_refused_outside_the_scope(district, group, login):
    chief = member(group, "王主任")
    posts = [(f"/groups/{group.id}/name", {"rename-name": "x"}),
             (f"/groups/{group.id}/administrator", {"admin-member": str(chief.id)}),
             (f"/groups/{group.id}/members", {"add-name": "x", "add-role": "mediation"}),
             (f"/groups/members/{chief.id}", {f"member-{chief.id}-name": "x",
                                              f"member-{chief.id}-role": "mediation"}),
             (f"/groups/members/{chief.id}/remove", {})]
    before = snapshot()
    for user, status in ((district.users.other_town_coordinator, 404),
                         (district.users.lawyer, 403), (district.users.village, 403)):
        client = login(user)
        for url, data in posts:
            assert client.post(url, data=data, headers=HX).status_code == status, (user, url)
    assert snapshot() == before
    assert login(district.users.coordinator).post(
        "/groups/9999/name", data={"rename-name": "x"}).status_code == 404


def test_the_pairing_panel_refreshes_its_group_summary(district, group, login):
    html = login(district.users.coordinator).get("/pairings/village/T1V1/panel",
                                                 headers=HX).get_data(as_text=True)
    assert 'hx-trigger="groupChanged from:body"' in html
