"""Step execution over real HTTP: chains, parallel groups, sleeps, retries."""

from __future__ import annotations

import time

from tests.e2e.harness import Api, AppProcess, fmt, now_ms, wait_until


def test_three_step_chain(api: Api, app: AppProcess, k: str) -> None:
    eid = api.send_one("e2e/chain", {"k": k, "n": 4})
    run = api.wait_for_run(eid, "Completed")

    assert run["function_id"] == "e2e-app-chain", fmt(run)
    assert run["event_id"] == eid, fmt(run)
    assert run["output"] == {"a": 5, "b": 50, "c": "5-50", "sum": 55}, fmt(run)
    counts = app.counts()
    for step in ("a", "b", "c"):
        assert counts.get(f"chain:{step}:{k}") == 1, (
            f"step {step} must run exactly once (memoized afterwards): {counts}"
        )
    # The run object is also reachable by id.
    again = api.run(run["run_id"])
    assert again["status"] == "Completed"
    assert again["output"] == run["output"]
    assert again.get("run_started_at"), fmt(again)
    assert again.get("ended_at"), fmt(again)


def test_parallel_steps_then_one_more(api: Api, app: AppProcess, k: str) -> None:
    eid = api.send_one("e2e/parallel", {"k": k})
    run = api.wait_for_run(eid, "Completed")

    assert run["output"] == {"parallel": [1, 4, 9], "after": 14}, fmt(run)
    counts = app.counts()
    for step in ("p1", "p2", "p3", "after"):
        assert counts.get(f"parallel:{step}:{k}") == 1, (
            f"parallel step {step} must run exactly once: {counts}"
        )


def test_sleep_two_seconds(api: Api, app: AppProcess, k: str) -> None:
    eid = api.send_one("e2e/sleep", {"k": k, "seconds": 2})
    # While sleeping, the run is Running and the step after the sleep has not run.
    wait_until(
        lambda: app.count(f"sleep:before:{k}") == 1, 15, message="step before the sleep"
    )
    runs = api.runs_for_event(eid)
    assert [r["status"] for r in runs] == ["Running"], (
        f"mid-sleep run state: {fmt(runs)}"
    )
    assert app.count(f"sleep:after:{k}") == 0
    run = api.wait_for_run(eid, "Completed", timeout=30)

    out = run["output"]
    slept = out["after"] - out["before"]
    assert slept >= 1.9, f"sleep of 2s resumed after {slept:.2f}s: {fmt(run)}"
    assert slept < 15, f"sleep of 2s took {slept:.2f}s: {fmt(run)}"
    counts = app.counts()
    assert counts.get(f"sleep:before:{k}") == 1, counts
    assert counts.get(f"sleep:after:{k}") == 1, counts


def test_sleep_until(api: Api, app: AppProcess, k: str) -> None:
    until = now_ms() + 2500
    eid = api.send_one("e2e/sleep-until", {"k": k, "until_ms": until})
    run = api.wait_for_run(eid, "Completed", timeout=30)

    after = run["output"]["after"]
    assert after * 1000 >= until - 100, (
        f"step after sleep_until ran at {after * 1000:.0f}, before {until}: {fmt(run)}"
    )
    assert after * 1000 < until + 15000, fmt(run)
    assert app.count(f"sleep-until:after:{k}") == 1


def test_step_retried_until_success(api: Api, app: AppProcess, k: str) -> None:
    started = time.monotonic()
    eid = api.send_one("e2e/flaky", {"k": k})
    run = api.wait_for_run(eid, "Completed", timeout=40)

    assert run["output"]["result"] == "ok", fmt(run)
    assert run["output"]["attempts"] == 3, fmt(run)
    # ctx.attempt counts per queue item: the third try of the step is attempt 2.
    assert run["output"]["attempt_ctx"] == 2, fmt(run)
    counts = app.counts()
    assert counts.get(f"flaky:flaky:{k}") == 3, counts
    assert counts.get(f"flaky:pre:{k}") == 1, f"memoized step re-ran on retry: {counts}"
    # --retry-interval 1 => two 1s backoffs.
    assert time.monotonic() - started >= 1.8, (
        "retries did not wait for the retry interval"
    )
