"""SDK apps for the e2e tier. Each runs in dev mode unless ``INNGEST_DEV`` is ``0`` (or
``false``): then the SDK is in cloud mode and needs ``INNGEST_SIGNING_KEY`` and
``INNGEST_EVENT_KEY`` (the shared pass runs them so against ``inngestd start``)."""

from __future__ import annotations

import os


def is_production() -> bool:
    """Cloud mode when ``INNGEST_DEV`` says so; dev mode by default (unset or ``1``)."""
    return os.environ.get("INNGEST_DEV", "1").strip().lower() in ("0", "false")
