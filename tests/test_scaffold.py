"""``jiedui new-program SLUG`` writes a plugin package that loads, passes its own test
without edits, and shows in ``jiedui plugins`` once pip-installed; the tutorial of
docs/plugins.md does what it says (its code is taken from the page)."""
import importlib.util
import io
import json
import os
import random
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.plugins import get_registry, register_plugin, unregister_plugin
from web.cli import cli
from web.scaffold import MAX_SLUG, ScaffoldError, new_program

PROJECT_SITE_PACKAGES = sysconfig.get_paths()["purelib"]
DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def import_file(path: Path, name: str):
    """Import a plugin module from its file, as it is before being installed."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_module(folder: Path, slug: str):
    """The generated plugin module, from the package folder."""
    return import_file(folder / slug / "__init__.py", slug)


def tutorial_files(folder: Path) -> Path:
    """The tutorial of docs/plugins.md, typed in as a reader would: its module and its
    pyproject.toml, taken from the page itself (so the page cannot rot unnoticed)."""
    text = DOCS.read_text(encoding="utf-8")
    tutorial = text[text.index("## Tutorial: a new programme in one file"):]
    module = re.search(r"```python\n(# village_forums\.py\n.*?)```", tutorial, re.S).group(1)
    pyproject = re.search(r"```toml\n(.*?)```", tutorial, re.S).group(1)
    folder.mkdir()
    (folder / "village_forums.py").write_text(module, encoding="utf-8")
    (folder / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return folder


def load_tutorial_module(tmp_path):
    return import_file(tutorial_files(tmp_path / "tutorial") / "village_forums.py",
                       "village_forums")


def scratch_venv(venv: Path) -> Path:
    """A venv without pip of its own that sees the project's packages (Jiedui, its
    dependencies, pip, pytest) through a .pth file; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=60)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True,
                          timeout=30).stdout.strip()
    # addsitedir, not a bare path: the .pth files there (Jiedui's editable install) count.
    (Path(site) / "_jiedui_project.pth").write_text(
        f"import site; site.addsitedir({PROJECT_SITE_PACKAGES!r})\n")
    return python


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JIEDUI_") and k != "PYTHONPATH"}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


@pytest.fixture
def alone(monkeypatch):
    """No installed plugin loads: the generated one is registered in-process, alone."""
    monkeypatch.setenv("JIEDUI_LOAD_PLUGINS", "")


@pytest.fixture
def only_videos(monkeypatch):
    """The registry holds one in-repo programme, so these tests do not depend on the rest."""
    monkeypatch.setenv("JIEDUI_LOAD_PLUGINS", "publicity_videos")


def test_new_program_writes_a_package_with_an_entry_point(tmp_path):
    folder = new_program("village_forums", tmp_path / "pkg", name="村民议事会")
    assert folder == tmp_path / "pkg"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "Makefile", "README.md", "pyproject.toml", "tests/test_village_forums.py",
        "village_forums/__init__.py",
        "village_forums/translations/en/LC_MESSAGES/messages.mo",
        "village_forums/translations/en/LC_MESSAGES/messages.po"]
    pyproject = (folder / "pyproject.toml").read_text(encoding="utf-8")
    assert 'name = "jiedui-village-forums"' in pyproject
    assert '[project.entry-points.jiedui]\nvillage_forums = "village_forums"' in pyproject
    assert not list(tmp_path.glob(".*partial"))  # the scratch folder is gone


def test_the_generated_plugin_registers_a_programme_task_type_and_metric(tmp_path, alone):
    module = load_module(new_program("village_forums", tmp_path / "pkg", name="村民议事会"),
                         "village_forums")
    register_plugin(module, name="village_forums")
    try:
        registry = get_registry()
        assert registry.programs["village_forums"].name == "村民议事会"
        task_type = registry.task_types["village_forums_record"]
        assert task_type.subject_field == "subject"
        assert "subject" in task_type.field_names
        # an allow-list: the free text that may name a person is not public
        assert task_type.public_fields == ("category", "held_on", "participants")
        assert task_type.private_fields == ("subject", "notes")
        metric = registry.metrics["village_forums_done"]
        assert (metric.task_types, metric.distinct_field) == (("village_forums_record",),
                                                              "subject")
    finally:
        unregister_plugin("village_forums")


