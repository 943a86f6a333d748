"""The SDK registration payload (`POST /fn/register`) → App and Functions.

Python sends `appname`/`deploy_type`, TypeScript `appName`/`deployType`; keys are matched
case-insensitively as the Go server does. Errors name the function and the field.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from inngestd import errors
from inngestd.domain.durations import parse_duration
from inngestd.domain.expressions import compile_expression
from inngestd.domain.flow_config import parse_flow_config
from inngestd.domain.functions import (
    MAX_CANCEL,
    MAX_RETRIES,
    MAX_TRIGGERS,
    App,
    CancelOn,
    Function,
    Trigger,
)
from inngestd.flow.cron import validate_cron

MAX_TRIGGER_NAME = 255


def _lower_keys(obj: dict[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in obj.items()}


class _Fn:
    """Validation context for one function: every error names it."""

    def __init__(self, index: int, raw: Any) -> None:
        self.index = index
        self.raw = raw
        self.label = f"functions[{index}]"

    def fail(self, field: str, problem: str) -> errors.InvalidFunctionConfig:
        return errors.InvalidFunctionConfig(
            f"function {self.label}: field '{field}': {problem}"
        )


def parse_register(body: bytes) -> tuple[App, list[Function]]:
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidInput(f"request body is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise errors.InvalidInput("request body must be a JSON object")
    top = _lower_keys(raw)
    app_id = top.get("appname")
    if not isinstance(app_id, str) or not app_id:
        raise errors.InvalidInput(
            "field 'appName' (or 'appname') is required and must be a non-empty string"
        )
    url = top.get("url")
    if not isinstance(url, str) or not url:
        raise errors.InvalidInput(
            "field 'url' is required and must be a non-empty string"
        )
    functions_raw = top.get("functions")
    if not isinstance(functions_raw, list):
        raise errors.InvalidInput("field 'functions' must be an array")
    functions = [parse_function(app_id, i, f) for i, f in enumerate(functions_raw)]
    seen: set[str] = set()
    for fn in functions:
        if fn.id in seen:
            raise errors.InvalidFunctionConfig(
                f"function '{fn.id}': field 'id': duplicate function id"
            )
        seen.add(fn.id)
    checksum_src = {
        k: v for k, v in top.items() if k not in ("featureobservations", "deployid")
    }
    checksum = hashlib.sha256(
        orjson.dumps(checksum_src, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()
    app = App(
        id=app_id,
        url=url,
        sdk=str(top.get("sdk") or ""),
        framework=str(top.get("framework") or ""),
        checksum=checksum,
        functions=tuple(functions),
    )
    return app, functions


def parse_function(app_id: str, index: int, raw: Any) -> Function:
    ctx = _Fn(index, raw)
    if not isinstance(raw, dict):
        raise ctx.fail("", "must be an object")
    fid = raw.get("id")
    if not isinstance(fid, str) or not fid:
        raise ctx.fail("id", "is required and must be a non-empty string")
    ctx.label = f"'{fid}'"
    name = raw.get("name") or fid
    if not isinstance(name, str):
        raise ctx.fail("name", "must be a string")
    triggers = _triggers(ctx, raw.get("triggers"))
    url, retries = _step(ctx, raw.get("steps"))
    cancel = _cancel(ctx, raw.get("cancel"))
    flow = parse_flow_config(fid, raw)
    return Function(
        id=fid,
        app_id=app_id,
        name=name,
        url=url,
        triggers=triggers,
        retries=retries,
        cancel=cancel,
        config=orjson.dumps(raw),
        flow=flow,
    )


def _expr(ctx: _Fn, field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ctx.fail(field, "must be a string expression")
    try:
        compile_expression(value)
    except errors.InvalidExpression as exc:
        raise ctx.fail(field, str(exc)) from None
    return value


def _duration_ms(ctx: _Fn, field: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ctx.fail(field, "must be a duration string such as '30s' or '1h'")
    try:
        return int(parse_duration(value).total_seconds() * 1000)
    except errors.InvalidDuration as exc:
        raise ctx.fail(field, str(exc)) from None


def _triggers(ctx: _Fn, raw: Any) -> tuple[Trigger, ...]:
    if not isinstance(raw, list) or not raw:
        raise ctx.fail("triggers", "must be a non-empty array")
    if len(raw) > MAX_TRIGGERS:
        raise ctx.fail(
            "triggers", f"at most {MAX_TRIGGERS} triggers are allowed, got {len(raw)}"
        )
    out = []
    for i, t in enumerate(raw):
        field = f"triggers[{i}]"
        if not isinstance(t, dict):
            raise ctx.fail(field, "must be an object")
        event, cron = t.get("event"), t.get("cron")
        if event is not None:
            if not isinstance(event, str) or not event:
                raise ctx.fail(f"{field}.event", "must be a non-empty string")
            if len(event) > MAX_TRIGGER_NAME:
                raise ctx.fail(
                    f"{field}.event", f"must be at most {MAX_TRIGGER_NAME} characters"
                )
            out.append(
                Trigger(
                    event=event,
                    expression=_expr(ctx, f"{field}.expression", t.get("expression")),
                )
            )
        elif cron is not None:
            if not isinstance(cron, str) or not cron.strip():
                raise ctx.fail(f"{field}.cron", "must be a non-empty cron expression")
            try:
                validate_cron(cron)
            except ValueError as exc:
                raise ctx.fail(f"{field}.cron", str(exc)) from None
            jitter = t.get("jitter")
            _duration_ms(ctx, f"{field}.jitter", jitter)
            out.append(
                Trigger(cron=cron, jitter=jitter if isinstance(jitter, str) else None)
            )
        else:
            raise ctx.fail(field, "needs an 'event' or a 'cron'")
    if len({(t.event, t.expression, t.cron) for t in out}) != len(out):
        raise ctx.fail("triggers", "contains the same trigger twice")
    return tuple(out)


def _step(ctx: _Fn, raw: Any) -> tuple[str, int]:
    if not isinstance(raw, dict) or not raw:
        raise ctx.fail("steps", "must be an object with one step")
    step = raw.get("step") if "step" in raw else next(iter(raw.values()))
    if not isinstance(step, dict):
        raise ctx.fail("steps.step", "must be an object")
    runtime = step.get("runtime")
    url = runtime.get("url") if isinstance(runtime, dict) else None
    if not isinstance(url, str) or not url:
        raise ctx.fail("steps.step.runtime.url", "is required and must be a URL string")
    retries_raw = step.get("retries")
    retries = 4
    if retries_raw is not None:
        attempts = (
            retries_raw.get("attempts")
            if isinstance(retries_raw, dict)
            else retries_raw
        )
        if not isinstance(attempts, int) or isinstance(attempts, bool):
            raise ctx.fail("steps.step.retries.attempts", "must be an integer")
        if not 0 <= attempts <= MAX_RETRIES:
            raise ctx.fail(
                "steps.step.retries.attempts",
                f"must be between 0 and {MAX_RETRIES}, got {attempts}",
            )
        retries = attempts
    return url, retries


def _cancel(ctx: _Fn, raw: Any) -> tuple[CancelOn, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ctx.fail("cancel", "must be an array")
    if len(raw) > MAX_CANCEL:
        raise ctx.fail(
            "cancel", f"at most {MAX_CANCEL} cancellation events are allowed"
        )
    out = []
    for i, c in enumerate(raw):
        field = f"cancel[{i}]"
        if (
            not isinstance(c, dict)
            or not isinstance(c.get("event"), str)
            or not c["event"]
        ):
            raise ctx.fail(
                f"{field}.event", "is required and must be a non-empty string"
            )
        out.append(
            CancelOn(
                event=c["event"],
                if_expr=_expr(ctx, f"{field}.if", c.get("if")),
                timeout_ms=_duration_ms(ctx, f"{field}.timeout", c.get("timeout")),
            )
        )
    return tuple(out)
