"""A throwaway three-node Redis Cluster for the contract suite (`redis-cluster` backend).

Started once per test session from `redis-server --cluster-enabled yes` on free ports in a
temporary directory and joined with `redis-cli --cluster create`; shut down at the end.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NODES = 3


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    while True:
        port = random.randrange(20_000, 50_000)
        if _bindable(port) and _bindable(port + 10_000):
            return port


def _cli(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout


def available() -> str | None:
    """None if a cluster can be started here, else why not."""
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@contextmanager
def redis_cluster(base: Path) -> Iterator[str]:
    """Yield the `redis+cluster://` URL of a fresh cluster under `base`."""
    ports = [_free_port() for _ in range(NODES)]
    started: list[int] = []
    try:
        for port in ports:
            node_dir = base / str(port)
            node_dir.mkdir(parents=True)
            subprocess.run(
                [
                    "redis-server",
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--save", "",
                    "--appendonly", "no",
                    "--daemonize", "yes",
                    "--dir", str(node_dir),
                    "--logfile", str(node_dir / "redis.log"),
                ],
                check=True,
                timeout=30,
            )  # fmt: skip
            started.append(port)
        deadline = time.monotonic() + 10
        while True:
            try:
                for port in ports:
                    _cli(port, "ping")
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        _cli(
            ports[0],
            "--cluster", "create",
            *(f"127.0.0.1:{p}" for p in ports),
            "--cluster-replicas", "0",
            "--cluster-yes",
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not all("cluster_state:ok" in _cli(p, "cluster", "info") for p in ports):
            if time.monotonic() > deadline:
                raise TimeoutError("the Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.1)
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        for port in started:
            subprocess.run(
                ["redis-cli", "-p", str(port), "shutdown", "nosave"],
                capture_output=True,
                timeout=30,
            )


def main(argv: list[str]) -> int:
    """`python -m tests.contract.redis_cluster CMD...`: run CMD with
    INNGESTD_TEST_REDIS_URL pointing at a fresh cluster (the Makefile runs the multi-process
    end-to-end tests this way)."""
    import os
    import tempfile

    missing = available()
    if missing is not None:
        print(f"cannot start a Redis Cluster: {missing}", file=sys.stderr)
        return 1
    with (
        tempfile.TemporaryDirectory(prefix="inngestd-cluster-") as base,
        redis_cluster(Path(base)) as url,
    ):
        env = {**os.environ, "INNGESTD_TEST_REDIS_URL": url}
        return subprocess.run(argv, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
