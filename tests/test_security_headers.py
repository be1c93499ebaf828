"""Security headers on every kind of response, and no inline code for the content security
policy to forbid: no ``<script>`` without ``src``, no ``<style>``, no ``style=`` or ``on…=``
attribute in any template (core's or a plugin's) or rendered page."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "web" / "templates", *sorted((ROOT / "plugins").glob("*/templates"))]
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "a <script> without src"),
    (re.compile(r"<style\b", re.I), "a <style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on…= event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def _inline_code(text: str) -> list[str]:
    return [what for pattern, what in INLINE if pattern.search(text)]


def _templates():
    return [path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html")]


def test_the_template_folders_are_found():
    assert len(_templates()) > 50
    assert any("plugins" in str(path) for path in _templates())


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_carries_inline_code(path):
    assert _inline_code(path.read_text(encoding="utf-8")) == []


def _assert_headers(response):
    policy = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("Referrer-Policy") == "same-origin"


def test_headers_on_every_kind_of_answer(district, client, login):
    anonymous = {
        "login page": client.get("/login"),
        "redirect to login": client.get("/"),
        "not found": client.get("/no-such-page"),
        "public page": client.get(f"/v/{district.villages[0].code}"),
        "village feed": client.get(f"/v/{district.villages[0].code}/calendar.ics"),
        "static file": client.get("/static/app.css"),
        "unknown feed token": client.get("/feeds/" + "0" * 43 + ".ics"),
    }
    login(district.users.village)
    signed_in = {
        "page": client.get(f"/villages/{district.villages[0].code}"),
        "htmx fragment": client.get("/villages/?q=1", headers={"HX-Request": "true"}),
        "forbidden": client.get("/admin/plugins"),
        "bad request": client.get("/villages/?q=%00"),
    }
    login(district.users.coordinator)
    signed_in["spreadsheet"] = client.get("/assessment/export.xlsx")
    answers = {**anonymous, **signed_in}
    assert {name: r.status_code for name, r in answers.items()} == {
        "login page": 200, "redirect to login": 302, "not found": 404, "public page": 200,
        "village feed": 200, "static file": 200, "unknown feed token": 404, "page": 200,
        "htmx fragment": 200, "forbidden": 403, "bad request": 400, "spreadsheet": 200}
    for name, response in answers.items():
        _assert_headers(response)


def test_rendered_pages_carry_no_inline_code(district, client, login):
    pages = [client.get("/login"), client.get(f"/v/{district.villages[0].code}"),
             client.get("/v/")]
    login(district.users.admin)
    pages += [client.get(url) for url in ("/home", "/coverage", "/villages/", "/tasks/", "/calendar/",
                                          "/admin/plugins", "/programmes/family_visits")]
    for response in pages:
        assert response.status_code == 200
        assert _inline_code(response.get_data(as_text=True)) == [], response.request.path
