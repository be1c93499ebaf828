"""End-to-end: the real `jiedui run --demo` process and Debian's chromium via Playwright."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Without these, chromium keeps trying to reach Google's hosts, which this machine cannot.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


LIVE = {}  # what the running server was started with: its instance folder and environment


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """`jiedui run --demo` on a free port in a fresh instance (SQLite, huey on SQLite)."""
    instance = tmp_path_factory.mktemp("e2e-instance")
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JIEDUI_") or k == "JIEDUI_REQUIRE_SERVICES"}
    env["JIEDUI_INSTANCE"] = str(instance)
    env["JIEDUI_BASE_URL"] = f"http://127.0.0.1:{port}"
    jiedui = Path(sys.executable).parent / "jiedui"
    log = (instance / "run.log").open("w")  # a file, not a pipe nobody reads (it would fill up)
    process = subprocess.Popen([str(jiedui), "run", "--demo", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    LIVE.update(instance=instance, env=env, jiedui=jiedui)
    try:
        _wait_for(base + "/login", 60)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()
