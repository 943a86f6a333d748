"""Every Redis key of the hot store, built in one place.

All keys are `{<prefix>}:<kind>[:<id>]`: the braces make `{<prefix>}` the hash tag, so every
key of one deployment lives in one cluster slot and a multi-key Lua script stays valid on
Redis Cluster. The Lua scripts build the same keys through functions generated from `KINDS`
(`lua_key_functions`), so the layout is defined here only.
"""

from __future__ import annotations

from typing import Final

# kind -> (Lua function name, description). A key is `{prefix}:<kind>` or
# `{prefix}:<kind>:<id>`; ids may contain ':' (they are only ever the last part).
KINDS: Final[dict[str, tuple[str, str]]] = {
    # events
    "seq": ("k_seq", "INCR counter: the last event sequence number"),
    "ev": ("k_ev", "hash per event internal id: seq, name, user, recv, payload"),
    "evlog": ("k_evlog", "zset internal id by seq: every event"),
    "evname": ("k_evname", "zset internal id by seq, per event name"),
    "unsched": ("k_unsched", "zset internal id by seq: not yet scheduled"),
    "evruns": ("k_evruns", "set of run ids per event internal id"),
    # runs
    "run": ("k_run", "hash per run (see runs.py RUN_FIELDS)"),
    "steps": ("k_steps", "hash step id -> memo, per run"),
    "stack": ("k_stack", "list of step ids in memo order, per run"),
    "pending": ("k_pending", "hash step id -> race flag, per run"),
    "runitems": ("k_runitems", "set of queue item ids, per run"),
    "runpauses": ("k_runpauses", "set of pause ids, per run"),
    "runslots": ("k_runslots", "set of run-level concurrency keys held, per run"),
    "runsingle": ("k_runsingle", "set of singleton keys held, per run"),
    "spans": ("k_spans", "list of span JSON, per run"),
    "spanseq": ("k_spanseq", "INCR counter: span record ids (outbox de-duplication)"),
    "idem": ("k_idem", "hash per idempotency key: run, exp"),
    "single": ("k_single", "string per singleton key: the run holding it"),
    # pauses
    "pause": ("k_pause", "hash per pause id"),
    "pauseev": ("k_pauseev", "set of pause ids per event name"),
    "corr": ("k_corr", "string per invoke correlation id: the pause id"),
    # queue
    "item": ("k_item", "hash per queue item: j (item JSON), score, tok, blk, pt"),
    "qpart": (
        "k_qpart",
        "zset per queue partition (domain.queue.partition_of): item id by the time it"
        " can next be leased (lease expiry while leased: an expired lease is due again)",
    ),
    "parts": ("k_parts", "zset partition by the earliest time in its qpart zset"),
    "crons": ("k_crons", "set of pending cron tick item ids"),
    "inuse": ("k_inuse", "INCR counter per concurrency key: leased items holding it"),
    "slots": ("k_slots", "set of run ids holding a run-level concurrency key"),
    "parked": ("k_parked", "set of item ids parked on a concurrency key"),
    "gcra": ("k_gcra", "string per throttle / rate limit key: the GCRA TAT in ms"),
    # debounce and batch
    "deb": ("k_deb", "hash per debounce key"),
    "batch": ("k_batch", "hash per batch key: id, fn, size, first"),
    "batchev": ("k_batchev", "list of event ids per batch id"),
    # outbox (see outbox.py)
    "outbox": ("k_outbox", "list of JSON records for the read side"),
    "outboxwip": ("k_outboxwip", "list per consumer: records being relayed"),
    # processes
    "leader": (
        "k_leader",
        "string per singleton task: the token of the process leading it",
    ),
    "wake": (
        "k_wake",
        "pub/sub channel: topics of work one process committed (wakeups.py)",
    ),
    # trimming
    "ended": ("k_ended", "zset run id by ended ms: ended runs still in Redis"),
    "runevs": ("k_runevs", "set of the event ids of a run (evruns entries to undo)"),
    "trimgen": (
        "k_trimgen",
        "INCR counter: the last outbox marker; an ended run keeps the value (tg) it saw",
    ),
    "trimmark": ("k_trimmark", "hash: g, at of the outbox marker in flight"),
    "relayed": (
        "k_relayed",
        "hash: g, seq of the last marker the relay stored (all records before it are in"
        " PostgreSQL)",
    ),
}


def tag(prefix: str) -> str:
    """The hash-tagged root every key starts with."""
    if not prefix or any(c in prefix for c in "{}"):
        raise ValueError(f"invalid Redis key prefix {prefix!r}")
    return "{" + prefix + "}"


class Keys:
    """Key builders for one prefix (Python side)."""

    def __init__(self, prefix: str) -> None:
        self.root = tag(prefix)

    def key(self, kind: str, ident: str | None = None) -> str:
        if kind not in KINDS:
            raise KeyError(kind)
        base = f"{self.root}:{kind}"
        return base if ident is None else f"{base}:{ident}"

    def seq(self) -> str:
        return self.key("seq")

    def ev(self, internal_id: str) -> str:
        return self.key("ev", internal_id)

    def evlog(self) -> str:
        return self.key("evlog")

    def evname(self, name: str) -> str:
        return self.key("evname", name)

    def unsched(self) -> str:
        return self.key("unsched")

    def evruns(self, internal_id: str) -> str:
        return self.key("evruns", internal_id)

    def run(self, run_id: str) -> str:
        return self.key("run", run_id)

    def steps(self, run_id: str) -> str:
        return self.key("steps", run_id)

    def stack(self, run_id: str) -> str:
        return self.key("stack", run_id)

    def pending(self, run_id: str) -> str:
        return self.key("pending", run_id)

    def spans(self, run_id: str) -> str:
        return self.key("spans", run_id)

    def pause(self, pause_id: str) -> str:
        return self.key("pause", pause_id)

    def pauseev(self, event_name: str) -> str:
        return self.key("pauseev", event_name)

    def corr(self, correlation_id: str) -> str:
        return self.key("corr", correlation_id)

    def parts(self) -> str:
        return self.key("parts")

    def qpart(self, partition: str) -> str:
        return self.key("qpart", partition)

    def item(self, item_id: str) -> str:
        return self.key("item", item_id)

    def deb(self, key: str) -> str:
        return self.key("deb", key)

    def batch(self, key: str) -> str:
        return self.key("batch", key)

    def batchev(self, batch_id: str) -> str:
        return self.key("batchev", batch_id)

    def outbox(self) -> str:
        return self.key("outbox")

    def outboxwip(self, consumer: str) -> str:
        return self.key("outboxwip", consumer)

    def wake(self) -> str:
        return self.key("wake")

    def leader(self, task: str) -> str:
        return self.key("leader", task)

    def pattern(self) -> str:
        """A SCAN MATCH pattern for every key of this prefix (tests, teardown)."""
        escaped = "".join("\\" + c if c in "*?[]\\" else c for c in self.root)
        return escaped + ":*"


def lua_key_functions() -> str:
    """Lua builders of the same keys; `P` (the root, KEYS[1]) is set by the script."""
    lines = []
    for kind, (fn, _doc) in KINDS.items():
        lines.append(
            f"local function {fn}(id) if id == nil then return P .. ':{kind}' end"
            f" return P .. ':{kind}:' .. id end"
        )
    return "\n".join(lines) + "\n"
