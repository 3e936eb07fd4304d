"""`datemaker serve`: one process running several cooperating tasks (the bot
consumer, the round clock, the outbox relay, metrics) until SIGTERM/SIGINT;
with PostgreSQL, the log's followers run in child processes of their own
(`follower_processes.py`).

Each task is an async function that runs until the shared `stop` event is set
and then finishes its in-flight work; a task that fails stops the others."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable, Sequence

from datemaker.runtime.bootstrap import Container
from datemaker.runtime.followers import ROLES, Follower, start_follower
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


async def _serve(container: Container, tasks: Sequence[Task], grace: float) -> bool:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("serving", store="postgres" if container.settings.uses_postgres else "sqlite", tasks=len(tasks))
    healthy = await run_tasks(tasks, stop, grace)
    log.info("stopped", healthy=healthy)
    return healthy


def serve_tasks(container: Container, tasks: Sequence[Task], grace: float = 10.0) -> bool:
    """Run `tasks` until SIGTERM/SIGINT (or one fails); False when one failed."""
    return asyncio.run(_serve(container, tasks, grace))


def run_service(container: Container, tasks: Sequence[Task] | None = None, grace: float = 10.0) -> None:
    """Serve until SIGTERM/SIGINT; exit non-zero when a task failed."""
    from datemaker.app.outbox import relay_task  # noqa: F401  (loaded before the followers fork)
    from datemaker.projections import run_projections  # noqa: F401
    from datemaker.runtime.wiring import build_service

    settings = container.settings
    # Followers are forked now, while this process has no threads and nothing
    # open: they start at once (after a kill -9 too), with all modules loaded.
    early: dict[str, Follower] = {}
    if tasks is None and settings.uses_postgres and settings.follower_processes:
        alone = threading.active_count() == 1  # else forking could copy a held lock
        early = {role: start_follower(role, settings, fork=alone) for role in ROLES}
    service = None
    try:
        container.events  # opens the store and checks the PostgreSQL schema first
        if tasks is None:
            service = build_service(container, followers=early)
            tasks = service.tasks()
            if service.health is not None:
                service.health.start()
        healthy = serve_tasks(container, tasks, grace)
    finally:
        for follower in early.values():  # not handed over (their supervisors stop the others)
            follower.stop_at_once()
        if service is not None and service.health is not None:
            service.health.stop()
    if not healthy:
        raise SystemExit(1)
