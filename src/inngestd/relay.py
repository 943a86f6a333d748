"""The outbox relay of `inngestd start`: copies what the Redis scripts recorded (events, runs,
statuses, steps, spans) into the PostgreSQL read side, in order, idempotently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import orjson

from inngestd.domain.events import Event
from inngestd.domain.runs import Run, RunFlow, RunStatus, StepSpan
from inngestd.store.base import EventLog, HistoryWriter

log = logging.getLogger("inngestd.relay")

BATCH = 500


class Outbox(Protocol):
    async def drain(self, max_n: int) -> list[dict[str, Any]]: ...

    async def ack(self, n: int) -> None: ...

    async def relayed(self, mark: dict[str, Any]) -> None: ...


class EventCopies(Protocol):
    async def copy(self, events: Sequence[Event]) -> None: ...


def _event(rec: dict[str, Any]) -> Event:
    return Event(
        internal_id=str(rec["id"]),
        name=str(rec["name"]),
        payload=orjson.loads(rec["payload"]),
        received_ms=int(rec["recv"]),
        user_id=rec.get("user"),
        seq=int(rec["seq"]),
    )


def _run(rec: dict[str, Any]) -> Run:
    flow = rec.get("flow")
    return Run(
        id=str(rec["id"]),
        function_id=str(rec["function_id"]),
        app_id=str(rec["app_id"]),
        event_id=str(rec["event_id"]),
        status=RunStatus(rec["status"]),
        created_ms=int(rec["created_ms"]),
        ended_ms=rec.get("ended_ms"),
        reason=rec.get("reason"),
        max_attempts=int(rec.get("max_attempts") or 1),
        flow=RunFlow.from_json(
            orjson.loads(flow) if isinstance(flow, str) and flow else None
        ),
    )


def _bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    return value.encode() if isinstance(value, str) else orjson.dumps(value)


class Relay:
    def __init__(
        self,
        outbox: Outbox,
        writer: HistoryWriter,
        events: EventLog,
        copies: EventCopies,
        *,
        may_run: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._outbox = outbox
        self._writer = writer
        self._events = events
        self._copies = copies
        self._may_run = may_run

    async def run(self, idle_s: float = 0.05) -> None:
        while True:
            try:
                moved = await self.tick() if await self._allowed() else 0
            except Exception:
                log.exception("relaying to PostgreSQL failed; retrying")
                moved = 0
                await asyncio.sleep(1)
            if moved == 0:
                await asyncio.sleep(idle_s)

    async def _allowed(self) -> bool:
        return self._may_run is None or await self._may_run()

    async def tick(self) -> int:
        """Relay one batch; returns how many records were stored."""
        records = await self._outbox.drain(BATCH)
        if not records:
            return 0
        marks: list[dict[str, Any]] = []
        async with self._writer.batch() as writer:
            pending_events: list[Event] = []
            for rec in records:
                kind = rec.get("t")
                if kind == "event":
                    pending_events.append(_event(rec))
                    continue
                # Keep order: a run's events are stored before the run.
                if pending_events:
                    await self._copies.copy(pending_events)
                    pending_events = []
                if kind == "mark":
                    marks.append(rec)
                else:
                    await self._apply(writer, kind, rec)
            if pending_events:
                await self._copies.copy(pending_events)
        # Reported once the batch is committed: every record before a marker is stored.
        for mark in marks:
            await self._outbox.relayed(mark)
        await self._outbox.ack(len(records))
        return len(records)

    async def _apply(
        self, writer: HistoryWriter, kind: Any, rec: dict[str, Any]
    ) -> None:
        if kind == "run":
            ids = rec.get("event_ids") or []
            events = [
                e
                for e in [await self._events.get(str(i)) for i in ids]
                if e is not None
            ]
            await writer.record_run(_run(rec), events)
        elif kind == "status":
            await writer.record_status(
                str(rec["id"]),
                RunStatus(rec["status"]),
                started_ms=rec.get("started_ms"),
                ended_ms=rec.get("ended_ms"),
                output=_bytes(rec.get("output")),
                reason=rec.get("reason"),
            )
        elif kind == "step":
            pos = rec.get("pos")
            await writer.record_step(
                str(rec["run_id"]),
                str(rec["step_id"]),
                _bytes(rec["memo"]) or b"null",
                int(pos) if pos is not None else None,
            )
        elif kind == "span":
            span = dict(rec["span"])
            output = span.pop("output", None)
            await writer.record_span(
                StepSpan(**span, output=_bytes(output)), key=str(rec["k"])
            )
        else:
            log.warning("unknown outbox record %r", kind)
