"""`datemaker serve`: one process running several cooperating tasks (the bot
consumer, the round clock, the outbox relay, metrics) until SIGTERM/SIGINT.

Each task is an async function that runs until the shared `stop` event is set
and then finishes its in-flight work; a task that fails stops the others."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence

from datemaker.bootstrap import Container
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


REPLY_MEMORY_SECONDS = 7 * 24 * 3600  # how long a redelivery still finds its reply


OUTBOX_LOCK_KEY = 0x646D5F6F7574  # the advisory lock one relay holds


def service_tasks(container: Container) -> list[Task]:
    from datemaker.adapters.postgres import AdvisoryLeader
    from datemaker.adapters.rabbitmq import BotConsumer, BotPublisher
    from datemaker.bot_commands import BotCommandHandler
    from datemaker.outbox import OutboxRelay, SoleLeader
    from datemaker.round_clock import RoundClock
    from datemaker.rooms import FakeRooms

    settings = container.settings
    handler = BotCommandHandler(container.events, display_timezone=settings.display_timezone)
    consumer = BotConsumer(settings, handler.handle)
    clock = RoundClock(container.events, FakeRooms(), lease_seconds=settings.clock_lease_seconds)
    publisher = BotPublisher(settings)
    relay = OutboxRelay(
        container.events,
        publisher.publish,
        extensions=settings.bot_extensions,
        leadership=AdvisoryLeader(settings, OUTBOX_LOCK_KEY) if settings.uses_postgres else SoleLeader(),
    )

    async def outbox(stop: asyncio.Event) -> None:
        await publisher.start()
        try:
            await relay.run(stop)
        finally:
            await publisher.close()

    async def forget_old_replies(stop: asyncio.Event) -> None:
        while not stop.is_set():
            removed = await asyncio.to_thread(container.events.forget_handled_before, REPLY_MEMORY_SECONDS)
            if removed:
                log.info("forgot old replies", count=removed)
            try:
                await asyncio.wait_for(stop.wait(), timeout=3600)
            except TimeoutError:
                pass

    return [consumer.run, clock.run, outbox, forget_old_replies]


def run_service(container: Container, tasks: Sequence[Task] | None = None, grace: float = 10.0) -> None:
    container.events  # opens the store and checks the PostgreSQL schema first
    if not asyncio.run(_serve(container, service_tasks(container) if tasks is None else tasks, grace)):
        raise SystemExit(1)
