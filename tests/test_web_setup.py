"""The district set up in the browser: upload, a preview that explains every bad row and
writes nothing, confirmation by token, invitations printed as a sheet, and the invitation
link that lets a person choose a password and lands them on /home."""
import io
import re

from core import invitations
from core.models import AuditLog, District, User, Village
from tests.test_importer import sample_rows, write_csv


def upload(client, path, name=None, **fields):
    return client.post("/admin/setup/preview", data={
        "file": (io.BytesIO(path.read_bytes()), name or path.name), **fields},
        content_type="multipart/form-data")


def test_only_administrators_set_up(app, district, login):
    client = login(district.users.coordinator)
    assert client.get("/admin/setup").status_code == 403
    assert client.post("/admin/setup/invitations").status_code == 403


def test_a_bad_row_is_explained_then_the_fixed_file_imports(app, database, client, tmp_path):
    from core.users import create_user
    from tests.factories import PASSWORD
    create_user("boss", PASSWORD, "admin")
    client.post("/login", data={"username": "boss", "password": PASSWORD})
    assert client.get("/admin/setup").status_code == 200
    rows = sample_rows()
    rows[3]["term_end"] = "2020-01-01"
    bad = upload(client, write_csv(tmp_path / "bad.csv", rows))
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert ">5<" in page and "聘期结束" in page  # the row number and the column, in Chinese
    assert 'name="token"' not in page  # nothing to confirm
    assert not Village.select().exists()

    rows[3]["term_end"] = "2028-12-31"
    assert 'name="district_name"' in page  # no district yet: its name is asked for
    good = upload(client, write_csv(tmp_path / "good.csv", rows), district_name="青山区")
    assert good.status_code == 200
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', good.get_data(as_text=True))
    assert token, good.get_data(as_text=True)
    assert not Village.select().exists()  # the preview wrote nothing
    done = client.post("/admin/setup/import", data={"token": token[1]})
    assert done.status_code == 200
    assert Village.select().count() == 10
    assert District.get().name == "青山区"
    assert 'name="district_name"' not in client.get("/admin/setup").get_data(as_text=True)
    # the same confirmation again finds the upload gone, and says so
    again = client.post("/admin/setup/import", data={"token": token[1]})
    assert again.status_code == 422 and Village.select().count() == 10


def test_an_unreadable_file_is_refused_in_words(app, district, login, tmp_path):
    client = login(district.users.admin)
    path = tmp_path / "roster.xls"
    path.write_bytes(b"not a workbook")
    answer = upload(client, path)
    assert answer.status_code == 422 and ".xlsx" in answer.get_data(as_text=True)
    assert client.post("/admin/setup/preview", data={},
                       content_type="multipart/form-data").status_code == 422


def test_invitations_sheet_and_the_link(app, district, login):
    client = login(district.users.admin)
    listing = client.get("/admin/setup/invitations")
    assert listing.status_code == 200
    sheet = client.post("/admin/setup/invitations", data={})
    assert sheet.status_code == 200
    page = sheet.get_data(as_text=True)
    links = re.findall(r'class="invite-link" href="([^"]+)"', page)
    waiting = User.select().where(User.password_hash == "!invited").count()
    assert len(links) == waiting > 0
    assert page.count("<svg") >= len(links)  # a QR code on each card
    path = links[0].split("localhost", 1)[1]

    client.post("/logout")
    form = client.get(path)
    assert form.status_code == 200
    weak = client.post(path, data={"password": "abc", "confirm": "abc"})
    assert weak.status_code == 422
    chosen = client.post(path, data={"password": "Qingshi#river7", "confirm": "Qingshi#river7"})
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/home")
    assert client.get("/home").status_code == 200
    client.post("/logout")
    used = client.get(path)
    assert used.status_code == 410
    assert AuditLog.select().where(AuditLog.action == "invitation.accept").count() == 1


def test_reissue_from_the_list_kills_the_old_link(app, district, login):
    client = login(district.users.admin)
    [first, *_] = invitations.invite_missing(district.users.admin)
    answer = client.post(f"/admin/setup/invitations/{first.user.id}")
    assert answer.status_code == 200
    client.post("/logout")
    assert client.get(f"/invite/{first.token}").status_code == 410


def test_an_invited_users_page_says_so(app, district, login):
    client = login(district.users.admin)
    [first, *_] = invitations.invite_missing(district.users.admin)
    page = client.get(f"/admin/users/{first.user.id}").get_data(as_text=True)
    assert "尚未设置" in page and "/admin/setup/invitations" in page
    assert "尚未设置" not in client.get(f"/admin/users/{district.users.lawyer.id}").get_data(
        as_text=True)
