"""core.text.clean_text: the one check for text people type (names, titles, notes)."""
import pytest

from core.errors import ValidationError
from core.text import NOT_AN_EMAIL, clean_email, clean_text


@pytest.mark.parametrize("value, kept", [
    ("  王  家\n", "王  家"),
    ("第一行\n第二行\t缩进", "第一行\n第二行\t缩进"),  # a note keeps its lines
    (None, ""),
])
def test_text_is_trimmed_and_keeps_its_lines(value, kept):
    assert clean_text(value, "note", 20) == kept


def test_one_line_text_has_single_spaces():
    assert clean_text(" 湖墩村 结对\n律师  服务群 ", "name", 30, one_line=True) == "湖墩村 结对 律师 服务群"


@pytest.mark.parametrize("value, kwargs, field, message", [
    ("", {"required": "Enter the name."}, "name", "Enter the name."),
    ("   ", {"required": "Enter the name.", "one_line": True}, "name", "Enter the name."),
    ("x" * 6, {}, "name", "At most 5 characters."),
    ("x" * 6, {"too_long": "The comment may have at most %(limit)s characters."}, "name",
     "The comment may have at most 5 characters."),
    ("王\x00家", {}, "name", "This text holds a control character; type it again."),
    ("王\x1b家", {"one_line": True}, "name", "This text holds a control character; type it again."),
])
def test_bad_text_is_refused_on_its_field(value, kwargs, field, message):
    with pytest.raises(ValidationError) as refused:
        clean_text(value, field, 5, **kwargs)
    assert refused.value.field == field and str(refused.value) == message


def test_a_major_matter_with_a_control_character_is_refused_and_not_written(district):
    from core import clock
    from core.matters import report_matter
    from core.models import MajorMatter
    with pytest.raises(ValidationError) as refused:
        report_matter(district.users.lawyer, category="collective", title="上访\x00苗头",
                      occurred_at=clock.now_utc())
    assert refused.value.field == "title" and MajorMatter.select().count() == 0


# --- e-mail addresses (core.text.clean_email) ------------------------------------------------

@pytest.mark.parametrize("value, kept", [
    ("  Zhang.Ming+jiedui@example.org ", "Zhang.Ming+jiedui@example.org"),
    ("li@mail.sf-lawyers.com.cn", "li@mail.sf-lawyers.com.cn"),
    ("wang@例子.中国", "wang@例子.中国"),  # an internationalised domain
    ("", ""),  # no address
])
def test_an_email_address_is_kept_trimmed(value, kept):
    assert clean_email(value) == kept


@pytest.mark.parametrize("value", [
    "zhang", "zhang@example", "zhang@@example.org", "zhang@.example.org", ".zhang@example.org",
    "zhang..ming@example.org", "a b@example.org", "a@example.org, b@example.org",
    "a@example.org;b@example.org", "张明 <zhang@example.org>", "zhang@exa_mple.org",
    "zhang@-example.org", "x" * 65 + "@example.org", "zhang@example.org\nBcc: all@example.org",
])
def test_a_bad_email_address_is_refused_on_its_field(value):
    with pytest.raises(ValidationError) as refused:
        clean_email(value)
    assert refused.value.field == "email"
    assert refused.value.message == NOT_AN_EMAIL
