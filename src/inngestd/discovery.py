"""Dev mode's app discovery: find Inngest apps on this machine without `-u`.

As Go's dev server: every poll interval, look for listening TCP ports among the ports
web frameworks default to (plus `$PORT`), GET the paths apps usually serve Inngest from,
and sync every URL that answers as an SDK (`X-Inngest-SDK` header). A found URL is then
re-synced like a `-u` URL. `--no-discovery` turns it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("inngestd.discovery")

HOST = "127.0.0.1"
# Rails, Express and Next (3000-3010), Django/Flask (5000), Vite/SvelteKit (5173), common
# others, Redwood (8910-8915): the ports Go's dev server scans.
PORTS = (
    80,
    443,
    *range(3000, 3011),
    5000,
    5173,
    8000,
    8080,
    8081,
    8888,
    *range(8910, 8916),
)
PATHS = (
    "/api/inngest",
    "/x/inngest",
    "/.netlify/functions/inngest",
    "/.redwood/functions/inngest",
)
CONNECT_TIMEOUT_S = 2.0


def loopback_key(url: str) -> tuple[int, str] | None:
    """(port, path) of a URL on this machine, None for another host: how a found URL is
    matched against the -u URLs, whichever loopback name those use."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.hostname not in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return port, parts.path.rstrip("/") or "/"


def ports_to_scan(environ: dict[str, str] | None = None) -> list[int]:
    """The default ports, and `$PORT` (where many frameworks listen) when set."""
    env = os.environ if environ is None else environ
    ports = list(PORTS)
    with contextlib.suppress(ValueError):
        extra = int(env.get("PORT", ""))
        if 0 < extra < 65536 and extra not in ports:
            ports.append(extra)
    return ports


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, port), CONNECT_TIMEOUT_S
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def scan(
    ports: Iterable[int], is_sdk: Callable[[str], Awaitable[bool]]
) -> list[str]:
    """The app URLs found now: every path of every listening port, checked with `is_sdk`
    (one port's paths one after another; the ports at once)."""
    ports = list(ports)
    listening = await asyncio.gather(*(_listening(p) for p in ports))

    async def on(port: int) -> list[str]:
        urls = [f"http://{HOST}:{port}{path}" for path in PATHS]
        return [u for u in urls if await is_sdk(u)]

    found = await asyncio.gather(
        *(on(p) for p, up in zip(ports, listening, strict=True) if up)
    )
    return [url for urls in found for url in urls]


async def run(
    ports: list[int],
    is_sdk: Callable[[str], Awaitable[bool]],
    keep_syncing: Callable[[str], Coroutine[Any, Any, None]],
    interval_s: float,
    *,
    exclude: Callable[[str], bool] = lambda _url: False,
) -> None:
    """Scan every `interval_s`; hand each new URL to `keep_syncing` (a task of its own,
    for as long as this runs)."""
    known: set[str] = set()
    syncing: set[asyncio.Task[None]] = set()
    try:
        while True:
            try:
                for url in await scan(ports, is_sdk):
                    if url in known or exclude(url):
                        continue
                    known.add(url)
                    log.info("discovered an Inngest app at %s", url)
                    task = asyncio.create_task(keep_syncing(url), name=f"sync {url}")
                    syncing.add(task)
            except Exception:
                log.exception("app discovery failed; trying again")
            await asyncio.sleep(interval_s)
    finally:
        for task in syncing:
            task.cancel()
        await asyncio.gather(*syncing, return_exceptions=True)
