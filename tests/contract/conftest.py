"""Contract-suite fixtures: one `store` fixture, parametrised over every backend.

Every test takes `store` and drives it through the Protocols in `inngestd.store.base` only, so
a new backend (Redis) is added by extending `BACKENDS` and `_open`. Time is a fixed fake
`NOW`; nothing sleeps.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from inngestd.domain.events import Event, make_event
from inngestd.domain.queue import ItemKind, Lease, QueueItem
from inngestd.domain.runs import Pause, PauseKind, Run, RunStatus
from inngestd.store.base import (
    Catalog,
    EventLog,
    History,
    NewRun,
    SchedulePlan,
    Store,
)

if TYPE_CHECKING:
    from inngestd.store.postgres import PostgresReadStore

# redis-cluster: the same Redis composition on a three-node Redis Cluster of its own.
BACKENDS = ["sqlite", "redis", "redis-cluster"]

NOW = 1_700_000_000_000
LEASE_MS = 30_000
DAY_MS = 24 * 3600 * 1000
FN_ID = "app-fn"
APP_ID = "app"

_ids = itertools.count(1)


async def _open(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest | None = None
) -> Store:
    if backend == "sqlite":
        from inngestd.store.sqlite import open_store

        return await open_store(tmp_path / "data")
    if backend == "redis" and request is not None:
        from tests.contract.redis_backend import open_redis_store

        return await open_redis_store(request, tmp_path)
    if backend == "redis-cluster" and request is not None:
        from tests.contract.redis_backend import open_redis_store

        url = request.getfixturevalue("redis_cluster_url")
        return await open_redis_store(request, tmp_path, url)
    raise AssertionError(f"unknown backend {backend!r}")


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.contract import redis_cluster

    missing = redis_cluster.available()
    if missing is not None:
        if _in_ci():
            pytest.fail(f"cannot start a Redis Cluster: {missing}")
        pytest.skip(f"cannot start a Redis Cluster: {missing}")
    with redis_cluster.redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened = await _open(str(request.param), tmp_path, request)
    try:
        yield opened
    finally:
        opened.close()
        if request.param in ("redis", "redis-cluster"):
            from tests.contract.redis_backend import close_redis_store

            await close_redis_store(opened)


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):06d}"


def event(
    name: str = "app/test",
    data: dict[str, Any] | None = None,
    *,
    internal_id: str | None = None,
    received_ms: int = NOW,
    user_id: str | None = None,
) -> Event:
    return make_event(
        internal_id or new_id("ev"),
        name,
        data if data is not None else {},
        received_ms,
        user_id=user_id,
    )


def new_run(
    ev: Event,
    *,
    run_id: str | None = None,
    function_id: str = FN_ID,
    due_ms: int = NOW,
    key: str | None = None,
    expires_ms: int = NOW + DAY_MS,
    max_attempts: int = 3,
    pauses: list[Pause] | None = None,
) -> NewRun:
    rid = run_id or new_id("run")
    run = Run(
        id=rid,
        function_id=function_id,
        app_id=APP_ID,
        event_id=ev.internal_id,
        status=RunStatus.QUEUED,
        created_ms=NOW,
        max_attempts=max_attempts,
    )
    item = QueueItem(
        id=f"{rid}:start",
        run_id=rid,
        function_id=function_id,
        kind=ItemKind.CALL,
        due_ms=due_ms,
        max_attempts=max_attempts,
    )
    return NewRun(
        run=run,
        events=[ev],
        first_item=item,
        idempotency_key=key or f"{function_id}:{ev.id}",
        idempotency_expires_ms=expires_ms,
        pauses=pauses or [],
    )


async def start_run(
    store: Store, *, now: int = NOW, due_ms: int | None = None, **kwargs: Any
) -> Run:
    """Append a triggering event and schedule one run for it; returns the created run."""
    [ev] = await store.events.append([event(received_ms=now)])
    created = await store.runs.schedule(
        [SchedulePlan(ev, new_runs=[new_run(ev, due_ms=due_ms or now, **kwargs)])], now
    )
    assert len(created) == 1
    return created[0]


async def lease_all(store: Store, now: int = NOW) -> list[Lease]:
    return await store.queue.lease(now, 100, LEASE_MS)


async def lease_one(
    store: Store, now: int = NOW, *, run_id: str | None = None
) -> Lease:
    """Lease every due item and return the only one (of `run_id`, if given)."""
    leases = [
        lease
        for lease in await lease_all(store, now)
        if run_id is None or lease.item.run_id == run_id
    ]
    assert len(leases) == 1, leases
    return leases[0]


def pause(
    run: Run,
    step_id: str,
    *,
    kind: PauseKind = PauseKind.WAIT,
    event_name: str = "app/go",
    expires_ms: int = NOW + 60_000,
    expression: str | None = None,
    correlation_id: str | None = None,
    trigger: dict[str, Any] | None = None,
    timeout_memo: bytes | None = b"null",
) -> Pause:
    return Pause(
        id=f"{run.id}:{step_id}",
        run_id=run.id,
        step_id=step_id,
        kind=kind,
        event_name=event_name,
        expires_ms=expires_ms,
        after_seq=0,
        expression=expression,
        correlation_id=correlation_id,
        trigger=trigger,
        timeout_memo=timeout_memo,
    )


# --- the read side (Catalog, EventLog, History) on every backend that has one ---------------

READ_BACKENDS = ["sqlite", "postgres"]
POSTGRES_URI = os.environ.get(
    "INNGESTD_TEST_POSTGRES_URI", "postgresql://postgres@127.0.0.1:5432/test"
)
_postgres_down: list[str] = []  # why PostgreSQL is unreachable, once known


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


async def require_postgres() -> None:
    """Skip (locally) or fail (with CI=true) when PostgreSQL does not answer."""
    import asyncpg

    if not _postgres_down:
        try:
            conn = await asyncpg.connect(POSTGRES_URI, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            _postgres_down.append(f"{type(exc).__name__}: {exc}")
        else:
            await conn.close()
            _postgres_down.append("")
    if _postgres_down[0]:
        reason = (
            f"PostgreSQL at {POSTGRES_URI} is not reachable ({_postgres_down[0]});"
            " run `make services` or set INNGESTD_TEST_POSTGRES_URI"
        )
        if _in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


async def open_postgres() -> AsyncIterator[PostgresReadStore]:
    """A PostgresReadStore on a fresh schema `t_<random>`, dropped afterwards."""
    import asyncpg

    from inngestd.store.postgres import open_read_store

    await require_postgres()
    schema = f"t_{secrets.token_hex(6)}"
    opened = await open_read_store(POSTGRES_URI, schema=schema, max_size=4)
    try:
        yield opened
    finally:
        await opened.close()
        conn = await asyncpg.connect(POSTGRES_URI)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


@dataclass
class ReadStore:
    """The read-side seams of one backend, plus what a test needs around them."""

    backend: str
    catalog: Catalog
    events: EventLog
    history: History
    # Take events off the unscheduled backlog, as the scheduler does.
    mark_scheduled: Callable[[Sequence[Event]], Awaitable[None]]


@pytest.fixture(params=READ_BACKENDS)
async def read_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ReadStore]:
    if request.param == "sqlite":
        full = await _open("sqlite", tmp_path)

        async def schedule(events: Sequence[Event]) -> None:
            await full.runs.schedule([SchedulePlan(ev) for ev in events], NOW)

        try:
            yield ReadStore("sqlite", full.catalog, full.events, full.history, schedule)
        finally:
            full.close()
        return
    async for pg in open_postgres():
        yield _postgres_read_store(pg)


def _postgres_read_store(pg: PostgresReadStore) -> ReadStore:
    async def mark(events: Sequence[Event]) -> None:
        await pg.events.mark_scheduled([ev.internal_id for ev in events])

    return ReadStore("postgres", pg.catalog, pg.events, pg.history, mark)


@pytest.fixture
async def pg_store() -> AsyncIterator[PostgresReadStore]:
    """The PostgreSQL read side alone (HistoryWriter tests)."""
    async for pg in open_postgres():
        yield pg
