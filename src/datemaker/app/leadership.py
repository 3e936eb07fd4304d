"""Lead or stand by: a follower of the event log that one instance at a time
may run (the outbox relay, the analytics follower) works while it holds the
leadership and stands by, asking again every second, while another does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from datemaker.app.pause import pause
from datemaker.app.ports import Leadership

STAND_BY_SECONDS = 1.0


async def lead(leadership: Leadership, stop: asyncio.Event, work: Callable[[asyncio.Event], Awaitable[None]],
               stand_by_seconds: float = STAND_BY_SECONDS) -> None:
    """Run `work` whenever the leadership is ours, until `stop`. `work`
    returns when it finds the leadership lost; it is released either way."""
    while not stop.is_set():
        if await asyncio.to_thread(leadership.try_acquire):
            try:
                await work(stop)
            finally:
                await asyncio.to_thread(leadership.release)
        else:
            await pause(stop, stand_by_seconds)
