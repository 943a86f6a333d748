"""SQLite RunState: runs, memoised steps, pauses, and the effects of each SDK reply."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import orjson

from inngestd.domain import effects as fx
from inngestd.domain.finish import cancellation_events
from inngestd.domain.queue import ItemKind, Lease, QueueItem
from inngestd.domain.runs import (
    Pause,
    PauseKind,
    Run,
    RunContext,
    RunStatus,
    StepSpan,
)
from inngestd.store.base import (
    ApplyResult,
    Cancel,
    Fire,
    NewRun,
    PendingStart,
    SchedulePlan,
)
from inngestd.store.records import (
    RUN_COLUMNS,
    flow_record,
    run_from_row,
)
from inngestd.store.sqlite import flow_tx
from inngestd.store.sqlite.db import Database
from inngestd.store.sqlite.events import insert_events
from inngestd.store.sqlite.history import (
    select_runs_for_event,
    select_spans,
    select_step_memos,
)
from inngestd.store.sqlite.queue import (
    held_keys,
    insert_item,
    mark_started,
    release_keys,
)

_RUN_COLS = ", ".join(RUN_COLUMNS)
_PAUSE_COLS = (
    "id, run_id, step_id, kind, event_name, expires_ms, after_seq, expression, correlation_id,"
    " trigger, timeout_memo"
)
_ENDED = tuple(s.value for s in RunStatus if s.is_ended)


def _pause(row: Any) -> Pause:
    trigger = row[9]
    return Pause(
        id=str(row[0]),
        run_id=str(row[1]),
        step_id=str(row[2]),
        kind=PauseKind(row[3]),
        event_name=str(row[4]),
        expires_ms=int(row[5]),
        after_seq=int(row[6]),
        expression=row[7],
        correlation_id=row[8],
        trigger=orjson.loads(trigger) if isinstance(trigger, bytes) else None,
        timeout_memo=row[10],
    )


def _get_run(conn: sqlite3.Connection, run_id: str) -> Run | None:
    row = conn.execute(
        f"SELECT {_RUN_COLS} FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    return run_from_row(row) if row else None


def call_item(
    run: Run, item_id: str, due_ms: int, step_id: str | None = None
) -> QueueItem:
    """A call for `run`, carrying the run's concurrency keys and priority."""
    return QueueItem(
        id=item_id,
        run_id=run.id,
        function_id=run.function_id,
        kind=ItemKind.CALL,
        due_ms=due_ms,
        step_id=step_id,
        max_attempts=run.max_attempts,
        concurrency=run.flow.concurrency,
        priority_ms=run.flow.priority_ms,
    )


def _discovery(run: Run, key: str, now_ms: int) -> QueueItem:
    return call_item(run, f"{run.id}:d:{key}", now_ms)


def _save_step(
    conn: sqlite3.Connection,
    run: Run,
    step_id: str,
    memo: bytes,
    now_ms: int,
    *,
    discover: bool = True,
) -> None:
    """Write-once memo, stack push, pending drain, and the discovery that follows
    (`discover=False`: memo and stack only, for checkpointed steps)."""
    inserted = conn.execute(
        "INSERT INTO steps (run_id, step_id, position, memo)"
        " SELECT ?, ?, stack_len, ? FROM runs WHERE id = ? ON CONFLICT DO NOTHING",
        (run.id, step_id, memo, run.id),
    ).rowcount
    if inserted:
        conn.execute(
            "UPDATE runs SET stack_len = stack_len + 1 WHERE id = ?", (run.id,)
        )
    if not discover:
        return
    pending = conn.execute(
        "DELETE FROM pending WHERE run_id = ? AND step_id = ? RETURNING race",
        (run.id, step_id),
    ).fetchone()
    if not inserted and pending is None:
        return  # a replayed save: its discovery was enqueued with the first one
    remaining = conn.execute(
        "SELECT COUNT(*) FROM pending WHERE run_id = ?", (run.id,)
    ).fetchone()[0]
    if remaining == 0:
        conn.execute("UPDATE runs SET disable_immediate = 0 WHERE id = ?", (run.id,))
    if remaining == 0 or (pending is not None and pending[0]):
        insert_item(conn, _discovery(run, step_id, now_ms), now_ms)


