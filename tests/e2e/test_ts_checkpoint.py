"""TypeScript SDK 4.x async checkpointing (protocol §3.1 / §6.1, api/checkpoint.py).

inngestd sends a non-empty ``ctx.fn_id``, so the TS SDK runs steps back to back inside one
call and POSTs each result to ``/v1/checkpoint/{runId}/async``. These tests check that it
saves round trips, that checkpointed memos are write-once and survive the app dying
mid-run, that a cancelled run stops the SDK (409), and that the per-step protocol still
works when the app turns checkpointing off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.e2e.conftest import SdkStack, start_ts_stack
from tests.e2e.harness import ServerProcess, fmt, uid, wait_until


def _checkpoint(
    sdk: SdkStack, run_id: str, steps: list[dict[str, Any]], **extra: Any
) -> httpx.Response:
    body = {"run_id": run_id, "steps": steps, **extra}
    return sdk.api.http.post(f"/v1/checkpoint/{run_id}/async", json=body)


def _actions(sdk: SdkStack, run_id: str) -> dict[str, Any]:
    r = sdk.api.http.get(f"/v0/runs/{run_id}/actions")
    assert r.status_code == 200, r.text
    return dict(r.json())


# ----------------------------------------------------------------------------- round trips


def test_checkpointing_runs_a_chain_in_one_call(ts_stack: SdkStack) -> None:
    k = uid()
    eid = ts_stack.api.send_one("e2e/chain", {"k": k, "n": 4})
    run = ts_stack.api.wait_for_run(eid, "Completed")
    assert run["output"] == {"a": 5, "b": 50, "c": "5-50", "sum": 55}, fmt(run)
    assert ts_stack.app.count(f"chain:call:{k}") == 1, (
        f"with checkpointing a 3-step chain is one call: {ts_stack.app.counts()}"
    )
    # The checkpointed steps are memoised on the run, keyed by hashed step id.
    memos = _actions(ts_stack, run["run_id"])
    assert sorted(orjson.dumps(v).decode() for v in memos.values()) == sorted(
        ['{"data":5}', '{"data":50}', '{"data":"5-50"}']
    ), fmt(memos)


def test_without_checkpointing_one_call_per_step(
    ts_stack_no_checkpoint: SdkStack,
) -> None:
    k = uid()
    eid = ts_stack_no_checkpoint.api.send_one("e2e/chain", {"k": k, "n": 4})
    run = ts_stack_no_checkpoint.api.wait_for_run(eid, "Completed")
    assert run["output"]["sum"] == 55, fmt(run)
    assert ts_stack_no_checkpoint.app.count(f"chain:call:{k}") == 4


# ----------------------------------------------------------------------------- the API itself


def test_checkpoint_api_is_write_once_and_guards_runs(ts_stack: SdkStack) -> None:
    """Drive the API by hand on a run parked in a wait (no call in flight)."""
    sdk = ts_stack
    k = uid()
    eid = sdk.api.send_one("e2e/wait", {"k": k, "id": f"x-{k}", "timeout_s": 60})
    run = sdk.api.wait_for_run(eid, "Running")
    run_id = run["run_id"]
    wait_until(lambda: _actions(sdk, run_id), 20, message="the `before` memo")
    memos = _actions(sdk, run_id)
    (before_id,) = memos

    # A replayed checkpoint of a stored step changes nothing (write-once).
    r = _checkpoint(
        sdk, run_id, [{"op": "StepRun", "id": before_id, "data": "overwritten"}]
    )
    assert r.status_code == 200, r.text
    assert _actions(sdk, run_id)[before_id] == {"data": "waiting"}

    # A new step is stored; lazy ops ride along and are ignored.
    new_id = "f" * 40
    r = _checkpoint(
        sdk,
        run_id,
        [
            {"op": "StepRun", "id": new_id, "name": "extra", "data": {"n": 1}},
            {"op": "DeferAdd", "id": "e" * 40},
        ],
        fn_id=sdk.slug("wait"),
    )
    assert r.status_code == 200, r.text
    assert _actions(sdk, run_id)[new_id] == {"data": {"n": 1}}

    # Async ops cannot be checkpointed; a wrong function id or run id is refused.
    assert (
        _checkpoint(
            sdk, run_id, [{"op": "Sleep", "id": "a" * 40, "name": "1s"}]
        ).status_code
        == 400
    )
    assert _checkpoint(sdk, run_id, [], fn_id=sdk.slug("chain")).status_code == 400
    assert (
        sdk.api.http.post(
            f"/v1/checkpoint/{run_id}/async", json={"run_id": "other", "steps": []}
        ).status_code
        == 400
    )
    assert _checkpoint(sdk, "01ARZ3NDEKTSV4RRFFQ69G5FAV", []).status_code == 404
    # The queue item of a call that is not running: a stale dispatch.
    assert _checkpoint(sdk, run_id, [], qi_id=f"{run_id}:nope").status_code == 409
    # The beta prefix is served too.
    r = sdk.api.http.post(
        f"/v1/http/runs/{run_id}/async", json={"run_id": run_id, "steps": []}
    )
    assert r.status_code == 200, r.text

    # Once the run has ended, checkpoints are refused with 409 (the SDK stops).
    assert sdk.api.cancel(run_id).status_code == 200
    sdk.api.wait_run_status(run_id, "Cancelled")
    r = _checkpoint(sdk, run_id, [{"op": "StepRun", "id": "b" * 40, "data": 1}])
    assert r.status_code == 409, r.text
    assert "b" * 40 not in _actions(sdk, run_id)


# ----------------------------------------------------------------------------- durability


def test_app_killed_mid_run_resumes_from_checkpointed_steps(
    tmp_path: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    st = start_ts_stack(tmp_path, checkpointing=True, server_start=server_factory)
    try:
        k = uid()
        eid = st.api.send_one("e2e/slow", {"k": k})
        wait_until(
            lambda: st.app.count(f"slow:s2:{k}") >= 1, 30, message="slow to reach s2"
        )
        before = st.app.counts()
        assert before.get(f"slow:s0:{k}") == 1, before
        assert before.get(f"slow:s1:{k}") == 1, before
        st.app.kill9()  # mid-call: s0 and s1 were checkpointed, s2 is running
        st.app.start()  # a fresh process: its counters start at zero
        run = st.api.wait_for_run(eid, "Completed", timeout=60)
        assert run["output"] == [0, 1, 2, 3, 4], fmt(run)
        after = st.app.counts()
        assert after.get(f"slow:s0:{k}", 0) == 0, (
            f"checkpointed step s0 ran again after the app died: {after}"
        )
        assert after.get(f"slow:s1:{k}", 0) == 0, (
            f"checkpointed step s1 ran again after the app died: {after}"
        )
        for step in ("s2", "s3", "s4"):
            assert after.get(f"slow:{step}:{k}") == 1, after
    finally:
        st.api.close()
        st.app.stop()


def test_cancel_stops_a_checkpointing_call(ts_stack: SdkStack) -> None:
    """The call runs all 5 steps by itself; cancelling the run makes the next checkpoint
    answer 409, and the SDK stops instead of running the remaining steps."""
    sdk = ts_stack
    k = uid()
    eid = sdk.api.send_one("e2e/slow", {"k": k})
    wait_until(lambda: sdk.app.count(f"slow:s1:{k}") >= 1, 30, message="s1 to start")
    run = sdk.api.wait_for_run(eid, "Running")
    assert sdk.api.cancel(run["run_id"]).status_code == 200
    time.sleep(3)  # the rest of the steps would take 1.5s
    counts = sdk.app.counts()
    assert counts.get(f"slow:s4:{k}", 0) == 0, (
        f"the SDK ran on after the run was cancelled: {counts}"
    )
    assert sdk.api.run(run["run_id"])["status"] == "Cancelled"


# ----------------------------------------------------------------------------- localhost


def test_localhost_base_url(
    tmp_path: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    """INNGEST_BASE_URL=http://localhost:<port>: Node may resolve it to ::1, and sync, the
    event API and checkpoints must all still reach the server."""
    st = start_ts_stack(
        tmp_path,
        checkpointing=True,
        server_start=server_factory,
        server_host="localhost",
    )
    try:
        k = uid()
        r = httpx.post(
            f"{st.app.url}/send",
            json={"name": "e2e/chain", "data": {"k": k, "n": 1}},
            timeout=15,
        )
        assert r.status_code == 200, r.text
        (eid,) = r.json()["ids"]
        run = st.api.wait_for_run(eid, "Completed", function_id=st.slug("chain"))
        assert run["output"]["sum"] == 22, fmt(run)
        assert st.app.count(f"chain:call:{k}") == 1, st.app.counts()
    finally:
        st.api.close()
        st.app.stop()
