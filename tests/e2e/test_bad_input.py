"""Bad event-API input gets a 4xx JSON error naming the problem; nothing else changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.harness import Api, fmt, uid

MIB = 1024 * 1024


def _json(obj: Any) -> bytes:
    return json.dumps(obj).encode()


TAG = uid()

# (id, body bytes, expected status, any of these words must be in the error, a name that
# must not be stored afterwards or None)
CASES: list[tuple[str, bytes, int, list[str], str | None]] = [
    ("malformed-json", b'{"name": "e2e/x", "data": {', 400, ["json"], None),
    ("not-json-at-all", b"hello", 400, ["json"], None),
    ("string-body", _json("e2e/x"), 400, ["object", "array"], None),
    ("number-body", _json(42), 400, ["object", "array"], None),
    ("null-body", b"null", 400, ["object", "array", "event"], None),
    ("missing-name", _json({"data": {"k": TAG}}), 400, ["name"], None),
    ("non-string-name", _json({"name": 5, "data": {}}), 400, ["name"], None),
    ("empty-name", _json({"name": "", "data": {}}), 400, ["name"], None),
    (
        "data-not-object",
        _json({"name": f"e2e/bad-data-{TAG}", "data": [1, 2]}),
        400,
        ["data"],
        f"e2e/bad-data-{TAG}",
    ),
    (
        "data-string",
        _json({"name": f"e2e/bad-data-str-{TAG}", "data": "x"}),
        400,
        ["data"],
        f"e2e/bad-data-str-{TAG}",
    ),
    (
        "reserved-name",
        _json({"name": f"inngest/function.failed-{TAG}", "data": {}}),
        400,
        ["inngest/", "reserved"],
        f"inngest/function.failed-{TAG}",
    ),
    (
        "array-with-bad-item",
        _json([{"name": f"e2e/ok-in-bad-array-{TAG}", "data": {}}, {"data": {}}]),
        400,
        ["name"],
        None,
    ),
    (
        "too-large",
        _json({"name": f"e2e/huge-{TAG}", "data": {"blob": "x" * (3 * MIB + 1024)}}),
        413,
        ["size", "large", "limit", "3"],
        f"e2e/huge-{TAG}",
    ),
]


@pytest.fixture(scope="module")
def stored_before(stack: Any) -> dict[str, Any]:
    """An event stored before any bad input; it must be unchanged afterwards."""
    api: Api = stack.api
    eid = api.send_one(f"e2e/stored-before-{TAG}", {"k": TAG, "nested": {"a": [1, 2]}})
    return api.event(eid)


@pytest.mark.parametrize(
    ("body", "status", "words", "not_stored"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_bad_event_input(
    api: Api,
    stored_before: dict[str, Any],
    body: bytes,
    status: int,
    words: list[str],
    not_stored: str | None,
) -> None:
    r = api.post_event_raw(content=body)
    assert r.status_code == status, (
        f"expected {status}, got {r.status_code}: {r.text[:500]}"
    )
    try:
        err_body = r.json()
    except ValueError:
        pytest.fail(f"error response is not JSON: {r.headers} {r.text[:500]}")
    assert isinstance(err_body, dict), err_body
    assert err_body.get("status") == status, f"body status != HTTP status: {err_body}"
    err = str(err_body.get("error") or "")
    assert any(w.lower() in err.lower() for w in words), (
        f"error {err!r} does not name the problem (expected one of {words})"
    )

    # The server keeps serving; nothing was stored for the rejected request.
    assert api.http.get("/health").status_code == 200
    if not_stored:
        assert api.events(not_stored) == [], f"rejected event was stored: {not_stored}"
    assert api.event(stored_before["internal_id"]) == stored_before, (
        "an earlier stored event changed after bad input"
    )


def test_partial_bad_array_stores_nothing_or_reports_partial_ids(
    api: Api, stored_before: dict[str, Any]
) -> None:
    good = f"e2e/partial-good-{uid()}"
    r = api.post_event_raw(
        [{"name": good, "data": {}}, {"name": "inngest/nope", "data": {}}]
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert "inngest/" in str(body.get("error")) or "reserved" in str(
        body.get("error")
    ), body
    ids = body.get("ids") or []
    stored = api.events(good)
    # Either the whole request is rejected, or the ids returned are exactly what was stored.
    assert sorted(e["internal_id"] for e in stored) == sorted(ids), (
        f"stored {fmt(stored)} but reported ids {ids}"
    )


def test_server_still_runs_functions_after_bad_input(api: Api) -> None:
    for content in (b"{", _json(7), _json({"name": "inngest/x"})):
        assert api.post_event_raw(content=content).status_code == 400
    k = uid()
    eid = api.send_one("e2e/simple", {"k": k})
    run = api.wait_for_run(eid, "Completed")
    assert run["output"]["k"] == k


def test_null_data_becomes_empty_object(api: Api) -> None:
    name = f"e2e/null-data-{uid()}"
    eid = api.send({"name": name, "data": None})[0]
    assert api.event(eid)["data"] == {}
    eid2 = api.send({"name": name})[0]
    assert api.event(eid2)["data"] == {}


def test_internal_inngest_data_is_dropped(api: Api) -> None:
    name = f"e2e/strip-{uid()}"
    eid = api.send({"name": name, "data": {"keep": 1, "_inngest": {"fn_id": "x"}}})[0]
    assert api.event(eid)["data"] == {"keep": 1}
