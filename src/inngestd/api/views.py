"""How runs, events and apps look in the REST API (v1 shapes of the Go server)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from inngestd.domain.events import Event
from inngestd.domain.functions import App, Function, triggers_to_json
from inngestd.domain.runs import Run, StepSpan
from inngestd.store.base import RunJob, RunRow

_V1_STATUS = {
    "QUEUED": "Queued",
    "RUNNING": "Running",
    "COMPLETED": "Completed",
    "FAILED": "Failed",
    "CANCELLED": "Cancelled",
    "SKIPPED": "Skipped",
}


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def json_value(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode(errors="replace")


def run_view(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "function_id": run.function_id,
        "app_id": run.app_id,
        "event_id": run.event_id,
        "status": _V1_STATUS[run.status.value],
        "output": json_value(run.output),
        "run_started_at": iso(run.started_ms or run.created_ms),
        "ended_at": iso(run.ended_ms),
        "reason": run.reason,
    }


def event_view(event: Event) -> dict[str, Any]:
    return {
        **event.payload,
        "internal_id": event.internal_id,
        "received_at": iso(event.received_ms),
    }


def span_view(span: StepSpan) -> dict[str, Any]:
    return {
        "step_id": span.step_id,
        "name": span.name,
        "op": span.op,
        "attempt": span.attempt,
        "status": span.status,
        "started_at": iso(span.started_ms),
        "ended_at": iso(span.ended_ms),
        "output": json_value(span.output),
    }


def function_view(fn: Function) -> dict[str, Any]:
    return {
        "id": fn.id,
        "slug": fn.id,
        "name": fn.name,
        "app_id": fn.app_id,
        "url": fn.url,
        "triggers": triggers_to_json(fn.triggers),
        "retries": fn.retries,
        "config": json_value(fn.config),
    }


def app_view(app: App) -> dict[str, Any]:
    return {
        "id": app.id,
        "name": app.id,
        "url": app.url,
        "sdk": app.sdk,
        "framework": app.framework,
        "synced_at": iso(app.synced_ms or None),
        "error": app.error,
        "functions": [function_view(f) for f in app.functions],
    }


def run_row_view(row: RunRow) -> dict[str, Any]:
    """A listed run: the v1 run plus the names a listing shows."""
    return {
        **run_view(row.run),
        "function_name": row.function_name,
        "event_name": row.event_name,
        "queued_at": iso(row.run.created_ms),
    }


def job_view(job: RunJob) -> dict[str, Any]:
    item = job.item
    return {
        "id": item.id,
        "run_id": item.run_id,
        "function_id": item.function_id,
        "kind": item.kind.value,
        "step_id": item.step_id,
        "attempt": item.attempt,
        "max_attempts": item.max_attempts,
        "due_at": iso(item.due_ms),
        "leased": job.leased,
    }
