"""Event batching: what appending one event to a function's open batch means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from inngestd.domain.flow_config import Batch

__all__ = ["MAX_BATCH_BYTES", "BatchDecision", "BatchStatus", "on_event"]

#: A batch is also full at 10 MiB of stored events (`pkg/execution/batch/redis.go`).
MAX_BATCH_BYTES: Final[int] = 10 * 1024 * 1024

#: Go `append.lua` statuses: new (first event), append, full (max size), maxsize (bytes).
BatchStatus = Literal["new", "append", "full", "maxsize"]


@dataclass(frozen=True, slots=True)
class BatchDecision:
    """The event was appended; `size_after` events are now in the batch.

    * `fire_now`: the batch is full — start it now; the next event opens a new batch.
    * `schedule_at_ms`: for the first event of a batch that is not already full, when the
      batch's timeout job must run (`now + timeout`); None otherwise.
    """

    status: BatchStatus
    size_after: int
    fire_now: bool
    schedule_at_ms: int | None

    @property
    def new_batch(self) -> bool:
        """This event opened the batch."""
        return self.size_after == 1


def on_event(
    batch_size_before: int,
    now_ms: int,
    cfg: Batch,
    *,
    batch_bytes_after: int = 0,
) -> BatchDecision:
    """Append one event to a batch holding `batch_size_before` events (0 = no open batch).

    `batch_bytes_after` (optional) is the batch's stored size including this event; reaching
    `MAX_BATCH_BYTES` fills the batch like reaching `max_size` does.
    """
    size = max(batch_size_before, 0) + 1
    if size >= cfg.max_size:
        return BatchDecision("full", size, fire_now=True, schedule_at_ms=None)
    if batch_bytes_after >= MAX_BATCH_BYTES:
        return BatchDecision("maxsize", size, fire_now=True, schedule_at_ms=None)
    if size == 1:
        return BatchDecision(
            "new", size, fire_now=False, schedule_at_ms=now_ms + cfg.timeout_ms
        )
    return BatchDecision("append", size, fire_now=False, schedule_at_ms=None)
