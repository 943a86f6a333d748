"""The benchmark report: machine facts, log findings and the Markdown result."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from support import (
    REPO_ROOT,
    Proc,
    Row,
    markdown_table,
)


class BenchRun(Protocol):
    """What the report reads of a finished benchmark."""

    uvicorn_extras: list[str]
    notes: list[str]
    server: Proc
    app: Proc


def machine_info() -> list[str]:
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = "unknown"
    return [
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- cpus: {os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), {cpu_model}",
        f"- python: {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.platform()}",
        f"- repo commit: {commit or 'unknown'} (working tree may be dirty)",
    ]


def log_findings(proc: Proc, limit: int = 15) -> list[str]:
    """Non-empty log lines (the processes run at log level warning)."""
    lines = [ln for ln in proc.log_text().splitlines() if ln.strip()]
    if not lines:
        return [f"- {proc.name} log: empty"]
    out = [f"- {proc.name} log: {len(lines)} line(s); first {min(limit, len(lines))}:"]
    out += [f"    {ln[:300]}" for ln in lines[:limit]]
    return out


def report(
    bench: BenchRun,
    rows: Sequence[Row],
    stats: dict[str, Any],
    hwm: dict[str, float],
    args: argparse.Namespace,
) -> str:
    parts = [
        "# inngestd benchmark" + (" (--quick)" if args.quick else ""),
        "",
        *machine_info(),
        f"- uvicorn options: {' '.join(bench.uvicorn_extras) or '(defaults)'}; "
        "inngestd with default --queue-workers",
        "",
        markdown_table(rows),
        "",
        "Peak RSS (VmHWM since start): "
        + ", ".join(f"{k} {v:.0f} MB" for k, v in hwm.items()),
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in bench.notes],
        f"- app stats: {stats['step_executions']} step bodies executed, "
        f"{stats['returns']} final calls, {stats['completed']} runs completed; "
        f"duplicate step runs for i={stats['duplicate_step_runs'][:10]}, "
        f"duplicate final calls for i={stats['duplicate_returns'][:10]}",
        *log_findings(bench.server),
        *log_findings(bench.app),
    ]
    return "\n".join(parts) + "\n"
