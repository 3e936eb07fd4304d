"""One case of the rooms bench: its own database and fake Meet server, the
evening's events set up through the application, then the round clock and
the pool filler wired as `datemaker serve` wires them, all on the
simulated clock, until the last round of every event has started."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from harness.database import create_database, drop_database, make_settings
from harness.report import log
from round_clock_parts.app_setup import setup_events
from rooms_parts.cases import PEOPLE, Case, at, event_start
from rooms_parts.running import SETTLE, counted_every, drive

ACCOUNT_NAMES = ("host1", "host2", "host3", "host4", "host5")
PRODUCTION_LEASE_SECONDS = 30.0  # DATEMAKER_CLOCK_LEASE_SECONDS' default


@dataclass
class Evening:
    """What one case saw, beyond what the event store recorded."""

    case: Case
    dbname: str
    app: Any  # the application, open on the case's database (closed by the caller)
    wire_ids: list[int]
    stats: dict[str, Any]  # the fake server's figures at the end
    calls: Counter[str]  # the client's view: (method, outcome) of every Meet call
    scale: float
    began_at: datetime  # the simulated instant the clock started at
    first_plan: datetime  # when the first plan was due to be fixed
    pool_at_first_plan: int  # rooms in the pool when the first plan was fixed
    pool_left: int
    sim_hours: float
    elapsed_s: float  # real seconds from the clock's start to the end

    @property
    def fill_per_minute(self) -> float:
        """Rooms the pool gained a simulated minute until the first plan."""
        minutes = (self.first_plan - self.began_at).total_seconds() / 60
        return self.pool_at_first_plan / minutes if minutes > 0 else 0.0


class RoomsWithoutCalls:
    """The Google rooms port as the round clock sees it here: rooms are made
    for real (paced, under the fake's quotas); ending the calls and reading
    attendance are left out. They have lanes of their own and no create
    quota, so they never touch what is measured; at 240x their 10,000 ends
    and 20,000 reads would need far more CPU than this machine has, and
    would only slow the threads that make rooms."""

    instant = False
    reads_attendance = False  # the clock then ends calls inline: a no-op here

    def __init__(self, rooms: Any) -> None:
        self._rooms = rooms

    def reserve(self, count: int) -> list[Any]:
        return self._rooms.reserve(count)  # type: ignore[no-any-return]

    def end_call(self, room: Any) -> None:
        pass

    def attendance(self, room: Any) -> list[Any]:
        return []


def run_case(case: Case, args: Any, scale: float, suffix: str, index: int, day: datetime) -> Evening:
    """Set up, run and stop one case; the database is the caller's to read and drop."""
    from datemaker.adapters.postgres.schema import apply_schema
    from datemaker.domain.timings import Timings
    from datemaker.runtime.bootstrap import open_dating_events

    dbname = f"datemaker_bench_rooms_{suffix}_{index}"
    create_database(dbname)
    try:
        base = make_settings(dbname, suffix, prefix="dm_roomsbench")
        apply_schema(base)
        setup = open_dating_events(base)
        t0 = time.perf_counter()
        planned = setup_events(setup, args.events, lambda i: event_start(day, i, args.events), Timings(),
                               lambda i: PEOPLE, confirm=True)
        setup.close()
        log(f"{case.key}: {len(planned)} events of {PEOPLE} set up and confirmed in {time.perf_counter() - t0:.1f} s")
        with tempfile.TemporaryDirectory(prefix="datemaker-bench-rooms-") as token_dir:
            return _evening(case, args, scale, dbname, suffix, sorted(planned), day, Path(token_dir))
    except BaseException:
        if not args.keep_databases:
            drop_database(dbname)
        raise


def _evening(case: Case, args: Any, scale: float, dbname: str, suffix: str, wire_ids: list[int], day: datetime,
             token_dir: Path) -> Evening:
    from tests.support.fake_meet_process import FakeMeetProcess

    from datemaker.adapters.meet.calls import MeetObserver
    from datemaker.adapters.meet.factory import build_room_pool, build_rooms
    from datemaker.app.clock.round_clock import RoundClock
    from datemaker.app.room_pool import PoolFiller
    from datemaker.domain.pairing import assignment
    from datemaker.domain.timings import Timings
    from datemaker.runtime.bootstrap import open_dating_events

    assignment.load()  # before the simulated clock runs: at 240x a second of imports is four minutes
    names = list(ACCOUNT_NAMES[: case.accounts])
    calls: Counter[str] = Counter()
    counting = threading.Lock()  # the lanes and the filler call from threads of their own

    def called(method: str, outcome: str) -> None:
        with counting:
            calls[f"{method}:{outcome}"] += 1

    with FakeMeetProcess(token_dir, names, scale=scale, quotas=True, start=at(day, case.starts_at)) as meet:
        settings = make_settings(
            dbname, suffix, prefix="dm_roomsbench", DATEMAKER_MEET_BACKEND="google", MEET_API_ENDPOINT=meet.endpoint,
            MEET_TOKEN_FILE=",".join(str(meet.token_file(n)) for n in names), DATEMAKER_MEET_POOL_HORIZON=case.horizon,
            DATEMAKER_CLOCK_LEASE_SECONDS=max(PRODUCTION_LEASE_SECONDS, scale * args.lease_every),
        )
        app = open_dating_events(settings, clock=meet.clock)
        try:
            pool = build_room_pool(settings, app)
            assert pool is not None
            rooms = build_rooms(settings, app, pool=pool, observer=MeetObserver(call=called),
                                sleep=lambda s: time.sleep(s / scale))
            clock = RoundClock(app, RoomsWithoutCalls(rooms), clock=meet.clock, pool=pool, tick_seconds=args.tick,
                               lease_seconds=settings.clock_lease_seconds)
            filler = PoolFiller(app, pool, rooms, horizon=timedelta(seconds=settings.meet_pool_horizon),
                                margin=settings.meet_pool_margin, clock=meet.clock,
                                busy=lambda: clock.room_work_waiting)  # as serve wires it
            timings = Timings()
            first_plan = timings.confirmation_closes_at(event_start(day, 0, len(wire_ids)))
            all_started = timings.round_starts_at(event_start(day, len(wire_ids) - 1, len(wire_ids)), 1) + SETTLE
            with counted_every(timedelta(seconds=scale * args.count_every)):
                seen = asyncio.run(drive(dbname, app, clock, filler, pool, meet.clock, scale, wire_ids, first_plan,
                                         all_started))
            stats = meet.stats()
            ended = meet.clock()
        except BaseException:
            app.close()
            raise
    return Evening(case, dbname, app, wire_ids, stats, calls, scale, seen.began_at, first_plan,
                   seen.pool_at_first_plan, pool.free(), (ended - seen.began_at).total_seconds() / 3600, seen.elapsed_s)
