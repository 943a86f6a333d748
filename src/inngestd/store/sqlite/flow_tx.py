"""Flow-control state inside SQLite transactions: rate limits, singletons, debounces,
batches and cron ticks. The decisions are the pure functions of `inngestd.flow`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from inngestd.domain.flow_config import Batch, Debounce
from inngestd.domain.queue import ItemKind, QueueItem
from inngestd.flow import batching, debounce, gcra
from inngestd.store.base import (
    BatchEvent,
    DebounceEvent,
    PendingStart,
    RateGate,
    SingletonGate,
)
from inngestd.store.sqlite.queue import insert_item


def rate_limited(
    conn: sqlite3.Connection, gate: RateGate | None, now_ms: int
) -> str | None:
    """GCRA at schedule time: the skip reason when over the limit, else None (slot spent)."""
    if gate is None:
        return None
    row = conn.execute("SELECT tat_ms FROM gcra WHERE key = ?", (gate.key,)).fetchone()
    result = gcra.rate_limit(
        row[0] if row else None, now_ms, limit=gate.limit, period_ms=gate.period_ms
    )
    if not result.allowed:
        return gate.reason
    conn.execute(
        "INSERT INTO gcra (key, tat_ms) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET tat_ms = excluded.tat_ms",
        (gate.key, result.new_tat_ms),
    )
    return None


def claim_singleton(
    conn: sqlite3.Connection,
    gate: SingletonGate,
    run_id: str,
    now_ms: int,
    cancel: Callable[[sqlite3.Connection, str, int], None],
) -> str | None:
    """Take the singleton key for `run_id`: the skip reason if another run holds it in
    skip mode; in cancel mode the holder is cancelled and the key changes hands."""
    row = conn.execute(
        "SELECT run_id FROM singletons WHERE key = ?", (gate.key,)
    ).fetchone()
    if row is not None:
        if gate.mode != "cancel":
            return "Singleton"
        cancel(conn, row[0], now_ms)
    conn.execute(
        "INSERT INTO singletons (key, run_id) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET run_id = excluded.run_id",
        (gate.key, run_id),
    )
    return None


def _start_item(kind: ItemKind, key: str, function_id: str, due_ms: int) -> QueueItem:
    return QueueItem(
        id=f"{kind.value}:{key}",
        run_id="",
        function_id=function_id,
        kind=kind,
        due_ms=due_ms,
        ref=key,
    )


def _move_item(conn: sqlite3.Connection, item: QueueItem) -> None:
    """Insert the item or move it to its new due time (a leased one keeps its lease; the
    fire step sees the change and retries it)."""
    if not insert_item(conn, item):
        conn.execute(
            "UPDATE queue SET due_ms = ?1, score_ms = ?1,"
            " available_ms = CASE WHEN lease_token IS NULL THEN ?1 ELSE available_ms END"
            " WHERE id = ?2",
            (item.due_ms, item.id),
        )


def debounce_event(conn: sqlite3.Connection, d: DebounceEvent, now_ms: int) -> None:
    row = conn.execute(
        "SELECT id, first_ms, due_ms, event_ts, deadline_ms FROM debounces WHERE key = ?",
        (d.key,),
    ).fetchone()
    state = (
        debounce.DebounceState(row[0], row[1], row[2], row[3], row[4]) if row else None
    )
    cfg = Debounce(period_ms=d.period_ms, timeout_ms=d.timeout_ms)
    decision = debounce.on_event(state, d.event.ts, now_ms, cfg, debounce_id=d.new_id)
    if not decision.replace_event:
        return
    st = decision.state
    conn.execute(
        "INSERT INTO debounces (key, id, function_id, event_id, event_ts, first_ms, due_ms,"
        " deadline_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
        " event_id = excluded.event_id, event_ts = excluded.event_ts, due_ms = excluded.due_ms",
        (
            d.key,
            st.debounce_id,
            d.function_id,
            d.event.internal_id,
            st.event_ts_ms,
            st.first_ms,
            st.due_ms,
            st.deadline_ms,
        ),
    )
    _move_item(conn, _start_item(ItemKind.DEBOUNCE, d.key, d.function_id, st.due_ms))


def batch_event(conn: sqlite3.Connection, b: BatchEvent, now_ms: int) -> None:
    row = conn.execute(
        "SELECT id, size FROM batches WHERE key = ?", (b.key,)
    ).fetchone()
    size_before = int(row[1]) if row else 0
    cfg = Batch(max_size=b.max_size, timeout_ms=b.timeout_ms)
    decision = batching.on_event(size_before, now_ms, cfg)
    batch_id = row[0] if row else b.new_id
    if row is None:
        conn.execute(
            "INSERT INTO batches (key, id, function_id, size, bytes, first_ms)"
            " VALUES (?, ?, ?, 0, 0, ?)",
            (b.key, batch_id, b.function_id, now_ms),
        )
    conn.execute(
        "INSERT OR IGNORE INTO batch_events (batch_id, position, event_id) VALUES (?, ?, ?)",
        (batch_id, size_before, b.event.internal_id),
    )
    conn.execute(
        "UPDATE batches SET size = ? WHERE key = ?", (decision.size_after, b.key)
    )
    if decision.schedule_at_ms is not None:
        _move_item(
            conn,
            _start_item(ItemKind.BATCH, b.key, b.function_id, decision.schedule_at_ms),
        )
    if decision.fire_now:
        _move_item(conn, _start_item(ItemKind.BATCH, b.key, b.function_id, now_ms))


def pending_start(conn: sqlite3.Connection, kind: str, key: str) -> PendingStart | None:
    if kind == ItemKind.DEBOUNCE.value:
        row = conn.execute(
            "SELECT id, event_id FROM debounces WHERE key = ?", (key,)
        ).fetchone()
        return PendingStart(key, row[0], [row[1]]) if row else None
    row = conn.execute("SELECT id FROM batches WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    events = [
        r[0]
        for r in conn.execute(
            "SELECT event_id FROM batch_events WHERE batch_id = ? ORDER BY position",
            (row[0],),
        )
    ]
    return PendingStart(key, row[0], events)


def consume(conn: sqlite3.Connection, kind: str, seen: PendingStart) -> bool:
    """Delete the debounce or batch if it is still exactly what was read."""
    current = pending_start(conn, kind, seen.key)
    if current != seen:
        return False
    if kind == ItemKind.DEBOUNCE.value:
        conn.execute("DELETE FROM debounces WHERE key = ?", (seen.key,))
    else:
        conn.execute("DELETE FROM batches WHERE key = ?", (seen.key,))
        conn.execute("DELETE FROM batch_events WHERE batch_id = ?", (seen.id,))
    return True


def cron_schedule(item_ref: str | None) -> str:
    """The cron expression part of a cron tick's `ref` ("<scheduled ms>|<cron>")."""
    return (item_ref or "").partition("|")[2]


def sync_crons(conn: sqlite3.Connection, items: Sequence[QueueItem]) -> None:
    wanted = {(item.function_id, cron_schedule(item.ref)): item for item in items}
    for item_id, function_id, ref in conn.execute(
        "SELECT id, function_id, ref FROM queue WHERE kind = 'cron'"
    ).fetchall():
        key = (function_id, cron_schedule(ref))
        if key in wanted:
            del wanted[key]  # already pending: keep its time
        else:
            conn.execute("DELETE FROM queue WHERE id = ?", (item_id,))
    for item in wanted.values():
        insert_item(conn, item)
