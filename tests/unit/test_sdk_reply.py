"""Unit tests for inngestd.sdk.parse_reply (protocol §3.2) and with_step."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import orjson
import pytest
from multidict import CIMultiDict

from inngestd.domain.ops import Completed, Failed, Op, Ops
from inngestd.sdk import parse_reply, with_step

NOW = 1_700_000_000_000
SDK = {"x-inngest-sdk": "inngest-py:v0.5.18"}

PY_OPS: list[dict[str, Any]] = [
    {
        "displayName": "first",
        "id": "e0996a37c13d44c3b06074939d43fa3759bd32c1",
        "name": "first",
        "op": "StepRun",
        "opts": None,
        "userland": {"id": "first", "index": None},
        "data": {"x": 1},
    },
    {
        "displayName": "boom",
        "id": "c53d2f1a",
        "name": "boom",
        "op": "StepError",
        "opts": None,
        "userland": {"id": "boom", "index": None},
        "error": {
            "code": "unknown",
            "message": "bad",
            "name": "ValueError",
            "stack": "tb",
        },
        "data": None,
    },
]


def reply(status: int, headers: dict[str, str], body: Any) -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return parse_reply(status, headers, raw, NOW)


# -- 200 ----------------------------------------------------------------------------------------
def test_200_from_an_sdk_completes() -> None:
    assert reply(200, SDK, b'{"ok":true}') == Completed(b'{"ok":true}')
    assert reply(200, SDK, b"null") == Completed(b"null")
    assert reply(200, SDK, b"") == Completed(b"null")


def test_200_headers_are_case_insensitive_as_aiohttp_gives_them() -> None:
    headers = CIMultiDict({"X-Inngest-SDK": "inngest-js:v4.18.1"})
    assert parse_reply(200, headers, b"1", NOW) == Completed(b"1")


def test_200_without_the_sdk_header_is_a_retryable_failure() -> None:
    outcome = reply(200, {"content-type": "text/html"}, b"<html>proxy</html>")
    assert isinstance(outcome, Failed)
    assert outcome.status == 200
    assert outcome.no_retry is False
    assert "X-Inngest-SDK" in outcome.message


# -- 206 ----------------------------------------------------------------------------------------
def test_206_list_of_ops() -> None:
    outcome = reply(206, {**SDK, "x-inngest-req-version": "2"}, PY_OPS)
    assert isinstance(outcome, Ops)
    assert outcome.request_version == 2
    run, err = outcome.ops
    assert run == Op(
        op="StepRun",
        id="e0996a37c13d44c3b06074939d43fa3759bd32c1",
        name="first",
        display_name="first",
        opts={},
        data={"x": 1},
        has_data=True,
        error=None,
    )
    assert run.label == "first"
    assert err.op == "StepError"
    assert err.error == PY_OPS[1]["error"]
    assert err.data is None


def test_206_single_object() -> None:
    outcome = reply(206, SDK, {"op": "Sleep", "id": "h", "name": "5s"})
    assert isinstance(outcome, Ops)
    [sleep] = outcome.ops
    assert (sleep.op, sleep.id, sleep.name) == ("Sleep", "h", "5s")
    assert sleep.has_data is False
    assert outcome.request_version is None


def test_206_empty_list_is_no_ops() -> None:
    assert reply(206, SDK, []) == Ops((), None)


def test_206_opts_are_kept() -> None:
    op = {"op": "StepPlanned", "id": "p", "opts": {"parallelMode": "race"}}
    outcome = reply(206, SDK, [op])
    assert isinstance(outcome, Ops)
    assert outcome.ops[0].opts == {"parallelMode": "race"}


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'[{"id": "x"}]', b'[{"op": 5}]', b'"StepRun"'],
)
def test_206_invalid_op_list_is_failed(body: bytes) -> None:
    outcome = reply(206, SDK, body)
    assert isinstance(outcome, Failed)
    assert outcome.status == 206
    assert outcome.body == body
    assert outcome.message


# -- errors -------------------------------------------------------------------------------------
PY_ERROR = {"code": "unknown", "message": "boom", "name": "ValueError", "stack": "tb"}


def test_500_is_a_retryable_failure() -> None:
    outcome = reply(500, SDK, PY_ERROR)
    assert isinstance(outcome, Failed)
    assert outcome.status == 500
    assert orjson.loads(outcome.body) == PY_ERROR
    assert outcome.no_retry is False
    assert outcome.retry_at_ms is None


def test_500_with_no_retry() -> None:
    outcome = reply(500, {**SDK, "x-inngest-no-retry": "true"}, PY_ERROR)
    assert isinstance(outcome, Failed)
    assert outcome.no_retry is True
    assert (
        reply(500, {**SDK, "x-inngest-no-retry": "false"}, PY_ERROR).no_retry is False
    )


def test_400_no_retry_from_typescript_with_canonical_header_case() -> None:
    headers = CIMultiDict(
        {"X-Inngest-SDK": "inngest-js:v4.18.1", "X-Inngest-No-Retry": "true"}
    )
    outcome = parse_reply(400, headers, b'{"name":"NonRetriableError"}', NOW)
    assert isinstance(outcome, Failed)
    assert outcome.no_retry is True


def test_500_with_retry_after_seconds() -> None:
    outcome = reply(500, {**SDK, "retry-after": "30"}, PY_ERROR)
    assert isinstance(outcome, Failed)
    assert outcome.retry_at_ms == NOW + 30_000


def test_500_with_retry_after_iso_date() -> None:
    # NOW is 2023-11-14T22:13:20Z; Python sends an ISO timestamp.
    outcome = reply(500, {**SDK, "retry-after": "2023-11-14T22:23:20.000Z"}, PY_ERROR)
    assert isinstance(outcome, Failed)
    assert outcome.retry_at_ms == NOW + 600_000


def test_an_error_reply_without_the_sdk_header_is_still_failed() -> None:
    outcome = reply(502, {}, b"bad gateway")
    assert isinstance(outcome, Failed)
    assert outcome.status == 502


# -- 201 streaming ------------------------------------------------------------------------------
def stream(inner: dict[str, Any]) -> bytes:
    return b"  \n   \n" + orjson.dumps(inner)


def test_201_stream_unwraps_a_200() -> None:
    raw = stream({"body": '{"ok":1}', "headers": {}, "status": 200})
    assert parse_reply(201, SDK, raw, NOW) == Completed(b'{"ok":1}')


def test_201_stream_unwraps_a_206() -> None:
    raw = stream(
        {
            "body": orjson.dumps(PY_OPS).decode(),
            "headers": {"X-Inngest-Req-Version": "2"},
            "status": 206,
        }
    )
    outcome = parse_reply(201, SDK, raw, NOW)
    assert isinstance(outcome, Ops)
    assert [o.op for o in outcome.ops] == ["StepRun", "StepError"]
    assert outcome.request_version == 2


def test_201_stream_unwraps_an_error_with_its_headers() -> None:
    raw = stream(
        {
            "body": orjson.dumps(PY_ERROR).decode(),
            "headers": {"X-Inngest-No-Retry": "true", "Retry-After": "10"},
            "status": 500,
        }
    )
    outcome = parse_reply(
        201, CIMultiDict({"X-Inngest-SDK": "inngest-py:v0.5.18"}), raw, NOW
    )
    assert isinstance(outcome, Failed)
    assert outcome.status == 500
    assert outcome.no_retry is True
    assert outcome.retry_at_ms == NOW + 10_000
    assert orjson.loads(outcome.body) == PY_ERROR


def test_201_stream_with_a_json_body_value() -> None:
    raw = stream({"body": {"ok": 1}, "status": 200})
    assert parse_reply(201, SDK, raw, NOW) == Completed(b'{"ok":1}')


def test_201_garbage_is_failed() -> None:
    outcome = parse_reply(201, SDK, b"   {truncated", NOW)
    assert isinstance(outcome, Failed)
    assert outcome.status == 201


# -- with_step ----------------------------------------------------------------------------------
def test_with_step_replaces_step_id_and_keeps_other_params() -> None:
    url = "http://127.0.0.1:8000/api/inngest?fnId=my-app-fn&stepId=step&x=1&empty="
    out = with_step(url, "e0996a37")
    parts = urlsplit(out)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "http",
        "127.0.0.1:8000",
        "/api/inngest",
    )
    assert parse_qsl(parts.query, keep_blank_values=True) == [
        ("fnId", "my-app-fn"),
        ("x", "1"),
        ("empty", ""),
        ("stepId", "e0996a37"),
    ]


def test_with_step_adds_step_id_to_a_url_without_query() -> None:
    assert (
        with_step("http://h/api/inngest", "step") == "http://h/api/inngest?stepId=step"
    )


def test_with_step_url_encodes_odd_function_ids() -> None:
    crazy = "%$^&*(_+{|:<?☃️"
    registered = f"http://h/api?fnId={quote(crazy, safe='')}&stepId=step"
    out = with_step(registered, "a b&c")
    query = parse_qs(urlsplit(out).query)
    assert query["fnId"] == [crazy]
    assert query["stepId"] == ["a b&c"]
    assert " " not in out
    assert "☃" not in out
