"""How a run starts: flow-control keys evaluated once from its first event, then a NewRun
with the gates the store checks atomically (idempotency, rate limit, singleton)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inngestd import ids
from inngestd.domain.events import Event
from inngestd.domain.expressions import compile_expression
from inngestd.domain.functions import Function
from inngestd.domain.queue import ItemKind, Limit, QueueItem, ThrottleSpec
from inngestd.domain.runs import Pause, PauseKind, Run, RunFlow, RunStatus
from inngestd.flow.concurrency import concurrency_keys
from inngestd.flow.keys import INVALID_KEY, hashed_key, key_value
from inngestd.flow.priority import priority_factor_ms
from inngestd.store.base import NewRun, RateGate, SingletonGate

IDEMPOTENCY_MS = 24 * 3600 * 1000
CANCEL_DEFAULT_MS = 365 * 24 * 3600 * 1000


def evaluate(expr: str, event: Mapping[str, Any]) -> object:
    """A key or priority expression, with `event` bound to the run's first event."""
    return compile_expression(expr).evaluate({"event": event})


def _keyed(prefix: str, expr: str | None, event: Mapping[str, Any]) -> str | None:
    """The state key for a keyed limit; None when the key expression says `false`."""
    result = key_value(expr, event, evaluate)
    if result.kind == "false":
        return None
    if result.kind == "none":
        return prefix
    return hashed_key(prefix, result.value if result.kind == "value" else INVALID_KEY)


def run_flow(fn: Function, event: Mapping[str, Any]) -> RunFlow:
    cfg = fn.flow
    keys = concurrency_keys(fn.id, cfg.concurrency, event, evaluate=evaluate)
    run_limit = None
    if cfg.run_concurrency is not None and cfg.run_concurrency.limit > 0:
        rc = concurrency_keys(fn.id, [cfg.run_concurrency], event, evaluate=evaluate)
        run_limit = Limit(f"run:{rc[0].key}", rc[0].limit) if rc else None
    priority = 0
    if cfg.priority is not None:
        try:
            priority = priority_factor_ms(evaluate(cfg.priority.run, event))
        except Exception:  # a failing priority expression means no priority, as in Go
            priority = 0
    singleton = None
    if cfg.singleton is not None:
        singleton = _keyed(f"singleton:{fn.id}", cfg.singleton.key, event)
    return RunFlow(
        concurrency=tuple(Limit(k.key, k.limit) for k in keys),
        run_limit=run_limit,
        priority_ms=priority,
        finish_timeout_ms=cfg.timeouts.finish_ms if cfg.timeouts else None,
        singleton_key=singleton,
    )


def throttle_spec(fn: Function, event: Mapping[str, Any]) -> ThrottleSpec | None:
    t = fn.flow.throttle
    if t is None:
        return None
    key = _keyed(f"throttle:{fn.id}", t.key, event)
    if key is None:
        return None
    return ThrottleSpec(key, max(t.limit, 1), t.period_ms, t.burst)


def rate_gate(fn: Function, event: Mapping[str, Any]) -> RateGate | None:
    r = fn.flow.rate_limit
    if r is None:
        return None
    key = _keyed(f"ratelimit:{fn.id}", r.key, event)
    if key is None:
        return None
    reason = "Idempotency" if fn.flow.idempotency else "RateLimited"
    return RateGate(key, r.limit, r.period_ms, reason)


def new_run(
    fn: Function,
    events: list[Event],
    now: int,
    *,
    key: str | None = None,
    rate_limited: bool = True,
) -> NewRun:
    """A run of `fn` for `events` (the first is the trigger). `key` overrides the
    idempotency key (default: the event id); `rate_limited=False` skips the rate limit
    (debounce fires and reruns bypass it, as in Go)."""
    first = events[0]
    payload = first.payload
    run_id = ids.new_ulid(now)
    due = max(now, first.ts) if first.ts > now and len(events) == 1 else now
    flow = run_flow(fn, payload)
    run = Run(
        id=run_id,
        function_id=fn.id,
        app_id=fn.app_id,
        event_id=first.internal_id,
        status=RunStatus.QUEUED,
        created_ms=now,
        max_attempts=fn.max_attempts,
        flow=flow,
    )
    pauses = [
        Pause(
            id=f"{run_id}:cancel:{i}",
            run_id=run_id,
            step_id=f"cancel:{i}",
            kind=PauseKind.CANCEL,
            event_name=c.event,
            expires_ms=now + (c.timeout_ms or CANCEL_DEFAULT_MS),
            after_seq=first.seq,
            expression=c.if_expr,
            trigger=payload,
        )
        for i, c in enumerate(fn.cancel)
    ]
    item = QueueItem(
        id=f"{run_id}:start",
        run_id=run_id,
        function_id=fn.id,
        kind=ItemKind.CALL,
        due_ms=due,
        max_attempts=fn.max_attempts,
        concurrency=flow.concurrency,
        run_limit=flow.run_limit,
        throttle=throttle_spec(fn, payload),
        priority_ms=flow.priority_ms,
    )
    singleton = None
    if fn.flow.singleton is not None and flow.singleton_key is not None:
        singleton = SingletonGate(flow.singleton_key, fn.flow.singleton.mode)
    timeouts = fn.flow.timeouts
    return NewRun(
        run=run,
        events=events,
        first_item=item,
        idempotency_key=f"{fn.id}:{key or first.id}",
        idempotency_expires_ms=now + IDEMPOTENCY_MS,
        pauses=pauses,
        rate=rate_gate(fn, payload) if rate_limited else None,
        singleton=singleton,
        start_timeout_ms=timeouts.start_ms if timeouts else None,
    )


def debounce_key(fn: Function, event: Mapping[str, Any]) -> str:
    d = fn.flow.debounce
    assert d is not None
    return _keyed(f"debounce:{fn.id}", d.key, event) or hashed_key(
        f"debounce:{fn.id}", INVALID_KEY
    )


def batch_key(fn: Function, event: Mapping[str, Any]) -> str:
    b = fn.flow.batch
    assert b is not None
    return _keyed(f"batch:{fn.id}", b.key, event) or hashed_key(
        f"batch:{fn.id}", INVALID_KEY
    )


def batch_applies(fn: Function, event: Mapping[str, Any]) -> bool:
    """Events failing the batch's `if` run on their own, at once."""
    b = fn.flow.batch
    if b is None:
        return False
    if not b.if_expr:
        return True
    try:
        return compile_expression(b.if_expr).matches({"event": event})
    except Exception:
        return False
