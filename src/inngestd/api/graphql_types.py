"""GraphQL object shapes built from domain objects (never from store rows), and the
run trace: one span per step, its retries as children, the run as the root."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from inngestd.api.views import iso
from inngestd.domain.events import Event
from inngestd.domain.functions import App, Function
from inngestd.domain.runs import Run, RunStatus
from inngestd.store.base import RunRow, RunTrace, TraceSpan

ROOT_OUTPUT_PREFIX = "run:"

# Spans recorded when a step starts waiting; they end when the step's memo is saved.
_WAITING = frozenset({"SLEEPING", "WAITING", "INVOKING"})
_STEP_OPS = {
    "Sleep": "SLEEP",
    "WaitForEvent": "WAIT_FOR_EVENT",
    "InvokeFunction": "INVOKE",
    "AIGateway": "AI_GATEWAY",
    "WaitForSignal": "WAIT_FOR_SIGNAL",
}


# -- scalars ----------------------------------------------------------------------------------
def serialize_bytes(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode(errors="replace")
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def serialize_time(value: Any) -> str | None:
    if isinstance(value, int):
        return iso(value)
    return str(value)


def parse_time(value: Any) -> int:
    if isinstance(value, int):
        return value
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"invalid Time {value!r}: use RFC 3339") from None
    if when.tzinfo is None:
        raise ValueError(f"invalid Time {value!r}: the time zone is missing")
    return int(when.timestamp() * 1000)


def function_obj(fn: Function) -> dict[str, Any]:
    triggers = [
        {"type": "EVENT", "value": t.event, "condition": t.expression}
        if t.event is not None
        else {"type": "CRON", "value": t.cron or "", "condition": None}
        for t in fn.triggers
    ]
    return {
        "id": fn.id,
        "name": fn.name,
        "slug": fn.id,
        "config": fn.config.decode(),
        "concurrency": 0,
        "triggers": triggers,
        "url": fn.url,
        "appID": fn.app_id,
        "_fn": fn,
    }


def app_obj(app: App) -> dict[str, Any]:
    language, _, version = app.sdk.partition(":")
    return {
        "id": app.id,
        "externalID": app.id,
        "name": app.id,
        "sdkLanguage": language,
        "sdkVersion": version,
        "framework": app.framework or None,
        "url": app.url,
        "checksum": app.checksum or None,
        "error": app.error,
        "functions": [function_obj(f) for f in app.functions],
        "method": "SERVE",
        "appVersion": None,
        "connected": False,
        "functionCount": len(app.functions),
        "autodiscovered": False,
    }


def run_v2(row: RunRow) -> dict[str, Any]:
    run = row.run
    return {
        "id": run.id,
        "appID": run.app_id,
        "functionID": run.function_id,
        "traceID": run.id,
        "queuedAt": run.created_ms,
        "startedAt": run.started_ms,
        "endedAt": run.ended_ms,
        "status": run.status.value,
        "sourceID": None,
        "triggerIDs": [run.event_id],
        "eventName": row.event_name,
        "isBatch": False,
        "batchCreatedAt": None,
        "cronSchedule": None,
        "output": run.output,
        "hasAI": False,
        "isDeferred": False,
        "_run": run,
    }


def run_v1(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "functionID": run.function_id,
        "workspace": {"id": "local"},
        "status": run.status.value,
        "startedAt": run.started_ms,
        "finishedAt": run.ended_ms,
        "output": run.output.decode() if run.output is not None else None,
        "eventID": run.event_id,
        "cron": None,
        "_run": run,
    }


def event_v1(event: Event, runs: list[Run]) -> dict[str, Any]:
    ended = [r for r in runs if r.status.is_ended]
    failed = [r for r in runs if r.status is RunStatus.FAILED]
    if not runs:
        status = "NO_FUNCTIONS"
    elif len(ended) < len(runs):
        status = "RUNNING"
    elif len(failed) == len(runs):
        status = "FAILED"
    else:
        status = "PARTIALLY_FAILED" if failed else "COMPLETED"
    return {
        "id": event.internal_id,
        "externalID": event.payload.get("id"),
        "workspace": {"id": "local"},
        "name": event.name,
        "createdAt": event.received_ms,
        "payload": orjson.dumps(event.data).decode(),
        "schema": None,
        "status": status,
        "pendingRuns": len(runs) - len(ended),
        "totalRuns": len(runs),
        "raw": event.to_json().decode(),
        "functionRuns": [run_v1(r) for r in runs],
    }


def event_v2(event: Event) -> dict[str, Any]:
    version = event.payload.get("v")
    return {
        "envID": "local",
        "id": event.internal_id,
        "idempotencyKey": event.payload.get("id"),
        "name": event.name,
        "occurredAt": event.ts,
        "raw": event.to_json().decode(),
        "receivedAt": event.received_ms,
        "source": None,
        "version": version if isinstance(version, str) else None,
    }


def trigger_obj(trace: RunTrace) -> dict[str, Any]:
    events = trace.events
    first = events[0] if events else {}
    ts = first.get("ts")
    return {
        "eventName": first.get("name"),
        "IDs": [trace.run.run.event_id],
        "payloads": [orjson.dumps(e) for e in events],
        "timestamp": ts if isinstance(ts, int) else trace.run.run.created_ms,
        "isBatch": len(events) > 1,
        "batchID": None,
        "cron": None,
    }


# -- trace --------------------------------------------------------------------------------------
def _span_status(span: TraceSpan, run: Run, last: bool) -> str:
    if span.status in _WAITING:
        if span.step_done:
            return "COMPLETED"
        return "WAITING" if not run.status.is_ended else "CANCELLED"
    if span.status == "ERRORED":
        # A failed attempt; the step is being retried while the run is active.
        return "RUNNING" if last and not run.status.is_ended else "FAILED"
    if span.status in ("COMPLETED", "FAILED"):
        return span.status
    return "RUNNING"


def _base(run: Run, span_id: str) -> dict[str, Any]:
    return {
        "appID": run.app_id,
        "functionID": run.function_id,
        "runID": run.id,
        "spanID": span_id,
        "traceID": run.id,
        "groupID": None,
        "scheduledAt": None,
        "stepInfo": None,
        "isUserland": False,
        "debugPaused": False,
        "skipReason": None,
        "skipExistingRunID": None,
    }


def _attempt_span(run: Run, span: TraceSpan, parent: str, last: bool) -> dict[str, Any]:
    status = _span_status(span, run, last)
    ended = span.ended_ms if status not in ("WAITING", "RUNNING") else None
    return {
        **_base(run, f"{run.id}:{span.output_id}"),
        "name": span.name,
        "status": status,
        "attempts": span.attempt + 1,
        "duration": ended - span.started_ms if ended is not None else None,
        "outputID": span.output_id,
        "queuedAt": span.started_ms,
        "startedAt": span.started_ms,
        "endedAt": ended,
        "childrenSpans": [],
        "stepOp": _STEP_OPS.get(span.op, "RUN"),
        "stepID": span.step_id,
        "stepType": span.op,
        "isRoot": False,
        "parentSpanID": parent,
    }


def _step_span(
    run: Run, attempts: list[TraceSpan], next_start: int | None
) -> dict[str, Any]:
    root = f"{run.id}:root"
    first, last = attempts[0], attempts[-1]
    waited = first.status in _WAITING
    span = _attempt_span(run, last, root, True)
    ended = span["endedAt"]
    if waited:
        # A sleep, wait or invoke: later spans of the step record how it ended, they
        # are not attempts. Its memo was saved when the wait ended.
        if last is first and span["status"] == "COMPLETED":
            ended = next_start or run.ended_ms or last.ended_ms
        span.update(
            name=first.name, stepOp=_STEP_OPS.get(first.op, "RUN"), stepType=first.op
        )
    span.update(
        spanID=f"{run.id}:{last.step_id}",
        attempts=1 if waited else len(attempts),
        queuedAt=first.started_ms,
        startedAt=first.started_ms,
        endedAt=ended,
        duration=ended - first.started_ms if ended is not None else None,
        groupID=last.step_id,
        stepInfo={"__typename": "RunStepInfo", "type": "step"}
        if span["stepOp"] == "RUN"
        else None,
    )
    if len(attempts) > 1 and not waited:
        span["childrenSpans"] = [
            _attempt_span(run, a, span["spanID"], a is last) for a in attempts
        ]
    return span


def build_trace(trace: RunTrace) -> dict[str, Any]:
    """The root span of a run: its steps in the order they were first recorded."""
    run = trace.run.run
    groups: dict[str, list[TraceSpan]] = {}
    for span in trace.spans:
        groups.setdefault(span.step_id, []).append(span)
    position = {span.output_id: i for i, span in enumerate(trace.spans)}
    children = []
    for attempts in groups.values():
        last = attempts[-1]
        following = (
            s.started_ms
            for s in trace.spans[position[last.output_id] + 1 :]
            if s.step_id != last.step_id
        )
        children.append(_step_span(run, attempts, next(following, None)))
    ended = run.ended_ms if run.status.is_ended else None
    return {
        **_base(run, f"{run.id}:root"),
        "name": trace.run.function_name or run.function_id,
        "status": run.status.value,
        "attempts": None,
        "duration": ended - (run.started_ms or run.created_ms)
        if ended is not None
        else None,
        "outputID": f"{ROOT_OUTPUT_PREFIX}{run.id}" if run.status.is_ended else None,
        "queuedAt": run.created_ms,
        "startedAt": run.started_ms,
        "endedAt": ended,
        "childrenSpans": children,
        "stepOp": None,
        "stepID": None,
        "stepType": "",
        "isRoot": True,
        "parentSpanID": None,
        "skipReason": run.reason if run.status is RunStatus.SKIPPED else None,
    }


def _error_obj(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {"message": str(raw), "name": None, "stack": None, "cause": None}
    stack = raw.get("stack")
    name = raw.get("name")
    return {
        "message": str(raw.get("message") or raw.get("error") or ""),
        "name": str(name) if name is not None else None,
        "stack": str(stack) if stack is not None else None,
        "cause": raw.get("cause"),
    }


def step_output(memo: bytes | None) -> dict[str, Any]:
    """A memo as RunTraceSpanOutput: `{"data": x}` gives data, `{"error": e}` an error."""
    out: dict[str, Any] = {"input": None, "data": None, "error": None}
    if memo is None:
        return out
    try:
        parsed = orjson.loads(memo)
    except orjson.JSONDecodeError:
        out["data"] = memo
        return out
    if isinstance(parsed, dict) and set(parsed) <= {"data", "error"} and parsed:
        if parsed.get("error") is not None:
            out["error"] = _error_obj(parsed["error"])
        else:
            out["data"] = orjson.dumps(parsed.get("data"))
        return out
    out["data"] = memo
    return out


def run_output(run: Run) -> dict[str, Any]:
    """The root span's output: the return value, or the error a failed run ended with."""
    out: dict[str, Any] = {"input": None, "data": None, "error": None}
    if run.status is RunStatus.FAILED and run.output is not None:
        try:
            out["error"] = _error_obj(orjson.loads(run.output))
        except orjson.JSONDecodeError:
            out["error"] = _error_obj(run.output.decode(errors="replace"))
    else:
        out["data"] = run.output
    return out
