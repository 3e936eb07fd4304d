"""Running a process's tasks: each is an async function that runs until the
shared `stop` event is set and then finishes its in-flight work; a task that
fails stops the others. `datemaker serve` and each follower process run
their tasks this way."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence

from datemaker.logs import get_logger

log = get_logger(__name__)

Task = Callable[[asyncio.Event], Awaitable[None]]


async def run_tasks(tasks: Sequence[Task], stop: asyncio.Event, grace: float) -> bool:
    """Run `tasks` until `stop` is set, then give them `grace` seconds to
    finish. False when a task failed (the process should then exit non-zero,
    so its supervisor starts it again)."""
    running = [asyncio.create_task(task(stop), name=getattr(task, "__name__", "task")) for task in tasks]
    waiter = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait([*running, waiter], return_when=asyncio.FIRST_COMPLETED)
    healthy = True
    for finished in done - {waiter}:
        if finished.exception() is not None:
            healthy = False
            log.error("task failed", task=finished.get_name(), error=repr(finished.exception()))
    stop.set()
    if running:
        _, late = await asyncio.wait(running, timeout=grace)
        for task in late:
            log.warning("task did not finish in time", task=task.get_name(), grace_seconds=grace)
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    waiter.cancel()
    return healthy


async def _serve(store: str, tasks: Sequence[Task], grace: float) -> bool:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("serving", store=store, tasks=len(tasks))
    healthy = await run_tasks(tasks, stop, grace)
    log.info("stopped", healthy=healthy)
    return healthy


def serve_tasks(store: str, tasks: Sequence[Task], grace: float = 10.0) -> bool:
    """Run `tasks` until SIGTERM/SIGINT (or one fails); False when one failed.
    `store` names the event store in the log line."""
    return asyncio.run(_serve(store, tasks, grace))
