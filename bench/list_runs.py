"""Benchmark run listing with 100,000 runs in the store (issue 4: < 50 ms per page).

Usage::

    .venv/bin/python bench/list_runs.py [--runs 100000] [--samples 200]
    .venv/bin/python bench/list_runs.py --backend postgres [--postgres-uri URI]

Fills a fresh SQLite store through the store API (events appended, runs scheduled in
batches of 5,000, a third of them finished COMPLETED and a sixth FAILED), then times
requests through the real HTTP application in-process (httpx ASGITransport, so the
numbers include routing, JSON encoding and the reader thread, not a socket):

* ``GET /v1/runs?limit=50``: the first page;
* the page after following the cursor 1,000 pages deep (run 50,000 onwards);
* ``GET /v1/runs?status=COMPLETED&function_id=...``: a filtered first page;
* the same with two statuses and two functions (four index branches);
* the GraphQL ``runs`` connection with ``totalCount`` (the dashboard's query).

With ``--backend postgres`` the same runs are written to a fresh schema of PostgreSQL
through the ``HistoryWriter`` (what start mode's outbox relay does) and the same requests
are served from the PostgreSQL read side (the schema is dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import httpx

from inngestd import ids
from inngestd.api.app import Services, create_app
from inngestd.clock import SystemClock
from inngestd.domain import effects as fx
from inngestd.domain.events import make_event
from inngestd.domain.functions import App, Function, Trigger
from inngestd.domain.queue import ItemKind, QueueItem
from inngestd.domain.runs import Run, RunStatus
from inngestd.store.base import NewRun, SchedulePlan, Store
from inngestd.store.postgres import PostgresReadStore, open_read_store
from inngestd.store.sqlite import open_store

FUNCTIONS = 10
BATCH = 5_000
START_MS = 1_700_000_000_000

GQL_RUNS = """
query($from: Time!, $first: Int!) {
  runs(first: $first, orderBy: [{field: QUEUED_AT, direction: DESC}],
       filter: {from: $from, status: [FAILED]}) {
    edges { cursor node { id status queuedAt function { name } eventName } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}
"""


def _plan(i: int, event: Any) -> NewRun:
    now = START_MS + i * 10
    run_id = ids.new_ulid(now)
    fn = f"bench-fn-{i % FUNCTIONS}"
    run = Run(run_id, fn, "bench", event.internal_id, RunStatus.QUEUED, now)
    item = QueueItem(f"{run_id}:start", run_id, fn, ItemKind.CALL, now + 10**9)
    return NewRun(run, [event], item, f"{fn}:{event.internal_id}", now + 86_400_000)


async def fill(store: Store, n: int) -> None:
    functions = [
        Function(f"bench-fn-{i}", "bench", f"fn {i}", "http://x", (Trigger("b/e"),))
        for i in range(FUNCTIONS)
    ]
    await store.catalog.sync_app(App("bench", "http://x"), functions, START_MS)
    done = 0
    while done < n:
        size = min(BATCH, n - done)
        events = await store.events.append(
            [
                make_event(
                    ids.new_ulid(START_MS + (done + j) * 10),
                    "bench/event",
                    {"i": done + j},
                    START_MS + (done + j) * 10,
                )
                for j in range(size)
            ]
        )
        plans = [
            SchedulePlan(ev, new_runs=[_plan(done + j, ev)])
            for j, ev in enumerate(events)
        ]
        created = await store.runs.schedule(plans, START_MS)
        finishes = []
        for j, run in enumerate(created):
            if (done + j) % 3 == 0:
                finishes.append((run.id, RunStatus.COMPLETED))
            elif (done + j) % 6 == 1:
                finishes.append((run.id, RunStatus.FAILED))
        await asyncio.gather(
            *(
                store.runs.apply_run(rid, [fx.Finish(status, b'{"ok":true}')], START_MS)
                for rid, status in finishes
            )
        )
        done += size
        print(f"  {done:>7} runs", end="\r", flush=True)
    print()


def _status(i: int) -> RunStatus | None:
    if i % 3 == 0:
        return RunStatus.COMPLETED
    if i % 6 == 1:
        return RunStatus.FAILED
    return None


async def fill_postgres(pg: PostgresReadStore, n: int) -> None:
    """The same runs as `fill`, written the way start mode's outbox relay writes them."""
    functions = [
        Function(f"bench-fn-{i}", "bench", f"fn {i}", "http://x", (Trigger("b/e"),))
        for i in range(FUNCTIONS)
    ]
    await pg.catalog.sync_app(App("bench", "http://x"), functions, START_MS)
    writer = pg.history_writer
    done = 0
    while done < n:
        size = min(BATCH, n - done)
        events = await pg.events.append(
            [
                make_event(
                    ids.new_ulid(START_MS + (done + j) * 10),
                    "bench/event",
                    {"i": done + j},
                    START_MS + (done + j) * 10,
                )
                for j in range(size)
            ]
        )

        async def one(i: int, event: Any) -> None:
            run = _plan(i, event).run
            await writer.record_run(run, [event])
            status = _status(i)
            if status is not None:
                await writer.record_status(
                    run.id, status, ended_ms=START_MS, output=b'{"ok":true}'
                )

        for k in range(0, size, 200):
            await asyncio.gather(
                *(one(done + j, events[j]) for j in range(k, min(k + 200, size)))
            )
        done += size
        print(f"  {done:>7} runs", end="\r", flush=True)
    print()


async def timed(
    client: httpx.AsyncClient, samples: int, method: str, url: str, **kw: Any
) -> tuple[list[float], Any]:
    out = []
    body = None
    for _ in range(samples):
        t0 = time.perf_counter()
        r = await client.request(method, url, **kw)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
        body = r.json()
    return out, body


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-uri",
        default=os.environ.get(
            "INNGESTD_POSTGRES_URI", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    if args.backend == "postgres":
        await main_postgres(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(Path(tmp))
        try:
            t0 = time.perf_counter()
            await fill(store, args.runs)
            print(f"filled {args.runs} runs in {time.perf_counter() - t0:.1f}s")
            await serve(store, args.samples)
        finally:
            store.close()


async def main_postgres(args: argparse.Namespace) -> None:
    import asyncpg

    schema = f"bench_{secrets.token_hex(4)}"
    pg = await open_read_store(args.postgres_uri, schema=schema)
    try:
        t0 = time.perf_counter()
        await fill_postgres(pg, args.runs)
        await pg.pool.execute("ANALYZE")
        print(f"filled {args.runs} runs in {time.perf_counter() - t0:.1f}s")
        # The API reads catalog, events and history only for these requests.
        store = Store(
            catalog=pg.catalog,
            events=pg.events,
            runs=cast(Any, None),
            queue=cast(Any, None),
            close=lambda: None,
            subscribe=lambda _listener: None,
            history=pg.history,
        )
        await serve(store, args.samples)
    finally:
        await pg.close()
        conn = await asyncpg.connect(args.postgres_uri)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


async def serve(store: Store, samples: int) -> None:
    services = Services(store, cast(Any, None), cast(Any, None), SystemClock())
    app = create_app(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench"
    ) as client:
        await report(client, samples)


async def report(client: httpx.AsyncClient, samples: int) -> None:
    rows: list[tuple[str, list[float], int]] = []
    first, body = await timed(client, samples, "GET", "/v1/runs?limit=50")
    rows.append(("first page, limit=50", first, len(body["data"])))

    cursor = body["cursor"]
    for _ in range(999):
        r = await client.get("/v1/runs", params={"limit": 50, "cursor": cursor})
        cursor = r.json()["cursor"]
    deep, body = await timed(
        client, samples, "GET", "/v1/runs", params={"limit": 50, "cursor": cursor}
    )
    rows.append(("page 1,001 (cursor 50,000 deep)", deep, len(body["data"])))

    params = {"limit": 50, "status": "COMPLETED", "function_id": "bench-fn-3"}
    filt, body = await timed(client, samples, "GET", "/v1/runs", params=params)
    assert all(r["status"] == "Completed" for r in body["data"])
    rows.append(("status=COMPLETED & function", filt, len(body["data"])))

    params = {
        "limit": 50,
        "status": "FAILED,QUEUED",
        "function_id": "bench-fn-1,bench-fn-7",
    }
    multi, body = await timed(client, samples, "GET", "/v1/runs", params=params)
    rows.append(("2 statuses x 2 functions", multi, len(body["data"])))

    gql, body = await timed(
        client,
        samples,
        "POST",
        "/v0/gql",
        json={
            "query": GQL_RUNS,
            "variables": {"from": "2020-01-01T00:00:00Z", "first": 50},
        },
    )
    assert not body.get("errors"), body
    rows.append(
        (
            f"GraphQL runs + totalCount ({body['data']['runs']['totalCount']})",
            gql,
            len(body["data"]["runs"]["edges"]),
        )
    )

    print("\n| query | rows | p50 ms | p99 ms |\n|---|---|---|---|")
    for name, values, n in rows:
        print(f"| {name} | {n} | {p(values, 50):.2f} | {p(values, 99):.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
