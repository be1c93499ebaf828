"""The ``jiedui`` command, run as a person would, each in its own instance folder (always
SQLite: the database and queue URLs are dropped): in this process (tests.cli_support),
and ``jiedui run`` as the real console script in a process of its own."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from core.config import load_settings
from core.demo import DEMO_LOGINS
from core.jobs import ping
from core.queue import make_huey
from tests.cli_support import DROPPED, Ran, run_jiedui
from tests.processes import free_port, log_of, start, stop, wait_for_url

JIEDUI = str(Path(sys.executable).parent / "jiedui")


def child_env(instance: Path, locale: str = "en") -> dict:
    """The environment of a real ``jiedui`` process on ``instance``."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env.update(JIEDUI_INSTANCE=str(instance), JIEDUI_SECRET_KEY="cli-test-key",
               JIEDUI_LOCALE=locale, PYTHONUNBUFFERED="1")
    return env


def jiedui(instance: Path, *args, locale="en", stdin=None) -> Ran:
    """English unless a test is about the words: zh_CN is the default language."""
    return run_jiedui(instance, *args, locale=locale, stdin=stdin)


def in_chinese(instance: Path, *args, stdin=None) -> Ran:
    return jiedui(instance, *args, locale="zh_CN", stdin=stdin)


def count_users(instance: Path) -> int:
    with sqlite3.connect(instance / "jiedui.db") as connection:
        return connection.execute('SELECT count(*) FROM "user"').fetchone()[0]


