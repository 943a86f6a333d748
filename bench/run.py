"""Benchmark inngestd with a 10-step function driven by the official Python SDK.

Usage::

    .venv/bin/python bench/run.py [--runs-concurrent 500] [--runs-sequential 30] [--quick]
    .venv/bin/python bench/run.py --sdk python,typescript,typescript-no-checkpoint

``--sdk`` picks the app: ``python`` (default, ``bench/app.py``) or the TypeScript SDK
variant ``bench/ts_app/app.mjs`` on Node.js, with its default async checkpointing
(``typescript``: steps reach inngestd through ``/v1/checkpoint/{run}/async``, one call
per run) or without it (``typescript-no-checkpoint``: one call per step). Several comma-
separated SDKs run one after the other, each with a fresh server, into one report.

Starts ``bench/app.py`` under uvicorn and ``python -m inngestd dev`` as
subprocesses (temp data dir, free ports), waits for the app to be synced, then
measures:

* the HTTP floor: bare round trips to the same app (``POST /bench/noop``),
  sequential and concurrent, and chains of 11 sequential calls (what a 10-step
  run minimally costs: one call per step plus the final call);
* scenario A: one run at a time;
* scenario B: many runs sent at once.

Event-to-completion latency is ``returned_at - sent_at``: the app records
``time.time()`` when the function body returns (the final call), the client
records ``time.time()`` just before it POSTs the event. Results are printed
and written to ``bench/results/latest.md``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from support import (
    APP_ID,
    BENCH_DIR,
    EVENT_KEY,
    EVENT_NAME,
    PYTHON,
    RESULTS_DIR,
    SDKS,
    STEPS,
    TS_APP_DIR,
    BenchError,
    Proc,
    ProcSampler,
    Row,
    _output_i,
    child_env,
    drop_shared_backend,
    free_port,
    has_module,
    markdown_table,
    parse_iso,
    percentile,
    shared_backend,
)

# --------------------------------------------------------------------------- bench


@dataclass
class Config:
    # "sqlite" (the embedded store) or "shared" (Redis + PostgreSQL), and how many
    # inngestd processes share the work (shared only).
    backend: str
    processes: int
    sequential_runs: int
    concurrent_runs: int
    floor_sequential: int
    floor_concurrent: int
    floor_chains: int
    warmup_runs: int
    chunk: int
    timeout: float
    keep_data: bool


class Bench:
    """Owns the two processes and the HTTP sessions; runs every scenario."""

    def __init__(self, cfg: Config, workdir: Path, sdk: str = "python") -> None:
        self.cfg = cfg
        self.workdir = workdir
        self.sdk = sdk
        self.suffix = SDKS[sdk]
        self.app_port = free_port()
        self.server_port = free_port()
        while self.server_port == self.app_port:
            self.server_port = free_port()
        self.app_url = f"http://127.0.0.1:{self.app_port}"
        self.server_url = f"http://127.0.0.1:{self.server_port}"
        self.next_i = 0
        self.notes: list[str] = []
        self.uvicorn_extras: list[str] = []
        if has_module("uvloop"):
            self.uvicorn_extras += ["--loop", "uvloop"]
        if has_module("httptools"):
            self.uvicorn_extras += ["--http", "httptools"]
        self.app = Proc(
            "app",
            [
                PYTHON,
                "-m",
                "uvicorn",
                "app:app",
                "--app-dir",
                str(BENCH_DIR),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.app_port),
                "--workers",
                "1",
                "--log-level",
                "warning",
                *self.uvicorn_extras,
            ],
            child_env({"INNGEST_DEV": "1", "INNGEST_BASE_URL": self.server_url}),
            workdir / "app.log",
        )
        if sdk != "python":
            self.app = Proc(
                "app",
                ["node", str(TS_APP_DIR / "app.mjs")],
                child_env(
                    {
                        "INNGEST_DEV": "1",
                        "INNGEST_BASE_URL": self.server_url,
                        "PORT": str(self.app_port),
                        "BENCH_CHECKPOINTING": "0"
                        if sdk == "typescript-no-checkpoint"
                        else "1",
                    }
                ),
                workdir / "app.log",
            )
        self.shared = shared_backend(cfg.backend, workdir.name)
        self.server = self._server("inngestd", self.server_port, sync=True)
        # Extra processes on the same Redis + PostgreSQL: they only run workers.
        self.extra_servers = [
            self._server(f"inngestd-{n}", free_port(), sync=False)
            for n in range(2, cfg.processes + 1)
        ]
        self.http: aiohttp.ClientSession | None = None

    def _server(self, name: str, port: int, *, sync: bool) -> Proc:
        args = [
            PYTHON,
            "-m",
            "inngestd",
            "dev",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(self.workdir / f"data-{name}"),
            "--no-poll",
            "--no-discovery",
            "--log-level",
            "warning",
            *self.shared,
        ]
        if sync:
            args += ["-u", f"{self.app_url}/api/inngest"]
        return Proc(name, args, child_env({}), self.workdir / f"{name}.log")

    # ----------------------------------------------------------------- helpers

    @property
    def session(self) -> aiohttp.ClientSession:
        if self.http is None:
            raise BenchError("HTTP session not open")
        return self.http

    def diagnostics(self) -> str:
        return "\n".join(p.describe() for p in (self.server, self.app))

    def fail(self, what: str) -> BenchError:
        return BenchError(f"{what}\n{self.diagnostics()}")

    def check_alive(self) -> None:
        for proc in (self.server, self.app):
            if proc.popen is not None and not proc.alive():
                raise self.fail(f"{proc.name} died")

    async def wait_for(
        self,
        what: str,
        predicate: Callable[[], Awaitable[bool]],
        timeout: float,
        interval: float = 0.05,
    ) -> None:
        """Poll ``predicate`` until true; transport errors count as "not yet"."""
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if await predicate():
                    return
                last_error = None
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                last_error = exc
            await asyncio.sleep(interval)
        raise self.fail(
            f"timed out after {timeout:.0f}s waiting for {what}"
            + (f" (last error: {last_error!r})" if last_error else "")
        )

    async def get_json(self, url: str) -> Any:
        async with self.session.get(url) as r:
            r.raise_for_status()
            return await r.json()

    async def post_json(self, url: str, body: Any) -> Any:
        async with self.session.post(url, json=body) as r:
            if r.status >= 400:
                raise self.fail(f"POST {url} -> {r.status}: {await r.text()}")
            return await r.json()

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=60),
            connector=aiohttp.TCPConnector(limit=64),
        )
        self.app.start()

        async def app_ready() -> bool:
            async with self.session.get(f"{self.app_url}/api/inngest") as r:
                return r.status == 200

        await self.wait_for("the SDK app to serve /api/inngest", app_ready, 30)
        self.server.start()
        for extra in self.extra_servers:
            extra.start()

        async def server_ready() -> bool:
            async with self.session.get(f"{self.server_url}/health") as r:
                return r.status == 200

        await self.wait_for("inngestd /health", server_ready, 30)

        async def synced() -> bool:
            apps = (await self.get_json(f"{self.server_url}/v1/apps"))["data"]
            return any(a.get("id") == APP_ID and a.get("functions") for a in apps)

        await self.wait_for("the app to be synced (GET /v1/apps)", synced, 30)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None

    def stop(self) -> None:
        for proc in (self.server, *self.extra_servers, self.app):
            proc.stop()

    # ----------------------------------------------------------------- floor

    async def floor(self, sampler: ProcSampler) -> list[Row]:
        url = f"{self.app_url}/bench/noop"
        rows: list[Row] = []
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=self.cfg.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as s:

            async def call() -> float:
                t0 = time.perf_counter()
                async with s.post(url, json={}) as r:
                    await r.read()
                    if r.status != 200:
                        raise self.fail(f"POST /bench/noop -> {r.status}")
                return time.perf_counter() - t0

            async def chain() -> float:
                t0 = time.perf_counter()
                for _ in range(STEPS + 1):
                    await call()
                return time.perf_counter() - t0

            # Warm the app and open as many pooled connections as the concurrent
            # rows will use, so they do not measure connection setup.
            for _ in range(50):
                await call()
            await asyncio.gather(*(call() for _ in range(self.cfg.floor_concurrent)))

            async def sequential(
                fn: Callable[[], Awaitable[float]], n: int
            ) -> list[float]:
                return [await fn() for _ in range(n)]

            async def concurrent(
                fn: Callable[[], Awaitable[float]], n: int
            ) -> list[float]:
                return list(await asyncio.gather(*(fn() for _ in range(n))))

            seq, conc = self.cfg.floor_sequential, self.cfg.floor_concurrent
            chains = self.cfg.floor_chains
            plan: list[tuple[str, int, int | None, Awaitable[list[float]]]] = [
                ("floor: noop POST, sequential", seq, None, sequential(call, seq)),
                (
                    f"floor: noop POST, {conc} concurrent",
                    conc,
                    None,
                    concurrent(call, conc),
                ),
                (
                    "floor: 11 sequential POSTs, 1 at a time",
                    chains,
                    STEPS,
                    sequential(chain, chains),
                ),
                (
                    f"floor: 11 sequential POSTs, {conc} chains concurrent",
                    conc,
                    STEPS,
                    concurrent(chain, conc),
                ),
            ]
            for label, n, steps, measure in plan:
                sampler.take_window()
                t0 = time.perf_counter()
                lat = await measure
                wall = time.perf_counter() - t0
                usage = sampler.take_window()
                rows.append(
                    Row(label + self.suffix, n, wall, lat, steps, usage, show=("app",))
                )
        return rows

    # ----------------------------------------------------------------- runs

    def allocate(self, n: int) -> list[int]:
        ids = list(range(self.next_i, self.next_i + n))
        self.next_i += n
        return ids

    async def send(self, ids: Sequence[int]) -> tuple[float, list[str], float]:
        """POST one event per ``i``; returns (send timestamp, internal ids, POST secs)."""
        events = [{"name": EVENT_NAME, "data": {"i": i}} for i in ids]
        sent_at = time.time()
        body = await self.post_json(f"{self.server_url}/e/{EVENT_KEY}", events)
        post_s = time.time() - sent_at
        event_ids = [str(x) for x in body.get("ids", [])]
        if len(event_ids) != len(ids):
            raise self.fail(
                f"event API returned {len(event_ids)} ids for {len(ids)} events"
            )
        return sent_at, event_ids, post_s

    async def wait_completed(self, ids: Sequence[int], deadline: float) -> None:
        """Long-poll the app until every ``i`` in ``ids`` has returned."""
        while True:
            self.check_alive()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                results = await self.get_json(f"{self.app_url}/bench/results")
                missing = [i for i in ids if str(i) not in results]
                raise self.fail(
                    f"{len(missing)}/{len(ids)} runs not completed by the deadline "
                    f"(first missing i: {missing[:10]})"
                )
            body = await self.post_json(
                f"{self.app_url}/bench/wait",
                {"ids": list(ids), "timeout": min(remaining, 5.0)},
            )
            if body["missing"] == 0:
                return

    async def completions(self, ids: Sequence[int]) -> dict[int, dict[str, float]]:
        results = await self.get_json(f"{self.app_url}/bench/results")
        return {i: results[str(i)] for i in ids}

    async def server_runs(self, event_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The runs the server reports for each event (checked after a scenario)."""
        sem = asyncio.Semaphore(16)

        async def one(eid: str) -> list[dict[str, Any]]:
            async with sem:
                body = await self.get_json(f"{self.server_url}/v1/events/{eid}/runs")
                return list(body.get("data", []))

        runs: list[dict[str, Any]] = []
        for chunk in await asyncio.gather(*(one(e) for e in event_ids)):
            runs.extend(chunk)
        return runs

    async def verify(
        self,
        label: str,
        event_ids: Sequence[str],
        completions: dict[int, dict[str, float]],
    ) -> None:
        """Cross-check the server's view and record oddities in ``self.notes``."""

        async def all_completed() -> bool:
            runs = await self.server_runs(event_ids)
            return len(runs) >= len(event_ids) and all(
                r.get("status") == "Completed" for r in runs
            )

        try:
            await self.wait_for(
                f"{label}: server to report all runs Completed", all_completed, 30, 0.2
            )
        except BenchError:
            runs = await self.server_runs(event_ids)
            statuses = Counter(str(r.get("status")) for r in runs)
            self.notes.append(
                f"{label}: server statuses after 30s: {dict(statuses)} "
                f"({len(runs)} runs for {len(event_ids)} events)"
            )
            return
        runs = await self.server_runs(event_ids)
        if len(runs) != len(event_ids):
            self.notes.append(f"{label}: {len(runs)} runs for {len(event_ids)} events")
        lags: list[float] = []
        for r in runs:
            i = _output_i(r.get("output"))
            ended = parse_iso(r.get("ended_at"))
            if i is None or ended is None or i not in completions:
                continue
            lags.append(ended - completions[i]["returned_at"])
        if len(lags) != len(event_ids):
            self.notes.append(
                f"{label}: only {len(lags)}/{len(event_ids)} runs have an output with "
                "the expected `i` and an `ended_at`"
            )
        if lags:
            self.notes.append(
                f"{label}: server `ended_at` - app return: p50 "
                f"{percentile(lags, 50) * 1000:.1f} ms, max {max(lags) * 1000:.1f} ms "
                "(limited by the precision of `ended_at`)"
            )

    def note_utilisation(self, row: Row) -> None:
        """How busy each process was: CPU seconds per wall second (1.0 = one core)."""
        if row.usage is None or row.wall_s <= 0:
            return
        busy = ", ".join(
            f"{name} {cpu / row.wall_s:.2f}" for name, cpu in row.usage.cpu_s.items()
        )
        self.notes.append(
            f"{row.scenario}: CPU cores busy ({busy}) over {row.wall_s:.2f}s wall; "
            f"{os.cpu_count()} CPUs shared with this client"
        )

    async def warmup(self) -> None:
        ids = self.allocate(self.cfg.warmup_runs)
        if not ids:
            return
        await self.send(ids)
        await self.wait_completed(ids, time.monotonic() + self.cfg.timeout)

    async def scenario_sequential(self, sampler: ProcSampler) -> Row:
        n = self.cfg.sequential_runs
        label = "A: 1 run at a time" + self.suffix
        sampler.take_window()
        latencies: list[float] = []
        post_times: list[float] = []
        event_ids: list[str] = []
        all_ids: list[int] = []
        first_sent: float | None = None
        last_done = 0.0
        deadline = time.monotonic() + self.cfg.timeout
        for _ in range(n):
            ids = self.allocate(1)
            sent_at, eids, post_s = await self.send(ids)
            first_sent = sent_at if first_sent is None else first_sent
            await self.wait_completed(ids, deadline)
            done = (await self.completions(ids))[ids[0]]["returned_at"]
            latencies.append(done - sent_at)
            last_done = max(last_done, done)
            post_times.append(post_s)
            event_ids += eids
            all_ids += ids
        assert first_sent is not None
        row = Row(
            label, n, last_done - first_sent, latencies, usage=sampler.take_window()
        )
        self.notes.append(
            f"{label}: event POST p50 {percentile(post_times, 50) * 1000:.1f} ms, "
            f"p99 {percentile(post_times, 99) * 1000:.1f} ms"
        )
        self.note_utilisation(row)
        await self.verify(label, event_ids, await self.completions(all_ids))
        return row

    async def scenario_concurrent(self, sampler: ProcSampler) -> Row:
        n = self.cfg.concurrent_runs
        label = f"B: {n} runs sent at once" + self.suffix
        sampler.take_window()
        ids = self.allocate(n)
        chunk = self.cfg.chunk if self.cfg.chunk > 0 else n
        chunks = [ids[k : k + chunk] for k in range(0, n, chunk)]
        sends = await asyncio.gather(*(self.send(c) for c in chunks))
        sent_at: dict[int, float] = {}
        event_ids: list[str] = []
        for c, (ts, eids, _) in zip(chunks, sends, strict=True):
            sent_at.update(dict.fromkeys(c, ts))
            event_ids += eids
        await self.wait_completed(ids, time.monotonic() + self.cfg.timeout)
        usage = sampler.take_window()
        done = await self.completions(ids)
        latencies = [done[i]["returned_at"] - sent_at[i] for i in ids]
        wall = max(d["returned_at"] for d in done.values()) - min(sent_at.values())
        post_ms = max(s[2] for s in sends) * 1000
        self.notes.append(
            f"{label}: {len(chunks)} event POST(s) of <= {chunk} events, slowest {post_ms:.1f} ms"
        )
        row = Row(label, n, wall, latencies, usage=usage)
        self.note_utilisation(row)
        await self.verify(label, event_ids, done)
        return row

    async def app_stats(self) -> dict[str, Any]:
        return dict(await self.get_json(f"{self.app_url}/bench/stats"))


