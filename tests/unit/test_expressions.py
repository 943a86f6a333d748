"""Unit tests for inngestd.domain.expressions."""

from __future__ import annotations

import datetime

import pytest

from inngestd import errors
from inngestd.domain.expressions import (
    Bindings,
    Expression,
    ExpressionEvalError,
    bind,
    compile_expression,
)

EVENT = {
    "name": "a",
    "id": "01J0000000000000000000000",
    "ts": 1_700_000_000_000,
    "data": {
        "amount": 20,
        "id": "abc",
        "items": [1, 2, 3],
        "name": "alice",
        "n": 3,
        "quantity": 3,
        "price": 2.5,
        "shout": "HeLLo",
        "flag": True,
        "nothing": None,
        "nested": {"deep": {"value": 7}},
        "tags": ["x", "y"],
    },
    "user": {},
}
ASYNC = {"name": "b", "data": {"id": "abc", "amount": 5}}
VARS = {"event": EVENT, "async": ASYNC, "vars": {"limit": 10}}


@pytest.mark.parametrize(
    "source",
    [
        "event.data.amount > 10",
        "event.name == 'a'",
        'event.name == "a"',
        "event.data.id == async.data.id",
        "has(event.data.amount)",
        "!has(event.data.x)",
        "'amount' in event.data",
        "!('x' in event.data)",
        "size(event.data.items) > 2",
        "size(event.data.name) == 5",
        "event.data.name.startsWith('a')",
        "event.data.name.endsWith('ce')",
        "event.data.name.contains('lic')",
        "event.data.name.matches('^al.*e$')",
        "event.data.n == 3.0",
        "3.0 == event.data.n",
        "event.data.n < 3.5",
        "event.data.price > 2",
        "event.data.missing == 'x' || true",
        "true || event.data.missing == 'x'",
        "!(event.data.missing == 'x' && false)",
        "event.data.shout.lowerAscii() == 'hello'",
        "event.data.shout.upperAscii() == 'HELLO'",
        "event.data.quantity * 2 == 6",
        "event.data.quantity + 1 == 4",
        "event.data.flag",
        "event.data.nothing == null",
        "event.data.nested.deep.value == 7",
        "event.data['nested']['deep']['value'] == 7",
        "event.data.items.exists(i, i == 2)",
        "event.data.items.all(i, i > 0)",
        "event.data.items.filter(i, i > 1) == [2, 3]",
        "event.data.items.map(i, i * 2) == [2, 4, 6]",
        "'y' in event.data.tags",
        "event.data.amount > vars.limit",
        "async.data.amount < event.data.amount",
        "int(event.data.price) == 2",
        "string(event.data.amount) == '20'",
        "double(event.data.amount) == 20.0",
        "event.ts > 0",
        "timestamp('2024-01-01T00:00:00Z') < timestamp('2024-01-02T00:00:00Z')",
        "duration('1h') == duration('60m')",
        "event.name == 'a' && event.data.amount >= 20 && event.data.amount <= 20",
    ],
)
def test_matches_true(source: str) -> None:
    assert compile_expression(source).matches(VARS) is True


@pytest.mark.parametrize(
    "source",
    [
        "event.data.amount < 10",
        "event.name == 'b'",
        "has(event.data.x)",
        "'x' in event.data",
        "event.data.missing == 'x'",  # runtime error -> no match
        "event.data.missing.deeper == 1",
        "event.data.amount + 0.5 > 0.0",  # no int+double overload at runtime
        "event.data.amount",  # not a bool
        "event.name",
        "event.data.nothing",
        "event.data.flag == 1",  # bool vs int is not equal
        "1 / (event.data.amount - 20) == 0",  # division by zero
        "event.data.items[10] == 1",
        "async.data.id == 'nope'",
    ],
)
def test_matches_false(source: str) -> None:
    assert compile_expression(source).matches(VARS) is False


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("event.data.amount", 20),
        ("event.data.price", 2.5),
        ("event.data.name", "alice"),
        ("event.data.flag", True),
        ("event.data.nothing", None),
        ("event.data.items", [1, 2, 3]),
        ("event.data.nested", {"deep": {"value": 7}}),
        ("event.data.quantity * 2", 6),
        ("event.data.amount > 10", True),
        ("[1, 'a', null]", [1, "a", None]),
        ("{'k': event.data.id}", {"k": "abc"}),
        ("event.data.shout.lowerAscii()", "hello"),
        ("b'ab'", b"ab"),
        ("duration('90s')", datetime.timedelta(seconds=90)),
        (
            "timestamp('2024-01-01T00:00:00Z')",
            datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
        ),
        ("event.data.missing == 'x' || true", True),
    ],
)
def test_evaluate_values(source: str, expected: object) -> None:
    result = compile_expression(source).evaluate(VARS)
    assert result == expected
    assert type(result) is type(expected)


