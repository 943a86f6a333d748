"""What an app answered to one call: a result, a list of ops, or an error."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Opcode(StrEnum):
    NONE = "None"
    STEP = "Step"
    STEP_RUN = "StepRun"
    STEP_ERROR = "StepError"
    STEP_FAILED = "StepFailed"
    STEP_PLANNED = "StepPlanned"
    SLEEP = "Sleep"
    WAIT_FOR_EVENT = "WaitForEvent"
    INVOKE_FUNCTION = "InvokeFunction"
    AI_GATEWAY = "AIGateway"
    GATEWAY = "Gateway"
    WAIT_FOR_SIGNAL = "WaitForSignal"
    RUN_COMPLETE = "RunComplete"
    SYNC_RUN_COMPLETE = "SyncRunComplete"
    DISCOVERY_REQUEST = "DiscoveryRequest"
    DEFER_ADD = "DeferAdd"
    DEFER_ABORT = "DeferAbort"


@dataclass(frozen=True, slots=True)
class Op:
    """One opcode from a 206 reply. `data` is the decoded JSON value (None when absent)."""

    op: str
    id: str
    name: str = ""
    display_name: str = ""
    opts: dict[str, Any] = field(default_factory=dict)
    data: Any = None
    has_data: bool = False
    error: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return self.display_name or self.name or self.id


@dataclass(frozen=True, slots=True)
class Completed:
    """200: the function returned; `body` is its raw JSON output."""

    body: bytes


@dataclass(frozen=True, slots=True)
class Ops:
    """206: the function reported steps."""

    ops: tuple[Op, ...]
    request_version: int | None = None
    # Headers that govern a StepError in this reply (TS sends them beside a 206).
    no_retry: bool = False
    retry_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """Any error reply or transport failure."""

    body: bytes
    status: int
    no_retry: bool = False
    retry_at_ms: int | None = None
    message: str = ""


CallOutcome = Completed | Ops | Failed
