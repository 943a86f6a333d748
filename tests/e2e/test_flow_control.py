"""Flow control end to end: a real inngestd and the `flow_app` SDK app.

Concurrency (fn and keyed), throttle, rate limit, idempotency, debounce (and its
timeout), batching (size, timeout, `if`), priority, singleton (skip, cancel),
timeouts (start, finish), cron (incl. kill -9 between fires) and the
registration rules for flow-control configs. The app records what each run saw
and how many step bodies ran at once (``/log``, ``/inflight``); the tests check
the server's records (``/v1/events/{id}/runs``, ``/v1/runs/{id}``) against it.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import (
    TERMINAL,
    Api,
    AppProcess,
    ServerProcess,
    fmt,
    free_port,
    server_auth_headers,
    uid,
    wait_until,
)

ServerFactory = Callable[..., ServerProcess]
AppFactory = Callable[..., AppProcess]

APP_ID = "e2e-flow"


def _slug(fn: str) -> str:
    return f"{APP_ID}-{fn}"


# --------------------------------------------------------------------------- fixture


@dataclasses.dataclass
class Flow:
    server: ServerProcess
    app: AppProcess
    api: Api

    def log(self, fn: str, k: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.app.url}/log", timeout=5)
        r.raise_for_status()
        return list(r.json().get(f"{fn}:{k}", []))

    def inflight(self, key: str) -> dict[str, int]:
        r = httpx.get(f"{self.app.url}/inflight", timeout=5)
        r.raise_for_status()
        return dict(r.json().get(key, {"now": 0, "max": 0}))

    def send(self, name: str, data: dict[str, Any]) -> str:
        return self.api.send_one(f"e2e-flow/{name}", data)

    def runs(self, event_id: str) -> list[dict[str, Any]]:
        return self.api.runs_for_event(event_id)

    def wait_terminal(self, event_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The single run of an event once it has ended (any end state)."""

        def check() -> dict[str, Any] | None:
            runs = self.runs(event_id)
            assert len(runs) <= 1, f"event {event_id} has {len(runs)} runs: {fmt(runs)}"
            if runs and runs[0]["status"] in TERMINAL:
                return runs[0]
            return None

        return wait_until(check, timeout, message=f"the run of event {event_id} to end")


def _start_flow_stack(
    base: Path, *, env: dict[str, str] | None = None
) -> tuple[ServerProcess, AppProcess]:
    app_port = free_port()
    port = free_port()
    run_dir = base / f"inngestd-{port}"
    run_dir.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(
        port=port,
        data_dir=run_dir / "data",
        log_path=run_dir / "inngestd.log",
        app_urls=[f"http://127.0.0.1:{app_port}/api/inngest"],
    )
    server.data_dir.mkdir(parents=True, exist_ok=True)
    server.start()
    app = AppProcess(
        module="flow_app",
        port=app_port,
        server_url=server.url,
        log_path=base / f"app-flow_app-{app_port}.log",
        env=env,
    )
    try:
        app.start()
    except BaseException:
        server.stop()
        raise
    return server, app


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    from tests.e2e.apps import flow_app

    base = tmp_path_factory.mktemp("e2e-flow")
    server, app = _start_flow_stack(base)
    api = Api(server.url)
    try:
        api.wait_synced(APP_ID, slugs=flow_app.EXPECTED_SLUGS, timeout=30)
        yield Flow(server=server, app=app, api=api)
    finally:
        api.close()
        app.stop()
        server.stop()


def _epoch_s(value: str) -> float:
    """Epoch seconds of an RFC 3339 timestamp from the API."""
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --------------------------------------------------------------------------- concurrency


def test_concurrency_limit_caps_executing_steps(flow: Flow) -> None:
    k = uid()
    ids = [flow.send("concurrency", {"k": k, "i": i}) for i in range(6)]
    for eid in ids:
        run = flow.api.wait_for_run(eid, "Completed", timeout=40)
        assert run["function_id"] == _slug("concurrency"), fmt(run)
    seen = flow.inflight(f"concurrency:{k}")
    assert seen["max"] <= 2, f"more than 2 steps executed at once: {seen}"
    assert seen["max"] == 2, f"limit 2 never reached (runs serialised?): {seen}"
    assert len(flow.log("concurrency", k)) == 6


