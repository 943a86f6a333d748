"""What every HTTP handler shares: the services, JSON errors, bounded body reads."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from inngestd import errors
from inngestd.api import responses
from inngestd.api.auth import AuthConfig
from inngestd.clock import Clock
from inngestd.registry import Registry
from inngestd.scheduling import Scheduler
from inngestd.store.base import Store

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
    #: Keys enforced in start mode; None (dev mode) leaves every route open.
    auth: AuthConfig | None = None
    #: ``X-Inngest-Server-Kind`` of this server: ``dev``, or ``cloud`` in start mode.
    server_kind: str = "dev"


Handler = Callable[[Request], Awaitable[Response]]


def guard(fn: Handler) -> Handler:
    """Turn inngestd errors into JSON 4xx/5xx replies."""

    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except errors.InngestdError as exc:
            if responses.status_for(exc) >= 500:
                log.exception("request failed")
            return responses.error(exc)

    return wrapped


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
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


def ctx(request: Request) -> tuple[Store, Clock, Services]:
    services: Services = request.app.state.services
    return services.store, services.clock, services


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
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
