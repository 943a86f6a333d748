"""step.wait_for_event (match and timeout) and step.invoke over real HTTP."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.harness import Api, AppProcess, fmt, uid, wait_until


def test_wait_for_event_matches_only_the_right_event(
    api: Api, app: AppProcess, k: str
) -> None:
    match_id = f"m-{k}"
    eid = api.send_one("e2e/wait", {"k": k, "id": match_id, "timeout_s": 60})
    wait_until(
        lambda: app.count(f"wait:before:{k}") == 1, 20, message="step before the wait"
    )

    sent: list[str] = []
    done: list[dict[str, Any]] = []

    def reply_until_resumed() -> bool:
        # The pause may not exist yet when the step before it has run; only events that
        # arrive after the pause can match, so keep sending (a wrong id first each time).
        runs = api.runs_for_event(eid)
        if runs and runs[0]["status"] == "Completed":
            done[:] = [runs[0]]
            return True
        assert not runs or runs[0]["status"] in ("Queued", "Running"), fmt(runs)
        api.send_one("e2e/wait.reply", {"id": f"other-{k}", "k": k})
        sent.extend(
            api.send([{"name": "e2e/wait.reply", "data": {"id": match_id, "k": k}}])
        )
        return False

    wait_until(reply_until_resumed, 30, interval=0.5, message="the wait to be resumed")
    run = done[0]
    matched = run["output"]["matched"]
    assert matched is not None, f"wait resumed with None (timeout?): {fmt(run)}"
    assert matched["name"] == "e2e/wait.reply", fmt(run)
    assert matched["data"] == {"id": match_id, "k": k}, fmt(run)
    assert app.count(f"wait:after:{k}") == 1
    assert app.count(f"wait:before:{k}") == 1


def test_wait_for_event_times_out_with_none(api: Api, app: AppProcess, k: str) -> None:
    t0 = time.monotonic()
    eid = api.send_one("e2e/wait", {"k": k, "id": f"never-{k}", "timeout_s": 2})
    wait_until(
        lambda: app.count(f"wait:before:{k}") == 1, 20, message="step before the wait"
    )
    # A reply with another id must not resume it.
    api.send_one("e2e/wait.reply", {"id": f"other-{k}", "k": k})
    run = api.wait_for_run(eid, "Completed", timeout=30)
    elapsed = time.monotonic() - t0

    assert run["output"]["matched"] is None, fmt(run)
    assert elapsed >= 1.9, f"a 2s wait timed out after {elapsed:.2f}s: {fmt(run)}"
    assert app.count(f"wait:after:{k}") == 1


def test_invoke_returns_the_invoked_functions_result(
    api: Api, app: AppProcess, k: str
) -> None:
    eid = api.send_one("e2e/invoke", {"k": k, "x": 21})
    run = api.wait_for_run(eid, "Completed", timeout=30)

    assert run["function_id"] == "e2e-app-invoker", fmt(run)
    assert run["output"] == {"invoked": {"doubled": 42, "k": k}}, fmt(run)
    counts = app.counts()
    assert counts.get(f"invoked:work:{k}") == 1, counts
    assert counts.get(f"invoker:after:{k}") == 1, counts

    # The child run finished too and is visible via its function.invoked trigger event.
    def child_finished() -> dict[str, Any] | None:
        for ev in api.events("inngest/function.finished"):
            d = ev.get("data") or {}
            if (
                d.get("function_id") == "e2e-app-invoked"
                and (d.get("result") or {}).get("k") == k
            ):
                return ev
        return None

    ev = wait_until(child_finished, 20, message="function.finished for the invoked run")
    assert ev["data"]["result"] == {"doubled": 42, "k": k}, fmt(ev)
    assert ev["data"].get("correlation_id"), (
        f"invoke finish lacks correlation_id: {fmt(ev)}"
    )


def test_two_waits_resume_independently(api: Api, app: AppProcess) -> None:
    """Two runs waiting on the same event name; each resumes only on its own id."""
    ks = [uid(), uid()]
    eids = [
        api.send_one("e2e/wait", {"k": kk, "id": f"m-{kk}", "timeout_s": 60})
        for kk in ks
    ]
    for kk in ks:
        wait_until(
            lambda kk=kk: app.count(f"wait:before:{kk}") == 1, 20, message="wait start"
        )

    def resumed(i: int) -> dict[str, Any] | None:
        runs = api.runs_for_event(eids[i])
        if runs and runs[0]["status"] == "Completed":
            return runs[0]
        api.send_one("e2e/wait.reply", {"id": f"m-{ks[i]}", "k": ks[i]})
        return None

    first = wait_until(
        lambda: resumed(0), 30, interval=0.5, message="first wait to resume"
    )
    assert first["output"]["matched"]["data"]["id"] == f"m-{ks[0]}", fmt(first)
    # The second is still waiting: replies for the first did not resume it.
    runs = api.runs_for_event(eids[1])
    assert runs, "second run missing"
    assert runs[0]["status"] == "Running", fmt(runs)
    second = wait_until(
        lambda: resumed(1), 30, interval=0.5, message="second wait to resume"
    )
    assert second["output"]["matched"]["data"]["id"] == f"m-{ks[1]}", fmt(second)


def test_invoke_of_a_failing_function_raises_step_error(
    api: Api, app: AppProcess, k: str
) -> None:
    eid = api.send_one("e2e/invoke-err", {"k": k, "mode": "fail"})
    run = api.wait_for_run(eid, "Completed", timeout=30)
    out = run["output"]
    assert out["caught"] is True, (
        f"invoke of a failing function did not raise: {fmt(run)}"
    )
    assert out["name"] == "NonRetriableError", fmt(run)
    assert out["message"] == f"nope {k}", fmt(run)


def test_invoke_timeout_raises_step_error(api: Api, app: AppProcess, k: str) -> None:
    t0 = time.monotonic()
    eid = api.send_one("e2e/invoke-err", {"k": k, "mode": "timeout"})
    run = api.wait_for_run(eid, "Completed", timeout=30)
    elapsed = time.monotonic() - t0
    out = run["output"]
    assert out["caught"] is True, f"invoke timeout did not raise: {fmt(run)}"
    assert out["name"] == "InngestInvokeTimeoutError", fmt(run)
    assert elapsed >= 1.9, f"a 2s invoke timeout fired after {elapsed:.2f}s"
    # The child is still running (it sleeps 60s); cancel it so nothing lingers.
    child = wait_until(
        lambda: [
            e for e in api.events("inngest/function.invoked") if e["data"].get("k") == k
        ],
        10,
        message="the function.invoked event for the child",
    )
    for r in api.runs_for_event(child[0]["internal_id"]):
        if r["status"] == "Running":
            assert api.cancel(r["run_id"]).status_code == 200