def test_keyed_concurrency_serialises_per_key_not_across_keys(flow: Flow) -> None:
    k = uid()
    ids = [
        flow.send("concurrency-key", {"k": k, "user": user, "i": i})
        for i in range(2)
        for user in ("alice", "bob")
    ]
    for eid in ids:
        flow.api.wait_for_run(eid, "Completed", timeout=30)
    for user in ("alice", "bob"):
        seen = flow.inflight(f"concurrency-key:{k}:{user}")
        assert seen["max"] == 1, f"{user}: keyed limit 1 exceeded: {seen}"
    overall = flow.inflight(f"concurrency-key:{k}")
    assert overall["max"] == 2, f"two users never ran in parallel: {overall}"


# --------------------------------------------------------------------------- throttle / rate


def test_throttle_spaces_run_starts_and_drops_nothing(flow: Flow) -> None:
    k = uid()
    ids = [flow.send("throttle", {"k": k, "i": i}) for i in range(3)]
    runs = [flow.api.wait_for_run(eid, "Completed", timeout=30) for eid in ids]
    starts = sorted(float(r["t"]) for r in flow.log("throttle", k))
    assert len(starts) == 3, flow.log("throttle", k)
    api_starts = sorted(_epoch_s(r["run_started_at"]) for r in runs)
    # limit 1 per 2 s: whatever the burst allowance, the last start waits a full
    # period after the one before it, and the three span at least one period.
    for name, s in (("app", starts), ("run_started_at", api_starts)):
        gaps = [round(b - a, 2) for a, b in itertools.pairwise(s)]
        assert s[2] - s[1] >= 1.8, f"{name}: 3rd start not throttled: gaps {gaps}"
        assert s[2] - s[0] >= 1.8, f"{name}: starts not spread: gaps {gaps}"
    # SDK default burst=1: Go admits limit+burst-1 = 1 extra start (GCRA tolerance).
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert sum(g >= 1.8 for g in gaps) >= 1, gaps


def test_rate_limit_skips_excess_events_per_key(flow: Flow) -> None:
    k = uid()
    key_a, key_b = f"{k}-a", f"{k}-b"
    ids = [flow.send("rate-limit", {"k": k, "key": key_a, "i": i}) for i in range(3)]
    other = flow.send("rate-limit", {"k": k, "key": key_b, "i": 9})
    ended = [flow.wait_terminal(eid) for eid in ids]
    statuses = sorted(r["status"] for r in ended)
    assert statuses == ["Completed", "Skipped", "Skipped"], fmt(ended)
    # The first event is the admitted one (GCRA at schedule, in order).
    assert ended[0]["status"] == "Completed", fmt(ended)
    for r in ended[1:]:
        assert r["reason"] == "RateLimited", fmt(r)
        assert r["output"] is None, fmt(r)
    flow.api.wait_for_run(other, "Completed")
    seen = [rec["data"]["i"] for rec in flow.log("rate-limit", k)]
    assert sorted(seen) == [0, 9], seen


def test_idempotency_key_starts_one_run(flow: Flow) -> None:
    k = uid()
    first = flow.send("idempotency", {"k": k, "order": f"o-{k}"})
    second = flow.send("idempotency", {"k": k, "order": f"o-{k}"})
    third = flow.send("idempotency", {"k": k, "order": f"other-{k}"})
    flow.api.wait_for_run(first, "Completed")
    flow.api.wait_for_run(third, "Completed")
    dup = flow.wait_terminal(second)
    assert dup["status"] == "Skipped", fmt(dup)
    assert dup["reason"] == "Idempotency", fmt(dup)
    orders = sorted(rec["data"]["order"] for rec in flow.log("idempotency", k))
    assert orders == sorted([f"o-{k}", f"other-{k}"]), orders


