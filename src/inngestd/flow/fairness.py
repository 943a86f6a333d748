"""Fair leasing across queue partitions: round robin with an equal share per pass.

One lease call looks at the due items of several partitions (oldest first within each),
starting at a random one of them (`rotate`), so that even a call for a single item picks
each due partition with equal chance. Each pass gives every partition up to `quota`
leases, so a partition with a deep backlog takes no more than its share while others
wait; later passes hand capacity the others could not use back to whoever still has
candidates.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def spin() -> int:
    """A random rotation for one lease call (the Redis script receives it as an argument,
    which keeps the script itself deterministic)."""
    return random.randrange(1 << 30)


def rotate(items: Sequence[T], by: int) -> list[T]:
    """`items` starting at index `by` modulo its length (Lua: the same arithmetic)."""
    if not items:
        return []
    k = by % len(items)
    return [*items[k:], *items[:k]]


def quota(limit: int, partitions: int) -> int:
    """Leases one partition may take per pass."""
    return max(1, math.ceil(limit / max(partitions, 1)))


def candidates_per_partition(limit: int, partitions: int, scan_extra: int) -> int:
    """How many due items to look at in each partition: its share plus its share of the
    scan allowance (blocked items are skipped, and capacity moves between partitions)."""
    return quota(limit, partitions) + math.ceil(scan_extra / max(partitions, 1))


def lease_fairly(
    candidates: Sequence[Sequence[T]], limit: int, take: Callable[[T], bool]
) -> int:
    """Offer candidates to `take` round robin, partition by partition, until `limit`
    were taken or none are left; `take` returns whether it leased the item (a blocked
    item does not count against its partition's share). Returns how many were taken."""
    share = quota(limit, len(candidates))
    cursors = [0] * len(candidates)
    taken = 0
    progress = True
    while taken < limit and progress:
        progress = False
        for i, items in enumerate(candidates):
            got = 0
            while got < share and taken < limit and cursors[i] < len(items):
                item = items[cursors[i]]
                cursors[i] += 1
                progress = True
                if take(item):
                    got += 1
                    taken += 1
            if taken >= limit:
                break
    return taken
