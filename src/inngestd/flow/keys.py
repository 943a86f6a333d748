"""Flow-control keys: render a CEL key result as text and hash it with xxh64."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson
import xxhash

__all__ = [
    "INVALID_KEY",
    "Evaluator",
    "KeyKind",
    "KeyResult",
    "hashed_key",
    "key_value",
    "render_value",
    "xxh64_hex",
]

#: The key value used when a key expression fails to evaluate (Go: debounce `"<invalid>"`).
INVALID_KEY: Final[str] = "<invalid>"

#: `evaluate(expr, event) -> value`; raises on an evaluation error. Injected to keep this pure.
Evaluator = Callable[[str, Mapping[str, Any]], object]

KeyKind = Literal["none", "value", "false", "error"]

# Go's `fmt.Sprintf("%v", float64)` prints integral floats without a fraction below 1e21.
_INTEGRAL_FLOAT_LIMIT: Final[float] = 1e21


def xxh64_hex(text: str) -> str:
    """The xxh64 (seed 0) hex digest of `text` encoded as UTF-8."""
    return xxhash.xxh64(text.encode("utf-8")).hexdigest()


def render_value(value: object) -> str:
    """The string form of a CEL result used for hashing.

    A string is used as is (so `"abc"` and `abc` hash alike, as in Go, which hashes a string
    result raw and anything else via `%v`); an integral float prints as an int (`1.0` → `1`,
    like Go's `%v`); everything else is compact JSON with sorted keys (`true`, `null`,
    `[1,2]`, `{"a":1}`), falling back to `str()` for values JSON cannot hold.
    """
    if isinstance(value, str):
        return value
    if (
        isinstance(value, float)
        and math.isfinite(value)
        and value.is_integer()
        and abs(value) < _INTEGRAL_FLOAT_LIMIT
    ):
        return str(int(value))
    try:
        return orjson.dumps(
            value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        ).decode()
    except TypeError:
        return str(value)


def hashed_key(prefix: str, value: object) -> str:
    """`<prefix>-<xxh64 hex of render_value(value)>`: the key for throttle, rate limit,
    debounce, batch, singleton and idempotency buckets (Go: `<fnID>-<xxhash(value)>`)."""
    return f"{prefix}-{xxh64_hex(render_value(value))}"


@dataclass(frozen=True, slots=True)
class KeyResult:
    """The outcome of evaluating an optional key expression for one event.

    * `none`  — no expression configured: one bucket for the whole function.
    * `value` — `value` holds the rendered result.
    * `false` — the expression returned boolean `false`: for rateLimit and singleton this
      means "not limited / not a singleton" (Go `ErrNotRateLimited`, `ErrNotASingleton`).
    * `error` — evaluation failed; `error` holds the message. What to do is per feature:
      debounce and concurrency use `INVALID_KEY`, singleton ignores the lock, rate limit
      fails the schedule in Go.
    """

    kind: KeyKind
    value: str | None = None
    error: str | None = None

    @property
    def value_or_invalid(self) -> str | None:
        """`value`, `INVALID_KEY` for an error, None for `none` and `false`."""
        if self.kind == "value":
            return self.value
        if self.kind == "error":
            return INVALID_KEY
        return None


def key_value(
    expr: str | None, event: Mapping[str, Any], evaluate: Evaluator
) -> KeyResult:
    """Evaluate the key expression `expr` against `event` (see `KeyResult`)."""
    if expr is None or expr == "":
        return KeyResult("none")
    try:
        result = evaluate(expr, event)
    except Exception as exc:  # the evaluator is injected; any failure is an eval error
        return KeyResult("error", error=str(exc) or type(exc).__name__)
    if result is False:
        return KeyResult("false")
    return KeyResult("value", value=render_value(result))
