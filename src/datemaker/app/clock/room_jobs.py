"""The rooms port's side of the round clock, as jobs the clock runs off its
deadline loop: make the rooms an event still needs, close a round (end its
calls, then record who attended), and read every room once more after the
event. Each job starts from the event's recorded state and saves through
the aggregate, so running one twice, or late after a restart, records
nothing twice (see DatingEvent.rounds_to_close / final_attendance_due)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from datemaker.app.dating_events import DatingEvents
from datemaker.app.ports import Names, RoomPool, RoomsPort
from datemaker.domain.attendance import date_attendance, known_accounts
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.rooms import Room
from datemaker.logs import get_logger

log = get_logger(__name__)


class Work(StrEnum):
    TAKE = "take"  # give an event rooms from the pool (no Meet call), then RESERVE what is short
    RESERVE = "reserve"  # make the rooms an event still needs
    CLOSE = "close"  # end a round's calls (then read its attendance)
    ATTEND = "attend"  # read who attended a round's dates
    FINAL = "final"  # read every room once more after the event


LANE_OF = {Work.TAKE: "pool", Work.RESERVE: "rooms", Work.CLOSE: "ends", Work.ATTEND: "reads", Work.FINAL: "reads"}


@dataclass(frozen=True)
class Job:
    work: Work
    wire_id: int
    round_no: int | None = None  # for CLOSE and ATTEND

    @property
    def lane(self) -> str:
        return LANE_OF[self.work]


class Lanes(Protocol):
    def put(self, job: Job) -> None: ...


class ThreadLanes:
    """A worker thread per kind of work: taking rooms from the pool, making
    rooms, ending calls, reading attendance; so a long run of paced creates
    or reads never delays ending the calls of a round, nor another event's
    rooms from the pool."""

    def __init__(self, run: Callable[[Job], None]) -> None:
        self._run = run
        self._queues: dict[str, queue.SimpleQueue[Job | None]] = {lane: queue.SimpleQueue() for lane in set(LANE_OF.values())}
        self._threads = [
            threading.Thread(target=self._drain, args=(q,), name=f"rooms-{name}", daemon=True)
            for name, q in self._queues.items()
        ]
        self._stopping = False

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def put(self, job: Job) -> None:
        self._queues[job.lane].put(job)

    def stop(self, timeout: float) -> None:
        """Drop what waits; the job in hand ends within its own budget."""
        self._stopping = True
        for q in self._queues.values():
            q.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def _drain(self, q: queue.SimpleQueue[Job | None]) -> None:
        while (job := q.get()) is not None:
            if not self._stopping:
                self._run(job)


class RoomJobs:
    def __init__(
        self,
        app: DatingEvents,
        rooms: RoomsPort,
        *,
        clock: Callable[[], datetime],
        names: Names | None = None,
        pool: RoomPool | None = None,
    ) -> None:
        self.app = app
        self.rooms = rooms
        self.clock = clock
        self.names = names or app.platform_names
        self.pool = pool
        # With a pool, a plan short of rooms takes them from it first.
        self.first_work = Work.TAKE if pool is not None else Work.RESERVE

    def run(self, job: Job) -> list[Job]:
        """Do `job`; returns the jobs that follow from it (reading a round's
        attendance once its calls ended)."""
        if job.work is Work.TAKE:
            if self.take(job.wire_id):
                return [Job(Work.RESERVE, job.wire_id)]
        elif job.work is Work.RESERVE:
            self.reserve(job.wire_id)
        elif job.work is Work.CLOSE:
            assert job.round_no is not None
            if self.end_calls(job.wire_id, job.round_no):
                return [Job(Work.ATTEND, job.wire_id, job.round_no)]
        elif job.work is Work.ATTEND:
            assert job.round_no is not None
            self.record_round(job.wire_id, job.round_no)
        else:
            self.final_pass(job.wire_id)
        return []

    def take(self, wire_id: int) -> bool:
        """Rooms from the pool for the rounds short of them, earliest round
        first, recorded; True when the event is still short (make them)."""
        assert self.pool is not None
        needed = sum(self.app.get_event(wire_id).rooms_needed().values())
        if not needed:
            return False
        taken = self.pool.take(wire_id, needed, self.clock())
        recorded = self._record(wire_id, taken) if taken else 0
        log.info("rooms taken from the pool", event_id=wire_id, count=recorded, still_needed=needed - recorded)
        return recorded < needed

    def reserve(self, wire_id: int) -> int:
        """Make rooms for the rounds still short of them (what the pool holds
        first), earliest round first, and record them; returns how many
        were recorded."""
        if self.pool is not None:
            self.take(wire_id)
        needed = sum(self.app.get_event(wire_id).rooms_needed().values())
        if not needed:
            return 0
        made = self.rooms.reserve(needed)
        if not made:
            return 0
        if self.pool is not None:  # kept as the event's before it records them: a crash loses none
            self.pool.add(made, self.clock(), taken_for=wire_id)
        recorded = self._record(wire_id, made)
        log.info("rooms reserved", event_id=wire_id, count=recorded, still_needed=needed - len(made))
        return recorded

    def _record(self, wire_id: int, rooms: list[Room]) -> int:
        """Record `rooms` for the rounds short of them; a room the event
        holds already (taken again after a crash) is not given twice."""
        now = self.clock()

        def record(event: DatingEvent) -> tuple[int, list[Room]]:
            held = {room["space"] for given in event.room_pool.values() for room in given}
            fresh = [room for room in rooms if room.space not in held]
            surplus = add_rooms(event, fresh, now)
            return len(fresh) - len(surplus), surplus

        recorded, surplus = self.app.change(wire_id, record)
        if self.pool is not None:
            self.pool.settle(wire_id, [room.space for room in rooms if room not in surplus])
        if surplus:  # another instance filled the gap meanwhile; nobody has these links
            log.warning("rooms made or taken but no longer needed", event_id=wire_id, count=len(surplus))
        return recorded

    def end_calls(self, wire_id: int, round_no: int) -> bool:
        """End every call of a round not closed yet; True when attendance is to be read."""
        event = self.app.get_event(wire_id)
        if round_no not in event.rounds_to_close():
            return False
        end_round_calls(self.rooms, event, round_no)
        return True

    def record_round(self, wire_id: int, round_no: int) -> bool:
        """Read who attended each date of an ended round and record it."""
        event = self.app.get_event(wire_id)
        if round_no not in event.rounds_to_close():
            return False
        dates = self._read_round(event, round_no)
        now = self.clock()

        def record(fresh: DatingEvent) -> None:
            if round_no in fresh.rounds_to_close():
                fresh.record_attendance(round_no, dates, now)

        self.app.change(wire_id, record)
        log.info("attendance recorded", event_id=wire_id, round=round_no, dates=len(dates))
        return True

    def final_pass(self, wire_id: int) -> bool:
        event = self.app.get_event(wire_id)
        if not event.final_attendance_due():
            return False
        recorded = getattr(event, "attendance", {})
        rounds = [
            n for n in range(1, event.round_no + 1)
            if event.rooms.get(str(n)) and not recorded.get(str(n), {}).get("final")
        ]
        read = {n: self._read_round(event, n) for n in rounds}
        now = self.clock()

        def record(fresh: DatingEvent) -> None:
            done = getattr(fresh, "attendance", {})
            for n, dates in read.items():
                if not done.get(str(n), {}).get("final"):
                    fresh.record_attendance(n, dates, now, final=True)

        self.app.change(wire_id, record)
        log.info("final attendance recorded", event_id=wire_id, rounds=len(rounds))
        return True

    def _read_round(self, event: DatingEvent, round_no: int) -> list[dict[str, Any]]:
        given = sorted(event.rooms[str(round_no)].items())
        pairs = [tuple(int(uid) for uid in key.split("-")) for key, _ in given]
        names = self.names([uid for pair in pairs for uid in pair])
        accounts = known_accounts(getattr(event, "attendance", {}))
        t = event.timings
        window = (t.round_starts_at(event.start, round_no), t.round_ends_at(event.start, round_no))
        dates = []
        for (a, b), (_, room) in zip(pairs, given, strict=True):
            try:
                attendees = self.rooms.attendance(Room(**room))
            except Exception as exc:  # recorded as unread; the final pass tries again
                log.warning("could not read a room's attendance", event_id=event.wire_id, round=round_no, error=type(exc).__name__)
                attendees = None
            dates.append(date_attendance((a, b), room["space"], attendees, window, self.clock(), names, accounts))
        return dates


def add_rooms(event: DatingEvent, made: list[Room], at: datetime) -> list[Room]:
    """Record `made` for the rounds short of rooms, earliest first; returns
    the rooms no round needs any more."""
    left = list(made)
    for round_no, count in sorted(event.rooms_needed().items()):
        given, left = left[:count], left[count:]
        if given:
            event.add_rooms(round_no, [room.to_record() for room in given], at)
    return left


def make_rooms_now(rooms: RoomsPort, event: DatingEvent, at: datetime) -> int:
    """An instant rooms port: make what the event needs at once and record it
    in the event (saved with the step that needed them); returns how many."""
    needed = sum(event.rooms_needed().values())
    if not needed:
        return 0
    made = rooms.reserve(needed)
    add_rooms(event, made, at)
    log.info("rooms reserved", event_id=event.wire_id, count=len(made))
    return len(made)


def end_round_calls(rooms: RoomsPort, event: DatingEvent, round_no: int) -> None:
    """End every call of a round; one that fails ends when people leave."""
    for room in event.rooms.get(str(round_no), {}).values():
        try:
            rooms.end_call(Room(**room))
        except Exception as exc:
            log.warning("could not end a call", event_id=event.wire_id, round=round_no, error=type(exc).__name__)