# --------------------------------------------------------------------------- debounce


def test_debounce_runs_once_with_the_last_event(flow: Flow) -> None:
    k = uid()
    ids = [flow.send("debounce", {"k": k, "n": n}) for n in range(3)]
    sent_last = time.time()
    run = flow.api.wait_for_run(ids[-1], "Completed", timeout=20)
    assert run["output"] == 2, fmt(run)
    log = flow.log("debounce", k)
    assert len(log) == 1, fmt(log)
    assert log[0]["data"]["n"] == 2, fmt(log)
    assert log[0]["event_id"] == ids[-1], (log[0]["event_id"], ids)
    assert log[0]["t"] - sent_last >= 1.8, "debounced run started before the period"
    for eid in ids[:-1]:
        assert flow.runs(eid) == [], f"superseded event {eid} has a run"


def test_debounce_timeout_caps_the_delay(flow: Flow) -> None:
    k = uid()
    ids = []
    first_sent = time.time()
    for n in range(8):  # one event every 0.5 s for 4 s; period 1 s never elapses
        ids.append(flow.send("debounce-timeout", {"k": k, "n": n}))
        if n < 7:
            time.sleep(0.5)  # pacing the sender, not waiting for the server
    last_sent = time.time()
    early = [rec for rec in flow.log("debounce-timeout", k) if rec["t"] < last_sent]
    assert early, (
        f"no run started during 4 s of events 0.5 s apart despite timeout 2 s "
        f"(first event at +0, last at +{last_sent - first_sent:.1f}s): "
        f"{fmt(flow.log('debounce-timeout', k))}"
    )
    assert early[0]["t"] - first_sent <= 3.5, early[0]
    assert early[0]["data"]["n"] < 7, early[0]
    # The events after that run are debounced again and end in a run with the last.
    run = flow.api.wait_for_run(ids[-1], "Completed", timeout=20)
    assert run["output"] == 7, fmt(run)
    log = flow.log("debounce-timeout", k)
    assert 2 <= len(log) <= 3, fmt(log)
    ns = [rec["data"]["n"] for rec in log]
    assert ns == sorted(ns), ns
    assert len(set(ns)) == len(ns), ns


# --------------------------------------------------------------------------- batching


def test_batch_full_starts_one_run_with_all_events(flow: Flow) -> None:
    k = uid()
    sent = time.time()
    ids = flow.api.send(
        [{"name": "e2e-flow/batch", "data": {"k": k, "n": n}} for n in range(5)]
    )
    run = flow.api.wait_for_run(ids[0], "Completed", timeout=20)
    for eid in ids[1:]:
        runs = flow.runs(eid)
        assert [r["run_id"] for r in runs] == [run["run_id"]], fmt(runs)
    log = flow.log("batch", k)
    assert len(log) == 1, fmt(log)
    assert [e["data"]["n"] for e in log[0]["events"]] == [0, 1, 2, 3, 4], fmt(log)
    assert [e["id"] for e in log[0]["events"]] == ids, fmt(log)
    assert run["output"] == ids, fmt(run)
    assert log[0]["t"] - sent < 4.0, "a full batch waited for the batch timeout"


def test_batch_timeout_runs_a_partial_batch(flow: Flow) -> None:
    k = uid()
    sent = time.time()
    ids = flow.api.send(
        [{"name": "e2e-flow/batch", "data": {"k": k, "n": n}} for n in range(2)]
    )
    run = flow.api.wait_for_run(ids[1], "Completed", timeout=20)
    assert flow.runs(ids[0])[0]["run_id"] == run["run_id"]
    log = flow.log("batch", k)
    assert len(log) == 1, fmt(log)
    assert [e["id"] for e in log[0]["events"]] == ids, fmt(log)
    waited = log[0]["t"] - sent
    assert waited >= 4.5, (
        f"partial batch ran after {waited:.1f}s, before the 5 s timeout"
    )


