"""A function's flow-control configuration, parsed and validated from its registration JSON."""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from typing import Any, Final, Literal, NoReturn, cast

import orjson

from inngestd import errors
from inngestd.domain.durations import parse_duration
from inngestd.domain.expressions import compile_expression

__all__ = [
    "DEFAULT_MAX_BATCH_SIZE",
    "IDEMPOTENCY_PERIOD_MS",
    "MAX_CONCURRENCY_LIMITS",
    "MAX_DEBOUNCE_PERIOD_MS",
    "MAX_RATE_LIMIT_PERIOD_MS",
    "MIN_BATCH_SIZE",
    "MIN_BATCH_TIMEOUT_MS",
    "MIN_DEBOUNCE_PERIOD_MS",
    "MIN_PERIOD_MS",
    "Batch",
    "ConcurrencyLimit",
    "ConcurrencyScope",
    "Debounce",
    "FlowConfig",
    "Priority",
    "RateLimit",
    "Singleton",
    "SingletonMode",
    "Throttle",
    "Timeouts",
    "from_json",
    "parse_flow_config",
    "to_json",
]

ConcurrencyScope = Literal["fn", "env", "account"]
SingletonMode = Literal["skip", "cancel"]

_SECOND_MS: Final[int] = 1_000
_HOUR_MS: Final[int] = 3_600 * _SECOND_MS
_DAY_MS: Final[int] = 24 * _HOUR_MS

# pkg/consts/consts.go
MAX_CONCURRENCY_LIMITS: Final[int] = 2
MIN_DEBOUNCE_PERIOD_MS: Final[int] = _SECOND_MS
MAX_DEBOUNCE_PERIOD_MS: Final[int] = 7 * _DAY_MS
MAX_RATE_LIMIT_PERIOD_MS: Final[int] = _DAY_MS  # FunctionIdempotencyPeriod
IDEMPOTENCY_PERIOD_MS: Final[int] = _DAY_MS
DEFAULT_MAX_BATCH_SIZE: Final[int] = 100  # DefaultBatchSizeLimit
# pkg/inngest/batch.go
MIN_BATCH_SIZE: Final[int] = 2
MIN_BATCH_TIMEOUT_MS: Final[int] = _SECOND_MS
# Throttle and rate-limit periods are whole seconds in the Go constraint store.
MIN_PERIOD_MS: Final[int] = _SECOND_MS

_SCOPES: Final[tuple[ConcurrencyScope, ...]] = ("fn", "env", "account")
_MODES: Final[tuple[SingletonMode, ...]] = ("skip", "cancel")


@dataclass(frozen=True, slots=True)
class ConcurrencyLimit:
    """A step concurrency limit; `limit` 0 means unlimited. env/account scopes have a key."""

    limit: int
    key: str | None = None
    scope: ConcurrencyScope = "fn"

    @property
    def is_partition_limit(self) -> bool:
        """A keyless fn-scoped limit: the function's own limit."""
        return self.scope == "fn" and self.key is None


@dataclass(frozen=True, slots=True)
class Throttle:
    """GCRA on run starts: `limit` per `period_ms`, `burst` extra starts at once (Go semantics)."""

    limit: int
    period_ms: int
    burst: int = 0
    key: str | None = None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Drop runs over `limit` per `period_ms` (GCRA at schedule time)."""

    limit: int
    period_ms: int
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Debounce:
    """Delay the run until no event came for `period_ms`, at most `timeout_ms` after the first."""

    period_ms: int
    key: str | None = None
    timeout_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """Run once per `max_size` events or after `timeout_ms`; `if_expr` false ⇒ run unbatched."""

    max_size: int
    timeout_ms: int
    key: str | None = None
    if_expr: str | None = None


@dataclass(frozen=True, slots=True)
class Priority:
    """`run`: CEL giving seconds of priority (see `inngestd.flow.priority`)."""

    run: str


@dataclass(frozen=True, slots=True)
class Singleton:
    """At most one run per key: a new one is skipped, or it cancels the current one."""

    mode: SingletonMode = "skip"
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Cancel a run not started `start_ms` after it was queued / not finished `finish_ms` after start."""

    start_ms: int | None = None
    finish_ms: int | None = None


