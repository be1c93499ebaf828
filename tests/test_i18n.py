"""Chinese is the default language: every UI string of the core and the web has a zh_CN
translation in the core's catalog. The plugins write their names, labels and choices in
Chinese, and each in-repo plugin's own catalog says all of them in English
(docs/plugins.md, "Translations"): the English UI and JIEDUI_LOCALE=en speak English."""
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from openpyxl import load_workbook

from core.localize import missing
from core.testing import installed_only

ROOT = Path(__file__).resolve().parents[1]
ZH_PO = ROOT / "core/translations/zh/LC_MESSAGES/messages.po"
IN_REPO_PLUGINS = sorted(p.parent.name for p in (ROOT / "plugins").glob("*/__init__.py"))


def _complete(string) -> bool:
    """A translation, with every plural form filled in."""
    return all(string) if isinstance(string, tuple) else bool(string)


def test_every_ui_string_is_translated_to_chinese(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_",
                    "-o", str(pot), "core", "web"], cwd=ROOT, check=True,
                   capture_output=True)
    with pot.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    with ZH_PO.open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and _complete(m.string) and not m.fuzzy}
    missing_ids = sorted(extracted - translated, key=str)
    assert not missing_ids, f"{len(missing_ids)} strings lack a zh_CN translation (run `make " \
        f"extract`):\n" + "\n".join(map(str, missing_ids[:40]))


@pytest.mark.parametrize("plugin", IN_REPO_PLUGINS)
def test_every_string_a_plugin_shows_is_in_its_english_catalog(plugin):
    """Names, a programme's description, form labels, descriptions and choices, and what
    the plugin's code marks with N_ (``core.localize.messages``)."""
    with installed_only(plugin):
        assert missing(plugin, "en") == [], \
            f"translate them in plugins/{plugin}/translations/en/LC_MESSAGES/messages.po " \
            f"(`make plugin-messages` adds them) and `make translations`"


def test_a_page_speaks_chinese_by_default(client, database):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page
    client.get("/lang/en")  # the language switch keeps the choice in a cookie
    english = client.get("/login").get_data(as_text=True)
    assert "Log in" in english and "登录" not in english


@pytest.fixture
def classic_cases():
    with installed_only("classic_cases", "family_visits"):
        yield


def test_the_english_ui_names_programmes_task_types_and_metrics_in_english(
        classic_cases, district, login, client):
    login(district.users.coordinator)
    chinese = client.get("/programmes/").get_data(as_text=True)
    assert "汇编100+经典案例" in chinese and "已发布经典案例" in chinese
    client.get("/lang/en")
    dashboard = client.get("/programmes/").get_data(as_text=True)
    assert "Compile 100+ classic cases" in dashboard and "Classic cases published" in dashboard
    assert "汇编100+经典案例" not in dashboard and "Visit 100+ families" in dashboard
    page = client.get("/programmes/classic_cases").get_data(as_text=True)
    assert "Compile typical cases that explain the law" in page  # the description
    assign = client.get("/tasks/new/task-types?program=classic_cases").get_data(as_text=True)
    assert "Write up a classic case" in assign and "撰写经典案例" not in assign


def test_the_english_ui_shows_a_plugins_form_in_english(classic_cases, district, login, client):
    from core.tasks import assign_task
    task = assign_task(district.users.coordinator, program="classic_cases",
                       task_type="case_writeup", village=district.villages[0])
    login(district.users.lawyer)
    chinese = client.get(f"/tasks/{task.id}/complete").get_data(as_text=True)
    assert "案例标题" in chinese and "婚姻家庭" in chinese
    client.get("/lang/en")
    english = client.get(f"/tasks/{task.id}/complete").get_data(as_text=True)
    assert "Case title" in english and "Type of case" in english
    assert "Marriage and family" in english and "Write up a classic case" in english
    assert "案例标题" not in english and "婚姻家庭" not in english


def test_an_english_ledger_has_english_sheets_headers_and_choices(classic_cases, district):
    from core.ledger import export_ledger
    from core.models import Task
    from core.testing import assign_and_complete
    assign_and_complete(None, None, program="classic_cases", task_type="case_writeup",
                        village=district.villages[0],
                        data={"title": "王某赡养纠纷案", "case_type": "support", "facts": "案情",
                              "legal_points": "要点", "outcome": "结果", "lesson": "启示"})
    book = load_workbook(BytesIO(export_ledger("classic_cases", Task.select(), locale="en")))
    sheet = book["Write up a classic case"]
    header, row = [list(r) for r in sheet.iter_rows(values_only=True, max_row=2)]
    assert header[:3] == ["Case title", "Type of case", "Facts of the case (parties by "
                                                         "pseudonym, e.g. Zhang X)"]
    assert row[:2] == ["王某赡养纠纷案", "Support of parents and children"]  # data stays as typed
    assert "Village" in header  # the core's own columns, in English too
    chinese = load_workbook(BytesIO(export_ledger("classic_cases", Task.select())))
    assert chinese["撰写经典案例"]["A1"].value == "案例标题"