def test_batch_if_runs_non_matching_events_unbatched(flow: Flow) -> None:
    k = uid()
    sent = time.time()
    ids = flow.api.send(
        [
            {"name": "e2e-flow/batch-if", "data": {"k": k, "n": 0, "ok": True}},
            {"name": "e2e-flow/batch-if", "data": {"k": k, "n": 1, "ok": False}},
            {"name": "e2e-flow/batch-if", "data": {"k": k, "n": 2, "ok": True}},
        ]
    )
    single = flow.api.wait_for_run(ids[1], "Completed", timeout=20)
    assert single["output"] == [ids[1]], fmt(single)
    batched = flow.api.wait_for_run(ids[0], "Completed", timeout=20)
    assert batched["output"] == [ids[0], ids[2]], fmt(batched)
    assert flow.runs(ids[2])[0]["run_id"] == batched["run_id"]
    by_n = {
        tuple(e["data"]["n"] for e in rec["events"]): rec
        for rec in flow.log("batch-if", k)
    }
    assert set(by_n) == {(1,), (0, 2)}, fmt(by_n)
    assert by_n[(1,)]["t"] - sent < 1.5, "the non-matching event waited for the batch"
    assert by_n[(0, 2)]["t"] - sent >= 1.5, "the batch ran before its 2 s timeout"


# --------------------------------------------------------------------------- priority


def test_priority_starts_high_priority_run_before_queued_low_ones(flow: Flow) -> None:
    k = uid()
    blocker = flow.send("priority", {"k": k, "name": "low0", "prio": 0, "hold": 1.5})
    wait_until(
        lambda: flow.log("priority", k), 15, message="the blocking low run to start"
    )
    lows = [
        flow.send("priority", {"k": k, "name": f"low{i}", "prio": 0})
        for i in range(1, 4)
    ]
    high = flow.send("priority", {"k": k, "name": "high", "prio": 600})
    for eid in [blocker, *lows, high]:
        flow.api.wait_for_run(eid, "Completed", timeout=40)
    order = [rec["data"]["name"] for rec in flow.log("priority", k)]
    assert order[0] == "low0", order
    assert order.index("high") < order.index("low2"), order
    assert order.index("high") < order.index("low3"), order
    assert order.index("high") == 1, f"high priority run was not next: {order}"


# --------------------------------------------------------------------------- singleton


def test_singleton_skip_records_second_run_as_skipped(flow: Flow) -> None:
    k = uid()
    first = flow.send("singleton-skip", {"k": k, "name": "one", "sleep": 3})
    wait_until(lambda: flow.log("singleton-skip", k), 15, message="first run started")
    second = flow.send("singleton-skip", {"k": k, "name": "two", "sleep": 0})
    skipped = flow.wait_terminal(second)
    assert skipped["status"] == "Skipped", fmt(skipped)
    assert skipped["reason"] == "Singleton", fmt(skipped)
    done = flow.api.wait_for_run(first, "Completed", timeout=20)
    assert done["output"] == "one", fmt(done)
    names = {rec["data"]["name"] for rec in flow.log("singleton-skip", k)}
    assert names == {"one"}, names
    # Once the first run is over, the singleton is free again.
    third = flow.send("singleton-skip", {"k": k, "name": "three", "sleep": 0})
    flow.api.wait_for_run(third, "Completed", timeout=20)


def test_singleton_cancel_replaces_the_running_run(flow: Flow) -> None:
    k = uid()
    first = flow.send("singleton-cancel", {"k": k, "name": "one", "sleep": 30})
    wait_until(lambda: flow.log("singleton-cancel", k), 15, message="first run started")
    second = flow.send("singleton-cancel", {"k": k, "name": "two", "sleep": 0})
    done = flow.api.wait_for_run(second, "Completed", timeout=20)
    assert done["output"] == "two", fmt(done)
    cancelled = flow.wait_terminal(first, timeout=10)
    assert cancelled["status"] == "Cancelled", fmt(cancelled)
    steps = [
        (rec["data"]["name"], rec["step"]) for rec in flow.log("singleton-cancel", k)
    ]
    assert ("one", "last") not in steps, steps


# --------------------------------------------------------------------------- timeouts


