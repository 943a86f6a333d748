"""The only module that speaks HTTP to apps: sync requests and function calls."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import orjson

from inngestd.domain.ops import CallOutcome, Completed, Failed, Op, Ops
from inngestd.flow.backoff import parse_retry_after
from inngestd.wire.signing import Signer

SERVER_KIND = "dev"
# Inngest lets one step call run for up to 2 hours (MaxFunctionTimeout).
CALL_TIMEOUT_S = 2 * 60 * 60
SYNC_TIMEOUT_S = 30


def with_step(url: str, step_id: str) -> str:
    """`url` with its `stepId` query value set; everything else is kept as registered."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k != "stepId"
    ]
    query.append(("stepId", step_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True, slots=True)
class SyncReply:
    ok: bool
    status: int
    message: str


class HTTPSDK:
    """Calls user apps over HTTP with one shared connection pool.

    With a ``signer`` (``inngestd start``), every request body is sent in its JCS form and
    signed (``X-Inngest-Signature``), and a signature on an app's reply must verify under
    the signing key or its fallback. ``server_kind`` is sent as ``X-Inngest-Server-Kind``
    on the sync PUT and on every call.
    """

    def __init__(
        self,
        *,
        connections: int = 256,
        signer: Signer | None = None,
        server_kind: str = SERVER_KIND,
    ) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._signer = signer
        self._server_kind = server_kind

    def _signed(self, body: bytes) -> tuple[bytes, dict[str, str]]:
        """The bytes to send and the signature header (none without a signer)."""
        if self._signer is None:
            return body, {}
        sent, sig = self._signer.sign(body, int(time.time()))
        return sent, {"X-Inngest-Signature": sig}

    def _bad_signature(self, headers: Mapping[str, str], raw: bytes) -> str | None:
        """Why the app's reply signature is unacceptable; None if it is fine or absent
        (apps sign replies only in cloud mode; Go does not check them at all)."""
        if self._signer is None:
            return None
        sig = headers.get("X-Inngest-Signature")
        if sig is None or self._signer.verify_response(sig, raw):
            return None
        return (
            "the app's response signature (X-Inngest-Signature) does not match the "
            "server's signing key or fallback key: the app and the server use "
            "different signing keys"
        )

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._connections, limit_per_host=self._connections
            )
            self._session = aiohttp.ClientSession(
                connector=connector, json_serialize=lambda o: orjson.dumps(o).decode()
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def serves_sdk(self, url: str, timeout_s: float = 2.0) -> bool:
        """Whether `url` answers a GET as an Inngest SDK does (`X-Inngest-SDK` header):
        how dev mode's discovery tells an app's endpoint from any web server."""
        try:
            async with self._client().get(
                url,
                headers={"X-Inngest-Server-Kind": self._server_kind},
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                allow_redirects=False,
            ) as resp:
                return "X-Inngest-SDK" in resp.headers
        except (TimeoutError, aiohttp.ClientError, OSError):
            return False

    async def sync(self, url: str) -> SyncReply:
        """Ask the app at `url` to register itself (the PUT handshake)."""
        try:
            body, sig = self._signed(orjson.dumps({"url": url}))
            async with self._client().put(
                url,
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Inngest-Server-Kind": self._server_kind,
                    **sig,
                },
                timeout=aiohttp.ClientTimeout(total=SYNC_TIMEOUT_S),
            ) as resp:
                body = await resp.read()
                if resp.status == 200:
                    return SyncReply(True, 200, "")
                return SyncReply(
                    False, resp.status, _message(body) or f"app answered {resp.status}"
                )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return SyncReply(
                False, 0, f"could not reach {url}: {exc.__class__.__name__}: {exc}"
            )

    async def call(
        self,
        url: str,
        step_id: str,
        body: bytes,
        headers: Mapping[str, str],
        now_ms: int,
    ) -> CallOutcome:
        """POST one execution request; never raises for app or network failures."""
        sent, sig = self._signed(body)
        try:
            async with self._client().post(
                with_step(url, step_id),
                data=sent,
                headers={
                    "Content-Type": "application/json",
                    **headers,
                    "X-Inngest-Server-Kind": self._server_kind,
                    **sig,
                },
                timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT_S),
            ) as resp:
                raw = await resp.read()
                bad = self._bad_signature(resp.headers, raw)
                if bad is not None:
                    return Failed(
                        orjson.dumps({"name": "Error", "message": bad}),
                        resp.status,
                        message=bad,
                    )
                return parse_reply(resp.status, resp.headers, raw, now_ms)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            message = f"{exc.__class__.__name__}: {exc}"
            return Failed(
                orjson.dumps({"name": "Error", "message": message}), 0, message=message
            )


def _message(body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:200].decode(errors="replace")
    if isinstance(parsed, dict):
        return str(parsed.get("message") or parsed.get("error") or "")
    return ""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value.strip() if isinstance(value, str) else None


def parse_reply(
    status: int, headers: Mapping[str, str], raw: bytes, now_ms: int
) -> CallOutcome:
    """Turn an HTTP reply from an app into a call outcome (protocol §3.2)."""
    if status == 201:
        return _parse_stream(headers, raw, now_ms)
    no_retry = (_header(headers, "x-inngest-no-retry") or "").lower() == "true"
    retry_at = parse_retry_after(_header(headers, "retry-after"), now_ms)
    is_sdk = _header(headers, "x-inngest-sdk") is not None
    if 200 <= status < 300 and not is_sdk:
        return Failed(
            raw,
            status,
            message="response is not from an Inngest SDK (no X-Inngest-SDK header)",
        )
    if status == 200:
        return Completed(raw if raw.strip() else b"null")
    if status == 206:
        version_text = _header(headers, "x-inngest-req-version")
        version = (
            int(version_text)
            if version_text and version_text.lstrip("-").isdigit()
            else None
        )
        try:
            parsed = orjson.loads(raw)
            ops = tuple(
                _op(o) for o in (parsed if isinstance(parsed, list) else [parsed])
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            return Failed(raw, status, message=f"invalid opcode response: {exc}")
        return Ops(ops, version, no_retry=no_retry, retry_at_ms=retry_at)
    return Failed(
        raw,
        status,
        no_retry=no_retry,
        retry_at_ms=retry_at,
        message=f"invalid status code: {status}",
    )


def _parse_stream(headers: Mapping[str, str], raw: bytes, now_ms: int) -> CallOutcome:
    try:
        wrapped = orjson.loads(raw.strip())
        inner_status = int(wrapped.get("status", 500))
        body = wrapped.get("body")
        inner = body.encode() if isinstance(body, str) else orjson.dumps(body)
        inner_headers = {
            **{k.lower(): v for k, v in headers.items()},
            **{k.lower(): str(v) for k, v in (wrapped.get("headers") or {}).items()},
        }
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
        return Failed(raw, 201, message=f"invalid streamed response: {exc}")
    return parse_reply(inner_status, inner_headers, inner, now_ms)


def _op(raw: Any) -> Op:
    if not isinstance(raw, dict) or not isinstance(raw.get("op"), str):
        raise ValueError("each op must be an object with a string 'op'")
    opts = raw.get("opts")
    error = raw.get("error")
    return Op(
        op=raw["op"],
        id=str(raw.get("id") or ""),
        name=str(raw.get("name") or ""),
        display_name=str(raw.get("displayName") or ""),
        opts=opts if isinstance(opts, dict) else {},
        data=raw.get("data"),
        has_data="data" in raw,
        error=error if isinstance(error, dict) else None,
    )
