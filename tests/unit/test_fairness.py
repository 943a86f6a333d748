"""Fair leasing across partitions (flow/fairness.py) and the partition rule."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from inngestd.domain.queue import ItemKind, Limit, QueueItem, ThrottleSpec, partition_of
from inngestd.flow.fairness import candidates_per_partition, lease_fairly, quota, rotate


def test_quota_splits_the_limit_and_never_drops_below_one() -> None:
    assert quota(10, 2) == 5
    assert quota(10, 3) == 4
    assert quota(3, 10) == 1
    assert quota(10, 0) == 10


def test_candidates_cover_the_share_and_a_share_of_the_scan() -> None:
    assert candidates_per_partition(10, 2, 200) == 5 + 100
    assert candidates_per_partition(10, 0, 200) == 10 + 200


def _recorder(taken: list[str]) -> Any:
    def take(x: str) -> bool:
        taken.append(x)
        return True

    return take


def test_round_robin_takes_an_equal_share_first() -> None:
    taken: list[str] = []
    n = lease_fairly(
        [["a1", "a2", "a3", "a4"], ["b1", "b2", "b3", "b4"]], 4, _recorder(taken)
    )
    assert n == 4
    assert taken == ["a1", "a2", "b1", "b2"]


def test_capacity_a_partition_cannot_use_goes_to_the_next_rounds() -> None:
    taken: list[str] = []
    lease_fairly([["a1", "a2", "a3", "a4", "a5"], ["b1"]], 6, _recorder(taken))
    assert taken == ["a1", "a2", "a3", "b1", "a4", "a5"]


def test_a_blocked_item_does_not_count_against_the_share() -> None:
    taken: list[str] = []

    def take(x: str) -> bool:
        if x.endswith("blocked"):
            return False
        taken.append(x)
        return True

    n = lease_fairly([["a-blocked", "a1", "a2"], ["b1", "b2"]], 2, take)
    assert n == 2
    assert taken == ["a1", "b1"]


def test_stops_when_no_candidates_are_left() -> None:
    assert lease_fairly([["a"], []], 10, lambda _x: True) == 1
    assert lease_fairly([], 10, lambda _x: True) == 0


def _call(**fields: Any) -> QueueItem:
    item = QueueItem(
        id="i", run_id="r", function_id="app-fn", kind=ItemKind.CALL, due_ms=0
    )
    return replace(item, **fields)


def test_partition_of_a_plain_item_is_its_function() -> None:
    assert partition_of(_call()) == "fn:app-fn"
    assert partition_of(_call(concurrency=(Limit("f:app-fn", 3),))) == "fn:app-fn"
    assert partition_of(
        _call(throttle=ThrottleSpec("throttle:app-fn", 1, 1000, 0))
    ) == ("fn:app-fn")


def test_a_keyed_concurrency_limit_picks_the_partition() -> None:
    item = _call(concurrency=(Limit("f:app-fn", 3), Limit("e:env:abcd", 1)))
    assert partition_of(item) == "e:env:abcd"


def test_a_keyed_throttle_picks_the_partition_without_keyed_concurrency() -> None:
    item = _call(throttle=ThrottleSpec("throttle:app-fn-abcd", 1, 1000, 0))
    assert partition_of(item) == "throttle:app-fn-abcd"


def test_items_other_than_calls_stay_in_the_function_partition() -> None:
    item = _call(kind=ItemKind.SLEEP, concurrency=(Limit("f:app-fn:abcd", 1),))
    assert partition_of(item) == "fn:app-fn"


def test_rotate_starts_at_the_given_offset_modulo_the_length() -> None:
    assert rotate(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert rotate(["a", "b", "c"], 4) == ["b", "c", "a"]
    assert rotate([], 3) == []