def test_finish_timeout_cancels_a_sleeping_run(flow: Flow) -> None:
    k = uid()
    eid = flow.send("timeout-finish", {"k": k, "name": "slow", "sleep": 30})
    t0 = time.monotonic()
    run = flow.wait_terminal(eid, timeout=15)
    took = time.monotonic() - t0
    assert run["status"] == "Cancelled", fmt(run)
    assert "timeout" in str(run.get("reason") or "").lower(), fmt(run)
    assert took < 8, f"finish timeout 2 s took {took:.1f}s to cancel"
    steps = [rec["step"] for rec in flow.log("timeout-finish", k)]
    assert steps == ["first"], steps


def test_start_timeout_cancels_a_run_that_never_started(flow: Flow) -> None:
    k = uid()
    # The blocker starts at once and then holds the only slot for 5 s in its 2nd step.
    blocker = flow.send("timeout-start", {"k": k, "name": "blocker", "hold": 5})
    wait_until(
        lambda: any(r["step"] == "work" for r in flow.log("timeout-start", k)),
        15,
        message="the blocker to hold the slot",
    )
    waiting = flow.send("timeout-start", {"k": k, "name": "waiting"})
    t0 = time.monotonic()
    run = flow.wait_terminal(waiting, timeout=15)
    took = time.monotonic() - t0
    assert run["status"] == "Cancelled", fmt(run)
    assert "timeout" in str(run.get("reason") or "").lower(), fmt(run)
    assert took < 4.5, f"start timeout 2 s took {took:.1f}s (the blocker ends at 5 s)"
    done = flow.api.wait_for_run(blocker, "Completed", timeout=20)
    assert done["output"] == "blocker", fmt(done)
    names = {rec["data"]["name"] for rec in flow.log("timeout-start", k)}
    assert names == {"blocker"}, names


def test_start_timeout_spares_a_run_whose_first_call_is_in_flight(flow: Flow) -> None:
    # Go: timeouts.start bounds queued -> first execution (StartedAt is set when the
    # first request begins); a run that began executing in time is not cancelled.
    k = uid()
    eid = flow.send("timeout-start", {"k": k, "name": "slow-first", "first_hold": 3.5})
    run = flow.wait_terminal(eid, timeout=20)
    assert run["status"] == "Completed", fmt(run)
    assert run["output"] == "slow-first", fmt(run)


# --------------------------------------------------------------------------- cron


