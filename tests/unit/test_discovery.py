"""Discovery's scan: listening ports only, and only URLs that answer as an SDK."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web

from inngestd import discovery
from inngestd.sdk import HTTPSDK


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(port: int, sdk_path: str | None) -> web.AppRunner:
    async def handler(request: web.Request) -> web.Response:
        if request.path == sdk_path:
            return web.json_response({}, headers={"X-Inngest-SDK": "inngest-py:v0"})
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_scan_finds_sdk_endpoints_only() -> None:
    app_port, plain_port, closed_port = _free_port(), _free_port(), _free_port()
    app = await _serve(app_port, "/x/inngest")
    plain = await _serve(plain_port, None)  # a web server, but no SDK
    sdk = HTTPSDK()
    try:
        found = await discovery.scan(
            [app_port, plain_port, closed_port], sdk.serves_sdk
        )
    finally:
        await sdk.close()
        await app.cleanup()
        await plain.cleanup()
    assert found == [f"http://127.0.0.1:{app_port}/x/inngest"]


@pytest.mark.parametrize(
    ("env", "extra"), [({"PORT": "4321"}, 4321), ({"PORT": "nope"}, None), ({}, None)]
)
def test_ports_include_dollar_port(env: dict[str, str], extra: int | None) -> None:
    ports = discovery.ports_to_scan(env)
    assert {3000, 5173, 8000} <= set(ports)
    if extra is None:
        assert len(ports) == len(discovery.PORTS)
    else:
        assert extra in ports


def test_loopback_urls_compare_by_port_and_path() -> None:
    assert discovery.loopback_key("http://localhost:3000/api/inngest/") == (
        3000,
        "/api/inngest",
    )
    assert discovery.loopback_key("127.0.0.1:3000/api/inngest") == (
        3000,
        "/api/inngest",
    )
    assert discovery.loopback_key("http://[::1]/api/inngest") == (80, "/api/inngest")
    assert discovery.loopback_key("https://app.example.com/api/inngest") is None
