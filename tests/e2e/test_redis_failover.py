"""High availability of the Redis side of `inngestd start`: on a Redis Cluster with one
replica per master, the master that holds the deployment (every key shares the hash tag
`{prefix}`, so one slot) is killed with SIGKILL in the middle of a batch of runs. Its
replica takes over, every run still completes exactly once, events accepted before or
during the failover are not lost, and events sent after it are accepted and run.

Runs against its own six-node cluster (started under tmp_path), whatever
INNGESTD_TEST_BACKEND says. Steps may run twice (a result the dead master had not stored
is computed again), runs may not.
"""

from __future__ import annotations

import datetime
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from inngestd.store.redis.keys import Keys
from tests.contract import redis_cluster
from tests.e2e.harness import (
    Api,
    free_port,
    shared_backend_args,
    uid,
    wait_until,
)
from tests.e2e.test_start_auth import (
    APP_ID,
    BEARER,
    EVENT_KEY,
    SLUGS,
    CloudAppProcess,
    keyed_server,
)

RUNS = 30
STEPS = ("s1", "s2", "s3")
# Few workers, so the batch is still running when the master dies.
QUEUE_WORKERS = 4

# Errors a process may log (with a traceback) while the deployment's master is down:
# the connection to it fails until the cluster client finds the promoted replica.
EXPECTED_ERRORS = re.compile(
    r"^(redis\.exceptions\.(ConnectionError|TimeoutError|ClusterDownError"
    r"|TryAgainError|SlotNotCoveredError)"
    r"|ConnectionRefusedError|ConnectionResetError)\b"
)
# redis-py's asyncio cluster client may also pass on a connection that died (or that it
# disconnected for a reconnect) mid-command as another error, raised in the socket layer:
# uvloop's "RuntimeError: unable to perform operation on <TCPTransport closed=True>", or
# "AttributeError: 'NoneType' object has no attribute 'writelines'" (its writer is gone).
# Those are accepted when the innermost frame is in that layer, nowhere else.
SOCKET_LAYER = ("/redis/asyncio/connection.py", "/asyncio/streams.py", "uvloop/")
# How long after the failover errors may still be logged (a loop's retry interval, the
# wake-up listener's resubscription, a step whose result could not be stored).
SETTLE_S = 5.0
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) (\w+) ")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    missing = redis_cluster.available()
    if missing is not None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"cannot start a Redis Cluster: {missing}")
        pytest.skip(f"cannot start a Redis Cluster: {missing}")
    base = tmp_path / "cluster"
    with redis_cluster.redis_cluster(base, replicas=1) as url:
        yield base, url


class Sender(threading.Thread):
    """Sends one event every 50 ms until stopped; keeps the ids of the accepted ones
    (and when they were accepted) and counts the refusals."""

    def __init__(self, server_url: str, tag: str) -> None:
        super().__init__(daemon=True)
        self._http = httpx.Client(base_url=server_url, timeout=10)
        self._tag = tag
        self._halt = threading.Event()
        self.accepted: list[tuple[float, str, str]] = []  # (time, k, event id)
        self.refused: list[tuple[float, str]] = []

    def run(self) -> None:
        n = 0
        while not self._halt.is_set():
            k = f"{self._tag}-live-{n}"
            n += 1
            try:
                r = self._http.post(
                    f"/e/{EVENT_KEY}", json={"name": "cloud/work", "data": {"k": k}}
                )
            except httpx.TransportError as exc:
                self.refused.append((time.monotonic(), repr(exc)))
            else:
                if r.status_code == 200:
                    self.accepted.append((time.monotonic(), k, r.json()["ids"][0]))
                else:
                    self.refused.append((time.monotonic(), f"{r.status_code} {r.text}"))
            self._halt.wait(0.05)

    def stop(self) -> None:
        self._halt.set()
        self.join(15)
        self._http.close()

    def accepted_since(self, t: float) -> int:
        return sum(1 for at, _, _ in self.accepted if at > t)


def _expected(last: str, traceback: str) -> bool:
    """Whether a traceback (ending in `last`) is the dead master's connection failing."""
    if EXPECTED_ERRORS.match(last):
        return True
    frames = re.findall(r'^\s*File "([^"]+)"', traceback, re.MULTILINE)
    return bool(frames) and any(part in frames[-1] for part in SOCKET_LAYER)


def _tracebacks(log: str) -> list[tuple[str, str]]:
    """(exception line, whole traceback) of every traceback in `log`."""
    found = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("Traceback"):
            continue
        j = i + 1
        while j < len(lines) and (
            lines[j].startswith((" ", "\t"))
            or not lines[j].strip()
            or lines[j].startswith(("During handling", "The above exception"))
            or lines[j].startswith("Traceback")
        ):
            j += 1
        if j < len(lines):
            found.append((lines[j], "\n".join(lines[i : j + 1])))
    return found