def _last_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
    ).fetchone()
    return int(row[0]) if row else 0


def _insert_pause(
    conn: sqlite3.Connection, run: Run, pause: Pause, after_seq: int
) -> None:
    cur = conn.execute(
        f"INSERT INTO pauses ({_PAUSE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            pause.id,
            pause.run_id,
            pause.step_id,
            pause.kind.value,
            pause.event_name,
            pause.expires_ms,
            after_seq,
            pause.expression,
            pause.correlation_id,
            orjson.dumps(pause.trigger) if pause.trigger is not None else None,
            pause.timeout_memo,
        ),
    )
    if cur.rowcount:
        insert_item(
            conn,
            QueueItem(
                id=f"{pause.id}:t",
                run_id=run.id,
                function_id=run.function_id,
                kind=ItemKind.PAUSE_TIMEOUT,
                due_ms=pause.expires_ms,
                pause_id=pause.id,
                max_attempts=run.max_attempts,
            ),
        )


def _take_pause(conn: sqlite3.Connection, pause_id: str) -> Pause | None:
    row = conn.execute(
        f"DELETE FROM pauses WHERE id = ? RETURNING {_PAUSE_COLS}", (pause_id,)
    ).fetchone()
    if row is None:
        return None
    conn.execute("DELETE FROM queue WHERE id = ?", (f"{pause_id}:t",))
    return _pause(row)


def _finish(
    conn: sqlite3.Connection,
    run: Run,
    status: RunStatus,
    output: bytes | None,
    reason: str | None,
    now_ms: int,
) -> None:
    conn.execute(
        "UPDATE runs SET status = ?, output = ?, reason = ?, ended_ms = ?,"
        " started_ms = COALESCE(started_ms, ?) WHERE id = ?",
        (status.value, output, reason, now_ms, now_ms, run.id),
    )
    conn.execute("DELETE FROM queue WHERE run_id = ?", (run.id,))
    conn.execute("DELETE FROM pauses WHERE run_id = ?", (run.id,))
    conn.execute("DELETE FROM pending WHERE run_id = ?", (run.id,))
    conn.execute("DELETE FROM singletons WHERE run_id = ?", (run.id,))
    keys = [lim.key for lim in run.flow.concurrency]
    keys += [
        r[0]
        for r in conn.execute(
            "DELETE FROM slots WHERE run_id = ? RETURNING key", (run.id,)
        )
    ]
    release_keys(conn, keys)


def _cancel(conn: sqlite3.Connection, cancel: Cancel, now_ms: int) -> Run | None:
    run = _get_run(conn, cancel.run_id)
    if run is None or run.status.is_ended:
        return None
    _finish(conn, run, RunStatus.CANCELLED, None, cancel.reason, now_ms)
    insert_events(conn, cancel.events)
    return _get_run(conn, run.id)


def _create_run(conn: sqlite3.Connection, new: NewRun, now_ms: int) -> Run | None:
    """Create the run unless a gate stops it; a rate-limited or singleton-skipped run is
    stored as SKIPPED so users can see why nothing ran."""
    row = conn.execute(
        "SELECT expires_ms FROM idempotency WHERE key = ?", (new.idempotency_key,)
    ).fetchone()
    if row is not None and row[0] > now_ms:
        return None
    conn.execute(
        "INSERT OR REPLACE INTO idempotency (key, run_id, expires_ms) VALUES (?, ?, ?)",
        (new.idempotency_key, new.run.id, new.idempotency_expires_ms),
    )
    run = new.run
    skip = flow_tx.rate_limited(conn, new.rate, now_ms)
    if skip is None and new.singleton is not None:
        skip = flow_tx.claim_singleton(
            conn, new.singleton, run.id, now_ms, _cancel_for_singleton
        )
    _insert_run(conn, new, RunStatus.SKIPPED if skip else run.status, skip, now_ms)
    if skip:
        return replace(run, status=RunStatus.SKIPPED, reason=skip, ended_ms=now_ms)
    for step_id, memo in new.steps:
        _save_step(conn, run, step_id, memo, now_ms, discover=False)
    insert_item(conn, new.first_item, now_ms)
    for pause in new.pauses:
        _insert_pause(conn, run, pause, pause.after_seq)
    if new.start_timeout_ms:
        insert_item(
            conn,
            QueueItem(
                id=f"{run.id}:timeout:start",
                run_id=run.id,
                function_id=run.function_id,
                kind=ItemKind.TIMEOUT,
                due_ms=max(now_ms, new.first_item.due_ms) + new.start_timeout_ms,
                ref="start",
            ),
        )
    return run


