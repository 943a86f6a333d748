"""The optional configuration file of `inngestd dev` and `inngestd start`.

As Go's `inngest` CLI: `--config PATH` (or `INNGESTD_CONFIG` / `INNGEST_CONFIG`) names the
file; without it the first `inngest.json`, `inngest.yaml` or `inngest.yml` found in the
working directory, its parents, then `~/.config/inngest` is used. Keys are the long flag
names (`signing-key`, `event-key`, `redis-uri`, ...). Flags win over environment
variables, which win over the file, which wins over the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import yaml

NAMES = ("inngest.json", "inngest.yaml", "inngest.yml")
# Keys of Go's file that configure what inngestd does not have (Connect, its SQL pool
# tuning, the in-memory dev store): accepted and ignored, as a file shared with Go's CLI
# may hold them.
GO_ONLY = frozenset(
    {
        "connect-gateway-port",
        "in-memory",
        "postgres-max-idle-conns",
        "postgres-max-open-conns",
        "postgres-conn-max-idle-time",
        "postgres-conn-max-lifetime",
    }
)


class ConfigError(ValueError):
    """The file cannot be read, is not JSON/YAML, or holds something that is no setting."""


def find(start: Path, home: Path | None) -> Path | None:
    """The file Go's CLI would pick: `start` and its parents first, then the home config."""
    dirs = [start, *start.parents]
    if home is not None:
        dirs.append(home / ".config" / "inngest")
    for directory in dirs:
        for name in NAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def load(path: Path) -> dict[str, Any]:
    """The file's settings, by key. JSON for `.json`, YAML otherwise (YAML also reads
    JSON)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = orjson.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {path} is not valid JSON/YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    return {str(k): v for k, v in data.items()}


def defaults(
    settings: Mapping[str, Any], params: Mapping[str, tuple[str, bool]], path: Path
) -> tuple[dict[str, Any], list[str]]:
    """Click's `default_map` for one command from the file's `settings`.

    `params` maps each flag name (`sdk-url`) to (parameter name, takes many values).
    Returns the map and the keys that were ignored (Go-only or unknown)."""
    out: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in settings.items():
        if key not in params:
            ignored.append(key)
            continue
        name, many = params[key]
        if isinstance(value, dict):
            raise ConfigError(f"config file {path}: {key!r} must not be a mapping")
        if many:
            values = value if isinstance(value, list) else [value]
            out[name] = [str(v) for v in values]
        elif isinstance(value, list):
            raise ConfigError(f"config file {path}: {key!r} takes one value")
        else:
            out[name] = value
    return out, ignored
