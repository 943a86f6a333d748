"""A throwaway three-node Redis Cluster for the contract suite (`redis-cluster` backend).

Started once per test session from `redis-server --cluster-enabled yes` on free ports in a
temporary directory and joined with `redis-cli --cluster create`; shut down at the end.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NODES = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
