"""Every hook is documented and tested; the docs document only hooks that exist.

- A hook is a function of ``core/hookspecs.py`` marked ``@hookspec``.
- It is *documented* when the "## Hook reference" section of ``docs/plugins.md`` has a
  heading exactly ``### <hook name>``; every ``###`` heading in that section must be a hook.
- It is *tested* when ``tests/test_plugins.py`` has a test function whose name contains
  the hook name (e.g. ``test_register_programs_lists_the_programme_with_its_plugin``).
- Every field of the value objects (Program, TaskType, Metric, Schedule) is described
  under its own ``### <Class>`` heading in the "## Value objects" section.
"""
import ast
import dataclasses
import re
from pathlib import Path

import pytest

from core import hookspecs
from core.registry import Metric, Program, Schedule, TaskType

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugins.md"
PLUGIN_TESTS = ROOT / "tests" / "test_plugins.py"


def hook_names() -> set[str]:
    return {name for name, value in vars(hookspecs).items()
            if callable(value) and hasattr(value, "jiedui_spec")}


def section(text: str, title: str) -> str:
    """The body of the ``## title`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/plugins.md has no '## {title}' section"
    return match.group(1)


def subsections(body: str) -> dict[str, str]:
    """``### name`` heading -> its text, within one section."""
    parts = re.split(r"^### (.+?)\s*$", body, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_function_names() -> list[str]:
    tree = ast.parse(PLUGIN_TESTS.read_text(encoding="utf-8"))
    return [node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_")]


test_function_names.__test__ = False  # a helper, not a test


def test_hookspecs_define_hooks():
    assert "register_programs" in hook_names() and "pairing_changed" in hook_names()


def test_every_hook_has_a_section_in_the_docs():
    documented = set(subsections(section(DOCS.read_text(encoding="utf-8"), "Hook reference")))
    missing = sorted(hook_names() - documented)
    assert not missing, f"add a '### name' section to docs/plugins.md for: {missing}"


def test_docs_document_no_hook_that_does_not_exist():
    documented = set(subsections(section(DOCS.read_text(encoding="utf-8"), "Hook reference")))
    unknown = sorted(documented - hook_names())
    assert not unknown, f"docs/plugins.md documents hooks core/hookspecs.py lacks: {unknown}"


def test_every_hook_section_shows_its_signature_and_an_example():
    hooks = subsections(section(DOCS.read_text(encoding="utf-8"), "Hook reference"))
    for name, body in hooks.items():
        assert f"`{name}(" in body, f"### {name}: give the signature"
        assert "```python" in body and "@hookimpl" in body, f"### {name}: give an example"


def test_every_hook_has_a_test():
    """A hook is tested when a test function in tests/test_plugins.py has its name in its own."""
    names = test_function_names()
    untested = sorted(hook for hook in hook_names() if not any(hook in n for n in names))
    assert not untested, f"add a test named test_<hook>_… to tests/test_plugins.py for: {untested}"


@pytest.mark.parametrize("cls", [Program, TaskType, Metric, Schedule], ids=lambda c: c.__name__)
def test_every_value_object_field_is_documented(cls):
    objects = subsections(section(DOCS.read_text(encoding="utf-8"), "Value objects"))
    assert cls.__name__ in objects, f"docs/plugins.md: add '### {cls.__name__}'"
    body = objects[cls.__name__]
    missing = [f.name for f in dataclasses.fields(cls) if f"`{f.name}`" not in body]
    assert not missing, f"docs/plugins.md '### {cls.__name__}' does not describe {missing}"
