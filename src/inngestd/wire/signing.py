"""Signing keys, request signatures and bearer tokens (protocol §5).

* A signing key is ``signkey-<env>-<hex>`` or bare hex; the prefix (``^signkey-\\w+-``) is
  never part of any secret.
* ``X-Inngest-Signature: t=<unix seconds>&s=<hex HMAC-SHA256>``; the HMAC key is the ASCII
  text of the key without its prefix, the message is the body followed by ``str(t)``. The
  server signs the JCS (RFC 8785) form of its JSON bodies and sends exactly those bytes;
  an SDK signs its raw response bytes.
* The bearer token an SDK sends to the server API is
  ``sha256(bytes.fromhex(key_without_prefix)).hexdigest()``; TS keeps the ``signkey-<env>-``
  prefix in front of the hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import string
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qs

import jcs

_PREFIX = re.compile(r"^signkey-\w+-")
_HEX = frozenset(string.hexdigits)


def strip_prefix(key: str) -> str:
    """``signkey-prod-abcd`` -> ``abcd``; a key without the prefix is returned as is."""
    return _PREFIX.sub("", key.strip(), count=1)


def validate_signing_key(key: str) -> str:
    """The key (whitespace trimmed) if it is ``signkey-<env>-<hex>`` or bare hex of even
    length; raises ValueError naming the problem otherwise."""
    key = key.strip()
    secret = strip_prefix(key)
    if not secret:
        raise ValueError("the signing key is empty")
    if not set(secret) <= _HEX:
        raise ValueError(
            "a signing key must be hexadecimal, optionally prefixed with "
            "'signkey-<env>-' (e.g. signkey-prod-0a1b2c...)"
        )
    if len(secret) % 2:
        raise ValueError(
            f"a signing key must have an even number of hex digits (got {len(secret)})"
        )
    return key


def canonical_json(body: bytes) -> bytes:
    """The RFC 8785 (JCS) form of a JSON document, as the SDKs recompute it to verify
    (Python: ``jcs.canonicalize(json.loads(raw))``). An empty body stays empty."""
    if not body:
        return body
    out = jcs.canonicalize(json.loads(body))
    return out if isinstance(out, bytes) else str(out).encode()


def signature(body: bytes, key: str, t: int) -> str:
    """Hex HMAC-SHA256 of ``body ‖ str(t)`` under the key's ASCII text (prefix removed)."""
    mac = hmac.new(strip_prefix(key).encode("ascii"), body, hashlib.sha256)
    mac.update(str(t).encode("ascii"))
    return mac.hexdigest()


def signature_header(body: bytes, key: str, t: int) -> str:
    """The ``X-Inngest-Signature`` value (``t`` first: Inngest compares the strings)."""
    return f"t={t}&s={signature(body, key, t)}"


def parse_signature_header(value: str) -> tuple[int, str] | None:
    """``(t, s)`` from ``t=<int>&s=<hex>``; None when either part is missing or bad."""
    parsed = parse_qs(value.strip())
    ts, ss = parsed.get("t"), parsed.get("s")
    if not ts or not ss or not ts[0].lstrip("-").isdigit():
        return None
    return int(ts[0]), ss[0]


def verify(
    header: str,
    body: bytes,
    keys: Iterable[str],
    *,
    now_s: int | None = None,
    max_age_s: int | None = None,
) -> bool:
    """True if ``header`` signs ``body`` under one of ``keys`` (primary, then fallback).
    With ``now_s`` and ``max_age_s``, a timestamp further than that from now fails."""
    parsed = parse_signature_header(header)
    if parsed is None:
        return False
    t, sig = parsed
    if now_s is not None and max_age_s is not None and abs(now_s - t) > max_age_s:
        return False
    return any(hmac.compare_digest(sig, signature(body, k, t)) for k in keys)


def bearer_hash(key: str) -> str:
    """What an SDK sends as ``Authorization: Bearer ...`` for this key (prefix removed)."""
    return hashlib.sha256(bytes.fromhex(strip_prefix(key))).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer_matches(token: str, keys: Sequence[str]) -> bool:
    """True if ``token`` (with or without a ``signkey-<env>-`` prefix) is the bearer hash of
    one of ``keys``, or the key itself (as the Go server accepts both)."""
    given = strip_prefix(token).lower().encode()
    ok = False
    for key in keys:
        # Compare against every form of every key, so the time taken does not tell which
        # key (or which form) was close.
        ok |= hmac.compare_digest(given, bearer_hash(key).encode())
        ok |= hmac.compare_digest(given, strip_prefix(key).lower().encode())
    return ok


class Signer:
    """The server's signing key and optional fallback key: signs what the server sends to
    apps and checks what apps sign back."""

    def __init__(self, key: str, fallback: str | None = None) -> None:
        self.key = validate_signing_key(key)
        self.fallback = validate_signing_key(fallback) if fallback else None

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, self.fallback) if self.fallback else (self.key,)

    def sign(self, body: bytes, now_s: int) -> tuple[bytes, str]:
        """``(bytes to send, X-Inngest-Signature)``: the JCS form of ``body``, signed with
        the primary key. A body that is not JSON is signed as it is."""
        try:
            canonical = canonical_json(body)
        except ValueError:
            canonical = body
        return canonical, signature_header(canonical, self.key, now_s)

    def verify_response(self, header: str, raw: bytes) -> bool:
        """True if an app's response signature covers its raw bytes under either key."""
        return verify(header, raw, self.keys)