from report import log_findings, machine_info, report  # noqa: E402

# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    p.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    p.add_argument("--runs-concurrent", type=int, default=None, help="scenario B runs")
    p.add_argument("--runs-sequential", type=int, default=None, help="scenario A runs")
    p.add_argument(
        "--floor-requests", type=int, default=None, help="sequential noop POSTs"
    )
    p.add_argument(
        "--chunk",
        type=int,
        default=0,
        help="events per POST in scenario B (0 = one POST)",
    )
    p.add_argument(
        "--timeout", type=float, default=180.0, help="deadline per scenario (s)"
    )
    p.add_argument("--keep", action="store_true", help="keep the temp data dir")
    p.add_argument(
        "--backend",
        choices=["sqlite", "shared"],
        default="sqlite",
        help="sqlite: the embedded store; shared: Redis + PostgreSQL "
        "(INNGESTD_TEST_REDIS_URL / INNGESTD_TEST_POSTGRES_URI, local defaults)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="inngestd processes sharing the work (with --backend shared)",
    )
    p.add_argument(
        "--sdk",
        default="python",
        help="comma-separated apps to drive: " + ", ".join(SDKS) + " (default python)",
    )
    args = p.parse_args(argv)
    args.sdks = [x.strip() for x in str(args.sdk).split(",") if x.strip()]
    unknown = [x for x in args.sdks if x not in SDKS]
    if unknown or not args.sdks:
        p.error(f"unknown --sdk {unknown}; choose from {', '.join(SDKS)}")
    return args


