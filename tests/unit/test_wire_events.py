"""Unit tests for inngestd.wire.events.parse_events (the `POST /e/{key}` body)."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from inngestd import errors
from inngestd.domain.events import MAX_EVENT_BYTES, MAX_EVENTS_PER_REQUEST
from inngestd.ids import seeded_event_ids, ulid_ms
from inngestd.wire.events import parse_events

NOW = 1_700_000_000_000


def parse(body: Any, seed: str | None = None) -> list[Any]:
    return parse_events(orjson.dumps(body), NOW, seed)


def test_a_single_object_is_one_event() -> None:
    [ev] = parse({"name": "app/go", "data": {"x": 1}})
    assert ev.name == "app/go"
    assert ev.data == {"x": 1}
    assert ev.received_ms == NOW
    assert ev.seq == 0


def test_an_array_keeps_request_order() -> None:
    events = parse([{"name": "a/1"}, {"name": "a/2"}, {"name": "a/3"}])
    assert [e.name for e in events] == ["a/1", "a/2", "a/3"]
    assert len({e.internal_id for e in events}) == 3


def test_defaults_for_ts_user_id_and_data() -> None:
    [ev] = parse({"name": "app/go"})
    assert ev.payload == {
        "name": "app/go",
        "data": {},
        "id": ev.internal_id,
        "ts": NOW,
        "user": {},
    }
    assert ev.user_id is None
    assert ev.id == ev.internal_id
    [zero] = parse({"name": "app/go", "ts": 0, "data": None, "user": None})
    assert zero.payload["ts"] == NOW
    assert zero.payload["data"] == {}
    assert zero.payload["user"] == {}


def test_given_fields_are_kept() -> None:
    sent = {
        "name": "app/go",
        "data": {"k": [1, 2]},
        "id": "order-1",
        "ts": NOW - 5_000,
        "user": {"email": "a@b.c"},
        "v": "2024-01-01.1",
    }
    [ev] = parse(sent)
    assert ev.payload == sent
    assert ev.user_id == "order-1"
    assert ev.id == "order-1"
    assert ev.internal_id != "order-1"
    assert ev.ts == NOW - 5_000


def test_an_integral_float_ts_is_accepted() -> None:
    [ev] = parse({"name": "app/go", "ts": float(NOW - 1)})
    assert ev.payload["ts"] == NOW - 1
    assert isinstance(ev.payload["ts"], int)


def test_data_inngest_is_stripped() -> None:
    [ev] = parse({"name": "app/go", "data": {"k": 1, "_inngest": {"fn_id": "x"}}})
    assert ev.data == {"k": 1}


@pytest.mark.parametrize(
    "name", ["inngest/function.finished", "inngest/anything", "Inngest/Function.Failed"]
)
def test_reserved_names_are_rejected(name: str) -> None:
    with pytest.raises(errors.InvalidEvent, match="reserved"):
        parse({"name": name})


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 513}, "name"),
        ({"name": "a", "data": [1]}, "data"),
        ({"name": "a", "data": "text"}, "data"),
        ({"name": "a", "user": "u"}, "user"),
        ({"name": "a", "id": 12}, "id"),
        ({"name": "a", "ts": "yesterday"}, "ts"),
        ({"name": "a", "ts": True}, "ts"),
        ({"name": "a", "ts": 1.5}, "ts"),
        ({"name": "a", "ts": 1_000}, "ts"),
        ({"name": "a", "ts": 5_000_000_000_000}, "ts"),
        ({"name": "a", "v": 2}, "v"),
    ],
)
def test_bad_fields_are_named(event: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.InvalidEvent, match=f"'{field}'"):
        parse(event)


def test_a_false_ts_is_rejected() -> None:
    with pytest.raises(errors.InvalidEvent, match="'ts'"):
        parse({"name": "a", "ts": False})


def test_errors_in_an_array_name_the_event_index() -> None:
    with pytest.raises(errors.InvalidEvent, match=r"event 1: .*'data'"):
        parse([{"name": "ok"}, {"name": "bad", "data": 3}])


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"{not json", b"[]", b"42", b'"name"', b"null", b"[1]"],
)
def test_bad_bodies_are_invalid_events(body: bytes) -> None:
    with pytest.raises(errors.InvalidEvent):
        parse_events(body, NOW)


def test_too_many_events() -> None:
    with pytest.raises(errors.InvalidEvent, match="too many events"):
        parse([{"name": "a"}] * (MAX_EVENTS_PER_REQUEST + 1))
    assert (
        len(parse([{"name": "a"}] * MAX_EVENTS_PER_REQUEST)) == MAX_EVENTS_PER_REQUEST
    )


def test_an_oversize_event_is_payload_too_large() -> None:
    big = {"name": "app/big", "data": {"blob": "x" * MAX_EVENT_BYTES}}
    with pytest.raises(errors.PayloadTooLarge):
        parse(big)


def test_several_large_events_in_one_request_are_fine() -> None:
    events = parse([{"name": "app/big", "data": {"blob": "x" * (1024 * 1024)}}] * 8)
    assert len(events) == 8


def _seed(millis: int = NOW - 10, entropy: bytes = bytes(range(10))) -> str:
    return f"{millis},{base64.b64encode(entropy).decode()}"


def test_the_seed_header_gives_deterministic_ids() -> None:
    body = [{"name": "a/1"}, {"name": "a/2"}, {"name": "a/3"}]
    first = parse(body, _seed())
    again = parse(body, _seed())
    assert [e.internal_id for e in first] == [e.internal_id for e in again]
    assert [e.internal_id for e in first] == seeded_event_ids(_seed(), 3)
    assert [ulid_ms(e.internal_id) for e in first] == [NOW - 10] * 3
    other = parse(body, _seed(entropy=bytes(range(1, 11))))
    assert {e.internal_id for e in other}.isdisjoint({e.internal_id for e in first})


def test_without_a_seed_ids_are_fresh_ulids_of_now() -> None:
    first = parse({"name": "a"})
    second = parse({"name": "a"})
    assert first[0].internal_id != second[0].internal_id
    assert ulid_ms(first[0].internal_id) == NOW


def test_a_malformed_seed_is_an_invalid_event() -> None:
    with pytest.raises(errors.InvalidEvent, match="seed"):
        parse({"name": "a"}, "not-a-seed")
