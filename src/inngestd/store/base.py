"""The storage seams. The core types against these Protocols only; backends live beside.

Every read-modify-write is one method, so a backend can make it atomic (one SQLite
transaction, one Redis Lua script). Callers never compose two calls and hope.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from inngestd.domain.effects import Effect
from inngestd.domain.events import Event
from inngestd.domain.functions import App, Function, SyncResult
from inngestd.domain.queue import Lease, QueueItem
from inngestd.domain.runs import Pause, Run, RunContext, RunStatus, StepSpan


class Catalog(Protocol):
    """Apps and their functions."""

    async def sync_app(
        self, app: App, functions: Sequence[Function], now_ms: int
    ) -> SyncResult:
        """Upsert `app` and replace its function set atomically: functions missing from
        `functions` are archived. `modified` is False when the checksum is unchanged."""
        ...

    async def record_sync_error(self, url: str, error: str, now_ms: int) -> None:
        """Remember that syncing the app at `url` failed (shown to users)."""
        ...

    async def apps(self) -> list[App]:
        """Every app with its active functions."""
        ...

    async def functions(self) -> list[Function]:
        """Every active function of every app."""
        ...


class EventLog(Protocol):
    """Accepted events, in arrival order."""

    async def append(self, events: Sequence[Event]) -> list[Event]:
        """Durably store `events` (committed when this returns) and give each its `seq`."""
        ...

    async def get(self, internal_id: str) -> Event | None: ...

    async def recent(
        self,
        *,
        name: str | None = None,
        limit: int = 100,
        before_seq: int | None = None,
    ) -> list[Event]:
        """Newest first."""
        ...

    async def unscheduled(self, limit: int) -> list[Event]:
        """Events not yet handed to scheduling, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class RateGate:
    """A rate limit checked (GCRA) when the run is created; over the limit, the run is
    recorded as SKIPPED with `reason`."""

    key: str
    limit: int
    period_ms: int
    reason: str = "RateLimited"


