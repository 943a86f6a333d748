"""REST API v1: events, runs, functions and apps; the actions GraphQL shares."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from inngestd import __version__, errors, ids, search
from inngestd.api import openapi, responses
from inngestd.api.context import Services, ctx, guard, int_param, read_body
from inngestd.api.views import (
    app_view,
    event_view,
    function_view,
    job_view,
    run_row_view,
    run_view,
    span_view,
)
from inngestd.domain.events import FUNCTION_INVOKED, Event, make_event
from inngestd.domain.expressions import compile_search
from inngestd.domain.functions import Function
from inngestd.domain.runs import Run, RunContext, RunStatus
from inngestd.store.base import RunFilter, SchedulePlan

# A JSON body of an action (invoke, sync) is small; refuse anything larger unread.
MAX_ACTION_BODY = 4 * 1024 * 1024


async def list_events(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    name = request.query_params.get("name")
    limit = int_param(request, "limit", 100, 1, 1000)
    cursor = request.query_params.get("cursor")
    before = int(cursor) if cursor and cursor.isdigit() else None
    events = await store.events.recent(name=name, limit=limit, before_seq=before)
    next_cursor = str(events[-1].seq) if len(events) == limit else None
    return responses.json(
        {"data": [event_view(e) for e in events], "cursor": next_cursor}
    )


async def get_event(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    event_id = request.path_params["event_id"]
    event = await store.events.get(event_id)
    if event is None:
        raise errors.EventNotFound(f"event {event_id!r} not found")
    return responses.json({"data": event_view(event)})


async def event_runs(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    event_id = request.path_params["event_id"]
    if await store.events.get(event_id) is None:
        raise errors.EventNotFound(f"event {event_id!r} not found")
    runs = await store.runs.runs_for_event(event_id)
    return responses.json({"data": [run_view(r) for r in runs]})


async def get_run(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    run_id = request.path_params["run_id"]
    run = await store.runs.get_run(run_id)
    if run is None:
        raise errors.RunNotFound(f"run {run_id!r} not found")
    return responses.json({"data": run_view(run)})


async def cancel_run(request: Request) -> Response:
    store, _clock, services = ctx(request)
    run_id = request.path_params["run_id"]
    run = await store.runs.get_run(run_id)
    if run is None:
        raise errors.RunNotFound(f"run {run_id!r} not found")
    cancelled = await services.scheduler.cancel_run(run_id)
    if cancelled is None:
        raise errors.RunAlreadyEnded(
            f"run {run_id!r} has already ended ({run.status.value})"
        )
    return responses.json({"data": run_view(cancelled)})


async def run_steps(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    run_id = request.path_params["run_id"]
    if await store.runs.get_run(run_id) is None:
        raise errors.RunNotFound(f"run {run_id!r} not found")
    return responses.json(
        {"data": [span_view(s) for s in await store.runs.spans(run_id)]}
    )


async def list_apps(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    return responses.json({"data": [app_view(a) for a in await store.catalog.apps()]})


async def dev_info(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    apps = await store.catalog.apps()
    return responses.json({"version": __version__, "apps": [app_view(a) for a in apps]})


# -- actions shared with GraphQL ------------------------------------------------------------
async def find_function(services: Services, slug: str) -> Function:
    for fn in await services.store.catalog.functions():
        if fn.id == slug:
            return fn
    raise errors.FunctionNotFound(f"function {slug!r} not found")


async def _steps_before(
    services: Services, ctx_: RunContext, step_id: str
) -> list[tuple[str, bytes]]:
    """The memos a rerun from `step_id` starts with: every step that completed before it
    (all completed steps when `step_id` itself never completed)."""
    run_id = ctx_.run.id
    if step_id in ctx_.steps:
        return [(s, ctx_.steps[s]) for s in ctx_.stack[: ctx_.stack.index(step_id)]]
    spans = await services.store.runs.spans(run_id)
    if not any(s.step_id == step_id for s in spans):
        raise errors.StepNotFound(f"step {step_id!r} not found in run {run_id!r}")
    if not ctx_.stack and any(s.status == "COMPLETED" for s in spans):
        # Spans without step results: history written before step results were kept.
        raise errors.Conflict(
            f"the step results of run {run_id!r} were not kept; rerun it whole"
        )
    return [(s, ctx_.steps[s]) for s in ctx_.stack]


async def rerun(services: Services, run_id: str, from_step: str | None = None) -> Run:
    """Start a new run of the same function with the same events (all of a batch);
    `from_step` keeps the results of the steps before that step, so it runs next."""
    store, now = services.store, services.clock.now_ms()
    ctx_ = await store.runs.load(run_id)
    if ctx_ is None:
        raise errors.RunNotFound(f"run {run_id!r} not found")
    seeds = [] if from_step is None else await _steps_before(services, ctx_, from_step)
    fn = await find_function(services, ctx_.run.function_id)
    first = await store.events.get(ctx_.run.event_id)
    if first is None:
        raise errors.EventNotFound(f"event {ctx_.run.event_id!r} of run not found")
    events = [first] + [
        Event(
            str(p.get("id") or ids.new_ulid(now)),
            str(p.get("name", "")),
            p,
            int(p["ts"]) if isinstance(p.get("ts"), int) else now,
        )
        for p in ctx_.events[1:]
    ]
    new = services.scheduler.new_run(fn, events, now, key=ids.new_ulid(now))
    new = dataclasses.replace(new, steps=seeds)
    created = await store.runs.schedule([SchedulePlan(first, new_runs=[new])], now)
    if not created:  # only an idempotency clash on a fresh ULID key could do this
        raise errors.Conflict(f"run {run_id!r} could not be rerun")
    return created[0]


async def invoke(
    services: Services,
    slug: str,
    data: dict[str, Any],
    user: dict[str, Any] | None = None,
) -> Event:
    """Invoke `slug` with `data` by appending an `inngest/function.invoked` event."""
    await find_function(services, slug)
    now = services.clock.now_ms()
    payload_data = {**data, "_inngest": {"fn_id": slug}}
    event = make_event(ids.new_ulid(now), FUNCTION_INVOKED, payload_data, now)
    if user:
        event.payload["user"] = user
    [stored] = await services.store.events.append([event])
    return stored


async def sync_app(services: Services, url: str) -> dict[str, Any]:
    """Ask the app at `url` to sync; returns its listing (with the error, if it failed)."""
    if not url.startswith(("http://", "https://")):
        raise errors.InvalidInput(f"url must be an http(s) URL, got {url!r}")
    await services.registry.sync_url(url)
    for app in await services.store.catalog.apps():
        if app.url == url:
            return app_view(app)
    raise errors.AppNotFound(f"the app at {url!r} could not be synced")


# -- parsing -------------------------------------------------------------------------------------
def _values(request: Request, name: str) -> list[str]:
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out += [v.strip() for v in raw.split(",") if v.strip()]
    return out


def parse_time_ms(raw: str, name: str) -> int:
    """Milliseconds since the epoch, or an ISO 8601 instant with a zone."""
    if raw.lstrip("-").isdigit():
        return int(raw)
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise errors.InvalidInput(
            f"query parameter {name!r} must be epoch milliseconds or an ISO 8601"
            f" time with a zone, got {raw!r}"
        )
    return int(when.timestamp() * 1000)


def parse_statuses(values: list[str], name: str = "status") -> frozenset[RunStatus]:
    out = set()
    for value in values:
        try:
            out.add(RunStatus(value.upper()))
        except ValueError:
            allowed = ", ".join(s.value for s in RunStatus)
            raise errors.InvalidInput(
                f"{name} {value!r} is not one of {allowed}"
            ) from None
    return frozenset(out)


def run_filter(request: Request) -> RunFilter:
    params = request.query_params
    after = params.get("after")
    before = params.get("before")
    return RunFilter(
        statuses=parse_statuses(_values(request, "status"), "query parameter 'status'"),
        function_ids=frozenset(_values(request, "function_id")),
        app_ids=frozenset(_values(request, "app_id")),
        after_ms=parse_time_ms(after, "after") if after else None,
        before_ms=parse_time_ms(before, "before") if before else None,
    )


async def _json_object(request: Request) -> dict[str, Any]:
    body = await read_body(request, MAX_ACTION_BODY)
    if not body.strip():
        return {}
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidInput(f"body is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise errors.InvalidInput("body must be a JSON object")
    return parsed


def _data_field(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data", {})
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise errors.InvalidInput("'data' must be a JSON object")
    return data


# -- handlers ------------------------------------------------------------------------------------
async def list_runs(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    flt = run_filter(request)
    limit = int_param(request, "limit", 50, 1, 1000)
    cursor = request.query_params.get("cursor") or None
    query = request.query_params.get("query") or None
    if query is not None:
        compile_search(query)  # first, so that its errors name the expression
    try:
        if query is None:
            page = await store.history.list_runs(flt, cursor=cursor, limit=limit)
        else:
            page = await search.search_runs(
                store.history, store.events, flt, query, cursor=cursor, limit=limit
            )
    except errors.InvalidInput:
        raise errors.InvalidInput(
            f"query parameter 'cursor' is not a cursor this API returned: {cursor!r}"
        ) from None
    return responses.json(
        {"data": [run_row_view(r) for r in page.rows], "cursor": page.cursor}
    )


async def run_jobs(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    run_id = request.path_params["run_id"]
    if await store.runs.get_run(run_id) is None:
        raise errors.RunNotFound(f"run {run_id!r} not found")
    jobs = await store.queue.jobs(run_id)
    return responses.json({"data": [job_view(j) for j in jobs]})


async def rerun_run(request: Request) -> Response:
    """`POST /v1/runs/{id}/rerun`, optionally with `{"from_step": "<step id>"}`."""
    _store, _clock, services = ctx(request)
    from_step = (await _json_object(request)).get("from_step")
    if from_step is not None and (not isinstance(from_step, str) or not from_step):
        raise errors.InvalidInput("from_step must be a step id (a non-empty string)")
    run = await rerun(services, request.path_params["run_id"], from_step)
    return responses.json({"data": run_view(run)})


async def list_functions(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    fns = sorted(await store.catalog.functions(), key=lambda f: f.id)
    return responses.json({"data": [function_view(f) for f in fns]})


async def app_functions(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    name = request.path_params["app_id"]
    for app in await store.catalog.apps():
        if app.id == name:
            return responses.json(
                {
                    "data": [function_view(f) for f in app.functions],
                    "app": app_view(app),
                }
            )
    raise errors.AppNotFound(f"app {name!r} not found")


async def invoke_function(request: Request) -> Response:
    _store, _clock, services = ctx(request)
    body = await _json_object(request)
    event = await invoke(services, request.path_params["slug"], _data_field(body))
    return responses.json({"data": {"event_id": event.internal_id}})


async def invoke_go(request: Request) -> Response:
    """`POST /invoke/{slug}` as the Go dev server: the body is the event (data, user)."""
    _store, _clock, services = ctx(request)
    body = await _json_object(request)
    user = body.get("user")
    event = await invoke(
        services,
        request.path_params["slug"],
        _data_field(body),
        user if isinstance(user, dict) else None,
    )
    return responses.json({"id": event.internal_id, "status": 200})


async def sync_app_url(request: Request) -> Response:
    _store, _clock, services = ctx(request)
    body = await _json_object(request)
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise errors.InvalidInput('body must be {"url": "<the app\'s serve URL>"}')
    return responses.json({"data": await sync_app(services, url)})


def routes() -> list[BaseRoute]:
    return [
        Route("/dev", dev_info, methods=["GET"]),
        Route("/v1/apps", guard(list_apps), methods=["GET"]),
        Route("/v1/events", guard(list_events), methods=["GET"]),
        Route("/v1/events/{event_id}", guard(get_event), methods=["GET"]),
        Route("/v1/events/{event_id}/runs", guard(event_runs), methods=["GET"]),
        Route("/v1/runs/{run_id}", guard(get_run), methods=["GET"]),
        Route("/v1/runs/{run_id}", guard(cancel_run), methods=["DELETE"]),
        Route("/v0/runs/{run_id}", guard(cancel_run), methods=["DELETE"]),
        Route("/v1/runs/{run_id}/steps", guard(run_steps), methods=["GET"]),
        Route("/v1/runs", guard(list_runs), methods=["GET"]),
        Route("/v1/runs/{run_id}/jobs", guard(run_jobs), methods=["GET"]),
        Route("/v1/runs/{run_id}/rerun", guard(rerun_run), methods=["POST"]),
        Route("/v1/functions", guard(list_functions), methods=["GET"]),
        Route("/v1/apps/{app_id}/functions", guard(app_functions), methods=["GET"]),
        Route("/v1/functions/{slug}/invoke", guard(invoke_function), methods=["POST"]),
        Route("/invoke/{slug}", guard(invoke_go), methods=["POST"]),
        Route("/v1/apps/sync", guard(sync_app_url), methods=["POST"]),
        *openapi.routes(),
    ]
