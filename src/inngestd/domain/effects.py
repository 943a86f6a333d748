"""Effects: what handling one reply asks the store to do, applied atomically together."""

from __future__ import annotations

from dataclasses import dataclass

from inngestd.domain.events import Event
from inngestd.domain.runs import Pause, RunStatus, StepSpan


@dataclass(frozen=True, slots=True)
class SaveStep:
    """Memoise `memo` for `step_id` (write-once), push it on the stack, drop it from the
    pending set, and enqueue the next discovery call unless parallel work is still pending.

    `discover=False` (the checkpoint API): only memoise and push; the call that reported
    the step is still running and continues the function itself."""

    step_id: str
    memo: bytes
    discover: bool = True


@dataclass(frozen=True, slots=True)
class PlanStep:
    """Queue a call targeted at `step_id`, unless it is already memoised or queued."""

    step_id: str


@dataclass(frozen=True, slots=True)
class MarkParallel:
    """The reply held several ops: they are pending together, and the run switches to
    planned execution until they drain. `race`: every completion re-discovers."""

    step_ids: tuple[str, ...]
    race: bool = False


@dataclass(frozen=True, slots=True)
class SleepUntil:
    step_id: str
    until_ms: int


@dataclass(frozen=True, slots=True)
class CreatePause:
    pause: Pause


@dataclass(frozen=True, slots=True)
class ExpirePause:
    """The pause timed out: if it still exists, drop it and memoise its timeout value."""

    pause_id: str


@dataclass(frozen=True, slots=True)
class Discover:
    """Enqueue a discovery call now (DiscoveryRequest)."""

    key: str


@dataclass(frozen=True, slots=True)
class Retry:
    """Requeue the leased item with attempt + 1 at `due_ms`."""

    due_ms: int


@dataclass(frozen=True, slots=True)
class SetRequestVersion:
    version: int


@dataclass(frozen=True, slots=True)
class Finish:
    """End the run: status, output, drop its queue items and pauses."""

    status: RunStatus
    output: bytes | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Emit:
    """Append a server-made event to the event log (it is scheduled like any other)."""

    event: Event


@dataclass(frozen=True, slots=True)
class RecordSpan:
    span: StepSpan


Effect = (
    SaveStep
    | PlanStep
    | MarkParallel
    | SleepUntil
    | CreatePause
    | ExpirePause
    | Discover
    | Retry
    | SetRequestVersion
    | Finish
    | Emit
    | RecordSpan
)