@dataclass(frozen=True, slots=True)
class SingletonGate:
    """At most one active run per `key`: `skip` records the new run as SKIPPED, `cancel`
    cancels the active one (emitting its finish events) and starts the new one."""

    key: str
    mode: str


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to create for an event, unless `idempotency_key` was claimed within 24 h.

    The gates are checked atomically with the creation, in this order: idempotency,
    rate limit, singleton."""

    run: Run
    events: list[Event]
    first_item: QueueItem
    idempotency_key: str
    idempotency_expires_ms: int
    pauses: list[Pause] = field(default_factory=list)
    rate: RateGate | None = None
    singleton: SingletonGate | None = None
    start_timeout_ms: int | None = None
    #: Step memos the run starts with, in the order they completed (a rerun from a step
    #: carries over the steps before it).
    steps: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DebounceEvent:
    """Debounce `event` for `function_id` under `key`: the last event wins, the run starts
    `period` after the last event (at most `timeout` after the first)."""

    key: str
    function_id: str
    event: Event
    period_ms: int
    timeout_ms: int | None
    new_id: str


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """Append `event` to the open batch of `function_id` under `key`."""

    key: str
    function_id: str
    event: Event
    max_size: int
    timeout_ms: int
    new_id: str


@dataclass(frozen=True, slots=True)
class PendingStart:
    """What a debounce or batch item would start now: read, then fired atomically."""

    key: str
    id: str
    event_ids: list[str]


@dataclass(frozen=True, slots=True)
class Fire:
    """Start a run from a debounce, a batch or a cron tick, consuming what it came from.

    `consumes` names the debounce or batch (as read); if it changed since, nothing is
    created and the item is retried. `events` are appended (a cron tick's timer event),
    `next_items` enqueued (the next cron tick)."""

    new_run: NewRun | None
    consumes: PendingStart | None = None
    kind: str = ""
    events: list[Event] = field(default_factory=list)
    next_items: list[QueueItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Resume:
    """Consume `pause_id` (exactly once) and memoise `memo` for its step."""

    pause_id: str
    memo: bytes


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel `run_id` if it is still active, emitting `events`."""

    run_id: str
    events: list[Event]
    reason: str = "cancelled"


@dataclass(frozen=True, slots=True)
class SchedulePlan:
    """What one event causes: new runs, resumed pauses, cancelled runs."""

    event: Event
    new_runs: list[NewRun] = field(default_factory=list)
    resumes: list[Resume] = field(default_factory=list)
    cancels: list[Cancel] = field(default_factory=list)
    debounces: list[DebounceEvent] = field(default_factory=list)
    batches: list[BatchEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """`applied` is False when the run had already ended or the lease was lost."""

    applied: bool
    run_status: RunStatus | None = None


class RunState(Protocol):
    """Runs, memoised steps, pauses and the queue items that drive them."""

    async def schedule(self, plans: Sequence[SchedulePlan], now_ms: int) -> list[Run]:
        """Apply each plan atomically and mark its event scheduled. Returns created runs."""
        ...

    async def load(self, run_id: str) -> RunContext | None:
        """The run with its events, memos (keyed by hashed step id) and stack."""
        ...

    async def apply(
        self, lease: Lease, effects: Sequence[Effect], now_ms: int, *, ack: bool = True
    ) -> ApplyResult:
        """Apply `effects` of the reply to `lease` in one atomic step and, with `ack`, remove
        the leased item. Nothing is applied when the lease is no longer held or the run
        has ended (a late reply after cancellation is dropped)."""
        ...

    async def apply_run(
        self, run_id: str, effects: Sequence[Effect], now_ms: int
    ) -> ApplyResult:
        """Apply `effects` to an active run without a queue lease (the SDK's checkpoint
        API reports step results this way). Nothing is applied to an ended run."""
        ...

    async def pending_start(self, kind: str, key: str) -> PendingStart | None:
        """The debounce (`kind` "debounce") or open batch ("batch") stored under `key`."""
        ...

    async def fire(self, lease: Lease, fire: Fire, now_ms: int) -> bool:
        """Atomically start `fire.new_run`, consume its debounce or batch, append its
        events, enqueue `next_items`, and ack the lease. Returns False (and retries the
        item soon) when the debounce or batch changed since it was read."""
        ...

    async def sync_crons(self, items: Sequence[QueueItem]) -> None:
        """Make `items` the pending cron ticks of all functions. A tick already pending for
        the same function and schedule (`ref` ends with "|<cron>") is kept as it is, so a
        restart or re-sync never fires a schedule twice; other ticks are dropped."""
        ...

    async def cancel(self, cancel: Cancel, now_ms: int) -> Run | None:
        """Cancel an active run (status, drop queue items and pauses, emit events).
        Returns the updated run, or None when it was not active."""
        ...

    async def get_run(self, run_id: str) -> Run | None: ...

    async def runs_for_event(self, internal_id: str) -> list[Run]: ...

    async def spans(self, run_id: str) -> list[StepSpan]: ...

    async def pauses_for(
        self, event_name: str, before_seq: int, now_ms: int
    ) -> list[Pause]:
        """Live pauses waiting on `event_name` that were created before event `before_seq`."""
        ...

    async def pause_by_correlation(self, correlation_id: str) -> Pause | None: ...


class Queue(Protocol):
    """Durable, leased work queue."""

    async def lease(self, now_ms: int, limit: int, lease_ms: int) -> list[Lease]:
        """Atomically claim up to `limit` due items. An item whose lease expired is due
        again (its worker died)."""
        ...

    async def extend(self, lease: Lease, now_ms: int, lease_ms: int) -> Lease:
        """Raises errors.LeaseLost if another worker holds the item or it is gone. An
        expired lease that nobody took over can still be extended."""
        ...

    async def jobs(self, run_id: str) -> list[RunJob]:
        """The run's queued items, earliest first, and whether a worker holds each."""
        ...

    async def next_due_ms(self) -> int | None:
        """When the earliest item becomes leasable, or None if the queue is empty."""
        ...


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs to list. Empty collections mean "any"; times bound `created_ms`
    (`after_ms` inclusive, `before_ms` exclusive)."""

    statuses: frozenset[RunStatus] = frozenset()
    function_ids: frozenset[str] = frozenset()
    app_ids: frozenset[str] = frozenset()
    after_ms: int | None = None
    before_ms: int | None = None


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run as listings show it, with the names a page needs (no extra lookups)."""

    run: Run
    function_name: str | None
    event_name: str | None


@dataclass(frozen=True, slots=True)
class RunPage:
    """One page, newest first; `cursor` fetches the next page (None: this is the last).
    `row_cursors[i]` continues after `rows[i]` (GraphQL edges carry one each)."""

    rows: list[RunRow]
    cursor: str | None
    row_cursors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TraceSpan:
    """One recorded step attempt. `output_id` names its output for `span_output`;
    `step_done` says the step's memo exists (a sleep or wait has finished)."""

    output_id: str
    step_id: str
    name: str
    op: str
    attempt: int
    started_ms: int
    ended_ms: int
    status: str
    step_done: bool


@dataclass(frozen=True, slots=True)
class RunTrace:
    run: RunRow
    events: list[dict[str, Any]]
    spans: list[TraceSpan]


@dataclass(frozen=True, slots=True)
class RunJob:
    """A queue item of a run, and whether a worker holds it now."""

    item: QueueItem
    leased: bool


class History(Protocol):
    """The read side of runs: listing, counting, traces. Listing is keyset-paginated and
    answered by one indexed query per page, however many runs the store holds."""

    async def list_runs(
        self, filter: RunFilter, *, cursor: str | None = None, limit: int = 50
    ) -> RunPage:
        """Runs matching `filter`, newest first (by `created_ms`, then id). Raises
        errors.InvalidInput for a cursor this method did not produce."""
        ...

    async def count_runs(self, filter: RunFilter) -> int: ...

    async def get_run(self, run_id: str) -> RunRow | None: ...

    async def run_trace(self, run_id: str) -> RunTrace | None:
        """The run, its trigger events and its spans in the order they were recorded."""
        ...

    async def span_output(self, output_id: str) -> bytes | None:
        """The memo (`{"data": ...}` or `{"error": ...}`) of a span, falling back to the
        step's memo for spans recorded before their step finished (sleep, wait, invoke).
        None when the id is unknown or there is no output."""
        ...

    async def runs_for_event(self, internal_id: str) -> list[Run]:
        """The runs the event started (or was part of, for batches), by run id. Start
        mode reads runs here once they left the hot store."""
        ...

    async def spans(self, run_id: str) -> list[StepSpan]:
        """The run's step attempts with their outputs, in the order they were recorded
        (what `RunState.spans` gives while the run is in the hot store)."""
        ...

    async def step_memos(self, run_id: str) -> list[tuple[str, bytes]]:
        """The run's step memos in the order the steps completed (its stack; what
        `RunState.load` gives while the run is in the hot store)."""
        ...


@dataclass(frozen=True, slots=True)
class Store:
    """One implementation of each seam, picked by the composition root."""

    catalog: Catalog
    events: EventLog
    runs: RunState
    queue: Queue
    close: Callable[[], None]
    # Called (in the event loop) after work was committed that a worker or the scheduler
    # should look at now rather than at its next poll.
    subscribe: Callable[[Callable[[str], None]], None]
    history: History


class HistoryWriter(Protocol):
    """Writes the read side of runs where it is not written by `RunState` itself (start
    mode: the outbox relay copies what the Redis scripts did into PostgreSQL).

    Every method is an idempotent upsert: the relay may deliver a record twice, or
    deliver an older record after a newer one."""

    async def record_run(self, run: Run, events: Sequence[Event]) -> None:
        """A created run and its trigger events. A run already recorded is kept as it is
        (its status only moves through `record_status`)."""
        ...

    async def record_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        started_ms: int | None = None,
        ended_ms: int | None = None,
        output: bytes | None = None,
        reason: str | None = None,
    ) -> bool:
        """Move a run to `status`. An ended run stays as it ended (a late or repeated
        record changes nothing); `started_ms` keeps the first value given. Returns False
        when the run is not recorded yet (the caller delivers the record again later)."""
        ...

    async def record_span(self, span: StepSpan, *, key: str | None = None) -> None:
        """A step attempt. `key` identifies the record for de-duplication (default: the
        span's content), so a redelivered span is stored once."""
        ...

    async def record_step(
        self, run_id: str, step_id: str, memo: bytes, position: int | None = None
    ) -> None:
        """A step's memo (write-once: the first wins). Traces use it for `step_done` and
        as the output of spans recorded before their step finished (sleep, wait, invoke)."""
        ...

    def batch(self) -> AbstractAsyncContextManager[HistoryWriter]:
        """A writer whose records are stored together, all or none, when the block exits
        without an error (the relay writes each outbox batch through one)."""
        ...

    async def delete_before(self, cutoff_ms: int, batch: int) -> int:
        """Retention: delete at most `batch` runs that ended before `cutoff_ms`, with their
        spans, steps and event links. Returns how many runs were deleted (the caller loops
        until it gets fewer than `batch`)."""
        ...
