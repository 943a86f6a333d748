"""Contract: the PostgreSQL read side written through HistoryWriter (what the start-mode
outbox relay does), read back through History; plus retention, migrations and the
event log's injectable sequence numbers."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets

import asyncpg
import orjson
import pytest

from inngestd import errors
from inngestd.domain.events import Event
from inngestd.domain.functions import App, Function, Trigger
from inngestd.domain.runs import Run, RunStatus, StepSpan
from inngestd.store.base import HistoryWriter, RunFilter
from inngestd.store.postgres import PostgresReadStore, open_read_store
from inngestd.store.postgres.events import PostgresEventLog
from inngestd.store.postgres.migrate import available, migrate
from tests.contract.conftest import APP_ID, NOW, POSTGRES_URI, event, require_postgres

ENDED_AT = NOW + 10_000


async def _record(
    pg: PostgresReadStore, specs: list[tuple[str, int]], *, app_id: str = APP_ID
) -> list[str]:
    """One run per (function id, created offset ms), its event appended first."""
    writer: HistoryWriter = pg.history_writer
    out = []
    for i, (fn, offset) in enumerate(specs):
        [ev] = await pg.events.append([event(f"app/{fn}")])
        run = Run(
            id=f"run-{offset:06d}-{i:03d}",
            function_id=fn,
            app_id=app_id,
            event_id=ev.internal_id,
            status=RunStatus.QUEUED,
            created_ms=NOW + offset,
        )
        await writer.record_run(run, [ev])
        out.append(run.id)
    return out


async def _end(
    pg: PostgresReadStore, run_id: str, status: RunStatus, ended_ms: int = ENDED_AT
) -> None:
    assert await pg.history_writer.record_status(
        run_id, status, ended_ms=ended_ms, output=b'"out"'
    )


async def _all(pg: PostgresReadStore, flt: RunFilter, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = await pg.history.list_runs(flt, cursor=cursor, limit=limit)
        assert len(page.rows) <= limit
        assert len(page.row_cursors) == len(page.rows)
        seen += [r.run.id for r in page.rows]
        if page.cursor is None:
            return seen
        assert page.cursor == page.row_cursors[-1]
        cursor = page.cursor


async def test_list_runs_newest_first_across_pages(pg_store: PostgresReadStore) -> None:
    ids = await _record(pg_store, [("app-a", i // 3) for i in range(10)])
    expected = sorted(ids, key=lambda r: (int(r.split("-")[1]), r), reverse=True)
    for limit in (1, 3, 4, 10, 50):
        assert await _all(pg_store, RunFilter(), limit) == expected
    page = await pg_store.history.list_runs(RunFilter(), limit=10)
    assert page.cursor is None
    row = page.rows[0]
    assert row.event_name == "app/app-a"
    assert row.function_name is None  # the function was never synced

    await pg_store.catalog.sync_app(
        App(APP_ID, "http://x"),
        [Function("app-a", APP_ID, "Function A", "http://x", (Trigger("app/a"),))],
        NOW,
    )
    [row] = (await pg_store.history.list_runs(RunFilter(), limit=1)).rows
    assert row.function_name == "Function A"


async def test_list_runs_filters_and_counts(pg_store: PostgresReadStore) -> None:
    ids = await _record(
        pg_store, [("app-a", 1), ("app-b", 2), ("app-a", 3), ("app-c", 4), ("app-a", 5)]
    )
    await _end(pg_store, ids[0], RunStatus.COMPLETED)
    await _end(pg_store, ids[1], RunStatus.FAILED)
    await _end(pg_store, ids[2], RunStatus.FAILED)

    async def listed(**kw: object) -> list[str]:
        return await _all(pg_store, RunFilter(**kw), 2)  # type: ignore[arg-type]

    assert await listed(function_ids=frozenset({"app-a"})) == [ids[4], ids[2], ids[0]]
    assert await listed(statuses=frozenset({RunStatus.FAILED})) == [ids[2], ids[1]]
    assert await listed(
        statuses=frozenset({RunStatus.FAILED, RunStatus.COMPLETED}),
        function_ids=frozenset({"app-a", "app-b"}),
    ) == [ids[2], ids[1], ids[0]]
    assert await listed(statuses=frozenset({RunStatus.QUEUED})) == [ids[4], ids[3]]
    assert await listed(after_ms=NOW + 2, before_ms=NOW + 4) == [ids[2], ids[1]]
    assert await listed(app_ids=frozenset({APP_ID})) == list(reversed(ids))
    assert await listed(app_ids=frozenset({"other"})) == []
    assert await listed(
        app_ids=frozenset({APP_ID}), function_ids=frozenset({"app-c"})
    ) == [ids[3]]
    assert await pg_store.history.count_runs(RunFilter()) == 5
    assert (
        await pg_store.history.count_runs(
            RunFilter(
                statuses=frozenset({RunStatus.FAILED}),
                function_ids=frozenset({"app-a"}),
            )
        )
        == 1
    )
    assert await pg_store.history.count_runs(RunFilter(after_ms=NOW + 4)) == 2


async def test_many_branches_fall_back_to_one_query(
    pg_store: PostgresReadStore,
) -> None:
    ids = await _record(pg_store, [(f"fn-{i}", i) for i in range(12)])
    flt = RunFilter(
        statuses=frozenset(RunStatus),
        function_ids=frozenset(f"fn-{i}" for i in range(12)),
    )  # 6 x 12 branches: more than MAX_BRANCHES
    assert await _all(pg_store, flt, 5) == list(reversed(ids))


async def test_ids_order_byte_wise_like_sqlite(pg_store: PostgresReadStore) -> None:
    # Same created_ms: the tie-break on id must not depend on the database collation.
    writer = pg_store.history_writer
    [ev] = await pg_store.events.append([event()])
    for rid in ("run-b", "run_a", "RUN-c", "run-B"):
        await writer.record_run(
            Run(rid, "fn", APP_ID, ev.internal_id, RunStatus.QUEUED, NOW), [ev]
        )
    assert await _all(pg_store, RunFilter(), 1) == sorted(
        ["run-b", "run_a", "RUN-c", "run-B"], reverse=True
    )


async def test_list_runs_rejects_a_foreign_cursor(pg_store: PostgresReadStore) -> None:
    for bad in ("garbage!", "bm90IGpzb24", "WzEsMl0"):
        with pytest.raises(errors.InvalidInput):
            await pg_store.history.list_runs(RunFilter(), cursor=bad)


async def test_run_trace_and_span_outputs(pg_store: PostgresReadStore) -> None:
    [run_id] = await _record(pg_store, [("app-a", 0)])
    writer = pg_store.history_writer

    def span(
        step: str, status: str, output: bytes | None, attempt: int = 0
    ) -> StepSpan:
        return StepSpan(
            run_id, step, step.upper(), "StepRun", attempt, NOW, NOW + 5, status, output
        )

    memo = orjson.dumps({"data": [1, 2]})
    error = orjson.dumps({"error": {"name": "E", "message": "x"}})
    assert await writer.record_status(run_id, RunStatus.RUNNING, started_ms=NOW + 1)
    for _ in range(2):  # the relay may deliver every record twice
        await writer.record_span(span("s1", "ERRORED", error))
        await writer.record_span(span("s1", "COMPLETED", memo, attempt=1))
        await writer.record_step(run_id, "s1", memo)
        await writer.record_span(span("nap", "SLEEPING", None))
    await writer.record_span(span("later", "WAITING", None))
    await writer.record_step(run_id, "nap", b"null")
    await writer.record_step(run_id, "nap", b"second")  # write-once

    trace = await pg_store.history.run_trace(run_id)
    assert trace is not None
    assert trace.run.run.id == run_id
    assert trace.run.run.status is RunStatus.RUNNING
    assert trace.run.run.started_ms == NOW + 1
    assert trace.run.event_name == "app/app-a"
    assert len(trace.events) == 1
    assert trace.events[0]["name"] == "app/app-a"
    assert [(s.step_id, s.attempt, s.status, s.step_done) for s in trace.spans] == [
        ("s1", 0, "ERRORED", True),
        ("s1", 1, "COMPLETED", True),
        ("nap", 0, "SLEEPING", True),
        ("later", 0, "WAITING", False),
    ]
    first, second, nap, later = trace.spans
    assert (first.name, first.op, first.started_ms, first.ended_ms) == (
        "S1",
        "StepRun",
        NOW,
        NOW + 5,
    )
    assert await pg_store.history.span_output(first.output_id) == error
    assert await pg_store.history.span_output(second.output_id) == memo
    # A span recorded before its step finished falls back to the step's memo.
    assert await pg_store.history.span_output(nap.output_id) == b"null"
    assert await pg_store.history.span_output(later.output_id) is None
    assert await pg_store.history.span_output("999999") is None
    assert await pg_store.history.span_output("not-an-id") is None
    assert await pg_store.history.span_output("9" * 40) is None
    assert await pg_store.history.run_trace("missing") is None


async def test_span_keys_deduplicate_explicitly(pg_store: PostgresReadStore) -> None:
    [run_id] = await _record(pg_store, [("app-a", 0)])
    span = StepSpan(run_id, "s", "s", "StepRun", 0, NOW, NOW, "COMPLETED", b"1")
    await pg_store.history_writer.record_span(span, key="k1")
    await pg_store.history_writer.record_span(span, key="k1")
    await pg_store.history_writer.record_span(span, key="k2")
    trace = await pg_store.history.run_trace(run_id)
    assert trace is not None
    assert len(trace.spans) == 2


async def test_step_memos_come_back_in_stack_order(pg_store: PostgresReadStore) -> None:
    [run_id] = await _record(pg_store, [("app-a", 0)])
    writer = pg_store.history_writer
    # Delivered out of order (and once more), as the relay may.
    await writer.record_step(run_id, "zeta", b'{"data":2}', 2)
    await writer.record_step(run_id, "alpha", b'{"data":0}', 0)
    await writer.record_step(run_id, "mid", b"null", 1)
    await writer.record_step(run_id, "alpha", b'{"data":0}', 0)
    await writer.record_step(run_id, "old", b'{"data":9}')  # from before positions
    assert await pg_store.history.step_memos(run_id) == [
        ("alpha", b'{"data":0}'),
        ("mid", b"null"),
        ("zeta", b'{"data":2}'),
        ("old", b'{"data":9}'),
    ]
    assert await pg_store.history.step_memos("missing") == []


async def test_a_batch_is_stored_all_or_none(pg_store: PostgresReadStore) -> None:
    """The relay writes each outbox batch through `batch()`: one commit for all of it,
    nothing of it when a record fails."""
    [ev] = await pg_store.events.append([event("app/batch")])

    def run(n: int) -> Run:
        return Run(f"batch-{n}", "app-a", APP_ID, ev.internal_id, RunStatus.QUEUED, NOW)

    def span(run_id: str) -> StepSpan:
        return StepSpan(run_id, "s", "s", "StepRun", 0, NOW, NOW, "COMPLETED", b"1")

    async def failing_batch() -> None:
        async with pg_store.history_writer.batch() as writer:
            await writer.record_run(run(1), [ev])
            await writer.record_span(span("batch-1"))
            await writer.record_step("batch-1", "s", b"1")
            raise RuntimeError("PostgreSQL went away mid-batch")

    with pytest.raises(RuntimeError):
        await failing_batch()
    assert await pg_store.history.get_run("batch-1") is None
    assert await pg_store.history.run_trace("batch-1") is None

    async with pg_store.history_writer.batch() as writer:
        await writer.record_run(run(2), [ev])
        # Later records of the batch see the earlier ones (the status needs the run).
        assert await writer.record_status(
            "batch-2", RunStatus.COMPLETED, ended_ms=NOW + 1, output=b"2"
        )
        await writer.record_span(span("batch-2"))
        await writer.record_step("batch-2", "s", b"1")
        # Not visible outside the batch before it commits.
        assert await pg_store.history.get_run("batch-2") is None
    trace = await pg_store.history.run_trace("batch-2")
    assert trace is not None
    assert trace.run.run.status is RunStatus.COMPLETED
    assert [(s.step_id, s.step_done) for s in trace.spans] == [("s", True)]


async def test_status_records_are_idempotent_and_never_regress(
    pg_store: PostgresReadStore,
) -> None:
    writer = pg_store.history_writer
    [run_id] = await _record(pg_store, [("app-a", 0)])
    assert not await writer.record_status("missing", RunStatus.RUNNING, started_ms=NOW)

    assert await writer.record_status(run_id, RunStatus.RUNNING, started_ms=NOW + 1)
    assert await writer.record_status(run_id, RunStatus.RUNNING, started_ms=NOW + 2)
    assert await writer.record_status(run_id, RunStatus.QUEUED)  # a late record
    row = await pg_store.history.get_run(run_id)
    assert row is not None
    assert (row.run.status, row.run.started_ms) == (RunStatus.RUNNING, NOW + 1)

    assert await writer.record_status(
        run_id, RunStatus.FAILED, ended_ms=NOW + 9, output=b'{"e":1}', reason="boom"
    )
    for late in (RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED):
        assert await writer.record_status(run_id, late, ended_ms=NOW + 99, output=b"x")
    # A redelivered creation record does not reset the run either.
    [ev] = await pg_store.events.append([event()])
    await writer.record_run(
        Run(run_id, "app-a", APP_ID, ev.internal_id, RunStatus.QUEUED, NOW), [ev]
    )
    row = await pg_store.history.get_run(run_id)
    assert row is not None
    run = row.run
    assert (run.status, run.ended_ms, run.output, run.reason) == (
        RunStatus.FAILED,
        NOW + 9,
        b'{"e":1}',
        "boom",
    )
    assert row.event_name == "app/app-a"
    assert await pg_store.history.get_run("missing") is None


async def test_record_run_keeps_every_run_field(pg_store: PostgresReadStore) -> None:
    from inngestd.domain.queue import Limit
    from inngestd.domain.runs import RunFlow

    [ev] = await pg_store.events.append([event()])
    run = Run(
        id="run-full",
        function_id="fn",
        app_id=APP_ID,
        event_id=ev.internal_id,
        status=RunStatus.SKIPPED,
        created_ms=NOW,
        reason="RateLimited",
        max_attempts=4,
        flow=RunFlow(concurrency=(Limit("k", 2),), priority_ms=5),
    )
    await pg_store.history_writer.record_run(run, [ev])
    row = await pg_store.history.get_run("run-full")
    assert row is not None
    # A run created ended (skipped) ends when it was created.
    assert row.run == dataclasses.replace(run, ended_ms=NOW)


async def test_retention_deletes_ended_runs_in_bounded_batches(
    pg_store: PostgresReadStore,
) -> None:
    writer = pg_store.history_writer
    ids = await _record(pg_store, [("app-a", i) for i in range(7)])
    for i, run_id in enumerate(ids[:5]):  # five ended, at NOW+1000 .. NOW+5000
        await _end(pg_store, run_id, RunStatus.COMPLETED, ended_ms=NOW + 1000 * (i + 1))
        await writer.record_span(
            StepSpan(run_id, "s", "s", "StepRun", 0, NOW, NOW, "COMPLETED", b"1")
        )
        await writer.record_step(run_id, "s", b"1")
    await writer.record_status(ids[5], RunStatus.RUNNING, started_ms=NOW)
    kept_trace = await pg_store.history.run_trace(ids[4])
    assert kept_trace is not None

    cutoff = NOW + 4500  # the first four ended before it
    assert await writer.delete_before(cutoff, 3) == 3
    assert await writer.delete_before(cutoff, 3) == 1
    assert await writer.delete_before(cutoff, 3) == 0
    left = await _all(pg_store, RunFilter(), 50)
    assert left == [ids[6], ids[5], ids[4]]
    assert await pg_store.history.span_output(kept_trace.spans[0].output_id) == b"1"
    async with pg_store.pool.acquire() as conn:
        for table in ("spans", "steps", "run_events"):
            stale = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE run_id = ANY($1::text[])", ids[:4]
            )
            assert stale == 0, table
        assert await conn.fetchval("SELECT count(*) FROM run_events") == 3
    # Events themselves are the event log's, not the history's.
    assert len(await pg_store.events.recent()) == 7


async def test_migrations_apply_once_even_when_racing(
    pg_store: PostgresReadStore,
) -> None:
    schema = str(await pg_store.pool.fetchval("SELECT current_schema()"))
    assert schema.startswith("t_")
    # The fixture migrated the schema already: nothing left, however many race.
    results = await asyncio.gather(*(migrate(POSTGRES_URI, schema) for _ in range(4)))
    assert results == [[]] * 4
    rows = await pg_store.pool.fetch("SELECT version FROM schema_migrations ORDER BY 1")
    assert [int(r[0]) for r in rows] == [m.version for m in available()]


async def test_fresh_schemas_race_to_migrate() -> None:
    await require_postgres()
    schema = f"t_race_{secrets.token_hex(4)}"
    try:
        results = await asyncio.gather(
            *(migrate(POSTGRES_URI, schema) for _ in range(4))
        )
        assert sorted(results, key=len) == [
            [],
            [],
            [],
            [m.version for m in available()],
        ]
    finally:
        conn = await asyncpg.connect(POSTGRES_URI)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


async def test_open_rejects_an_unsafe_schema_name() -> None:
    with pytest.raises(errors.InvalidInput):
        await open_read_store(POSTGRES_URI, schema='x"; DROP TABLE apps; --')


async def test_event_sequence_numbers_can_come_from_outside(
    pg_store: PostgresReadStore,
) -> None:
    counter = [1000]

    async def next_seq(n: int) -> int:  # what a Redis INCRBY gives
        counter[0] += n
        return counter[0] - n + 1

    log = PostgresEventLog(pg_store.pool, next_seq=next_seq)
    stored = await log.append([event("s/1"), event("s/2")])
    assert [e.seq for e in stored] == [1001, 1002]
    # Default numbering (the events_seq sequence) is independent but still unique.
    [own] = await pg_store.events.append([event("s/3")])
    assert own.seq not in (1001, 1002)
    assert [e.seq for e in await log.unscheduled(10)] == sorted([1001, 1002, own.seq])


async def test_duplicate_ids_in_one_append_keep_the_first(
    pg_store: PostgresReadStore,
) -> None:
    one = event("d/1", {"v": 1}, internal_id="01DUP")
    two = event("d/1", {"v": 2}, internal_id="01DUP")
    first, second = await pg_store.events.append([one, two])
    assert first.seq == second.seq
    got = await pg_store.events.get("01DUP")
    assert got is not None
    assert got.data == {"v": 1}
    assert await pg_store.events.append([]) == []


async def test_mark_scheduled_is_idempotent(pg_store: PostgresReadStore) -> None:
    stored: list[Event] = await pg_store.events.append([event(), event()])
    await pg_store.events.mark_scheduled([stored[0].internal_id])
    await pg_store.events.mark_scheduled([stored[0].internal_id, "unknown"])
    await pg_store.events.mark_scheduled([])
    assert [e.internal_id for e in await pg_store.events.unscheduled(10)] == [
        stored[1].internal_id
    ]
