"""Background tasks of `datemaker serve` (housekeeping, schedules, the
platform writes poller): a step run every so often on a worker thread. A
step that raises is logged, counted and tried again after a short backoff;
it never ends the service, and readiness never hears of it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from datemaker.app.pause import pause
from datemaker.app.retry import Backoff
from datemaker.logs import get_logger
from datemaker.runtime.tasks import Task

log = get_logger(__name__)

RETRY = Backoff(base=0.25, cap=5.0)  # soon after a failure, however long the usual wait
MIN_RETRY_SECONDS = 0.1


def background(name: str, step: Callable[[], Any], every: float, on_failure: Callable[[str], None], *,
               again: Callable[[Any], bool] = lambda result: False, rng: random.Random | None = None) -> Task:
    """A task running `step()` every `every` seconds until stop; at once
    again while `again(result)` (a backlog). `on_failure(name)` counts a
    failed step."""
    chance = rng or random.Random()

    async def run(stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                result = await asyncio.to_thread(step)
            except Exception as exc:
                failures += 1
                on_failure(name)
                log.error("background task failed; it tries again", task=name, attempt=failures, error=repr(exc))
                await pause(stop, max(MIN_RETRY_SECONDS, RETRY.delay(min(failures, 10), chance)))
                continue
            failures = 0
            if not again(result):
                await pause(stop, every)

    run.__name__ = name
    return run
