"""Prefect settings Kuźnia needs, applied before Prefect is imported (a user's env still wins)."""

from __future__ import annotations

import os

DEFAULTS = {
    # The ephemeral API server starts in a subprocess; on a loaded 2-core machine 20 s is too short.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    # No network: telemetry only produces errors in the log.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Tasks take and return small records; results need not be persisted for reruns (our own
    # task markers do that).
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
}


def apply() -> None:
    for k, v in DEFAULTS.items():
        os.environ.setdefault(k, v)


apply()
