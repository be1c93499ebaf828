"""The plugin system: every hook, the checks on what plugins hand over, loading and listing.

Each test registers real in-process plugins (objects with ``@hookimpl`` functions) with
``core.plugins.register_plugin(obj, name="test-…")`` and unregisters them in ``finally``
(``core.testing.registered``, called ``installed`` here). A test whose name contains a hook
name is that hook's test (tests/test_hooks_documented.py checks that every hook has one).
"""
import datetime as dt
import json
import os
import subprocess
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import SimpleNamespace

import click
import pytest

from core.db import transaction
from click.testing import CliRunner
from flask import Blueprint
from flask_login import current_user
from wtforms import Form, StringField

from core import hookimpl
from core import plugins as core_plugins
from core.access import allow
from core.db import db
from core.models import Pairing
from core.pairings import end_pairing, pair, replace_lawyer, update_pairing
from core.plugins import (call_setup_hook, describe, get_plugin_manager,
                          get_registry, notify, plugin_errors, register_plugin,
                          unregister_plugin)
from core.registry import Metric, PluginError, Program, Schedule, TaskType
from core.testing import registered as installed  # (name, plugin) pairs, for the block
from tests import factories
from tests.planning_support import now, published  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
D = dt.date


@pytest.fixture(autouse=True)
def _all_installed_plugins(monkeypatch):
    """Unless a test says otherwise, every installed plugin loads."""
    monkeypatch.delenv("JIEDUI_LOAD_PLUGINS", raising=False)
    core_plugins.reset()


def registering(**makers_by_hook):
    """A plugin whose registration hooks register ``maker()`` for each maker given.

    Values are made inside the hook, as a real plugin does, so an invalid value object
    fails while the plugin is being called."""
    plugin = SimpleNamespace()
    for hook_name, makers in makers_by_hook.items():
        def impl(register, makers=makers):
            for make in makers:
                register(make())
        setattr(plugin, hook_name, hookimpl(impl))
    return plugin


class SurveyForm(Form):
    household = StringField("Household")
    notes = StringField("Notes")
    phone = StringField("Phone")


def program(slug="test_survey", **fields):
    return lambda: Program(**{"slug": slug, "name": "测试调研", **fields})


def task_type(slug="survey_visit", program="test_survey", **fields):
    return lambda: TaskType(**{"slug": slug, "program": program, "name": "走访调研",
                               "form": SurveyForm, **fields})


def metric(slug="households_surveyed", program="test_survey", **fields):
    return lambda: Metric(**{"slug": slug, "program": program, "name": "已调研户数",
                             "task_types": ("survey_visit",), **fields})


def schedule(slug="weekly_survey", program="test_survey", **fields):
    return lambda: Schedule(**{"slug": slug, "program": program, "name": "每周调研",
                               "task_type": "survey_visit", "scope": "village",
                               "cron": {"minute": "0", "hour": "9", "day_of_week": "1"},
                               **fields})


def survey_plugin(**extra):
    """A complete small programme: one programme, task type, metric and schedule."""
    return registering(register_programs=[program()], register_task_types=[task_type()],
                       register_metrics=[metric()], register_schedules=[schedule()], **extra)


def registry_error(*plugins_by_name) -> str:
    """The error that disabled the one broken plugin among ``plugins_by_name``."""
    with installed(*plugins_by_name):
        disabled = get_registry().disabled
    assert len(disabled) == 1, disabled
    return next(iter(disabled.values()))


# --- register_programs ---------------------------------------------------------------

def test_register_programs_lists_the_programme_with_its_plugin():
    with installed(("test-survey", registering(register_programs=[program(target=12)]))):
        registry = get_registry()
        assert registry.programs["test_survey"].target == 12
        assert registry.owners[("programme", "test_survey")] == "test-survey"
        listed = {p["slug"]: p for p in describe()["programs"]}
        assert listed["test_survey"]["plugin"] == "test-survey"
        assert "publicity_videos" in listed  # the installed programme is still there


def test_register_programs_same_slug_from_two_plugins_names_both():
    message = registry_error(("test-first", registering(register_programs=[program("dup")])),
                             ("test-second", registering(register_programs=[program("dup")])))
    assert "'dup'" in message and "test-first" in message and "test-second" in message


def test_register_programs_slug_of_an_installed_plugin_names_both():
    with installed(("test-copycat",
                    registering(register_programs=[program("publicity_videos")]))):
        registry = get_registry()
        message = registry.disabled["test-copycat"]  # the newcomer, not the programme it copies
        assert registry.owners[("programme", "publicity_videos")] == "publicity_videos"
    assert "test-copycat" in message and "plugin 'publicity_videos'" in message


@pytest.mark.parametrize("fields, expected", [
    (dict(slug="Bad Slug"), "slug 'Bad Slug' must be lower-case"),
    (dict(slug="1st"), "slug '1st' must be lower-case"),
    (dict(slug="x" * 49), "at most 48"),
    (dict(name=""), "needs a name"),
    (dict(name="   "), "needs a name"),
    (dict(target=-1), "target must be a positive integer"),
    (dict(target=0), "target must be a positive integer"),
    (dict(target=True), "target must be a positive integer"),
    (dict(target=1.5), "target must be a positive integer"),
    (dict(order="1"), "order must be an integer"),
    (dict(name_en=None), "name_en and description must be text"),
])
def test_register_programs_invalid_programme_names_the_plugin(fields, expected):
    message = registry_error(
        ("test-bad", registering(register_programs=[program(**{"slug": "ok", **fields})])))
    assert "plugin 'test-bad'" in message and expected in message


def test_register_programs_refuses_what_is_not_a_program():
    plugin = registering(register_programs=[lambda: {"slug": "raw", "name": "字典"}])
    message = registry_error(("test-raw", plugin))
    assert "plugin 'test-raw'" in message and "expects Program, got dict" in message


