"""Shared pieces of the benchmark: constants, processes, sampling and the result table."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = sys.executable

EVENT_NAME = "bench/ten-steps"
APP_ID = "bench"
STEPS = 10
EVENT_KEY = "bench"
FORBIDDEN_PORT = 8288
TS_APP_DIR = BENCH_DIR / "ts_app"
#: The apps ``--sdk`` can pick, and the suffix their rows get in the table.
SDKS = {
    "python": "",
    "typescript": " [TS, checkpointing]",
    "typescript-no-checkpoint": " [TS, no checkpointing]",
}


class BenchError(RuntimeError):
    """A benchmark step failed or missed its deadline."""


# --------------------------------------------------------------------------- utilities


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (never the default 8288)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != FORBIDDEN_PORT:
            return port


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def parse_iso(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _output_i(output: Any) -> int | None:
    """The ``i`` a run's output carries (the function returns ``{"i": i, ...}``)."""
    if isinstance(output, str):
        try:
            output = json.loads(output)
        except ValueError:
            return None
    if isinstance(output, dict) and isinstance(output.get("i"), int):
        return int(output["i"])
    return None


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


# --------------------------------------------------------------------------- processes


@dataclass
class Proc:
    """A child process whose stdout+stderr go to a log file."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.cmd,
                cwd=str(REPO_ROOT),
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise BenchError(f"{self.name} was never started")
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def describe(self, lines: int = 40) -> str:
        if self.popen is None:
            state = "not started"
        elif self.alive():
            state = f"running pid={self.pid}"
        else:
            state = f"exited rc={self.popen.returncode}"
        tail = "\n".join(self.log_text().splitlines()[-lines:])
        return f"----- {self.name} ({state}), log {self.log_path} -----\n{tail}"

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            print(f"warning: {self.name} ignored SIGTERM for {grace}s; killing")
            self.popen.kill()
            self.popen.wait(5)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# --------------------------------------------------------------------------- RSS


def _rss_kb(pid: int, field_name: str = "VmRSS") -> int:
    """``field_name`` (kB) of ``pid`` plus all its descendants; 0 if gone."""
    total = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    total += int(line.split()[1])
                    break
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    for child in _children(pid):
        total += _rss_kb(child, field_name)
    return total


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` plus its descendants (reaped or live)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # Fields after the ")" closing the command name; utime, stime,
            # cutime, cstime are fields 14-17 of the full line.
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0.0
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK") + sum(
        _cpu_seconds(c) for c in _children(pid)
    )


@dataclass
class Window:
    """What the processes used between two ``take_window`` calls."""

    rss_mb: dict[str, float]
    cpu_s: dict[str, float]


class ProcSampler:
    """Samples VmRSS of named processes (and their children) every ``interval``,
    and accounts their CPU time per window."""

    def __init__(self, pids: dict[str, int], interval: float = 0.05) -> None:
        self.pids = pids
        self.interval = interval
        self._window: dict[str, int] = dict.fromkeys(pids, 0)
        self._cpu: dict[str, float] = {n: _cpu_seconds(p) for n, p in pids.items()}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss", daemon=True)

    def __enter__(self) -> ProcSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        with self._lock:
            for name, pid in self.pids.items():
                self._window[name] = max(self._window[name], _rss_kb(pid))

    def take_window(self) -> Window:
        """Peak RSS (MB) and CPU seconds per process since the previous call;
        starts a new window."""
        self.sample()
        cpu = {name: _cpu_seconds(pid) for name, pid in self.pids.items()}
        with self._lock:
            peaks = {name: kb / 1024 for name, kb in self._window.items()}
            self._window = {name: _rss_kb(pid) for name, pid in self.pids.items()}
        used = {name: cpu[name] - self._cpu[name] for name in cpu}
        self._cpu = cpu
        return Window(peaks, used)

    def high_water(self) -> dict[str, float]:
        """VmHWM (MB): the kernel's peak RSS since each process started."""
        return {name: _rss_kb(pid, "VmHWM") / 1024 for name, pid in self.pids.items()}


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    scenario: str
    runs: int
    wall_s: float
    latencies_s: list[float]
    steps_per_run: int | None = STEPS
    usage: Window | None = None
    #: Whose RSS / CPU columns to show (the floor rows do not involve inngestd).
    show: tuple[str, ...] = ("inngestd", "app")

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.wall_s if self.wall_s > 0 else float("nan")

    def cells(self) -> list[str]:
        steps = (
            "—"
            if self.steps_per_run is None
            else f"{self.runs_per_s * self.steps_per_run:,.0f}"
        )
        return [
            self.scenario,
            str(self.runs),
            f"{self.runs_per_s:,.1f}",
            steps,
            f"{percentile(self.latencies_s, 50) * 1000:,.1f}",
            f"{percentile(self.latencies_s, 99) * 1000:,.1f}",
            self._usage("inngestd", lambda w, n: f"{w.rss_mb[n]:,.0f}"),
            self._usage("app", lambda w, n: f"{w.rss_mb[n]:,.0f}"),
            self._usage("inngestd", self._cpu_per_run),
            self._usage("app", self._cpu_per_run),
        ]

    def _cpu_per_run(self, w: Window, name: str) -> str:
        return f"{w.cpu_s[name] * 1000 / self.runs:,.2f}"

    def _usage(self, name: str, fmt: Callable[[Window, str], str]) -> str:
        if self.usage is None or name not in self.show:
            return "—"
        return fmt(self.usage, name)


HEADER = [
    "scenario",
    "runs",
    "runs/s",
    "steps/s",
    "p50 ms",
    "p99 ms",
    "inngestd RSS MB",
    "app RSS MB",
    "inngestd CPU ms/run",
    "app CPU ms/run",
]


def markdown_table(rows: Sequence[Row]) -> str:
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(HEADER))) + "|",
    ]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def shared_backend(backend: str, tag: str) -> list[str]:
    """Server flags for Redis + PostgreSQL under a fresh prefix and schema ([] for sqlite)."""
    if backend != "shared":
        return []
    name = "".join(c for c in tag.lower() if c.isalnum())[-12:] or "bench"
    return [
        "--redis-uri",
        os.environ.get("INNGESTD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "--postgres-uri",
        os.environ.get(
            "INNGESTD_TEST_POSTGRES_URI", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        "--redis-prefix",
        f"bench{name}",
        "--postgres-schema",
        f"bench_{name}",
    ]


def drop_shared_backend(flags: list[str]) -> None:
    """Delete what a `shared_backend` run left: its Redis keys and PostgreSQL schema."""
    if not flags:
        return
    import asyncpg
    from redis.asyncio import Redis

    from inngestd.store.redis.keys import Keys

    opt = dict(zip(flags[::2], flags[1::2], strict=True))

    async def drop() -> None:
        client = Redis.from_url(opt["--redis-uri"])
        try:
            pattern = Keys(opt["--redis-prefix"]).pattern()
            keys = [k async for k in client.scan_iter(match=pattern, count=1000)]
            for i in range(0, len(keys), 500):
                await client.delete(*keys[i : i + 500])
        finally:
            await client.aclose()
        conn = await asyncpg.connect(opt["--postgres-uri"])
        try:
            schema = opt["--postgres-schema"]
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()

    asyncio.run(drop())
