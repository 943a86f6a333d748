"""Settings of one inngestd process, built by the CLI and read only by the wiring."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
    tick_ms: int = 150
    log_level: str = "info"
