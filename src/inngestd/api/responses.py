"""JSON responses and the one map from error family to HTTP status."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inngestd import errors

SERVER_KIND_HEADER = "X-Inngest-Server-Kind"


class ServerKindHeader:
    """ASGI middleware: ``X-Inngest-Server-Kind: <kind>`` on every HTTP response, as Go's
    StaticHeadersMiddleware does (``dev`` for `inngestd dev`, ``cloud`` for `start`)."""

    def __init__(self, app: ASGIApp, kind: str = "dev") -> None:
        self.app = app
        self.kind = kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_kind(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[SERVER_KIND_HEADER] = self.kind
            await send(message)

        await self.app(scope, receive, send_with_kind)


def json(content: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(content), status_code=status, media_type="application/json"
    )


def status_for(exc: errors.InngestdError) -> int:
    if isinstance(exc, errors.PayloadTooLarge):
        return 413
    if isinstance(exc, errors.InvalidInput):
        return 400
    if isinstance(exc, errors.Unauthorized):
        return 401
    if isinstance(exc, errors.NotFound):
        return 404
    if isinstance(exc, errors.Conflict):
        return 409
    if isinstance(exc, errors.StoreError):
        return 503
    return 500


def error(exc: errors.InngestdError, **extra: Any) -> Response:
    status = status_for(exc)
    return json({"error": exc.message, "status": status, **extra}, status)
