"""The application service: loads a dating event, runs one domain command on
it and saves what it recorded, retrying against fresh state when another
writer saved the same event first (optimistic concurrency).

Persistence is chosen by the `env` given to the constructor (see
`adapters.event_store.persistence_env`); the recorder it picks also answers
the store port (`ports.StoreRecorder`). The clock and the retry pause are
injected so tests never wait on real time."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from datemaker.app.never_again import NeverAgain, NeverAgainRules, pair_history_to_save
from datemaker.app.ports import BlockedRegistrants, BlockRow, Deadline, Handled, Registering, StoreRecorder, Summary
from datemaker.app.retry import Backoff, GaveUp, retrying
from datemaker.domain.catalog import EventCatalog, starting_after
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import UnknownEvent, UserBlocked
from datemaker.domain.ids import CATALOG_ID, event_uuid
from datemaker.app.platform_profiles import profile_from_row
from datemaker.domain.profile import Profile
from datemaker.domain.standing import UserStanding
from datemaker.domain.timeline import next_step
from datemaker.domain.timings import Timings
from datemaker.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class TooMuchContention(Exception):
    """Every retry lost the race to another writer of the same event."""


# Conflicting saves of one event: tried again soon, on fresh state.
CONFLICT_BACKOFF = Backoff(attempts=12, base=0.005, cap=0.25)


class DatingEvents(Application[Any]):
    name = "DatingEvents"
    # A snapshot of an event with thousands of registrations is megabytes;
    # one per 500 changes keeps loading fast without taxing every batch.
    snapshotting_intervals = {DatingEvent: 500, EventCatalog: 50}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Clock = utc_now,
        retry: Backoff = CONFLICT_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._starts_index: tuple[int, list[tuple[datetime, int]]] = (0, [])  # (catalog version, by_start)
        # False where a follower of the log takes the dating events' snapshots
        # (`snapshot_if_due`): one of a big event takes tens of milliseconds,
        # which would otherwise land on a command's reply.
        self.snapshots_on_save = True
        self.never_again = NeverAgainRules()  # set from the settings at start

    @property
    def store(self) -> StoreRecorder:
        """The recorder, as the store port (what the use cases ask of it)."""
        return cast(StoreRecorder, self.recorder)

    # --- queries ------------------------------------------------------------

    def get_event(self, wire_id: int, version: int | None = None) -> DatingEvent:
        try:
            aggregate = self.repository.get(event_uuid(wire_id), version=version)
        except (AggregateNotFoundError, ValueError):
            raise UnknownEvent(f"no dating event {wire_id}") from None
        assert isinstance(aggregate, DatingEvent)
        return aggregate

    def brought_up_to_date(self, events: Sequence[DatingEvent]) -> None:
        """Apply to these in-memory events whatever other writers saved since
        they were loaded (one query for all of them)."""
        if len(events) == 1:  # the library's own range query: the cheaper one for a single event
            for newer in self.events.get(events[0].id, gt=events[0].version):
                newer.mutate(events[0])
            return
        by_id = {event.id: event for event in events}
        stored = self.store.select_events_after([(e.id, e.version) for e in events])
        for record in stored:
            domain_event = self.mapper.to_domain_event(record)
            domain_event.mutate(by_id[domain_event.originator_id])

    def history(self, wire_id: int) -> list[Any]:
        """Every domain event the dating event recorded, oldest first."""
        self.get_event(wire_id)  # raise UnknownEvent before returning nothing
        return list(self.events.get(event_uuid(wire_id)))

    def list_events(self, include_over: bool = False) -> list[DatingEvent]:
        """Dating events by start, soonest first; finished ones only on request."""
        catalog = self._catalog()
        if catalog is None:
            return []
        events = [self.get_event(wire_id) for wire_id in catalog.wire_ids()]
        if not include_over:
            events = [e for e in events if not e.state.is_over]
        return sorted(events, key=lambda e: (e.start, e.wire_id))

    # --- commands -----------------------------------------------------------

    def schedule_event(
        self,
        *,
        start: datetime,
        timezone: str,
        users_limit: int = 20,
        capacity: int | None = None,
        timings: Timings | None = None,
        ready_check: bool = True,
        along: Callable[[int], Sequence[Aggregate] | None] | None = None,
    ) -> int:
        """Create a dating event under the next free wire id; return that id.

        `along(wire_id)`, when given, returns aggregates to save in the same
        transaction (a schedule rule marking its occurrence made), or None to
        make nothing after all (then 0 is returned). It runs again on retry."""

        # From the platform's sequence when there is one: unique by itself, so
        # it is kept across retries (the catalog's next id is not).
        drawn = self.store.next_event_id()

        def attempt() -> int:
            catalog = self._catalog() or EventCatalog()
            wire_id = drawn or catalog.next_wire_id()
            others = along(wire_id) if along is not None else ()
            if others is None:
                return 0
            dating_event = DatingEvent.schedule(
                wire_id=wire_id,
                start=start,
                timezone=timezone,
                users_limit=users_limit,
                capacity=capacity,
                timings=timings,
                ready_check=ready_check,
            )
            catalog.add(wire_id, start.astimezone(UTC))
            self.save_logged(catalog, dating_event, *others)  # one transaction
            return wire_id

        return self._with_retries(attempt)

    def register(self, wire_id: int, user_id: int, profile: Profile) -> None:
        """UserBlocked when a moderator's block holds (checked in the save)."""

        def attempt() -> None:
            dating_event, now = self.get_event(wire_id), self.clock()
            dating_event.register(user_id, profile, now)
            self.save_logged(dating_event, registering=Registering(now, (user_id,)))

        try:
            self._with_retries(attempt)
        except BlockedRegistrants:
            raise UserBlocked(f"user {user_id} is blocked") from None

    def cancel_registration(self, wire_id: int, user_id: int) -> None:
        self.change(wire_id, lambda e: e.cancel_registration(user_id, self.clock()))

    def confirm_registration(self, wire_id: int, user_id: int) -> None:
        self.change(wire_id, lambda e: e.confirm_registration(user_id, self.clock()))

    def open_confirmation(self, wire_id: int) -> None:
        self.change(wire_id, lambda e: e.open_confirmation(self.clock()))

    def close_confirmation(self, wire_id: int, seed: int | None = None) -> None:
        """Fix the groups and rounds (READY) or skip the event (SKIPPED)."""
        seed = self._rng.randrange(2**63) if seed is None else seed
        self.change(wire_id, lambda e: e.close_confirmation(self.clock(), seed, NeverAgain(self).when_read(e)))

    def cancel_event(self, wire_id: int, reason: str = "operator") -> None:
        self.change(wire_id, lambda e: e.cancel(self.clock(), reason))

    def change(self, wire_id: int, command: Callable[[DatingEvent], T]) -> T:
        """Run `command` on fresh state and save; retry when a writer beat us.

        A DomainError from the command propagates and nothing is saved."""

        def attempt() -> T:
            dating_event = self.get_event(wire_id)
            result = command(dating_event)
            self.save_logged(dating_event)
            return result

        return self._with_retries(attempt)

    # --- bot command support ------------------------------------------------

    def profiles(self, user_ids: Sequence[int]) -> dict[int, Profile]:
        """Pairing profiles of the platform's known users among `user_ids`."""
        return {int(row[0]): profile_from_row(row) for row in self.store.platform_users(list(user_ids))}

    def seed_platform_users(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """(id, username, sex, birthday, city, rating, manual_score) rows, for the demo."""
        self.store.seed_platform_users(rows)

    def platform_names(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        """Each user's platform name and username, to recognise them in a room."""
        return self.store.platform_names(user_ids) if user_ids else {}

    def handled_replies(self, keys: Sequence[str]) -> dict[str, Handled]:
        return self.store.handled_replies(list(keys))

    def forget_handled_before(self, seconds: int) -> int:
        return self.store.forget_handled_before(seconds)

    def catalog_wire_ids(self) -> list[int]:
        catalog = self._catalog()
        return catalog.wire_ids() if catalog else []

    def upcoming_wire_ids(self, after: datetime) -> list[int]:
        """Events that start after `after`, soonest first, from an index of
        the catalog's starts kept until the catalog changes."""
        catalog = self._catalog()
        if catalog is None:
            return []
        if self._starts_index[0] != catalog.version:
            self._starts_index = (catalog.version, catalog.by_start())
        return starting_after(self._starts_index[1], after)

    # --- internals ----------------------------------------------------------

    def _take_snapshots(self, processing_event: Any) -> None:
        """At most one snapshot per aggregate per save, of its state in memory.

        The library's default reloads the aggregate for every multiple of the
        interval a save crosses, which a batch of hundreds of events makes
        costly; the saved aggregate in hand already is that state."""
        if self.snapshots is None:
            return
        crossed: dict[Any, Any] = {}
        for domain_event in processing_event.events:
            aggregate = processing_event.aggregates.get(domain_event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate)) if aggregate else None
            if isinstance(aggregate, DatingEvent) and not self.snapshots_on_save:
                continue
            if interval and domain_event.originator_version % interval == 0:
                crossed[aggregate.id] = aggregate
        if crossed:
            try:
                self.snapshots.put(
                    [getattr(type(a), "Snapshot", self.snapshot_class).take(a) for a in crossed.values()]
                )
            except IntegrityError:
                pass  # a follower took it first: the same state

    def snapshot_if_due(self, event: DatingEvent) -> bool:
        """A snapshot of `event` as it is now, when its version is a multiple
        of the interval; for a follower that rebuilds each state in log order."""
        interval = self.snapshotting_intervals[DatingEvent]
        if self.snapshots is None or event.version % interval:
            return False
        try:
            self.snapshots.put([DatingEvent.Snapshot.take(event)])
        except IntegrityError:
            return False  # taken already (on save, or by a follower before)
        return True

    def catalog(self) -> EventCatalog | None:
        return self._catalog()

    def with_retries(self, attempt: Callable[[], T]) -> T:
        """Run `attempt` again on fresh state while it loses races to other writers."""
        return self._with_retries(attempt)

    def _catalog(self) -> EventCatalog | None:
        try:
            catalog = self.repository.get(CATALOG_ID)
        except AggregateNotFoundError:
            return None
        assert isinstance(catalog, EventCatalog)
        return catalog

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Every save of a dating event also stores its next deadline and the pair
        history it makes (never_again.py), in the same transaction (domain/timeline.py)."""
        deadlines, summaries, blocks = [], [], []
        for obj in objs:
            if isinstance(obj, DatingEvent):
                step = next_step(obj)
                deadlines.append(Deadline(obj.wire_id, step.at if step else None, step.action if step else ""))
                summaries.append(Summary(obj.wire_id, int(obj.state), obj.active_dates,
                                         self.clock() if obj.state.is_over else None))
            elif isinstance(obj, UserStanding):  # the blocks table goes with the standing
                held, until = obj.held_block
                blocks.append(BlockRow(obj.user_id, held, until, obj.blocks[-1]["reason"] if held else ""))
        kwargs.update(deadlines=deadlines, summaries=summaries, blocks=blocks, **pair_history_to_save(objs))
        if not all(isinstance(obj, Aggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        # The library's save, less its runtime Protocol checks on each object
        # (a tenth of the round clock's time per event); all are aggregates.
        processing_event: ProcessingEvent[Any] = ProcessingEvent()
        for aggregate in objs:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        processing_event.saved_kwargs["people"] = [  # whose data each event holds (README, Privacy)
            (e.user_id, processing_event.aggregates[e.originator_id].wire_id)
            for e in processing_event.events if isinstance(e, DatingEvent.Registered)]
        prepare = getattr(self.mapper, "prepare", None)  # the sealing mapper's: keys in one query
        if prepare is not None:
            prepare(processing_event.events)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def overview(self) -> dict[str, Any]:
        """Counts by state, running dates, outbox lag (see StoreGauges)."""
        found: dict[str, Any] = self.store.overview()
        found["oldest_unpublished_age"] = 0.0
        if found["head"] > found["position"]:
            first = self.recorder.select_notifications(start=found["position"] + 1, limit=1)
            if first:
                recorded = self.mapper.to_domain_event(first[0])
                found["oldest_unpublished_age"] = max((self.clock() - recorded.timestamp).total_seconds(), 0.0)
        return found

    def ping(self) -> None:
        """Raises when the event store does not answer (once: not the library's ten tries)."""
        self.store.next_due_at()

    def claim_due(self, now: datetime, lease_seconds: float, limit: int) -> list[Deadline]:
        return self.store.claim_due(now, now + timedelta(seconds=lease_seconds), limit)

    def next_due_at(self) -> datetime | None:
        return self.store.next_due_at()

    def outbox_position(self, name: str) -> int:
        return self.store.outbox_position(name)

    def set_outbox_position(self, name: str, position: int) -> None:
        self.store.set_outbox_position(name, position)

    def save_logged(self, *aggregates: Any, **kwargs: Any) -> None:
        """Save, then log one line per recorded dating-event change."""
        wire_ids = {a.id: a.wire_id for a in aggregates if isinstance(a, DatingEvent)}
        for recording in self.save(*aggregates, **kwargs):
            domain_event = recording.domain_event
            if domain_event.originator_id in wire_ids:
                fields = {
                    name: getattr(domain_event, key)
                    for key, name in (("user_id", "user_id"), ("state", "state"), ("reason", "reason"),
                                      ("round_no", "round"), ("phase", "phase"))
                    if hasattr(domain_event, key)
                }
                log.info(
                    "recorded",
                    event_id=wire_ids[domain_event.originator_id],
                    event_type=type(domain_event).__name__,
                    version=domain_event.originator_version,
                    **fields,
                )

    def _with_retries(self, attempt: Callable[[], T]) -> T:
        try:
            return retrying(attempt, backoff=self.retry, on=(IntegrityError,), sleep=self._sleep, rng=self._rng)
        except GaveUp:
            raise TooMuchContention(f"gave up after {self.retry.attempts} conflicting saves") from None
