"""What the platform writes into its own tables, as commands (PLATFORM.md):
the bot answers "I am ready" with an UPDATE of dating_registrations and
reacts to a partner with an INSERT into likes, dislikes or reports; operators
create events with an INSERT into dating_events. The database turns each such
write into a row of datemaker's inbox in the writer's own transaction; this
takes the rows (under a lease, so two instances never take the same one) and
applies them to the events with the same rules as the bot's commands. The
rows taken go in the same transaction as the events they record: a crash
before it leaves them for the next taker, a crash after leaves nothing to do.
A refusal records nothing in the event; the row is kept among the refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from datemaker.app.dating_events import DatingEvents
from datemaker.app.ports import BlockedRegistrants, PlatformWrite, Registering
from datemaker.domain.catalog import EventCatalog
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import DomainError, UnknownEvent
from datemaker.domain.timings import Timings
from datemaker.logs import get_logger

log = get_logger(__name__)

REACTIONS = frozenset({"like", "dislike", "report"})


class PlatformWrites:
    def __init__(
        self,
        app: DatingEvents,
        *,
        display_timezone: str,
        batch: int = 500,
        lease_seconds: float = 30.0,
        clock: Callable[[], datetime] | None = None,
        confirm_reminder: int | None = None,
    ) -> None:
        self.app = app
        self.timezone = display_timezone  # of events operators insert by hand
        # Their timings: the defaults, with the reminder of DATEMAKER_CONFIRM_REMINDER.
        self.timings = Timings() if confirm_reminder is None else Timings(confirm_reminder=confirm_reminder)
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.clock = clock or app.clock

    def take(self) -> int:
        """Apply what the inbox holds (up to `batch` rows); returns how many were taken."""
        now = self.clock()
        writes = self.app.store.claim_platform_writes(now, now + timedelta(seconds=self.lease_seconds), self.batch)
        if writes:
            self.app.with_retries(lambda: self._apply(writes, frozenset()))
        return len(writes)

    def _apply(self, writes: list[PlatformWrite], blocked: frozenset[int]) -> None:
        # Applied at the time of taking, as a bot command is at its handling
        # (a press reaches the history within a second of its write).
        now = self.clock()
        events: dict[int, DatingEvent | None] = {}
        catalog: list[EventCatalog] = []  # loaded when an event is adopted
        taken: list[tuple[PlatformWrite, str | None]] = []
        adopted_now: list[DatingEvent] = []
        for write in writes:
            try:
                if write.kind == "adopt":
                    adopted = self._adopt(write, events, catalog, blocked)
                    if adopted is not None:
                        events[write.event_id] = adopted
                        adopted_now.append(adopted)
                else:
                    self._command(write, self._event(write.event_id, events), now)
                taken.append((write, None))
            except DomainError as refusal:
                taken.append((write, refusal.reason))
                log.info("platform write refused", kind=write.kind, event_id=write.event_id, reason=refusal.reason)
        changed = [e for e in events.values() if e is not None and e.pending_events]
        # An adopted event's registrations are checked against the blocks
        # in the save; a blocked user's row is left out on the second try.
        registering = tuple(sorted({int(u) for e in adopted_now for u in e.registrations}))
        try:
            self.app.save_logged(*catalog, *changed, platform_done=taken, registering=Registering(now, registering))
        except BlockedRegistrants as found:
            if found.user_ids <= blocked:
                raise
            self._apply(writes, blocked | found.user_ids)

    def _event(self, wire_id: int, events: dict[int, DatingEvent | None]) -> DatingEvent:
        if wire_id not in events:
            try:
                events[wire_id] = self.app.get_event(wire_id)
            except UnknownEvent:
                events[wire_id] = None
        found = events[wire_id]
        if found is None:
            raise UnknownEvent(f"no dating event {wire_id}")
        return found

    def _command(self, write: PlatformWrite, event: DatingEvent, at: datetime) -> None:
        if write.kind == "ready":
            event.mark_ready(write.user_id or 0, at)
        elif write.kind in REACTIONS:
            user_id, partner_id = write.user_id or 0, write.partner_id or 0
            if event.reaction(user_id, partner_id) == write.kind and write.kind != "report":
                raise Unchanged("the same reaction again")  # a second press of one button
            event.rate(user_id, partner_id, write.kind, at)
        else:
            raise UnknownWrite(f"unknown platform write {write.kind!r}")

    def _adopt(self, write: PlatformWrite, events: dict[int, DatingEvent | None],
               catalog: list[EventCatalog], blocked: frozenset[int]) -> DatingEvent | None:
        """An operator's event becomes a dating event under its own id, with
        the registrations its rows already hold; once only."""
        if not catalog:
            catalog.append(self.app.catalog() or EventCatalog())
        if catalog[0].has(write.event_id):
            return None  # adopted already (or datemaker's own, projected)
        start = write.start or self.clock()
        event = DatingEvent.schedule(wire_id=write.event_id, start=start.astimezone(UTC), timezone=self.timezone,
                                     users_limit=write.users_limit or 20, timings=self.timings)
        catalog[0].add(write.event_id, start.astimezone(UTC))
        registered = self.app.store.platform_registrations(write.event_id)
        profiles = self.app.profiles([uid for uid, _ in registered])
        for user_id, at in registered:
            if user_id in profiles and user_id not in blocked and not event.is_registered(user_id):
                event.register(user_id, profiles[user_id], at)
        log.info("operator's event adopted", event_id=write.event_id, registrations=len(event.registrations))
        return event


class Unchanged(DomainError):
    reason = "unchanged"


class UnknownWrite(DomainError):
    reason = "unknown_write"
