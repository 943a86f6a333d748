"""Signing keys, request/response signatures, bearer hashes and dashboard sessions
(protocol §5), and the HTTPSDK's signing against a local HTTP server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

import jcs
import orjson
import pytest
from aiohttp import web

from inngestd.api.auth import AuthConfig, _safe_next
from inngestd.domain.ops import Completed, Failed
from inngestd.sdk import HTTPSDK
from inngestd.wire import signing

KEY = "signkey-test-12345678"
FALLBACK = "signkey-prod-abcdef01"


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("signkey-test-12345678", "12345678"),
        ("signkey-prod-ab", "ab"),
        ("signkey-branch-00ff", "00ff"),
        ("12345678", "12345678"),
        ("  signkey-test-abcd\n", "abcd"),
    ],
)
def test_strip_prefix(key: str, secret: str) -> None:
    assert signing.strip_prefix(key) == secret


@pytest.mark.parametrize(
    "key", ["signkey-test-12345678", "abcd", "ABCDEF01", "signkey-my_env-00"]
)
def test_valid_signing_keys(key: str) -> None:
    assert signing.validate_signing_key(f" {key} ") == key


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "empty"),
        ("signkey-test-", "empty"),
        ("abc", "even"),
        ("signkey-test-123", "even"),
        ("xyz0", "hexadecimal"),
        ("signkey-test-12 34", "hexadecimal"),
    ],
)
def test_invalid_signing_keys(key: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        signing.validate_signing_key(key)


# --------------------------------------------------------------------------- signatures


def test_protocol_worked_example() -> None:
    """protocol.md §5: key signkey-test-12345678, body {"a":1}, t=1700000000."""
    expected = "67a82077baa52522b1f612a154a25275c00a0338efc32be5ee396bd2391ba5e0"
    assert signing.signature(b'{"a":1}', KEY, 1700000000) == expected
    assert signing.signature(b'{"a":1}', "12345678", 1700000000) == expected
    assert (
        signing.signature_header(b'{"a":1}', KEY, 1700000000)
        == f"t=1700000000&s={expected}"
    )


def test_signer_sends_the_jcs_form_it_signed() -> None:
    body = orjson.dumps({"b": [1.0, 1e21, "é😀"], "a": {"y": None, "x": True}})
    sent, header = signing.Signer(KEY).sign(body, 1700000000)
    assert sent == jcs.canonicalize(json.loads(body))
    assert sent.startswith(b'{"a":{"x":true,"y":null},"b":[1,1e+21,')
    assert header == signing.signature_header(sent, KEY, 1700000000)


def test_python_sdk_accepts_our_signature() -> None:
    """The SDK's own check (inngest._internal.net.validate_request_sig) in cloud mode."""
    from inngest._internal import net, server_lib

    body = orjson.dumps({"event": {"data": {"k": "é", "f": 2.5}}, "steps": {}})
    sent, header = signing.Signer(KEY).sign(body, 1700000000)
    ok = net.validate_request_sig(
        body=sent,
        headers={server_lib.HeaderKey.SIGNATURE.value: header},
        mode=server_lib.ServerKind.CLOUD,
        signing_key=KEY,
        signing_key_fallback=None,
    )
    assert not isinstance(ok, Exception), ok


def test_verify_with_primary_or_fallback() -> None:
    raw = b'{"pretty": 1,   "not": "canonical"}'
    t = 1700000000
    by_primary = signing.signature_header(raw, KEY, t)
    by_fallback = signing.signature_header(raw, FALLBACK, t)
    by_other = signing.signature_header(raw, "signkey-test-99", t)
    signer = signing.Signer(KEY, FALLBACK)
    assert signer.verify_response(by_primary, raw)
    assert signer.verify_response(by_fallback, raw)
    assert not signer.verify_response(by_other, raw)
    assert not signing.Signer(KEY).verify_response(by_fallback, raw)
    # The raw bytes are signed, not a canonical form of them.
    assert not signer.verify_response(by_primary, b'{"not":"canonical","pretty":1}')


@pytest.mark.parametrize("header", ["", "t=1", "s=ab", "t=x&s=ab", "garbage"])
def test_malformed_signature_headers_fail(header: str) -> None:
    assert not signing.verify(header, b"{}", [KEY])


def test_verify_max_age() -> None:
    header = signing.signature_header(b"{}", KEY, 1000)
    assert signing.verify(header, b"{}", [KEY], now_s=1200, max_age_s=300)
    assert not signing.verify(header, b"{}", [KEY], now_s=1400, max_age_s=300)


# --------------------------------------------------------------------------- bearer


def test_bearer_hash_protocol_example() -> None:
    assert (
        signing.bearer_hash("signkey-prod-12345678")
        == "b2ed992186a5cb19f6668aade821f502c1d00970dfd0e35128d51bac4649916c"
    )
    assert signing.bearer_hash("12345678") == signing.bearer_hash(
        "signkey-prod-12345678"
    )


def test_bearer_matches_every_sdk_form() -> None:
    h = hashlib.sha256(bytes.fromhex("12345678")).hexdigest()
    keys = [KEY]
    assert signing.bearer_matches(h, keys)  # Python SDK: bare hash
    assert signing.bearer_matches(f"signkey-test-{h}", keys)  # TS: prefixed hash
    assert signing.bearer_matches(f"signkey-prod-{h}", keys)  # any env prefix
    assert signing.bearer_matches(h.upper(), keys)
    assert signing.bearer_matches(KEY, keys)  # the key itself (Go accepts it)
    assert signing.bearer_matches("12345678", keys)
    assert not signing.bearer_matches(h[:-1] + "0", keys)
    assert not signing.bearer_matches("", keys)
    fallback_hash = signing.bearer_hash(FALLBACK)
    assert not signing.bearer_matches(fallback_hash, keys)
    assert signing.bearer_matches(fallback_hash, [KEY, FALLBACK])


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer ", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert signing.bearer_token(header) == token


