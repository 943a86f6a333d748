"""The HTTP surface: event API, SDK sync, REST v1, and the SDK's use_api routes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from inngestd import __version__, errors
from inngestd.api import responses
from inngestd.api.views import app_view, event_view, run_view, span_view
from inngestd.clock import Clock
from inngestd.registry import Registry
from inngestd.scheduling import Scheduler
from inngestd.store.base import Store
from inngestd.wire.events import parse_events

log = logging.getLogger("inngestd.api")

# The whole request may hold up to 5000 events of up to 3 MiB each; refuse bodies that
# could not be valid before reading them into memory.
MAX_BODY_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Services:
    store: Store
    registry: Registry
    scheduler: Scheduler
    clock: Clock


Handler = Callable[[Request], Awaitable[Response]]


def _guard(fn: Handler) -> Handler:
    """Turn inngestd errors into JSON 4xx/5xx replies."""

    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except errors.InngestdError as exc:
            if responses.status_for(exc) >= 500:
                log.exception("request failed")
            return responses.error(exc)

    return wrapped


async def _read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge(
            f"request body is {declared} bytes; the limit is {limit} bytes"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.PayloadTooLarge(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _ctx(request: Request) -> tuple[Store, Clock, Services]:
    services: Services = request.app.state.services
    return services.store, services.clock, services


async def health(request: Request) -> Response:
    _store, _clock, _services = _ctx(request)
    return responses.json({"status": 200, "message": "OK"})


async def send_events(request: Request) -> Response:
    store, clock, _services = _ctx(request)
    body = await _read_body(request)
    try:
        events = parse_events(
            body, clock.now_ms(), request.headers.get("x-inngest-event-id-seed")
        )
    except errors.InvalidInput as exc:
        return responses.error(exc, ids=[])
    await store.events.append(events)
    return responses.json({"ids": [e.internal_id for e in events], "status": 200})


async def register(request: Request) -> Response:
    _store, _clock, services = _ctx(request)
    expected = request.headers.get("x-inngest-expected-server-kind")
    if expected and expected != "dev":
        return responses.json(
            {"error": f"Expected server kind {expected}, got dev", "status": 400},
            400,
        )
    try:
        result = await services.registry.register(await _read_body(request))
    except errors.InvalidInput as exc:
        log.warning("sync rejected: %s", exc)
        return responses.error(exc)
    return responses.json(
        {
            "ok": True,
            "modified": result.modified,
            "app_id": result.app.id,
            "sync_id": result.sync_id,
            "status": 200,
        }
    )


async def list_events(request: Request) -> Response:
    store, _clock, _services = _ctx(request)
    name = request.query_params.get("name")
    limit = _int_param(request, "limit", 100, 1, 1000)
    cursor = request.query_params.get("cursor")
    before = int(cursor) if cursor and cursor.isdigit() else None
    events = await store.events.recent(name=name, limit=limit, before_seq=before)
    next_cursor = str(events[-1].seq) if len(events) == limit else None
    return responses.json(
        {"data": [event_view(e) for e in events], "cursor": next_cursor}
    )


async def get_event(request: Request) -> Response:
    store, _clock, _services = _ctx(request)
    event_id = request.path_params["event_id"]
    event = await store.events.get(event_id)
    if event is None:
        raise errors.EventNotFound(f"event {event_id!r} not found")
    return responses.json({"data": event_view(event)})


async def event_runs(request: Request) -> Response:
    store, _clock, _services = _ctx(request)
    event_id = request.path_params["event_id"]
    if await store.events.get(event_id) is None:
        raise errors.EventNotFound(f"event {event_id!r} not found")
    runs = await store.runs.runs_for_event(event_id)
    return responses.json({"data": [run_view(r) for r in runs]})


async def get_run(request: Request) -> Response:
    store, _clock, _services = _ctx(request)
    run_id = request.path_params["run_id"]
    run = await store.runs.get_run(run_id)
    if run is None:
        raise errors.RunNotFound(f"run {run_id!r} not found")
    return responses.json({"data": run_view(run)})


async def cancel_run(request: Request) -> Response:
    store, _clock, services = _ctx(request)
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
    store, _clock, _services = _ctx(request)
    run_id = request.path_params["run_id"]
    if await store.runs.get_run(run_id) is None:
        raise errors.RunNotFound(f"run {run_id!r} not found")
    return responses.json(
        {"data": [span_view(s) for s in await store.runs.spans(run_id)]}
    )


async def run_batch(request: Request) -> Response:
    store, _clock, _services = _ctx(request)
    ctx = await store.runs.load(request.path_params["run_id"])
    if ctx is None:
        raise errors.RunNotFound(f"run {request.path_params['run_id']!r} not found")
    return Response(orjson.dumps(ctx.events), media_type="application/json")


async def run_actions(request: Request) -> Response:
    store, _clock, _services = _ctx(request)
    ctx = await store.runs.load(request.path_params["run_id"])
    if ctx is None:
        raise errors.RunNotFound(f"run {request.path_params['run_id']!r} not found")
    steps = {k: orjson.Fragment(v) for k, v in ctx.steps.items()}
    return Response(orjson.dumps(steps), media_type="application/json")


async def list_apps(request: Request) -> Response:
    store, _clock, _services = _ctx(request)
    return responses.json({"data": [app_view(a) for a in await store.catalog.apps()]})


async def dev_info(request: Request) -> Response:
    store, _clock, _services = _ctx(request)
    apps = await store.catalog.apps()
    return responses.json({"version": __version__, "apps": [app_view(a) for a in apps]})


async def index(request: Request) -> Response:
    _store, _clock, _services = _ctx(request)
    return HTMLResponse(
        f"<!doctype html><title>inngestd</title><h1>inngestd {__version__}</h1>"
        "<p>The dashboard arrives with issue 4. APIs: <a href='/v1/apps'>/v1/apps</a>, "
        "<a href='/v1/events'>/v1/events</a>.</p>"
    )


def create_app(services: Services) -> Starlette:
    routes = [
        Route("/", index, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/dev", dev_info, methods=["GET"]),
        Route("/e/{key}", _guard(send_events), methods=["POST"]),
        Route("/fn/register", _guard(register), methods=["POST"]),
        Route("/v1/apps", _guard(list_apps), methods=["GET"]),
        Route("/v1/events", _guard(list_events), methods=["GET"]),
        Route("/v1/events/{event_id}", _guard(get_event), methods=["GET"]),
        Route("/v1/events/{event_id}/runs", _guard(event_runs), methods=["GET"]),
        Route("/v1/runs/{run_id}", _guard(get_run), methods=["GET"]),
        Route("/v1/runs/{run_id}", _guard(cancel_run), methods=["DELETE"]),
        Route("/v0/runs/{run_id}", _guard(cancel_run), methods=["DELETE"]),
        Route("/v1/runs/{run_id}/steps", _guard(run_steps), methods=["GET"]),
        Route("/v0/runs/{run_id}/batch", _guard(run_batch), methods=["GET"]),
        Route("/v0/runs/{run_id}/actions", _guard(run_actions), methods=["GET"]),
    ]
    app = Starlette(
        routes=routes, exception_handlers={404: _not_found, 405: _not_allowed}
    )
    app.state.services = services
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    return responses.json(
        {"error": f"no route for {request.method} {request.url.path}", "status": 404},
        404,
    )


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return responses.json(
        {
            "error": f"method {request.method} not allowed on {request.url.path}",
            "status": 405,
        },
        405,
    )


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.InvalidInput(
            f"query parameter {name!r} must be an integer"
        ) from None
    if not low <= value <= high:
        raise errors.InvalidInput(
            f"query parameter {name!r} must be between {low} and {high}"
        )
    return value