def test_the_command_line_speaks_jiedui_locale(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from web.cli import cli
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path))
    with installed_only("village_rules"):
        monkeypatch.setenv("JIEDUI_LOCALE", "en")
        english = CliRunner().invoke(cli, ["plugins"]).output
        monkeypatch.setenv("JIEDUI_LOCALE", "zh_CN")
        chinese = CliRunner().invoke(cli, ["plugins"]).output
    assert "Revise 100+ village rules" in english and "Villagers' assembly vote" in english
    assert "修订100+村规民约" in chinese and "Revise" not in chinese


def test_a_notice_names_the_programme_in_jiedui_locale(monkeypatch, district):
    from core.models import Notification
    from core.tasks import assign_task
    monkeypatch.setenv("JIEDUI_LOCALE", "en")
    with installed_only("village_rules"):
        assign_task(None, program="village_rules", task_type="rule_draft",
                    village=district.villages[0], title="东湖1村村规民约")
    (notice,) = Notification.select().where(Notification.kind == "tasks_assigned")
    assert "Revise 100+ village rules" in notice.body


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_webs_gettext_says_what_flask_babels_says(app, lang):
    """web.i18n finds the request's catalog once; it is Flask-Babel's, and every msgid
    still translates as Flask-Babel translates it."""
    import flask_babel

    from web import i18n
    with ZH_PO.open("rb") as f:
        msgids = [m.id for m in read_po(f) if m.id and not m.pluralizable]
    with app.test_request_context("/", headers={"Cookie": f"lang={lang}"}):
        assert i18n.translations() is flask_babel.get_translations()
        assert [i18n.gettext(m) for m in msgids] == [flask_babel.gettext(m) for m in msgids]


def test_a_request_that_forces_a_locale_hears_each_locales_words(app):
    from flask import render_template_string
    from flask_babel import force_locale

    from web.i18n import gettext, lazy_gettext
    label = lazy_gettext("Username")
    template = "{{ _('Tasks') }} {{ ngettext('%(num)d row imported.', '%(num)d rows imported.', 3) }}"
    with app.test_request_context("/"):
        assert gettext("Tasks") == "任务" and str(label) == "用户名"
        assert render_template_string(template) == "任务 已导入 3 行。"
        with force_locale("en"):
            assert gettext("Tasks") == "Tasks" and str(label) == "Username"
            assert render_template_string(template) == "Tasks 3 rows imported."
        assert gettext("Tasks") == "任务" and str(label) == "用户名"
        assert render_template_string(template) == "任务 已导入 3 行。"


def test_names_and_plurals_are_put_into_the_translation(app):
    from web.i18n import gettext, ngettext
    with app.test_request_context("/"):
        assert gettext("%(name)s is not a member of this group.", name="王律师") \
            == "王律师 不是本群成员。"
        assert ngettext("%(num)d row imported.", "%(num)d rows imported.", 1) == "已导入 1 行。"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert gettext("%(name)s is not a member of this group.", name="Wang") \
            == "Wang is not a member of this group."
        assert ngettext("%(num)d row imported.", "%(num)d rows imported.", 1) == "1 row imported."
        assert ngettext("%(num)d row imported.", "%(num)d rows imported.", 2) \
            == "2 rows imported."


def test_outside_an_app_the_words_stay_as_written():
    from web.i18n import gettext, lazy_gettext, ngettext
    assert gettext("Tasks") == "Tasks" and str(lazy_gettext("Username")) == "Username"
    assert gettext("%(name)s is not a member of this group.", name="Wang") \
        == "Wang is not a member of this group."
    assert ngettext("%(num)d row imported.", "%(num)d rows imported.", 2) == "2 rows imported."


def test_a_forms_lazy_labels_follow_each_requests_locale(app):
    from web.auth import LoginForm
    for lang, username in (("zh_CN", "用户名"), ("en", "Username"), ("zh_CN", "用户名")):
        with app.test_request_context("/", headers={"Cookie": f"lang={lang}"}):
            form = LoginForm()
            assert str(form.username.label.text) == username
            assert f">{username}</label>" in str(form.username.label())
