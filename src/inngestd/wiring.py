"""The composition root: builds the store, services and HTTP server from Settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

import uvicorn

from inngestd import cron
from inngestd.api.app import Services, create_app
from inngestd.clock import SystemClock
from inngestd.execution.executor import Executor
from inngestd.functions import FunctionIndex
from inngestd.registry import Registry
from inngestd.scheduling import Scheduler
from inngestd.sdk import HTTPSDK
from inngestd.settings import Settings
from inngestd.store.sqlite import open_store
from inngestd.worker import Worker

log = logging.getLogger("inngestd")

LEASE_MS = 60_000


def _bind(host: str, port: int) -> list[socket.socket]:
    """Listen on `host`; for loopback also on ::1, since Node resolves localhost to it."""
    hosts = [host]
    if host in ("127.0.0.1", "localhost"):
        hosts = ["127.0.0.1", "::1"]
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
    return sockets


async def serve(settings: Settings) -> None:
    clock = SystemClock()
    store = await open_store(settings.data_dir)
    sdk = HTTPSDK()
    functions = FunctionIndex(store.catalog)
    await functions.refresh()

    async def functions_changed() -> None:
        await cron.sync(store.runs, functions, clock)

    await functions_changed()
    registry = Registry(
        store.catalog, functions, sdk, clock, on_change=functions_changed
    )
    scheduler = Scheduler(store, functions, clock)
    retry_ms = (
        int(settings.retry_interval_s * 1000) if settings.retry_interval_s else None
    )
    executor = Executor(
        store, sdk, functions, clock, lease_ms=LEASE_MS, retry_interval_ms=retry_ms
    )
    worker = Worker(
        store,
        executor,
        clock,
        concurrency=settings.queue_workers,
        lease_ms=LEASE_MS,
        poll_ms=1000,
    )
    app = create_app(Services(store, registry, scheduler, clock))

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    sockets = _bind(settings.host, settings.port)
    port = sockets[0].getsockname()[1]
    log.info("inngestd listening on http://%s:%d", settings.host, port)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    tasks = [
        asyncio.create_task(server.serve(sockets=sockets), name="http"),
        asyncio.create_task(scheduler.run(), name="scheduler"),
        asyncio.create_task(worker.run(), name="worker"),
    ]
    background = []
    if settings.sdk_urls:
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
    server.should_exit = True
    for task in tasks:
        if task.get_name() != "http":
            task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    await sdk.close()
    store.close()
