"""Domain objects to and from what the Lua scripts take and store.

Every number read back goes through `_int`: Redis Lua's cjson writes numbers with 14
significant digits and may hand back a float, which must never reach an int field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from inngestd.domain import effects as fx
from inngestd.domain.events import Event
from inngestd.domain.queue import ItemKind, Limit, QueueItem, ThrottleSpec
from inngestd.domain.runs import Pause, PauseKind, Run, RunFlow, RunStatus, StepSpan
from inngestd.store.redis.scripts import Blobs


def _int(value: Any) -> int:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    return int(value)


def as_bytes(value: object) -> bytes:
    """redis-py types replies as bytes or str; this client never decodes them."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"unexpected Redis reply {value!r}")


def as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def as_map(h: Mapping[Any, Any]) -> dict[bytes, bytes]:
    return {as_bytes(k): as_bytes(v) for k, v in h.items()}


def _str(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# -- events -------------------------------------------------------------------------------------
def event_arg(ev: Event, blobs: Blobs) -> dict[str, Any]:
    return _drop_none(
        {
            "id": ev.internal_id,
            "name": ev.name,
            "user": ev.user_id,
            "recv": ev.received_ms,
            "p": blobs.add(ev.to_json()),
        }
    )


def event_from_hash(internal_id: str, h: dict[bytes, bytes]) -> Event:
    return Event(
        internal_id=internal_id,
        name=h[b"name"].decode(),
        payload=orjson.loads(h[b"payload"]),
        received_ms=_int(h[b"recv"]),
        user_id=_str(h.get(b"user")),
        seq=_int(h[b"seq"]),
    )


# -- queue items --------------------------------------------------------------------------------
def item_arg(item: QueueItem) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": item.id,
        "run_id": item.run_id,
        "function_id": item.function_id,
        "kind": item.kind.value,
        "due_ms": item.due_ms,
        "step_id": item.step_id,
        "attempt": item.attempt,
        "max_attempts": item.max_attempts,
        "pause_id": item.pause_id,
        "pr": item.priority_ms,
        "ref": item.ref,
    }
    if item.concurrency:
        d["c"] = [[lim.key, lim.limit] for lim in item.concurrency]
    if item.run_limit is not None:
        d["rl"] = [item.run_limit.key, item.run_limit.limit]
    if item.throttle is not None:
        t = item.throttle
        d["th"] = [t.key, t.limit, t.period_ms, t.burst]
    return _drop_none(d)


def item_from_json(raw: bytes | str) -> QueueItem:
    d = orjson.loads(raw)
    c = d.get("c")
    rl = d.get("rl")
    th = d.get("th")
    return QueueItem(
        id=str(d["id"]),
        run_id=str(d.get("run_id") or ""),
        function_id=str(d["function_id"]),
        kind=ItemKind(d["kind"]),
        due_ms=_int(d["due_ms"]),
        step_id=d.get("step_id"),
        attempt=_int(d.get("attempt") or 0),
        max_attempts=_int(d.get("max_attempts") or 1),
        pause_id=d.get("pause_id"),
        concurrency=tuple(Limit(str(k), _int(n)) for k, n in c)
        if isinstance(c, list)
        else (),
        run_limit=Limit(str(rl[0]), _int(rl[1])) if isinstance(rl, list) else None,
        throttle=ThrottleSpec(str(th[0]), _int(th[1]), _int(th[2]), _int(th[3]))
        if isinstance(th, list)
        else None,
        priority_ms=_int(d.get("pr") or 0),
        ref=d.get("ref"),
    )


# -- runs ---------------------------------------------------------------------------------------
def run_from_hash(h: dict[bytes, bytes]) -> Run:
    def opt_int(field: bytes) -> int | None:
        v = h.get(field)
        return None if v is None else _int(v)

    flow = h.get(b"flow")
    return Run(
        id=h[b"id"].decode(),
        function_id=h[b"fn"].decode(),
        app_id=h[b"app"].decode(),
        event_id=h[b"ev"].decode(),
        status=RunStatus(h[b"st"].decode()),
        created_ms=_int(h[b"cr"]),
        started_ms=opt_int(b"sa"),
        ended_ms=opt_int(b"en"),
        output=h.get(b"out"),
        request_version=_int(h.get(b"rv", b"-1")),
        disable_immediate=h.get(b"di") == b"1",
        reason=_str(h.get(b"rs")),
        max_attempts=_int(h.get(b"ma", b"1")),
        flow=RunFlow.from_json(orjson.loads(flow) if flow else None),
    )


