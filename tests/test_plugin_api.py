"""The plugin API: a plugin imports from the core only what docs/plugins.md lists ("What a
plugin may import") — the names of ``core`` and the modules ``core.formkit`` and
``core.testing`` — so the core's own modules can move without breaking a plugin.

Every import in ``plugins/**/*.py`` is checked, inside functions too, and so is every
``core.<name>`` read off a bare ``import core``."""
import ast
import re
from pathlib import Path

import pytest

import core

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_FILES = sorted((ROOT / "plugins").rglob("*.py"))
DOCS = ROOT / "docs" / "plugins.md"
PUBLIC_MODULES = {"core.formkit", "core.testing"}
PUBLIC_NAMES = set(core.__all__)


def core_imports_refused(path: Path) -> list[str]:
    """What ``path`` takes from the core (or the web) beyond the public API, as
    "line: what" strings."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    refused = []
    bare_core = set()  # names bound to the module core by "import core [as x]"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "core":
                    bare_core.add(alias.asname or "core")
                elif alias.name.startswith("core.") and alias.name not in PUBLIC_MODULES:
                    refused.append(f"{node.lineno}: import {alias.name}")
                elif alias.name == "web" or alias.name.startswith("web."):
                    refused.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module = node.module
            if module == "web" or module.startswith("web."):
                refused.append(f"{node.lineno}: from {module} import …")
            elif module == "core":
                public = PUBLIC_NAMES | {name.split(".")[-1] for name in PUBLIC_MODULES}
                refused += [f"{node.lineno}: from core import {alias.name}"
                            for alias in node.names if alias.name not in public]
            elif module.startswith("core.") and module not in PUBLIC_MODULES:
                refused.append(f"{node.lineno}: from {module} import …")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in bare_core and node.attr not in PUBLIC_NAMES:
            refused.append(f"{node.lineno}: core.{node.attr}")
    return refused


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_plugin_imports_only_the_public_api_of_the_core(path):
    assert core_imports_refused(path) == [], \
        "import these from `core` (docs/plugins.md, \"What a plugin may import\"), or add " \
        "them to the public API there and in core/__init__.py"


def test_the_check_finds_every_way_in(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import core\nimport core.models\nimport core.formkit\n"
                      "from core import hookimpl, tasks, Task\nfrom core.plugins import notify\n"
                      "from web.render import htmx\n\n"
                      "def later():\n    from core.db import db\n    return core.models, core.Task\n")
    assert core_imports_refused(sample) == [
        "2: import core.models", "4: from core import tasks", "5: from core.plugins import …",
        "6: from web.render import …", "9: from core.db import …", "10: core.models"]


def test_every_public_name_is_there():
    """The table in core/__init__.py points at what exists (a moved module must update it)."""
    for name in core.__all__:
        assert getattr(core, name) is not None, name
    with pytest.raises(AttributeError):
        core.no_such_name  # noqa: B018


def test_the_docs_list_exactly_the_public_api():
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## What a plugin may import"):]
    section = section[:section.index("\n## ", 1)]
    documented = set(re.findall(r"^\| `([A-Za-z_]+)`", section, re.M))
    assert documented == PUBLIC_NAMES
    for module in PUBLIC_MODULES:
        assert f"`{module}`" in section