def make_config(args: argparse.Namespace) -> Config:
    quick = bool(args.quick)
    concurrent = args.runs_concurrent or (50 if quick else 500)
    return Config(
        backend=args.backend,
        processes=args.processes,
        sequential_runs=args.runs_sequential or (5 if quick else 30),
        concurrent_runs=concurrent,
        floor_sequential=args.floor_requests or (100 if quick else 1000),
        floor_concurrent=concurrent,
        floor_chains=args.runs_sequential or (5 if quick else 30),
        warmup_runs=2 if quick else 5,
        chunk=args.chunk,
        timeout=args.timeout,
        keep_data=args.keep,
    )


async def run_all(bench: Bench, args: argparse.Namespace) -> str:
    rows, stats, hwm = await measure(bench)
    return report(bench, rows, stats, hwm, args)


async def measure(
    bench: Bench,
) -> tuple[list[Row], dict[str, Any], dict[str, float]]:
    await bench.start()
    with ProcSampler({"inngestd": bench.server.pid, "app": bench.app.pid}) as sampler:
        print("synced; measuring the HTTP floor ...", flush=True)
        rows = await bench.floor(sampler)
        print("warm-up runs ...", flush=True)
        await bench.warmup()
        print(
            f"scenario A ({bench.cfg.sequential_runs} sequential runs) ...", flush=True
        )
        rows.append(await bench.scenario_sequential(sampler))
        print(
            f"scenario B ({bench.cfg.concurrent_runs} concurrent runs) ...", flush=True
        )
        rows.append(await bench.scenario_concurrent(sampler))
        stats = await bench.app_stats()
        hwm = sampler.high_water()
    return rows, stats, hwm