def test_the_generated_example_is_valid_for_the_core(tmp_path, alone):
    """The demo completes tasks with ``example(rng)``: the core must accept it."""
    from core.tasks import validate_task_data
    module = load_module(new_program("village_forums", tmp_path / "pkg"), "village_forums")
    register_plugin(module, name="village_forums")
    try:
        task_type = get_registry().task_types["village_forums_record"]
        for seed in range(10):
            clean, errors = validate_task_data(task_type, task_type.example(random.Random(seed)))
            assert errors == {} and clean["subject"]
        clean, errors = validate_task_data(task_type, {"subject": ""})
        assert "subject" in errors
    finally:
        unregister_plugin("village_forums")


def test_the_generated_plugin_speaks_english_through_its_own_catalog(tmp_path, monkeypatch):
    from core.localize import localized_registry, missing
    from core.tasks import build_form
    from core.testing import alone
    monkeypatch.syspath_prepend(str(new_program("village_forums", tmp_path / "pkg",
                                                name="村民议事会")))
    module = importlib.import_module("village_forums")
    try:
        with alone(module) as registry:
            english = localized_registry("en")
            assert english.programs["village_forums"].name == "Village forums"  # from the slug
            assert english.metrics["village_forums_done"].name == "Subjects served"
            assert build_form("village_forums_record", locale="en").subject.label.text == \
                "Subject"
            assert registry.programs["village_forums"].name == "村民议事会"
            assert missing("village_forums", "en") == []
    finally:
        sys.modules.pop("village_forums", None)


def test_a_name_that_is_one_of_the_forms_words_is_translated_once(tmp_path):
    from babel.messages.pofile import read_po
    folder = new_program("village_forums", tmp_path / "pkg", name="类别")
    with (folder / "village_forums/translations/en/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po)
    assert catalog["类别"].string == "Category"


def test_a_name_with_quotes_and_backslashes_is_written_safely(tmp_path):
    name = 'say "hi" \\ 你好'
    folder = new_program("quoted_name", tmp_path / "pkg", name=name)
    assert load_module(folder, "quoted_name").NAME == name
    assert "0.1.0" in (folder / "pyproject.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("slug, problem", [
    ("Village", "not a valid slug"), ("1st", "not a valid slug"), ("", "not a valid slug"),
    ("a-b", "not a valid slug"), ("x" * (MAX_SLUG + 1), "too long"),
    ("class", "keyword"), ("json", "module named 'json'"), ("core", "module named 'core'"),
])
def test_a_bad_slug_is_refused_and_nothing_is_written(tmp_path, slug, problem):
    with pytest.raises(ScaffoldError, match=problem):
        new_program(slug, tmp_path / "pkg")
    assert list(tmp_path.iterdir()) == []


def test_a_bad_name_is_refused(tmp_path):
    for name in ("", "   ", "two\nlines", "x" * 101):
        with pytest.raises(ScaffoldError, match="the name"):
            new_program("village_forums", tmp_path / "pkg", name=name)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    with pytest.raises(ScaffoldError, match="exists already"):
        new_program("village_forums", folder)
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]
    assert (folder / "mine.txt").read_text() == "keep me"


