"""JSON responses and the one map from error family to HTTP status."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from inngestd import errors

SERVER_HEADERS = {"X-Inngest-Server-Kind": "dev"}


def json(content: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(content),
        status_code=status,
        media_type="application/json",
        headers=SERVER_HEADERS,
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
