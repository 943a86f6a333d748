"""Unit tests for inngestd.wire.sync.parse_register (the SDK registration payload)."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from inngestd import errors
from inngestd.domain.functions import CancelOn, Trigger
from inngestd.wire.sync import parse_register

APP_URL = "http://testserver/api/inngest"

# protocol.md §1.5: a capture of a real Python SDK 0.5.18 registration, without its
# batchEvents (the capture combines batching with cancel and singleton, which the real
# server rejects; see test_the_captured_batching_combination_is_rejected).
CAPTURED_PY_WITH_BATCH = b"""
{"appname":"my-app",
 "capabilities":{"connect":"v1","in_band_sync":"v1","trust_probe":"v1"},
 "deploy_type":"ping","framework":"fast_api","sdk":"py:v0.5.18",
 "url":"http://testserver/api/inngest","v":"0.1",
 "functions":[
  {"id":"my-app-demo","name":"demo",
   "steps":{"step":{"id":"step","name":"step","retries":{"attempts":2},
     "runtime":{"type":"http","url":"http://testserver/api/inngest?fnId=my-app-demo&stepId=step"}}},
   "triggers":[{"event":"app/demo"}]},
  {"id":"my-app-full","name":"Full config",
   "batchEvents":{"maxSize":10,"timeout":"5s","key":"event.data.k"},
   "cancel":[{"event":"app/cancel","if":"event.data.id == async.data.id","timeout":"1h"}],
   "concurrency":[{"key":"event.data.user","limit":2,"scope":"fn"}],
   "idempotency":"event.data.id",
   "priority":{"run":"event.data.prio"},
   "rateLimit":{"key":"event.data.user","limit":10,"period":"1m"},
   "throttle":{"key":"event.data.user","limit":5,"period":"10s","burst":2},
   "timeouts":{"start":"30s","finish":"5m"},
   "singleton":{"key":"event.data.user","mode":"skip"},
   "steps":{"step":{"id":"step","name":"step","retries":{"attempts":3},
     "runtime":{"type":"http","url":"http://testserver/api/inngest?fnId=my-app-full&stepId=step"}}},
   "triggers":[{"event":"app/full","expression":"event.data.ok == true"},{"cron":"*/5 * * * *"}]},
  {"id":"my-app-full-failure","name":"Full config (failure)","cancel":[],"concurrency":[],
   "steps":{"step":{"id":"step","name":"step","retries":{"attempts":0},
     "runtime":{"type":"http","url":"http://testserver/api/inngest?fnId=my-app-full-failure&stepId=step"}}},
   "triggers":[{"event":"inngest/function.failed","expression":"event.data.function_id == 'my-app-full'"}]}
 ]}
