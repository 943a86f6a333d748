"""Apps, functions and their triggers as the server understands them after a sync."""

from __future__ import annotations

from dataclasses import dataclass, field

from inngestd.domain.flow_config import FlowConfig

# Inngest's default is 4 retries (5 attempts); the cap is 20 (pkg/consts).
DEFAULT_RETRIES = 4
MAX_RETRIES = 20
MAX_TRIGGERS = 10
MAX_CANCEL = 5


@dataclass(frozen=True, slots=True)
class Trigger:
    """An event trigger (`event`, optional CEL `expression`) or a cron trigger."""

    event: str | None = None
    expression: str | None = None
    cron: str | None = None
    jitter: str | None = None


@dataclass(frozen=True, slots=True)
class CancelOn:
    """Cancel a run when `event` arrives and `if_expr` holds, within `timeout_ms`."""

    event: str
    if_expr: str | None = None
    timeout_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Function:
    """A synced function. `id` is the slug the SDK routes by (`{app}-{fn}`)."""

    id: str
    app_id: str
    name: str
    url: str
    triggers: tuple[Trigger, ...]
    retries: int = DEFAULT_RETRIES
    cancel: tuple[CancelOn, ...] = ()
    config: bytes = b"{}"
    flow: FlowConfig = field(default_factory=FlowConfig)

    @property
    def crons(self) -> tuple[Trigger, ...]:
        return tuple(t for t in self.triggers if t.cron)

    @property
    def max_attempts(self) -> int:
        return self.retries + 1


@dataclass(frozen=True, slots=True)
class App:
    """An app: one SDK serve endpoint and the functions it registered."""

    id: str
    url: str
    sdk: str = ""
    framework: str = ""
    checksum: str = ""
    synced_ms: int = 0
    error: str | None = None
    functions: tuple[Function, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class SyncResult:
    app: App
    modified: bool
    sync_id: str


def triggers_to_json(triggers: tuple[Trigger, ...]) -> list[dict[str, str]]:
    """Storage form of triggers (also what the APIs show)."""
    out = []
    for t in triggers:
        d = {
            k: v
            for k, v in (
                ("event", t.event),
                ("expression", t.expression),
                ("cron", t.cron),
                ("jitter", t.jitter),
            )
            if v is not None
        }
        out.append(d)
    return out


def triggers_from_json(raw: list[dict[str, str]]) -> tuple[Trigger, ...]:
    return tuple(
        Trigger(
            event=d.get("event"),
            expression=d.get("expression"),
            cron=d.get("cron"),
            jitter=d.get("jitter"),
        )
        for d in raw
    )


def cancel_to_json(cancel: tuple[CancelOn, ...]) -> list[dict[str, object]]:
    return [
        {"event": c.event, "if": c.if_expr, "timeout_ms": c.timeout_ms} for c in cancel
    ]


def cancel_from_json(raw: list[dict[str, object]]) -> tuple[CancelOn, ...]:
    out = []
    for d in raw:
        timeout = d.get("timeout_ms")
        if_expr = d.get("if")
        out.append(
            CancelOn(
                event=str(d["event"]),
                if_expr=if_expr if isinstance(if_expr, str) else None,
                timeout_ms=timeout if isinstance(timeout, int) else None,
            )
        )
    return tuple(out)
