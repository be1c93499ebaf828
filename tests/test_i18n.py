"""Chinese is the default language: every UI string must have a zh_CN translation."""
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
ZH_PO = ROOT / "core/translations/zh/LC_MESSAGES/messages.po"


def _complete(string) -> bool:
    """A translation, with every plural form filled in."""
    return all(string) if isinstance(string, tuple) else bool(string)


def test_every_ui_string_is_translated_to_chinese(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_",
                    "-o", str(pot), "core", "web", "plugins"], cwd=ROOT, check=True)
    with pot.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    with ZH_PO.open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and _complete(m.string) and not m.fuzzy}
    missing = sorted(extracted - translated, key=str)
    assert not missing, f"{len(missing)} strings lack a zh_CN translation (run `make extract`):\n" + \
        "\n".join(map(str, missing[:40]))


def test_a_page_speaks_chinese_by_default(client, database):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page
    client.get("/lang/en")  # the language switch keeps the choice in a cookie
    english = client.get("/login").get_data(as_text=True)
    assert "Log in" in english and "登录" not in english
