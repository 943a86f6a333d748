"""Unit tests for inngestd.flow.keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import xxhash

from inngestd.domain.expressions import compile_expression
from inngestd.flow.keys import (
    INVALID_KEY,
    KeyResult,
    hashed_key,
    key_value,
    render_value,
    xxh64_hex,
)


def cel(expr: str, event: Mapping[str, Any]) -> object:
    return compile_expression(expr).evaluate({"event": event})


EVENT = {
    "name": "app/x",
    "data": {"user": "u1", "n": 42, "ok": False, "f": 2.0, "m": {"b": 1, "a": [1, 2]}},
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "abc"),
        ("", ""),
        (42, "42"),
        (-1, "-1"),
        (2.0, "2"),
        (2.5, "2.5"),
        (True, "true"),
        (None, "null"),
        ([1, "a"], '[1,"a"]'),
        ({"b": 1, "a": [1, 2]}, '{"a":[1,2],"b":1}'),
        (b"\x00", "b'\\x00'"),
    ],
)
def test_render_value(value: object, expected: str) -> None:
    assert render_value(value) == expected


def test_xxh64_hex_is_xxh64_of_utf8() -> None:
    assert xxh64_hex("abc") == "44bc2cf5ad770999"
    assert xxh64_hex("é") == xxhash.xxh64("é".encode()).hexdigest()


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("u1", "u1", True),
        ("42", 42, True),  # Go hashes the string form, so these collide there too
        (2.0, 2, True),
        ("u1", "u2", False),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),
    ],
)
def test_hashed_key(a: object, b: object, same: bool) -> None:
    assert (hashed_key("fn", a) == hashed_key("fn", b)) is same
    assert hashed_key("fn", a).startswith("fn-")
    assert hashed_key("fn", a) != hashed_key("other", a)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (None, KeyResult("none")),
        ("", KeyResult("none")),
        ("event.data.user", KeyResult("value", value="u1")),
        ("event.data.n", KeyResult("value", value="42")),
        ("event.data.f", KeyResult("value", value="2")),
        ("event.data.m", KeyResult("value", value='{"a":[1,2],"b":1}')),
        ("event.data.ok", KeyResult("false")),  # false ⇒ not limited / not a singleton
        ("event.data.n > 100", KeyResult("false")),
        ("event.data.n > 1", KeyResult("value", value="true")),
    ],
)
def test_key_value_with_cel(expr: str | None, expected: KeyResult) -> None:
    assert key_value(expr, EVENT, cel) == expected


def test_key_value_error() -> None:
    result = key_value("event.data.missing.deeper", EVENT, cel)
    assert result.kind == "error"
    assert result.error
    assert result.value is None
    assert result.value_or_invalid == INVALID_KEY == "<invalid>"


def test_key_value_error_from_any_evaluator() -> None:
    def boom(expr: str, event: Mapping[str, Any]) -> object:
        raise KeyError(expr)

    assert key_value("x", {}, boom).kind == "error"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (KeyResult("none"), None),
        (KeyResult("false"), None),
        (KeyResult("value", value="v"), "v"),
        (KeyResult("error", error="e"), "<invalid>"),
    ],
)
def test_value_or_invalid(result: KeyResult, expected: str | None) -> None:
    assert result.value_or_invalid == expected
