"""The event API (`POST /e/{key}`) and the read API (`/v1/events`, `/v1/runs`)."""

from __future__ import annotations

import base64
import os
import re

import pytest

from tests.e2e.harness import (
    SHARED_BACKEND,
    START_EVENT_KEY,
    START_SIGNING_KEY,
    Api,
    AppProcess,
    fmt,
    now_ms,
    seeded_ids,
    ulid_millis,
    wait_until,
)

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def _barrier(api: Api, k: str) -> None:
    """Send a marker event and wait for its run: everything sent before was processed."""
    eid = api.send_one("e2e/simple", {"k": f"barrier-{k}"})
    api.wait_for_run(eid, "Completed")


def test_send_single_event(api: Api, k: str) -> None:
    before = now_ms()
    ids = api.send({"name": "e2e/simple", "data": {"k": k}})
    assert len(ids) == 1
    assert ULID_RE.match(ids[0]), f"internal id is not a ULID: {ids}"
    assert abs(ulid_millis(ids[0]) - before) < 60_000, ids

    ev = api.event(ids[0])
    assert ev["internal_id"] == ids[0], fmt(ev)
    assert ev["name"] == "e2e/simple", fmt(ev)
    assert ev["data"] == {"k": k}, fmt(ev)
    assert isinstance(ev["ts"], int), fmt(ev)
    assert ev["ts"] >= before - 5000, fmt(ev)
    assert isinstance(ev["id"], str), fmt(ev)
    assert ev.get("user") in ({}, None), fmt(ev)

    run = api.wait_for_run(ids[0], "Completed")
    assert run["function_id"] == "e2e-app-simple", fmt(run)
    assert run["output"]["k"] == k, fmt(run)
    # The function saw the stored event's id and ts.
    assert run["output"]["event_id"] == ev["id"], fmt(run)
    assert run["output"]["event_ts"] == ev["ts"], fmt(run)


def test_send_array_returns_ids_in_order(api: Api, app: AppProcess, k: str) -> None:
    events = [
        {"name": "e2e/simple", "data": {"k": f"{k}-{i}", "i": i}} for i in range(5)
    ]
    ids = api.send(events)
    assert len(ids) == 5
    assert len(set(ids)) == 5, ids
    for i, eid in enumerate(ids):
        ev = api.event(eid)
        assert ev["data"]["i"] == i, f"id {i} maps to the wrong event: {fmt(ev)}"
        run = api.wait_for_run(eid, "Completed")
        assert run["output"]["k"] == f"{k}-{i}", fmt(run)
    for i in range(5):
        assert app.count(f"simple:body:{k}-{i}") == 1


def test_list_events_newest_first(api: Api, k: str) -> None:
    name = f"e2e/listed-{k}"
    ids = [api.send_one(name, {"i": i}) for i in range(3)]
    listed = api.events(name)
    assert [e["internal_id"] for e in listed] == list(reversed(ids)), fmt(listed)
    assert [e["data"]["i"] for e in listed] == [2, 1, 0], fmt(listed)
    for e in listed:
        assert e["name"] == name
        for key in ("internal_id", "id", "name", "data", "ts"):
            assert key in e, f"listed event lacks {key}: {fmt(e)}"
    # An event that triggers nothing has no runs.
    assert api.runs_for_event(ids[0]) == []


def test_unknown_event_and_run_are_404(api: Api) -> None:
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    r = api.http.get(f"/v1/events/{missing}")
    assert r.status_code == 404, f"{r.status_code} {r.text}"
    assert "error" in r.json(), r.text
    r = api.http.get(f"/v1/runs/{missing}")
    assert r.status_code == 404, f"{r.status_code} {r.text}"
    assert "error" in r.json(), r.text
    assert api.events(f"e2e/never-sent-{missing}") == []


def test_duplicate_event_id_starts_one_run(api: Api, app: AppProcess, k: str) -> None:
    user_id = f"dedupe-{k}"
    first = api.send_one("e2e/simple", {"k": k}, id=user_id)
    second = api.send_one("e2e/simple", {"k": k}, id=user_id)
    assert first != second, "each accepted event gets its own internal id"
    api.wait_for_run(first, "Completed")
    _barrier(api, k)

    run_ids = {
        r["run_id"] for r in api.runs_for_event(first) + api.runs_for_event(second)
    }
    assert len(run_ids) == 1, f"duplicate event id started {len(run_ids)} runs"
    assert app.count(f"simple:body:{k}") == 1, app.counts()
    # Both events are stored with the user id.
    assert api.event(first)["id"] == user_id
    assert api.event(second)["id"] == user_id


