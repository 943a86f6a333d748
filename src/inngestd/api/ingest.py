"""The SDK-facing routes: event ingest, sync, and the use_api fetches."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from inngestd import errors
from inngestd.api import responses
from inngestd.api.context import ctx, guard, log, read_body
from inngestd.wire.events import parse_events


async def health(request: Request) -> Response:
    _store, _clock, _services = ctx(request)
    return responses.json({"status": 200, "message": "OK"})


async def send_events(request: Request) -> Response:
    store, clock, _services = ctx(request)
    body = await read_body(request)
    try:
        events = parse_events(
            body, clock.now_ms(), request.headers.get("x-inngest-event-id-seed")
        )
    except errors.InvalidInput as exc:
        return responses.error(exc, ids=[])
    await store.events.append(events)
    return responses.json({"ids": [e.internal_id for e in events], "status": 200})


async def register(request: Request) -> Response:
    _store, _clock, services = ctx(request)
    expected = request.headers.get("x-inngest-expected-server-kind")
    kind = services.server_kind
    if expected and expected != kind:
        return responses.json(
            {"error": f"Expected server kind {expected}, got {kind}", "status": 400},
            400,
        )
    try:
        result = await services.registry.register(await read_body(request))
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


async def run_batch(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    run = await store.runs.load(request.path_params["run_id"])
    if run is None:
        raise errors.RunNotFound(f"run {request.path_params['run_id']!r} not found")
    return Response(orjson.dumps(run.events), media_type="application/json")


async def run_actions(request: Request) -> Response:
    store, _clock, _services = ctx(request)
    run = await store.runs.load(request.path_params["run_id"])
    if run is None:
        raise errors.RunNotFound(f"run {request.path_params['run_id']!r} not found")
    steps = {k: orjson.Fragment(v) for k, v in run.steps.items()}
    return Response(orjson.dumps(steps), media_type="application/json")


def routes() -> list[BaseRoute]:
    return [
        Route("/health", health, methods=["GET"]),
        Route("/e/{key}", guard(send_events), methods=["POST"]),
        Route("/fn/register", guard(register), methods=["POST"]),
        Route("/v0/runs/{run_id}/batch", guard(run_batch), methods=["GET"]),
        Route("/v0/runs/{run_id}/actions", guard(run_actions), methods=["GET"]),
    ]
