"""The dashboard: server-side pages and static assets (no Node toolchain needed)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from inngestd import __version__


async def index(request: Request) -> Response:
    return HTMLResponse(
        f"<!doctype html><title>inngestd</title><h1>inngestd {__version__}</h1>"
        "<p>The dashboard arrives with issue 4. APIs: <a href='/v1/apps'>/v1/apps</a>, "
        "<a href='/v1/events'>/v1/events</a>.</p>"
    )


def routes() -> list[BaseRoute]:
    return [Route("/", index, methods=["GET"])]
