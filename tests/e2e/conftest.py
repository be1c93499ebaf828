"""End-to-end: the real `jiedui run --demo` process and Debian's chromium via Playwright."""
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.processes import free_port, start, stop, wait_for_url

CHROMIUM = "/usr/bin/chromium"
# Without these, chromium keeps trying to reach Google's hosts, which this machine cannot.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


LIVE = {}  # what the running server was started with: its instance folder and environment


def server_environment(instance: Path) -> tuple[dict, int]:
    """The environment of a `jiedui` process of its own (none of this shell's JIEDUI_*
    settings) on ``instance`` and a free port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JIEDUI_") or k == "JIEDUI_REQUIRE_SERVICES"}
    env.update(JIEDUI_INSTANCE=str(instance), JIEDUI_BASE_URL=f"http://127.0.0.1:{port}")
    return env, port


JIEDUI = Path(sys.executable).parent / "jiedui"


@contextmanager
def running_server(instance: Path, env: dict, port: int, *args: str):
    """`jiedui run ARGS` on ``port`` until the block ends (Ctrl-C, then killed if it hangs);
    yields its base URL once it answers."""
    process = start([JIEDUI, "run", *args, "--port", str(port)], env, instance / "run.log")
    base = f"http://127.0.0.1:{port}"
    try:
        # loading the demo takes a minute on a busy machine
        wait_for_url(base + "/login", 180, process)
        yield base
    finally:
        stop(process, 15)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """`jiedui run --demo` on a free port in a fresh instance (SQLite, huey on SQLite)."""
    instance = tmp_path_factory.mktemp("e2e-instance")
    env, port = server_environment(instance)
    LIVE.update(instance=instance, env=env, jiedui=JIEDUI)
    with running_server(instance, env, port, "--demo") as base:
        yield base


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


# A phone inside WeChat's browser: what most lawyers and residents use Jiedui on.
PHONE_VIEWPORT = {"width": 375, "height": 812}
WECHAT_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 "
    "XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) "
    "WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64")
SCREENSHOTS = Path(os.environ.get("JIEDUI_TEST_SCREENSHOTS", "test-output/screenshots"))
# The README's screenshots: refreshed by `make screenshots`, never by a plain test run (that
# would leave the working tree changed after every `make test`).
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE_DOCS_SCREENSHOTS = os.environ.get("JIEDUI_UPDATE_SCREENSHOTS") == "1"


def log_in(page, base, role):
    """Log in as one of the demo's people ("admin", "coordinator", "town coordinator",
    "leader", "firm head", "lawyer", "village") and wait for the first page after login."""
    from core.demo import DEMO_LOGINS
    username, password = DEMO_LOGINS[role]
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


@pytest.fixture
def phone(browser):
    """A page at 375 × 812 with WeChat's user agent and touch. Console errors are collected
    in `phone.console_errors`; `phone.shot("name")` saves a screenshot in the test output
    (test-output/screenshots/, kept by CI) and returns its path; `docs=True` marks one the
    README shows, copied to docs/screenshots/ when JIEDUI_UPDATE_SCREENSHOTS=1."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE_VIEWPORT,
                                  user_agent=WECHAT_USER_AGENT, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    yield _page_with_shots(context)
    context.close()


# An office PC: where coordinators and the bureau work.
DESK_VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture
def desk(browser):
    """A page at 1280 × 900, as `phone` (console errors, `desk.shot(name)`)."""
    context = browser.new_context(locale="zh-CN", viewport=DESK_VIEWPORT)
    yield _page_with_shots(context)
    context.close()


def _page_with_shots(context):
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors

    def shot(name, full_page=False, docs=False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        # caret="initial": hiding the caret leaves an empty style attribute on every input,
        # which htmx then copies when it settles a swap, and the CSP refuses (console errors)
        page.screenshot(path=str(path), full_page=full_page, caret="initial")
        if docs and UPDATE_DOCS_SCREENSHOTS:
            (DOCS_SCREENSHOTS / path.name).write_bytes(path.read_bytes())
        return path

    page.shot = shot
    return page