def test_cli_writes_the_package_into_the_current_folder_by_default(tmp_path, only_videos,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["new-program", "village_forums", "--name", "村民议事会"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "jiedui-village-forums/village_forums/__init__.py").is_file()
    assert "pip install -e jiedui-village-forums" in result.output
    assert "jiedui plugins" in result.output


def test_cli_refuses_the_slug_of_a_registered_programme(tmp_path, only_videos):
    result = CliRunner().invoke(cli, ["new-program", "publicity_videos",
                                      "--dir", str(tmp_path / "pkg")])
    assert result.exit_code == 1
    assert "a programme 'publicity_videos' is registered already" in result.output
    assert not (tmp_path / "pkg").exists()


def test_cli_refuses_an_existing_folder(tmp_path, only_videos):
    result = CliRunner().invoke(cli, ["new-program", "village_forums", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "exists already" in result.output


def test_the_generated_package_passes_its_own_tests_without_edits(tmp_path):
    folder = new_program("village_forums", tmp_path / "pkg")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=folder, env=clean_env(), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "7 passed" in run.stdout
    assert "warning" not in run.stdout  # e.g. no deprecated WTForms choices


def test_the_docs_tutorial_plugin_loads_and_its_example_is_valid(tmp_path, alone):
    from core.tasks import validate_task_data
    register_plugin(load_tutorial_module(tmp_path), name="village_forums")
    try:
        registry = get_registry()
        assert registry.programs["village_forums"].order == 11
        task_type = registry.task_types["attend_forum"]
        assert task_type.field_names == ["topic", "held_on", "attendees", "opinion"]
        assert registry.metrics["forums_attended"].task_types == ("attend_forum",)
        for seed in range(5):
            assert validate_task_data(task_type, task_type.example(random.Random(seed)))[1] == {}
    finally:
        unregister_plugin("village_forums")


def test_the_tutorial_programme_shows_in_the_ui_as_the_docs_say(tmp_path, alone, district,
                                                                client, login):
    import openpyxl

    from core.progress import progress
    from core.tasks import assign_task, complete_task
    register_plugin(load_tutorial_module(tmp_path), name="village_forums")
    try:
        login(district.users.coordinator)
        listed = client.get("/programmes/")
        assert listed.status_code == 200
        assert "参加100+场村民议事会" in listed.get_data(as_text=True)
        assert "village_forums" in client.get("/tasks/new").get_data(as_text=True)

        task = assign_task(district.users.coordinator, program="village_forums",
                           task_type="attend_forum", village=district.villages[0])
        kind = get_registry().task_types["attend_forum"]
        complete_task(district.users.lawyer, task, kind.example(random.Random(3)))
        assert progress()["forums_attended"]["done"] == 1
        assert client.get("/programmes/village_forums").status_code == 200

        ledger = client.get("/programmes/village_forums/ledger.xlsx")
        assert ledger.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(ledger.data)).worksheets[0]
        headers = [cell.value for cell in sheet[1]]
        assert {"议题", "日期", "参会人数", "法律意见"} <= set(headers)
        assert sheet.max_row == 2  # the one done forum
    finally:
        unregister_plugin("village_forums")


@pytest.mark.slow
def test_pip_install_e_makes_the_programmes_appear_in_jiedui_plugins(tmp_path):
    """The issue's promise, done for real: ``pip install -e`` a package made by
    ``jiedui new-program`` (and the docs' tutorial package) into an environment that has
    Jiedui, then ``jiedui plugins --json`` lists them, loaded through their entry points.
    The environment is a scratch venv that sees Jiedui's packages, so the project's own
    venv (shared by concurrent runs) is never changed."""
    generated = new_program("legal_salons", tmp_path / "generated", name="法律沙龙")
    tutorial = tutorial_files(tmp_path / "tutorial")
    python = scratch_venv(tmp_path / "venv")
    for folder in (generated, tutorial):
        install = subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-input",
                                  "-q", "-e", str(folder)], env=clean_env(),
                                 capture_output=True, text=True, timeout=300)
        assert install.returncode == 0, install.stdout + install.stderr

    listed = subprocess.run([python, "-m", "web.cli", "plugins", "--json"],
                            env=clean_env(JIEDUI_LOAD_PLUGINS="legal_salons,village_forums",
                                          JIEDUI_INSTANCE=str(tmp_path / "instance")),
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    report = json.loads(listed.stdout)
    assert {(p["name"], p["module"]) for p in report["plugins"]} >= \
        {("legal_salons", "legal_salons"), ("village_forums", "village_forums")}
    assert [(p["slug"], p["name"], p["plugin"]) for p in report["programs"]] == \
        [("village_forums", "参加100+场村民议事会", "village_forums"),
         ("legal_salons", "法律沙龙", "legal_salons")]  # by order: 11, then the default 100
    assert sorted(t["slug"] for t in report["task_types"]) == \
        ["attend_forum", "legal_salons_record"]
    assert sorted(m["slug"] for m in report["metrics"]) == \
        ["forums_attended", "legal_salons_done"]

    # Its Makefile refreshes its catalog from what it shows and compiles it, as its README
    # says (`jiedui plugin-messages`, then pybabel), keeping every translation.
    for target, says in (("messages", "11 strings of plugin 'legal_salons' written"),
                         ("translations", "compiling catalog")):
        made = subprocess.run(["make", target, f"JIEDUI={python} -m web.cli",
                               f"PYBABEL={Path(sys.executable).parent / 'pybabel'}"],
                              cwd=generated, capture_output=True, text=True, timeout=120,
                              env=clean_env(JIEDUI_INSTANCE=str(tmp_path / "instance")))
        assert made.returncode == 0 and says in made.stdout + made.stderr, \
            made.stdout + made.stderr

    # Installed, the generated package still passes its own tests.
    run = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=generated, env=clean_env(), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
