"""Settings of one inngestd process, built by the CLI and read only by the wiring."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Mode = Literal["dev", "cloud"]
Role = Literal["all", "api", "worker"]


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8288
    sdk_urls: tuple[str, ...] = field(default=())
    data_dir: Path = Path(".inngestd")
    poll_interval_s: float | None = 5.0
    discovery: bool = True
    retry_interval_s: float | None = None
    queue_workers: int = 100
    #: How often idle loops (worker, scheduler) look for work nothing woke them for.
    tick_ms: int = 1000
    #: On SIGTERM/SIGINT, let the steps in flight finish for up to this long.
    shutdown_timeout_s: float = 30.0
    #: Serve the dashboard and the GraphQL API (`inngestd start --no-ui` turns them off).
    ui: bool = True
    log_level: str = "info"
    #: "dev" (`inngestd dev`: everything open) or "cloud" (`inngestd start`: keys
    #: enforced, requests to apps signed, `X-Inngest-Server-Kind: cloud`).
    mode: Mode = "dev"
    #: What this process runs: "all", "api" (HTTP only) or "worker" (scheduler, queue
    #: workers and app sync polling; no HTTP).
    role: Role = "all"
    #: Keys accepted by `POST /e/{key}` in cloud mode.
    event_keys: tuple[str, ...] = field(default=())
    #: The signing key (`signkey-<env>-<hex>` or hex) and its rotation fallback.
    signing_key: str | None = None
    signing_key_fallback: str | None = None
    #: Start mode's shared backends: both set, or neither (then the SQLite store).
    redis_uri: str | None = None
    postgres_uri: str | None = None
    #: Redis key prefix (one deployment per prefix), PostgreSQL schema.
    redis_prefix: str = "inngestd"
    postgres_schema: str = "public"
    #: How long a leased queue item stays claimed without renewal (a dead worker's items
    #: are taken over after this).
    lease_ms: int = 60_000
    #: Delete run history older than this many days (PostgreSQL; None keeps everything).
    retention_days: float | None = None
    #: Start mode with Redis: ended runs and old events stay in Redis this long (once
    #: PostgreSQL has them), then only PostgreSQL serves them.
    hot_retention_s: float = 600.0
    #: How often the trim task looks for what to remove from Redis (tests shorten it).
    trim_interval_s: float = 10.0
