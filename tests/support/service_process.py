"""`datemaker serve` as a real process for the tests, pointed at a test's
database, exchange and queue."""

from __future__ import annotations

import os
import subprocess
import sys

from datemaker.settings import Settings


def serve(settings: Settings, stderr: int | None = subprocess.PIPE, **extra_env: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATEMAKER_STORE": "postgres",
        "POSTGRES_HOST": settings.postgres_host or "127.0.0.1",
        "POSTGRES_PORT": str(settings.postgres_port),
        "POSTGRES_DB": settings.postgres_db,
        "DATEMAKER_POSTGRES_USER": settings.postgres_user,
        "RABBITMQ_EXCHANGE": settings.rabbitmq_exchange,
        "DATEMAKER_RABBITMQ_QUEUE": settings.rabbitmq_queue,
        "DATEMAKER_LOG_LEVEL": "WARNING",
        "DATEMAKER_METRICS_PORT": "0",
        **extra_env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "datemaker", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=stderr
    )
