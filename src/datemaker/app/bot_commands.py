"""Handling the bot's commands (PROTOCOL.md, bot -> datemaker) in batches.

A batch of prefetched commands is applied to fresh aggregates and saved in
ONE transaction together with every reply (group commit): the events, the
replies and the dedupe keys land together or not at all. A redelivered
command finds its stored reply and changes nothing twice.

Transport-free: the RabbitMQ adapter parses messages into `BotCommand`s and
sends back the `Answer`s."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from datemaker.app.dating_events import DatingEvents
from datemaker.app.live_states import LiveEvents
from datemaker.app.ports import BlockedRegistrants, Handled, Registering, StoreUnavailable
from datemaker.app.retry import Backoff, GaveUp, retrying
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import DomainError, NotRegistered, UnknownEvent, UserBlocked
from datemaker.domain.lifecycle import EventState
from datemaker.domain.profile import Profile
from datemaker.logs import get_logger

log = get_logger(__name__)

REPLY_KEY = {
    "register_event": "user_registered",
    "cancel_registration": "registration_cancelled",
    "confirm_registration": "registration_confirmed",
    "ready_for_event": "ready_confirmed",
    "rate_partner": "partner_rated",
    "leave_event": "left_event",
}
# The bot shows ten events: the listing holds the soonest ten one can see
# (about 2 KB; far under the 16 KiB a reply may take).
LISTED_EVENTS = 10
COMMANDS = frozenset({"list_events", *REPLY_KEY})
OPEN_FOR_REGISTRATION = (EventState.NOT_STARTED, EventState.REG_CONFIRM)
# A failing store, or another writer that saved first: the batch is redone.
BATCH_BACKOFF = Backoff(attempts=5, base=0.01, cap=0.5)
WARM_EVENTS = 64  # events kept between batches (those commands arrive for)


@dataclass(frozen=True)
class BotCommand:
    name: str
    user_id: int
    event_id: int | None = None
    partner_id: int | None = None
    reaction: str | None = None
    category: str | None = None  # a report's, from REPORT_CATEGORIES
    # Where the reply of an earlier delivery is stored; None: not stored.
    dedupe_key: str | None = None
    # Look the key up first (a stable AMQP message_id, or a redelivery).
    seen_before: bool = False


@dataclass(frozen=True)
class Answer:
    body: Any  # JSON-able
    outcome: str  # ok | refused | bad_input | error
    duplicate: bool = False

    @property
    def text(self) -> str:
        return json.dumps(self.body)

    @property
    def dead_letter(self) -> bool:
        return self.outcome in ("bad_input", "error")


def bad_input(error: str) -> Answer:
    return Answer({"success": False, "error": error}, "bad_input")


@dataclass
class _Batch:
    """Aggregates loaded once for the whole batch, changed in memory."""

    warm: LiveEvents
    loaded: dict[int, DatingEvent | None] = field(default_factory=dict)

    def event(self, wire_id: int) -> DatingEvent:
        if wire_id not in self.loaded:
            try:
                self.loaded[wire_id] = self.warm.take(wire_id)
            except UnknownEvent:
                self.loaded[wire_id] = None
        found = self.loaded[wire_id]
        if found is None:
            raise UnknownEvent(f"no dating event {wire_id}")
        return found

    def events(self, wire_ids: Sequence[int]) -> list[DatingEvent]:
        """Those that exist, loaded together (one query for the warm ones)."""
        wanted = [w for w in wire_ids if w not in self.loaded]
        if wanted:
            try:
                for found in self.warm.take_all(wanted):
                    self.loaded[found.wire_id] = found
            except UnknownEvent:  # one of them is gone: one at a time
                for wire_id in wanted:
                    self.loaded.pop(wire_id, None)
                    try:
                        self.event(wire_id)
                    except UnknownEvent:
                        pass
        return [found for w in wire_ids if (found := self.loaded.get(w)) is not None]

    def changed(self) -> list[DatingEvent]:
        return [e for e in self.loaded.values() if e is not None and e.pending_events]

    def all(self) -> list[DatingEvent]:
        return [e for e in self.loaded.values() if e is not None]


@dataclass(frozen=True)
class _Unconfirmed:
    """A batch whose save failed without telling whether it committed."""

    commands: tuple[BotCommand, ...]
    answers: list[Answer]
    last: Any  # the last change the save recorded; None: it recorded none


class BotCommandHandler:
    def __init__(
        self,
        app: DatingEvents,
        *,
        display_timezone: str = "Europe/Moscow",
        store_attempts: int = BATCH_BACKOFF.attempts,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app = app
        self.zone = ZoneInfo(display_timezone)
        self.backoff = Backoff(store_attempts, BATCH_BACKOFF.base, BATCH_BACKOFF.cap)
        self._sleep = sleep
        self._rng = random.Random()
        # Events as this handler last saved them; one handler serves one
        # consumer, a batch at a time.
        self.warm = LiveEvents(app, WARM_EVENTS)
        self._unconfirmed: _Unconfirmed | None = None

    # --- the batch ------------------------------------------------------------

    def handle(self, commands: Sequence[BotCommand]) -> list[Answer]:
        """Like `handle_batch`, but a command that fails unexpectedly (a bug)
        is isolated: the rest are handled one by one, the failing one gets an
        error answer (and is dead-lettered); the others are unaffected."""
        try:
            return self.handle_batch(commands)
        except StoreUnavailable:
            raise
        except Exception:
            if len(commands) == 1:
                log.exception("command failed", command=commands[0].name, event_id=commands[0].event_id)
                return [Answer({"success": False, "error": "internal error"}, "error")]
        return [answer for command in commands for answer in self.handle([command])]

    def handle_batch(self, commands: Sequence[BotCommand]) -> list[Answer]:
        """One answer per command, in order. Raises StoreUnavailable when the
        store failed every attempt (then nothing of the batch was saved)."""

        def store_failed(attempt: int, exc: BaseException) -> None:
            if isinstance(exc, StoreUnavailable):  # (a conflict is redone quietly, on fresh state)
                log.warning("event store error, retrying batch", attempt=attempt + 1,
                            error=type(exc.__cause__ or exc).__name__)

        try:
            return retrying(lambda: self._handle_once(commands), backoff=self.backoff,
                            on=(IntegrityError, StoreUnavailable), sleep=self._sleep, rng=self._rng,
                            on_retry=store_failed)
        except GaveUp:
            raise StoreUnavailable(f"event store failed {self.backoff.attempts} times") from None

    def _handle_once(self, commands: Sequence[BotCommand], blocked: frozenset[int] = frozenset()) -> list[Answer]:
        committed = self._committed_before(commands)
        if committed is not None:
            return committed
        try:
            return self._apply(commands, blocked)
        except BlockedRegistrants as found:  # the save saw their block: redone, answering them so
            if found.user_ids <= blocked:
                raise
            return self._handle_once(commands, blocked | found.user_ids)

    def _apply(self, commands: Sequence[BotCommand], blocked: frozenset[int]) -> list[Answer]:
        earlier = self.app.handled_replies(
            [c.dedupe_key for c in commands if c.seen_before and c.dedupe_key]
        )
        # One query for the batch; the profile is also the registration's snapshot.
        profiles = self.app.profiles(sorted({c.user_id for c in commands}))
        batch = _Batch(self.warm)
        now = self.app.clock()
        answers: list[Answer] = []
        for command in commands:
            stored = earlier.get(command.dedupe_key or "")
            if stored is not None:
                answers.append(Answer(json.loads(stored.reply), stored.outcome, duplicate=True))
            elif command.user_id not in profiles:
                answers.append(bad_input("unknown user"))
            else:
                answers.append(self._answer(command, batch, profiles, now, blocked))
        handled = [
            Handled(c.dedupe_key, a.text, a.outcome)
            for c, a in zip(commands, answers, strict=True)
            if c.dedupe_key and not a.duplicate and c.name != "list_events"
        ]
        registering = tuple(sorted({c.user_id for c, a in zip(commands, answers, strict=True)
                                    if c.name == "register_event" and a.outcome == "ok" and not a.duplicate}))
        changed = batch.changed()
        last = changed[0].pending_events[-1] if changed else None  # (a save takes them out)
        try:
            self.app.save_logged(*changed, handled=handled, registering=Registering(now, registering))
        except (StoreUnavailable, IntegrityError):
            # The commit may have happened with its answer lost on the way
            # back (the library then inserts again and meets its own rows).
            self._unconfirmed = _Unconfirmed(tuple(commands), answers, last)
            raise
        self._unconfirmed = None
        self.warm.keep(*batch.all())
        return answers

    def _committed_before(self, commands: Sequence[BotCommand]) -> list[Answer] | None:
        """The answers of the last attempt at this batch when its save did
        commit after all (its last recorded change is in the store): done
        again on the state it made, each command would be refused."""
        unconfirmed = self._unconfirmed
        if unconfirmed is None or unconfirmed.commands != tuple(commands) or unconfirmed.last is None:
            self._unconfirmed = None
            return None  # nothing recorded: doing it again answers the same
        last = unconfirmed.last
        version = last.originator_version  # (the store may still be away: then this raises)
        stored = next(iter(self.app.events.get(last.originator_id, gt=version - 1, lte=version)), None)
        self._unconfirmed = None
        if stored is None or type(stored) is not type(last) or stored.timestamp != last.timestamp:
            return None  # not saved, or another writer's change: done again on fresh state
        log.info("a batch's save had committed", size=len(commands))
        return unconfirmed.answers

    # --- one command ----------------------------------------------------------

    def _answer(self, c: BotCommand, batch: _Batch, profiles: dict[int, Profile], now: Any,
                blocked: frozenset[int]) -> Answer:
        if c.name == "list_events":
            return Answer(self._list_events(c.user_id, batch, now), "ok")
        key = REPLY_KEY[c.name]
        try:
            if c.name == "cancel_registration" and c.event_id == 0:
                self._cancel_everywhere(c.user_id, batch, now)
            else:
                event = batch.event(c.event_id or 0)
                if c.name == "register_event":
                    if c.user_id in blocked:
                        raise UserBlocked(f"user {c.user_id} is blocked")
                    event.register(c.user_id, profiles[c.user_id], now)
                elif c.name == "cancel_registration":
                    event.cancel_registration(c.user_id, now)
                elif c.name == "confirm_registration":
                    event.confirm_registration(c.user_id, now)
                elif c.name == "ready_for_event":
                    event.mark_ready(c.user_id, now)
                elif c.name == "leave_event":  # out of the rounds still to come (DatingEvent.leave)
                    event.leave(c.user_id, now, seed=self._rng.randrange(2**63))
                else:
                    event.rate(c.user_id, c.partner_id or 0, c.reaction or "", now, category=c.category)
        except DomainError as refusal:
            return Answer({key: False, "reason": refusal.reason}, "refused")
        return Answer({key: True}, "ok")

    def _cancel_everywhere(self, user_id: int, batch: _Batch, now: Any) -> None:
        """event_id 0: withdraw from every live event the user is registered in."""
        cancelled = 0
        for wire_id in self.app.upcoming_wire_ids(now - timedelta(days=1)):
            event = batch.event(wire_id)
            if event.is_registered(user_id) and not event.state.is_over:
                try:
                    event.cancel_registration(user_id, now)
                    cancelled += 1
                except DomainError:
                    continue  # already running: that registration stays
        if not cancelled:
            raise NotRegistered(f"user {user_id} has no registration to cancel")

    def _list_events(self, user_id: int, batch: _Batch, now: Any) -> list[dict[str, Any]]:
        """Events one may register for, or is registered in, soonest first:
        the first `LISTED_EVENTS`, loading as many as are still missing."""
        listing: list[dict[str, Any]] = []
        upcoming, at = self.app.upcoming_wire_ids(now), 0
        while len(listing) < LISTED_EVENTS and at < len(upcoming):
            wanted = upcoming[at : at + LISTED_EVENTS - len(listing)]
            at += len(wanted)
            listing += self._listed(user_id, batch.events(wanted))
        return listing

    def _listed(self, user_id: int, events: Sequence[DatingEvent]) -> list[dict[str, Any]]:
        listing = []
        for event in events:
            wire_id = event.wire_id
            registered = event.is_registered(user_id)
            if event.state not in OPEN_FOR_REGISTRATION and not (registered and not event.state.is_over):
                continue
            local = event.start.astimezone(self.zone)
            listing.append({
                str(wire_id): {
                    "start_time": local.strftime("%Y-%m-%d %H:%M:%S"),
                    "users_limit": event.users_limit,
                    "start": local.isoformat(),
                    "state": event.state.name,
                    "registered": registered,
                    "places_left": event.places_left,
                }
            })
        return listing