def test_register_programs_bug_in_the_plugin_names_the_plugin_and_hook():
    class Broken:
        @hookimpl
        def register_programs(self, register):
            raise KeyError("oops")

    message = registry_error(("test-broken", Broken()))
    assert "plugin 'test-broken' failed in register_programs" in message and "oops" in message


def test_register_programs_callback_kept_for_later_is_refused():
    kept = []

    class Hoarder:
        @hookimpl
        def register_programs(self, register):
            kept.append(register)

    with installed(("test-hoarder", Hoarder())):
        get_registry()
        with pytest.raises(PluginError, match="test-hoarder.*after the hook returned"):
            kept[0](Program(slug="late", name="迟到"))
        assert "late" not in get_registry().programs


def test_register_programs_broken_plugin_is_left_out_whole_and_the_others_work():
    """Nothing of a broken plugin is used, not even what it registered before failing;
    the installed programmes are all there."""
    bad = registering(register_programs=[program()], register_task_types=[task_type()],
                      register_metrics=[metric(), metric()])  # the metric twice
    with installed(("test-twice", bad)):
        registry = get_registry()
        assert "test-twice" in registry.disabled
        assert "test_survey" not in registry.programs
        assert "survey_visit" not in registry.task_types
        assert "publicity_videos" in registry.programs
        assert [e["plugin"] for e in plugin_errors] == ["test-twice"]  # reported once
        assert get_registry() is registry
    assert get_registry().disabled == {}  # gone with the plugin


def test_register_programs_broken_plugin_is_reported_as_a_problem(database):
    from core.models import Problem
    with installed(("test-zero", registering(register_programs=[program(target=0)]))):
        get_registry()
    problem = Problem.get(Problem.key.contains("test-zero"))
    assert problem.source == "plugin" and "target" in problem.summary