def _minute_id(epoch_s: float) -> str:
    moment = datetime.datetime.fromtimestamp(int(epoch_s) // 60 * 60, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.timeout(200)
def test_cron_fires_each_minute_once_across_a_kill9_restart(
    tmp_path: Path,
) -> None:
    server, app = _start_flow_stack(tmp_path, env={"E2E_FLOW_CRON": "1"})
    api = Api(server.url)
    try:
        api.wait_synced(APP_ID, slugs=[_slug("cron")], exact=False, timeout=30)
        started = time.time()

        def ticks() -> list[dict[str, Any]]:
            return [
                e
                for e in api.events("inngest/scheduled.timer")
                if (e.get("data") or {}).get("cron") == "* * * * *"
            ]

        def tick_after(t: float) -> dict[str, Any] | None:
            later = [e for e in ticks() if _epoch_s(e["id"]) > t]
            return min(later, key=lambda e: e["id"]) if later else None

        first = wait_until(
            lambda: tick_after(started - 1),
            75,
            interval=0.1,
            message="the first cron tick",
        )
        # Kill at once, before the server can do anything after the fire.
        server.kill9()
        fired_at = time.time()
        first_id = first["id"]
        assert first_id == _minute_id(_epoch_s(first_id)), first
        assert first["data"]["scheduledAt"] is not None, fmt(first)
        assert fired_at - _epoch_s(first_id) < 10, f"tick {first_id} fired late"

        server.start()
        second = wait_until(
            lambda: tick_after(_epoch_s(first_id)),
            75,
            interval=0.2,
            message=f"the tick after {first_id}",
        )
        second_id = second["id"]
        assert _epoch_s(second_id) - _epoch_s(first_id) == 60, (first_id, second_id)

        def runs_done() -> list[dict[str, Any]] | None:
            out = []
            for tick in (first, second):
                runs = api.runs_for_event(tick["internal_id"])
                if not runs or runs[0]["status"] != "Completed":
                    return None
                out.extend(runs)
            return out

        wait_until(runs_done, 30, message="both cron runs to complete")

        ids = [e["id"] for e in ticks()]
        assert ids.count(first_id) == 1, (
            f"{first_id} fired {ids.count(first_id)}x: {ids}"
        )
        assert ids.count(second_id) == 1, ids
        for tick in (first, second):
            runs = api.runs_for_event(tick["internal_id"])
            assert len(runs) == 1, fmt(runs)
        r = httpx.get(f"{app.url}/log", timeout=5)
        seen = [rec["event_id"] for rec in r.json().get("cron:", [])]
        # The kill may interrupt the first tick's step (at-least-once), so it may run
        # again; the server-side records above are what must be unique.
        assert seen.count(first_id) >= 1, seen
        assert seen.count(second_id) == 1, seen
    finally:
        api.close()
        app.stop()
        server.stop()


# --------------------------------------------------------------------------- registration

APP_URL = "http://127.0.0.1:9/api/inngest"  # never called


def _fn_config(slug: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": slug,
        "name": slug,
        "triggers": [{"event": f"e2e-flow-reg/{slug}"}],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "retries": {"attempts": 2},
                "runtime": {
                    "type": "http",
                    "url": f"{APP_URL}?fnId={slug}&stepId=step",
                },
            }
        },
        **extra,
    }


def _register_body(functions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "appname": "e2e-flow-reg",
        "deploy_type": "ping",
        "framework": "fast_api",
        "sdk": "py:v0.5.19",
        "url": APP_URL,
        "v": "0.1",
        "functions": functions,
    }


BAD_CONFIGS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "batch-with-cancel": (
        {
            "batchEvents": {"maxSize": 5, "timeout": "5s"},
            "cancel": [{"event": "e2e-flow-reg/stop"}],
        },
        ["batch", "cancel"],
    ),
    "three-concurrency-limits": (
        {
            "concurrency": [
                {"limit": 1, "key": "event.data.a"},
                {"limit": 2, "key": "event.data.b"},
                {"limit": 3},
            ]
        },
        ["concurrency"],
    ),
    "debounce-zero-period": ({"debounce": {"period": "0s"}}, ["debounce", "period"]),
    "invalid-key-expression": (
        {"concurrency": [{"limit": 1, "key": "event.data.user =="}]},
        ["concurrency", "key"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_register_rejects_invalid_flow_control(
    server_factory: ServerFactory, case: str
) -> None:
    server = server_factory(poll_interval=None)
    good = _fn_config("e2e-flow-reg-good", concurrency=[{"limit": 2}])
    auth = server_auth_headers()  # `inngestd start` wants the signing key's bearer
    ok = httpx.post(
        f"{server.url}/fn/register",
        json=_register_body([good]),
        headers=auth,
        timeout=10,
    )
    assert ok.status_code == 200, f"valid config refused: {ok.status_code} {ok.text}"

    extra, fields = BAD_CONFIGS[case]
    slug = f"e2e-flow-reg-{case}"
    body = _register_body([copy.deepcopy(good), _fn_config(slug, **extra)])
    r = httpx.post(f"{server.url}/fn/register", json=body, headers=auth, timeout=10)
    assert r.status_code == 400, f"{case} accepted: {r.status_code} {r.text}"
    err = str(r.json().get("error") or "")
    assert slug in err, f"error does not name the function {slug}: {err!r}"
    for field in fields:
        assert field in err.lower(), f"error does not name {field!r}: {err!r}"
    listed = Api(server.url).app("e2e-flow-reg")
    assert listed is not None
    slugs = [f["slug"] for f in listed["functions"]]
    assert slugs == ["e2e-flow-reg-good"], fmt(listed)
