"""core.localize: a plugin's names, labels and choices in the reader's language, from the
plugin's own catalog (found through its package), and what goes into that catalog."""
import importlib
import sys
import textwrap

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from core.i18n import gettext_for
from core.localize import localized_registry, messages, missing, name_of, template
from core.tasks import build_form
from core.testing import alone

PLUGIN = '''
from wtforms import Form, SelectChoice, SelectField, StringField
from core import Metric, N_, Program, TaskType, hookimpl, gettext_for
from core.formkit import village_choices

NOTE = N_("只在插件代码里的字")


class TalkForm(Form):
    topic = StringField("议题", description="写明议题")
    kind = SelectField("形式", choices=[SelectChoice("talk", "座谈"), SelectChoice("visit", "走访")])
    village = SelectField("村(居)", choices=village_choices)


def note(locale):
    return gettext_for(locale, __package__)(NOTE)


@hookimpl
def register_programs(register):
    register(Program(slug="talks", name="开展座谈", name_en="Hold talks (name_en)",
                     description="与村民座谈"))
    register(Program(slug="talks_too", name="其他座谈", name_en="Other talks"))


@hookimpl
def register_task_types(register):
    register(TaskType(slug="talk", program="talks", name="座谈", form=TalkForm))


@hookimpl
def register_metrics(register):
    register(Metric(slug="talks_held", program="talks", name="已座谈", task_types=("talk",)))
'''
ENGLISH = {"开展座谈": "Hold talks", "与村民座谈": "Talk with villagers", "座谈": "Talk",
           "议题": "Topic", "写明议题": "Say what about", "形式": "Format", "走访": "Visit",
           "已座谈": "Talks held", "只在插件代码里的字": "Words of the plugin's code"}


@pytest.fixture
def talks(tmp_path, monkeypatch):
    """A plugin package outside Jiedui, with an English catalog for all but 村(居) and
    其他座谈 (and 座谈 translated as a task type's name, not as a choice: one msgid)."""
    package = tmp_path / "talks_plugin"
    (package / "translations" / "en" / "LC_MESSAGES").mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    catalog = Catalog(locale="en")
    for chinese, english in ENGLISH.items():
        catalog.add(chinese, english)
    folder = package / "translations" / "en" / "LC_MESSAGES"
    with (folder / "messages.po").open("wb") as po:
        write_po(po, catalog)
    with (folder / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("talks_plugin")
    with alone(("talks", module)):
        yield module
    sys.modules.pop("talks_plugin", None)


def test_names_are_translated_by_the_plugins_catalog(talks):
    english = localized_registry("en")
    assert english.programs["talks"].name == "Hold talks"  # the catalog before name_en
    assert english.programs["talks"].description == "Talk with villagers"
    assert english.programs["talks_too"].name == "Other talks"  # no msgid: name_en
    assert english.task_types["talk"].name == "Talk"
    assert name_of("metric", "talks_held", "en") == "Talks held"
    assert name_of("programme", "gone", "en") == "gone"  # a plugin no longer loaded
    chinese = localized_registry("zh_CN")
    assert chinese.programs["talks"].name == "开展座谈" and chinese.task_types["talk"].name == "座谈"


def test_the_registry_itself_is_never_changed(talks):
    from core.plugins import get_registry
    localized_registry("en")
    assert get_registry().programs["talks"].name == "开展座谈"
    assert localized_registry("zh_CN") is get_registry()  # nothing to translate: itself


def test_a_form_is_built_in_the_readers_language(talks, district):
    english = build_form("talk", locale="en")
    assert (english.topic.label.text, english.topic.description) == ("Topic", "Say what about")
    assert [c.label for c in english.kind.iter_choices()] == ["Talk", "Visit"]
    assert english.village.label.text == "村(居)"  # untranslated: as written
    assert [c.label for c in english.village.iter_choices()][0] == "东湖镇 · 东湖1村"  # data
    chinese = build_form("talk", locale="zh_CN")
    assert (chinese.topic.label.text, chinese.kind.choices[0].label) == ("议题", "座谈")


def test_a_plugin_translates_its_own_marked_strings(talks):
    assert talks.note("en") == "Words of the plugin's code"
    assert talks.note("zh_CN") == "只在插件代码里的字"
    assert gettext_for("en")("只在插件代码里的字") == "只在插件代码里的字"  # not the core's


def test_messages_are_what_the_plugin_shows_and_missing_what_its_catalog_lacks(talks):
    found = messages("talks")
    assert list(found) == ["开展座谈", "与村民座谈", "其他座谈", "座谈", "议题", "写明议题",
                           "形式", "走访", "村(居)", "已座谈", "只在插件代码里的字"]
    assert found["座谈"] == ["task type talk: name", "task type talk: TalkForm.kind: choice talk"]
    assert missing("talks", "en") == ["其他座谈", "村(居)"]
    assert missing("talks", "fr") == list(found)  # no catalog at all
    pot = template("talks")
    assert [m.id for m in pot if m.id] == list(found)


def test_a_plugin_without_a_catalog_reads_as_registered(district):
    from tests.sample_programme import PLUGIN, SampleProgramme
    with alone((PLUGIN, SampleProgramme())):
        english = localized_registry("en")
        assert english.programs["sample_visits"].name == "Sample visits"  # its name_en
        assert english.task_types["sample_visit"].name == "入户走访"
        assert build_form("sample_visit", locale="en").household.label.text == "户主姓名"


def test_a_forms_messages_stay_as_written_when_its_labels_are_translated(district):
    """Labels read English in English; the messages the plugin wrote stay Chinese (not
    "Review date不能晚于今天")."""
    import datetime as dt

    from core.clock import today
    from core.tasks import validate_task_data
    from core.testing import installed_only
    with installed_only("classic_cases"):
        errors = validate_task_data("case_review", {
            "title": "案", "reviewed_on": (today() + dt.timedelta(days=1)).isoformat(),
            "anonymised": "yes", "decision": "approve", "opinion": "同意"}, locale="en")[1]
        assert errors == {"reviewed_on": ["审核日期不能晚于今天"]}
        assert build_form("case_review", locale="en").reviewed_on.label.text == "Review date"
