"""Unit tests for inngestd.domain.flow_config."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from inngestd import errors
from inngestd.domain.flow_config import (
    Batch,
    ConcurrencyLimit,
    Debounce,
    FlowConfig,
    Priority,
    RateLimit,
    Singleton,
    Throttle,
    Timeouts,
    from_json,
    parse_flow_config,
    to_json,
)

S = 1_000
M = 60 * S
H = 60 * M
D = 24 * H
FN = "my-app-fn"


def parse(**fields: Any) -> FlowConfig:
    return parse_flow_config(FN, {"id": FN, "name": "fn", **fields})


def fails(match: str, **fields: Any) -> str:
    with pytest.raises(errors.InvalidFunctionConfig) as info:
        parse(**fields)
    message = str(info.value)
    assert message.startswith(f"function '{FN}': field '")
    assert match in message, message
    return message


def test_empty_function_has_no_flow_control() -> None:
    assert parse() == FlowConfig()
    assert parse().partition_limit == 0


# -- concurrency ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (5, (ConcurrencyLimit(5),)),  # TS number
        (0, (ConcurrencyLimit(0),)),  # 0 = unlimited
        ({"limit": 3}, (ConcurrencyLimit(3),)),  # TS object
        (
            {"limit": 3, "key": "event.data.user", "scope": "env"},
            (ConcurrencyLimit(3, "event.data.user", "env"),),
        ),
        (
            [{"limit": 2, "key": "event.data.user", "scope": "fn"}],  # Python list
            (ConcurrencyLimit(2, "event.data.user", "fn"),),
        ),
        (
            [{"limit": 10}, {"limit": 1, "key": "'global'", "scope": "account"}],
            (ConcurrencyLimit(1, "'global'", "account"), ConcurrencyLimit(10)),
        ),
        ([{"limit": 4, "key": ""}], (ConcurrencyLimit(4),)),  # empty key = no key
        ([{"limit": 4, "scope": "FN"}], (ConcurrencyLimit(4),)),
        ([], ()),
        (None, ()),
    ],
)
def test_concurrency_forms(raw: Any, expected: tuple[ConcurrencyLimit, ...]) -> None:
    assert parse(concurrency=raw).concurrency == expected


def test_concurrency_sorted_ascending_and_partition_limit() -> None:
    cfg = parse(
        concurrency=[{"limit": 7}, {"limit": 2, "key": "event.data.a"}],
    )
    assert [c.limit for c in cfg.concurrency] == [2, 7]
    assert cfg.partition_limit == 7
    assert cfg.custom_concurrency == (ConcurrencyLimit(2, "event.data.a"),)


def test_concurrency_fn_step_form() -> None:
    cfg = parse(
        concurrency={
            "fn": [{"limit": 3, "key": "event.data.user"}],
            "step": [{"limit": 5}],
        }
    )
    assert cfg.run_concurrency == ConcurrencyLimit(3, "event.data.user")
    assert cfg.concurrency == (ConcurrencyLimit(5),)


@pytest.mark.parametrize(
    ("raw", "path", "problem"),
    [
        ([{"limit": 1}, {"limit": 2}, {"limit": 3}], "concurrency", "at most 2"),
        ([{"limit": 1, "scope": "env"}], "concurrency[0].key", "required for 'env'"),
        ({"limit": 1, "scope": "account"}, "concurrency.key", "'account'"),
        ([{"limit": 1, "scope": "app"}], "concurrency[0].scope", "must be one of"),
        ([{"limit": -1}], "concurrency[0].limit", "at least 0"),
        ([{"limit": "5"}], "concurrency[0].limit", "integer"),
        ([{"limit": 1, "key": "event.data.("}], "concurrency[0].key", "invalid"),
        ([5], "concurrency[0]", "object"),
        ("five", "concurrency", "number, an object or an array"),
        (True, "concurrency", "number, an object or an array"),
        ({"fn": [{"limit": 1}, {"limit": 2}]}, "concurrency.fn", "only one"),
        ({"fn": [{"limit": 0}]}, "concurrency.fn[0].limit", "at least 1"),
        ({"fn": [{"limit": 1, "scope": "app"}]}, "concurrency.fn[0].scope", "'fn'"),
    ],
)
def test_concurrency_errors(raw: Any, path: str, problem: str) -> None:
    message = fails(problem, concurrency=raw)
    assert f"field '{path}'" in message


# -- throttle / rate limit / idempotency --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"limit": 5, "period": "10s", "burst": 2, "key": "event.data.user"},
            Throttle(5, 10 * S, 2, "event.data.user"),
        ),
        ({"limit": 0, "period": "1m"}, Throttle(1, M, 0)),  # limit 0 → 1, burst 0
        ({"limit": 1, "period": "1d"}, Throttle(1, D, 0)),
    ],
)
def test_throttle(raw: dict[str, Any], expected: Throttle) -> None:
    assert parse(throttle=raw).throttle == expected


@pytest.mark.parametrize(
    ("raw", "path", "problem"),
    [
        ({"limit": 1, "period": "500ms"}, "throttle.period", "at least 1s"),
        ({"limit": 1}, "throttle.period", "required"),
        ({"limit": 1, "period": "soon"}, "throttle.period", "invalid duration"),
        ({"limit": 1, "period": 10}, "throttle.period", "duration string"),
        ({"limit": -1, "period": "1s"}, "throttle.limit", "at least 0"),
        ({"limit": 1, "period": "1s", "burst": -1}, "throttle.burst", "at least 0"),
        ({"limit": 1, "period": "1s", "key": "event.("}, "throttle.key", "invalid"),
        ("1/s", "throttle", "object"),
    ],
)
def test_throttle_errors(raw: Any, path: str, problem: str) -> None:
    assert f"field '{path}'" in fails(problem, throttle=raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"limit": 10, "period": "1m"}, RateLimit(10, M)),
        (
            {"limit": 1, "period": "24h", "key": "event.data.u"},
            RateLimit(1, D, "event.data.u"),
        ),
    ],
)
def test_rate_limit(raw: dict[str, Any], expected: RateLimit) -> None:
    assert parse(rateLimit=raw).rate_limit == expected


@pytest.mark.parametrize(
    ("raw", "path", "problem"),
    [
        ({"limit": 1, "period": "25h"}, "rateLimit.period", "at most 1d"),
        ({"limit": 1, "period": "2d"}, "rateLimit.period", "at most 1d"),
        ({"limit": 0, "period": "1m"}, "rateLimit.limit", "at least 1"),
        ({"period": "1m"}, "rateLimit.limit", "required"),
        ({"limit": 1, "period": ""}, "rateLimit.period", "required"),
    ],
)
def test_rate_limit_errors(raw: Any, path: str, problem: str) -> None:
    assert f"field '{path}'" in fails(problem, rateLimit=raw)


def test_idempotency_becomes_a_24h_rate_limit_replacing_rate_limit() -> None:
    cfg = parse(
        idempotency="event.data.orderId",
        rateLimit={"limit": 10, "period": "1m"},
    )
    assert cfg.idempotency == "event.data.orderId"
    assert cfg.rate_limit == RateLimit(1, D, "event.data.orderId")


def test_idempotency_errors() -> None:
    fails("invalid expression", idempotency="event.data.(")
    fails("string expression", idempotency=5)


# -- debounce / batch / priority / singleton / timeouts ------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"period": "5s"}, Debounce(5 * S)),
        ({"period": "1s", "key": "", "timeout": "1m"}, Debounce(S, None, M)),
        ({"period": "7d", "key": "event.data.id"}, Debounce(7 * D, "event.data.id")),
    ],
)
def test_debounce(raw: dict[str, Any], expected: Debounce) -> None:
    assert parse(debounce=raw).debounce == expected


@pytest.mark.parametrize(
    ("raw", "path", "problem"),
    [
        ({"period": "999ms"}, "debounce.period", "at least 1s"),
        ({"period": "7d1s"}, "debounce.period", "at most 7d"),
        ({}, "debounce.period", "required"),
        ({"period": "5s", "timeout": "x"}, "debounce.timeout", "invalid duration"),
        ({"period": "5s", "key": "1 +"}, "debounce.key", "invalid"),
    ],
)
def test_debounce_errors(raw: Any, path: str, problem: str) -> None:
    assert f"field '{path}'" in fails(problem, debounce=raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"maxSize": 10, "timeout": "5s"}, Batch(10, 5 * S)),
        (
            {
                "maxSize": 2,
                "timeout": "1s",
                "key": "event.data.k",
                "if": "event.data.ok",
            },
            Batch(2, S, "event.data.k", "event.data.ok"),
        ),
        ({"maxSize": 100, "timeout": "1m"}, Batch(100, M)),
        ({"maxsize": 3, "timeout": "2s"}, Batch(3, 2 * S)),  # Go matches names loosely
    ],
)
def test_batch(raw: dict[str, Any], expected: Batch) -> None:
    assert parse(batchEvents=raw).batch == expected


@pytest.mark.parametrize(
    ("raw", "path", "problem"),
    [
        ({"maxSize": 1, "timeout": "5s"}, "batchEvents.maxSize", "at least 2"),
        ({"maxSize": 101, "timeout": "5s"}, "batchEvents.maxSize", "at most 100"),
        ({"timeout": "5s"}, "batchEvents.maxSize", "required"),
        ({"maxSize": 5, "timeout": "500ms"}, "batchEvents.timeout", "at least 1s"),
        ({"maxSize": 5}, "batchEvents.timeout", "required"),
        ({"maxSize": 5, "timeout": "5s", "if": "=="}, "batchEvents.if", "invalid"),
        ({"maxSize": 5, "timeout": "5s", "key": "=="}, "batchEvents.key", "invalid"),
    ],
)
def test_batch_errors(raw: Any, path: str, problem: str) -> None:
    assert f"field '{path}'" in fails(problem, batchEvents=raw)


def test_batch_size_cap_is_configurable() -> None:
    raw = {"id": FN, "batchEvents": {"maxSize": 500, "timeout": "5s"}}
    assert parse_flow_config(FN, raw, max_batch_size=500).batch == Batch(500, 5 * S)


@pytest.mark.parametrize(
    ("other", "name"),
    [
        ({"cancel": [{"event": "app/cancel"}]}, "cancel"),
        ({"debounce": {"period": "5s"}}, "debounce"),
        ({"singleton": {"mode": "skip"}}, "singleton"),
        ({"priority": {"run": "event.data.p"}}, "priority.run"),
    ],
)
def test_batch_cannot_be_combined(other: dict[str, Any], name: str) -> None:
    message = fails(
        f"cannot be combined with '{name}'",
        batchEvents={"maxSize": 5, "timeout": "5s"},
        **other,
    )
    assert message.startswith(f"function '{FN}': field 'batchEvents': ")


@pytest.mark.parametrize(
    "other",
    [{"cancel": []}, {"priority": {"run": None}}, {"priority": {}}],
)
def test_batch_allows_empty_cancel_and_priority(other: dict[str, Any]) -> None:
    cfg = parse(batchEvents={"maxSize": 5, "timeout": "5s"}, **other)
    assert cfg.batch == Batch(5, 5 * S)
    assert cfg.priority is None


def test_priority_singleton_timeouts() -> None:
    cfg = parse(
        priority={"run": "event.data.plan == 'pro' ? 120 : 0"},
        singleton={"mode": "cancel", "key": "event.data.user"},
        timeouts={"start": "30s", "finish": "5m"},
    )
    assert cfg.priority == Priority("event.data.plan == 'pro' ? 120 : 0")
    assert cfg.singleton == Singleton("cancel", "event.data.user")
    assert cfg.timeouts == Timeouts(30 * S, 5 * M)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, Singleton("skip")),  # Go's zero value
        ({"mode": "SKIP"}, Singleton("skip")),
        ({"mode": "cancel", "key": ""}, Singleton("cancel")),
    ],
)
def test_singleton_modes(raw: dict[str, Any], expected: Singleton) -> None:
    assert parse(singleton=raw).singleton == expected


@pytest.mark.parametrize(
    ("fields", "path", "problem"),
    [
        ({"singleton": {"mode": "replace"}}, "singleton.mode", "'skip' or 'cancel'"),
        ({"singleton": {"key": "a +"}}, "singleton.key", "invalid"),
        ({"priority": {"run": "1 +"}}, "priority.run", "invalid"),
        ({"priority": {"run": 5}}, "priority.run", "string expression"),
        ({"timeouts": {"start": "0s"}}, "timeouts.start", "at least"),
        ({"timeouts": {"finish": "later"}}, "timeouts.finish", "invalid duration"),
    ],
)
def test_other_errors(fields: dict[str, Any], path: str, problem: str) -> None:
    assert f"field '{path}'" in fails(problem, **fields)


def test_timeouts_only_one_side_and_none() -> None:
    assert parse(timeouts={"finish": "1h"}).timeouts == Timeouts(None, H)
    assert parse(timeouts={}).timeouts is None


def test_python_sdk_payload_demo_is_rejected_like_go() -> None:
    """protocol.md §1.5: the demo function combines batchEvents with cancel/singleton."""
    raw = {
        "id": "my-app-full",
        "batchEvents": {"maxSize": 10, "timeout": "5s", "key": "event.data.k"},
        "cancel": [{"event": "app/cancel", "if": "event.data.id == async.data.id"}],
        "concurrency": [{"key": "event.data.user", "limit": 2, "scope": "fn"}],
        "idempotency": "event.data.id",
        "priority": {"run": "event.data.prio"},
        "rateLimit": {"key": "event.data.user", "limit": 10, "period": "1m"},
        "throttle": {"key": "event.data.user", "limit": 5, "period": "10s", "burst": 2},
        "timeouts": {"start": "30s", "finish": "5m"},
        "singleton": {"key": "event.data.user", "mode": "skip"},
    }
    with pytest.raises(errors.InvalidFunctionConfig, match=r"'batchEvents'.*'cancel'"):
        parse_flow_config("my-app-full", raw)
    for field in ("batchEvents",):
        raw.pop(field)
    cfg = parse_flow_config("my-app-full", raw)
    assert cfg.throttle == Throttle(5, 10 * S, 2, "event.data.user")
    assert cfg.rate_limit == RateLimit(1, D, "event.data.id")


# -- storage ---------------------------------------------------------------------------------------

FULL = FlowConfig(
    concurrency=(ConcurrencyLimit(1, "'g'", "account"), ConcurrencyLimit(5)),
    run_concurrency=ConcurrencyLimit(2, "event.data.u"),
    throttle=Throttle(5, 10 * S, 2, "event.data.user"),
    rate_limit=RateLimit(1, D, "event.data.id"),
    debounce=Debounce(5 * S, "event.data.k", M),
    priority=Priority("event.data.p"),
    singleton=Singleton("cancel", None),
    timeouts=Timeouts(None, H),
    idempotency="event.data.id",
)


@pytest.mark.parametrize(
    "cfg",
    [FlowConfig(), FULL, FlowConfig(batch=Batch(10, 5 * S, None, "event.data.ok"))],
)
def test_json_round_trip(cfg: FlowConfig) -> None:
    data = to_json(cfg)
    assert from_json(data) == cfg
    assert from_json(orjson.dumps(data)) == cfg
    assert from_json(orjson.dumps(data).decode()) == cfg


def test_to_json_shape() -> None:
    assert to_json(FlowConfig()) == {}
    data = to_json(
        FlowConfig(throttle=Throttle(1, S), concurrency=(ConcurrencyLimit(3),))
    )
    assert data == {
        "concurrency": [{"limit": 3, "key": None, "scope": "fn"}],
        "throttle": {"limit": 1, "period_ms": 1000, "burst": 0, "key": None},
    }


def test_from_json_rejects_non_object() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        from_json("[]")