@dataclass(frozen=True, slots=True)
class FlowConfig:
    """Everything flow-control about a function; every part is optional.

    `rate_limit` is the effective rate limit: `idempotency` (kept for display) replaces any
    `rateLimit` with `RateLimit(1, 24h, key=idempotency)`, as `pkg/sdk/function.go` does.
    `run_concurrency` is the run-level limit of the `{"fn": [...], "step": [...]}` form.
    """

    concurrency: tuple[ConcurrencyLimit, ...] = ()
    run_concurrency: ConcurrencyLimit | None = None
    throttle: Throttle | None = None
    rate_limit: RateLimit | None = None
    debounce: Debounce | None = None
    batch: Batch | None = None
    priority: Priority | None = None
    singleton: Singleton | None = None
    timeouts: Timeouts | None = None
    idempotency: str | None = None

    @property
    def partition_limit(self) -> int:
        """The function's own (keyless, fn-scoped) step concurrency limit; 0 = none."""
        for item in self.concurrency:
            if item.is_partition_limit:
                return item.limit
        return 0

    @property
    def custom_concurrency(self) -> tuple[ConcurrencyLimit, ...]:
        """The keyed (or env/account scoped) limits."""
        return tuple(c for c in self.concurrency if not c.is_partition_limit)


# -- parsing ------------------------------------------------------------------------------------


def _lower(obj: dict[str, Any]) -> dict[str, Any]:
    """Go's encoding/json matches field names case-insensitively; so do we."""
    return {k.lower(): v for k, v in obj.items()}