def test_same_id_in_one_batch_starts_one_run(api: Api, app: AppProcess, k: str) -> None:
    user_id = f"dedupe-batch-{k}"
    ids = api.send([{"name": "e2e/simple", "data": {"k": k}, "id": user_id}] * 2)
    _barrier(api, k)
    run_ids = {r["run_id"] for eid in ids for r in api.runs_for_event(eid)}
    assert len(run_ids) == 1, (
        f"duplicate ids in one request started {len(run_ids)} runs"
    )
    assert app.count(f"simple:body:{k}") == 1, app.counts()


def test_future_ts_delays_the_run(api: Api, app: AppProcess, k: str) -> None:
    ts = now_ms() + 3000
    eid = api.send_one("e2e/simple", {"k": k}, ts=ts)
    # Not run yet a moment later (the barrier run completes first).
    _barrier(api, k)
    if now_ms() < ts - 500:
        assert app.count(f"simple:body:{k}") == 0, "a future-ts event ran immediately"
        assert not [r for r in api.runs_for_event(eid) if r["status"] == "Completed"]
    run = api.wait_for_run(eid, "Completed", timeout=30)
    ran_at_ms = run["output"]["ran_at"] * 1000
    assert ran_at_ms >= ts - 200, (
        f"run for ts={ts} executed at {ran_at_ms:.0f} ({(ts - ran_at_ms) / 1000:.2f}s early)"
    )
    assert api.event(eid)["ts"] == ts


def test_seed_header_gives_deterministic_ids_and_one_run(
    api: Api, app: AppProcess, k: str
) -> None:
    seed = f"{now_ms()},{base64.b64encode(os.urandom(10)).decode()}"
    events = [
        {"name": "e2e/simple", "data": {"k": f"{k}-a"}},
        {"name": "e2e/simple", "data": {"k": f"{k}-b"}},
    ]
    ids1 = api.send(events, headers={"x-inngest-event-id-seed": seed})
    ids2 = api.send(events, headers={"x-inngest-event-id-seed": seed})
    assert ids1 == ids2, f"same seed gave different ids: {ids1} vs {ids2}"
    assert ids1 == seeded_ids(seed, 2), (
        f"ids not derived from the seed as protocol §2 says: {ids1} vs {seeded_ids(seed, 2)}"
    )
    for eid in ids1:
        api.wait_for_run(eid, "Completed")
    _barrier(api, k)
    for suffix, eid in zip(("a", "b"), ids1, strict=True):
        runs = api.runs_for_event(eid)
        assert len(runs) == 1, f"seeded resend started {len(runs)} runs: {fmt(runs)}"
        assert app.count(f"simple:body:{k}-{suffix}") == 1, app.counts()
    # Only one stored copy of each.
    listed = [e for e in api.events("e2e/simple") if e["internal_id"] in ids1]
    assert len(listed) == 2, fmt(listed)


def test_runs_listing_for_event(api: Api, k: str) -> None:
    eid = api.send_one("e2e/chain", {"k": k, "n": 2})
    run = api.wait_for_run(eid, "Completed")
    runs = api.runs_for_event(eid)
    assert len(runs) == 1, fmt(runs)
    r = runs[0]
    for key in (
        "run_id",
        "function_id",
        "status",
        "output",
        "event_id",
        "run_started_at",
        "ended_at",
    ):
        assert key in r, f"run object lacks {key}: {fmt(r)}"
    assert r["run_id"] == run["run_id"]
    assert r["event_id"] == eid


@pytest.mark.skipif(
    SHARED_BACKEND,
    reason="dev-only by design: `inngestd dev` accepts any event key, `inngestd start` "
    "answers 401 to keys it was not given (test_start_auth checks the refusal)",
)
def test_event_key_in_path_is_any_string(api: Api, k: str) -> None:
    r = api.http.post(
        "/e/NO_EVENT_KEY_SET", json={"name": "e2e/simple", "data": {"k": f"{k}-nokey"}}
    )
    assert r.status_code == 200, r.text
    eid = r.json()["ids"][0]
    api.wait_for_run(eid, "Completed")


def test_send_with_the_sdk_client(api: Api, server: object, k: str) -> None:
    """The official SDK's own send() works against the server."""
    import inngest

    # Against `inngestd start` (shared pass) the client is in cloud mode with its keys.
    client = inngest.Inngest(
        app_id="e2e-sender",
        is_production=SHARED_BACKEND,
        api_base_url=api.base_url,
        event_api_base_url=api.base_url,
        event_key=START_EVENT_KEY if SHARED_BACKEND else None,
        signing_key=START_SIGNING_KEY if SHARED_BACKEND else None,
    )
    ids = client.send_sync(inngest.Event(name="e2e/simple", data={"k": k}))
    assert len(ids) == 1
    run = api.wait_for_run(ids[0], "Completed")
    assert run["output"]["k"] == k
    ev = wait_until(lambda: api.event(ids[0]), 5, message="sent event stored")
    assert isinstance(ev["ts"], int)
