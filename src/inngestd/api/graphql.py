"""GraphQL at /v0/gql, compatible with the Inngest dev server's schema (issue 4)."""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    return []
