"""The dashboard: a single HTML shell plus static ES modules (no Node toolchain needed).

Every dashboard page (``/``, ``/apps``, ``/functions/<slug>``, ``/events/<id>``,
``/runs/<id>``, ...) answers with the same shell, ``static/index.html``; the
client-side router in ``static/app.js`` renders the page from the server's own
JSON APIs (``/v1/...``). Assets are served from ``/static/`` by this process.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from inngestd import __version__

STATIC_DIR = Path(__file__).parent / "static"

#: The client-side routes; each answers with the HTML shell so deep links work.
PAGES = (
    "/",
    "/apps",
    "/functions",
    "/functions/{slug:path}",
    "/events",
    "/events/{event_id}",
    "/runs",
    "/runs/{run_id}",
)

_NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def _shell() -> bytes:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return html.replace("{{version}}", __version__).encode()


async def index(request: Request) -> Response:
    return Response(_shell(), media_type="text/html; charset=utf-8", headers=_NO_CACHE)


class _Assets(StaticFiles):
    """Static files that browsers revalidate (cheap 304s) so upgrades show at once."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(_NO_CACHE)
        return response


def routes() -> list[BaseRoute]:
    return [
        *(Route(path, index, methods=["GET"]) for path in PAGES),
        Mount("/static", app=_Assets(directory=STATIC_DIR), name="static"),
    ]