"""


def function(fid: str = "my-app-fn", **overrides: Any) -> dict[str, Any]:
    fn: dict[str, Any] = {
        "id": fid,
        "name": fid,
        "triggers": [{"event": "app/go"}],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "runtime": {"type": "http", "url": f"{APP_URL}?fnId={fid}&stepId=step"},
            }
        },
    }
    fn.update(overrides)
    return fn


def payload(*functions: dict[str, Any], app_key: str = "appname") -> dict[str, Any]:
    return {
        app_key: "my-app",
        "url": APP_URL,
        "sdk": "js:v4.18.1",
        "framework": "express",
        "functions": list(functions) or [function()],
    }


def register(body: dict[str, Any]) -> Any:
    return parse_register(orjson.dumps(body))


def with_retries(attempts: Any) -> dict[str, Any]:
    fn = function()
    fn["steps"]["step"]["retries"] = {"attempts": attempts}
    return fn


CAPTURED_PY = CAPTURED_PY_WITH_BATCH.replace(
    b"""   "batchEvents":{"maxSize":10,"timeout":"5s","key":"event.data.k"},\n""", b""
)


def test_the_captured_batching_combination_is_rejected() -> None:
    with pytest.raises(errors.InvalidFunctionConfig) as exc:
        parse_register(CAPTURED_PY_WITH_BATCH)
    assert "'my-app-full'" in str(exc.value)
    assert "batchEvents" in str(exc.value)


def test_the_captured_python_payload_parses() -> None:
    app, functions = parse_register(CAPTURED_PY)
    assert app.id == "my-app"
    assert app.url == APP_URL
    assert app.sdk == "py:v0.5.18"
    assert app.framework == "fast_api"
    assert len(app.checksum) == 64
    assert app.functions == tuple(functions)
    fns = {f.id: f for f in functions}
    assert list(fns) == ["my-app-demo", "my-app-full", "my-app-full-failure"]

    demo = fns["my-app-demo"]
    assert demo.name == "demo"
    assert demo.app_id == "my-app"
    assert demo.url == f"{APP_URL}?fnId=my-app-demo&stepId=step"
    assert demo.triggers == (Trigger(event="app/demo"),)
    assert demo.retries == 2
    assert demo.max_attempts == 3

    full = fns["my-app-full"]
    assert full.triggers == (
        Trigger(event="app/full", expression="event.data.ok == true"),
        Trigger(cron="*/5 * * * *"),
    )
    assert full.retries == 3
    assert full.cancel == (
        CancelOn("app/cancel", "event.data.id == async.data.id", 3_600_000),
    )
    assert orjson.loads(full.config)["throttle"] == {
        "key": "event.data.user",
        "limit": 5,
        "period": "10s",
        "burst": 2,
    }

    failure = fns["my-app-full-failure"]
    assert failure.retries == 0
    assert failure.cancel == ()
    assert failure.triggers == (
        Trigger(
            event="inngest/function.failed",
            expression="event.data.function_id == 'my-app-full'",
        ),
    )


@pytest.mark.parametrize("key", ["appname", "appName"])
def test_both_app_name_spellings(key: str) -> None:
    app, functions = register(payload(app_key=key))
    assert app.id == "my-app"
    assert [f.app_id for f in functions] == ["my-app"]


def test_defaults_for_name_and_retries() -> None:
    fn = function()
    del fn["name"]
    _app, [parsed] = register(payload(fn))
    assert parsed.name == "my-app-fn"
    assert parsed.retries == 4


def test_missing_app_name_or_url() -> None:
    body = payload()
    del body["appname"]
    with pytest.raises(errors.InvalidInput, match="appName"):
        register(body)
    body = payload()
    del body["url"]
    with pytest.raises(errors.InvalidInput, match="'url'"):
        register(body)


def test_invalid_json() -> None:
    with pytest.raises(errors.InvalidInput):
        parse_register(b"{nope")
    with pytest.raises(errors.InvalidInput):
        parse_register(b"[]")


def _fails(fn: dict[str, Any], field: str) -> str:
    with pytest.raises(errors.InvalidFunctionConfig) as info:
        register(payload(function("my-app-ok"), fn))
    message = str(info.value)
    assert "my-app-fn" in message
    assert field in message
    return message


def test_missing_triggers_name_the_function_and_field() -> None:
    fn = function()
    del fn["triggers"]
    _fails(fn, "triggers")
    _fails(function(triggers=[]), "triggers")


def test_a_trigger_without_event_or_cron() -> None:
    _fails(function(triggers=[{"expression": "true"}]), "triggers[0]")


def test_a_bad_trigger_expression_names_the_field() -> None:
    _fails(
        function(triggers=[{"event": "app/go", "expression": "event.data.x =="}]),
        "triggers[0].expression",
    )


def test_a_bad_cancel_expression_names_the_field() -> None:
    _fails(function(cancel=[{"event": "app/c", "if": "(("}]), "cancel[0].if")


def test_a_bad_flow_control_expression_names_the_field() -> None:
    _fails(
        function(concurrency=[{"limit": 1, "key": "event.data.user =="}]),
        "concurrency[0].key",
    )


@pytest.mark.parametrize("attempts", [21, -1, 100])
def test_retries_out_of_range(attempts: int) -> None:
    message = _fails(with_retries(attempts), "retries")
    assert str(attempts) in message


@pytest.mark.parametrize("attempts", ["3", 2.5, True, None, [1]])
def test_retries_of_the_wrong_type(attempts: Any) -> None:
    _fails(with_retries(attempts), "retries")


@pytest.mark.parametrize("attempts", [0, 20])
def test_retries_at_the_bounds(attempts: int) -> None:
    _app, [parsed] = register(payload(with_retries(attempts)))
    assert parsed.retries == attempts


def test_missing_runtime_url_names_the_field() -> None:
    fn = function()
    del fn["steps"]["step"]["runtime"]["url"]
    _fails(fn, "runtime.url")
    fn = function()
    del fn["steps"]["step"]["runtime"]
    _fails(fn, "runtime.url")


def test_missing_steps() -> None:
    fn = function()
    del fn["steps"]
    _fails(fn, "steps")


def test_duplicate_function_ids() -> None:
    with pytest.raises(errors.InvalidFunctionConfig, match=r"my-app-fn.*duplicate"):
        register(payload(function(), function()))


def _reverse_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value


def test_checksum_is_stable_across_key_order() -> None:
    raw = orjson.loads(CAPTURED_PY)
    reordered = _reverse_keys(raw)
    assert list(reordered) != list(raw)
    app, _ = parse_register(CAPTURED_PY)
    same, _ = register(reordered)
    assert same.checksum == app.checksum
    assert parse_register(CAPTURED_PY)[0].checksum == app.checksum


def test_checksum_changes_with_the_content() -> None:
    raw = orjson.loads(CAPTURED_PY)
    changed = copy.deepcopy(raw)
    changed["functions"][0]["triggers"] = [{"event": "app/other"}]
    assert register(changed)[0].checksum != register(raw)[0].checksum
