"""`datemaker serve` as a real process for the tests, pointed at a test's
database, exchange and queue; and a live event run by such processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


async def live_event(
    settings: Settings,
    start: datetime,
    *,
    finished: Callable[[], bool],
    finish_by: datetime,
    kill_at: Sequence[float] = (),
    instances: int = 1,
    restart: bool = True,
    first: Callable[[], Awaitable[None]] | None = None,
    lease_seconds: float = 1.0,
    also_at: Sequence[tuple[float, Callable[[], None]]] = (),
    log: Path | None = None,
    **extra_env: str,
) -> list[float]:
    """Run `instances` services (`lease_seconds` leases, `extra_env`) until
    `finished()` or `finish_by`: after `first()` (e.g. the bot registering),
    kill the first one (-9) at each offset in seconds from `start`, starting
    it again unless told not to, and do each of `also_at` (offset, action) at
    its offset. The services' logs go to `log` (appended). Returns the
    offsets it was killed at."""

    def started() -> subprocess.Popen:
        # (never a pipe nobody reads: a full one would stop the service)
        stderr = log.open("ab") if log is not None else subprocess.DEVNULL
        return serve(settings, stderr=stderr, DATEMAKER_CLOCK_LEASE_SECONDS=str(lease_seconds), **extra_env)

    services = [started() for _ in range(instances)]
    killed = []
    plan = sorted([*((offset, None) for offset in kill_at), *also_at], key=lambda step: step[0])
    try:
        if first is not None:
            await first()
        for offset, action in plan:
            await asyncio.sleep(max(0.0, (start + timedelta(seconds=offset) - datetime.now(UTC)).total_seconds()))
            if action is not None:
                action()
                continue
            services[0].send_signal(signal.SIGKILL)
            services[0].wait(10)
            killed.append(offset)
            if restart:
                services[0] = started()
        while datetime.now(UTC) < finish_by and not finished():
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # the last messages on their way
    finally:
        for process in services:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(10)
    return killed
