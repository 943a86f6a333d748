"""Keys enforced in start mode (``inngestd start``); dev mode mounts none of this.

* ``POST /e/{key}``: the key must be one of the configured event keys, else 401
  ``{"status":401,"error":"Event key not found"}`` and nothing is stored; a dashboard
  session (cookie) may send events too (the dashboard's "Send event", ``/e/dashboard``).
* ``GET /health`` and the login page (``/login``, ``/logout``) are open.
* Everything else (``/fn/register``, ``/v0/*``, ``/v1/*``, ``/openapi.json``, ``/dev``,
  ``/invoke/*``, the dashboard and its assets) needs the signing key:
  ``Authorization: Bearer <token>`` where the token is the SDKs' bearer hash
  (``sha256(bytes.fromhex(key))``, with or without a ``signkey-<env>-`` prefix) or the key
  itself, of the primary or the fallback key. Except on ``/fn/register``, a dashboard
  session cookie (set by the ``/login`` form) is accepted instead.
* A browser asking for a page without credentials is redirected to ``/login``; any other
  request gets 401 JSON and reaches no handler.

The session cookie holds ``v1.<expiry>.<HMAC-SHA256(key, expiry)>``: stateless, so every
process with the same keys accepts it, and it dies with the key (or at its expiry).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from inngestd.api import responses
from inngestd.wire import signing

SESSION_COOKIE = "inngestd_session"
SESSION_TTL_S = 7 * 24 * 3600
LOGIN_PAGE = Path(__file__).parent / "static" / "login.html"
MAX_LOGIN_BODY = 16 * 1024

#: Paths anyone may request.
OPEN_PATHS = frozenset({"/health", "/login", "/logout"})
#: Paths that accept only the bearer token (the SDKs' API), never a session cookie.
BEARER_ONLY = frozenset({"/fn/register"})


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The keys of one start-mode server: event keys for ``/e/{key}``, the signing key
    (first) and its fallback for everything else."""

    event_keys: tuple[str, ...]
    signing_keys: tuple[str, ...]
    session_ttl_s: int = SESSION_TTL_S

    def __post_init__(self) -> None:
        if not self.event_keys:
            raise ValueError("at least one event key is required")
        if not self.signing_keys:
            raise ValueError("a signing key is required")

    def event_key_ok(self, key: str) -> bool:
        given = key.encode()
        ok = False
        for k in self.event_keys:
            ok |= hmac.compare_digest(given, k.encode())
        return ok

    def bearer_ok(self, authorization: str | None) -> bool:
        token = signing.bearer_token(authorization)
        return token is not None and signing.bearer_matches(token, self.signing_keys)

    def key_ok(self, given: str) -> bool:
        """A signing key typed into the login form (prefix optional)."""
        return bool(given.strip()) and signing.bearer_matches(
            given.strip(), self.signing_keys
        )

    def session_token(self, now_s: int) -> str:
        expiry = now_s + self.session_ttl_s
        return f"v1.{expiry}.{_session_mac(self.signing_keys[0], expiry)}"

    def session_ok(self, token: str | None, now_s: int) -> bool:
        if not token:
            return False
        version, _, rest = token.partition(".")
        expiry_text, _, mac = rest.partition(".")
        if version != "v1" or not expiry_text.isdigit() or int(expiry_text) < now_s:
            return False
        expiry = int(expiry_text)
        ok = False
        for key in self.signing_keys:
            ok |= hmac.compare_digest(mac.encode(), _session_mac(key, expiry).encode())
        return ok


def _session_mac(key: str, expiry: int) -> str:
    secret = signing.strip_prefix(key).encode()
    msg = f"inngestd-session:v1:{expiry}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


def _safe_next(value: str | None) -> str:
    """Only a local path may be a redirect target (no //host, no scheme)."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 0x20 for c in value):
        return "/"
    return value


class AuthMiddleware:
    """ASGI middleware enforcing :class:`AuthConfig` (see the module docstring)."""

    def __init__(self, app: ASGIApp, config: AuthConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        denied = self._check(scope)
        if denied is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await denied(scope, receive, send)

    def _check(self, scope: Scope) -> Response | None:
        """None when the request may go on, else the response that refuses it."""
        path: str = scope["path"]
        if path in OPEN_PATHS:
            return None
        headers = Headers(scope=scope)
        if path.startswith("/e/"):
            if self.config.event_key_ok(path[3:]):
                return None
            # The dashboard's "Send event" posts to /e/dashboard with its session.
            if self.config.session_ok(
                _cookie(headers, SESSION_COOKIE), int(time.time())
            ):
                return None
            return _json({"status": 401, "error": "Event key not found"}, 401)
        if self.config.bearer_ok(headers.get("authorization")):
            return None
        if path not in BEARER_ONLY and self.config.session_ok(
            _cookie(headers, SESSION_COOKIE), int(time.time())
        ):
            return None
        if scope.get("method") == "GET" and "text/html" in headers.get("accept", ""):
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + (f"?{query}" if query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
        what = (
            "a valid signing key"
            if path in BEARER_ONLY
            else "the signing key (or a dashboard session from /login)"
        )
        return _json(
            {
                "status": 401,
                "error": f"Unauthorized: {path} requires {what}, sent as "
                "'Authorization: Bearer <sha256 of the key's bytes, or the key>'",
            },
            401,
        )


def _json(content: object, status: int) -> Response:
    return Response(orjson.dumps(content), status, media_type="application/json")


# --------------------------------------------------------------------------- login page


def _login_page(next_path: str, error: str = "", status: int = 200) -> Response:
    page = (
        LOGIN_PAGE.read_text(encoding="utf-8")
        .replace("{{next}}", html.escape(next_path, quote=True))
        .replace("{{error}}", html.escape(error))
        .replace("{{error_hidden}}", "" if error else "hidden")
    )
    return Response(
        page,
        status,
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


async def login_form(request: Request) -> Response:
    return _login_page(_safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    config: AuthConfig = request.app.state.services.auth
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BODY:
            return responses.json({"status": 413, "error": "form too large"}, 413)
    form = parse_qs(body.decode("utf-8", errors="replace"))
    key = (form.get("signing_key") or [""])[0]
    next_path = _safe_next((form.get("next") or [""])[0])
    if not config.key_ok(key):
        return _login_page(next_path, "That is not this server's signing key.", 401)
    response = RedirectResponse(next_path, 303)
    response.set_cookie(
        SESSION_COOKIE,
        config.session_token(int(time.time())),
        max_age=config.session_ttl_s,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def routes() -> Sequence[BaseRoute]:
    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["GET", "POST"]),
    ]
