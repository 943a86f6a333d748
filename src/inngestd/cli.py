"""The `inngestd` command line: `inngestd dev` runs the whole platform on one machine."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from inngestd import __version__, errors
from inngestd.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="inngestd")
def main() -> None:
    """inngestd: an Inngest server in Python, wire-compatible with the official SDKs."""


@main.command()
@click.option(
    "-u",
    "--sdk-url",
    "sdk_urls",
    multiple=True,
    metavar="URL",
    help="URL of an app's Inngest endpoint to sync, e.g. http://127.0.0.1:8000/api/inngest. Repeatable.",
)
@click.option(
    "-p",
    "--port",
    default=8288,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port for the event API, SDK API, REST API and dashboard (0 picks a free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. 127.0.0.1 also listens on ::1, for Node apps that resolve localhost to IPv6.",
)
@click.option(
    "--no-discovery",
    is_flag=True,
    help="Do not look for apps on common ports; only the -u URLs are synced.",
)
@click.option(
    "--no-poll", is_flag=True, help="Sync the -u URLs once at start, never again."
)
@click.option(
    "--poll-interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="How often to re-sync the -u URLs, so changed functions are picked up.",
)
@click.option(
    "--data-dir",
    default=".inngestd",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the SQLite database; runs and events survive restarts.",
)
@click.option(
    "--retry-interval",
    default=None,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Retry failed steps after this fixed delay instead of Inngest's backoff table (for tests).",
)
@click.option(
    "--queue-workers",
    default=100,
    show_default=True,
    type=click.IntRange(1, 10000),
    help="How many steps may execute at the same time.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    help="Log verbosity.",
)
def dev(
    sdk_urls: tuple[str, ...],
    port: int,
    host: str,
    no_discovery: bool,
    no_poll: bool,
    poll_interval: float,
    data_dir: Path,
    retry_interval: float | None,
    queue_workers: int,
    log_level: str,
) -> None:
    """Run the server for local development, with the embedded SQLite store."""
    settings = Settings(
        host=host,
        port=port,
        sdk_urls=sdk_urls,
        data_dir=data_dir,
        poll_interval_s=None if no_poll else poll_interval,
        discovery=not no_discovery,
        retry_interval_s=retry_interval,
        queue_workers=queue_workers,
        log_level=log_level,
    )
    _run(settings)


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
