"""Failures (non-retriable, retries exhausted, on_failure) and cancellation."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Api, AppProcess, fmt, uid, wait_until


def _system_event(
    api: Api, name: str, run_id: str, timeout: float = 20
) -> dict[str, Any]:
    return api.wait_for_system_event(
        name, lambda ev: (ev.get("data") or {}).get("run_id") == run_id, timeout
    )


def test_non_retriable_error_fails_at_once_and_runs_on_failure(
    api: Api, app: AppProcess, k: str
) -> None:
    eid = api.send_one("e2e/nonretriable", {"k": k})
    run = api.wait_for_run(eid, "Failed", timeout=30)

    out = run["output"]
    assert isinstance(out, dict), fmt(run)
    assert out.get("name") == "NonRetriableError", fmt(run)
    assert out.get("message") == f"nope {k}", fmt(run)
    assert out.get("code") == "non_retriable_error", fmt(run)
    counts = app.counts()
    assert counts.get(f"nonretriable:raise:{k}") == 1, (
        f"NonRetriableError was retried: {counts}"
    )
    assert counts.get(f"nonretriable:pre:{k}") == 1, counts

    # The on_failure handler ran with the inngest/function.failed event.
    recs = wait_until(
        lambda: app.records().get(f"on_failure:{k}"),
        30,
        message="on_failure handler to run",
    )
    assert len(recs) == 1, f"on_failure ran {len(recs)} times: {fmt(recs)}"
    rec = recs[0]
    assert rec["name"] == "inngest/function.failed", fmt(rec)
    data = rec["data"]
    assert data.get("function_id") == "e2e-app-nonretriable", fmt(rec)
    assert data.get("run_id") == run["run_id"], fmt(rec)
    assert isinstance(data.get("error"), dict), fmt(rec)
    assert f"nope {k}" in (data["error"].get("message") or ""), fmt(rec)
    assert (data.get("event") or {}).get("data", {}).get("k") == k, fmt(rec)
    assert (data.get("event") or {}).get("name") == "e2e/nonretriable", fmt(rec)

    # The failure handler is a run of its own that completed.
    failed_ev = _system_event(api, "inngest/function.failed", run["run_id"])
    handler = api.wait_for_run(
        failed_ev["internal_id"],
        "Completed",
        function_id="e2e-app-nonretriable-failure",
    )
    assert handler["function_id"] == "e2e-app-nonretriable-failure", fmt(handler)


def test_retries_exhausted_fails_with_the_step_error(
    api: Api, app: AppProcess, k: str
) -> None:
    eid = api.send_one("e2e/exhaust", {"k": k})
    run = api.wait_for_run(eid, "Failed", timeout=40)

    out = run["output"]
    assert isinstance(out, dict), fmt(run)
    assert out.get("name") == "ValueError", fmt(run)
    assert out.get("message") == f"boom {k}", fmt(run)
    # retries=1 => 2 attempts of the step, never more.
    assert app.count(f"exhaust:boom:{k}") == 2, app.counts()


def test_failed_and_finished_system_events(api: Api, k: str) -> None:
    eid = api.send_one("e2e/exhaust", {"k": k})
    run = api.wait_for_run(eid, "Failed", timeout=40)

    failed = _system_event(api, "inngest/function.failed", run["run_id"])
    data = failed["data"]
    for key in ("function_id", "run_id", "error", "event"):
        assert key in data, f"function.failed lacks {key}: {fmt(failed)}"
    assert data["function_id"] == "e2e-app-exhaust", fmt(failed)
    assert data["event"]["data"]["k"] == k, fmt(failed)
    assert data["error"].get("message") == f"boom {k}", fmt(failed)

    finished = _system_event(api, "inngest/function.finished", run["run_id"])
    assert finished["data"]["function_id"] == "e2e-app-exhaust", fmt(finished)
    assert "error" in finished["data"], fmt(finished)


def test_completed_run_emits_function_finished(api: Api, k: str) -> None:
    eid = api.send_one("e2e/chain", {"k": k, "n": 1})
    run = api.wait_for_run(eid, "Completed")
    finished = _system_event(api, "inngest/function.finished", run["run_id"])
    assert finished["data"]["function_id"] == "e2e-app-chain", fmt(finished)
    assert finished["data"].get("result") == run["output"], fmt(finished)
    assert not api_has_failed_event(api, run["run_id"]), (
        "a completed run emitted function.failed"
    )


def api_has_failed_event(api: Api, run_id: str) -> bool:
    return any(
        (ev.get("data") or {}).get("run_id") == run_id
        for ev in api.events("inngest/function.failed")
    )


def _start_cancellable(
    api: Api, app: AppProcess, k: str, match_id: str
) -> dict[str, Any]:
    eid = api.send_one("e2e/cancellable", {"k": k, "id": match_id})
    wait_until(
        lambda: app.count(f"cancellable:start:{k}") == 1,
        20,
        message="cancellable to start",
    )
    return api.wait_for_run(eid, "Running", timeout=20)


def test_cancel_on_event(api: Api, app: AppProcess) -> None:
    k1, k2 = uid(), uid()
    run1 = _start_cancellable(api, app, k1, f"c-{k1}")
    run2 = _start_cancellable(api, app, k2, f"c-{k2}")

    api.send_one("e2e/cancel", {"id": f"c-{k1}"})
    cancelled = api.wait_run_status(run1["run_id"], "Cancelled", timeout=20)
    assert cancelled.get("ended_at"), fmt(cancelled)

    # The other run's id did not match the cancel expression.
    other = api.run(run2["run_id"])
    assert other["status"] == "Running", (
        f"non-matching cancel event cancelled it: {fmt(other)}"
    )

    ev = _system_event(api, "inngest/function.cancelled", run1["run_id"])
    assert ev["data"]["function_id"] == "e2e-app-cancellable", fmt(ev)
    _system_event(api, "inngest/function.finished", run1["run_id"])

    # Clean up the other run through the API, then nothing after the sleep ever ran.
    r = api.cancel(run2["run_id"])
    assert r.status_code == 200, r.text
    api.wait_run_status(run2["run_id"], "Cancelled", timeout=20)
    assert app.count(f"cancellable:after:{k1}") == 0
    assert app.count(f"cancellable:after:{k2}") == 0


def test_cancel_via_api(api: Api, app: AppProcess, k: str) -> None:
    run = _start_cancellable(api, app, k, f"d-{k}")

    r = api.cancel(run["run_id"])
    assert r.status_code == 200, (
        f"DELETE /v1/runs/{run['run_id']}: {r.status_code} {r.text}"
    )
    body = r.json()
    assert body["data"]["run_id"] == run["run_id"], body
    assert body["data"]["status"] == "Cancelled", body

    got = api.wait_run_status(run["run_id"], "Cancelled", timeout=10)
    assert got.get("ended_at"), fmt(got)
    ev = _system_event(api, "inngest/function.cancelled", run["run_id"])
    assert ev["data"]["function_id"] == "e2e-app-cancellable", fmt(ev)
    assert app.count(f"cancellable:after:{k}") == 0

    # A cancel event arriving later changes nothing.
    api.send_one("e2e/cancel", {"id": f"d-{k}"})
    assert api.run(run["run_id"])["status"] == "Cancelled"


def test_cancel_unknown_run_is_404(api: Api) -> None:
    r = api.cancel("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert r.status_code == 404, f"{r.status_code} {r.text}"
    assert "error" in r.json(), r.text
