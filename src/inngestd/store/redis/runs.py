"""Redis RunState: each write is one Lua script (see lua/), mirroring store/sqlite/runs.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import orjson

from inngestd import ids
from inngestd.domain import effects as fx
from inngestd.domain.queue import Lease, QueueItem
from inngestd.domain.runs import Pause, PauseKind, Run, RunContext, RunStatus, StepSpan
from inngestd.store.base import (
    ApplyResult,
    Cancel,
    Fire,
    NewRun,
    PendingStart,
    SchedulePlan,
)
from inngestd.store.records import flow_record
from inngestd.store.redis.client import RedisClient
from inngestd.store.redis.codec import (
    _int,
    as_bytes,
    as_map,
    as_text,
    effect_arg,
    event_arg,
    item_arg,
    pause_arg,
    pause_from_hash,
    run_from_hash,
    span_from_json,
)
from inngestd.store.redis.keys import Keys
from inngestd.store.redis.scripts import Blobs, Scripts


def new_run_arg(new: NewRun, now_ms: int, blobs: Blobs) -> dict[str, Any]:
    run = new.run
    d: dict[str, Any] = {
        "run": {
            "id": run.id,
            "fn": run.function_id,
            "app": run.app_id,
            "ev": run.event_id,
            "st": run.status.value,
            "cr": run.created_ms,
            "ma": run.max_attempts,
        },
        "flow": blobs.add(flow_record(run)),
        "evs": blobs.add(orjson.dumps([e.payload for e in new.events])),
        "event_ids": [e.internal_id for e in new.events],
        "first": item_arg(new.first_item),
        "ik": new.idempotency_key,
        "ie": new.idempotency_expires_ms,
        "pauses": [pause_arg(p, blobs) for p in new.pauses],
    }
    if new.events:
        d["ev0"] = blobs.add(orjson.dumps(new.events[0].payload))
    if new.steps:
        d["steps"] = [[sid, blobs.add(memo)] for sid, memo in new.steps]
    if new.rate is not None:
        r = new.rate
        d["rate"] = {
            "key": r.key,
            "limit": r.limit,
            "period": r.period_ms,
            "reason": r.reason,
        }
    if new.singleton is not None:
        s = new.singleton
        # Ids of the finish events of a run this one cancels (cancel mode).
        d["single"] = {
            "key": s.key,
            "mode": s.mode,
            "ids": [ids.new_ulid(now_ms), ids.new_ulid(now_ms)],
        }
    if new.start_timeout_ms:
        d["sto"] = new.start_timeout_ms
    return d


def _created(new: NewRun, result: bytes, now_ms: int) -> Run | None:
    if result == b"":
        return None
    if result == b"ok":
        return new.run
    return replace(
        new.run, status=RunStatus.SKIPPED, reason=result.decode(), ended_ms=now_ms
    )


def _emits(effects: Sequence[fx.Effect]) -> bool:
    return any(isinstance(e, fx.Emit) for e in effects)


class RedisRunState:
    def __init__(
        self,
        client: RedisClient,
        keys: Keys,
        scripts: Scripts,
        notify: Callable[[str], None],
    ) -> None:
        self._r = client
        self._k = keys
        self._s = scripts
        self._notify = notify

    async def schedule(self, plans: Sequence[SchedulePlan], now_ms: int) -> list[Run]:
        blobs = Blobs()
        req_plans = []
        for plan in plans:
            req_plans.append(
                {
                    "event": plan.event.internal_id,
                    "new": [new_run_arg(n, now_ms, blobs) for n in plan.new_runs],
                    "resumes": [
                        {"pause_id": r.pause_id, "memo": blobs.add(r.memo)}
                        for r in plan.resumes
                    ],
                    "cancels": [self._cancel_arg(c, blobs) for c in plan.cancels],
                    "debounces": [
                        {
                            "key": d.key,
                            "fn": d.function_id,
                            "event_id": d.event.internal_id,
                            "ts": d.event.ts,
                            "period": d.period_ms,
                            "timeout": d.timeout_ms,
                            "new_id": d.new_id,
                        }
                        for d in plan.debounces
                    ],
                    "batches": [
                        {
                            "key": b.key,
                            "fn": b.function_id,
                            "event_id": b.event.internal_id,
                            "max_size": b.max_size,
                            "timeout": b.timeout_ms,
                            "new_id": b.new_id,
                        }
                        for b in plan.batches
                    ],
                }
            )
        results = await self._s.call(
            "schedule", {"now": now_ms, "plans": req_plans}, blobs
        )
        created: list[Run] = []
        for plan, res in zip(plans, results, strict=True):
            for new, r in zip(plan.new_runs, res, strict=True):
                run = _created(new, r, now_ms)
                if run is not None:
                    created.append(run)
        self._notify("queue")
        if any(plan.cancels for plan in plans):
            self._notify("events")
        return created

    @staticmethod
    def _cancel_arg(cancel: Cancel, blobs: Blobs) -> dict[str, Any]:
        return {
            "run_id": cancel.run_id,
            "events": [event_arg(e, blobs) for e in cancel.events],
            "reason": cancel.reason,
        }

    async def load(self, run_id: str) -> RunContext | None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._k.run(run_id))
            pipe.hgetall(self._k.steps(run_id))
            pipe.lrange(self._k.stack(run_id), 0, -1)
            pipe.hkeys(self._k.pending(run_id))
            h, memos, stack, pending = await pipe.execute()
        if not h:
            return None
        order = [s.decode() for s in stack]
        steps = {sid: memos[sid.encode()] for sid in order}
        return RunContext(
            run_from_hash(h),
            orjson.loads(h.get(b"evs", b"[]")),
            steps,
            order,
            frozenset(p.decode() for p in pending),
        )

    async def _apply(self, name: str, req: dict[str, Any], blobs: Blobs) -> ApplyResult:
        applied, status = await self._s.call(name, req, blobs)
        return ApplyResult(
            bool(_int(applied)), RunStatus(status.decode()) if status else None
        )

    async def apply(
        self,
        lease: Lease,
        effects: Sequence[fx.Effect],
        now_ms: int,
        *,
        ack: bool = True,
    ) -> ApplyResult:
        blobs = Blobs()
        req = {
            "item_id": lease.item.id,
            "token": lease.token,
            "run_id": lease.item.run_id,
            "now": now_ms,
            "ack": ack,
            "effects": [effect_arg(e, blobs) for e in effects],
        }
        result = await self._apply("apply", req, blobs)
        self._notify("queue")
        if _emits(effects):
            self._notify("events")
        return result

    async def apply_run(
        self, run_id: str, effects: Sequence[fx.Effect], now_ms: int
    ) -> ApplyResult:
        blobs = Blobs()
        req = {
            "run_id": run_id,
            "now": now_ms,
            "effects": [effect_arg(e, blobs) for e in effects],
        }
        result = await self._apply("apply_run", req, blobs)
        self._notify("queue")
        if _emits(effects):
            self._notify("events")
        return result

    async def pending_start(self, kind: str, key: str) -> PendingStart | None:
        if kind == "debounce":
            did, ev = await self._r.hmget(self._k.deb(key), ["id", "ev"])
            if did is None or ev is None:
                return None
            return PendingStart(key, as_text(did), [as_text(ev)])
        bid = await self._r.hget(self._k.batch(key), "id")
        if bid is None:
            return None
        events = await self._r.lrange(self._k.batchev(as_text(bid)), 0, -1)
        return PendingStart(key, as_text(bid), [as_text(e) for e in events])

    async def fire(self, lease: Lease, fire: Fire, now_ms: int) -> bool:
        blobs = Blobs()
        req: dict[str, Any] = {
            "item_id": lease.item.id,
            "token": lease.token,
            "now": now_ms,
            "kind": fire.kind,
            "events": [event_arg(e, blobs) for e in fire.events],
            "next_items": [item_arg(i) for i in fire.next_items],
        }
        if fire.consumes is not None:
            c = fire.consumes
            req["consumes"] = {"key": c.key, "id": c.id, "event_ids": c.event_ids}
        if fire.new_run is not None:
            req["new"] = new_run_arg(fire.new_run, now_ms, blobs)
        fired = bool(_int(await self._s.call("fire", req, blobs)))
        self._notify("queue")
        if fire.events:
            self._notify("events")
        return fired

    async def sync_crons(self, items: Sequence[QueueItem]) -> None:
        await self._s.call("sync_crons", {"items": [item_arg(i) for i in items]})
        self._notify("queue")

    async def cancel(self, cancel: Cancel, now_ms: int) -> Run | None:
        blobs = Blobs()
        req = {"now": now_ms, "cancel": self._cancel_arg(cancel, blobs)}
        if not _int(await self._s.call("cancel", req, blobs)):
            return None
        self._notify("events")
        return await self.get_run(cancel.run_id)

    async def get_run(self, run_id: str) -> Run | None:
        h = await self._r.hgetall(self._k.run(run_id))
        return run_from_hash(as_map(h)) if h else None

    async def runs_for_event(self, internal_id: str) -> list[Run]:
        run_ids = sorted(
            as_text(m) for m in await self._r.smembers(self._k.evruns(internal_id))
        )
        if not run_ids:
            return []
        async with self._r.pipeline(transaction=False) as pipe:
            for rid in run_ids:
                pipe.hgetall(self._k.run(rid))
            rows = await pipe.execute()
        return [run_from_hash(as_map(h)) for h in rows if h]

    async def spans(self, run_id: str) -> list[StepSpan]:
        raw = await self._r.lrange(self._k.spans(run_id), 0, -1)
        return [span_from_json(as_bytes(s)) for s in raw]

    async def _pauses(self, pause_ids: Sequence[bytes]) -> list[Pause]:
        if not pause_ids:
            return []
        async with self._r.pipeline(transaction=False) as pipe:
            for pid in pause_ids:
                pipe.hgetall(self._k.pause(pid.decode()))
            rows = await pipe.execute()
        return [pause_from_hash(as_map(h)) for h in rows if h]

    async def pauses_for(
        self, event_name: str, before_seq: int, now_ms: int
    ) -> list[Pause]:
        members = sorted(
            as_bytes(m) for m in await self._r.smembers(self._k.pauseev(event_name))
        )
        return [
            p
            for p in await self._pauses(members)
            if p.after_seq < before_seq
            and p.expires_ms > now_ms
            and p.kind is not PauseKind.INVOKE
        ]

    async def pause_by_correlation(self, correlation_id: str) -> Pause | None:
        pid = await self._r.get(self._k.corr(correlation_id))
        if pid is None:
            return None
        found = await self._pauses([as_bytes(pid)])
        return found[0] if found else None