def _insert_run(
    conn: sqlite3.Connection,
    new: NewRun,
    status: RunStatus,
    reason: str | None,
    now_ms: int,
) -> None:
    run = new.run
    conn.execute(
        "INSERT INTO runs (id, function_id, app_id, event_id, events, status, created_ms,"
        " max_attempts, flow, reason, ended_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run.id,
            run.function_id,
            run.app_id,
            run.event_id,
            orjson.dumps([e.payload for e in new.events]),
            status.value,
            run.created_ms,
            run.max_attempts,
            flow_record(run),
            reason,
            now_ms if status.is_ended else None,
        ),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO run_events (event_id, run_id) VALUES (?, ?)",
        [(e.internal_id, run.id) for e in new.events],
    )


def _load_ctx(conn: sqlite3.Connection, run_id: str) -> RunContext | None:
    row = conn.execute(
        f"SELECT {_RUN_COLS}, events FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    if row is None:
        return None
    memos = select_step_memos(conn, run_id)
    steps = dict(memos)
    stack = [step_id for step_id, _ in memos]
    pending = frozenset(
        r[0]
        for r in conn.execute("SELECT step_id FROM pending WHERE run_id = ?", (run_id,))
    )
    return RunContext(run_from_row(row), orjson.loads(row[-1]), steps, stack, pending)


def _cancel_for_singleton(conn: sqlite3.Connection, run_id: str, now_ms: int) -> None:
    """Singleton `cancel` mode: end the active run as the Go server does, with its events."""
    ctx = _load_ctx(conn, run_id)
    if ctx is None or ctx.run.status.is_ended:
        return
    events = cancellation_events(ctx, "cancelled by a newer singleton run", now_ms)
    _cancel(conn, Cancel(run_id, events, "Singleton"), now_ms)


def _resume(conn: sqlite3.Connection, pause_id: str, memo: bytes, now_ms: int) -> None:
    pause = _take_pause(conn, pause_id)
    if pause is None:
        return
    run = _get_run(conn, pause.run_id)
    if run is None or run.status.is_ended:
        return
    _save_step(conn, run, pause.step_id, memo, now_ms)


def _mark_started(conn: sqlite3.Connection, run: Run, now_ms: int) -> None:
    if run.status is RunStatus.QUEUED:
        mark_started(conn, run.id, run.function_id, now_ms)


def _apply_effects(
    conn: sqlite3.Connection,
    run: Run,
    item: QueueItem,
    effects: Sequence[fx.Effect],
    now_ms: int,
) -> RunStatus:
    """Apply each effect in order; returns the run's status afterwards."""
    status = RunStatus.RUNNING
    for effect in effects:
        if isinstance(effect, fx.Retry):
            conn.execute(
                "UPDATE queue SET attempt = attempt + 1, due_ms = ?, available_ms = ?,"
                " lease_token = NULL WHERE id = ?",
                (effect.due_ms, effect.due_ms, item.id),
            )
        elif isinstance(effect, fx.Finish):
            _finish(conn, run, effect.status, effect.output, effect.reason, now_ms)
            status = effect.status
        else:
            SQLiteRunState.apply_one(conn, run, item, effect, now_ms)
    return status


class SQLiteRunState:
    def __init__(self, db: Database, notify: Callable[[str], None]) -> None:
        self._db = db
        self._notify = notify

    async def schedule(self, plans: Sequence[SchedulePlan], now_ms: int) -> list[Run]:
        def tx(conn: sqlite3.Connection) -> list[Run]:
            created: list[Run] = []
            for plan in plans:
                for new in plan.new_runs:
                    run = _create_run(conn, new, now_ms)
                    if run is not None:
                        created.append(run)
                for resume in plan.resumes:
                    _resume(conn, resume.pause_id, resume.memo, now_ms)
                for cancel in plan.cancels:
                    _cancel(conn, cancel, now_ms)
                for d in plan.debounces:
                    flow_tx.debounce_event(conn, d, now_ms)
                for b in plan.batches:
                    flow_tx.batch_event(conn, b, now_ms)
                conn.execute(
                    "UPDATE events SET scheduled = 1 WHERE internal_id = ?",
                    (plan.event.internal_id,),
                )
            return created

        created = await self._db.write(tx)
        self._notify("queue")
        if any(plan.cancels for plan in plans):
            self._notify("events")
        return created

    async def load(self, run_id: str) -> RunContext | None:
        return await self._db.read(lambda conn: _load_ctx(conn, run_id))

    async def apply(
        self,
        lease: Lease,
        effects: Sequence[fx.Effect],
        now_ms: int,
        *,
        ack: bool = True,
    ) -> ApplyResult:
        item = lease.item

        def tx(conn: sqlite3.Connection) -> ApplyResult:
            held = conn.execute(
                "SELECT lease_token FROM queue WHERE id = ?", (item.id,)
            ).fetchone()
            if held is None or held[0] != lease.token:
                return ApplyResult(False)
            run = _get_run(conn, item.run_id)
            if run is None or run.status.is_ended:
                conn.execute("DELETE FROM queue WHERE id = ?", (item.id,))
                release_keys(conn, held_keys(item))
                return ApplyResult(False, run.status if run else None)
            _mark_started(conn, run, now_ms)
            retried = any(isinstance(e, fx.Retry) for e in effects)
            status = _apply_effects(conn, run, item, effects, now_ms)
            if ack and not retried:
                conn.execute("DELETE FROM queue WHERE id = ?", (item.id,))
            release_keys(conn, held_keys(item))
            return ApplyResult(True, status)

        result = await self._db.write(tx)
        self._notify("queue")
        if any(isinstance(e, fx.Emit) for e in effects):
            self._notify("events")
        return result

    async def apply_run(
        self, run_id: str, effects: Sequence[fx.Effect], now_ms: int
    ) -> ApplyResult:
        def tx(conn: sqlite3.Connection) -> ApplyResult:
            run = _get_run(conn, run_id)
            if run is None or run.status.is_ended:
                return ApplyResult(False, run.status if run else None)
            _mark_started(conn, run, now_ms)
            item = QueueItem(
                f"{run.id}:checkpoint", run.id, run.function_id, ItemKind.CALL, now_ms
            )
            status = _apply_effects(conn, run, item, effects, now_ms)
            return ApplyResult(True, status)

        result = await self._db.write(tx)
        self._notify("queue")
        if any(isinstance(e, fx.Emit) for e in effects):
            self._notify("events")
        return result

    @staticmethod
    def apply_one(
        conn: sqlite3.Connection,
        run: Run,
        item: QueueItem,
        effect: fx.Effect,
        now_ms: int,
    ) -> None:
        if isinstance(effect, fx.SaveStep):
            _save_step(
                conn,
                run,
                effect.step_id,
                effect.memo,
                now_ms,
                discover=effect.discover,
            )
        elif isinstance(effect, fx.MarkParallel):
            conn.executemany(
                "INSERT OR IGNORE INTO pending (run_id, step_id, race) VALUES (?, ?, ?)",
                [(run.id, sid, int(effect.race)) for sid in effect.step_ids],
            )
            conn.execute(
                "UPDATE runs SET disable_immediate = 1 WHERE id = ?", (run.id,)
            )
        elif isinstance(effect, fx.PlanStep):
            done = conn.execute(
                "SELECT 1 FROM steps WHERE run_id = ? AND step_id = ?",
                (run.id, effect.step_id),
            ).fetchone()
            if done is None:
                item_id = f"{run.id}:p:{effect.step_id}"
                insert_item(
                    conn, call_item(run, item_id, now_ms, effect.step_id), now_ms
                )
        elif isinstance(effect, fx.SleepUntil):
            insert_item(
                conn,
                QueueItem(
                    id=f"{run.id}:s:{effect.step_id}",
                    run_id=run.id,
                    function_id=run.function_id,
                    kind=ItemKind.SLEEP,
                    due_ms=max(effect.until_ms, now_ms),
                    step_id=effect.step_id,
                    max_attempts=run.max_attempts,
                ),
            )
        elif isinstance(effect, fx.CreatePause):
            _insert_pause(conn, run, effect.pause, _last_seq(conn))
        elif isinstance(effect, fx.ExpirePause):
            pause = _take_pause(conn, effect.pause_id)
            if pause is not None and pause.kind is not PauseKind.CANCEL:
                _save_step(
                    conn, run, pause.step_id, pause.timeout_memo or b"null", now_ms
                )
        elif isinstance(effect, fx.Discover):
            insert_item(conn, _discovery(run, effect.key, now_ms), now_ms)
        elif isinstance(effect, fx.SetRequestVersion):
            conn.execute(
                "UPDATE runs SET request_version = ? WHERE id = ?",
                (effect.version, run.id),
            )
        elif isinstance(effect, fx.Emit):
            insert_events(conn, [effect.event])
        elif isinstance(effect, fx.RecordSpan):
            s = effect.span
            conn.execute(
                "INSERT INTO spans (run_id, step_id, name, op, attempt, started_ms, ended_ms, status, output)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    s.run_id,
                    s.step_id,
                    s.name,
                    s.op,
                    s.attempt,
                    s.started_ms,
                    s.ended_ms,
                    s.status,
                    s.output,
                ),
            )

    async def pending_start(self, kind: str, key: str) -> PendingStart | None:
        return await self._db.read(lambda conn: flow_tx.pending_start(conn, kind, key))

    async def fire(self, lease: Lease, fire: Fire, now_ms: int) -> bool:
        item = lease.item

        def tx(conn: sqlite3.Connection) -> bool:
            held = conn.execute(
                "SELECT lease_token FROM queue WHERE id = ?", (item.id,)
            ).fetchone()
            if held is None or held[0] != lease.token:
                return False
            if fire.consumes is not None and not flow_tx.consume(
                conn, fire.kind, fire.consumes
            ):
                # Changed since it was read: look again right away (or at its new time).
                conn.execute(
                    "UPDATE queue SET available_ms = MAX(due_ms, ?), lease_token = NULL WHERE id = ?",
                    (now_ms, item.id),
                )
                return False
            conn.execute("DELETE FROM queue WHERE id = ?", (item.id,))
            insert_events(conn, fire.events)
            if fire.new_run is not None:
                _create_run(conn, fire.new_run, now_ms)
            for nxt in fire.next_items:
                insert_item(conn, nxt, now_ms)
            return True

        fired = await self._db.write(tx)
        self._notify("queue")
        if fire.events:
            self._notify("events")
        return fired

    async def sync_crons(self, items: Sequence[QueueItem]) -> None:
        await self._db.write(lambda conn: flow_tx.sync_crons(conn, items))
        self._notify("queue")

    async def cancel(self, cancel: Cancel, now_ms: int) -> Run | None:
        run = await self._db.write(lambda conn: _cancel(conn, cancel, now_ms))
        if run is not None:
            self._notify("events")
        return run

    async def get_run(self, run_id: str) -> Run | None:
        return await self._db.read(lambda conn: _get_run(conn, run_id))

    async def runs_for_event(self, internal_id: str) -> list[Run]:
        return await self._db.read(
            lambda conn: select_runs_for_event(conn, internal_id)
        )

    async def spans(self, run_id: str) -> list[StepSpan]:
        return await self._db.read(lambda conn: select_spans(conn, run_id))

    async def pauses_for(
        self, event_name: str, before_seq: int, now_ms: int
    ) -> list[Pause]:
        def q(conn: sqlite3.Connection) -> list[Pause]:
            rows = conn.execute(
                f"SELECT {_PAUSE_COLS} FROM pauses WHERE event_name = ? AND after_seq < ?"
                " AND expires_ms > ? AND kind != 'invoke'",
                (event_name, before_seq, now_ms),
            )
            return [_pause(r) for r in rows]

        return await self._db.read(q)

    async def pause_by_correlation(self, correlation_id: str) -> Pause | None:
        def q(conn: sqlite3.Connection) -> Pause | None:
            row = conn.execute(
                f"SELECT {_PAUSE_COLS} FROM pauses WHERE correlation_id = ?",
                (correlation_id,),
            ).fetchone()
            return _pause(row) if row else None

        return await self._db.read(q)
