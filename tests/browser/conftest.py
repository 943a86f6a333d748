"""Fixtures for the browser tier: real headless Chromium (Debian's package, driven by
Playwright) against a real ``inngestd dev`` process and the real SDK app (the e2e stack).
With ``INNGESTD_TEST_BACKEND=shared`` the server is ``inngestd start`` (as in tests/e2e)
and every page first signs in through the dashboard's login form with the signing key.

* ``browser`` (session): Chromium at ``$INNGESTD_CHROMIUM`` (default
  ``/usr/bin/chromium``); Playwright never downloads one. If it cannot start, every
  test here FAILS when ``$CI`` is set and is skipped with the reason otherwise.
* ``stack`` (session): the server + main_app from ``tests/e2e``, synced.
* ``page``: a fresh page with ``base_url`` set to the server (signed in when the server
  is ``inngestd start``); JavaScript errors on the page fail the test; on failure a
  screenshot goes to ``test-artifacts/``.
* ``shot(page, name)``: save ``test-artifacts/<name>.png`` (full page).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (  # noqa: F401 (the cleanup fixture is autouse)
    Stack,
    _shared_state_cleanup,
    start_main_stack,
)
from tests.e2e.harness import LIVE, REPO_ROOT, START_SIGNING_KEY, uid

CHROMIUM = os.environ.get("INNGESTD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)
    if rep.failed and LIVE:
        for proc in LIVE:
            rep.sections.append(
                (f"{proc.name} :{proc.port} log tail", proc.log_tail(80))
            )


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser tests need headless Chromium: {reason}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the environment
        _unavailable(f"playwright is not importable ({exc})")
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} does not exist (apt-get install chromium)")
    pw = sync_playwright().start()
    try:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        pw.stop()
        _unavailable(f"{CHROMIUM} did not start: {exc}")
    try:
        yield instance
    finally:
        instance.close()
        pw.stop()


@pytest.fixture(scope="session")
def stack(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("browser-session")
    st: Stack | None = None
    try:
        st = start_main_stack(base)
        yield st
    finally:
        if st is not None:
            st.api.close()
            st.app.stop()
            st.server.stop()
        for proc in list(LIVE):
            if str(proc.log_path).startswith(str(base)):
                proc.stop()


@pytest.fixture
def k() -> str:
    return uid()


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def page(browser: Any, stack: Stack, request: pytest.FixtureRequest) -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    context = browser.new_context(
        base_url=stack.server.url, viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        if stack.server.command == "start":
            _sign_in(pg)
        yield pg
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            pg.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        context.close()


def _sign_in(page: Any) -> None:
    """`inngestd start`: the dashboard redirects to its login form; sign in there with
    the signing key, as a person would (the session cookie then covers every page)."""
    from playwright.sync_api import expect

    page.goto("/apps")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fapps$"))
    page.get_by_label("Signing key").fill(START_SIGNING_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/apps$"))
