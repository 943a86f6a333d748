"""Unit tests for inngestd.flow.concurrency."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from inngestd.domain.expressions import compile_expression
from inngestd.domain.flow_config import ConcurrencyLimit
from inngestd.flow.concurrency import ConcurrencyKey, concurrency_keys, scope_prefix
from inngestd.flow.keys import xxh64_hex

FN = "app-fn"
EVENT = {"name": "app/x", "data": {"user": "u1", "n": 7}}


def cel(expr: str, event: Mapping[str, Any]) -> object:
    return compile_expression(expr).evaluate({"event": event})


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ([], []),
        ([ConcurrencyLimit(5)], [ConcurrencyKey(f"f:{FN}", 5)]),
        ([ConcurrencyLimit(0)], []),
        ([ConcurrencyLimit(0, "event.data.user")], []),
        (
            [ConcurrencyLimit(2, "event.data.user")],
            [ConcurrencyKey(f"f:{FN}:{xxh64_hex('u1')}", 2)],
        ),
        (
            [ConcurrencyLimit(3, "event.data.user", "env")],
            [ConcurrencyKey(f"e:env:{xxh64_hex('u1')}", 3)],
        ),
        (
            [ConcurrencyLimit(1, "'global'", "account"), ConcurrencyLimit(10)],
            [
                ConcurrencyKey(f"a:account:{xxh64_hex('global')}", 1),
                ConcurrencyKey(f"f:{FN}", 10),
            ],
        ),
        (
            [ConcurrencyLimit(4, "event.data.n")],
            [ConcurrencyKey(f"f:{FN}:{xxh64_hex('7')}", 4)],
        ),
    ],
)
def test_concurrency_keys(
    limits: list[ConcurrencyLimit], expected: list[ConcurrencyKey]
) -> None:
    assert concurrency_keys(FN, limits, EVENT, evaluate=cel) == expected


def test_evaluation_error_uses_invalid_key() -> None:
    keys = concurrency_keys(
        FN, [ConcurrencyLimit(2, "event.data.nope.deeper")], EVENT, evaluate=cel
    )
    assert keys == [ConcurrencyKey(f"f:{FN}:{xxh64_hex('<invalid>')}", 2)]


def test_same_value_shares_a_key_across_functions_only_outside_fn_scope() -> None:
    fn_scope = [ConcurrencyLimit(1, "event.data.user")]
    acct = [ConcurrencyLimit(1, "event.data.user", "account")]
    assert concurrency_keys("a", fn_scope, EVENT, evaluate=cel) != concurrency_keys(
        "b", fn_scope, EVENT, evaluate=cel
    )
    assert concurrency_keys("a", acct, EVENT, evaluate=cel) == concurrency_keys(
        "b", acct, EVENT, evaluate=cel
    )


def test_evaluator_is_injected() -> None:
    seen: list[tuple[str, Mapping[str, Any]]] = []

    def fake(expr: str, event: Mapping[str, Any]) -> object:
        seen.append((expr, event))
        return {"k": 1}

    keys = concurrency_keys(FN, [ConcurrencyLimit(1, "whatever")], EVENT, evaluate=fake)
    assert seen == [("whatever", EVENT)]
    digest = xxh64_hex('{"k":1}')
    assert keys == [ConcurrencyKey(f"f:{FN}:{digest}", 1)]


def test_keyless_env_limit_is_skipped() -> None:
    # Rejected at registration; never produces a key.
    assert (
        concurrency_keys(FN, [ConcurrencyLimit(1, None, "env")], EVENT, evaluate=cel)
        == []
    )


@pytest.mark.parametrize(
    ("scope", "prefix"), [("fn", "f"), ("env", "e"), ("account", "a")]
)
def test_scope_prefix(scope: Any, prefix: str) -> None:
    assert scope_prefix(scope) == prefix
