"""The scenario list every SDK must pass, run once per SDK app (conftest.SDKS):

* ``python``: apps/main_app.py (official Python SDK, FastAPI);
* ``typescript``: ts_app/app.mjs (official `inngest` npm 4.x on Node.js, `inngest/node`
  adapter) with its default async checkpointing, so steps arrive through
  ``POST /v1/checkpoint/{run}/async``;
* ``typescript-no-checkpoint``: the same app with checkpointing off (one call per step).

Both apps register the same function ids and count step bodies under
``"<fn>:<step>:<k>"``, so each scenario is written once and a gap in one SDK shows up as
``test_x[typescript]``. Scenarios an SDK cannot express are skipped with the reason.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import SdkStack
from tests.e2e.harness import fmt, now_ms, uid, wait_until


def _no_match_option(sdk: SdkStack) -> None:
    if not sdk.is_ts:
        pytest.skip("the Python SDK has no `match` option (it takes `if_exp` only)")


# ----------------------------------------------------------------------------- sync


def test_sync_registers_every_function(sdk: SdkStack) -> None:
    app = sdk.api.app(sdk.app_id)
    assert app is not None, fmt(sdk.api.apps())
    slugs = {f.get("slug") or f.get("id") for f in app.get("functions") or []}
    for fn in (
        "chain",
        "parallel",
        "sleep",
        "sleep-until",
        "flaky",
        "retry-after",
        "wait",
        "invoked",
        "invoker",
        "send-event",
        "invoke-err",
        "nonretriable",
        "nonretriable-failure",
        "exhaust",
        "cancellable",
        "slow",
        "simple",
    ):
        assert sdk.slug(fn) in slugs, f"{sdk.slug(fn)} not synced: {sorted(slugs)}"
    expected_sdk = "js:" if sdk.is_ts else "py:"
    assert str(app.get("sdk", "")).startswith(expected_sdk), fmt(app)


# ----------------------------------------------------------------------------- events


def test_event_sent_through_the_sdk_client(sdk: SdkStack) -> None:
    k = uid()
    r = httpx.post(
        f"{sdk.app.url}/send",
        json=[{"name": "e2e/simple", "data": {"k": k}}],
        timeout=15,
    )
    assert r.status_code == 200, r.text
    ids = r.json()["ids"]
    assert len(ids) == 1, r.text
    run = sdk.api.wait_for_run(ids[0], "Completed", function_id=sdk.slug("simple"))
    assert run["output"]["k"] == k, fmt(run)
    assert run["output"]["event_id"] == ids[0], fmt(run)
    assert sdk.app.count(f"simple:body:{k}") == 1


# ----------------------------------------------------------------------------- steps


def test_step_run_chain(sdk: SdkStack) -> None:
    k = uid()
    eid = sdk.api.send_one("e2e/chain", {"k": k, "n": 4})
    run = sdk.api.wait_for_run(eid, "Completed")
    assert run["function_id"] == sdk.slug("chain"), fmt(run)
    assert run["output"] == {"a": 5, "b": 50, "c": "5-50", "sum": 55}, fmt(run)
    counts = sdk.app.counts()
    for step in ("a", "b", "c"):
        assert counts.get(f"chain:{step}:{k}") == 1, counts
    # Every step is in the run's history with its output.
    r = sdk.api.http.get(f"/v1/runs/{run['run_id']}")
    assert r.status_code == 200, r.text


def test_parallel_steps(sdk: SdkStack) -> None:
    k = uid()
    eid = sdk.api.send_one("e2e/parallel", {"k": k})
    run = sdk.api.wait_for_run(eid, "Completed")
    assert run["output"] == {"parallel": [1, 4, 9], "after": 14}, fmt(run)
    counts = sdk.app.counts()
    for step in ("p1", "p2", "p3", "after"):
        assert counts.get(f"parallel:{step}:{k}") == 1, counts


def test_sleep(sdk: SdkStack) -> None:
    k = uid()
    eid = sdk.api.send_one("e2e/sleep", {"k": k, "seconds": 2})
    wait_until(
        lambda: sdk.app.count(f"sleep:before:{k}") == 1, 15, message="before the sleep"
    )
    assert sdk.app.count(f"sleep:after:{k}") == 0
    run = sdk.api.wait_for_run(eid, "Completed", timeout=30)
    slept = run["output"]["after"] - run["output"]["before"]
    assert 1.9 <= slept < 15, f"a 2s sleep resumed after {slept:.2f}s: {fmt(run)}"
    assert sdk.app.count(f"sleep:before:{k}") == 1
    assert sdk.app.count(f"sleep:after:{k}") == 1


def test_sleep_until(sdk: SdkStack) -> None:
    k = uid()
    until = now_ms() + 2500
    eid = sdk.api.send_one("e2e/sleep-until", {"k": k, "until_ms": until})
    run = sdk.api.wait_for_run(eid, "Completed", timeout=30)
    after_ms = run["output"]["after"] * 1000
    assert until - 100 <= after_ms < until + 15000, fmt(run)
    assert sdk.app.count(f"sleep-until:after:{k}") == 1


def test_step_send_event(sdk: SdkStack) -> None:
    k = uid()
    eid = sdk.api.send_one("e2e/send-event", {"k": k})
    run = sdk.api.wait_for_run(eid, "Completed")
    ids = run["output"]["ids"]
    assert isinstance(ids, list), fmt(run)
    assert len(ids) == 2, fmt(run)
    for suffix, event_id in zip(("a", "b"), ids, strict=True):
        child = sdk.api.wait_for_run(
            event_id, "Completed", function_id=sdk.slug("simple")
        )
        assert child["output"]["k"] == f"{k}-{suffix}", fmt(child)
    assert sdk.app.count(f"send-event:after:{k}") == 1
    # The step that sent the events ran once: one run per sent event.
    assert sdk.app.count(f"simple:body:{k}-a") == 1


# ----------------------------------------------------------------------------- retries / errors


def test_step_retried_until_success(sdk: SdkStack) -> None:
    k = uid()
    started = time.monotonic()
    eid = sdk.api.send_one("e2e/flaky", {"k": k})
    run = sdk.api.wait_for_run(eid, "Completed", timeout=40)
    assert run["output"]["result"] == "ok", fmt(run)
    assert run["output"]["attempts"] == 3, fmt(run)
    assert run["output"]["attempt_ctx"] == 2, fmt(run)
    counts = sdk.app.counts()
    assert counts.get(f"flaky:flaky:{k}") == 3, counts
    assert counts.get(f"flaky:pre:{k}") == 1, counts
    assert time.monotonic() - started >= 1.8, "retries did not wait"


def test_retry_after_error(sdk: SdkStack) -> None:
    k = uid()
    started = time.time()
    eid = sdk.api.send_one("e2e/retry-after", {"k": k})
    run = sdk.api.wait_for_run(eid, "Completed", timeout=30)
    assert run["output"]["result"] == "ok", fmt(run)
    assert run["output"]["attempts"] == 2, fmt(run)
    waited = run["output"]["at"] - started
    # The server's retry interval is 1s here: only Retry-After explains 2s.
    assert waited >= 1.9, f"RetryAfterError(2s) retried after {waited:.2f}s"
    assert sdk.app.count(f"retry-after:later:{k}") == 2


def test_non_retriable_error_and_on_failure(sdk: SdkStack) -> None:
    k = uid()
    eid = sdk.api.send_one("e2e/nonretriable", {"k": k})
    run = sdk.api.wait_for_run(eid, "Failed", timeout=30)
    out = run["output"]
    assert isinstance(out, dict), fmt(run)
    assert out.get("name") == "NonRetriableError", fmt(run)
    assert out.get("message") == f"nope {k}", fmt(run)
    assert sdk.app.count(f"nonretriable:raise:{k}") == 1, sdk.app.counts()
    assert sdk.app.count(f"nonretriable:pre:{k}") == 1, sdk.app.counts()

    recs = wait_until(
        lambda: sdk.app.records().get(f"on_failure:{k}"),
        30,
        message="the onFailure handler to run",
    )
    assert len(recs) == 1, fmt(recs)
    rec = recs[0]
    assert rec["name"] == "inngest/function.failed", fmt(rec)
    data = rec["data"]
    assert data.get("function_id") == sdk.slug("nonretriable"), fmt(rec)
    assert data.get("run_id") == run["run_id"], fmt(rec)
    assert f"nope {k}" in (data.get("error") or {}).get("message", ""), fmt(rec)
    assert data["event"]["data"]["k"] == k, fmt(rec)


def test_retries_exhausted(sdk: SdkStack) -> None:
    k = uid()
    eid = sdk.api.send_one("e2e/exhaust", {"k": k})
    run = sdk.api.wait_for_run(eid, "Failed", timeout=40)
    out = run["output"]
    assert isinstance(out, dict), fmt(run)
    assert out.get("message") == f"boom {k}", fmt(run)
    # retries=1: two attempts of the step, never more.
    assert sdk.app.count(f"exhaust:boom:{k}") == 2, sdk.app.counts()
    failed = sdk.api.wait_for_system_event(
        "inngest/function.failed",
        lambda ev: (ev.get("data") or {}).get("run_id") == run["run_id"],
    )
    assert failed["data"]["function_id"] == sdk.slug("exhaust"), fmt(failed)


# ----------------------------------------------------------------------------- wait / invoke


def _resume_wait(
    sdk: SdkStack, eid: str, reply: str, match_id: str, k: str
) -> dict[str, Any]:
    done: list[dict[str, Any]] = []

    def reply_until_resumed() -> bool:
        # Only events that arrive after the pause exists can match: keep sending (a
        # wrong id first each time, which must never resume it).
        runs = sdk.api.runs_for_event(eid)
        if runs and runs[0]["status"] == "Completed":
            done[:] = [runs[0]]
            return True
        assert not runs or runs[0]["status"] in ("Queued", "Running"), fmt(runs)
        sdk.api.send_one(reply, {"id": f"other-{k}", "k": k})
        sdk.api.send_one(reply, {"id": match_id, "k": k})
        return False

    wait_until(reply_until_resumed, 30, interval=0.5, message="the wait to resume")
    return done[0]


def test_wait_for_event_with_if(sdk: SdkStack) -> None:
    k = uid()
    match_id = f"m-{k}"
    eid = sdk.api.send_one("e2e/wait", {"k": k, "id": match_id, "timeout_s": 60})
    wait_until(lambda: sdk.app.count(f"wait:before:{k}") == 1, 20, message="wait")
    run = _resume_wait(sdk, eid, "e2e/wait.reply", match_id, k)
    matched = run["output"]["matched"]
    assert matched is not None, fmt(run)
    assert matched["name"] == "e2e/wait.reply", fmt(run)
    assert matched["data"] == {"id": match_id, "k": k}, fmt(run)
    assert sdk.app.count(f"wait:after:{k}") == 1
    assert sdk.app.count(f"wait:before:{k}") == 1


def test_wait_for_event_times_out(sdk: SdkStack) -> None:
    k = uid()
    t0 = time.monotonic()
    eid = sdk.api.send_one("e2e/wait", {"k": k, "id": f"never-{k}", "timeout_s": 2})
    run = sdk.api.wait_for_run(eid, "Completed", timeout=30)
    assert run["output"]["matched"] is None, fmt(run)
    assert time.monotonic() - t0 >= 1.9
    assert sdk.app.count(f"wait:after:{k}") == 1


def test_wait_for_event_with_match(sdk: SdkStack) -> None:
    _no_match_option(sdk)
    k = uid()
    match_id = f"mm-{k}"
    eid = sdk.api.send_one("e2e/wait-match", {"k": k, "id": match_id})
    run = _resume_wait(sdk, eid, "e2e/wait-match.reply", match_id, k)
    matched = run["output"]["matched"]
    assert matched is not None, fmt(run)
    assert matched["data"] == {"id": match_id, "k": k}, fmt(run)
    assert sdk.app.count(f"wait-match:after:{k}") == 1


def test_invoke(sdk: SdkStack) -> None:
    k = uid()
    eid = sdk.api.send_one("e2e/invoke", {"k": k, "x": 21})
    run = sdk.api.wait_for_run(eid, "Completed", timeout=30)
    assert run["function_id"] == sdk.slug("invoker"), fmt(run)
    assert run["output"] == {"invoked": {"doubled": 42, "k": k}}, fmt(run)
    assert sdk.app.count(f"invoked:work:{k}") == 1
    assert sdk.app.count(f"invoker:after:{k}") == 1


def test_invoke_of_a_failing_function_raises(sdk: SdkStack) -> None:
    k = uid()
    eid = sdk.api.send_one("e2e/invoke-err", {"k": k, "mode": "fail"})
    run = sdk.api.wait_for_run(eid, "Completed", timeout=30)
    out = run["output"]
    assert out["caught"] is True, fmt(run)
    assert f"nope {k}" in out["message"], fmt(run)


def test_invoke_timeout_raises(sdk: SdkStack) -> None:
    k = uid()
    eid = sdk.api.send_one("e2e/invoke-err", {"k": k, "mode": "timeout"})
    run = sdk.api.wait_for_run(eid, "Completed", timeout=30)
    out = run["output"]
    assert out["caught"] is True, fmt(run)
    assert "Timed out" in out["message"] or "timed out" in out["message"], fmt(run)
    # The child sleeps 60s: cancel it so nothing lingers.
    sdk.api.send_one("e2e/cancel", {"id": f"invoked-{k}"})


# ----------------------------------------------------------------------------- cancel


def test_cancel_on_event_with_if(sdk: SdkStack) -> None:
    k1, k2 = uid(), uid()
    runs = []
    for kk in (k1, k2):
        eid = sdk.api.send_one("e2e/cancellable", {"k": kk, "id": f"c-{kk}"})
        wait_until(
            lambda kk=kk: sdk.app.count(f"cancellable:start:{kk}") == 1,
            20,
            message="cancellable to start",
        )
        runs.append(sdk.api.wait_for_run(eid, "Running", timeout=20))
    sdk.api.send_one("e2e/cancel", {"id": f"c-{k1}"})
    sdk.api.wait_run_status(runs[0]["run_id"], "Cancelled", timeout=20)
    assert sdk.api.run(runs[1]["run_id"])["status"] == "Running"
    ev = sdk.api.wait_for_system_event(
        "inngest/function.cancelled",
        lambda e: (e.get("data") or {}).get("run_id") == runs[0]["run_id"],
    )
    assert ev["data"]["function_id"] == sdk.slug("cancellable"), fmt(ev)
    assert sdk.api.cancel(runs[1]["run_id"]).status_code == 200
    assert sdk.app.count(f"cancellable:after:{k1}") == 0


def test_cancel_on_event_with_match(sdk: SdkStack) -> None:
    _no_match_option(sdk)
    k = uid()
    eid = sdk.api.send_one("e2e/cancel-match", {"k": k, "id": f"cm-{k}"})
    wait_until(
        lambda: sdk.app.count(f"cancel-match:start:{k}") == 1, 20, message="start"
    )
    run = sdk.api.wait_for_run(eid, "Running", timeout=20)
    other = sdk.api.send_one("e2e/cancel-match.stop", {"id": f"other-{k}"})
    # Once the non-matching event is scheduled (it is in the log), it must not cancel.
    wait_until(lambda: sdk.api.event(other), 10, message="the other stop event")
    time.sleep(1)
    assert sdk.api.run(run["run_id"])["status"] == "Running"
    sdk.api.send_one("e2e/cancel-match.stop", {"id": f"cm-{k}"})
    sdk.api.wait_run_status(run["run_id"], "Cancelled", timeout=20)
