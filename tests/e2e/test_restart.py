"""Durability: kill -9 the server mid-run and with events queued, restart on the same
data dir, and check that nothing accepted is lost and no stored step runs again."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import Stack, start_main_stack
from tests.e2e.harness import (
    Api,
    AppProcess,
    ServerProcess,
    fmt,
    now_ms,
    uid,
    wait_until,
)

SLOW_STEPS = 5
CHAIN_STEPS = ["a", "b", "c"]


def _stack(
    tmp_path: Any,
    server_factory: Callable[..., ServerProcess],
    app_factory: Callable[..., AppProcess],
) -> Stack:
    return start_main_stack(
        tmp_path, server_start=server_factory, app_start=app_factory
    )


def _check_no_stored_step_reran(
    fn: str, steps: list[str], k: str, before: dict[str, int], after: dict[str, int]
) -> None:
    """A step whose successor had started before the kill was stored: it must run once.

    Only the step in flight at the kill (the last started one) or one whose call was
    in transit (the next) may run twice; every step runs at least once.
    """
    started = [i for i, s in enumerate(steps) if before.get(f"{fn}:{s}:{k}", 0) > 0]
    last = max(started) if started else -1
    for i, s in enumerate(steps):
        key = f"{fn}:{s}:{k}"
        n = after.get(key, 0)
        assert n >= 1, f"step {s} of {fn}/{k} never ran: before={before} after={after}"
        if i < last or i > last + 1:
            assert n == 1, (
                f"step {s} of {fn}/{k} ran {n} times although its result was stored "
                f"before the kill (kill-time counts {before}, final counts {after})"
            )
        else:
            assert n <= 2, f"in-flight step {s} of {fn}/{k} ran {n} times"


def test_kill9_mid_run_and_with_queued_events(
    tmp_path: Any,
    server_factory: Callable[..., ServerProcess],
    app_factory: Callable[..., AppProcess],
) -> None:
    st = _stack(tmp_path, server_factory, app_factory)
    api, app, server = st.api, st.app, st.server

    # 1. A slow run, killed mid-way (after s2 started: s0, s1 are stored).
    k_slow = uid()
    slow_eid = api.send_one("e2e/slow", {"k": k_slow})
    # 2. A run parked in a 3s sleep across the restart.
    k_sleep = uid()
    sleep_eid = api.send_one("e2e/sleep", {"k": k_sleep, "seconds": 3})
    # 3. An event scheduled for the future (ts), not yet due at the kill.
    k_future = uid()
    future_ts = now_ms() + 4000
    future_eid = api.send_one("e2e/simple", {"k": k_future}, ts=future_ts)

    wait_until(
        lambda: app.count(f"slow:s2:{k_slow}") >= 1,
        30,
        message="slow run to reach step s2",
    )
    wait_until(
        lambda: app.count(f"sleep:before:{k_sleep}") >= 1,
        30,
        message="sleep run to park",
    )

    # 4. A burst of events accepted just before the kill: they may still be queued.
    k_burst = uid()
    burst = [
        {"name": "e2e/chain", "data": {"k": f"{k_burst}-{i}", "n": i}}
        for i in range(10)
    ]
    burst_ids = api.send(burst)

    server.kill9()
    at_kill = app.counts()

    server.start()
    api = Api(server.url)

    accepted = [slow_eid, sleep_eid, future_eid, *burst_ids]
    for eid in accepted:
        ev = api.event(eid)  # every accepted event survived
        assert ev["internal_id"] == eid, fmt(ev)

    runs: dict[str, dict[str, Any]] = {}
    for eid in accepted:
        runs[eid] = api.wait_for_run(eid, "Completed", timeout=60)
        assert len(api.runs_for_event(eid)) == 1, (
            f"event {eid} has {len(api.runs_for_event(eid))} runs after restart"
        )

    assert runs[slow_eid]["output"] == list(range(SLOW_STEPS)), fmt(runs[slow_eid])
    assert runs[future_eid]["output"]["ran_at"] * 1000 >= future_ts - 200, fmt(
        runs[future_eid]
    )
    sleep_out = runs[sleep_eid]["output"]
    assert sleep_out["after"] - sleep_out["before"] >= 2.9, fmt(runs[sleep_eid])
    for i, eid in enumerate(burst_ids):
        assert runs[eid]["output"]["a"] == i + 1, fmt(runs[eid])

    final = app.counts()
    _check_no_stored_step_reran(
        "slow", [f"s{i}" for i in range(SLOW_STEPS)], k_slow, at_kill, final
    )
    # s0 and s1 were certainly stored (s2 had started).
    assert final.get(f"slow:s0:{k_slow}") == 1, final
    assert final.get(f"slow:s1:{k_slow}") == 1, final
    assert final.get(f"sleep:before:{k_sleep}") == 1, final
    assert final.get(f"sleep:after:{k_sleep}", 0) in (1, 2), final
    assert final.get(f"simple:body:{k_future}") == 1, final
    for i in range(10):
        _check_no_stored_step_reran(
            "chain", CHAIN_STEPS, f"{k_burst}-{i}", at_kill, final
        )


def test_kill9_while_waiting_for_event_and_cancel_pause(
    tmp_path: Any,
    server_factory: Callable[..., ServerProcess],
    app_factory: Callable[..., AppProcess],
) -> None:
    """Pauses (wait_for_event, cancel_on) survive a kill -9."""
    st = _stack(tmp_path, server_factory, app_factory)
    api, app, server = st.api, st.app, st.server

    k_wait, k_cancel = uid(), uid()
    wait_eid = api.send_one(
        "e2e/wait", {"k": k_wait, "id": f"m-{k_wait}", "timeout_s": 120}
    )
    cancel_eid = api.send_one("e2e/cancellable", {"k": k_cancel, "id": f"c-{k_cancel}"})
    wait_until(
        lambda: app.count(f"wait:before:{k_wait}") == 1, 20, message="wait run start"
    )
    wait_until(
        lambda: app.count(f"cancellable:start:{k_cancel}") == 1,
        20,
        message="cancellable start",
    )
    # Make sure the pause is registered before the kill: a non-matching reply is harmless,
    # and the run must still be Running afterwards.
    api.wait_for_run(wait_eid, "Running")

    server.kill9()
    server.start()
    api = Api(server.url)

    cancel_run = api.wait_for_run(cancel_eid, "Running", timeout=20)
    api.send_one("e2e/cancel", {"id": f"c-{k_cancel}"})
    api.wait_run_status(cancel_run["run_id"], "Cancelled", timeout=30)

    done: list[dict[str, Any]] = []

    def resumed() -> bool:
        rs = api.runs_for_event(wait_eid)
        if rs and rs[0]["status"] == "Completed":
            done[:] = rs
            return True
        api.send_one("e2e/wait.reply", {"id": f"m-{k_wait}"})
        return False

    wait_until(
        resumed, 30, interval=0.5, message="wait_for_event to resume after restart"
    )
    assert done[0]["output"]["matched"]["data"]["id"] == f"m-{k_wait}", fmt(done[0])
    counts = app.counts()
    assert counts.get(f"wait:before:{k_wait}") == 1, counts
    assert counts.get(f"cancellable:start:{k_cancel}") == 1, counts
    assert counts.get(f"cancellable:after:{k_cancel}", 0) == 0, counts


def test_graceful_restart_keeps_apps_and_history(
    tmp_path: Any,
    server_factory: Callable[..., ServerProcess],
    app_factory: Callable[..., AppProcess],
) -> None:
    st = _stack(tmp_path, server_factory, app_factory)
    api, server = st.api, st.server
    k = uid()
    eid = api.send_one("e2e/chain", {"k": k, "n": 3})
    run = api.wait_for_run(eid, "Completed")

    server.restart()  # SIGTERM, then start on the same port and data dir
    api = Api(server.url)
    assert api.event(eid)["data"] == {"k": k, "n": 3}
    again = api.run(run["run_id"])
    for key in ("run_id", "function_id", "status", "output", "event_id"):
        assert again.get(key) == run.get(key), (
            f"{key} changed across restart: {fmt(again)}"
        )
    assert api.app("e2e-app") is not None, "apps lost across a restart"
    eid2 = api.send_one("e2e/chain", {"k": f"{k}-2", "n": 3})
    assert api.wait_for_run(eid2, "Completed")["output"] == run["output"]


def test_sigterm_lets_the_step_in_flight_finish(
    tmp_path: Any,
    server_factory: Callable[..., ServerProcess],
    app_factory: Callable[..., AppProcess],
) -> None:
    """Graceful shutdown: SIGTERM mid-step stops leasing but stores the step in flight
    (0.5 s long) before exiting, so after a restart no step runs twice."""
    st = _stack(tmp_path, server_factory, app_factory)
    api, app, server = st.api, st.app, st.server
    k = uid()
    eid = api.send_one("e2e/slow", {"k": k})
    wait_until(
        lambda: app.count(f"slow:s1:{k}") >= 1, 30, message="slow run to reach s1"
    )
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(20)  # well under the 30 s/5 s shutdown timeouts' worst case
    log = server.log_text()
    assert "still running after" not in log, server.log_tail()
    at_stop = app.counts()
    assert at_stop.get(f"slow:s1:{k}") == 1, at_stop
    # The next step was not started: no work was leased after the signal.
    assert at_stop.get(f"slow:s3:{k}", 0) == 0, at_stop

    server.start()
    run = Api(server.url).wait_for_run(eid, "Completed", timeout=60)
    assert run["output"] == list(range(SLOW_STEPS)), fmt(run)
    counts = app.counts()
    for i in range(SLOW_STEPS):
        assert counts.get(f"slow:s{i}:{k}") == 1, (i, counts)
