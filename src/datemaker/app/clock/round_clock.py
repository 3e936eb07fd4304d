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
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.persistence import IntegrityError

from datemaker.domain.attendance import Names
from datemaker.app.clock.room_jobs import Job, Lanes, RoomJobs, ThreadLanes
from datemaker.app.dating_events import DatingEvents
from datemaker.domain import timeline
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import UnknownEvent
from datemaker.domain.pairing import Plan, assignment
from datemaker.logs import get_logger
from datemaker.domain.rooms import Room, RoomsPort

log = get_logger(__name__)

CATCH_UP_LOOKBACK = timedelta(days=2)  # events that started this long ago may still owe attendance
PREPARE_SLICE_SECONDS = 0.02
PREPARE_CHUNK = 20


@dataclass
class _Stepped:
    """A batch of events that took their steps and waits to be saved."""

    due: list[tuple[int, datetime]]
    now: datetime
    fired: list[tuple[DatingEvent, datetime | None, list[str], list[int]]]  # event, scheduled, taken, ended
    changed: list[DatingEvent]
    seconds: float


class RoundClock:
    def __init__(
        self,
        app: DatingEvents,
        rooms: RoomsPort,
        *,
        clock: Callable[[], datetime] | None = None,
        batch: int = 200,
        lease_seconds: float = 30.0,
        tick_seconds: float = 0.1,
        lookahead_seconds: float = 1.0,
        kept: int = 10_000,
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
        self.batch = batch  # events saved per transaction
        self.lease_seconds = lease_seconds
        self.tick_seconds = tick_seconds  # how often the deadlines table is asked
        self.lookahead_seconds = lookahead_seconds
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
        # Deadlines leased ahead of time (wire_id -> due), fired when due: the
        # work of loading an event is done before its deadline, not after.
        self._staged: dict[int, datetime] = {}
        # Events as this clock last saw them, brought up to date before each
        # step with one query for the whole batch.
        self._known: OrderedDict[int, DatingEvent] = OrderedDict()
        self._kept = kept
        # Closing confirmation runs the pairing engine, the costliest step;
        # it is worked out in the lookahead and used when, at the deadline,
        # the event is still at the version it was worked out on.
        self._to_prepare: list[int] = []
        self._prepared: dict[int, tuple[int, int, Plan]] = {}  # wire_id -> (version, seed, plan)
        self._saver = ThreadPoolExecutor(1, thread_name_prefix="clock-save")

    async def run(self, stop: asyncio.Event) -> None:
        lanes = ThreadLanes(self.run_job)
        lanes.start()
        self.lanes = lanes
        await asyncio.to_thread(assignment.load)  # not at the first deadline that pairs
        self.ready.set()
        # The clock keeps its own thread: it sleeps until the next deadline
        # instead of waiting for the event loop's turn.
        halt = threading.Event()
        relay = asyncio.create_task(_when_set(stop, halt.set))
        try:
            await asyncio.to_thread(self._run_until, halt)
        finally:
            halt.set()
            relay.cancel()
            self.lanes = None
            await asyncio.to_thread(lanes.stop, self.lease_seconds)

    def _run_until(self, halt: threading.Event) -> None:
        next_catch_up = next_claim = time.monotonic()
        while not halt.is_set():
            self.alive_at = time.monotonic()
            if self.reads_attendance and self.alive_at >= next_catch_up:
                next_catch_up = self.alive_at + self.catch_up_seconds
                self.catch_up()
            self._fire_watched()
            if self._fire_staged(self.clock()):
                continue  # more may be due already
            if time.monotonic() >= next_claim:
                next_claim = time.monotonic() + self.tick_seconds
                if self._claim(ahead=self.lookahead_seconds) >= self.batch:
                    next_claim = 0.0  # a backlog: ask again at once
                continue
            if self._prepare_some(PREPARE_SLICE_SECONDS):
                continue
            halt.wait(min(self._seconds_to_next(), max(next_claim - time.monotonic(), 0.0)))

    def fire_due(self) -> int:
        """One pass: fire every deadline due now (up to `batch` per
        transaction); when a save loses a race, its events one by one."""
        self._fire_watched()
        self._claim(ahead=0.0)
        return self._fire_staged(self.clock())

    def look_ahead(self) -> int:
        """Lease and load what falls due within the lookahead, and work out
        the plans of confirmations about to close (`run()` does this in
        slices between deadlines); `fire_due()` fires them when due."""
        claimed = self._claim(ahead=self.lookahead_seconds)
        self._prepare_some(float("inf"))
        return claimed

    def _claim(self, ahead: float) -> int:
        """Lease the deadlines due within `ahead` seconds and load their events."""
        due = self.app.claim_due(self.clock() + timedelta(seconds=ahead), self.lease_seconds, self.batch * 5)
        for deadline in due:
            self._staged[deadline.wire_id] = deadline.due_at
        self._load([d.wire_id for d in due if d.wire_id not in self._known])
        if ahead:
            self._to_prepare += [d.wire_id for d in due if d.action == timeline.CLOSE_CONFIRMATION]
        return len(due)

    def _prepare_some(self, budget: float) -> bool:
        """Work out plans for confirmations about to close, for about `budget`
        seconds (due deadlines must not wait); True while some are left."""
        until = time.monotonic() + budget
        while self._to_prepare and time.monotonic() < until:
            chunk, self._to_prepare = self._to_prepare[:PREPARE_CHUNK], self._to_prepare[PREPARE_CHUNK:]
            events = [self._known[w] for w in chunk if w in self._known and w in self._staged]
            self.app.brought_up_to_date(events)
            for event in events:
                seed = self._rng.randrange(2**63)
                plan = event.plan_for(seed)
                plan.record  # made now, not at the deadline
                self._prepared[event.wire_id] = (event.version, seed, plan)
        return bool(self._to_prepare)

    def _seconds_to_next(self) -> float:
        if not self._staged:
            return self.tick_seconds
        return max((min(self._staged.values()) - self.clock()).total_seconds(), 0.0)

    def _fire_staged(self, now: datetime) -> int:
        """Fire what is due, `batch` events per transaction. While one batch is
        being saved, the next one takes its steps (the save mostly waits for
        PostgreSQL): a boundary shared by many events ends sooner."""
        due = sorted((at, wire_id) for wire_id, at in self._staged.items() if at <= now)
        for _, wire_id in due:
            del self._staged[wire_id]
        saving: tuple[_Stepped, Future[None]] | None = None
        try:
            for start in range(0, len(due), self.batch):
                stepped = self._take_steps([(wire_id, at) for at, wire_id in due[start : start + self.batch]])
                if saving is not None:
                    self._settle(*saving)
                    saving = None
                if stepped is not None:
                    saving = (stepped, self._saver.submit(self._save, stepped))
        finally:
            if saving is not None:
                self._settle(*saving)
        return len(due)

    def _load(self, wire_ids: list[int]) -> None:
        for wire_id in wire_ids:
            try:
                self._remember(self.app.get_event(wire_id))
            except UnknownEvent:
                self._staged.pop(wire_id, None)

    def _remember(self, event: DatingEvent) -> None:
        self._known[event.wire_id] = event
        self._known.move_to_end(event.wire_id)
        if event.state.is_over:
            del self._known[event.wire_id]
        while len(self._known) > self._kept:
            self._known.popitem(last=False)

    def _take_steps(self, due: list[tuple[int, datetime]]) -> _Stepped | None:
        self._load([wire_id for wire_id, _ in due if wire_id not in self._known])
        due = [(wire_id, at) for wire_id, at in due if wire_id in self._known]
        events = [self._known.pop(wire_id) for wire_id, _ in due]  # back in only once saved
        if not events:
            return None
        now = self.clock()
        began = time.perf_counter()
        self.app.brought_up_to_date(events)
        fired = [(event, *self._step(event, now)) for event in events]
        changed = [event for event in events if self._worth_saving(event)]
        return _Stepped(due, now, fired, changed, time.perf_counter() - began)

    def _save(self, stepped: _Stepped) -> None:
        began = time.perf_counter()
        if stepped.changed:
            self.app.save_logged(*stepped.changed)
        log.info("deadlines fired", events=len(stepped.fired), saved=len(stepped.changed),
                 steps_ms=round(stepped.seconds * 1000, 1), save_ms=round((time.perf_counter() - began) * 1000, 1))

    def _settle(self, stepped: _Stepped, saving: Future[None]) -> None:
        try:
            saving.result()
        except IntegrityError:
            # Someone else changed one of them: take them one at a time, fresh.
            for wire_id, at in stepped.due:
                self.fire(wire_id, at)
            return
        for (event, scheduled, taken, ended), (_, at) in zip(stepped.fired, stepped.due):
            self._remember(event)
            self._after_save(event, stepped.now, scheduled or at, taken, ended)

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
            self._remember(event)
            self._after_save(event, now, scheduled or due_at, taken, ended)
            return taken
        log.error("gave up firing a deadline after repeated conflicts", event_id=wire_id)
        return []

    def _step(self, event: DatingEvent, now: datetime) -> tuple[datetime | None, list[str], list[int]]:
        """Take the due steps; returns when the first was scheduled (the stored
        deadline may be an overdue "make rooms", which says nothing of skew)."""
        own = timeline.next_step(event, with_rooms=False)
        seed = self._rng.randrange(2**63)
        prepared = None
        version, prepared_seed, plan = self._prepared.pop(event.wire_id, (0, 0, None))
        if plan is not None and version == event.version:
            seed, prepared = prepared_seed, plan
        if self.instant:
            # One step at a time, making rooms before each: a late clock that
            # fixes the groups and starts round 1 in one go still has rooms.
            # Rooms wanted after the last step are made in a pass of their own
            # right after this one is saved, not holding up its commit.
            taken = []
            while (step := timeline.next_step(event, with_rooms=False)) is not None and step.at <= now:
                self._make_rooms(event, now)
                more = event.advance(now, seed=seed, max_steps=1, prepared=prepared)
                if not more:
                    break
                taken += more
            if not taken:
                self._make_rooms(event, now)
        else:
            taken = event.advance(now, seed=seed, prepared=prepared)
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
        if self.instant and taken and event.rooms_needed():
            self._staged[event.wire_id] = now  # the rooms pass, at once
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


async def _when_set(event: asyncio.Event, then: Callable[[], None]) -> None:
    await event.wait()
    then()
