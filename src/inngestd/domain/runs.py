"""Runs, their memoised steps and the pauses they wait on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from inngestd.domain.queue import Limit


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"

    @property
    def is_ended(self) -> bool:
        return self in _ENDED


_ENDED = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.SKIPPED}
)


@dataclass(frozen=True, slots=True)
class RunFlow:
    """Flow-control facts fixed when the run is created (keys evaluated once per run)."""

    concurrency: tuple[Limit, ...] = ()
    run_limit: Limit | None = None
    priority_ms: int = 0
    finish_timeout_ms: int | None = None
    singleton_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "c": [[lim.key, lim.limit] for lim in self.concurrency],
            "r": [self.run_limit.key, self.run_limit.limit] if self.run_limit else None,
            "p": self.priority_ms,
            "f": self.finish_timeout_ms,
            "s": self.singleton_key,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> RunFlow:
        if not raw:
            return cls()
        run_limit = raw.get("r")
        return cls(
            concurrency=tuple(Limit(str(k), int(n)) for k, n in raw.get("c") or ()),
            run_limit=Limit(str(run_limit[0]), int(run_limit[1]))
            if run_limit
            else None,
            priority_ms=int(raw.get("p") or 0),
            finish_timeout_ms=raw.get("f"),
            singleton_key=raw.get("s"),
        )


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    function_id: str
    app_id: str
    event_id: str
    status: RunStatus
    created_ms: int
    started_ms: int | None = None
    ended_ms: int | None = None
    output: bytes | None = None
    request_version: int = -1
    disable_immediate: bool = False
    reason: str | None = None
    max_attempts: int = 1
    flow: RunFlow = field(default_factory=RunFlow)


@dataclass(frozen=True, slots=True)
class RunContext:
    """Everything one SDK call needs: the run, its events and its memoised steps in order."""

    run: Run
    events: list[dict[str, Any]]
    steps: dict[str, bytes]
    stack: list[str]
    pending: frozenset[str] = field(default=frozenset())


class PauseKind(StrEnum):
    WAIT = "wait"
    INVOKE = "invoke"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class Pause:
    """A run waiting for an event (waitForEvent, invoke result, or cancelOn).

    `after_seq`: only events that arrived after this sequence number can match it.
    `trigger`: the run's first event, the `event` variable of the expression.
    """

    id: str
    run_id: str
    step_id: str
    kind: PauseKind
    event_name: str
    expires_ms: int
    after_seq: int
    expression: str | None = None
    correlation_id: str | None = None
    trigger: dict[str, Any] | None = None
    # What the step memoises when the pause expires (None: nothing, as for cancelOn).
    timeout_memo: bytes | None = None


@dataclass(frozen=True, slots=True)
class StepSpan:
    """One attempt of one step, as the history shows it."""

    run_id: str
    step_id: str
    name: str
    op: str
    attempt: int
    started_ms: int
    ended_ms: int
    status: str
    output: bytes | None = None
