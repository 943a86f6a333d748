"""The `inngestd` command line: --version, dev --help, the listening log line."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

import pytest

from inngestd.cli import GO_ENV
from tests.e2e.harness import PYTHON, REPO_ROOT, ServerProcess, subprocess_env

FLAGS = [
    "--host",
    "--port",
    "--data-dir",
    "-u",
    "--no-discovery",
    "--poll-interval",
    "--no-poll",
    "--persist",
    "--tick",
    "--config",
    "--shutdown-timeout",
    "--retry-interval",
    "--log-level",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "inngestd", *args],
        cwd=str(REPO_ROOT),
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_version() -> None:
    p = _run("--version")
    assert p.returncode == 0, f"rc={p.returncode}\nstdout={p.stdout}\nstderr={p.stderr}"
    out = p.stdout + p.stderr
    assert re.search(r"\d+\.\d+\.\d+", out), f"no version number in {out!r}"


def test_dev_help_mentions_every_flag() -> None:
    p = _run("dev", "--help")
    assert p.returncode == 0, f"rc={p.returncode}\nstdout={p.stdout}\nstderr={p.stderr}"
    text = p.stdout
    missing = [f for f in FLAGS if not re.search(rf"(^|[\s,]){re.escape(f)}\b", text)]
    assert not missing, f"dev --help does not mention {missing}:\n{text}"


def test_every_go_variable_is_read_by_some_command() -> None:
    """Each `INNGEST_<NAME>` inngestd says it reads (as Go's CLI) is on an option."""
    text = re.sub(
        r"\s+", " ", _run("dev", "--help").stdout + _run("start", "--help").stdout
    )
    missing = [n for n in sorted(GO_ENV) if f"INNGEST_{n}" not in text]
    assert not missing, f"no option reads {missing}"


@pytest.mark.parametrize("bad", [["--port", "notaport"], ["--log-level", "loud"]])
def test_dev_rejects_bad_flags(bad: list[str]) -> None:
    p = _run("dev", *bad)
    assert p.returncode != 0, f"accepted {bad}: {p.stdout} {p.stderr}"
    assert p.stderr.strip(), "no error message on stderr"


def test_listening_log_line(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(poll_interval=None)
    assert f"listening on http://127.0.0.1:{server.port}" in server.log_text(), (
        server.log_tail()
    )


def test_sigterm_exits_cleanly(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(poll_interval=None)
    server.stop(grace=10)
    rc = server.returncode()
    assert rc in (0, -15, 143), f"exit code after SIGTERM: {rc}\n{server.log_tail()}"
