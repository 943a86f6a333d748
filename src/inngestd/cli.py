"""The `inngestd` command line.

* `inngestd dev` runs the whole platform on one machine, open to anyone who can reach it.
* `inngestd start` is the self-hosted production mode: event keys and the signing key are
  enforced, requests to apps are signed, and the server announces itself as `cloud`.

The options the two commands share are defined once, in `_shared_options`, so they cannot
drift. As in Go's CLI, each setting comes from its flag, else its environment variable
(`INNGESTD_<NAME>`, or Go's `INNGEST_<NAME>` for the settings Go reads), else the config
file (`config_file.py`), else its default.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from inngestd import __version__, config_file, errors
from inngestd.settings import Role, Settings
from inngestd.wire.signing import validate_signing_key

F = TypeVar("F", bound=Callable[..., Any])
Command = Literal["dev", "start"]

ENV_PREFIX = "INNGESTD_"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="inngestd")
def main() -> None:
    """inngestd: an Inngest server in Python, wire-compatible with the official SDKs."""


class _TextList(click.types.StringParamType):
    """A repeatable text option whose environment variable holds a list separated by
    commas and/or whitespace (`INNGESTD_EVENT_KEY="key1,key2"`)."""

    def split_envvar_value(self, rv: str) -> Sequence[str]:
        return [part for part in re.split(r"[\s,]+", rv) if part]


TEXT_LIST = _TextList()


# Settings Go's `inngest` CLI reads from `INNGEST_<NAME>` (cmd/internal/config): inngestd
# reads those too, after its own `INNGESTD_<NAME>`, so a deployment's environment carries over.
GO_ENV = frozenset(
    {
        "SDK_URL",
        "NO_DISCOVERY",
        "NO_POLL",
        "HOST",
        "PORT",
        "POLL_INTERVAL",
        "RETRY_INTERVAL",
        "QUEUE_WORKERS",
        "TICK",
        "SIGNING_KEY",
        "EVENT_KEY",
        "REDIS_URI",
        "POSTGRES_URI",
        "SQLITE_DIR",
    }
)


def _env(name: str) -> dict[str, Any]:
    """`envvar=` (`INNGESTD_<NAME>`, then Go's `INNGEST_<NAME>`) and `show_envvar=`."""
    names = [f"{ENV_PREFIX}{name}"]
    if name in GO_ENV:
        names.append(f"INNGEST_{name}")
    return {"envvar": names, "show_envvar": True}


def _load_config(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> Path | None:
    """Eager `--config`: the file's settings become the command's defaults (below the
    flags and the environment variables)."""
    path = Path(value) if value else config_file.find(Path.cwd(), _home())
    if path is None:
        return None
    try:
        settings = config_file.load(path)
        flags = {
            opt.removeprefix("--"): (str(p.name), bool(p.multiple))
            for p in ctx.command.params
            if isinstance(p, click.Option) and p.name != "config"
            for opt in p.opts
            if opt.startswith("--")
        }
        defaults, ignored = config_file.defaults(settings, flags, path)
    except config_file.ConfigError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    click.echo(f"inngestd: using config file {path}", err=True)
    unknown = [k for k in ignored if k not in config_file.GO_ONLY]
    if unknown:
        click.echo(f"inngestd: ignoring unknown config keys {unknown}", err=True)
    return path


def _home() -> Path | None:
    try:
        return Path.home()
    except RuntimeError:
        return None


def _config_option(fn: F) -> F:
    return click.option(
        "--config",
        default=None,
        metavar="PATH",
        is_eager=True,
        expose_value=False,
        callback=_load_config,
        help="JSON or YAML file of settings keyed by flag name (`signing-key: ...`); "
        "default: the first inngest.json, inngest.yaml or inngest.yml in this directory "
        "or a parent, then ~/.config/inngest. Flags and environment variables win.",
        envvar=[f"{ENV_PREFIX}CONFIG", "INNGEST_CONFIG"],
        show_envvar=True,
    )(fn)


def _shared_options(cmd: Command) -> Callable[[F], F]:
    """The options of `dev` and `start`, defined once (defaults differ where Go's do)."""
    start = cmd == "start"
    options = [
        click.option(
            "-u",
            "--sdk-url",
            "sdk_urls",
            multiple=True,
            type=TEXT_LIST,
            metavar="URL",
            help="URL of an app's Inngest endpoint to sync, e.g. "
            "http://127.0.0.1:8000/api/inngest. Repeatable"
            + (
                " (the variable takes a comma- or space-separated list)."
                if start
                else "."
            ),
            **_env("SDK_URL"),
        ),
        click.option(
            "-p",
            "--port",
            default=8288,
            show_default=True,
            type=click.IntRange(0, 65535),
            help="Port for the event API, SDK API, REST API and dashboard (0 picks a free port).",
            **_env("PORT"),
        ),
        click.option(
            "--host",
            default="0.0.0.0" if start else "127.0.0.1",
            show_default=True,
            help=(
                "Address to listen on. 0.0.0.0 (all interfaces, as Go's `inngest start`) "
                "also listens on ::, so apps on other machines and containers can reach it."
                if start
                else "Address to listen on. 127.0.0.1 also listens on ::1, for Node apps "
                "that resolve localhost to IPv6."
            ),
            **_env("HOST"),
        ),
        click.option(
            "--poll-interval",
            default=0.0 if start else 5.0,
            show_default=True,
            type=click.FloatRange(min=0) if start else click.FloatRange(min=0.1),
            metavar="SECONDS",
            help=(
                "How often to re-sync the -u URLs. 0 syncs each URL once it answers, "
                "then never again (Go's default for start)."
                if start
                else "How often to re-sync the -u URLs, so changed functions are picked up."
            ),
            **_env("POLL_INTERVAL"),
        ),
        click.option(
            "--retry-interval",
            default=None,
            type=click.FloatRange(min=0),
            metavar="SECONDS",
            help="Retry failed steps after this fixed delay instead of Inngest's "
            "backoff table (for tests).",
            **_env("RETRY_INTERVAL"),
        ),
        click.option(
            "--queue-workers",
            default=100,
            show_default=True,
            type=click.IntRange(1, 10000),
            help="How many steps may execute at the same time.",
            **_env("QUEUE_WORKERS"),
        ),
        click.option(
            "--tick",
            "tick_ms",
            default=1000,
            show_default=True,
            type=click.IntRange(10, 60_000),
            metavar="MS",
            help="How often an idle worker and the scheduler look for work nothing told "
            "them about. New work wakes them at once (across processes too), so this is "
            "only the safety net; Go's flag of the same name is its queue poll.",
            **_env("TICK"),
        ),
        click.option(
            "--shutdown-timeout",
            default=30.0 if start else 5.0,
            show_default=True,
            type=click.FloatRange(min=0),
            metavar="SECONDS",
            help="On SIGTERM or Ctrl-C, stop taking work and let the steps in flight "
            "finish (their results are stored) for up to this long before exiting.",
            **_env("SHUTDOWN_TIMEOUT"),
        ),
        click.option(
            "--log-level",
            default="info",
            show_default=True,
            type=click.Choice(
                ["debug", "info", "warning", "error"], case_sensitive=False
            ),
            help="Log verbosity.",
            **_env("LOG_LEVEL"),
        ),
    ]

    def apply(fn: F) -> F:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


@main.command()
@_config_option
@_shared_options("dev")
@click.option(
    "--no-discovery",
    is_flag=True,
    help="Do not look for apps on common ports; only the -u URLs are synced.",
    **_env("NO_DISCOVERY"),
)
@click.option(
    "--no-poll",
    is_flag=True,
    help="Sync the -u URLs once at start, never again.",
    **_env("NO_POLL"),
)
@click.option(
    "--persist",
    is_flag=True,
    help="Accepted for `inngest dev` compatibility: the store always persists to "
    "--data-dir.",
)
@click.option(
    "--data-dir",
    "--sqlite-dir",
    "data_dir",
    default=".inngestd",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the SQLite database; runs and events survive restarts.",
    **_env("SQLITE_DIR"),
)
@click.option(
    "--redis-uri", default=None, hidden=True, help="Use Redis + PostgreSQL (tests)."
)
@click.option(
    "--postgres-uri", default=None, hidden=True, help="Use Redis + PostgreSQL (tests)."
)
@click.option(
    "--redis-prefix", default="inngestd", hidden=True, help="Redis key prefix."
)
@click.option(
    "--postgres-schema", default="public", hidden=True, help="PostgreSQL schema."
)
@click.option(
    "--lease-ms",
    default=60_000,
    hidden=True,
    type=click.IntRange(1000),
    help="Queue lease length.",
)
def dev(
    sdk_urls: tuple[str, ...],
    port: int,
    host: str,
    no_discovery: bool,
    no_poll: bool,
    persist: bool,
    poll_interval: float,
    data_dir: Path,
    retry_interval: float | None,
    queue_workers: int,
    tick_ms: int,
    shutdown_timeout: float,
    log_level: str,
    redis_uri: str | None,
    postgres_uri: str | None,
    redis_prefix: str,
    postgres_schema: str,
    lease_ms: int,
) -> None:
    """Run the server for local development, with the embedded SQLite store.

    Nothing is authenticated: any event key is accepted and apps are called unsigned.
    """
    settings = Settings(
        host=host,
        port=port,
        sdk_urls=sdk_urls,
        data_dir=data_dir,
        poll_interval_s=None if no_poll else poll_interval,
        discovery=not no_discovery,
        retry_interval_s=retry_interval,
        queue_workers=queue_workers,
        tick_ms=tick_ms,
        shutdown_timeout_s=shutdown_timeout,
        log_level=log_level,
        # Hidden: the test suite runs every dev-mode scenario on the shared backends too.
        redis_uri=redis_uri,
        postgres_uri=postgres_uri,
        redis_prefix=redis_prefix,
        postgres_schema=postgres_schema,
        lease_ms=lease_ms,
    )
    _run(settings)


def _check_signing_key(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    if value is None or value == "":
        return None
    try:
        return validate_signing_key(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _check_event_keys(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    keys = tuple(dict.fromkeys(k.strip() for k in value if k.strip()))
    if not keys:
        raise click.BadParameter(
            f"at least one event key is required (--event-key or {ENV_PREFIX}EVENT_KEY)",
            ctx=ctx,
            param=param,
        )
    for key in keys:
        if "/" in key or any(c.isspace() for c in key):
            raise click.BadParameter(
                f"an event key may not contain '/' or whitespace: {key!r}",
                ctx=ctx,
                param=param,
            )
    return keys


@main.command()
@_config_option
@click.option(
    "--event-key",
    "event_keys",
    multiple=True,
    type=TEXT_LIST,
    metavar="KEY",
    callback=_check_event_keys,
    help="An event key accepted by POST /e/{key}; other keys get 401. Repeatable; at "
    "least one is required (the variable takes a comma- or space-separated list).",
    **_env("EVENT_KEY"),
)
@click.option(
    "--signing-key",
    required=True,
    metavar="KEY",
    callback=_check_signing_key,
    help="Signing key, `signkey-<env>-<hex>` or even-length hex (as the apps' "
    "INNGEST_SIGNING_KEY). Signs every request to apps and is required (as a bearer "
    "token or a dashboard login) by /fn/register, the APIs and the dashboard.",
    **_env("SIGNING_KEY"),
)
@click.option(
    "--signing-key-fallback",
    default=None,
    metavar="KEY",
    callback=_check_signing_key,
    help="A second accepted signing key, for rotation (as INNGEST_SIGNING_KEY_FALLBACK): "
    "app response signatures, bearer tokens and logins under it are accepted too.",
    **_env("SIGNING_KEY_FALLBACK"),
)
@_shared_options("start")
@click.option(
    "--role",
    default="all",
    show_default=True,
    type=click.Choice(["all", "api", "worker"], case_sensitive=False),
    help="What this process runs. all: everything. api: the HTTP server only (events, "
    "sync, APIs, dashboard). worker: the scheduler, the queue workers and -u syncing, "
    "with no HTTP server. With the embedded SQLite store only one process may open "
    "--sqlite-dir, so split roles need --redis-uri and --postgres-uri.",
    **_env("ROLE"),
)
@click.option(
    "--sqlite-dir",
    default=".inngestd",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the embedded SQLite store, used when no --redis-uri/--postgres-uri "
    "is given.",
    **_env("SQLITE_DIR"),
)
@click.option(
    "--redis-uri",
    default=None,
    metavar="URI",
    help="Redis/Valkey for the queue, run state and flow-control state "
    "(redis://host:6379/0, or redis+cluster://host:port for a Redis Cluster). "
    "With --postgres-uri, several processes share the work.",
    **_env("REDIS_URI"),
)
@click.option(
    "--postgres-uri",
    default=None,
    metavar="URI",
    help="PostgreSQL for apps, functions, events and run history "
    "(postgresql://user:pw@host/db). Schema migrations are applied at start.",
    **_env("POSTGRES_URI"),
)
@click.option(
    "--lease-ms",
    default=60_000,
    hidden=True,
    type=click.IntRange(1000),
    help="Queue lease length (tests shorten it to see a killed process's work move).",
    envvar=f"{ENV_PREFIX}LEASE_MS",
)
@click.option(
    "--postgres-schema",
    default="public",
    show_default=True,
    hidden=True,
    help="PostgreSQL schema (tests run side by side in their own schemas).",
    envvar=f"{ENV_PREFIX}POSTGRES_SCHEMA",
)
@click.option(
    "--retention-days",
    default=None,
    type=click.FloatRange(min=0, min_open=True),
    metavar="DAYS",
    help="With --postgres-uri: delete the history of runs that ended more than DAYS ago "
    "(in bounded batches, hourly). Default: keep everything.",
    **_env("RETENTION_DAYS"),
)
@click.option(
    "--hot-retention",
    "hot_retention",
    default=600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="With --redis-uri: keep ended runs and scheduled events in Redis this long after "
    "they ended or arrived (once PostgreSQL has them), then remove them in bounded "
    "batches; the APIs read them from PostgreSQL afterwards. Bounds Redis memory.",
    **_env("HOT_RETENTION"),
)
@click.option(
    "--trim-interval",
    default=10.0,
    hidden=True,
    type=click.FloatRange(min=0, min_open=True),
    help="How often Redis is trimmed, in seconds (tests shorten it).",
    envvar=f"{ENV_PREFIX}TRIM_INTERVAL",
)
@click.option(
    "--no-ui",
    is_flag=True,
    help="Serve no dashboard and no GraphQL API (/v0/gql); the event, SDK and REST "
    "APIs stay.",
    **_env("NO_UI"),
)
@click.option(
    "--redis-prefix",
    default="inngestd",
    show_default=True,
    help="Key prefix in Redis; processes with the same prefix form one deployment.",
    **_env("REDIS_PREFIX"),
)
def start(
    event_keys: tuple[str, ...],
    signing_key: str | None,
    signing_key_fallback: str | None,
    sdk_urls: tuple[str, ...],
    port: int,
    host: str,
    poll_interval: float,
    retry_interval: float | None,
    queue_workers: int,
    tick_ms: int,
    shutdown_timeout: float,
    log_level: str,
    role: str,
    sqlite_dir: Path,
    redis_uri: str | None,
    postgres_uri: str | None,
    redis_prefix: str,
    postgres_schema: str,
    lease_ms: int,
    retention_days: float | None,
    hot_retention: float,
    trim_interval: float,
    no_ui: bool,
) -> None:
    """Run the self-hosted production server: keys enforced, apps in cloud mode.

    Apps run with INNGEST_DEV unset (or 0), INNGEST_SIGNING_KEY set to the same signing key,
    INNGEST_EVENT_KEY set to one of the event keys, and INNGEST_BASE_URL pointing here.
    """
    if signing_key is None:
        raise click.UsageError(
            f"a signing key is required (--signing-key or {ENV_PREFIX}SIGNING_KEY)"
        )
    if bool(redis_uri) != bool(postgres_uri):
        raise click.UsageError(
            "--redis-uri and --postgres-uri go together: the hot path lives in Redis and "
            "the read side in PostgreSQL (give both, or neither for the SQLite store)"
        )
    role_value: Role = (
        "api" if role == "api" else "worker" if role == "worker" else "all"
    )
    settings = Settings(
        host=host,
        port=port,
        sdk_urls=sdk_urls,
        data_dir=sqlite_dir,
        poll_interval_s=poll_interval or None,
        discovery=False,
        retry_interval_s=retry_interval,
        queue_workers=queue_workers,
        tick_ms=tick_ms,
        shutdown_timeout_s=shutdown_timeout,
        log_level=log_level,
        ui=not no_ui,
        mode="cloud",
        role=role_value,
        event_keys=event_keys,
        signing_key=signing_key,
        signing_key_fallback=signing_key_fallback,
        redis_uri=redis_uri,
        postgres_uri=postgres_uri,
        redis_prefix=redis_prefix,
        postgres_schema=postgres_schema,
        lease_ms=lease_ms,
        retention_days=retention_days,
        hot_retention_s=hot_retention,
        trim_interval_s=trim_interval,
    )
    _run(settings)


@main.command()
@click.option(
    "--postgres-uri",
    required=True,
    metavar="URI",
    help="PostgreSQL database to bring to the current schema version.",
    **_env("POSTGRES_URI"),
)
@click.option(
    "--schema", default="public", show_default=True, help="PostgreSQL schema."
)
def migrate(postgres_uri: str, schema: str) -> None:
    """Apply pending PostgreSQL schema migrations (`inngestd start` also does this)."""
    from inngestd import wiring

    applied = asyncio.run(wiring.migrate(postgres_uri, schema))
    click.echo(f"applied migrations: {applied}" if applied else "schema is up to date")


def _run(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from inngestd import wiring

    try:
        import uvloop

        uvloop.install()
    except ImportError:  # uvloop is optional
        pass
    try:
        asyncio.run(wiring.serve(settings))
    except errors.DataDirLocked as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {settings.host}:{settings.port}: {exc}"
        ) from None
