"""REST API v1: events, runs and apps."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from inngestd import __version__, errors
from inngestd.api import responses
from inngestd.api.context import ctx, guard, int_param
from inngestd.api.views import app_view, event_view, run_view, span_view


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
    ]
