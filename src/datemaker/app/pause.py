"""The one way a long-running task waits: until `stop` is set or the time
is up, whichever comes first, so a stopping service never waits out a pause."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds`; True when `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def when_set(stop: asyncio.Event, then: Callable[[], None]) -> None:
    """Call `then()` once `stop` is set (to stop a worker thread, say)."""
    await stop.wait()
    then()
