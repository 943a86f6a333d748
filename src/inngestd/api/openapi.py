"""The OpenAPI 3 document at /openapi.json, built from the application's own routes.

Paths come from the live route table, so the document cannot list a route that does not
exist or miss one that does; `OPERATIONS` describes each (tests fail on an undescribed one).
The dashboard's HTML pages and static files are not part of the API and are left out.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from inngestd import __version__
from inngestd.api import responses

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _data(schema: dict[str, Any], *, cursor: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {"data": schema}
    if cursor:
        props["cursor"] = {"type": "string", "nullable": True}
    return {"type": "object", "properties": props}


def _list(name: str, *, cursor: bool = False) -> dict[str, Any]:
    return _data({"type": "array", "items": _ref(name)}, cursor=cursor)


_OBJ: dict[str, Any] = {"type": "object", "additionalProperties": True}
_QUERY = {
    "limit": ("integer", "Page size"),
    "cursor": ("string", "The `cursor` of the previous page"),
    "name": ("string", "Only events with this name"),
    "status": (
        "string",
        "Comma-separated run statuses: QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED,"
        " SKIPPED (any case)",
    ),
    "function_id": ("string", "Comma-separated function slugs"),
    "query": (
        "string",
        "A CEL expression over `event` (the trigger event) and `output` (the run's"
        " output); checks at most 2,000 candidate runs per request, the cursor goes on",
    ),
    "app_id": ("string", "Comma-separated app ids"),
    "after": ("string", "Runs created at or after: epoch ms or RFC 3339"),
    "before": ("string", "Runs created before: epoch ms or RFC 3339"),
}

# (method, path) -> summary, tag, query parameters, request body schema, 200 body schema.
OPERATIONS: dict[tuple[str, str], tuple[str, str, tuple[str, ...], Any, Any]] = {
    ("GET", "/health"): ("Liveness", "server", (), None, _OBJ),
    ("GET", "/dev"): ("Server info and apps", "server", (), None, _OBJ),
    ("GET", "/openapi.json"): ("This document", "server", (), None, _OBJ),
    ("POST", "/e/{key}"): (
        "Send one event or an array of events",
        "events",
        (),
        {"oneOf": [_OBJ, {"type": "array", "items": _OBJ}]},
        {
            "type": "object",
            "properties": {
                "ids": {"type": "array", "items": {"type": "string"}},
                "status": {"type": "integer"},
            },
        },
    ),
    ("POST", "/fn/register"): ("SDK sync (register an app)", "apps", (), _OBJ, _OBJ),
    ("GET", "/v0/runs/{run_id}/batch"): (
        "A run's events (SDK use_api)",
        "runs",
        (),
        None,
        {"type": "array", "items": _OBJ},
    ),
    ("GET", "/v0/runs/{run_id}/actions"): (
        "A run's memoised steps (SDK use_api)",
        "runs",
        (),
        None,
        _OBJ,
    ),
    ("GET", "/v1/apps"): ("List apps", "apps", (), None, _list("App")),
    ("POST", "/v1/apps/sync"): (
        "Sync (or add) the app served at a URL",
        "apps",
        (),
        {
            "type": "object",
            "required": ["url"],
            "properties": {"url": {"type": "string"}},
        },
        _data(_ref("App")),
    ),
    ("GET", "/v1/apps/{app_id}/functions"): (
        "An app's functions",
        "functions",
        (),
        None,
        _list("Function"),
    ),
    ("GET", "/v1/functions"): (
        "List functions",
        "functions",
        (),
        None,
        _list("Function"),
    ),
    ("POST", "/v1/functions/{slug}/invoke"): (
        "Invoke a function with a payload",
        "functions",
        (),
        {"type": "object", "properties": {"data": _OBJ}},
        _data(
            {"type": "object", "properties": {"event_id": {"type": "string"}}},
        ),
    ),
    ("POST", "/invoke/{slug}"): (
        "Invoke a function; the body is the event (Go dev server route)",
        "functions",
        (),
        {"type": "object", "properties": {"data": _OBJ, "user": _OBJ}},
        {
            "type": "object",
            "properties": {"id": {"type": "string"}, "status": {"type": "integer"}},
        },
    ),
    ("GET", "/v1/events"): (
        "List events, newest first",
        "events",
        ("name", "limit", "cursor"),
        None,
        _list("Event", cursor=True),
    ),
    ("GET", "/v1/events/{event_id}"): (
        "Get an event",
        "events",
        (),
        None,
        _data(_ref("Event")),
    ),
    ("GET", "/v1/events/{event_id}/runs"): (
        "The runs an event started",
        "events",
        (),
        None,
        _list("Run"),
    ),
    ("GET", "/v1/runs"): (
        "List runs, newest first (keyset pagination)",
        "runs",
        (
            "status",
            "function_id",
            "app_id",
            "after",
            "before",
            "query",
            "limit",
            "cursor",
        ),
        None,
        _list("Run", cursor=True),
    ),
    ("GET", "/v1/runs/{run_id}"): ("Get a run", "runs", (), None, _data(_ref("Run"))),
    ("DELETE", "/v1/runs/{run_id}"): (
        "Cancel a run",
        "runs",
        (),
        None,
        _data(_ref("Run")),
    ),
    ("DELETE", "/v0/runs/{run_id}"): (
        "Cancel a run (Go dev server route)",
        "runs",
        (),
        None,
        _data(_ref("Run")),
    ),
    ("GET", "/v1/runs/{run_id}/steps"): (
        "A run's step attempts (spans), in order",
        "runs",
        (),
        None,
        _list("Span"),
    ),
    ("GET", "/v1/runs/{run_id}/jobs"): (
        "A run's queued work items",
        "runs",
        (),
        None,
        _list("Job"),
    ),
    ("POST", "/v1/runs/{run_id}/rerun"): (
        "Start a new run with the same events; with from_step (a step id from "
        "/v1/runs/{run_id}/steps) the results of the steps before it are kept",
        "runs",
        (),
        {"type": "object", "properties": {"from_step": {"type": "string"}}},
        _data(_ref("Run")),
    ),
    ("POST", "/v0/gql"): (
        "GraphQL (the Inngest dev server's schema)",
        "graphql",
        (),
        {
            "type": "object",
            "required": ["query"],
            "properties": {"query": {"type": "string"}, "variables": _OBJ},
        },
        {"type": "object", "properties": {"data": _OBJ, "errors": {"type": "array"}}},
    ),
}

# The SDK checkpoint API (api/checkpoint.py), under its public and its beta prefix.
for _prefix in ("/v1/checkpoint", "/v1/http/runs"):
    OPERATIONS |= {
        ("POST", f"{_prefix}/{{run_id}}/async"): (
            "SDK checkpoint: store step results of a running call",
            "sdk",
            (),
            _OBJ,
            _OBJ,
        ),
        ("POST", _prefix): ("Durable endpoint start (501)", "sdk", (), _OBJ, _OBJ),
        ("POST", f"{_prefix}/{{run_id}}/steps"): (
            "Durable endpoint steps (501)",
            "sdk",
            (),
            _OBJ,
            _OBJ,
        ),
        ("POST", f"{_prefix}/{{run_id}}/output"): (
            "Durable endpoint output (501)",
            "sdk",
            (),
            _OBJ,
            _OBJ,
        ),
        ("GET", f"{_prefix}/{{run_id}}/output"): (
            "Durable endpoint output (501)",
            "sdk",
            (),
            None,
            _OBJ,
        ),
    }

_STR = {"type": "string"}
_NSTR = {"type": "string", "nullable": True}
_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "status"],
        "properties": {"error": _STR, "status": {"type": "integer"}},
    },
    "Run": {
        "type": "object",
        "properties": {
            "run_id": _STR,
            "function_id": _STR,
            "function_name": _NSTR,
            "app_id": _STR,
            "event_id": _STR,
            "event_name": _NSTR,
            "status": {
                "type": "string",
                "enum": [
                    "Queued",
                    "Running",
                    "Completed",
                    "Failed",
                    "Cancelled",
                    "Skipped",
                ],
            },
            "output": {"nullable": True},
            "queued_at": _NSTR,
            "run_started_at": _NSTR,
            "ended_at": _NSTR,
            "reason": _NSTR,
        },
    },
    "Event": {
        "type": "object",
        "properties": {
            "internal_id": _STR,
            "name": _STR,
            "data": _OBJ,
            "id": _STR,
            "ts": {"type": "integer"},
            "received_at": _STR,
        },
    },
    "Span": {
        "type": "object",
        "properties": dict.fromkeys(
            ("step_id", "name", "op", "status", "started_at", "ended_at"), _STR
        )
        | {"attempt": {"type": "integer"}, "output": {"nullable": True}},
    },
    "Job": {
        "type": "object",
        "properties": dict.fromkeys(
            ("id", "run_id", "function_id", "kind", "due_at"), _STR
        )
        | {
            "step_id": _NSTR,
            "attempt": {"type": "integer"},
            "max_attempts": {"type": "integer"},
            "leased": {"type": "boolean"},
        },
    },
    "Function": {
        "type": "object",
        "properties": dict.fromkeys(("id", "slug", "name", "app_id", "url"), _STR)
        | {
            "triggers": {"type": "array", "items": _OBJ},
            "retries": {"type": "integer"},
        },
    },
    "App": {
        "type": "object",
        "properties": dict.fromkeys(("id", "name", "url", "sdk", "framework"), _STR)
        | {
            "synced_at": _NSTR,
            "error": _NSTR,
            "functions": {"type": "array", "items": _ref("Function")},
        },
    },
}

_ERRORS = {
    "400": "Invalid input (names the bad parameter)",
    "404": "Unknown id",
    "409": "Conflict (e.g. the run has already ended)",
}


def _operation(method: str, path: str) -> dict[str, Any]:
    summary, tag, query, body, reply = OPERATIONS[(method, path)]
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _STR}
        for name in re.findall(r"{(\w+)}", path)
    ]
    params += [
        {
            "name": q,
            "in": "query",
            "required": False,
            "schema": {"type": _QUERY[q][0]},
            "description": _QUERY[q][1],
        }
        for q in query
    ]
    error = {"content": {"application/json": {"schema": _ref("Error")}}}
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', path)}",
        "parameters": params,
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": reply}},
            },
            **{code: {"description": text, **error} for code, text in _ERRORS.items()},
        },
    }
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return op


def api_routes(routes: list[BaseRoute]) -> list[tuple[str, str]]:
    """(method, path) of every API route: those with an entry in `OPERATIONS` plus any
    route that is not the dashboard's (HEAD is implied by GET)."""
    out = []
    for route in routes:
        if not isinstance(route, Route):
            continue
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            if (method, route.path) in OPERATIONS or not is_dashboard(route.path):
                out.append((method, route.path))
    return out


def is_dashboard(path: str) -> bool:
    """The HTML pages and assets of the dashboard (api/ui.py), not part of the API."""
    return not path.startswith(
        ("/v0/", "/v1/", "/e/", "/fn/", "/invoke/")
    ) and path not in (
        "/health",
        "/dev",
        "/openapi.json",
    )


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path in api_routes(routes):
        if (method, path) in OPERATIONS:
            op = _operation(method, path)
        else:  # a route added without a description still shows up (tests flag it)
            op = {"summary": path, "responses": {"200": {"description": "OK"}}}
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "inngestd",
            "version": __version__,
            "description": "The inngestd HTTP API: event ingest, SDK sync, REST v1, GraphQL."
            " Errors are JSON `{error, status}`.",
        },
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }


async def openapi_json(request: Request) -> Response:
    return responses.json(document(list(request.app.routes)))


def routes() -> list[BaseRoute]:
    return [Route("/openapi.json", openapi_json, methods=["GET"])]