@pytest.mark.slow  # loads the demo district
def test_demo_then_stats_shows_full_coverage(tmp_path):
    loaded = in_chinese(tmp_path, "demo")  # the default language
    assert loaded.returncode == 0, loaded.stderr
    assert "131 个村(居)" in loaded.stdout and "演示账号（用户名 / 密码）：" in loaded.stdout
    for username, password in DEMO_LOGINS.values():
        assert f"{username} / {password}" in loaded.stdout
    assert "  区级协调员      coordinator / jiedui-demo" in loaded.stdout.splitlines()

    stats = jiedui(tmp_path, "stats", "--json")
    assert stats.returncode == 0, stats.stderr
    numbers = json.loads(stats.stdout)
    assert (numbers["villages"], numbers["active_pairings"], numbers["unpaired_villages"]) == \
        (131, 131, 0)
    assert (numbers["towns"], numbers["firms"]) == (8, 3)
    # The demo's tasks: every programme is on its way to its target.
    assert "项项目任务（已完成" in loaded.stdout
    assert numbers["programs"] and all(0 < p["done"] <= 1.1 * p["target"]
                                       for p in numbers["programs"].values())

    again = jiedui(tmp_path, "demo")
    assert again.returncode != 0 and "--reset" in again.stderr
    reset = jiedui(tmp_path, "demo", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert json.loads(jiedui(tmp_path, "stats", "--json").stdout)["villages"] == 131


def test_stats_json_gives_every_programme_its_done_count_and_target(tmp_path):
    assert jiedui(tmp_path, "init").returncode == 0
    stats = jiedui(tmp_path, "stats", "--json")
    assert stats.returncode == 0, stats.stderr
    programs = json.loads(stats.stdout)["programs"]
    listed = json.loads(jiedui(tmp_path, "plugins", "--json").stdout)["programs"]
    assert list(programs) == [p["slug"] for p in listed]  # every programme, in their order
    assert len(programs) >= 10
    assert all(p == {"done": 0, "target": 100} for p in programs.values())

    text = jiedui(tmp_path, "stats")
    assert text.returncode == 0 and "publicity_videos" in text.stdout and "0 / 100" in text.stdout


def test_init_twice_is_fine(tmp_path):
    first, second = jiedui(tmp_path, "init"), in_chinese(tmp_path, "init")
    assert first.returncode == 0 and "Migrations applied: 0001_initial, " in first.stdout
    assert first.stdout.startswith(f"Database: {tmp_path / 'jiedui.db'}\n")
    assert second.returncode == 0
    assert second.stdout.splitlines() == [f"数据库：{tmp_path / 'jiedui.db'}",
                                          "数据库结构已是最新，无需迁移。"]


def test_user_add_refuses_a_bad_password_and_creates_nothing(tmp_path):
    refused = jiedui(tmp_path, "user", "add", "--username", "wang", "--password", "short",
                     "--role", "coordinator")
    assert refused.returncode != 0
    assert "password needs at least 8 characters" in refused.stderr
    assert count_users(tmp_path) == 0

    digits_only = jiedui(tmp_path, "user", "add", "--username", "wang", "--password",
                         "12345678", "--role", "coordinator")
    assert digits_only.returncode != 0 and "letters" in digits_only.stderr
    assert count_users(tmp_path) == 0

    created = jiedui(tmp_path, "user", "add", "--username", "wang", "--password",
                     "good-pass-1", "--role", "coordinator")
    assert created.returncode == 0, created.stderr
    assert "Created the login wang (Coordinator) for the whole district." in created.stdout
    assert count_users(tmp_path) == 1


SAMPLE = Path(__file__).parent.parent / "samples" / "district.csv"


def test_user_add_says_whom_a_login_is_for_in_the_configured_language(tmp_path):
    assert jiedui(tmp_path, "import", str(SAMPLE)).returncode == 0
    lawyer = jiedui(tmp_path, "user", "add", "--username", "zhou", "--password", "good-pass-1",
                    "--role", "lawyer", "--lawyer", "1")
    assert lawyer.returncode == 0, lawyer.stderr
    assert lawyer.stdout.strip() == \
        "Created the login zhou (Lawyer), linked to the lawyer 周文彬 (id 1)."

    town = in_chinese(tmp_path, "user", "add", "--username", "li", "--password", "good-pass-1",
                      "--role", "coordinator", "--town", "330199101")
    assert town.returncode == 0, town.stderr
    assert town.stdout.strip() == "已创建登录账号 li（协调员），范围：镇(街道) 青石镇（330199101）。"
    lawyer = in_chinese(tmp_path, "user", "add", "--username", "wu", "--password", "good-pass-1",
                        "--role", "lawyer", "--lawyer", "2")
    assert lawyer.stdout.strip() == "已创建登录账号 wu（律师），关联律师 吴佳怡（编号 2）。"
    unknown = in_chinese(tmp_path, "user", "add", "--username", "x", "--password",
                         "good-pass-1", "--role", "lawyer", "--lawyer", "999")
    assert unknown.returncode != 0 and "编号为 999 的律师不存在。" in unknown.stderr
    assert count_users(tmp_path) == 3


def test_user_add_refuses_an_unknown_village(tmp_path):
    refused = jiedui(tmp_path, "user", "add", "--username", "cun", "--password", "good-pass-1",
                     "--role", "village", "--village", "no-such-code")
    assert refused.returncode != 0 and "no-such-code" in refused.stderr
    assert count_users(tmp_path) == 0


def user_row(instance: Path, username: str) -> tuple:
    """The user's password hash, whether active, and how many sessions they have."""
    with sqlite3.connect(instance / "jiedui.db") as connection:
        return connection.execute(
            'SELECT password_hash, active, (SELECT count(*) FROM user_session s '
            'WHERE s.user_id = u.id) FROM "user" u WHERE username = ?', (username,)).fetchone()


def add_session(instance: Path, username: str) -> None:
    """A login of ``username`` on some device (a session row, as the web writes it)."""
    with sqlite3.connect(instance / "jiedui.db") as connection:
        connection.execute(
            "INSERT INTO user_session (user_id, key_hash, created_at, last_seen_at, address) "
            "SELECT id, ?, '2026-01-01', '2026-01-01', '' FROM \"user\" WHERE username = ?",
            (f"hash-{username}", username))


def test_user_password_prompts_twice_hidden_and_applies_the_rules(tmp_path):
    assert jiedui(tmp_path, "user", "add", "--username", "boss", "--password", "old-pass-1",
                  "--role", "admin").returncode == 0
    add_session(tmp_path, "boss")
    before = user_row(tmp_path, "boss")

    def password(*lines):
        return in_chinese(tmp_path, "user", "password", "boss", stdin="\n".join(lines) + "\n")

    short = password("short1", "short1")
    assert short.returncode != 0 and "密码至少需要 8 个字符。" in short.stderr
    assert user_row(tmp_path, "boss") == before
    changed = password("new-pass-22", "other-pass-3", "new-pass-22", "new-pass-22")
    assert changed.returncode == 0, changed.stderr
    assert "new-pass-22" not in changed.stdout + changed.stderr  # hidden input: not echoed
    assert "两次输入的密码不一致。" in changed.stderr  # then asked again
    assert changed.stdout.count("新密码:") == changed.stdout.count("确认密码:") == 2
    assert changed.stdout.splitlines()[-1] == "boss 的密码已修改，该用户已在所有设备上退出登录。"
    after = user_row(tmp_path, "boss")
    assert after[0] != before[0] and (before[2], after[2]) == (1, 0)  # logged out
    nobody = jiedui(tmp_path, "user", "password", "nobody", "--password", "x-pass-123")
    assert nobody.returncode != 0
    assert "There is no login with the username nobody." in nobody.stderr
    assert user_row(tmp_path, "boss") == after


def test_user_disable_and_enable(tmp_path):
    assert jiedui(tmp_path, "user", "add", "--username", "wang", "--password", "good-pass-1",
                  "--role", "coordinator").returncode == 0
    add_session(tmp_path, "wang")
    disabled = in_chinese(tmp_path, "user", "disable", "wang")
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.strip() == "wang 已停用，并已在所有设备上退出登录。"
    assert user_row(tmp_path, "wang")[1:] == (0, 0)
    enabled = in_chinese(tmp_path, "user", "enable", "wang")
    assert enabled.returncode == 0 and user_row(tmp_path, "wang")[1] == 1
    assert enabled.stdout.strip() == "wang 已启用，可重新登录。"
    nobody = in_chinese(tmp_path, "user", "disable", "nobody")
    assert nobody.returncode != 0
    assert nobody.stderr.strip() == "Error: 用户名为 nobody 的登录账号不存在。"


@pytest.fixture
def cli_here(tmp_path):
    """``cli_here(*args)`` runs the ``jiedui`` command on an instance of its own; the test
    then reads and writes the same database."""
    yield lambda *args: jiedui(tmp_path, *args)
    from core.db import db
    if not db.is_closed():
        db.close()


def lock_out(username: str, address: str = "10.0.0.5") -> None:
    """Fail enough logins of ``username`` from ``address`` that even the right password
    must wait there."""
    from core import logins
    from core.errors import PermissionDenied, TooManyAttempts
    for _ in range(3):
        with pytest.raises(PermissionDenied):
            logins.attempt(username, "guess-pass-1", address)
    with pytest.raises(TooManyAttempts):
        logins.attempt(username, "guess-pass-1", address)


@pytest.mark.parametrize("command", [["password", "boss", "--password", "new-pass-22"],
                                     ["unlock", "boss"]])
def test_user_password_and_user_unlock_let_a_locked_out_user_log_in(cli_here, command):
    from core import logins
    from core.models import AuditLog
    assert cli_here("user", "add", "--username", "boss", "--password", "old-pass-1",
                    "--role", "admin").returncode == 0
    lock_out("boss")
    done = cli_here("user", *command)
    assert done.returncode == 0, done.stderr
    password = "new-pass-22" if command[0] == "password" else "old-pass-1"
    assert logins.attempt("boss", password, "10.0.0.5").username == "boss"
    (entry,) = AuditLog.select().where(AuditLog.action == "user.unlock")
    assert (entry.username, entry.detail) == ("", {"failures": 3})
    if command[0] == "unlock":
        assert done.stdout.strip() == \
            "boss can log in again at once: their failed logins no longer count."


def enqueue_ping(instance: Path, value: str) -> str:
    """Send ``ping`` to the consumer of ``instance`` through a huey of our own."""
    settings = load_settings({"JIEDUI_INSTANCE": str(instance), "JIEDUI_SECRET_KEY": "x"})
    remote_ping = make_huey(settings).task()(ping)  # same task name: core.jobs.ping
    return remote_ping(value).get(blocking=True, timeout=20)


def start_run(instance: Path, port: int, log_path: Path) -> subprocess.Popen:
    """`make run`: the default language, zh_CN; what it prints in ``log_path``."""
    return start([JIEDUI, "run", "--demo", "--port", str(port)], child_env(instance, "zh_CN"),
                 log_path)


def stop_with_ctrl_c(process: subprocess.Popen) -> str:
    """Ctrl-C, as a person stops it; what it printed."""
    code = stop(process, 10, signal.SIGINT)
    output = log_of(process)
    if code == -signal.SIGKILL:
        pytest.fail(f"jiedui run did not stop within 10 s of Ctrl-C:\n{output}")
    assert code == 0, output
    return output


@pytest.mark.slow  # a real `jiedui run` process
def test_run_serves_runs_jobs_and_stops_on_ctrl_c_then_reuses_the_data(tmp_path):
    port = free_port()
    process = start_run(tmp_path, port, tmp_path / "run.log")
    try:
        assert wait_for_url(f"http://127.0.0.1:{port}/login", 30, process) == 200
        assert enqueue_ping(tmp_path, "from-the-test") == "from-the-test"  # consumer runs
    finally:
        output = stop_with_ctrl_c(process)
    # What `make run` prints (README, "Quick start"): where to open it and the demo logins.
    assert "数据库为空：正在载入演示辖区……" in output
    assert f"结对系统已启动，请在浏览器中打开 http://127.0.0.1:{port}/\n" in output
    assert f"数据库：{tmp_path / 'jiedui.db'}" in output
    assert "演示账号（用户名 / 密码）：" in output
    for username, password in DEMO_LOGINS.values():
        assert f"{username} / {password}" in output
    assert "结对系统已停止。" in output
    with pytest.raises(OSError):  # the web server is gone with the process
        urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)

    # Running it again reuses the data.
    process = start_run(tmp_path, port, tmp_path / "run-again.log")
    try:
        assert wait_for_url(f"http://127.0.0.1:{port}/login", 30, process) == 200
    finally:
        output = stop_with_ctrl_c(process)
    assert "数据库中已有数据：直接使用（不重新载入演示辖区）。" in output
    numbers = json.loads(jiedui(tmp_path, "stats", "--json").stdout)
    assert (numbers["villages"], numbers["active_pairings"]) == (131, 131)


def test_pace_tally_checks_the_kept_figures_and_says_how_many_it_repaired(tmp_path):
    jiedui(tmp_path, "init")
    ran = jiedui(tmp_path, "pace-tally")
    assert ran.returncode == 0 and ran.stdout == "Pace figures checked: 0 rows repaired.\n"


def test_progress_tally_repairs_the_kept_counts_and_says_how_many_rows(tmp_path):
    jiedui(tmp_path, "init")
    with sqlite3.connect(tmp_path / "jiedui.db") as connection:  # a count no session backs
        connection.execute("INSERT INTO town_tally (figure, year, town_id, month, value) "
                           "VALUES ('sessions:held', 2026, 5, 0, 3)")
    ran = jiedui(tmp_path, "progress-tally")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "Progress and session counts checked: 1 rows repaired.\n"
    with sqlite3.connect(tmp_path / "jiedui.db") as connection:
        assert connection.execute("SELECT count(*) FROM town_tally").fetchone()[0] == 0
    assert jiedui(tmp_path, "progress-tally").stdout == \
        "Progress and session counts checked: 0 rows repaired.\n"