def test_register_task_types_broken_plugin_gives_no_events_to_its_hooks(district):
    class BrokenListener:
        calls = []

        @hookimpl
        def register_task_types(self, register):
            raise RuntimeError("half written")

        @hookimpl
        def pairing_changed(self, pairing, change):
            self.calls.append(change)

    with installed(("test-half", BrokenListener())):
        pair(None, lawyer=district.lawyers[1], village=district.villages[5],
             term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
    assert BrokenListener.calls == []  # disabled as a whole


def test_register_programs_broken_plugin_leaves_the_app_and_the_cli_working(database):
    from web.cli import cli
    bad = registering(register_programs=[program(slug="broken_one", target=0)])
    with installed(("test-zero", bad)):
        app = _create_app()
        with app.test_client() as browser:
            assert browser.get("/login").status_code == 200
        runner = CliRunner()
        assert runner.invoke(cli, ["stats", "--json"]).exit_code == 0
        listed = runner.invoke(cli, ["plugins"])
        assert listed.exit_code == 1  # so a plugin's own CI notices
        assert "test-zero" in listed.output and "[disabled]" in listed.output
        assert "plugin 'test-zero'" in listed.output and "target" in listed.output
        as_json = json.loads(runner.invoke(cli, ["plugins", "--json"]).output)
        assert [d["plugin"] for d in as_json["disabled"]] == ["test-zero"]
        assert "publicity_videos" in {p["slug"] for p in as_json["programs"]}


def test_register_programs_may_take_no_argument():
    """A hook function may take fewer arguments than its spec (pluggy's rule)."""
    class Silent:
        @hookimpl
        def register_programs(self):
            pass

    with installed(("test-silent", Silent())):
        assert "publicity_videos" in get_registry().programs


# --- register_task_types -------------------------------------------------------------

def test_register_task_types_lists_the_task_type_with_its_fields():
    plugin = registering(register_programs=[program()],
                         register_task_types=[task_type(subject_field="household",
                                                        sensitive_fields=["phone"])])
    with installed(("test-survey", plugin)):
        survey = get_registry().task_types["survey_visit"]
        assert survey.sensitive_fields == ("phone",)  # a list is kept as a tuple
        listed = {t["slug"]: t for t in describe()["task_types"]}["survey_visit"]
        assert listed == {"slug": "survey_visit", "program": "test_survey", "name": "走访调研",
                          "fields": ["household", "notes", "phone"],
                          "subject_field": "household", "sensitive_fields": ["phone"],
                          "public_fields": [], "plugin": "test-survey"}


def test_register_task_types_public_fields_are_an_allow_list_with_a_safe_default():
    """What a village and another lawyer may see: a type with sensitive fields shows them
    nothing unless it says so; a type without shows everything (as before the allow-list),
    unless it says less."""
    plugin = registering(register_programs=[program()], register_task_types=[
        task_type("guarded", sensitive_fields=("phone",)),
        task_type("open_record"),
        task_type("narrow", public_fields=["household"]),
        task_type("mixed", sensitive_fields=("phone",), public_fields=("household",))])
    with installed(("test-public", plugin)):
        kinds = get_registry().task_types
        assert [(kinds[s].public_fields, kinds[s].private_fields, kinds[s].is_sensitive)
                for s in ("guarded", "open_record", "narrow", "mixed")] == [
            ((), ("household", "notes", "phone"), True),
            (("household", "notes", "phone"), (), False),
            (("household",), ("notes", "phone"), False),  # a list is kept as a tuple
            (("household",), ("notes", "phone"), True)]


def test_register_task_types_may_extend_another_plugins_programme():
    plugin = registering(register_task_types=[task_type("video_review", "publicity_videos")])
    with installed(("test-extension", plugin)):
        assert get_registry().task_types["video_review"].program == "publicity_videos"


def test_register_task_types_unknown_programme_names_the_plugin():
    message = registry_error(("test-orphan", registering(
        register_task_types=[task_type(program="no_such_programme")])))
    assert "plugin 'test-orphan'" in message
    assert "'survey_visit' names unknown programme 'no_such_programme'" in message


@pytest.mark.parametrize("fields, expected", [
    (dict(form=dict), "form must be a WTForms Form class"),
    (dict(form=SurveyForm()), "form must be a WTForms Form class"),
    (dict(subject_field="address"), "the form has no field 'address'"),
    (dict(sensitive_fields=("phone", "id_card")), "the form has no field 'id_card'"),
    (dict(sensitive_fields="phone"), "sensitive_fields must be a tuple of names"),
    (dict(public_fields=("household", "age")), "the form has no field 'age'"),
    (dict(public_fields="notes"), "public_fields must be a tuple of names"),
    (dict(sensitive_fields=("phone", "notes"), public_fields=("notes", "phone")),
     "notes, phone cannot be both sensitive and public"),
    (dict(name=""), "needs a name"),
    (dict(slug="Survey"), "slug 'Survey'"),
    (dict(template=42), "template must be a template name"),
])
def test_register_task_types_invalid_task_type_names_the_plugin(fields, expected):
    plugin = registering(register_programs=[program()], register_task_types=[task_type(**fields)])
    message = registry_error(("test-bad", plugin))
    assert "plugin 'test-bad'" in message and expected in message


def test_register_task_types_accepts_a_flask_wtf_form():
    from flask_wtf import FlaskForm

    class Signed(FlaskForm):
        household = StringField("Household")

    plugin = registering(register_programs=[program()],
                         register_task_types=[task_type(form=Signed, subject_field="household")])
    with installed(("test-flask-form", plugin)):
        assert get_registry().task_types["survey_visit"].field_names == ["household"]


# --- register_metrics ----------------------------------------------------------------

def test_register_metrics_lists_the_metric():
    plugin = registering(register_programs=[program()],
                         register_task_types=[task_type(subject_field="household")],
                         register_metrics=[metric(distinct_field="household", target=30)])
    with installed(("test-survey", plugin)):
        listed = {m["slug"]: m for m in describe()["metrics"]}["households_surveyed"]
        assert listed == {"slug": "households_surveyed", "program": "test_survey",
                          "name": "已调研户数", "task_types": ["survey_visit"],
                          "distinct_field": "household", "target": 30, "plugin": "test-survey"}


@pytest.mark.parametrize("fields, expected", [
    (dict(task_types=("no_such_type",)), "counts unknown task type 'no_such_type'"),
    (dict(distinct_field="address"),
     "counts distinct 'address', which task type 'survey_visit' has no field for"),
    (dict(program="publicity_videos"),
     "counts task type 'survey_visit' of another programme ('test_survey')"),
    (dict(program="no_such_programme"), "names unknown programme 'no_such_programme'"),
    (dict(task_types=()), "counts no task type"),
    (dict(task_types="survey_visit"), "task_types must be a tuple of names"),
    (dict(target=-5), "target must be a positive integer"),
    (dict(name=""), "needs a name"),
])
def test_register_metrics_invalid_metric_names_the_plugin(fields, expected):
    plugin = registering(register_programs=[program()], register_task_types=[task_type()],
                         register_metrics=[metric(**fields)])
    message = registry_error(("test-bad", plugin))
    assert "plugin 'test-bad'" in message and expected in message


@pytest.mark.parametrize("subject_field, expected", [
    (None, "counts distinct 'household', but task type 'survey_visit' has no subject_field"),
    ("notes", "counts distinct 'household', but task type 'survey_visit' counts subjects by "
              "'notes': distinct_field must be the subject_field of each task type it counts"),
])
def test_register_metrics_distinct_field_must_be_the_subject_field(subject_field, expected):
    """Progress counts distinct Task.subject (the subject field's value) in SQL."""
    plugin = registering(register_programs=[program()],
                         register_task_types=[task_type(subject_field=subject_field)],
                         register_metrics=[metric(distinct_field="household")])
    message = registry_error(("test-bad", plugin))
    assert message.startswith("plugin 'test-bad'") and expected in message


def test_register_metrics_error_names_the_metric_plugin_not_the_programme_plugin():
    programme = registering(register_programs=[program()], register_task_types=[task_type()])
    metrics = registering(register_metrics=[metric(distinct_field="address")])
    message = registry_error(("test-programme", programme), ("test-metrics", metrics))
    assert message.startswith("plugin 'test-metrics'")


# --- register_schedules --------------------------------------------------------------

def test_register_schedules_lists_the_schedule():
    with installed(("test-survey", survey_plugin())):
        listed = {s["slug"]: s for s in describe()["schedules"]}["weekly_survey"]
        assert listed == {"slug": "weekly_survey", "program": "test_survey", "name": "每周调研",
                          "task_type": "survey_visit", "scope": "village",
                          "cron": {"minute": "0", "hour": "9", "day_of_week": "1"},
                          "plugin": "test-survey"}


@pytest.mark.parametrize("fields, expected", [
    (dict(scope="county"), "scope must be one of village, town, district, not 'county'"),
    (dict(cron={"minutes": "0"}), "cron is a dict with some of the keys"),
    (dict(cron={}), "cron is a dict with some of the keys"),
    (dict(cron="0 9 * * 1"), "cron is a dict with some of the keys"),
    (dict(cron={"hour": "25"}), "is not valid (25 is not a valid input)"),
    (dict(cron={"minute": "often"}), "is not valid"),
    (dict(cron={"day_of_week": "*/2"}), "is not valid"),
    (dict(task_type="no_such_type"), "creates unknown task type 'no_such_type'"),
    (dict(program="no_such_programme"), "names unknown programme 'no_such_programme'"),
    (dict(program="publicity_videos"),
     "creates task type 'survey_visit' of another programme ('test_survey')"),
    (dict(name=""), "needs a name"),
])
def test_register_schedules_invalid_schedule_names_the_plugin(fields, expected):
    plugin = registering(register_programs=[program()], register_task_types=[task_type()],
                         register_schedules=[schedule(**fields)])
    message = registry_error(("test-bad", plugin))
    assert "plugin 'test-bad'" in message and expected in message


# --- register_blueprints -------------------------------------------------------------

class HelloPages:
    """A plugin with one page for logged-in users (a plugin never imports ``web``)."""

    @hookimpl
    def register_blueprints(self, app):
        bp = Blueprint("test_hello", __name__, url_prefix="/test-hello")

        @bp.route("/")
        @allow("admin", "coordinator")
        def index():
            return f"hello {current_user.user.role}"

        @bp.route("/unmarked")
        def unmarked():  # no access rule: the app refuses it
            return "should never be served"

        app.register_blueprint(bp)


def _create_app():
    from web import create_app
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def test_register_blueprints_plugin_page_is_reachable(district):
    with installed(("test-hello", HelloPages())):
        client = _create_app().test_client()  # registered before the app is built
        assert client.get("/test-hello/").status_code == 302  # anonymous: to the login
        client.post("/login", data={"username": "coord", "password": factories.PASSWORD})
        response = client.get("/test-hello/")
        assert response.status_code == 200 and response.text == "hello coordinator"
        assert client.get("/test-hello/unmarked").status_code == 403


def test_register_blueprints_failure_names_the_plugin(database):
    class Broken:
        @hookimpl
        def register_blueprints(self, app):
            raise RuntimeError("no templates folder")

    with installed(("test-broken-pages", Broken())):
        app = _create_app()  # starts, without the broken plugin
        assert get_registry().disabled["test-broken-pages"] == (
            "plugin 'test-broken-pages' failed in register_blueprints: "
            "RuntimeError: no templates folder")
        assert "programs.detail" in app.view_functions


def test_register_blueprints_name_clash_with_core_names_the_plugin(database):
    class Clash:
        @hookimpl
        def register_blueprints(self, app):
            app.register_blueprint(Blueprint("auth", __name__, url_prefix="/x"))

    with installed(("test-clash", Clash())):
        app = _create_app()
        assert "'auth'" in get_registry().disabled["test-clash"]
        assert app.blueprints["auth"].url_prefix != "/x"  # the core's stays


# --- register_commands ---------------------------------------------------------------

class Greeter:
    @hookimpl
    def register_commands(self, cli):
        @cli.command(name="test-greet")
        @click.argument("who")
        def greet(who):
            """Say hello (a plugin command)."""
            click.echo(f"你好, {who}")


def test_register_commands_plugin_command_runs_in_the_jiedui_group():
    from web.cli import cli
    try:
        with installed(("test-greeter", Greeter())):
            call_setup_hook("register_commands", cli=cli)
            call_setup_hook("register_commands", cli=cli)  # again: its own command, no error
        runner = CliRunner()
        assert "test-greet" in runner.invoke(cli, ["--help"]).output
        result = runner.invoke(cli, ["test-greet", "张明"])
        assert result.exit_code == 0 and result.output == "你好, 张明\n"
    finally:
        cli.commands.pop("test-greet", None)


def test_register_commands_may_not_replace_a_core_command():
    from web.cli import cli
    core_init = cli.commands["init"]

    class Hijacker:
        @hookimpl
        def register_commands(self, cli):
            @cli.command(name="init")
            def init():
                click.echo("hijacked")

    with installed(("test-hijacker", Hijacker())):
        call_setup_hook("register_commands", cli=cli)
        assert get_registry().disabled["test-hijacker"] == (
            "plugin 'test-hijacker' replaced the command 'init' of jiedui")
    assert cli.commands["init"] is core_init  # put back


def test_register_commands_broken_plugin_is_named_and_left_out(capsys):
    from web.cli import main

    class Broken:
        @hookimpl
        def register_commands(self, cli):
            raise ImportError("no module named videos_extra")

    with installed(("test-broken-cli", Broken())):
        with pytest.raises(SystemExit) as exited:
            main(["plugins"])
        assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "test-broken-cli" in err and "failed in register_commands" in err


# --- pairing_changed -----------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.calls = []

    @hookimpl
    def pairing_changed(self, pairing, change):
        # in_transaction() is False once the change is committed
        self.calls.append((pairing.id, change, db.in_transaction()))


def test_pairing_changed_fires_paired_updated_ended_after_commit(district):
    recorder = Recorder()
    with installed(("test-recorder", recorder)):
        new = pair(None, lawyer=district.lawyers[0], village=district.villages[4],
                   term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
        update_pairing(None, new, term_start=D(2026, 1, 1), term_end=D(2027, 12, 31))
        end_pairing(None, new, ended_on=D(2026, 6, 30))
    assert recorder.calls == [(new.id, "paired", False), (new.id, "updated", False),
                              (new.id, "ended", False)]


def test_pairing_changed_replacement_sends_ended_then_paired(district):
    recorder = Recorder()
    old = district.pairings[0]
    with installed(("test-recorder", recorder)):
        new = replace_lawyer(None, old, lawyer=district.lawyers[3], on=D(2026, 9, 1))
    assert recorder.calls == [(old.id, "ended", False), (new.id, "paired", False)]


def test_pairing_changed_failing_plugin_stops_neither_others_nor_the_pairing(district):
    class Failing:
        @hookimpl
        def pairing_changed(self, pairing, change):
            raise RuntimeError("sms gateway down")

    before, after = Recorder(), Recorder()
    # pluggy calls the last registered first: "test-after" runs after the failing one
    with installed(("test-after", after), ("test-failing", Failing()), ("test-before", before)):
        pairing = pair(None, lawyer=district.lawyers[1], village=district.villages[5],
                       term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
    assert before.calls == after.calls == [(pairing.id, "paired", False)]
    assert Pairing.get_by_id(pairing.id).status == "active"
    assert len(plugin_errors) == 1
    error = plugin_errors[0]
    assert (error["plugin"], error["hook"]) == ("test-failing", "pairing_changed")
    assert error["error"] == "RuntimeError: sms gateway down" and error["at"]


def test_pairing_changed_deferred_until_commit_and_dropped_on_rollback(district):
    """What the importer relies on: one transaction, events only if it commits."""
    recorder = Recorder()
    with installed(("test-recorder", recorder)):
        with pytest.raises(RuntimeError):
            with transaction():
                pair(None, lawyer=district.lawyers[1], village=district.villages[4],
                     term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
                raise RuntimeError("a bad row further down")
        assert recorder.calls == [] and Pairing.select().count() == 4  # rolled back, silent
        with transaction():
            first = pair(None, lawyer=district.lawyers[1], village=district.villages[4],
                         term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
            second = pair(None, lawyer=district.lawyers[2], village=district.villages[5],
                          term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
            assert recorder.calls == []  # held while the transaction is open
    assert recorder.calls == [(first.id, "paired", False), (second.id, "paired", False)]


def test_pairing_changed_may_take_only_the_change():
    changes = []
    plugin = SimpleNamespace(pairing_changed=hookimpl(lambda change: changes.append(change)))
    with installed(("test-changes", plugin)):
        notify("pairing_changed", pairing=object(), change="ended")
    assert changes == ["ended"]


def test_pairing_changed_errors_are_kept_bounded_and_reset():
    def fail(pairing, change):
        raise ValueError(change)

    with installed(("test-noisy", SimpleNamespace(pairing_changed=hookimpl(fail)))):
        for i in range(core_plugins.MAX_ERRORS + 5):
            notify("pairing_changed", pairing=None, change=str(i))
    assert len(plugin_errors) == core_plugins.MAX_ERRORS
    assert plugin_errors[-1]["error"] == f"ValueError: {core_plugins.MAX_ERRORS + 4}"
    core_plugins.reset()
    assert plugin_errors == []


# --- task_completed --------------------------------------------------------------------

class CompletionRecorder:
    def __init__(self):
        self.calls = []

    @hookimpl
    def task_completed(self, task):
        self.calls.append((task.id, task.status, task.subject, db.in_transaction()))


def test_task_completed_fires_after_commit_with_the_done_task(district):
    from core.errors import ValidationError
    from core.tasks import assign_task, complete_task
    from tests.tasks_support import VisitsPlugin, visit_data

    recorder = CompletionRecorder()
    with installed(("test-visits", VisitsPlugin(schedules=False)), ("test-recorder", recorder)):
        task = assign_task(None, program="test_visits", task_type="test_visit",
                           village=district.villages[0])
        with pytest.raises(ValidationError):
            complete_task(None, task, visit_data(household=""))
        assert recorder.calls == []  # nothing completed, nothing announced
        complete_task(district.users.lawyer, task, visit_data(household="王家"))
    assert recorder.calls == [(task.id, "done", "王家", False)]


def test_task_completed_failing_plugin_stops_neither_others_nor_the_completion(district):
    from core.models import Task, WorkLog
    from core.tasks import assign_task, complete_task
    from tests.tasks_support import VisitsPlugin, visit_data

    class Failing:
        @hookimpl
        def task_completed(self, task):
            raise RuntimeError("next stage could not be assigned")

    before, after = CompletionRecorder(), CompletionRecorder()
    with installed(("test-visits", VisitsPlugin(schedules=False)), ("test-after", after),
                   ("test-failing", Failing()), ("test-before", before)):
        task = assign_task(None, program="test_visits", task_type="test_visit",
                           village=district.villages[0])
        complete_task(None, task, visit_data())
    assert before.calls == after.calls == [(task.id, "done", "王家", False)]
    assert Task.get_by_id(task.id).status == "done" and WorkLog.select().count() == 1
    assert [(e["plugin"], e["hook"]) for e in plugin_errors] == [("test-failing",
                                                                   "task_completed")]


# --- major_matter_reported ---------------------------------------------------------------

def test_major_matter_reported_fires_after_commit_and_a_failure_stops_nothing(district):
    from core.matters import report_matter
    from core.models import MajorMatter

    calls = []

    class Recorder:
        @hookimpl
        def major_matter_reported(self, matter):
            calls.append((matter.id, matter.category, matter.late, db.in_transaction()))

    class Failing:
        @hookimpl
        def major_matter_reported(self, matter):
            raise RuntimeError("pager gateway down")

    occurred = dt.datetime(2026, 3, 2, 2, 0)
    with installed(("test-recorder", Recorder()), ("test-failing", Failing())):
        matter = report_matter(district.users.lawyer, category="emergency", title="Flood",
                               occurred_at=occurred, village=district.villages[0],
                               now=occurred + dt.timedelta(hours=2))
    assert calls == [(matter.id, "emergency", True, False)]
    assert MajorMatter.select().count() == 1  # the failing plugin did not undo the report
    assert [(e["plugin"], e["hook"]) for e in plugin_errors] == [("test-failing",
                                                                   "major_matter_reported")]


# --- tasks_assigned, events_changed, lawyer_replaced --------------------------------------

class ActRecorder:
    """Records each call of the three "one call per act" hooks."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def tasks_assigned(self, tasks, actor):
        self.calls.append(("tasks", [(t.id, t.assignee_id) for t in tasks],
                           getattr(actor, "id", None), db.in_transaction()))

    @hookimpl
    def events_changed(self, changes, actor):
        self.calls.append(("events", [(c.event.id, c.change, c.previous_start,
                                       c.previous_lawyer_id) for c in changes],
                           getattr(actor, "id", None), db.in_transaction()))

    @hookimpl
    def pairing_changed(self, pairing, change):
        self.calls.append(("pairing", pairing.id, change, db.in_transaction()))

    @hookimpl
    def lawyer_replaced(self, old, new, actor):
        self.calls.append(("replaced", old.id, new.id, getattr(actor, "id", None),
                           db.in_transaction()))


def test_tasks_assigned_fires_once_per_act_with_the_lawyers_who_have_them(district):
    from core.errors import ValidationError
    from core.tasks import assign_bulk, assign_task, reassign_task
    from tests.tasks_support import VisitsPlugin

    recorder, coordinator = ActRecorder(), district.users.coordinator
    with installed(("test-visits", VisitsPlugin(schedules=False)), ("test-recorder", recorder)):
        tasks = assign_bulk(coordinator, program="test_visits", task_type="test_visit",
                            town=district.towns[0])
        assert recorder.calls == [("tasks", [(t.id, t.assignee_id) for t in tasks],
                                   coordinator.id, False)]  # one call for the three
        assert len(tasks) == 3
        reassign_task(coordinator, tasks[0], district.lawyers[3])
        assert recorder.calls[-1] == ("tasks", [(tasks[0].id, district.lawyers[3].id)],
                                      coordinator.id, False)
        with pytest.raises(ValidationError):
            assign_task(coordinator, program="test_visits", task_type="test_visit",
                        village=district.villages[5])  # no lawyer there: nothing assigned
        assign_task(None, program="test_visits", task_type="test_visit",
                    town=district.towns[0])  # nobody has it: nothing to announce
        assert len(recorder.calls) == 2
        with transaction():  # one transaction, one actor: one act (the demo's load)
            more = [assign_task(coordinator, program="test_visits", task_type="test_visit",
                                village=village) for village in district.villages[:2]]
    assert recorder.calls[2:] == [("tasks", [(t.id, t.assignee_id) for t in more],
                                   coordinator.id, False)]


def test_events_changed_fires_once_per_move_and_once_per_planning(district, now, published):
    from core.events import move_event
    from core.planner import plan_year
    from tests.planning_support import make_event, utc

    recorder, coordinator = ActRecorder(), district.users.coordinator
    event = make_event(district.pairings[0], D(2026, 3, 2))
    with installed(("test-recorder", recorder)):
        move_event(coordinator, event, starts_at=utc(2026, 3, 3, 8, 30),
                   ends_at=utc(2026, 3, 3, 12, 0))
        assert recorder.calls == [("events", [(event.id, "moved", utc(2026, 3, 2, 8, 30),
                                               None)], coordinator.id, False)]
        plan_year(2026)  # every village of the district: one call, by nobody
    [(name, changes, actor, in_transaction)] = recorder.calls[1:]
    assert (name, actor, in_transaction) == ("events", None, False)
    assert len(changes) == 56 and {change for _id, change, _s, _l in changes} == {"added"}


def test_lawyer_replaced_fires_after_ended_and_paired_with_both_pairings(district):
    recorder, actor = ActRecorder(), district.users.town_coordinator
    old = district.pairings[0]
    newcomer = factories.make_lawyer("钱进", district.firms[0])
    with installed(("test-recorder", recorder)):
        new = replace_lawyer(actor, old, lawyer=newcomer, on=D(2026, 9, 1))
    assert recorder.calls == [("pairing", old.id, "ended", False),
                              ("pairing", new.id, "paired", False),
                              ("replaced", old.id, new.id, actor.id, False)]
    assert Pairing.get_by_id(old.id).status == "ended" and new.lawyer_id == newcomer.id


# --- the hooks the core's own reactions listen on -----------------------------------------

class ReactionRecorder:
    """Records the hooks the core fires for its own reactions (core.reactions,
    core.notices), as a third party hears them."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def feeds_changed(self, event_ids):
        self.calls.append(("feeds", sorted(event_ids), db.in_transaction()))

    @hookimpl
    def holidays_changed(self, years):
        self.calls.append(("holidays", list(years), db.in_transaction()))

    @hookimpl
    def deliveries_queued(self):
        self.calls.append(("deliveries", db.in_transaction()))

    @hookimpl
    def plugin_failed(self, plugin, hook, error, detail):
        self.calls.append(("failed", plugin, hook, error, "Traceback" in detail))

    @hookimpl
    def problem_opened(self, problem, opening):
        self.calls.append(("problem", problem.key, opening.split("-")[0]))


def test_feeds_changed_fires_once_per_transaction_after_commit_and_never_on_rollback(
        district, now, published):
    from core.events import cancel_event, move_event
    from tests.planning_support import make_event, utc

    recorder, coordinator = ReactionRecorder(), district.users.coordinator
    first = make_event(district.pairings[0], D(2026, 3, 2))
    second = make_event(district.pairings[1], D(2026, 3, 9))
    third = make_event(district.pairings[2], D(2026, 3, 16))
    with installed(("test-recorder", recorder)):
        move_event(coordinator, first, starts_at=utc(2026, 3, 3, 8, 30),
                   ends_at=utc(2026, 3, 3, 12, 0))
        assert recorder.calls == [("feeds", [first.id], False)]
        with transaction():  # two changes, one commit: one call with both
            cancel_event(coordinator, first, reason="暴雨")
            cancel_event(coordinator, second, reason="暴雨")
        assert recorder.calls[1:] == [("feeds", sorted([first.id, second.id]), False)]
        with pytest.raises(RuntimeError), transaction():
            move_event(coordinator, third, starts_at=utc(2026, 3, 17, 8, 30),
                       ends_at=utc(2026, 3, 17, 12, 0))
            raise RuntimeError("rolled back")
    assert len(recorder.calls) == 2  # the rolled-back move was never announced
    assert published[-1] == sorted([first.id, second.id])  # the core's reaction heard the same


def test_holidays_changed_fires_with_the_year_a_day_off_changed(district, monkeypatch):
    from core import reactions
    from core.workdays import add_holiday, remove_holiday

    replanned = []
    monkeypatch.setattr(reactions.jobs, "replan_year", replanned.append)
    recorder, admin = ReactionRecorder(), district.users.admin
    with installed(("test-recorder", recorder)):
        add_holiday(admin, D(2027, 3, 8), "off", name="区庆")
        remove_holiday(admin, D(2027, 3, 8))
    assert recorder.calls == [("holidays", [2027], False), ("holidays", [2027], False)]
    assert replanned == [2027, 2027]  # the core's reaction: re-plan the year, each time


def test_deliveries_queued_fires_after_commit_when_a_copy_waits_in_the_outbox(
        district, monkeypatch):
    from core import reactions
    from core.notify import notify_users

    woken = []
    monkeypatch.setattr(reactions.jobs, "send_deliveries", lambda: woken.append(True))
    recorder, coordinator = ReactionRecorder(), district.users.coordinator
    with installed(("test-recorder", recorder)):
        notify_users([coordinator], kind="matter", title="无外部渠道")
        assert recorder.calls == []  # no channel: nothing waits
        monkeypatch.setenv("JIEDUI_WEBHOOK_URL", "http://127.0.0.1:9/robot")
        with transaction():
            notify_users([coordinator], kind="matter", title="群机器人")
            assert recorder.calls == []  # not before the commit
    assert recorder.calls == [("deliveries", False)] and woken == [True]


class FailsOnPairing:
    @hookimpl
    def pairing_changed(self, pairing, change):
        raise RuntimeError("boom in a plugin")


def test_plugin_failed_fires_with_the_plugin_hook_and_error_and_becomes_a_problem(district):
    from core.models import Problem

    recorder = ReactionRecorder()
    with installed(("test-fails", FailsOnPairing()), ("test-recorder", recorder)):
        pair(None, lawyer=district.lawyers[1], village=district.villages[5],
             term_start=D(2026, 1, 1), term_end=D(2026, 12, 31))
    [failed] = [call for call in recorder.calls if call[0] == "failed"]
    assert failed == ("failed", "test-fails", "pairing_changed",
                      "RuntimeError: boom in a plugin", True)
    problem = Problem.get(Problem.key == "plugin:test-fails:pairing_changed")
    assert "boom in a plugin" in problem.summary  # the core's reaction: a Problem
    assert ("problem", problem.key, "new") in recorder.calls


def test_problem_opened_fires_on_a_new_problem_and_a_reopened_one_not_on_repeats(district):
    from core import problems

    recorder, admin = ReactionRecorder(), district.users.admin
    with installed(("test-recorder", recorder)):
        problem = problems.report("feed", "feed:lawyer:1", "发布失败")
        problems.report("feed", "feed:lawyer:1", "发布失败")  # a repeat: nobody is told again
        problems.resolve(admin, problem)
        problems.report("feed", "feed:lawyer:1", "又失败了")
    assert recorder.calls == [("problem", "feed:lawyer:1", "new"),
                              ("problem", "feed:lawyer:1", "reopened")]


# --- JIEDUI_LOAD_PLUGINS ---------------------------------------------------------------

def _loaded_names():
    """The plugins loaded from entry points (the core's own hookimpls are always there)."""
    from core.plugins import CORE_PLUGINS
    return [name for name, _ in get_plugin_manager().list_name_plugin()
            if name not in CORE_PLUGINS]


def test_load_plugins_unset_loads_every_installed_plugin():
    installed_names = {ep.name for ep in entry_points(group="jiedui")}
    assert "publicity_videos" in installed_names
    assert set(_loaded_names()) == installed_names


def test_load_plugins_empty_loads_none(monkeypatch):
    monkeypatch.setenv("JIEDUI_LOAD_PLUGINS", "")
    core_plugins.reset()
    assert _loaded_names() == []
    assert describe()["programs"] == [] and describe()["task_types"] == []


@pytest.mark.parametrize("value", ["publicity_videos", " publicity_videos , "])
def test_load_plugins_list_loads_only_those(monkeypatch, value):
    monkeypatch.setenv("JIEDUI_LOAD_PLUGINS", value)
    core_plugins.reset()
    assert _loaded_names() == ["publicity_videos"]
    assert list(get_registry().programs) == ["publicity_videos"]


def test_load_plugins_unknown_name_fails_loudly(monkeypatch):
    monkeypatch.setenv("JIEDUI_LOAD_PLUGINS", "publicity_videos,publicity_vidoes")
    core_plugins.reset()
    with pytest.raises(PluginError, match="not installed: publicity_vidoes"):
        get_plugin_manager()


# --- loading checks: check_pending, arguments, wrappers ------------------------------

class Misspelt:
    @hookimpl
    def register_program(self, register):  # the hook is register_programs
        register(Program(slug="typo", name="拼错"))


def test_check_pending_misspelt_hook_fails_at_registration():
    with pytest.raises(PluginError) as caught:
        register_plugin(Misspelt(), "test-typo")
    assert str(caught.value) == ("plugin 'test-typo' implements unknown hook "
                                 "'register_program' (did you mean 'register_programs'?)")
    assert get_plugin_manager().get_plugin("test-typo") is None  # nothing left behind


MISSPELT = Misspelt()


def _install_entry_points(monkeypatch, *specs):
    """Pretend these ``(name, "module:attr")`` entry points are installed."""
    eps = [EntryPoint(name, value, "jiedui") for name, value in specs]
    monkeypatch.setattr(core_plugins, "entry_points", lambda group: eps)
    core_plugins.reset()


def test_check_pending_misspelt_hook_in_installed_plugin_fails_at_load(monkeypatch):
    _install_entry_points(monkeypatch, ("typo", "tests.test_plugins:MISSPELT"))
    with pytest.raises(PluginError, match="plugin 'typo' implements unknown hook "
                                          "'register_program'"):
        get_plugin_manager()


def test_installed_plugin_that_cannot_be_imported_names_itself(monkeypatch):
    _install_entry_points(monkeypatch, ("ghost", "tests.no_such_module"))
    with pytest.raises(PluginError, match="plugin 'ghost' could not be loaded from "
                                          "'tests.no_such_module': ModuleNotFoundError"):
        get_plugin_manager()


def test_one_name_installed_by_two_packages_fails(monkeypatch):
    _install_entry_points(monkeypatch, ("videos", "plugins.publicity_videos"),
                          ("videos", "tests.test_plugins:MISSPELT"))
    with pytest.raises(PluginError, match="plugin 'videos' is installed twice"):
        get_plugin_manager()


def test_hook_with_wrong_argument_names_the_plugin():
    class WrongArgs:
        @hookimpl
        def register_programs(self, registrar):
            pass

    with pytest.raises(PluginError) as caught:
        register_plugin(WrongArgs(), "test-args")
    assert str(caught.value) == (
        "plugin 'test-args': hookimpl definition: register_programs(registrar); Argument(s) "
        "{'registrar'} are declared in the hookimpl but can not be found in the hookspec")


def test_wrapper_hook_is_refused():
    class Wrapper:
        @hookimpl(wrapper=True)
        def pairing_changed(self, pairing, change):
            yield

    with pytest.raises(PluginError, match="plugin 'test-wrapper': pairing_changed must be "
                                          "a plain @hookimpl"):
        register_plugin(Wrapper(), "test-wrapper")
    assert get_plugin_manager().get_plugin("test-wrapper") is None


def test_same_name_registered_twice_fails():
    with installed(("test-once", Recorder())):
        with pytest.raises(PluginError, match="plugin 'test-once' cannot be registered"):
            register_plugin(Recorder(), "test-once")


# --- describe() and `jiedui plugins` ---------------------------------------------------

def test_describe_lists_plugins_programmes_task_types_metrics_schedules():
    with installed(("test-survey", survey_plugin())):
        report = describe()
    assert set(report) == {"plugins", "programs", "task_types", "metrics", "schedules", "disabled"}
    assert report["disabled"] == []
    by_name = {p["name"]: p for p in report["plugins"]}
    assert by_name["publicity_videos"] == {
        "name": "publicity_videos", "module": "plugins.publicity_videos",
        "hooks": ["register_metrics", "register_programs", "register_task_types"]}
    assert by_name["test-survey"]["module"] == "types.SimpleNamespace"
    assert by_name["test-survey"]["hooks"] == ["register_metrics", "register_programs",
                                               "register_schedules", "register_task_types"]
    # programmes in their order: the ten in-repo ones (order 1–10), then the test one (100)
    slugs = [p["slug"] for p in report["programs"]]
    assert len(slugs) == 11 and slugs[-2:] == ["publicity_videos", "test_survey"]
    assert [p["order"] for p in report["programs"]] == sorted(p["order"] for p in report["programs"])
    videos = report["programs"][-2]
    assert videos == {"slug": "publicity_videos", "name": "发布100+普法视频",
                      "name_en": "Publish 100+ legal-education videos", "target": 100,
                      "order": 10, "plugin": "publicity_videos"}
    json.dumps(report)  # `jiedui plugins --json` prints it as it is


def _jiedui(*args, **env):
    """The installed console script, as a user runs it."""
    environ = {k: v for k, v in os.environ.items() if k != "JIEDUI_LOAD_PLUGINS"}
    environ.update(env)
    script = Path(sys.executable).with_name("jiedui")
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=environ,
                          timeout=60, cwd=ROOT)


def test_jiedui_plugins_json_lists_the_installed_programme(tmp_path):
    result = _jiedui("plugins", "--json", JIEDUI_INSTANCE=str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert "publicity_videos" in [p["name"] for p in report["plugins"]]
    assert {"slug": "publicity_videos", "plugin": "publicity_videos"}.items() <= \
        {p["slug"]: p for p in report["programs"]}["publicity_videos"].items()
    video = {t["slug"]: t for t in report["task_types"]}["publish_video"]
    assert video["program"] == "publicity_videos" and video["subject_field"] == "link"
    assert {m["slug"] for m in report["metrics"]} >= {"videos_published"}


def test_jiedui_plugins_plain_output(tmp_path):
    result = _jiedui("plugins", JIEDUI_INSTANCE=str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "plugins:"
    assert any(line.split()[:2] == ["publicity_videos", "plugins.publicity_videos"]
               for line in lines)
    assert "programmes:" in lines and "task types:" in lines
    assert any(line.split()[:2] == ["publicity_videos", "发布100+普法视频"] for line in lines)
    assert any(line.split()[:2] == ["publish_video", "发布普法视频"] for line in lines)
    # metrics and schedules: slug, name, programme; a schedule's scope and cron on its line
    assert lines.index("programmes:") < lines.index("task types:") < lines.index("metrics:") \
        < lines.index("schedules:")
    metrics = lines[lines.index("metrics:") + 1:lines.index("schedules:")]
    assert "  videos_published         已发布视频  [publicity_videos]" in metrics
    assert len(metrics) == len(json.loads(_jiedui("plugins", "--json",
                                                  JIEDUI_INSTANCE=str(tmp_path)).stdout)["metrics"])
    schedules = lines[lines.index("schedules:") + 1:]
    assert "  weekly_village_screening 村（社区）周排查  [family_visits]  scope village  " \
        "cron minute=0 hour=9 day_of_week=1" in schedules
    assert "  quarterly_district_analysis 区季度研判  [family_visits]  scope district  " \
        "cron minute=0 hour=9 day=1 month=1,4,7,10" in schedules


def test_jiedui_plugins_with_none_loaded_and_with_a_typo(tmp_path):
    none = _jiedui("plugins", "--json", JIEDUI_INSTANCE=str(tmp_path), JIEDUI_LOAD_PLUGINS="")
    assert none.returncode == 0 and json.loads(none.stdout)["programs"] == []
    typo = _jiedui("plugins", JIEDUI_INSTANCE=str(tmp_path), JIEDUI_LOAD_PLUGINS="videos")
    assert typo.returncode == 1
    assert typo.stderr.startswith("Error: JIEDUI_LOAD_PLUGINS names plugins that are not "
                                  "installed: videos")