def save_logs(bench: Bench) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    prefix = "" if bench.sdk == "python" else f"{bench.sdk}-"
    for proc in (bench.server, bench.app):
        with contextlib.suppress(OSError):
            shutil.copyfile(proc.log_path, RESULTS_DIR / f"{prefix}{proc.name}.log")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sdks != ["python"]:
        return main_sdks(args)
    cfg = make_config(args)
    workdir = Path(tempfile.mkdtemp(prefix="inngestd-bench-"))
    bench = Bench(cfg, workdir)
    failed = True
    try:
        text = asyncio.run(_main_async(bench, args))
        failed = False
    except BenchError as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        bench.stop()
        save_logs(bench)
        if cfg.keep_data or failed:
            print(f"work dir kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            drop_shared_backend(bench.shared)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "latest.md").write_text(text)
    print()
    print(text)
    print(f"written to {RESULTS_DIR / 'latest.md'} (logs: {RESULTS_DIR}/*.log)")
    return 0


def main_sdks(args: argparse.Namespace) -> int:
    """Drive each SDK's app in turn (fresh server each) and report all rows together."""
    if (
        any(x != "python" for x in args.sdks)
        and not (TS_APP_DIR / "node_modules" / "inngest").exists()
    ):
        print(f"run `npm ci` in {TS_APP_DIR} first (make bench does)", file=sys.stderr)
        return 1
    cfg = make_config(args)
    all_rows: list[Row] = []
    sections: list[str] = []
    for sdk in args.sdks:
        workdir = Path(tempfile.mkdtemp(prefix=f"inngestd-bench-{sdk}-"))
        bench = Bench(cfg, workdir, sdk)
        print(f"== {sdk} ==", flush=True)
        failed = True
        try:
            rows, stats, hwm = asyncio.run(_measure_async(bench))
            failed = False
        except BenchError as exc:
            print(f"\nBENCHMARK FAILED ({sdk}): {exc}", file=sys.stderr)
            return 1
        finally:
            bench.stop()
            save_logs(bench)
            if cfg.keep_data or failed:
                print(f"work dir kept: {workdir}", file=sys.stderr)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
                drop_shared_backend(bench.shared)
        all_rows += rows
        sections += [
            f"## {sdk}",
            "",
            "Peak RSS (VmHWM since start): "
            + ", ".join(f"{k} {v:.0f} MB" for k, v in hwm.items()),
            "",
            *[f"- {n}" for n in bench.notes],
            f"- app stats: {stats['step_executions']} step bodies executed, "
            f"{stats['returns']} final calls, {stats['completed']} runs completed; "
            f"duplicate step runs for i={stats['duplicate_step_runs'][:10]}, "
            f"duplicate final calls for i={stats['duplicate_returns'][:10]}",
            *log_findings(bench.server),
            *log_findings(bench.app),
            "",
        ]
    text = "\n".join(
        [
            "# inngestd benchmark" + (" (--quick)" if args.quick else ""),
            "",
            *machine_info(),
            f"- apps: {', '.join(args.sdks)}; node {_node_version()}",
            "",
            markdown_table(all_rows),
            "",
            *sections,
        ]
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "latest.md").write_text(text)
    print()
    print(text)
    print(f"written to {RESULTS_DIR / 'latest.md'} (logs: {RESULTS_DIR}/*.log)")
    return 0


def _node_version() -> str:
    try:
        return subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


async def _measure_async(
    bench: Bench,
) -> tuple[list[Row], dict[str, Any], dict[str, float]]:
    try:
        return await measure(bench)
    finally:
        await bench.close()


async def _main_async(bench: Bench, args: argparse.Namespace) -> str:
    try:
        return await run_all(bench, args)
    finally:
        await bench.close()


if __name__ == "__main__":
    sys.exit(main())
