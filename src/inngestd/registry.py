"""App sync: ask apps to register, validate what they send, keep the catalog current."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from inngestd import errors
from inngestd.clock import Clock
from inngestd.domain.functions import SyncResult
from inngestd.functions import FunctionIndex
from inngestd.sdk import HTTPSDK
from inngestd.store.base import Catalog
from inngestd.wire.sync import parse_register

log = logging.getLogger("inngestd.registry")


class Registry:
    def __init__(
        self,
        catalog: Catalog,
        functions: FunctionIndex,
        sdk: HTTPSDK,
        clock: Clock,
        on_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._on_change = on_change
        self._catalog = catalog
        self._functions = functions
        self._sdk = sdk
        self._clock = clock
        self._lock = asyncio.Lock()

    async def register(self, body: bytes) -> SyncResult:
        """Handle `POST /fn/register`. Raises errors.InvalidInput naming the problem."""
        app, functions = parse_register(body)
        async with self._lock:
            result = await self._catalog.sync_app(app, functions, self._clock.now_ms())
            await self._functions.refresh()
            if self._on_change is not None:
                await self._on_change()
        # Polling re-syncs every few seconds; only a change is worth an info line.
        level = logging.INFO if result.modified else logging.DEBUG
        log.log(
            level, "synced app %s (%s): %d function(s)", app.id, app.url, len(functions)
        )
        return result

    async def sync_url(self, url: str) -> bool:
        """Ask the app at `url` to register (it answers by calling `/fn/register`)."""
        reply = await self._sdk.sync(url)
        if not reply.ok:
            log.warning("could not sync %s: %s", url, reply.message)
            await self._catalog.record_sync_error(
                url, reply.message, self._clock.now_ms()
            )
        return reply.ok

    async def poll(self, urls: Sequence[str], interval_s: float | None) -> None:
        """Sync every URL now and, with an interval, again and again. Without an
        interval, a URL that cannot be synced yet (the app is still starting) is tried
        again every second until it syncs once."""
        await asyncio.gather(*(self._keep_syncing(u, interval_s) for u in urls))

    async def _keep_syncing(self, url: str, interval_s: float | None) -> None:
        synced = False
        while True:
            try:
                synced = await self.sync_url(url) or synced
            except Exception:
                log.exception("syncing %s failed", url)
            if interval_s is None and synced:
                return
            await asyncio.sleep(
                interval_s if synced and interval_s else min(interval_s or 1.0, 1.0)
            )


__all__ = ["Registry", "errors"]