# --------------------------------------------------------------------------- auth config


def test_auth_config_event_keys_and_bearer() -> None:
    cfg = AuthConfig(("k1", "k2"), (KEY, FALLBACK))
    assert cfg.event_key_ok("k1")
    assert cfg.event_key_ok("k2")
    assert not cfg.event_key_ok("k3")
    assert not cfg.event_key_ok("")
    assert cfg.bearer_ok(f"Bearer {signing.bearer_hash(KEY)}")
    assert cfg.bearer_ok(f"Bearer {signing.bearer_hash(FALLBACK)}")
    assert not cfg.bearer_ok(f"Bearer {signing.bearer_hash('abcd')}")
    assert not cfg.bearer_ok(None)
    with pytest.raises(ValueError, match="event key"):
        AuthConfig((), (KEY,))


def test_sessions() -> None:
    cfg = AuthConfig(("k",), (KEY,), session_ttl_s=100)
    token = cfg.session_token(1000)
    assert cfg.session_ok(token, 1000)
    assert cfg.session_ok(token, 1100)
    assert not cfg.session_ok(token, 1101)  # expired
    assert not cfg.session_ok(
        token.replace("v1.1100", "v1.9999"), 1000
    )  # forged expiry
    assert not cfg.session_ok(token[:-1] + ("0" if token[-1] != "0" else "1"), 1000)
    assert not cfg.session_ok(None, 1000)
    assert not cfg.session_ok("garbage", 1000)
    # Rotation: a session made under the old key survives while it is the fallback.
    rotated = AuthConfig(("k",), ("signkey-test-99", KEY))
    assert rotated.session_ok(token, 1000)
    assert not AuthConfig(("k",), ("signkey-test-99",)).session_ok(token, 1000)


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("/runs", "/runs"),
        ("/runs/01H?x=1", "/runs/01H?x=1"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_login_redirect_stays_local(value: str | None, safe: str) -> None:
    assert _safe_next(value) == safe


# --------------------------------------------------------------------------- HTTPSDK


class _App:
    """A fake SDK endpoint: records what it received, replies signed with `reply_key`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.reply_key: str | None = None
        self.reply_body = b'{"ok": true}'

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.requests.append((request.method, dict(request.headers), raw))
        headers = {"X-Inngest-SDK": "inngest-py:v0.5.18"}
        if self.reply_key:
            headers["X-Inngest-Signature"] = signing.signature_header(
                self.reply_body, self.reply_key, 1700000000
            )
        return web.Response(
            body=self.reply_body, headers=headers, content_type="application/json"
        )


@pytest.fixture
async def fake_app() -> AsyncIterator[tuple[_App, str]]:
    app = _App()
    web_app = web.Application()
    web_app.router.add_route("*", "/api/inngest", app.handle)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield app, f"http://127.0.0.1:{port}/api/inngest"
    await runner.cleanup()


async def test_sdk_signs_calls_and_sync(fake_app: tuple[_App, str]) -> None:
    app, url = fake_app
    sdk = HTTPSDK(signer=signing.Signer(KEY, FALLBACK), server_kind="cloud")
    try:
        body = orjson.dumps({"steps": {}, "event": {"data": {"z": 1.0, "a": "é"}}})
        outcome = await sdk.call(url, "step", body, {"X-Inngest-Server-Kind": "dev"}, 0)
        assert isinstance(outcome, Completed), outcome
        reply = await sdk.sync(url)
        assert reply.ok, reply
    finally:
        await sdk.close()
    (m1, h1, raw1), (m2, h2, raw2) = app.requests
    assert (m1, m2) == ("POST", "PUT")
    assert raw1 == jcs.canonicalize(json.loads(body))
    assert raw2 == jcs.canonicalize({"url": url})
    for headers, raw in ((h1, raw1), (h2, raw2)):
        assert headers["X-Inngest-Server-Kind"] == "cloud"
        assert signing.verify(headers["X-Inngest-Signature"], raw, [KEY])
        assert not signing.verify(headers["X-Inngest-Signature"], raw, [FALLBACK])


async def test_dev_sdk_sends_unsigned(fake_app: tuple[_App, str]) -> None:
    app, url = fake_app
    sdk = HTTPSDK()
    try:
        body = b'{"b": 1, "a": 2}'
        outcome = await sdk.call(url, "step", body, {}, 0)
        assert isinstance(outcome, Completed)
        assert (await sdk.sync(url)).ok
    finally:
        await sdk.close()
    (_m, h1, raw1), (_m2, h2, _raw2) = app.requests
    assert raw1 == body  # sent as built
    assert "X-Inngest-Signature" not in h1
    assert h2["X-Inngest-Server-Kind"] == "dev"


@pytest.mark.parametrize(
    ("reply_key", "accepted"),
    [(None, True), (KEY, True), (FALLBACK, True), ("signkey-test-99", False)],
)
async def test_sdk_verifies_reply_signatures(
    fake_app: tuple[_App, str], reply_key: str | None, accepted: bool
) -> None:
    app, url = fake_app
    app.reply_key = reply_key
    sdk = HTTPSDK(signer=signing.Signer(KEY, FALLBACK), server_kind="cloud")
    try:
        outcome = await sdk.call(url, "step", b"{}", {}, 0)
    finally:
        await sdk.close()
    if accepted:
        assert isinstance(outcome, Completed), outcome
        assert orjson.loads(outcome.body) == {"ok": True}
    else:
        assert isinstance(outcome, Failed), outcome
        assert not outcome.no_retry  # retryable, like any failed call
        assert "signature" in outcome.message
        assert "signing key" in outcome.message
