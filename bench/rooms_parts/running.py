"""Running one case's evening: the round clock and the pool filler, as
`datemaker serve` runs them, on the simulated clock, until the last round
of every event has started; and the production intervals that are kept to
real time rather than simulated time (see rooms_parts/__init__.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from harness.database import pg_connect
from harness.report import BenchFailure, log

PROGRESS_EVERY = timedelta(hours=1)  # simulated
SETTLE = timedelta(minutes=1)  # simulated, past the last round's start
GIVE_UP_AFTER = timedelta(hours=1)  # simulated, past the expected end
# Deadlines of an event whose last round has started: its end, then the ratings' lock.
LAST_STEPS = ["end_round", "finish"]


@dataclass
class Seen:
    began_at: datetime  # the simulated instant the clock started at
    pool_at_first_plan: int  # rooms in the pool when the first plan was due
    elapsed_s: float  # real seconds from the clock's start to the end


@contextmanager
def counted_every(interval: timedelta) -> Iterator[None]:
    """The filler counts the dates ahead again once a simulated minute
    (room_pool.REFRESH); here no more often than `interval`. A count reads
    every event of the next day (~0.2 s of real time for 100 events), which
    at 240x would be 40 simulated seconds of every minute in which no room
    is made: a cost only the compressed time makes."""
    from datemaker.app import room_pool

    production = room_pool.REFRESH
    room_pool.REFRESH = max(production, interval)
    try:
        yield
    finally:
        room_pool.REFRESH = production


def last_round_start(app: Any, wire_ids: list[int]) -> datetime:
    """When the last round of the last event starts, by the recorded plans."""
    latest = datetime.min.replace(tzinfo=app.clock().tzinfo)
    for wire_id in wire_ids:
        event = app.get_event(wire_id)
        plan = event.planned
        if plan is not None and plan.rounds_count:
            latest = max(latest, event.timings.round_starts_at(event.start, plan.rounds_count))
    return latest


async def drive(dbname: str, app: Any, clock: Any, filler: Any, pool: Any, now: Callable[[], datetime],
                scale: float, wire_ids: list[int], first_plan: datetime, all_started: datetime) -> Seen:
    """The clock and the filler until every event's last round has started
    (known once every event has started, at `all_started`) and nothing is
    overdue."""
    stop = asyncio.Event()
    halt = threading.Event()
    began_at, started = now(), time.perf_counter()
    ticking = asyncio.create_task(clock.run(stop))
    filling = threading.Thread(target=filler.run, args=(lambda s: halt.wait(s / scale),), name="pool-filler",
                               daemon=True)
    filling.start()
    log(f"running from {began_at:%H:%M:%S} (simulated, UTC) at {scale:g}x")
    probe = await asyncio.to_thread(pg_connect, dbname, True, "datemaker-bench-rooms")
    pool_at_first_plan = -1
    last_start: datetime | None = None
    next_report = began_at.replace(minute=0, second=0, microsecond=0) + PROGRESS_EVERY
    try:
        while True:
            await asyncio.sleep(0.25)
            if ticking.done():
                ticking.result()
                raise BenchFailure("the round clock stopped by itself")
            sim = now()
            if pool_at_first_plan < 0 and sim >= first_plan:
                pool_at_first_plan = await asyncio.to_thread(pool.free)
            if sim >= next_report:
                next_report += PROGRESS_EVERY
                log(f"{sim:%H:%M} pool={await asyncio.to_thread(pool.free)} target={filler.figures.target}"
                    f" ({time.perf_counter() - started:.0f} s)")
            if last_start is None and sim >= all_started:
                last_start = await asyncio.to_thread(last_round_start, app, wire_ids)
            if last_start is not None and sim >= last_start + SETTLE:
                waiting = (await asyncio.to_thread(
                    probe.execute,
                    "SELECT count(*) FROM datemaker.deadlines WHERE action <> ALL(%s) OR due_at < %s",
                    (LAST_STEPS, sim - SETTLE / 2),
                )).fetchone()[0]
                if not waiting:
                    break
            if sim > all_started + timedelta(hours=1) + GIVE_UP_AFTER:
                raise BenchFailure(f"rounds still to start at {sim:%H:%M} (simulated)")
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        halt.set()
        await ticking
        await asyncio.to_thread(filling.join, 10)
        probe.close()
    return Seen(began_at, pool_at_first_plan, elapsed)
