"""Cross-process wake-ups: a process that committed work tells the others at once.

After a script commits new queue items or events, the store calls its local listeners
(the worker, the scheduler) and `Wakeups.publish`, which PUBLISHes the topic on the
deployment's channel. Each process runs `Wakeups.listen`, which SUBSCRIBEs and hands the
topics other processes published to its own listeners. Publishes within one event-loop
tick are coalesced into one message. Pub/sub may drop a message (a reconnect), so idle
loops still poll, only rarely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

from inngestd.store.redis.client import RedisClient

log = logging.getLogger("inngestd.redis.wakeups")

RETRY_S = 1.0


class Wakeups:
    def __init__(
        self, client: RedisClient, channel: str, deliver: Callable[[str], None]
    ) -> None:
        self._client = client
        self._channel = channel
        self._deliver = deliver
        self.origin = uuid.uuid4().hex[:16]
        self._pending: set[str] = set()
        self._flush: asyncio.Task[None] | None = None
        self.received = 0

    def publish(self, topic: str) -> None:
        """Tell the other processes about `topic` (soon, without waiting for Redis)."""
        self._pending.add(topic)
        if self._flush is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (closing): the others' polls will find the work
            self._flush = loop.create_task(self._send())

    async def _send(self) -> None:
        await asyncio.sleep(0)  # gather what the rest of this tick publishes
        topics, self._pending, self._flush = self._pending, set(), None
        try:
            await self._client.publish(
                self._channel, f"{self.origin} {','.join(sorted(topics))}"
            )
        except Exception as exc:  # a lost wake-up costs one poll interval, no more
            log.debug("publishing a wake-up failed: %s", exc)

    async def listen(self) -> None:
        """Deliver the topics other processes publish; resubscribe after errors."""
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                # Anything published while unsubscribed is lost: look once.
                self._deliver("queue")
                self._deliver("events")
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._on_message(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("wake-up subscription failed (%s); retrying", exc)
            finally:
                # The connection may already be gone.
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(RETRY_S)

    def _on_message(self, data: bytes | str) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        origin, _, topics = text.partition(" ")
        if origin == self.origin:
            return
        self.received += 1
        for topic in topics.split(","):
            if topic:
                self._deliver(topic)
