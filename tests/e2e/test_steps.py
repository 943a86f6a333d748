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


def test_chain_makes_one_call_per_step_plus_one(
    api: Api, app: AppProcess, k: str
) -> None:
    """Each discovery call executes the next lone step; the last one returns (4 calls)."""
    eid = api.send_one("e2e/chain", {"k": k, "n": 1})
    api.wait_for_run(eid, "Completed")
    assert app.count(f"chain:call:{k}") == 4, (
        f"expected 4 SDK calls for a 3-step chain, got {app.count(f'chain:call:{k}')}"
    )


def test_parallel_group_call_count(api: Api, app: AppProcess, k: str) -> None:
    """Protocol §3.4: discovery -> 3 planned calls -> one discovery when the pending set
    drains (executes `after` immediately, force-plan reset) -> final call: 6 calls."""
    eid = api.send_one("e2e/parallel", {"k": k})
    api.wait_for_run(eid, "Completed")
    calls = app.count(f"parallel:call:{k}")
    assert calls == 6, (
        f"expected 6 SDK calls for 3 parallel steps + 1 step, got {calls}"
    )


def test_runs_execute_concurrently(api: Api, app: AppProcess, k: str) -> None:
    """Calls for different runs run concurrently: 5 slow runs (2.5s of steps each)."""
    started = time.monotonic()
    ids = api.send([{"name": "e2e/slow", "data": {"k": f"{k}-{i}"}} for i in range(5)])
    for eid in ids:
        api.wait_for_run(eid, "Completed", timeout=60)
    elapsed = time.monotonic() - started
    assert elapsed < 9, f"5 slow runs took {elapsed:.1f}s: runs are not concurrent"
