"""ULIDs: fresh ones, and the deterministic event ids of `x-inngest-event-id-seed`."""

from __future__ import annotations

import base64
import binascii
from typing import Final

from ulid import ULID

__all__ = ["EVENT_ID_SEED_HEADER", "new_ulid", "seeded_event_ids", "ulid_ms"]

EVENT_ID_SEED_HEADER: Final[str] = "x-inngest-event-id-seed"
_ENTROPY_LEN: Final[int] = 10
_MAX_MS: Final[int] = 2**48 - 1
_UINT32: Final[int] = 2**32


def new_ulid(now_ms: int | None = None) -> str:
    """A new ULID string; monotonic within one millisecond in this process.

    With `now_ms` the timestamp part is that instant instead of the clock.
    """
    if now_ms is None:
        return str(ULID())
    return str(ULID.from_timestamp(int(now_ms)))  # an int is taken as milliseconds


def _bad_seed(header: str, why: str) -> ValueError:
    return ValueError(f"malformed event id seed {header!r}: {why}")


def seeded_event_ids(seed_header: str, count: int) -> list[str]:
    """The ids of `count` events sent with `x-inngest-event-id-seed: "<millis>,<base64>"`.

    Event i (counting from 1, as Go's `/e/` handler does) adds i to the last 4 bytes of the
    10-byte entropy as a big-endian uint32, wrapping (Go `pkg/event/id.go`). Raises ValueError
    if the header is malformed.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    millis_text, comma, entropy_text = seed_header.strip().partition(",")
    if not comma or "," in entropy_text:
        raise _bad_seed(seed_header, "expected '<millis>,<base64>'")
    if not millis_text.isascii() or not millis_text.isdigit():
        raise _bad_seed(seed_header, "bad milliseconds")
    millis = int(millis_text)
    if not 0 < millis <= _MAX_MS:
        raise _bad_seed(seed_header, "milliseconds out of range")
    try:
        entropy = base64.b64decode(entropy_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad_seed(seed_header, "bad base64") from exc
    if len(entropy) != _ENTROPY_LEN:
        raise _bad_seed(seed_header, "entropy must be 10 bytes")
    head = millis.to_bytes(6, "big") + entropy[:6]
    counter = int.from_bytes(entropy[6:], "big")
    return [
        str(ULID(head + ((counter + i) % _UINT32).to_bytes(4, "big")))
        for i in range(1, count + 1)
    ]


def ulid_ms(ulid: str) -> int:
    """The millisecond timestamp of a ULID string; raises ValueError if it is not one."""
    return ULID.from_str(ulid).milliseconds
