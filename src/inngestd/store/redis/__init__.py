"""The hot-path store of `inngestd start`: EventLog, RunState and Queue in Redis.

One Lua script per atomic store method (`lua/`, loaded by `scripts.py`), every key built by
`keys.py` under the hash tag `{<prefix>}`, and an outbox list (`outbox.py`) for the records
the read side needs. Listeners registered with `subscribe` are called in this process after
work was committed (as with the SQLite store), and in the other processes through Redis
pub/sub (`wakeups.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NamedTuple

from inngestd.store.base import EventLog, Queue, RunState
from inngestd.store.redis.client import connect
from inngestd.store.redis.events import RedisEventLog
from inngestd.store.redis.keys import Keys
from inngestd.store.redis.leader import Leadership
from inngestd.store.redis.outbox import Outbox
from inngestd.store.redis.queue import RedisQueue
from inngestd.store.redis.runs import RedisRunState
from inngestd.store.redis.scripts import Scripts
from inngestd.store.redis.trim import Trimmed, Trimmer
from inngestd.store.redis.wakeups import Wakeups


class HotStore(NamedTuple):
    events: EventLog
    runs: RunState
    queue: Queue
    # Closes the connection pool (schedules it when called inside a running loop).
    close: Callable[[], None]
    subscribe: Callable[[Callable[[str], None]], None]
    outbox: Outbox
    aclose: Callable[[], Awaitable[None]]
    # leader(task) -> a check that takes or renews this process's lead of `task`.
    leader: Callable[[str], Callable[[], Awaitable[bool]]]
    # trim(now_ms, cutoff_ms, batch): remove one bounded batch of ended runs and old
    # events that PostgreSQL already has (see trim.py).
    trim: Callable[[int, int, int], Awaitable[Trimmed]]
    # Run as a task: hands this process the wake-ups other processes publish.
    listen: Callable[[], Coroutine[Any, Any, None]]


async def open_hot_store(url: str, *, prefix: str, consumer: str = "relay") -> HotStore:
    """Connect to Redis at `url` (raises if it does not answer) and build the stores.

    `consumer` names this process's outbox processing list; give each relay a stable name
    so that a restarted relay re-delivers what it had not acknowledged."""
    client = await connect(url)
    keys = Keys(prefix)
    scripts = Scripts(client, keys.root)
    listeners: list[Callable[[str], None]] = []

    def deliver(topic: str) -> None:
        for listener in listeners:
            listener(topic)

    wakeups = Wakeups(client, keys.wake(), deliver)

    def notify(topic: str) -> None:
        deliver(topic)
        wakeups.publish(topic)

    closing: set[asyncio.Task[None]] = set()

    async def aclose() -> None:
        await client.aclose()

    def close() -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(aclose())
            return
        task = loop.create_task(aclose())
        closing.add(task)
        task.add_done_callback(closing.discard)

    return HotStore(
        events=RedisEventLog(client, keys, scripts, notify),
        runs=RedisRunState(client, keys, scripts, notify),
        queue=RedisQueue(client, keys, scripts),
        close=close,
        subscribe=listeners.append,
        outbox=Outbox(client, keys, consumer, scripts=scripts),
        aclose=aclose,
        leader=lambda task: Leadership(client, keys.leader(task)).held,
        trim=Trimmer(scripts).trim,
        listen=wakeups.listen,
    )


__all__ = ["HotStore", "Outbox", "Trimmed", "open_hot_store"]
