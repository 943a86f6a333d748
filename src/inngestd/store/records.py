"""Pure (de)serialisation shared by every backend: rows of runs, events and functions,
and the run-listing cursor. No I/O; a "row" is anything indexable by position (an
`sqlite3` tuple, an `asyncpg.Record`)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import orjson

from inngestd import errors, ids
from inngestd.domain.events import Event
from inngestd.domain.flow_config import from_json as flow_from_json
from inngestd.domain.flow_config import to_json as flow_to_json
from inngestd.domain.functions import (
    App,
    Function,
    SyncResult,
    cancel_from_json,
    cancel_to_json,
    triggers_from_json,
    triggers_to_json,
)
from inngestd.domain.runs import Run, RunFlow, RunStatus, StepSpan

# The columns `run_from_row` reads, in this order.
RUN_COLUMNS = (
    "id",
    "function_id",
    "app_id",
    "event_id",
    "status",
    "created_ms",
    "started_ms",
    "ended_ms",
    "output",
    "request_version",
    "disable_immediate",
    "reason",
    "max_attempts",
    "flow",
)

# The columns `function_from_row` reads, in this order.
FUNCTION_COLUMNS = "id, app_id, name, url, retries, config"

# The columns `event_from_row` reads, in this order.
EVENT_COLUMNS = "seq, internal_id, name, user_id, received_ms, payload"

# The columns `span_from_row` reads, in this order (the `spans` table of both backends).
SPAN_COLUMNS = (
    "run_id, step_id, name, op, attempt, started_ms, ended_ms, status, output"
)


def span_from_row(r: Any) -> StepSpan:
    """A StepSpan from a row of SPAN_COLUMNS."""
    return StepSpan(
        run_id=str(r[0]),
        step_id=str(r[1]),
        name=str(r[2]),
        op=str(r[3]),
        attempt=int(r[4]),
        started_ms=int(r[5]),
        ended_ms=int(r[6]),
        status=str(r[7]),
        output=None if r[8] is None else bytes(r[8]),
    )


def run_from_row(row: Any) -> Run:
    """A Run from a row whose first columns are RUN_COLUMNS."""
    return Run(
        id=str(row[0]),
        function_id=str(row[1]),
        app_id=str(row[2]),
        event_id=str(row[3]),
        status=RunStatus(row[4]),
        created_ms=int(row[5]),
        started_ms=row[6],
        ended_ms=row[7],
        output=None if row[8] is None else bytes(row[8]),
        request_version=int(row[9]),
        disable_immediate=bool(row[10]),
        reason=row[11],
        max_attempts=int(row[12]),
        flow=RunFlow.from_json(orjson.loads(row[13]) if row[13] else None),
    )


def flow_record(run: Run) -> bytes:
    """What the `flow` column of a run holds."""
    return orjson.dumps(run.flow.to_json())


def event_from_row(row: Any) -> Event:
    """An Event from a row whose columns are EVENT_COLUMNS."""
    seq, internal_id, name, user_id, received_ms, payload = row
    return Event(
        internal_id=str(internal_id),
        name=str(name),
        payload=orjson.loads(payload),
        received_ms=int(received_ms),
        user_id=user_id if isinstance(user_id, str) else None,
        seq=int(seq),
    )


def function_from_row(row: Any) -> Function:
    """A Function from a row whose columns are FUNCTION_COLUMNS."""
    fid, app_id, name, url, retries, config = row
    cfg = orjson.loads(config)
    return Function(
        id=str(fid),
        app_id=str(app_id),
        name=str(name),
        url=str(url),
        triggers=triggers_from_json(cfg["triggers"]),
        retries=int(retries),
        cancel=cancel_from_json(cfg.get("cancel", [])),
        config=orjson.dumps(cfg.get("raw", {})),
        flow=flow_from_json(cfg.get("flow") or {}),
    )


def config_record(fn: Function) -> bytes:
    """What the `config` column of a function holds (everything but the plain columns)."""
    return orjson.dumps(
        {
            "triggers": triggers_to_json(fn.triggers),
            "cancel": cancel_to_json(fn.cancel),
            "flow": flow_to_json(fn.flow),
            "raw": orjson.Fragment(fn.config),
        }
    )


def encode_cursor(created_ms: int, run_id: str) -> str:
    """The keyset cursor of run listings: continue after `(created_ms, run_id)`."""
    raw = orjson.dumps([created_ms, run_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Raises errors.InvalidInput for anything `encode_cursor` did not produce."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, run_id = orjson.loads(raw)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        raise errors.InvalidInput(f"invalid cursor {cursor!r}") from None
    if not isinstance(created, int) or not isinstance(run_id, str):
        raise errors.InvalidInput(f"invalid cursor {cursor!r}")
    return created, run_id


def function_rows(
    app: App, functions: Sequence[Function], now_ms: int
) -> list[tuple[str, str, str, str, int, bytes, int]]:
    """The function rows one sync writes: id, app, name, url, retries, config, time."""
    return [
        (fn.id, app.id, fn.name, fn.url, fn.retries, config_record(fn), now_ms)
        for fn in functions
    ]


def sync_result(
    app: App, functions: Sequence[Function], modified: bool, now_ms: int
) -> SyncResult:
    synced = App(
        app.id,
        app.url,
        app.sdk,
        app.framework,
        app.checksum,
        now_ms,
        None,
        tuple(functions),
    )
    return SyncResult(synced, modified, ids.new_ulid(now_ms))
