"""Runs the demo: the real round clock, command handler and outbox relay,
joined by an in-process bus to simulated users, on the real clock with
timings of seconds."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from datemaker.runtime.bootstrap import open_dating_events
from datemaker.app.dating_events import DatingEvents
from datemaker.app.bot_commands import BotCommand, BotCommandHandler
from datemaker.app.bot_messages import NEW_COMMANDS, Outgoing
from datemaker.demo.people import answer, crowd
from datemaker.demo.progress import progress_line, summary
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.timings import Timings
from datemaker.app.outbox import OutboxRelay
from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.app.clock.round_clock import RoundClock
from datemaker.settings import Settings

DEMO_TIMINGS = Timings(
    confirm_before=6, confirm_deadline=3, rules_before=2, round_length=2,
    break_length=1, ready_grace=1, rating_deadline=2,
)
LEAD_SECONDS = 7  # from scheduling to the start


class Bus:
    """The in-process stand-in for RabbitMQ: users' commands go to the
    handler in batches, as the consumer would pass them."""

    def __init__(self, handler: BotCommandHandler) -> None:
        self.handler = handler
        self.commands: asyncio.Queue[BotCommand] = asyncio.Queue()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                first = await asyncio.wait_for(self.commands.get(), 0.05)
            except TimeoutError:
                continue
            batch = [first]
            while not self.commands.empty():
                batch.append(self.commands.get_nowait())
            await asyncio.to_thread(self.handler.handle, batch)


def run_demo(settings: Settings, *, people: int, seed: int, echo: Callable[[str], None]) -> int:
    return asyncio.run(_demo(settings, people, seed, echo))


async def _demo(settings: Settings, count: int, seed: int, echo: Callable[[str], None]) -> int:
    rng = random.Random(seed)
    app = open_dating_events(settings, rng=random.Random(seed))
    try:
        start = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
        folks = {p.user_id: p for p in crowd(count, rng, start.date())}
        await asyncio.to_thread(app.seed_platform_users, [p.row() for p in folks.values()])
        wire_id = app.schedule_event(start=start, timezone=settings.display_timezone, users_limit=10, timings=DEMO_TIMINGS)
        bus = Bus(BotCommandHandler(app, display_timezone=settings.display_timezone))
        for person in folks.values():
            await bus.commands.put(BotCommand("register_event", person.user_id, wire_id))

        async def deliver(messages: list[Outgoing]) -> None:
            for message in messages:
                person = folks.get(message.user_id)
                reply = answer(person, message, rng) if person else None
                if reply is not None:
                    await bus.commands.put(reply)

        clock = RoundClock(app, FakeRooms(seed=seed), tick_seconds=0.05)
        relay = OutboxRelay(app, deliver, extensions=NEW_COMMANDS, tick_seconds=0.05)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(t(stop)) for t in (clock.run, relay.run, bus.run)]
        try:
            await _show_progress(app, wire_id, echo, stop)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        summary(app.get_event(wire_id), echo)
        return wire_id
    finally:
        app.close()


async def _show_progress(app: DatingEvents, wire_id: int, echo: Callable[[str], None], stop: asyncio.Event) -> None:
    """Print what happens as the event log grows, until the event is over."""
    began = time.monotonic()
    shown = 0
    limit = began + 120  # a demo that hangs must not hang forever
    while time.monotonic() < limit:
        history = await asyncio.to_thread(app.history, wire_id)
        replayed: DatingEvent | None = None
        for recorded in history:
            replayed = recorded.mutate(replayed)
            if recorded.originator_version > shown:
                line = progress_line(recorded, replayed)
                if line:
                    echo(f"[{time.monotonic() - began:5.1f}s] {line}")
        shown = history[-1].originator_version
        if replayed is not None and replayed.state.is_over:
            return
        await asyncio.sleep(0.2)
    echo("the demo did not finish in time")
