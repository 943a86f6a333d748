"""Unit tests for inngestd.ids."""

from __future__ import annotations

import base64

import pytest
from ulid import ULID

from inngestd.ids import new_ulid, seeded_event_ids, ulid_ms

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def _is_ulid(text: str) -> bool:
    return len(text) == 26 and set(text) <= CROCKFORD and text[0] in "01234567"


def _sdk_seed(millis: int, entropy: bytes) -> str:
    """Build the header the way inngest-py's client_lib/client.py `_seed()` does."""
    return f"{millis},{base64.b64encode(entropy).decode('utf-8')}"


def test_sdk_seed_format_matches_installed_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    import secrets
    import time

    from inngest._internal.client_lib import client

    monkeypatch.setattr(secrets, "token_bytes", lambda n: bytes(range(n)))
    before = int(time.time() * 1000)
    header = client._seed()
    after = int(time.time() * 1000)
    millis = int(header.split(",")[0])
    assert before <= millis <= after
    assert header == _sdk_seed(millis, bytes(range(10)))
    ids = seeded_event_ids(header, 3)
    assert [ulid_ms(i) for i in ids] == [millis] * 3
    assert [ULID.from_str(i).bytes[6:] for i in ids] == [
        bytes(range(6)) + (0x06070809 + n).to_bytes(4, "big") for n in (1, 2, 3)
    ]


def test_new_ulid() -> None:
    a, b = new_ulid(), new_ulid()
    assert _is_ulid(a)
    assert _is_ulid(b)
    assert a != b


def test_new_ulid_monotonic_within_ms() -> None:
    ids = [new_ulid(1_700_000_000_000) for _ in range(50)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 50
    assert all(ulid_ms(i) == 1_700_000_000_000 for i in ids)


@pytest.mark.parametrize("now_ms", [0, 1, 1_700_000_000_123, 2**48 - 1])
def test_new_ulid_with_timestamp(now_ms: int) -> None:
    value = new_ulid(now_ms)
    assert _is_ulid(value)
    assert ulid_ms(value) == now_ms


def test_seeded_ids_exact() -> None:
    millis = 1_743_130_137_367
    entropy = bytes.fromhex("00112233445566778899")
    ids = seeded_event_ids(_sdk_seed(millis, entropy), 3)
    expected = [
        str(ULID(millis.to_bytes(6, "big") + bytes.fromhex("001122334455") + tail))
        for tail in (
            bytes.fromhex("6677889a"),
            bytes.fromhex("6677889b"),
            bytes.fromhex("6677889c"),
        )
    ]
    assert ids == expected


def test_seeded_ids_example_from_go_docs() -> None:
    # "1743130137367,eii2YKXRVTJPuA==" is the example in Go pkg/event/id.go.
    ids = seeded_event_ids("1743130137367,eii2YKXRVTJPuA==", 2)
    entropy = base64.b64decode("eii2YKXRVTJPuA==")
    counter = int.from_bytes(entropy[6:], "big")
    for i, value in enumerate(ids, start=1):
        raw = ULID.from_str(value).bytes
        assert raw[:6] == (1_743_130_137_367).to_bytes(6, "big")
        assert raw[6:12] == entropy[:6]
        assert int.from_bytes(raw[12:], "big") == counter + i


def test_seeded_ids_wrap_uint32() -> None:
    entropy = bytes(6) + b"\xff\xff\xff\xff"
    ids = seeded_event_ids(_sdk_seed(1_000, entropy), 2)
    tails = [ULID.from_str(i).bytes[12:] for i in ids]
    assert tails == [b"\x00\x00\x00\x00", b"\x00\x00\x00\x01"]
    # The carry does not spill into byte 5.
    assert all(ULID.from_str(i).bytes[6:12] == bytes(6) for i in ids)


@pytest.mark.parametrize("count", [0, 1, 2, 100, 5000])
def test_seeded_ids_distinct_valid_and_deterministic(count: int) -> None:
    header = _sdk_seed(1_764_200_136_763, bytes.fromhex("a1b2c3d4e5f601020304"))
    ids = seeded_event_ids(header, count)
    assert len(ids) == count
    assert len(set(ids)) == count
    assert all(_is_ulid(i) for i in ids)
    assert all(ulid_ms(i) == 1_764_200_136_763 for i in ids)
    assert seeded_event_ids(header, count) == ids  # retries of a send get the same ids
    assert ids == seeded_event_ids(header, count + 1)[:count]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "123",
        "123,",
        ",AAAAAAAAAAAAAA==",
        "abc,AAAAAAAAAAAAAA==",
        "-5,AAAAAAAAAAAAAA==",
        "0,AAAAAAAAAAAAAA==",
        "1.5,AAAAAAAAAAAAAA==",
        f"{2**48},AAAAAAAAAAAAAA==",
        "123,not base64!",
        "123,AAAAAAAAAAAA",  # 9 bytes
        "123,AAAAAAAAAAAAAAA=",  # 11 bytes
        "123,AAAAAAAAAAAAAA==,x",
    ],
)
def test_seeded_ids_malformed(header: str) -> None:
    with pytest.raises(ValueError, match="malformed event id seed"):
        seeded_event_ids(header, 1)


def test_seeded_ids_negative_count() -> None:
    with pytest.raises(ValueError, match="count"):
        seeded_event_ids("123,AAAAAAAAAAAAAA==", -1)


@pytest.mark.parametrize(
    "bad", ["", "not-a-ulid", "01ARZ3NDEKTSV4RRFFQ69G5FA", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ"]
)
def test_ulid_ms_invalid(bad: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - python-ulid's messages vary
        ulid_ms(bad)


def test_ulid_ms() -> None:
    assert ulid_ms("01ARZ3NDEKTSV4RRFFQ69G5FAV") == 1_469_922_850_259
