"""Fixtures for the e2e tier: a real `inngestd dev` process and real SDK apps.

With ``INNGESTD_TEST_BACKEND=shared`` every server here is `inngestd start` on Redis +
PostgreSQL with the harness's keys, and every app runs in cloud mode (harness docstring).

Fixture API
-----------
* ``server_factory(app_urls=(), *, data_dir=None, poll_interval=1, extra_args=(), port=None,
  command=None)`` -> :class:`ServerProcess` (started, healthy); ``command=None`` is the
  pass's default (``dev``, or ``start`` with the harness keys in the shared pass);
  ``command="start"`` runs ``inngestd start`` with the keys in ``extra_args``. Function
  scope; every server is stopped (SIGTERM, then SIGKILL) at teardown. ``.restart()``, ``.kill9()``,
  ``.start()``, ``.log_tail()``, ``.url``, ``.port``, ``.data_dir``.
* ``app_factory(module="main_app", *, server, port=None, env=None)`` -> :class:`AppProcess`
  (started, answering GET /api/inngest). ``.serve_url``, ``.counts()``, ``.count(key)``,
  ``.records()``, ``.sync()``, ``.stop()``, ``.start()``.
* ``stack`` (session): the shared server + main app, synced. ``stack.api`` is an :class:`Api`,
  ``stack.app`` the app, ``stack.server`` the server.
* ``api`` / ``app`` / ``server``: shortcuts into ``stack``.
* ``k``: a unique tag for this test's events and counters.

Every test here is marked ``e2e``. On a failure, the log tails of all live
processes are attached to the report.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    LIVE,
    Api,
    AppProcess,
    NodeAppProcess,
    ServerProcess,
    drop_shared_state,
    free_port,
    node_deps_problem,
    uid,
)


@pytest.fixture(scope="session", autouse=True)
def _shared_state_cleanup() -> Iterator[None]:
    """After the session (its servers are stopped by then): drop the Redis keys and
    PostgreSQL schemas the shared-backend servers used."""
    yield
    try:
        drop_shared_state()
    except Exception as exc:  # the services may be gone; that must not fail the run
        warnings.warn(f"could not drop the shared test state: {exc!r}", stacklevel=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    if rep.failed and LIVE:
        for proc in LIVE:
            rep.sections.append(
                (f"{proc.name} :{proc.port} log tail", proc.log_tail(80))
            )


# --------------------------------------------------------------------------- factories


def _start_server(
    base: Path,
    app_urls: Iterable[str],
    *,
    data_dir: Path | None,
    poll_interval: int | None,
    extra_args: Iterable[str],
    port: int | None,
    command: str | None = None,
) -> ServerProcess:
    port = port or free_port()
    run_dir = base / f"inngestd-{port}"
    run_dir.mkdir(parents=True, exist_ok=True)
    srv = ServerProcess(
        port=port,
        data_dir=data_dir or (run_dir / "data"),
        log_path=run_dir / "inngestd.log",
        app_urls=app_urls,
        extra_args=extra_args,
        poll_interval=poll_interval,
        command=command,
    )
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    srv.start()
    return srv


def _start_app(
    base: Path,
    module: str,
    server_url: str,
    *,
    port: int | None,
    env: Mapping[str, str] | None,
) -> AppProcess:
    port = port or free_port()
    app = AppProcess(
        module=module,
        port=port,
        server_url=server_url,
        log_path=base / f"app-{module}-{port}.log",
        env=env,
    )
    app.start()
    return app


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def make(
        app_urls: Iterable[str] = (),
        *,
        data_dir: Path | None = None,
        poll_interval: int | None = 1,
        extra_args: Iterable[str] = (),
        port: int | None = None,
        command: str | None = None,
    ) -> ServerProcess:
        srv = _start_server(
            tmp_path,
            app_urls,
            data_dir=data_dir,
            poll_interval=poll_interval,
            extra_args=extra_args,
            port=port,
            command=command,
        )
        started.append(srv)
        return srv

    yield make
    for srv in reversed(started):
        srv.stop()


@pytest.fixture
def app_factory(tmp_path: Path) -> Iterator[Callable[..., AppProcess]]:
    started: list[AppProcess] = []

    def make(
        module: str = "main_app",
        *,
        server: ServerProcess | str,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> AppProcess:
        url = server if isinstance(server, str) else server.url
        app = _start_app(tmp_path, module, url, port=port, env=env)
        started.append(app)
        return app

    yield make
    for app in reversed(started):
        app.stop()


# --------------------------------------------------------------------------- shared stack


@dataclasses.dataclass
class Stack:
    server: ServerProcess
    app: AppProcess
    api: Api


def main_app_slugs(include_failure_handlers: bool = True) -> list[str]:
    from tests.e2e.apps import main_app

    if include_failure_handlers:
        return list(main_app.EXPECTED_SLUGS)
    return sorted(f.id for f in main_app.FUNCTIONS)


def start_main_stack(
    base: Path,
    *,
    server_start: Callable[..., ServerProcess] | None = None,
    app_start: Callable[..., AppProcess] | None = None,
) -> Stack:
    """Start a server with ``-u`` pointing at a main_app, start that app, wait for sync."""
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}/api/inngest"
    if server_start is None:
        server = _start_server(
            base, [app_url], data_dir=None, poll_interval=1, extra_args=(), port=None
        )
    else:
        server = server_start([app_url])
    if app_start is None:
        app = _start_app(base, "main_app", server.url, port=app_port, env=None)
    else:
        app = app_start("main_app", server=server, port=app_port)
    api = Api(server.url)
    api.wait_synced(
        "e2e-app",
        slugs=main_app_slugs(include_failure_handlers=False),
        exact=False,
        timeout=30,
    )
    return Stack(server=server, app=app, api=api)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("e2e-session")
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
def api(stack: Stack) -> Api:
    return stack.api


@pytest.fixture
def app(stack: Stack) -> AppProcess:
    return stack.app


@pytest.fixture
def server(stack: Stack) -> ServerProcess:
    return stack.server


@pytest.fixture
def k() -> str:
    return uid()


# --------------------------------------------------------------------------- SDK matrix

#: The SDK apps every shared scenario (test_sdk_scenarios.py) runs against, by name.
SDKS = ("python", "typescript", "typescript-no-checkpoint")

TS_APP_ID = "e2e-ts-app"


@dataclasses.dataclass
class SdkStack:
    """One SDK's app synced to its own server: ``slug(fn)`` is the function's id there."""

    sdk: str
    server: ServerProcess
    app: AppProcess
    api: Api
    app_id: str

    def slug(self, fn: str) -> str:
        return f"{self.app_id}-{fn}"

    @property
    def is_ts(self) -> bool:
        return self.sdk.startswith("typescript")


def start_ts_stack(
    base: Path,
    *,
    checkpointing: bool = True,
    server_start: Callable[..., ServerProcess] | None = None,
    server_host: str = "127.0.0.1",
    app_port: int | None = None,
) -> SdkStack:
    """A server with ``-u`` pointing at the TS app, the app (INNGEST_BASE_URL on
    ``server_host``), synced."""
    problem = node_deps_problem()
    if problem is not None:
        pytest.fail(f"the TypeScript e2e app cannot start: {problem}")
    app_port = app_port or free_port()
    app_url = f"http://127.0.0.1:{app_port}/api/inngest"
    if server_start is None:
        server = _start_server(
            base, [app_url], data_dir=None, poll_interval=1, extra_args=(), port=None
        )
    else:
        server = server_start([app_url])
    app = NodeAppProcess(
        app_port,
        f"http://{server_host}:{server.port}",
        base / f"ts-app-{app_port}.log",
        app_id=TS_APP_ID,
        checkpointing=checkpointing,
    )
    try:
        app.start()
    except BaseException:
        server.stop()
        raise
    api = Api(server.url)
    api.wait_synced(
        TS_APP_ID,
        slugs=[f"{TS_APP_ID}-{fn}" for fn in ("chain", "slow", "nonretriable")],
        exact=False,
        timeout=30,
    )
    sdk = "typescript" if checkpointing else "typescript-no-checkpoint"
    return SdkStack(sdk, server, app, api, TS_APP_ID)


def _ts_session_stack(
    tmp_path_factory: pytest.TempPathFactory, checkpointing: bool
) -> Iterator[SdkStack]:
    base = tmp_path_factory.mktemp("e2e-ts" if checkpointing else "e2e-ts-nockpt")
    st: SdkStack | None = None
    try:
        st = start_ts_stack(base, checkpointing=checkpointing)
        yield st
    finally:
        if st is not None:
            st.api.close()
            st.app.stop()
            st.server.stop()


@pytest.fixture(scope="session")
def ts_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdkStack]:
    yield from _ts_session_stack(tmp_path_factory, checkpointing=True)


@pytest.fixture(scope="session")
def ts_stack_no_checkpoint(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SdkStack]:
    yield from _ts_session_stack(tmp_path_factory, checkpointing=False)


@pytest.fixture(params=SDKS)
def sdk(request: pytest.FixtureRequest) -> SdkStack:
    """The shared-scenario stack for one SDK (parametrized: a gap shows up by name)."""
    if request.param == "python":
        st: Stack = request.getfixturevalue("stack")
        return SdkStack("python", st.server, st.app, st.api, "e2e-app")
    if request.param == "typescript":
        return request.getfixturevalue("ts_stack")  # type: ignore[no-any-return]
    return request.getfixturevalue("ts_stack_no_checkpoint")  # type: ignore[no-any-return]


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers", "e2e: starts a real inngestd process and a real SDK app"
    )
