"""Concurrency keys of a run, evaluated once at schedule time from its first event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from inngestd.domain.flow_config import ConcurrencyLimit, ConcurrencyScope
from inngestd.flow.keys import INVALID_KEY, Evaluator, render_value, xxh64_hex

__all__ = ["ConcurrencyKey", "concurrency_keys", "scope_prefix"]

# pkg/util/concurrency_key.go ConcurrencyScopePrefix
_PREFIX: Final[dict[ConcurrencyScope, str]] = {"fn": "f", "env": "e", "account": "a"}


@dataclass(frozen=True, slots=True)
class ConcurrencyKey:
    """A slot pool: at most `limit` queue items holding `key` may be leased at once."""

    key: str
    limit: int


def scope_prefix(scope: ConcurrencyScope) -> str:
    """`f`, `e` or `a`."""
    return _PREFIX[scope]


def concurrency_keys(
    fn_id: str,
    limits: Iterable[ConcurrencyLimit],
    event: Mapping[str, Any],
    *,
    evaluate: Evaluator,
) -> list[ConcurrencyKey]:
    """The keys a run of `fn_id` triggered by `event` counts against, in `limits` order.

    * keyless fn limit → `f:<fn_id>` (the function's own limit);
    * keyed limit → `<f|e|a>:<scope id>:<xxh64 hex of the result's string form>`, scope id
      being `fn_id`, `env` or `account` (one environment and account in this server);
    * an evaluation error → the value `<invalid>` (all failing events share that key);
    * limit 0 (unlimited) → no key.

    `evaluate(expr, event)` returns the CEL result for `event` bound as `event`.
    """
    out: list[ConcurrencyKey] = []
    for item in limits:
        if item.limit <= 0:
            continue
        if item.key is None:
            if item.scope != "fn":
                continue  # invalid config (rejected at registration); nothing to key on
            out.append(ConcurrencyKey(key=f"f:{fn_id}", limit=item.limit))
            continue
        try:
            value = render_value(evaluate(item.key, event))
        except Exception:  # the evaluator is injected; any failure is an eval error
            value = INVALID_KEY
        scope_id = fn_id if item.scope == "fn" else item.scope
        out.append(
            ConcurrencyKey(
                key=f"{_PREFIX[item.scope]}:{scope_id}:{xxh64_hex(value)}",
                limit=item.limit,
            )
        )
    return out
