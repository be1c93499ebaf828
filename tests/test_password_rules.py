"""Password rules (core.users.check_password_rules): common passwords and passwords built
from the username are refused with a clear message, in Chinese first; existing users keep
their hashes."""
import pytest
from werkzeug.security import generate_password_hash

from core import users as service
from core.errors import ValidationError
from core.models import User
from tests.factories import PASSWORD

NEW_PASSWORD = "brand-new-pass-9"


COMMON = "This password is too common and easy to guess. Choose another."
HAS_USERNAME = "A password must not contain the username, reversed or not."


@pytest.mark.parametrize("password", [
    "password1", "12345678a", "woaini1314", "qq123456", "a123456789", "1qaz2wsx",
    "Password1!", "P@ssw0rd", "wang123456", "zhang1990", "lvshi888888", "abc20240101",
    "admin2024",
])
def test_common_passwords_are_refused(database, password):
    with pytest.raises(ValidationError) as refused:
        service.check_password_rules(password, "someone")
    assert str(refused.value) == COMMON and refused.value.field == "password"


@pytest.mark.parametrize("username, password", [
    ("wangfang", "wangfang2024"), ("wangfang", "Wangfang-88"), ("wangfang", "gnafgnaw#1"),
    ("wangfang", "my-wangfang-pw"), ("li", "li19851023"), ("li", "Li-888888"),
    ("zhou", "9zhou9zhou"),
])
def test_passwords_built_from_the_username_are_refused(database, username, password):
    with pytest.raises(ValidationError) as refused:
        service.check_password_rules(password, username)
    assert str(refused.value) == HAS_USERNAME


@pytest.mark.parametrize("password", [
    PASSWORD, NEW_PASSWORD, "jiedui-demo", "Qingxi river 7", "lvshi-cunwei-2026", "w8Kd2xq9",
    "liming1962zhou",
])
def test_good_passwords_pass(database, password):
    service.check_password_rules(password, "wangfang")


def test_a_refused_password_speaks_chinese_and_creates_nothing(district, app):
    admin = app.test_client()
    admin.post("/login", data={"username": "admin", "password": PASSWORD})
    count = User.select().count()
    common = admin.post("/admin/users/new", data={
        "username": "wangfang", "role": "coordinator", "password": "woaini1314",
        "confirm": "woaini1314"})
    assert common.status_code == 422
    assert "该密码过于常见，容易被猜中，请另选一个。" in common.get_data(as_text=True)
    own_name = admin.post("/admin/users/new", data={
        "username": "wangfang", "role": "coordinator", "password": "wangfang2024",
        "confirm": "wangfang2024"})
    assert own_name.status_code == 422
    assert "密码不能包含用户名（正写或倒写）。" in own_name.get_data(as_text=True)
    assert User.select().count() == count


def test_existing_passwords_keep_working_under_the_new_rules(district, app):
    village = district.users.village
    User.update(password_hash=generate_password_hash("password1", "pbkdf2:sha256:1000")
                ).where(User.id == village.id).execute()
    client = app.test_client()
    assert client.post("/login", data={"username": village.username,
                                       "password": "password1"}).status_code == 302
    assert client.get("/villages/").status_code == 200
