"""The round clock: fires every dating event's deadlines on time, durably.

Each save of an event stores its next deadline in the same transaction
(`DatingEvents.save`). The clock leases due deadlines (several instances
never take the same one; a dead instance's lease runs out and another takes
over), lets the aggregate take every step that is due and saves. A deadline
that passed while no clock ran fires late, once: taking a step changes the
state, and optimistic concurrency lets only one of two racing writers save it.

Rooms: an instant rooms port (the in-process fake) makes the rooms an event
needs inside the step, in the same save. A real one (Google Meet, 10 rooms a
minute) never holds up a deadline: its work runs as jobs (`room_jobs.py`)
on worker threads while `run()` runs (inline when
`fire_due()` is driven directly, as tests do), one per kind: taking rooms
from the pool of rooms made ahead, making rooms, ending a round's calls, reading attendance (after each round, and once more
after the event). What is left to do is read from the event's recorded
state, so a job lost in a crash is picked up again at the event's next
deadline, or by the periodic catch-up."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta

from eventsourcing.persistence import IntegrityError

from datemaker.app.clock.failing import FailingEvents, pass_failed
from datemaker.app.clock.plans_ahead import PlansAhead
from datemaker.app.clock.room_jobs import Job, Lanes, RoomJobs, ThreadLanes, Work, end_round_calls, make_rooms_now
from datemaker.app.clock.save_pipeline import SavePipeline, Stepped
from datemaker.app.dating_events import DatingEvents, TooMuchContention
from datemaker.app.live_states import LiveEvents
from datemaker.app.pause import when_set
from datemaker.app.ports import Names, RoomPool, RoomsPort, StoreUnavailable
from datemaker.app.retry import Backoff
from datemaker.domain import timeline
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import UnknownEvent
from datemaker.domain.pairing import assignment
from datemaker.logs import get_logger

log = get_logger(__name__)

CATCH_UP_LOOKBACK = timedelta(days=2)  # events that started this long ago may still owe attendance
PREPARE_SLICE_SECONDS = 0.02
OUTAGE_BACKOFF = Backoff(base=0.1, cap=0.5)  # while the store does not answer (each try waits for it too)


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
        on_step_failed: Callable[[str], None] | None = None,
        names: Names | None = None,
        catch_up_seconds: float = 600.0,
        pool: RoomPool | None = None,
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
        self.outages, self.pass_failures = 0, 0  # passes the store did not answer; passes that raised
        self.failing = FailingEvents(app, self._rng, on_step_failed)
        self.jobs = RoomJobs(app, rooms, clock=self.clock, names=names, pool=pool)
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
        # step with one query for the whole batch; over ones are let go.
        self._known = LiveEvents(app, kept)
        self._plans = PlansAhead(self._rng, app)
        self._pipeline = SavePipeline(self._save, self._settle)

    async def run(self, stop: asyncio.Event) -> None:
        lanes = ThreadLanes(self.run_job)
        lanes.start()
        self.lanes = lanes
        await asyncio.to_thread(assignment.load)  # not at the first deadline that pairs
        self.ready.set()
        # The clock keeps its own thread: it sleeps until the next deadline
        # instead of waiting for the event loop's turn.
        halt = threading.Event()
        relay = asyncio.create_task(when_set(stop, halt.set))
        try:
            await asyncio.to_thread(self._run_until, halt)
        finally:
            halt.set()
            relay.cancel()
            self.lanes = None
            await asyncio.to_thread(lanes.stop, self.lease_seconds)

    def _run_until(self, halt: threading.Event) -> None:
        next_catch_up = next_claim = time.monotonic()
        failures = 0
        while not halt.is_set():
            self.alive_at = time.monotonic()
            try:
                if self.reads_attendance and self.alive_at >= next_catch_up:
                    next_catch_up = self.alive_at + self.catch_up_seconds
                    self.catch_up()
                self._fire_watched()
                if self._fire_staged(self.clock()):
                    failures = 0
                    continue  # more may be due already
                if time.monotonic() >= next_claim:
                    next_claim = time.monotonic() + self.tick_seconds
                    if self._claim(ahead=self.lookahead_seconds) >= self.batch:
                        next_claim = 0.0  # a backlog: ask again at once
                    failures = 0
                    continue
                if self._prepare_some(PREPARE_SLICE_SECONDS):
                    continue
            except Exception as exc:  # a database restart is routine, a bug in one pass no reason to stop
                failures += 1
                self.outages += isinstance(exc, StoreUnavailable)
                self.pass_failures += not isinstance(exc, StoreUnavailable)
                pass_failed(exc, failures)
                halt.wait(max(0.05, OUTAGE_BACKOFF.delay(min(failures, 6), self._rng)))
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
        self._load([d.wire_id for d in due])
        if ahead:
            self._plans.want([d.wire_id for d in due if d.action == timeline.CLOSE_CONFIRMATION])
        return len(due)

    def _prepare_some(self, budget: float) -> bool:
        """Work out plans for confirmations about to close, for about `budget`
        seconds; True while some are left."""
        return self._plans.work(budget, self._still_staged)

    def _still_staged(self, wire_ids: list[int]) -> list[DatingEvent]:
        events = [e for w in wire_ids if w in self._staged and (e := self._known.peek(w)) is not None]
        self.app.brought_up_to_date(events)
        return events

    def _seconds_to_next(self) -> float:
        if not self._staged:
            return self.tick_seconds
        return max((min(self._staged.values()) - self.clock()).total_seconds(), 0.0)

    def _fire_staged(self, now: datetime) -> int:
        """Fire what is due, `batch` events per transaction, pipelined."""
        due = sorted((at, wire_id) for wire_id, at in self._staged.items() if at <= now)
        for _, wire_id in due:
            del self._staged[wire_id]
        batches = [[(wire_id, at) for at, wire_id in due[start : start + self.batch]]
                   for start in range(0, len(due), self.batch)]
        try:
            self._pipeline.run(lambda batch=batch: self._take_steps(batch) for batch in batches)
        except StoreUnavailable:
            # Staged again, to be fired once the store answers; what was saved
            # already has nothing left to do then, and the rest is loaded afresh.
            for at, wire_id in due:
                self._staged.setdefault(wire_id, at)
            raise
        return len(due)

    def _load(self, wire_ids: list[int]) -> None:
        for wire_id in self._known.load(wire_ids):
            self._staged.pop(wire_id, None)  # no such event any more

    def _remember(self, event: DatingEvent) -> None:
        if event.state.is_over:
            self._known.forget(event.wire_id)
        else:
            self._known.keep(event)

    def _take_steps(self, due: list[tuple[int, datetime]]) -> Stepped | None:
        self._load([wire_id for wire_id, _ in due])
        due = [(wire_id, at) for wire_id, at in due if wire_id in self._known]
        if not due:
            return None
        now = self.clock()
        began = time.perf_counter()
        events = self._known.take_all([wire_id for wire_id, _ in due])  # back in only once saved
        fired, stepped_due = [], []
        for event, deadline in zip(events, due, strict=True):
            try:
                fired.append((event, *self._step(event, now)))
            except (StoreUnavailable, IntegrityError):
                raise
            except Exception as exc:  # one event's failing step never holds up the others
                self._staged[event.wire_id] = self.failing.quarantine(event.wire_id, exc, now)
                continue
            stepped_due.append(deadline)
        if not fired:
            return None
        changed = [event for event, *_ in fired if self._worth_saving(event)]
        return Stepped(stepped_due, now, fired, changed, time.perf_counter() - began)

    def _save(self, stepped: Stepped) -> None:
        began = time.perf_counter()
        if stepped.changed:
            self.app.save_logged(*stepped.changed)
        log.info("deadlines fired", events=len(stepped.fired), saved=len(stepped.changed),
                 steps_ms=round(stepped.seconds * 1000, 1), save_ms=round((time.perf_counter() - began) * 1000, 1))

    def _settle(self, stepped: Stepped, saving: Future[None]) -> None:
        try:
            saving.result()
        except IntegrityError:
            # Someone else changed one of them: take them one at a time, fresh.
            for wire_id, at in stepped.due:
                self.fire(wire_id, at)
            return
        for (event, scheduled, taken, ended), (_, at) in zip(stepped.fired, stepped.due, strict=True):
            self.failing.recovered(event.wire_id)
            self._remember(event)
            self._after_save(event, stepped.now, scheduled or at, taken, ended)

    def fire(self, wire_id: int, due_at: datetime | None = None) -> list[str]:
        """Fire one event's due steps on fresh state, again while another
        writer saves it first."""

        def attempt() -> tuple[DatingEvent, datetime, tuple[datetime | None, list[str], list[int]]] | None:
            try:
                event = self.app.get_event(wire_id)
            except UnknownEvent:
                return None
            now = self.clock()
            stepped = self._step(event, now)
            if self._worth_saving(event):
                self.app.save_logged(event)  # also stores the next deadline
            return event, now, stepped

        try:
            fired = self.app.with_retries(attempt)
        except TooMuchContention:
            log.error("gave up firing a deadline after repeated conflicts", event_id=wire_id)
            return []
        except StoreUnavailable:
            raise
        except Exception as exc:  # as in a batch: this event later, the others now
            self._staged[wire_id] = self.failing.quarantine(wire_id, exc, self.clock())
            return []
        if fired is None:
            return []
        event, now, (scheduled, taken, ended) = fired
        self._remember(event)
        self._after_save(event, now, scheduled or due_at, taken, ended)
        return taken

    def _step(self, event: DatingEvent, now: datetime) -> tuple[datetime | None, list[str], list[int]]:
        """Take the due steps; returns when the first was scheduled (the stored
        deadline may be an overdue "make rooms", which says nothing of skew)."""
        own = timeline.next_step(event, with_rooms=False)
        seed, prepared, never_meet = self._plans.take(event)
        if self.instant:
            # One step at a time, making rooms before each: a late clock that
            # fixes the groups and starts round 1 in one go still has rooms.
            # Rooms wanted after the last step are made in a pass of their own
            # right after this one is saved, not holding up its commit.
            taken = []
            while (step := timeline.next_step(event, with_rooms=False)) is not None and step.at <= now:
                make_rooms_now(self.rooms, event, now)
                more = event.advance(now, seed=seed, never_meet=never_meet, max_steps=1, prepared=prepared)
                if not more:
                    break
                taken += more
            if not taken:
                make_rooms_now(self.rooms, event, now)
        else:
            taken = event.advance(now, seed=seed, never_meet=never_meet, prepared=prepared)
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
            self._submit(Job(self.jobs.first_work, event.wire_id))
            step = timeline.next_step(event, with_rooms=False)
            if step is not None:
                self._watch[event.wire_id] = (step.at, now + timedelta(seconds=self.lease_seconds))
        if self.reads_attendance:
            self._queue_attendance(event)
        else:
            for round_no in ended:
                end_round_calls(self.rooms, event, round_no)

    def _queue_attendance(self, event: DatingEvent) -> None:
        for round_no in event.rounds_to_close():
            self._submit(Job(Work.CLOSE, event.wire_id, round_no))
        if event.final_attendance_due():
            self._submit(Job(Work.FINAL, event.wire_id))

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

    @property
    def room_work_waiting(self) -> bool:  # rooms taken or made for a plan (ends and reads spend other quotas)
        with self._queued_lock:
            return any(job.work in (Work.TAKE, Work.RESERVE) for job in self._queued)

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
        try:
            follow_ups = self.jobs.run(job)
        except Exception as exc:  # the event's state still says what is left to do
            log.error("room job failed", job=str(job.work), event_id=job.wire_id, error=repr(exc))
            follow_ups = []
        finally:
            with self._queued_lock:
                self._queued.discard(job)
        for follow_up in follow_ups:
            self._submit(follow_up)
