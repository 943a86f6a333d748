"""The composition root: builds the store, services and HTTP server from Settings."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import uvicorn

from inngestd import cron, discovery
from inngestd.api.app import Services, create_app
from inngestd.api.auth import AuthConfig
from inngestd.clock import SystemClock
from inngestd.execution.executor import Executor
from inngestd.functions import FunctionIndex
from inngestd.registry import Registry
from inngestd.relay import Relay
from inngestd.scheduling import Scheduler
from inngestd.sdk import HTTPSDK
from inngestd.settings import Settings
from inngestd.store.base import HistoryWriter, Store
from inngestd.store.postgres import open_read_store
from inngestd.store.postgres.migrate import migrate as migrate_postgres
from inngestd.store.redis import open_hot_store
from inngestd.store.redis.trim import Trimmed
from inngestd.store.sqlite import open_store
from inngestd.store.tiered import TieredEventLog, TieredRunState
from inngestd.wire.signing import Signer
from inngestd.worker import Worker

log = logging.getLogger("inngestd")


def _bind(host: str, port: int) -> list[socket.socket]:
    """Listen on `host`; for loopback also on ::1, since Node resolves localhost to it."""
    hosts = [host]
    if host in ("127.0.0.1", "localhost"):
        hosts = ["127.0.0.1", "::1"]
    elif host == "0.0.0.0":
        hosts = ["0.0.0.0", "::"]
    sockets = []
    for h in hosts:
        family = socket.AF_INET6 if ":" in h else socket.AF_INET
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((h, port))
        except OSError:
            sock.close()
            if h == hosts[0]:
                raise
            continue
        sock.listen(2048)
        sock.setblocking(False)
        sockets.append(sock)
        port = sock.getsockname()[1]  # with port 0, the other family gets the same port
    return sockets


def _keys(settings: Settings) -> tuple[Signer | None, AuthConfig | None]:
    """Cloud mode (`inngestd start`): the signer for requests to apps and the keys the
    HTTP API enforces. Dev mode: neither."""
    if settings.mode != "cloud":
        return None, None
    if settings.signing_key is None:
        raise ValueError("start mode needs a signing key")
    signer = Signer(settings.signing_key, settings.signing_key_fallback)
    return signer, AuthConfig(settings.event_keys, signer.keys)


@dataclass
class Backend:
    """The store a process runs on, with what that store needs running beside it."""

    store: Store
    close: Callable[[], Awaitable[None]]
    # leader(task): None (one process owns the store) or a check of this process's lead.
    leader: Callable[[str], Callable[[], Awaitable[bool]] | None] = lambda _task: None
    relay: Relay | None = None
    retention: Callable[[], Coroutine[Any, Any, None]] | None = None
    trim: Callable[[], Coroutine[Any, Any, None]] | None = None
    # Hands this process the wake-ups other processes publish (shared stores).
    wakeups: Callable[[], Coroutine[Any, Any, None]] | None = None

    def tasks(
        self, functions: FunctionIndex, run_work: bool
    ) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        if self.relay is None or not run_work:
            return []
        # Other processes sync apps too: pick up their changes.
        tasks = [("relay", self.relay.run()), ("functions", _refresh(functions))]
        if self.retention is not None:
            tasks.append(("retention", self.retention()))
        if self.trim is not None:
            tasks.append(("trim", self.trim()))
        if self.wakeups is not None:
            tasks.append(("wakeups", self.wakeups()))
        return tasks


async def _refresh(functions: FunctionIndex, every_s: float = 2.0) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await functions.refresh()
        except Exception:
            log.exception("refreshing functions failed")


async def _open_backend(settings: Settings) -> Backend:
    if not settings.redis_uri or not settings.postgres_uri:
        store = await open_store(settings.data_dir)

        async def close_sqlite() -> None:
            store.close()

        return Backend(store, close_sqlite)
    read = await open_read_store(settings.postgres_uri, schema=settings.postgres_schema)
    hot = await open_hot_store(settings.redis_uri, prefix=settings.redis_prefix)
    # Ended runs and old events are trimmed from Redis: reads fall back to PostgreSQL.
    events = TieredEventLog(hot.events, read.events)
    store = Store(
        catalog=read.catalog,
        events=events,
        runs=TieredRunState(hot.runs, read.history),
        queue=hot.queue,
        close=hot.close,
        subscribe=hot.subscribe,
        history=read.history,
    )

    async def close_shared() -> None:
        await hot.aclose()
        await read.close()

    retention = None
    if settings.retention_days:
        retention = _retention(
            read.history_writer, settings.retention_days, hot.leader("retention")
        )
    trim = _trim(
        hot.trim,
        settings.hot_retention_s,
        settings.trim_interval_s,
        hot.leader("trim"),
    )
    relay = Relay(
        hot.outbox,
        read.history_writer,
        events,  # a run's events may be trimmed before a redelivered run record
        read.events,
        may_run=hot.leader("relay"),
    )
    log.info(
        "store: Redis %s (prefix %s) and PostgreSQL",
        settings.redis_uri,
        settings.redis_prefix,
    )
    return Backend(
        store,
        close_shared,
        hot.leader,
        relay,
        retention=retention,
        trim=trim,
        wakeups=hot.listen,
    )


RETENTION_BATCH = 1_000
RETENTION_EVERY_S = 3600.0


def _retention(
    writer: HistoryWriter, days: float, leader: Callable[[], Awaitable[bool]]
) -> Callable[[], Coroutine[Any, Any, None]]:
    """Hourly: delete ended runs older than `days`, a bounded batch per statement."""

    async def loop() -> None:
        while True:
            try:
                if await leader():
                    cutoff = SystemClock().now_ms() - int(days * 86_400_000)
                    removed = RETENTION_BATCH
                    while removed >= RETENTION_BATCH:
                        removed = await writer.delete_before(cutoff, RETENTION_BATCH)
                        await asyncio.sleep(0)
            except Exception:
                log.exception("deleting old history failed")
            await asyncio.sleep(RETENTION_EVERY_S)

    return loop


TRIM_BATCH = 200


def _trim(
    trim: Callable[[int, int, int], Awaitable[Trimmed]],
    grace_s: float,
    every_s: float,
    leader: Callable[[], Awaitable[bool]],
) -> Callable[[], Coroutine[Any, Any, None]]:
    """Every `every_s`: remove from Redis what ended or arrived more than `grace_s` ago
    and is in PostgreSQL, a bounded batch per script call, so Redis memory stays bounded."""

    async def loop() -> None:
        while True:
            try:
                while await leader():
                    now = SystemClock().now_ms()
                    done = await trim(now, now - int(grace_s * 1000), TRIM_BATCH)
                    if done.runs < TRIM_BATCH and done.events < TRIM_BATCH:
                        break
                    await asyncio.sleep(0)
            except Exception:
                log.exception("trimming Redis failed")
            await asyncio.sleep(every_s)

    return loop


async def migrate(postgres_uri: str, schema: str = "public") -> list[int]:
    """Bring the PostgreSQL schema up to date (`inngestd migrate`)."""
    return await migrate_postgres(postgres_uri, schema)


async def _wait_stopped(tasks: list[asyncio.Task[Any]], timeout_s: float) -> None:
    """Wait up to `timeout_s` for the cancelled `tasks` (and the HTTP server) to end.

    redis-py can lose a cancellation that lands mid-command (the task runs on; see
    redis/redis-py#2028), so what is still running is cancelled again every 0.2 s."""
    loop = asyncio.get_running_loop()
    pending = set(tasks)
    deadline = loop.time() + timeout_s
    while pending and loop.time() < deadline:
        _, pending = await asyncio.wait(pending, timeout=0.2)
        for task in pending:
            if task.get_name() != "http":
                task.cancel()
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "never retrieved" warning at exit


DISCOVERY_EVERY_S = 5.0


def _discover(
    settings: Settings, sdk: HTTPSDK, registry: Registry
) -> Coroutine[Any, Any, None]:
    """Dev mode's discovery loop; URLs the -u flags already name (on any loopback
    spelling) and this server's own port are left alone."""
    given = {discovery.loopback_key(u) for u in settings.sdk_urls}

    def exclude(url: str) -> bool:
        key = discovery.loopback_key(url)
        return key in given or (key is not None and key[0] == settings.port)

    return discovery.run(
        discovery.ports_to_scan(),
        sdk.serves_sdk,
        lambda url: registry.poll([url], settings.poll_interval_s),
        settings.poll_interval_s or DISCOVERY_EVERY_S,
        exclude=exclude,
    )


def _announce(settings: Settings, sockets: list[socket.socket]) -> None:
    if sockets:
        port = sockets[0].getsockname()[1]
        log.info("inngestd listening on http://%s:%d", settings.host, port)
    else:
        log.info("role worker: no HTTP server")
    if settings.mode == "cloud":
        log.info(
            "start mode: role %s, %d event key(s), signing key%s enforced",
            settings.role,
            len(settings.event_keys),
            " and fallback" if settings.signing_key_fallback else "",
        )


async def _drain(worker: Worker, timeout_s: float) -> None:
    """Let the steps in flight finish before the tasks are cancelled. The HTTP server
    stays up meanwhile: a TypeScript app posts checkpoints of its call in flight to it."""
    left = await worker.drain(timeout_s)
    if left:
        log.warning(
            "%d step(s) still running after %.0f s; another process (or the next start) "
            "takes them over when their leases expire",
            left,
            timeout_s,
        )


async def serve(settings: Settings) -> None:
    clock = SystemClock()
    signer, auth = _keys(settings)
    server_kind = "cloud" if settings.mode == "cloud" else "dev"
    backend = await _open_backend(settings)
    store = backend.store
    sdk = HTTPSDK(signer=signer, server_kind=server_kind)
    functions = FunctionIndex(store.catalog)
    await functions.refresh()

    async def functions_changed() -> None:
        await cron.sync(store.runs, functions, clock)

    await functions_changed()
    registry = Registry(
        store.catalog, functions, sdk, clock, on_change=functions_changed
    )
    scheduler = Scheduler(store, functions, clock, shared=backend.relay is not None)
    retry_ms = (
        int(settings.retry_interval_s * 1000) if settings.retry_interval_s else None
    )
    executor = Executor(
        store,
        sdk,
        functions,
        clock,
        lease_ms=settings.lease_ms,
        retry_interval_ms=retry_ms,
    )
    worker = Worker(
        store,
        executor,
        clock,
        concurrency=settings.queue_workers,
        lease_ms=settings.lease_ms,
        # Idle loops look for work nothing told them about this often (in-process work
        # wakes them at once, other processes' work through `wakeups`): the safety net.
        poll_ms=settings.tick_ms,
    )
    app = create_app(
        Services(store, registry, scheduler, clock, auth=auth, server_kind=server_kind),
        ui=settings.ui,
    )
    serve_http = settings.role in ("all", "api")
    run_work = settings.role in ("all", "worker")

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    sockets = _bind(settings.host, settings.port) if serve_http else []
    _announce(settings, sockets)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    tasks = []
    if serve_http:
        tasks.append(asyncio.create_task(server.serve(sockets=sockets), name="http"))
    if run_work:
        tasks += [
            asyncio.create_task(
                scheduler.run(settings.tick_ms, leader=backend.leader("scheduler")),
                name="scheduler",
            ),
            asyncio.create_task(worker.run(), name="worker"),
        ]
    background = [
        asyncio.create_task(t, name=n) for n, t in backend.tasks(functions, run_work)
    ]
    if run_work and settings.discovery:
        background.append(
            asyncio.create_task(_discover(settings, sdk, registry), name="discovery")
        )
    if settings.sdk_urls and not run_work:
        log.warning("role api: the -u URLs are synced by worker processes, not here")
    elif settings.sdk_urls:
        interval = settings.poll_interval_s
        background.append(
            asyncio.create_task(registry.poll(settings.sdk_urls, interval), name="sync")
        )
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopper and task.exception() is not None:
            log.error("%s stopped: %r", task.get_name(), task.exception())
    tasks += background
    log.info("shutting down")
    if run_work:
        await _drain(worker, settings.shutdown_timeout_s)
    server.should_exit = True
    for task in tasks:
        if task.get_name() != "http":
            task.cancel()
    await _wait_stopped(tasks, 10)
    await sdk.close()
    await backend.close()
