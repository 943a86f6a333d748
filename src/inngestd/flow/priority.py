"""Run priority: turn the `priority.run` CEL result into a queue-score offset in ms."""

from __future__ import annotations

from typing import Final

__all__ = ["PRIORITY_FACTOR_MAX_S", "PRIORITY_FACTOR_MIN_S", "priority_factor_ms"]

# pkg/consts/consts.go PriorityFactorMin/Max: ±12 h. The SDK docs and docs/SDK_SPEC.md say
# -600..600 s; the server clamps at ±43 200 s, and we follow the server.
PRIORITY_FACTOR_MAX_S: Final[int] = 12 * 60 * 60
PRIORITY_FACTOR_MIN_S: Final[int] = -PRIORITY_FACTOR_MAX_S


def priority_factor_ms(value: object) -> int:
    """The priority factor in milliseconds for a `priority.run` result in seconds.

    Only an int counts (Go `RunPriorityFactor` accepts int/int64 and treats anything else as
    an error, i.e. factor 0): bool, float, str, None and the rest give 0. The result is
    clamped to ±43 200 s before converting. A positive factor runs the item earlier.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    seconds = max(PRIORITY_FACTOR_MIN_S, min(PRIORITY_FACTOR_MAX_S, value))
    return seconds * 1000