@pytest.mark.timeout(150)
def test_runs_survive_the_failover_of_the_deployments_master(
    tmp_path: Path, cluster: tuple[Path, str]
) -> None:
    base, url = cluster
    shared = shared_backend_args()
    shared[shared.index("--redis-uri") + 1] = url
    hash_tag = Keys(shared[shared.index("--redis-prefix") + 1]).root
    app_port = free_port()
    server = keyed_server(
        tmp_path,
        "data",
        shared,
        [f"http://127.0.0.1:{app_port}/api/inngest"],
        "--queue-workers",
        str(QUEUE_WORKERS),
    )
    app = CloudAppProcess.for_server(app_port, server.url, tmp_path / "app.log")
    api = Api(server.url, EVENT_KEY, bearer=BEARER)
    sender = Sender(server.url, uid())
    try:
        server.start()
        app.start()
        api.wait_synced(APP_ID, slugs=SLUGS, timeout=30)
        tag = uid()
        keys = [f"{tag}-{i}" for i in range(RUNS)]
        ids = api.send([{"name": "cloud/work", "data": {"k": k}} for k in keys])
        expected = dict(zip(ids, keys, strict=True))

        def executed() -> int:
            return sum(v for c, v in app.counts().items() if c.endswith(tuple(keys)))

        # Mid-batch: some steps ran, most have not.
        wait_until(
            lambda: executed() >= 10,
            timeout=30,
            message="ten steps executed",
        )
        sender.start()
        wait_until(lambda: len(sender.accepted) >= 3, timeout=10, message="sender")
        assert executed() < RUNS * len(STEPS) // 2, "the batch ran too fast to be cut"

        killed_at = time.monotonic()
        dead = redis_cluster.kill_master_of(base, url, hash_tag)
        new_master = redis_cluster.wait_failover(base, url, hash_tag, dead)
        failover_s = time.monotonic() - killed_at
        failed_over_wall = time.time()

        # The wake-up listener (subscribed on the dead master) subscribes again.
        wait_until(
            lambda: redis_cluster.subscribers(base, f"{hash_tag}:wake", dead) == 1,
            timeout=15,
            message="the wake-up listener subscribed again",
        )

        # Events are accepted again after the failover.
        wait_until(
            lambda: sender.accepted_since(killed_at + failover_s) >= 5,
            timeout=30,
            message=lambda: (
                f"events accepted after the failover; {sender.refused[-3:]}"
            ),
        )
        sender.stop()
        # Refused only while the master was down (or just after: the client's topology).
        settled = killed_at + failover_s + SETTLE_S
        assert all(at < settled for at, _ in sender.refused), sender.refused
        after_id = api.send_one("cloud/work", {"k": f"{tag}-after"})
        expected[after_id] = f"{tag}-after"
        for _, k, event_id in sender.accepted:
            expected[event_id] = k

        def completed() -> int:
            done = 0
            for event_id in expected:
                runs = api.runs_for_event(event_id)
                assert len(runs) <= 1, f"event {event_id} started {len(runs)} runs"
                done += sum(1 for run in runs if run["status"] == "Completed")
            return done

        wait_until(
            lambda: completed() == len(expected),
            timeout=60,
            interval=0.5,
            message=lambda: f"all {len(expected)} runs completed",
        )
        for event_id, k in expected.items():
            [run] = api.runs_for_event(event_id)
            assert run["status"] == "Completed", run
            assert run["output"] == {"k": k, "steps": [f"{s}-{k}" for s in STEPS]}
        counts = app.counts()
        missing = [
            f"{s}:{k}" for k in keys for s in STEPS if counts.get(f"{s}:{k}", 0) < 1
        ]
        assert not missing, missing[:10]
        again = {c: n for c, n in counts.items() if n > 1}
        print(
            f"failover {dead} -> {new_master} in {failover_s:.1f}s; "
            f"{len(expected)} runs ({len(sender.accepted)} sent around the failover, "
            f"{len(sender.refused)} refused); steps run again: {again}"
        )
    finally:
        if sender.is_alive():
            sender.stop()
        api.close()
        app.stop()
        server.stop()

    # Only connection errors while the master was down; no task died.
    log = server.log_text()
    unexpected = [tb for last, tb in _tracebacks(log) if not _expected(last, tb)]
    assert not unexpected, "\n\n".join(unexpected[:3])
    assert " stopped: " not in log, server.log_tail(80)
    # ... and they end soon after the failover: no loop is stuck failing.
    late = [
        line
        for line in log.splitlines()
        if (m := LOG_LINE.match(line))
        and m[3] == "ERROR"
        and _wall(m[1], m[2]) > failed_over_wall + SETTLE_S
    ]
    assert not late, "\n".join(late[:5])


def _wall(stamp: str, millis: str) -> float:
    """A log timestamp (local time) as seconds since the epoch."""
    parsed = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
    return parsed.timestamp() + int(millis) / 1000
