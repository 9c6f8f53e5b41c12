"""Browser tests: Debian's chromium driven by Playwright against a real uvicorn server.

Fixtures (also for other browser test modules):

- ``server``: a ``LiveServer`` (``.url``, ``.app`` with a ``FixedClock`` you may advance,
  ``.world`` with one user per role, all with ``PASSWORD``) on a temporary SQLite database,
  uvicorn in a thread on a free loopback port;
- ``browser``: chromium (headless, no sandbox), one per test module (see the fixture);
- ``login``: ``login(username) -> Page``, a fresh browser context logged in on Mijn taken;
- ``shot(page, name)``: a full-page screenshot in ``var/test-artifacts/`` (git-ignored).

Without ``/usr/bin/chromium`` every browser test is skipped with a plain reason.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.config import Settings
from kovflow.services import App, add_location, add_user, build_app, resolve_actor
from kovflow.store.migrate import upgrade
from tests.conftest import START, World

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
SKIP_REASON = f"chromium not installed at {CHROMIUM}: browser tests skipped"
PASSWORD = "een-lang-wachtwoord-42"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Say it plainly once per test when chromium is missing (CI installs it, see .ci/run)."""
    if CHROMIUM.exists():
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    app: App
    clock: FixedClock
    world: World


def _world(app: App) -> World:
    op = Actor.installation_operator()
    add_location(app, op, "ZON", "De Zonnebloem", "Presikhaaf", "Kinderopvang Arnhem")
    names = {"coach": "coach", "pm": "pm", "manager": "manager", "jgz": "jgz",
             "wijkcoach": "wijkcoach", "admin": "admin", "coordinator": "coordinator"}
    from kovflow.services.accounts import set_password

    for username, role in names.items():
        add_user(app, op, username, [role], email=f"{username}@example.org",
                 organisation="Gemeente" if role in ("wijkcoach", "coordinator")
                 else "Kinderopvang Arnhem", location="ZON")
        set_password(app, op, username, PASSWORD)
    actors = {u: resolve_actor(app, u) for u in names if u != "coordinator"}
    return World(app, "ZON", operator=op, **actors)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    import uvicorn

    from kovflow.web.app import create_app

    clock = FixedClock(START)
    app = build_app(Settings(), clock=clock,
                    database_url=f"sqlite:///{tmp_path / 'kovflow.db'}")
    upgrade(app.engine)
    world = _world(app)
    port = _free_port()
    config = uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", app, clock, world)
    srv.should_exit = True
    thread.join(timeout=10)
    app.engine.dispose()


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
# while it is open, and later tests that call asyncio.run (the SMTP mailer) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def login(browser: Browser, server: LiveServer) -> Iterator[Callable[[str], Page]]:
    contexts: list[Any] = []

    def make(username: str) -> Page:
        context = browser.new_context(base_url=server.url, locale="nl-NL",
                                      viewport={"width": 1200, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto("/")
        page.get_by_label("Gebruikersnaam").fill(username)
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        page.get_by_role("heading", name="Mijn taken").wait_for()
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    def take(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def axe_violations(page: Page, *, rules: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run the vendored axe-core in the page (evaluated over CDP, so the page's CSP, which
    forbids inline script, stays as it is) and return its violations."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}, **(rules or {})}
    result: dict[str, Any] = page.evaluate("(opts) => axe.run(document, opts)", options)
    violations: list[dict[str, Any]] = result["violations"]
    return violations