def test_evaluate_int_stays_int() -> None:
    result = compile_expression("event.data.quantity").evaluate(VARS)
    assert isinstance(result, int)
    assert not isinstance(result, bool)


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("event.data.missing == 'x'", "missing"),
        ("event.data.amount + 0.5", "overload"),
        ("1 / (event.data.amount - 20)", "divide by zero"),
        ("event.data.items[10]", "index"),
    ],
)
def test_evaluate_runtime_error(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionEvalError) as info:
        compile_expression(source).evaluate(VARS)
    message = str(info.value)
    assert repr(source) in message
    assert fragment in message.lower()
    assert isinstance(info.value, errors.InngestdError)


def test_missing_variable_is_a_runtime_error() -> None:
    expr = compile_expression("async.data.id == 'abc'")
    assert expr.matches({"event": EVENT}) is False
    with pytest.raises(ExpressionEvalError):
        expr.evaluate({"event": EVENT})


def test_unconvertible_value_does_not_raise_from_matches() -> None:
    expr = compile_expression("event.data.t == 1")
    assert expr.matches({"event": {"data": {"t": object()}}}) is False
    assert expr.matches({"event": {"data": {"t": 2**70}}}) is False
    with pytest.raises(ExpressionEvalError):
        expr.evaluate({"event": {"data": {"t": object()}}})


def test_accepts_non_dict_mapping() -> None:
    from types import MappingProxyType

    expr = compile_expression("event.name == 'a'")
    assert expr.matches(MappingProxyType({"event": {"name": "a"}})) is True


def test_async_is_only_a_key() -> None:
    expr = compile_expression("async.name == 'b' && event.name == 'a'")
    assert expr.matches({"event": EVENT, "async": ASYNC})


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("event.name ==", "syntax error"),
        ("event.data.x ++ 1", "syntax error"),
        ("foo.bar == 1", "undeclared reference"),
        ("steps.a == 1", "undeclared reference"),
        ("1 + 'a'", "no matching overload"),
        ("size(1)", "no matching overload"),
        ("", "empty"),
        ("   ", "empty"),
        ("event.name == 'unterminated", "syntax error"),
    ],
)
def test_compile_errors(source: str, fragment: str) -> None:
    with pytest.raises(errors.InvalidExpression) as info:
        compile_expression(source)
    message = str(info.value)
    assert repr(source) in message
    assert fragment in message.lower()
    assert "\n" not in message


def test_compile_error_reports_column() -> None:
    with pytest.raises(errors.InvalidExpression, match="column 14"):
        compile_expression("event.name ==")


def test_compile_is_cached() -> None:
    first = compile_expression("event.data.amount > 1")
    assert compile_expression("event.data.amount > 1") is first
    assert isinstance(first, Expression)
    assert first.source == "event.data.amount > 1"
    assert "event.data.amount > 1" in repr(first)


def test_expression_reusable_across_variables() -> None:
    expr = compile_expression("event.data.amount > 10")
    assert expr.matches({"event": {"data": {"amount": 11}}})
    assert not expr.matches({"event": {"data": {"amount": 9}}})
    assert expr.matches({"event": {"data": {"amount": 10.5}}})


def test_static_int_double_comparison_is_a_compile_error() -> None:
    # The checker knows both sides; `dyn` sides are only checked at runtime.
    with pytest.raises(errors.InvalidExpression, match="no matching overload"):
        compile_expression("1.5 > 1")
    assert compile_expression("event.data.price > 1").matches(VARS)


def test_bindings_reused_across_expressions() -> None:
    bound = bind(VARS)
    assert isinstance(bound, Bindings)
    assert compile_expression("event.data.amount > 10").matches(bound)
    assert compile_expression("event.data.id == async.data.id").matches(bound)
    assert not compile_expression("event.data.missing == 'x'").matches(bound)
    assert compile_expression("event.data.quantity * 2").evaluate(bound) == 6
    with pytest.raises(ExpressionEvalError):
        compile_expression("event.data.missing").evaluate(bound)
    # The binding still works after an error.
    assert compile_expression("event.name == 'a'").matches(bound)