class _Parser:
    def __init__(self, fn_id: str) -> None:
        self.fn_id = fn_id

    def fail(self, path: str, problem: str) -> NoReturn:
        raise errors.InvalidFunctionConfig(
            f"function '{self.fn_id}': field '{path}': {problem}"
        )

    def obj(self, path: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
        return _lower(value)

    def int_(
        self, path: str, value: Any, *, default: int | None = None, minimum: int = 0
    ) -> int:
        if value is None:
            if default is None:
                self.fail(path, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be an integer")
        if value < minimum:
            self.fail(path, f"must be at least {minimum}, got {value}")
        return value

    def expr(self, path: str, value: Any) -> str | None:
        if value is None or value == "":
            return (
                None  # some SDKs send "" for "no key" (Go clears an empty debounce key)
            )
        if not isinstance(value, str):
            self.fail(path, "must be a string expression")
        try:
            compile_expression(value)
        except errors.InvalidExpression as exc:
            self.fail(path, str(exc))
        return value

    def duration_ms(
        self,
        path: str,
        value: Any,
        *,
        required: bool = False,
        minimum_ms: int = 1,
        maximum_ms: int | None = None,
    ) -> int | None:
        if value is None or value == "":
            if required:
                self.fail(path, "is required")
            return None
        if not isinstance(value, str):
            self.fail(path, "must be a duration string such as '30s' or '1h'")
        try:
            ms = parse_duration(value) // datetime.timedelta(milliseconds=1)
        except errors.InvalidDuration as exc:
            self.fail(path, str(exc))
        if ms < minimum_ms:
            self.fail(path, f"must be at least {_fmt_ms(minimum_ms)}, got {value!r}")
        if maximum_ms is not None and ms > maximum_ms:
            self.fail(path, f"must be at most {_fmt_ms(maximum_ms)}, got {value!r}")
        return ms

    # -- concurrency --
    def concurrency(
        self, value: Any
    ) -> tuple[tuple[ConcurrencyLimit, ...], ConcurrencyLimit | None]:
        path = "concurrency"
        if value is None:
            return (), None
        if isinstance(value, bool):
            self.fail(path, "must be a number, an object or an array")
        if isinstance(value, int):
            # TS: `concurrency: 5` is a keyless fn limit.
            return (self.step_limit(path, {"limit": value}),), None
        run: ConcurrencyLimit | None = None
        if isinstance(value, dict):
            low = _lower(value)
            fn_items, step_items = low.get("fn"), low.get("step")
            if fn_items or step_items:
                # {"fn": [run-level limit], "step": [step limits]}
                run = self.run_limit(f"{path}.fn", fn_items)
                path = f"{path}.step"
                items = self.list_(path, step_items)
                paths = [f"{path}[{i}]" for i in range(len(items))]
            else:
                items, paths = [value], [path]
        elif isinstance(value, list):
            items = value
            paths = [f"{path}[{i}]" for i in range(len(items))]
        else:
            self.fail(path, "must be a number, an object or an array")
        if len(items) > MAX_CONCURRENCY_LIMITS:
            self.fail(
                path,
                f"at most {MAX_CONCURRENCY_LIMITS} concurrency limits are allowed, got {len(items)}",
            )
        limits = [
            self.step_limit(at, item) for at, item in zip(paths, items, strict=True)
        ]
        limits.sort(key=lambda c: c.limit)  # stable, like Go's sort by limit ascending
        return tuple(limits), run

    def list_(self, path: str, value: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, "must be an array")
        return value

    def step_limit(self, path: str, raw: Any) -> ConcurrencyLimit:
        item = self.obj(path, raw)
        limit = self.int_(f"{path}.limit", item.get("limit"), default=0)
        key = self.expr(f"{path}.key", item.get("key"))
        scope = self.scope(f"{path}.scope", item.get("scope"))
        if scope != "fn" and key is None:
            self.fail(f"{path}.key", f"a key is required for '{scope}' scoped limits")
        return ConcurrencyLimit(limit=limit, key=key, scope=scope)

    def scope(self, path: str, value: Any) -> ConcurrencyScope:
        if value is None or value == "":
            return "fn"
        if not isinstance(value, str) or value.lower() not in _SCOPES:
            self.fail(path, f"must be one of 'fn', 'env', 'account', got {value!r}")
        return cast(ConcurrencyScope, value.lower())

    def run_limit(self, path: str, value: Any) -> ConcurrencyLimit | None:
        items = self.list_(path, value)
        if not items:
            return None
        if len(items) > 1:
            self.fail(path, "only one function concurrency limit is allowed")
        item = self.obj(f"{path}[0]", items[0])
        scope = item.get("scope")
        if scope not in (None, "", "fn"):
            self.fail(f"{path}[0].scope", f"must be 'fn', got {scope!r}")
        return ConcurrencyLimit(
            limit=self.int_(f"{path}[0].limit", item.get("limit"), minimum=1),
            key=self.expr(f"{path}[0].key", item.get("key")),
        )

    # -- the rest --
    def throttle(self, value: Any) -> Throttle | None:
        if value is None:
            return None
        t = self.obj("throttle", value)
        period = self.duration_ms(
            "throttle.period", t.get("period"), required=True, minimum_ms=MIN_PERIOD_MS
        )
        assert period is not None
        return Throttle(
            # Go (Throttle.UnmarshalJSON): limit 0 → 1; burst defaults to 0.
            limit=max(1, self.int_("throttle.limit", t.get("limit"), default=0)),
            period_ms=period,
            burst=self.int_("throttle.burst", t.get("burst"), default=0),
            key=self.expr("throttle.key", t.get("key")),
        )

    def rate_limit(self, value: Any) -> RateLimit | None:
        if value is None:
            return None
        r = self.obj("rateLimit", value)
        period = self.duration_ms(
            "rateLimit.period",
            r.get("period"),
            required=True,
            minimum_ms=MIN_PERIOD_MS,
            maximum_ms=MAX_RATE_LIMIT_PERIOD_MS,
        )
        assert period is not None
        return RateLimit(
            limit=self.int_("rateLimit.limit", r.get("limit"), minimum=1),
            period_ms=period,
            key=self.expr("rateLimit.key", r.get("key")),
        )

    def debounce(self, value: Any) -> Debounce | None:
        if value is None:
            return None
        d = self.obj("debounce", value)
        period = self.duration_ms(
            "debounce.period",
            d.get("period"),
            required=True,
            minimum_ms=MIN_DEBOUNCE_PERIOD_MS,
            maximum_ms=MAX_DEBOUNCE_PERIOD_MS,
        )
        assert period is not None
        return Debounce(
            period_ms=period,
            key=self.expr("debounce.key", d.get("key")),
            timeout_ms=self.duration_ms("debounce.timeout", d.get("timeout")),
        )

    def batch(self, value: Any, max_batch_size: int) -> Batch | None:
        if value is None:
            return None
        b = self.obj("batchEvents", value)
        size = self.int_(
            "batchEvents.maxSize", b.get("maxsize"), minimum=MIN_BATCH_SIZE
        )
        if size > max_batch_size:
            self.fail(
                "batchEvents.maxSize", f"must be at most {max_batch_size}, got {size}"
            )
        timeout = self.duration_ms(
            "batchEvents.timeout",
            b.get("timeout"),
            required=True,
            minimum_ms=MIN_BATCH_TIMEOUT_MS,
        )
        assert timeout is not None
        return Batch(
            max_size=size,
            timeout_ms=timeout,
            key=self.expr("batchEvents.key", b.get("key")),
            if_expr=self.expr("batchEvents.if", b.get("if")),
        )

    def priority(self, value: Any) -> Priority | None:
        if value is None:
            return None
        run = self.expr("priority.run", self.obj("priority", value).get("run"))
        return None if run is None else Priority(run=run)

    def singleton(self, value: Any) -> Singleton | None:
        if value is None:
            return None
        s = self.obj("singleton", value)
        raw_mode = s.get("mode")
        mode: SingletonMode = "skip"  # Go's zero value
        if raw_mode not in (None, ""):
            if not isinstance(raw_mode, str) or raw_mode.lower() not in _MODES:
                self.fail(
                    "singleton.mode", f"must be 'skip' or 'cancel', got {raw_mode!r}"
                )
            mode = cast(SingletonMode, raw_mode.lower())
        return Singleton(mode=mode, key=self.expr("singleton.key", s.get("key")))

    def timeouts(self, value: Any) -> Timeouts | None:
        if value is None:
            return None
        t = self.obj("timeouts", value)
        start = self.duration_ms("timeouts.start", t.get("start"))
        finish = self.duration_ms("timeouts.finish", t.get("finish"))
        if start is None and finish is None:
            return None
        return Timeouts(start_ms=start, finish_ms=finish)


def _fmt_ms(ms: int) -> str:
    for unit, size in (("d", _DAY_MS), ("h", _HOUR_MS), ("m", 60_000), ("s", 1_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def parse_flow_config(
    fn_id: str, raw: dict[str, Any], *, max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
) -> FlowConfig:
    """Parse and validate the flow-control keys of one registered function (`functions[i]`).

    Every key/if/run expression is compiled here. Raises `errors.InvalidFunctionConfig`
    as `function '<id>': field '<path>': <problem>`. Mirrors `pkg/inngest/function.go
    Validate`: batchEvents cannot be combined with cancel, debounce, singleton or priority.run.
    """
    p = _Parser(fn_id)
    fields = _lower(raw)
    concurrency, run_concurrency = p.concurrency(fields.get("concurrency"))
    throttle = p.throttle(fields.get("throttle"))
    rate_limit = p.rate_limit(fields.get("ratelimit"))
    idempotency = p.expr("idempotency", fields.get("idempotency"))
    if idempotency is not None:
        # pkg/sdk/function.go: idempotency replaces rateLimit with {1, 24h, key}.
        rate_limit = RateLimit(
            limit=1, period_ms=IDEMPOTENCY_PERIOD_MS, key=idempotency
        )
    debounce = p.debounce(fields.get("debounce"))
    batch = p.batch(fields.get("batchevents"), max_batch_size)
    priority = p.priority(fields.get("priority"))
    singleton = p.singleton(fields.get("singleton"))
    timeouts = p.timeouts(fields.get("timeouts"))
    if batch is not None:
        cancel = fields.get("cancel")
        for present, name, why in (
            (isinstance(cancel, list) and len(cancel) > 0, "cancel", "cancellation"),
            (debounce is not None, "debounce", "debouncing"),
            (singleton is not None, "singleton", "singletons"),
            (priority is not None, "priority.run", "run priority"),
        ):
            if present:
                p.fail(
                    "batchEvents",
                    f"cannot be combined with '{name}' (batching and {why} are mutually exclusive)",
                )
    return FlowConfig(
        concurrency=concurrency,
        run_concurrency=run_concurrency,
        throttle=throttle,
        rate_limit=rate_limit,
        debounce=debounce,
        batch=batch,
        priority=priority,
        singleton=singleton,
        timeouts=timeouts,
        idempotency=idempotency,
    )


# -- storage ------------------------------------------------------------------------------------

_PART_TYPES: Final[dict[str, type[Any]]] = {
    "run_concurrency": ConcurrencyLimit,
    "throttle": Throttle,
    "rate_limit": RateLimit,
    "debounce": Debounce,
    "batch": Batch,
    "priority": Priority,
    "singleton": Singleton,
    "timeouts": Timeouts,
}


def to_json(cfg: FlowConfig) -> dict[str, Any]:
    """A JSON-ready dict (snake_case field names, ms integers); unset parts are omitted."""
    out: dict[str, Any] = {}
    if cfg.concurrency:
        out["concurrency"] = [dataclasses.asdict(c) for c in cfg.concurrency]
    for name in _PART_TYPES:
        part = getattr(cfg, name)
        if part is not None:
            out[name] = dataclasses.asdict(part)
    if cfg.idempotency is not None:
        out["idempotency"] = cfg.idempotency
    return out


def from_json(data: dict[str, Any] | str | bytes) -> FlowConfig:
    """Rebuild a FlowConfig stored by `to_json` (as a dict, or its JSON text). No re-validation."""
    obj: Any = orjson.loads(data) if isinstance(data, str | bytes) else data
    if not isinstance(obj, dict):
        raise ValueError("a stored flow config must be a JSON object")
    parts: dict[str, Any] = {
        name: cls(**obj[name])
        for name, cls in _PART_TYPES.items()
        if obj.get(name) is not None
    }
    return FlowConfig(
        concurrency=tuple(ConcurrencyLimit(**c) for c in obj.get("concurrency") or ()),
        idempotency=obj.get("idempotency"),
        **parts,
    )
