"""GCRA (Generic Cell Rate Algorithm) for throttle and rate limit, as Inngest runs it."""

from __future__ import annotations

from dataclasses import dataclass

# Inngest's Lua (`pkg/constraintapi/lua/helper/gcra.lua`, `pkg/execution/ratelimit/lua/
# ratelimit.lua`) keeps one number per key, the theoretical arrival time (TAT). With emission
# interval `e = period / limit` and delay tolerance `dvt = e * (burst + 1)`, a request at `now`
# is admitted when `max(tat, now) + e - dvt <= now`, and then `tat = max(tat, now) + e`.
# So `burst` here means "extra requests admitted at once on top of one": `burst + 1` fit into an
# idle bucket, then one every `e`.
#
# The two features feed it different bursts (both are Go facts, not choices):
#
# * Throttle (`throttle_burst`): `limit + burst - 1` (`acquire.lua`: "allow consuming all
#   capacity in one request"; the old queue `gcra.lua` did the same). An idle throttle of
#   `limit` per `period` with the user's `burst` admits `limit + burst` starts at once, then one
#   every `period / limit`. The user's burst defaults to 0 (`Throttle.UnmarshalJSON`).
# * Rate limit (`rate_limit_burst`): `limit // 10` (`ratelimit_lua.go`, `constraintapi/lua.go`).
#   So 1/24h (idempotency) admits exactly one; 10/min admits 2 at once, then one per 6 s.
#
# Times are integer ms. `e` may be fractional; the admission test is exact (integer cross
# multiplication) and the stored TAT advances by `ceil(e)`, which can only make the limiter
# slightly stricter (≤1 ms per admission), never admit more than configured. A key's state can
# be dropped once `now >= tat` (an absent TAT behaves exactly like one in the past).

__all__ = [
    "GCRAResult",
    "gcra",
    "rate_limit",
    "rate_limit_burst",
    "throttle",
    "throttle_burst",
]


@dataclass(frozen=True, slots=True)
class GCRAResult:
    """`allowed`; `new_tat_ms` to store (unchanged when rejected); `retry_at_ms`: the earliest
    time the next request would be admitted (after this one, if it was admitted)."""

    allowed: bool
    new_tat_ms: int
    retry_at_ms: int


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def gcra(
    tat_ms: int | None, now_ms: int, *, limit: int, period_ms: int, burst: int
) -> GCRAResult:
    """Admit one request at `now_ms` against the stored TAT (None = never used).

    `limit` < 1 is treated as 1 (as the Lua does); `burst` < 0 as 0; `period_ms` must be > 0.
    """
    if period_ms <= 0:
        raise ValueError(f"period_ms must be positive, got {period_ms}")
    limit = max(limit, 1)
    burst = max(burst, 0)
    base = now_ms if tat_ms is None else max(tat_ms, now_ms)
    # allow_at = base + e - dvt = base - e*burst; admitted iff allow_at <= now.
    # Compared exactly as base*limit - period*burst <= now*limit.
    tolerance_ms = period_ms * burst // limit  # floor(e * burst)
    if base * limit - period_ms * burst > now_ms * limit:
        # ceil(base - e*burst) = base - floor(e*burst)
        return GCRAResult(
            allowed=False,
            new_tat_ms=base,
            retry_at_ms=base - tolerance_ms,
        )
    new_tat = base + _ceil_div(period_ms, limit)
    return GCRAResult(
        allowed=True,
        new_tat_ms=new_tat,
        retry_at_ms=max(now_ms, new_tat - tolerance_ms),
    )


def throttle_burst(limit: int, burst: int) -> int:
    """The GCRA burst for a throttle `{limit, burst}`: `limit + burst - 1` (Go acquire.lua)."""
    return max(limit, 1) + max(burst, 0) - 1


def rate_limit_burst(limit: int) -> int:
    """The GCRA burst for a rate limit `{limit}`: `limit // 10` (Go ratelimit_lua.go)."""
    return max(limit, 0) // 10


def throttle(
    tat_ms: int | None, now_ms: int, *, limit: int, period_ms: int, burst: int
) -> GCRAResult:
    """GCRA for a function's throttle config (user `burst`, default 0)."""
    return gcra(
        tat_ms,
        now_ms,
        limit=limit,
        period_ms=period_ms,
        burst=throttle_burst(limit, burst),
    )


def rate_limit(
    tat_ms: int | None, now_ms: int, *, limit: int, period_ms: int
) -> GCRAResult:
    """GCRA for a function's rateLimit (or idempotency: limit 1, 24 h)."""
    return gcra(
        tat_ms,
        now_ms,
        limit=limit,
        period_ms=period_ms,
        burst=rate_limit_burst(limit),
    )
