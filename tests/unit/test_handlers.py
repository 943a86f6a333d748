"""Unit tests for inngestd.execution.handlers: one call outcome → the effects it has."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import orjson

from inngestd.domain import effects as fx
from inngestd.domain.events import FUNCTION_FAILED, FUNCTION_FINISHED, FUNCTION_INVOKED
from inngestd.domain.ops import Completed, Failed, Op, Ops
from inngestd.domain.queue import ItemKind, QueueItem
from inngestd.domain.runs import PauseKind, Run, RunContext, RunStatus
from inngestd.execution.handlers import (
    DEFAULT_INVOKE_TIMEOUT_MS,
    INVOKE_TIMEOUT_MEMO,
    Env,
    handle,
)
from inngestd.flow.backoff import BACKOFF_TABLE_MS
from inngestd.sdk import parse_reply

NOW = 1_700_000_000_000
DAY_MS = 24 * 3600 * 1000
TRIGGER: dict[str, Any] = {
    "name": "app/test",
    "data": {"id": 7},
    "id": "ev-1",
    "ts": NOW - 1_000,
    "user": {},
}


def context(
    *, request_version: int = -1, events: list[dict[str, Any]] | None = None
) -> RunContext:
    run = Run(
        id="run-1",
        function_id="app-fn",
        app_id="app",
        event_id="ev-1",
        status=RunStatus.RUNNING,
        created_ms=NOW - 1_000,
        started_ms=NOW - 900,
        request_version=request_version,
        max_attempts=3,
    )
    return RunContext(run, events if events is not None else [TRIGGER], {}, [])


def item(
    *, attempt: int = 0, max_attempts: int = 3, step_id: str | None = None
) -> QueueItem:
    return QueueItem(
        id="run-1:start",
        run_id="run-1",
        function_id="app-fn",
        kind=ItemKind.CALL,
        due_ms=NOW - 100,
        step_id=step_id,
        attempt=attempt,
        max_attempts=max_attempts,
    )


def env(*, retry_interval_ms: int | None = None, jitter_ms: int = 0) -> Env:
    counter = itertools.count(1)
    return Env(
        now_ms=NOW,
        started_ms=NOW - 50,
        new_id=lambda: f"id-{next(counter)}",
        retry_interval_ms=retry_interval_ms,
        jitter_ms=jitter_ms,
        app_id="app",
    )


def op(kind: str, op_id: str = "h1", **kwargs: Any) -> Op:
    return Op(op=kind, id=op_id, name=kwargs.pop("name", op_id), **kwargs)


def run_ops(
    *ops: Op, it: QueueItem | None = None, e: Env | None = None, **kw: Any
) -> list[fx.Effect]:
    return handle(context(**kw), it or item(), Ops(ops), e or env())


def only(effects: list[fx.Effect], kind: type[Any]) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def emitted(effects: list[fx.Effect]) -> dict[str, dict[str, Any]]:
    return {e.event.name: e.event.payload for e in only(effects, fx.Emit)}


def assert_failed_run(effects: list[fx.Effect], error_name: str) -> None:
    [finish] = only(effects, fx.Finish)
    assert finish.status is RunStatus.FAILED
    assert finish.output is not None
    assert orjson.loads(finish.output)["name"] == error_name
    events = emitted(effects)
    assert set(events) == {FUNCTION_FINISHED, FUNCTION_FAILED}
    assert set(events[FUNCTION_FAILED]["data"]["error"]) == {
        "error",
        "name",
        "message",
        "stack",
    }
    assert not only(effects, fx.SleepUntil)
    assert not only(effects, fx.CreatePause)


def iso(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- 200 ----------------------------------------------------------------------------------------
def test_completed_finishes_the_run_and_emits_function_finished() -> None:
    effects = handle(context(), item(), Completed(b'{"ok":true}'), env())
    assert effects[0] == fx.Finish(RunStatus.COMPLETED, b'{"ok":true}', None)
    events = emitted(effects)
    assert set(events) == {FUNCTION_FINISHED}
    data = events[FUNCTION_FINISHED]["data"]
    assert data["function_id"] == "app-fn"
    assert data["run_id"] == "run-1"
    assert data["event"] == TRIGGER
    assert data["events"] == [TRIGGER]
    assert data["result"] == {"ok": True}
    assert data["_inngest"] == {"status": "COMPLETED"}
    assert "error" not in data
    assert "correlation_id" not in data


def test_completed_invoked_run_carries_the_correlation_id() -> None:
    invoked = {
        "name": FUNCTION_INVOKED,
        "data": {
            "k": 1,
            "_inngest": {"fn_id": "app-fn", "correlation_id": "parent.h1"},
        },
        "id": "ev-2",
        "ts": NOW,
        "user": {},
    }
    effects = handle(context(events=[invoked]), item(), Completed(b"42"), env())
    data = emitted(effects)[FUNCTION_FINISHED]["data"]
    assert data["correlation_id"] == "parent.h1"
    assert data["result"] == 42


# -- 206: steps ---------------------------------------------------------------------------------
def test_step_run_saves_the_data_memo() -> None:
    effects = run_ops(op("StepRun", data={"x": 1}, has_data=True))
    [save] = only(effects, fx.SaveStep)
    assert save.step_id == "h1"
    assert orjson.loads(save.memo) == {"data": {"x": 1}}
    assert not only(effects, fx.MarkParallel)
    assert not only(effects, fx.Retry)
    assert not only(effects, fx.Finish)
    [span] = only(effects, fx.RecordSpan)
    assert span.span.status == "COMPLETED"


def test_step_run_returning_none_saves_data_null() -> None:
    [save] = only(run_ops(op("StepRun", data=None, has_data=True)), fx.SaveStep)
    assert orjson.loads(save.memo) == {"data": None}


STEP_ERROR = {
    "name": "ValueError",
    "message": "bad",
    "stack": "Traceback",
    "code": "unknown",
}


def test_step_error_with_attempts_left_retries_with_the_fixed_interval() -> None:
    effects = run_ops(op("StepError", error=STEP_ERROR), e=env(retry_interval_ms=5_000))
    assert only(effects, fx.Retry) == [fx.Retry(NOW + 5_000)]
    assert not only(effects, fx.SaveStep)
    assert not only(effects, fx.Finish)


def test_step_error_with_attempts_left_uses_the_backoff_table() -> None:
    effects = run_ops(
        op("StepError", error=STEP_ERROR), it=item(attempt=1), e=env(jitter_ms=7)
    )
    assert only(effects, fx.Retry) == [fx.Retry(NOW + BACKOFF_TABLE_MS[1] + 7)]
    assert not only(effects, fx.SaveStep)


def _reply(status: int, headers: dict[str, str], body: Any) -> Ops | Failed | Completed:
    return parse_reply(
        status,
        {"x-inngest-sdk": "inngest-js:v4.18.1", **headers},
        orjson.dumps(body),
        NOW,
    )


STEP_ERROR_OP = {"op": "StepError", "id": "h1", "name": "boom", "error": STEP_ERROR}


def test_step_error_honours_retry_after() -> None:
    outcome = _reply(206, {"retry-after": "120"}, [STEP_ERROR_OP])
    effects = handle(context(), item(), outcome, env(retry_interval_ms=5_000))
    assert only(effects, fx.Retry) == [fx.Retry(NOW + 120_000)]


def test_step_error_with_no_retry_header_is_final() -> None:
    outcome = _reply(206, {"x-inngest-no-retry": "true"}, [STEP_ERROR_OP])
    effects = handle(context(), item(), outcome, env(retry_interval_ms=5_000))
    assert not only(effects, fx.Retry)
    [save] = only(effects, fx.SaveStep)
    assert "error" in orjson.loads(save.memo)


def test_step_error_on_the_last_attempt_saves_the_error() -> None:
    effects = run_ops(
        op("StepError", error=STEP_ERROR), it=item(attempt=2, max_attempts=3)
    )
    assert not only(effects, fx.Retry)
    [save] = only(effects, fx.SaveStep)
    assert save.step_id == "h1"
    memo = orjson.loads(save.memo)
    assert set(memo) == {"error"}
    assert memo["error"]["name"] == "ValueError"
    assert memo["error"]["message"] == "bad"


def test_step_error_memo_always_has_string_name_and_message() -> None:
    effects = run_ops(
        op("StepError", error={"stack": "s"}), it=item(attempt=0, max_attempts=1)
    )
    [save] = only(effects, fx.SaveStep)
    error = orjson.loads(save.memo)["error"]
    assert isinstance(error["name"], str)
    assert isinstance(error["message"], str)


def test_step_failed_saves_the_error_even_with_attempts_left() -> None:
    effects = run_ops(
        op("StepFailed", error=STEP_ERROR), it=item(attempt=0, max_attempts=5)
    )
    assert not only(effects, fx.Retry)
    [save] = only(effects, fx.SaveStep)
    assert orjson.loads(save.memo)["error"]["message"] == "bad"


# -- 206: parallelism ---------------------------------------------------------------------------
def test_several_planned_steps_mark_parallel_and_plan_each() -> None:
    effects = run_ops(op("StepPlanned", "p1"), op("StepPlanned", "p2"))
    assert effects == [
        fx.MarkParallel(("p1", "p2"), race=False),
        fx.PlanStep("p1"),
        fx.PlanStep("p2"),
    ]


def test_race_mode_comes_from_opts_parallel_mode() -> None:
    race = {"parallelMode": "race"}
    effects = run_ops(
        op("StepPlanned", "p1", opts=race), op("StepPlanned", "p2", opts=race)
    )
    [mark] = only(effects, fx.MarkParallel)
    assert mark == fx.MarkParallel(("p1", "p2"), race=True)


def test_a_single_planned_step_is_not_parallel() -> None:
    assert run_ops(op("StepPlanned", "p1")) == [fx.PlanStep("p1")]


def test_lazy_ops_do_nothing() -> None:
    assert run_ops() == []
    assert run_ops(op("None", "")) == []


# -- 206: sleep ---------------------------------------------------------------------------------
def test_sleep_until_an_iso_time() -> None:
    effects = run_ops(op("Sleep", "nap", name=iso(NOW + 3_600_000)))
    assert only(effects, fx.SleepUntil) == [fx.SleepUntil("nap", NOW + 3_600_000)]


def test_sleep_for_a_duration() -> None:
    effects = run_ops(op("Sleep", "nap", name="5s"))
    assert only(effects, fx.SleepUntil) == [fx.SleepUntil("nap", NOW + 5_000)]


def test_sleep_opts_duration_wins_over_name() -> None:
    effects = run_ops(op("Sleep", "nap", name="nap", opts={"duration": "1m"}))
    assert only(effects, fx.SleepUntil) == [fx.SleepUntil("nap", NOW + 60_000)]


def test_sleep_of_366_days_is_allowed() -> None:
    effects = run_ops(op("Sleep", "nap", name="366d"))
    assert only(effects, fx.SleepUntil) == [fx.SleepUntil("nap", NOW + 366 * DAY_MS)]


def test_sleep_longer_than_366_days_fails_the_run() -> None:
    assert_failed_run(
        run_ops(op("Sleep", "nap", name="367d")), "InngestErrTimeoutTooLong"
    )


def test_sleep_with_an_invalid_duration_fails_the_run() -> None:
    assert_failed_run(
        run_ops(op("Sleep", "nap", name="soon")), "InngestErrInvalidSleep"
    )


# -- 206: waitForEvent --------------------------------------------------------------------------
def test_wait_for_event_creates_a_pause() -> None:
    wait = op(
        "WaitForEvent",
        "w1",
        name="app/go",
        opts={"timeout": "1m", "if": "event.data.id == async.data.id"},
    )
    effects = run_ops(wait)
    [create] = only(effects, fx.CreatePause)
    p = create.pause
    assert p.kind is PauseKind.WAIT
    assert p.run_id == "run-1"
    assert p.step_id == "w1"
    assert p.event_name == "app/go"
    assert p.expression == "event.data.id == async.data.id"
    assert p.expires_ms == NOW + 60_000
    assert p.timeout_memo is not None
    assert orjson.loads(p.timeout_memo) is None
    assert p.trigger == TRIGGER
    assert not only(effects, fx.Finish)


def test_wait_for_event_without_if_has_no_expression() -> None:
    [create] = only(
        run_ops(
            op("WaitForEvent", "w1", name="app/go", opts={"timeout": "1h", "if": None})
        ),
        fx.CreatePause,
    )
    assert create.pause.expression is None
    assert create.pause.expires_ms == NOW + 3_600_000


def test_wait_for_event_with_an_invalid_if_fails_the_run() -> None:
    wait = op(
        "WaitForEvent",
        "w1",
        name="app/go",
        opts={"timeout": "1m", "if": "event.data.id =="},
    )
    assert_failed_run(run_ops(wait), "InngestErrInvalidWaitForEvent")


def test_wait_for_event_timeout_longer_than_366_days_fails_the_run() -> None:
    wait = op("WaitForEvent", "w1", name="app/go", opts={"timeout": "400d"})
    assert_failed_run(run_ops(wait), "InngestErrTimeoutTooLong")


# -- 206: invoke --------------------------------------------------------------------------------
def test_invoke_creates_a_pause_and_emits_function_invoked() -> None:
    invoke = op(
        "InvokeFunction",
        "inv",
        opts={
            "function_id": "app-other",
            "payload": {"data": {"k": 1}, "v": None},
            "timeout": None,
        },
    )
    effects = run_ops(invoke)
    [create] = only(effects, fx.CreatePause)
    p = create.pause
    assert p.kind is PauseKind.INVOKE
    assert p.step_id == "inv"
    assert p.correlation_id == "run-1.inv"
    assert p.event_name == FUNCTION_FINISHED
    assert p.expires_ms == NOW + DEFAULT_INVOKE_TIMEOUT_MS
    assert p.timeout_memo == INVOKE_TIMEOUT_MEMO

    [emit] = only(effects, fx.Emit)
    ev = emit.event
    assert ev.name == FUNCTION_INVOKED
    assert ev.data["k"] == 1
    meta = ev.data["_inngest"]
    assert meta["fn_id"] == "app-other"
    assert meta["correlation_id"] == "run-1.inv"
    assert meta["source_run_id"] == "run-1"
    assert meta["source_fn_id"] == "app-fn"
    assert meta["source_app_id"] == "app"
    assert meta["expire"] == p.expires_ms
    assert ev.received_ms == NOW


def test_invoke_with_a_timeout() -> None:
    invoke = op(
        "InvokeFunction", "inv", opts={"function_id": "app-other", "timeout": "1h"}
    )
    [create] = only(run_ops(invoke), fx.CreatePause)
    assert create.pause.expires_ms == NOW + 3_600_000


def test_invoke_without_a_target_fails_the_step() -> None:
    effects = run_ops(op("InvokeFunction", "inv", opts={}))
    [save] = only(effects, fx.SaveStep)
    assert "error" in orjson.loads(save.memo)
    assert not only(effects, fx.Emit)


# -- errors -------------------------------------------------------------------------------------
PY_ERROR = {
    "code": "non_retriable_error",
    "message": "nope",
    "name": "NonRetriableError",
    "stack": "tb",
}


def test_failed_with_no_retry_fails_the_run() -> None:
    body = orjson.dumps(PY_ERROR)
    effects = handle(
        context(), item(attempt=0), Failed(body, 500, no_retry=True), env()
    )
    assert not only(effects, fx.Retry)
    [finish] = only(effects, fx.Finish)
    assert finish.status is RunStatus.FAILED
    assert finish.output == body
    events = emitted(effects)
    assert set(events) == {FUNCTION_FINISHED, FUNCTION_FAILED}
    failed = events[FUNCTION_FAILED]
    assert failed["id"] == "run-1"
    assert failed["data"]["function_id"] == "app-fn"
    assert failed["data"]["run_id"] == "run-1"
    assert failed["data"]["event"] == TRIGGER
    assert failed["data"]["error"] == {
        "error": "NonRetriableError",
        "name": "NonRetriableError",
        "message": "nope",
        "stack": "tb",
    }
    assert events[FUNCTION_FINISHED]["data"]["error"] == failed["data"]["error"]


def test_failed_on_the_last_attempt_fails_the_run() -> None:
    body = orjson.dumps(
        {"code": "unknown", "message": "boom", "name": "MyError", "stack": None}
    )
    effects = handle(
        context(), item(attempt=2, max_attempts=3), Failed(body, 500), env()
    )
    assert not only(effects, fx.Retry)
    error = emitted(effects)[FUNCTION_FAILED]["data"]["error"]
    assert error == {
        "error": "invalid status code: 500",
        "name": "MyError",
        "message": "boom",
        "stack": None,
    }


def test_failed_with_a_non_json_body_still_outputs_a_json_error() -> None:
    outcome = Failed(
        b"<html>bad gateway</html>",
        502,
        no_retry=True,
        message="invalid status code: 502",
    )
    [finish] = only(handle(context(), item(), outcome, env()), fx.Finish)
    assert finish.output is not None
    assert orjson.loads(finish.output) == {
        "name": "Error",
        "message": "invalid status code: 502",
    }


def test_failed_with_attempts_left_retries() -> None:
    effects = handle(
        context(), item(attempt=0), Failed(b"{}", 500), env(retry_interval_ms=2_000)
    )
    assert only(effects, fx.Retry) == [fx.Retry(NOW + 2_000)]
    assert not only(effects, fx.Finish)
    assert not only(effects, fx.Emit)


def test_failed_with_retry_after_retries_then() -> None:
    outcome = Failed(b"{}", 500, retry_at_ms=NOW + 90_000)
    effects = handle(context(), item(attempt=1), outcome, env(retry_interval_ms=2_000))
    assert only(effects, fx.Retry) == [fx.Retry(NOW + 90_000)]


# -- request version ----------------------------------------------------------------------------
def test_a_new_request_version_is_stored() -> None:
    effects = handle(
        context(request_version=-1), item(), Ops((op("StepPlanned", "p1"),), 2), env()
    )
    assert effects[0] == fx.SetRequestVersion(2)


def test_an_unchanged_request_version_is_not_stored_again() -> None:
    effects = handle(
        context(request_version=2), item(), Ops((op("StepPlanned", "p1"),), 2), env()
    )
    assert not only(effects, fx.SetRequestVersion)
    effects = handle(
        context(request_version=2), item(), Ops((op("StepPlanned", "p1"),), None), env()
    )
    assert not only(effects, fx.SetRequestVersion)
