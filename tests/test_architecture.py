"""The shape of the house (docs/design.md): core's parts and their order, no import cycle
inside core (imports inside functions counted), core importing neither web nor plugins, and
importing a core module doing nothing (no file, no folder, no plugin loaded)."""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"

# Core's parts, lowest first (docs/design.md, "The parts of core"). A module may import
# modules of its own part and of the parts before it, never of a later one.
PARTS = {
    "base": ["clock", "errors", "i18n", "text", "phones", "spreadsheet", "vocabulary",
             "arrangements", "config", "db", "queue", "charts"],
    "models": ["models"],
    "extending": ["hookspecs", "registry", "plugins", "localize", "formkit"],
    "accounts": ["access", "audit", "sessions", "throttle", "users", "logins", "privacy",
                 "locks", "problems"],
    "records": ["cases", "photos", "worklog"],
    "calendar": ["placements", "workdays", "feeds", "events", "planner", "pace_tally",
                 "town_tally", "session_tally", "calendar_views", "coverage"],
    "programmes": ["tasks", "workflow", "progress", "progress_tally", "pace", "ledger", "stats",
                   "series"],
    "organisation": ["lawyers", "villages", "groups", "pairings", "disclosure", "importer"],
    "sign-in": ["signins"],
    "follow-up": ["notify", "notices", "matters", "feedback", "inspections", "assessment", "home",
                  "village_requests", "login_invitations", "reports", "registers", "desk"],
    "operations": ["reactions", "jobs", "longwork", "backup", "demo", "demo_tasks", "app", "testing"],
}
PACKAGE = "core"  # core/__init__.py: the plugins' API, looked up lazily (imports nothing)


def core_modules() -> dict[str, Path]:
    """Top-level module name -> file (a package counts as one module)."""
    found = {}
    for path in CORE.iterdir():
        if path.suffix == ".py" and path.stem != "__init__":
            found[path.stem] = path
        elif (path / "__init__.py").is_file() and path.name != "migrations":
            found[path.name] = path
    return found


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    """(imported top-level name, line, at module top?) for every import in ``path`` (every
    file of a package), inside functions too."""
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    found = []
    for file in files:
        tree = ast.parse(file.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                found.append((name, node.lineno, id(node) in top))
    return found


def core_edges() -> dict[str, set[str]]:
    modules = core_modules()
    edges = {}
    for name, path in modules.items():
        targets = set()
        for imported, _line, _top in imports_of(path):
            parts = imported.split(".")
            if parts[0] == "core" and len(parts) > 1 and parts[1] in modules:
                targets.add(parts[1])
        edges[name] = targets - {name}
    return edges


def test_every_core_module_belongs_to_one_part():
    assigned = [module for modules in PARTS.values() for module in modules]
    assert len(assigned) == len(set(assigned)), "a module is in two parts"
    assert sorted(assigned) == sorted(core_modules()), \
        "add the new module to its part here and in docs/design.md"


def test_no_module_imports_a_later_part():
    rank = {module: index for index, modules in enumerate(PARTS.values()) for module in modules}
    backwards = sorted(f"{module} -> {target}" for module, targets in core_edges().items()
                       for target in targets if rank[target] > rank[module])
    assert backwards == []


def test_no_import_cycle_inside_core_counting_imports_in_functions():
    edges = core_edges()
    state, cycle = {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                cycle.extend(path[path.index(target):] + [target])
                return True
            if target not in state and visit(target, path + [target]):
                return True
        state[module] = "done"
        return False

    for module in sorted(edges):
        if module not in state and visit(module, [module]):
            break
    assert cycle == []


def test_core_imports_neither_web_nor_plugins_and_keeps_its_imports_at_the_top():
    wrong, inner = [], []
    for name, path in core_modules().items():
        for imported, line, at_top in imports_of(path):
            if imported.split(".")[0] in ("web", "plugins"):
                wrong.append(f"{name}:{line} {imported}")
            if not at_top and imported.split(".")[0] == "core":
                inner.append(f"{name}:{line} {imported}")
    assert wrong == []
    assert inner == []  # an import inside a function hides a cycle


IMPORT_EACH = """
import importlib, json, os, sys
names = json.loads(sys.argv[1])
created = {}
for name in names:
    importlib.import_module(name)
    now = sorted(os.listdir("."))
    if now:
        created[name] = now
        break
import core.plugins
print(json.dumps({"created": created, "plugins loaded": core.plugins._pm is not None}))
"""


def test_importing_any_core_module_creates_nothing_and_loads_no_plugin(tmp_path):
    names = ["core"] + [f"core.{name}" for name in sorted(core_modules())]
    environment = dict(os.environ, JIEDUI_INSTANCE=str(tmp_path / "instance"),
                       HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    environment.pop("JIEDUI_DATABASE_URL", None)
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, "-c", IMPORT_EACH, json.dumps(names)], cwd=work,
                          env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"created": {}, "plugins loaded": False}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["work"]  # no instance, no home


def test_only_the_settings_read_the_environment():
    """``core.config`` reads the ``JIEDUI_*`` variables once; every other module asks it
    (``get_settings()``), so a setting has one reading and one default."""
    readers = []
    for name, path in core_modules().items():
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
                        and isinstance(node.value, ast.Name) and node.value.id == "os"):
                    readers.append(f"{name}:{node.lineno}")
    # backup hands the environment on to pg_dump/pg_restore (with PGPASSWORD), reading none
    assert sorted({reader.split(":")[0] for reader in readers}) == ["backup", "config"]
