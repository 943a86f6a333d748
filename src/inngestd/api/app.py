"""The HTTP application: assembles the route groups and the error pages."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from inngestd.api import auth, checkpoint, graphql, ingest, responses, rest
from inngestd.api import ui as dashboard
from inngestd.api.context import Services

__all__ = ["Services", "create_app"]


def create_app(services: Services, *, ui: bool = True) -> Starlette:
    """The routes of one process; `ui=False` (`start --no-ui`) leaves out the dashboard
    and the GraphQL API it reads."""
    routes = [*ingest.routes(), *rest.routes(), *checkpoint.routes()]
    if ui:
        routes += [*graphql.routes(), *dashboard.routes()]
    # getattr: create_app(None) builds just the route table (the OpenAPI route test).
    kind: str = getattr(services, "server_kind", "dev")
    auth_config: auth.AuthConfig | None = getattr(services, "auth", None)
    middleware = [Middleware(responses.ServerKindHeader, kind=kind)]
    if auth_config is not None:  # start mode: keys required (api/auth.py)
        routes += auth.routes()
        middleware.append(Middleware(auth.AuthMiddleware, config=auth_config))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: _not_found, 405: _not_allowed},
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
