"""The system events a run emits when it ends (function.finished, .failed, .cancelled)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from inngestd import ids
from inngestd.domain.events import (
    FUNCTION_CANCELLED,
    FUNCTION_FAILED,
    FUNCTION_FINISHED,
    FUNCTION_INVOKED,
    Event,
    make_event,
)
from inngestd.domain.runs import RunContext, RunStatus


def correlation_id(events: list[dict[str, Any]]) -> str | None:
    """The invoke correlation id when the run was started by `step.invoke`."""
    if not events:
        return None
    first = events[0]
    if first.get("name") != FUNCTION_INVOKED:
        return None
    meta = (first.get("data") or {}).get("_inngest") or {}
    cid = meta.get("correlation_id") if isinstance(meta, dict) else None
    return cid if isinstance(cid, str) else None


def standard_error(
    output: bytes | None, status: int | None, no_retry: bool
) -> dict[str, Any]:
    """Go's StandardError: the app's error plus an `error` summary line."""
    try:
        parsed = orjson.loads(output) if output else None
    except orjson.JSONDecodeError:
        parsed = None
    err: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    summary = (
        "NonRetriableError" if no_retry else f"invalid status code: {status or 500}"
    )
    return {
        "error": summary,
        "name": str(err.get("name") or "Error"),
        "message": str(err.get("message") or summary),
        "stack": err.get("stack"),
    }


def finish_events(
    ctx: RunContext,
    status: RunStatus,
    *,
    output: bytes | None,
    error: dict[str, Any] | None,
    now_ms: int,
    new_id: Callable[[], str],
) -> list[Event]:
    """`inngest/function.finished` always, plus `.failed` or `.cancelled`."""
    run = ctx.run
    data: dict[str, Any] = {
        "function_id": run.function_id,
        "run_id": run.id,
        "event": ctx.events[0] if ctx.events else {},
        "events": ctx.events,
        "_inngest": {"status": status.value},
    }
    cid = correlation_id(ctx.events)
    if cid is not None:
        data["correlation_id"] = cid
    if status is RunStatus.COMPLETED:
        data["result"] = orjson.Fragment(output or b"null")
    elif error is not None:
        data["error"] = error
    # Fragments must become plain values before the event is stored and matched on.
    data = orjson.loads(orjson.dumps(data))
    out = [make_event(new_id(), FUNCTION_FINISHED, data, now_ms)]
    if status is RunStatus.FAILED:
        out.append(make_event(new_id(), FUNCTION_FAILED, data, now_ms, user_id=run.id))
    elif status is RunStatus.CANCELLED:
        out.append(
            make_event(
                new_id(),
                FUNCTION_CANCELLED,
                data,
                now_ms,
                user_id=f"{run.id}-cancelled",
            )
        )
    return out


def cancellation_events(
    ctx: RunContext, message: str, now_ms: int, *, name: str = "Error"
) -> list[Event]:
    """The finish events of a run cancelled for `message` (API, cancelOn, singleton,
    timeout), with fresh ids."""
    error = {"error": "function cancelled", "name": name, "message": message}
    return finish_events(
        ctx,
        RunStatus.CANCELLED,
        output=None,
        error=error,
        now_ms=now_ms,
        new_id=lambda: ids.new_ulid(now_ms),
    )
