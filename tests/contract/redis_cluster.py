"""A throwaway three-node Redis Cluster for the contract suite (`redis-cluster` backend).

Started once per test session from `redis-server --cluster-enabled yes` on free ports in a
temporary directory and joined with `redis-cli --cluster create`; shut down at the end.

`redis_cluster(base, replicas=1)` gives each of the three masters a replica (six nodes) and
a short node timeout, so a killed master is replaced within a few seconds: `slot_master`,
`kill_master_of` and `wait_failover` let a test kill the master that holds a deployment.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NODES = 3
# With replicas: how long a master may be unreachable before its replica takes over.
FAILOVER_NODE_TIMEOUT_MS = 1000


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
def redis_cluster(base: Path, replicas: int = 0) -> Iterator[str]:
    """Yield the `redis+cluster://` URL of a fresh cluster under `base`: three masters,
    each with `replicas` replicas."""
    ports = [_free_port() for _ in range(NODES * (1 + replicas))]
    started: list[int] = []
    # The default node timeout (15 s) when nothing fails over; a short one when replicas
    # should take over fast.
    node_timeout = FAILOVER_NODE_TIMEOUT_MS if replicas else 15_000
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
                    "--cluster-node-timeout", str(node_timeout),
                    "--save", "",
                    "--appendonly", "no",
                    "--daemonize", "yes",
                    "--pidfile", str(node_dir / "redis.pid"),
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
            "--cluster-replicas", str(replicas),
            "--cluster-yes",
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not all(_ready(p, replicas) for p in ports):
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


def _ready(port: int, replicas: int) -> bool:
    if "cluster_state:ok" not in _cli(port, "cluster", "info"):
        return False
    if not replicas:
        return True
    # Every node knows every replica, and each replica's link to its master is up
    # (a replica still syncing cannot be promoted).
    nodes = _nodes(port)
    if sum(1 for n in nodes if "slave" in n.flags) != NODES * replicas:
        return False
    info = _cli(port, "info", "replication")
    return "role:slave" not in info or "master_link_status:up" in info


class Node:
    """One line of CLUSTER NODES."""

    def __init__(self, line: str) -> None:
        fields = line.split()
        self.id = fields[0]
        self.port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
        self.flags = set(fields[2].split(","))
        self.master_id = fields[3]
        self.ranges: list[tuple[int, int]] = []
        for spec in fields[8:]:
            if spec.startswith("["):
                continue  # a slot being migrated
            lo, _, hi = spec.partition("-")
            self.ranges.append((int(lo), int(hi or lo)))

    @property
    def is_master(self) -> bool:
        return "master" in self.flags and not self.flags & {"fail", "fail?"}

    def serves(self, slot: int) -> bool:
        return self.is_master and any(lo <= slot <= hi for lo, hi in self.ranges)


def _nodes(port: int) -> list[Node]:
    return [Node(line) for line in _cli(port, "cluster", "nodes").splitlines() if line]


def _port_of(url: str) -> int:
    return int(url.rpartition(":")[2].split("/")[0])


def slot_of(url: str, key: str) -> int:
    """The hash slot of `key` (a deployment's keys all share the slot of `{prefix}`)."""
    return int(_cli(_port_of(url), "cluster", "keyslot", key).strip())


def slot_master(port: int, slot: int) -> int | None:
    """The port of the master serving `slot`, as the node on `port` sees it."""
    for node in _nodes(port):
        if node.serves(slot):
            return node.port
    return None


def node_ports(base: Path) -> list[int]:
    """The ports of the cluster's nodes started under `base`."""
    return sorted(int(d.name) for d in base.iterdir() if (d / "redis.pid").exists())


def kill_master_of(base: Path, url: str, key: str) -> int:
    """SIGKILL the master serving `key`'s slot; returns its port."""
    slot = slot_of(url, key)
    master = slot_master(_port_of(url), slot)
    if master is None:
        raise RuntimeError(f"no master serves slot {slot}")
    pid = int((base / str(master) / "redis.pid").read_text().strip())
    os.kill(pid, signal.SIGKILL)
    return master


def wait_failover(
    base: Path, url: str, key: str, dead: int, timeout: float = 30.0
) -> int:
    """Wait until every live node reports cluster_state:ok and a master other than `dead`
    serves `key`'s slot; returns the new master's port."""
    live = [p for p in node_ports(base) if p != dead]
    slot = int(_cli(live[0], "cluster", "keyslot", key).strip())
    deadline = time.monotonic() + timeout
    while True:
        try:
            masters = {slot_master(p, slot) for p in live}
            ok = all("cluster_state:ok" in _cli(p, "cluster", "info") for p in live)
            if ok and len(masters) == 1:
                (master,) = masters
                if master is not None and master != dead:
                    return master
        except subprocess.CalledProcessError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no replica took over slot {slot} within {timeout}s")
        time.sleep(0.1)


def subscribers(base: Path, channel: str, dead: int) -> int:
    """How many clients subscribe to `channel` on the live nodes (not on port `dead`)."""
    return sum(
        int(_cli(port, "pubsub", "numsub", channel).split()[1])
        for port in node_ports(base)
        if port != dead
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
