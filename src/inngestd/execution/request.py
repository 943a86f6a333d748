"""The body and headers of one call to an app (protocol §3.1)."""

from __future__ import annotations

import os
import socket
from typing import Any

import orjson

from inngestd.domain.queue import DISCOVERY, QueueItem
from inngestd.domain.runs import RunContext

# Above this the SDK is told to fetch events and memos through the API (use_api).
MAX_REQUEST_BYTES = 4 * 1024 * 1024
REQUEST_VERSION = 2
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
# Whether calls offer the TS SDK async checkpointing (POST /v1/checkpoint/{run}/async).
CHECKPOINTING = True


def build_body(ctx: RunContext, item: QueueItem) -> bytes:
    body = _body(ctx, item, use_api=False)
    if len(body) > MAX_REQUEST_BYTES:
        body = _body(ctx, item, use_api=True)
    return body


def _body(ctx: RunContext, item: QueueItem, *, use_api: bool) -> bytes:
    run = ctx.run
    steps: dict[str, Any] = (
        {}
        if use_api
        else {sid: orjson.Fragment(memo) for sid, memo in ctx.steps.items()}
    )
    payload = {
        "event": ctx.events[0] if ctx.events else {},
        "events": [] if use_api else ctx.events,
        "steps": steps,
        "ctx": {
            "run_id": run.id,
            "attempt": item.attempt,
            "max_attempts": item.max_attempts,
            "disable_immediate_execution": run.disable_immediate,
            "use_api": use_api,
            "stack": {"stack": ctx.stack, "current": len(ctx.stack)},
            "env": "dev",
            "step_id": item.step_id or DISCOVERY,
            # A non-empty fn_id tells the TS SDK that this server serves the checkpoint
            # API (api/checkpoint.py): it then runs steps back to back in one call.
            "fn_id": run.function_id if CHECKPOINTING else "",
            "qi_id": item.id,
        },
        "version": REQUEST_VERSION if run.request_version < 0 else run.request_version,
        "use_api": use_api,
    }
    return orjson.dumps(payload)


def build_headers(ctx: RunContext, item: QueueItem) -> dict[str, str]:
    version = (
        REQUEST_VERSION if ctx.run.request_version < 0 else ctx.run.request_version
    )
    return {
        "X-Inngest-Req-Version": str(version),
        "X-Run-ID": ctx.run.id,
        "X-Inngest-Step-ID": item.step_id or DISCOVERY,
        "X-Inngest-Server-Kind": "dev",
        "x-inngest-job-id": item.id,
        # Which inngestd process made the call (several may share one store).
        "x-inngestd-worker": WORKER_ID,
    }