# -- pauses -------------------------------------------------------------------------------------
def pause_arg(p: Pause, blobs: Blobs) -> dict[str, Any]:
    return _drop_none(
        {
            "id": p.id,
            "run_id": p.run_id,
            "step_id": p.step_id,
            "kind": p.kind.value,
            "event_name": p.event_name,
            "expires_ms": p.expires_ms,
            "after_seq": p.after_seq,
            "expression": p.expression,
            "correlation_id": p.correlation_id,
            "trigger": None
            if p.trigger is None
            else blobs.add(orjson.dumps(p.trigger)),
            "timeout_memo": blobs.opt(p.timeout_memo),
        }
    )


def pause_from_hash(h: dict[bytes, bytes]) -> Pause:
    trigger = h.get(b"trig")
    return Pause(
        id=h[b"id"].decode(),
        run_id=h[b"run"].decode(),
        step_id=h[b"step"].decode(),
        kind=PauseKind(h[b"kind"].decode()),
        event_name=h[b"evn"].decode(),
        expires_ms=_int(h[b"exp"]),
        after_seq=_int(h[b"after"]),
        expression=_str(h.get(b"expr")),
        correlation_id=_str(h.get(b"corr")),
        trigger=orjson.loads(trigger) if trigger is not None else None,
        timeout_memo=h.get(b"tm"),
    )


def span_from_json(raw: bytes) -> StepSpan:
    d = orjson.loads(raw)
    out = d.get("output")
    return StepSpan(
        run_id=str(d["run_id"]),
        step_id=str(d["step_id"]),
        name=str(d["name"]),
        op=str(d["op"]),
        attempt=_int(d["attempt"]),
        started_ms=_int(d["started_ms"]),
        ended_ms=_int(d["ended_ms"]),
        status=str(d["status"]),
        output=out.encode() if isinstance(out, str) else None,
    )


# -- effects ------------------------------------------------------------------------------------
def effect_arg(effect: fx.Effect, blobs: Blobs) -> dict[str, Any]:
    if isinstance(effect, fx.SaveStep):
        return {
            "t": "save",
            "step": effect.step_id,
            "memo": blobs.add(effect.memo),
            "discover": effect.discover,
        }
    if isinstance(effect, fx.MarkParallel):
        return {"t": "par", "steps": list(effect.step_ids), "race": effect.race}
    if isinstance(effect, fx.PlanStep):
        return {"t": "plan", "step": effect.step_id}
    if isinstance(effect, fx.SleepUntil):
        return {"t": "sleep", "step": effect.step_id, "until": effect.until_ms}
    if isinstance(effect, fx.CreatePause):
        return {"t": "pause", "pause": pause_arg(effect.pause, blobs)}
    if isinstance(effect, fx.ExpirePause):
        return {"t": "expire", "pause_id": effect.pause_id}
    if isinstance(effect, fx.Discover):
        return {"t": "disc", "key": effect.key}
    if isinstance(effect, fx.Retry):
        return {"t": "retry", "due": effect.due_ms}
    if isinstance(effect, fx.SetRequestVersion):
        return {"t": "rv", "version": effect.version}
    if isinstance(effect, fx.Finish):
        return _drop_none(
            {
                "t": "finish",
                "status": effect.status.value,
                "output": blobs.opt(effect.output),
                "reason": effect.reason,
            }
        )
    if isinstance(effect, fx.Emit):
        return {"t": "emit", "event": event_arg(effect.event, blobs)}
    s = effect.span
    return {
        "t": "span",
        "span": _drop_none(
            {
                "run_id": s.run_id,
                "step_id": s.step_id,
                "name": s.name,
                "op": s.op,
                "attempt": s.attempt,
                "started_ms": s.started_ms,
                "ended_ms": s.ended_ms,
                "status": s.status,
                "output": blobs.opt(s.output),
            }
        ),
    }
