"""Dev mode finds apps on its own (no `-u`), as Go's dev server does: here the app
listens on `$PORT`, one of the ports discovery scans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import (
    SHARED_BACKEND,
    Api,
    AppProcess,
    ServerProcess,
    free_port,
    subprocess_env,
    uid,
)

pytestmark = pytest.mark.skipif(
    SHARED_BACKEND, reason="discovery is a dev-mode feature (start syncs only -u URLs)"
)


def test_dev_discovers_and_runs_an_app_without_u(
    tmp_path: Path, app_factory: Callable[..., AppProcess]
) -> None:
    app_port = free_port()
    server = ServerProcess(
        port=free_port(),
        data_dir=tmp_path / "data",
        log_path=tmp_path / "inngestd.log",
        poll_interval=1,
    )
    command = [a for a in server._command() if a != "--no-discovery"]
    server._command = lambda: command  # type: ignore[method-assign]
    server._env = lambda: subprocess_env({"PORT": str(app_port)})  # type: ignore[method-assign]
    server.start()
    try:
        app_factory(server=server, port=app_port)
        api = Api(server.url)
        api.wait_synced("e2e-app", timeout=30, slugs=["e2e-app-simple"], exact=False)
        url = f"http://127.0.0.1:{app_port}/api/inngest"
        assert f"discovered an Inngest app at {url}" in server.log_text()
        eid = api.send_one("e2e/simple", {"k": uid()})
        run = api.wait_for_run(eid, "Completed", timeout=30)
        assert run["output"]["event_id"] == eid
        api.close()
    finally:
        server.stop()
