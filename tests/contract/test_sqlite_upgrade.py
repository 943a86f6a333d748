"""The embedded store opens a data directory written before queue partitions existed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from inngestd.store.sqlite import DB_NAME, open_store
from tests.contract.conftest import LEASE_MS, NOW, lease_all, start_run


def _downgrade(path: Path) -> None:
    """Remove the partition column, table and triggers: the queue as it was before."""
    conn = sqlite3.connect(path)
    for trigger in ("queue_parts_insert", "queue_parts_update", "queue_parts_delete"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE queue_parts")
    conn.execute("DROP INDEX queue_part")
    conn.execute("ALTER TABLE queue DROP COLUMN part")
    conn.commit()
    conn.close()


async def test_items_queued_before_partitions_are_still_leased(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await open_store(data)
    runs = [await start_run(store, due_ms=NOW + i) for i in range(3)]
    store.close()
    _downgrade(data / DB_NAME)

    store = await open_store(data)
    try:
        assert await store.queue.next_due_ms() == NOW
        leased = await lease_all(store, NOW + 10)
        assert sorted(lease.item.run_id for lease in leased) == sorted(
            r.id for r in runs
        )
        # New work after the upgrade lands in its function's partition beside them.
        fresh = await start_run(store, now=NOW + 11, due_ms=NOW + 11)
        [lease] = await store.queue.lease(NOW + 11, 10, LEASE_MS)
        assert lease.item.run_id == fresh.id
        assert await store.queue.next_due_ms() == NOW + 10 + LEASE_MS
    finally:
        store.close()
