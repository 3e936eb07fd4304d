"""The round clock: fires every dating event's deadlines on time, durably.

Each save of an event stores its next deadline in the same transaction
(`DatingEvents.save`). The clock leases due deadlines (several instances
never take the same one; a dead instance's lease runs out and another takes
over), lets the aggregate take every step that is due and saves. A deadline
that passed while no clock ran fires late, once: taking a step changes the
state, and optimistic concurrency lets only one of two racing writers save it.

Rooms: an instant rooms port (the in-process fake) makes the rooms an event
needs inside the step, in the same save. A real one (Google Meet, 10 rooms a
minute) never holds up a deadline: its work runs as jobs (`adapters/
meet_jobs.py`) on worker threads while `run()` runs (inline when
`fire_due()` is driven directly, as tests do), one per kind: making rooms,
ending a round's calls, reading attendance (after each round, and once more
after the event). What is left to do is read from the event's recorded
state, so a job lost in a crash is picked up again at the event's next
deadline, or by the periodic catch-up."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from eventsourcing.persistence import IntegrityError

from datemaker.adapters.meet_attendance import Names
from datemaker.adapters.meet_jobs import Job, Lanes, RoomJobs, ThreadLanes
from datemaker.adapters.recorders import Deadline
from datemaker.application import DatingEvents
from datemaker.domain import timeline
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import UnknownEvent
from datemaker.logs import get_logger
from datemaker.rooms import Room, RoomsPort

log = get_logger(__name__)

CATCH_UP_LOOKBACK = timedelta(days=2)  # events that started this long ago may still owe attendance


class RoundClock:
    def __init__(
        self,
        app: DatingEvents,
        rooms: RoomsPort,
        *,
        clock: Callable[[], datetime] | None = None,
        batch: int = 100,
        lease_seconds: float = 30.0,
        tick_seconds: float = 0.05,
        rng: random.Random | None = None,
        on_fired: Callable[[str, float], None] | None = None,
        names: Names | None = None,
        catch_up_seconds: float = 600.0,
    ) -> None:
        self.app = app
        self.rooms = rooms
        # Ports written before these flags existed: instant, no attendance.
        self.instant: bool = getattr(rooms, "instant", True)
        self.reads_attendance: bool = getattr(rooms, "reads_attendance", False)
        self.clock = clock or app.clock
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.tick_seconds = tick_seconds
        self.catch_up_seconds = catch_up_seconds
        self._rng = rng or random.Random()
        self._on_fired = on_fired or (lambda action, skew: None)
        self.ready = asyncio.Event()
        self.alive_at = 0.0  # monotonic time of the last pass, for readiness
        self.jobs = RoomJobs(app, rooms, clock=self.clock, names=names)
        self.lanes: Lanes | None = None  # None: jobs run inline, at once
        self._queued: set[Job] = set()
        self._queued_lock = threading.Lock()
        # Events whose stored deadline is "make rooms" while a job makes them:
        # wire_id -> (their next own step, end of our lease), fired from here.
        self._watch: dict[int, tuple[datetime, datetime]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        lanes = ThreadLanes(self.run_job)
        lanes.start()
        self.lanes = lanes
        self.ready.set()
        loop = asyncio.get_running_loop()
        next_catch_up = loop.time()
        try:
            while not stop.is_set():
                self.alive_at = time.monotonic()
                if self.reads_attendance and loop.time() >= next_catch_up:
                    next_catch_up = loop.time() + self.catch_up_seconds
                    await asyncio.to_thread(self.catch_up)
                fired = await asyncio.to_thread(self.fire_due)
                if fired == 0:
                    try:
                        await asyncio.wait_for(stop.wait(), self.tick_seconds)
                    except TimeoutError:
                        pass
        finally:
            self.lanes = None
            await asyncio.to_thread(lanes.stop, self.lease_seconds)

    def fire_due(self) -> int:
        """One pass: fire every deadline due now (up to `batch`), all saved in
        one transaction; when that loses a race, one by one."""
        self._fire_watched()
        due = self.app.claim_due(self.clock(), self.lease_seconds, self.batch)
        if len(due) > 1:
            try:
                self._fire_together(due)
                return len(due)
            except IntegrityError:
                pass  # someone else changed one of them: take them one at a time
        for deadline in due:
            self.fire(deadline.wire_id, deadline.due_at)
        return len(due)

    def _fire_together(self, due: list[Deadline]) -> None:
        now = self.clock()
        fired: list[tuple[DatingEvent, datetime, list[str], list[int]]] = []
        for deadline in due:
            try:
                event = self.app.get_event(deadline.wire_id)
            except UnknownEvent:
                continue
            scheduled, taken, ended = self._step(event, now)
            fired.append((event, scheduled or deadline.due_at, taken, ended))
        changed = [event for event, *_ in fired if self._worth_saving(event)]
        if changed:
            self.app.save_logged(*changed)
        for event, due_at, taken, ended in fired:
            self._after_save(event, now, due_at, taken, ended)

    def fire(self, wire_id: int, due_at: datetime | None = None) -> list[str]:
        for _ in range(20):
            try:
                event = self.app.get_event(wire_id)
            except UnknownEvent:
                return []
            now = self.clock()
            try:
                scheduled, taken, ended = self._step(event, now)
                if self._worth_saving(event):
                    self.app.save_logged(event)  # also stores the next deadline
            except IntegrityError:
                continue  # another writer saved first: look again
            self._after_save(event, now, scheduled or due_at, taken, ended)
            return taken
        log.error("gave up firing a deadline after repeated conflicts", event_id=wire_id)
        return []

    def _step(self, event: DatingEvent, now: datetime) -> tuple[datetime | None, list[str], list[int]]:
        """Take the due steps; returns when the first was scheduled (the stored
        deadline may be an overdue "make rooms", which says nothing of skew)."""
        own = timeline.next_step(event, with_rooms=False)
        seed = self._rng.randrange(2**63)
        if self.instant:
            # One step at a time, making rooms in between: a late clock that
            # fixes the groups and starts round 1 in one go still has rooms.
            taken = []
            while True:
                self._make_rooms(event, now)
                more = event.advance(now, seed=seed, max_steps=1)
                if not more:
                    break
                taken += more
        else:
            taken = event.advance(now, seed=seed)
        ended = [e.round_no for e in event.pending_events if isinstance(e, DatingEvent.RoundEnded)]
        return (own.at if own and taken else None), taken, ended

    def _worth_saving(self, event: DatingEvent) -> bool:
        # An event waiting only for rooms a job is making has nothing to save;
        # saving would re-arm its deadline at once and spin. Its lease holds
        # it, and the watch fires its own next step on time.
        return bool(event.pending_events) or not self._waits_for_rooms(event)

    def _waits_for_rooms(self, event: DatingEvent) -> bool:
        return not self.instant and bool(event.rooms_needed())

    def _after_save(
        self, event: DatingEvent, now: datetime, due_at: datetime | None, taken: list[str], ended: list[int]
    ) -> None:
        skew = (now - due_at).total_seconds() if due_at else 0.0
        for action in taken:
            log.info("deadline fired", event_id=event.wire_id, action=action, round=event.round_no, skew_seconds=round(skew, 3))
            self._on_fired(action, skew)
        if self._waits_for_rooms(event):
            self._submit(("reserve", event.wire_id))
            step = timeline.next_step(event, with_rooms=False)
            if step is not None:
                self._watch[event.wire_id] = (step.at, now + timedelta(seconds=self.lease_seconds))
        if self.reads_attendance:
            self._queue_attendance(event)
        else:
            for round_no in ended:
                self._end_calls(event, round_no)

    def _queue_attendance(self, event: DatingEvent) -> None:
        for round_no in event.rounds_to_close():
            self._submit(("close", event.wire_id, round_no))
        if event.final_attendance_due():
            self._submit(("final", event.wire_id))

    def _fire_watched(self) -> None:
        now = self.clock()
        for wire_id, (at, lease_ends) in list(self._watch.items()):
            if lease_ends <= now or at <= now:
                del self._watch[wire_id]  # past our lease the deadline is anyone's again
                if at <= now < lease_ends:
                    self.fire(wire_id, at)

    def catch_up(self) -> None:
        """Attendance a crash left unrecorded, of events of the last days."""
        for wire_id in self.app.upcoming_wire_ids(self.clock() - CATCH_UP_LOOKBACK):
            try:
                self._queue_attendance(self.app.get_event(wire_id))
            except Exception as exc:
                log.warning("attendance catch-up failed", event_id=wire_id, error=repr(exc))

    # --- jobs -------------------------------------------------------------------

    def _submit(self, job: Job) -> None:
        with self._queued_lock:
            if job in self._queued:
                return  # already waiting or under way
            self._queued.add(job)
        lanes = self.lanes
        if lanes is None:
            self.run_job(job)
        else:
            lanes.put(job)

    def run_job(self, job: Job) -> None:
        kind, wire_id, *rest = job
        try:
            if kind == "reserve":
                self.jobs.reserve(wire_id)
            elif kind == "close":
                if self.jobs.end_calls(wire_id, *rest):
                    self._submit(("attend", wire_id, *rest))  # after the calls ended
            elif kind == "attend":
                self.jobs.record_round(wire_id, *rest)
            else:
                self.jobs.final_pass(wire_id)
        except Exception as exc:  # the event's state still says what is left to do
            log.error("room job failed", job=kind, event_id=wire_id, error=repr(exc))
        finally:
            with self._queued_lock:
                self._queued.discard(job)

    # --- an instant rooms port ------------------------------------------------

    def _make_rooms(self, event: DatingEvent, now: datetime) -> None:
        for round_no, count in sorted(event.rooms_needed().items()):
            rooms = self.rooms.reserve(count)
            event.add_rooms(round_no, [room.to_record() for room in rooms], now)
            log.info("rooms reserved", event_id=event.wire_id, round=round_no, count=len(rooms))

    def _end_calls(self, event: DatingEvent, round_no: int) -> None:
        for room in event.rooms.get(str(round_no), {}).values():
            try:
                self.rooms.end_call(Room(**room))
            except Exception as exc:  # a call left running ends when people leave
                log.warning("could not end a call", event_id=event.wire_id, round=round_no, error=repr(exc))
