"""The outbox relay: turns the event log into bot messages.

It follows the event store's notification log from the position it stored,
rebuilds each dating event's state alongside (so every message is computed
from the state right after the event that calls for it), publishes the
messages with publisher confirms and only then stores its new position. A
crash in between publishes the same messages again under the same stable
message ids, which the bot can drop. One relay publishes at a time: the
others wait for the leadership lock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection

from datemaker.app.bot_messages import Outgoing, messages_for
from datemaker.app.dating_events import DatingEvents
from datemaker.app.leadership import lead
from datemaker.app.live_states import LiveEvents
from datemaker.app.pause import pause
from datemaker.app.ports import Leadership, SoleLeader, StoreUnavailable
from datemaker.domain.dating_event import DatingEvent
from datemaker.logs import get_logger

log = get_logger(__name__)

POSITION_NAME = "bot"
OUTBOX_LOCK_KEY = 0x646D5F6F7574  # the advisory lock one relay holds
ENDINGS = {"Finished": "finished", "Skipped": "skipped", "Cancelled": "cancelled"}
# Messages upon which the platform's bot reads its tables (PLATFORM.md).
READ_BACK = frozenset({"confirm_registration", "send_ready_for_event_request", "send_match_message"})


class OutboxRelay:
    def __init__(
        self,
        app: DatingEvents,
        publish: Callable[[list[Outgoing]], Awaitable[None]],
        *,
        extensions: Collection[str] = (),
        leadership: Leadership | None = None,
        chunk: int = 2000,
        tick_seconds: float = 0.05,
        quiet_seconds: float = 0.03,
        max_hold_seconds: float = 0.3,
        states_kept: int = 10_000,
        on_event_ended: Callable[[str], None] | None = None,
        after_projection: bool = False,
    ) -> None:
        self.app = app
        self._publish = publish
        self.extensions = frozenset(extensions)
        self.leadership = leadership or SoleLeader()
        self.chunk = chunk
        self.tick_seconds = tick_seconds
        self.quiet_seconds = quiet_seconds
        self.max_hold_seconds = max_hold_seconds
        self._states = LiveEvents(app, states_kept)
        self.published = 0
        self._on_event_ended = on_event_ended or (lambda outcome: None)
        self._ended: list[str] = []  # outcomes read but not yet relayed
        # The bot reads the platform tables when some messages arrive (the
        # event to confirm, the matches, the row its "I am ready" updates):
        # such a message, and what follows it, goes out only once the
        # analytics follower wrote the rows of the change that called for it.
        self.after_projection = after_projection
        self.held_for = 0  # the notification a read stopped at, waiting for the follower

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await lead(self.leadership, stop, self._relay)  # or stand by while another instance relays
            except StoreUnavailable as exc:  # a database restart: from the stored position again
                failures += 1
                log.warning("event store unavailable; the relay tries again", attempt=failures,
                            error=type(exc.__cause__ or exc).__name__)
                await pause(stop, min(0.1 * 2**failures, 5.0))

    async def _relay(self, stop: asyncio.Event) -> None:
        position = await asyncio.to_thread(self.app.outbox_position, POSITION_NAME)
        log.info("relaying the event log to the bot", position=position)
        while not stop.is_set():
            if await asyncio.to_thread(self.app.recorder.max_notification_id) == position:
                await pause(stop, self.tick_seconds)
                continue
            if self.held_for and await asyncio.to_thread(self.app.store.projected_position) < self.held_for:
                await pause(stop, self.tick_seconds)  # not read again (and reloaded) until it may go
                continue
            await self._let_burst_settle(stop)
            last, messages = await asyncio.to_thread(self.read, position)
            if last == position:  # held back until the platform rows are written
                await pause(stop, self.tick_seconds)
                continue
            if not await asyncio.to_thread(self.leadership.still_held):
                log.warning("outbox leadership lost")
                return
            if messages:
                await self._publish(messages)
                self.published += len(messages)
            await asyncio.to_thread(self.app.set_outbox_position, POSITION_NAME, last)
            position = last
            for outcome in self._ended:  # counted once, by the relay that published them
                self._on_event_ended(outcome)
            self._ended.clear()

    async def _let_burst_settle(self, stop: asyncio.Event) -> None:
        """At a round boundary the clock commits hundreds of events in a few
        batches; relaying them while it does takes CPU and database time
        from it. Start once the log has been still for a moment (holding
        back at most `max_hold_seconds` when it never is)."""
        head = await asyncio.to_thread(self.app.recorder.max_notification_id)
        held = 0.0
        while held < self.max_hold_seconds and not stop.is_set():
            await pause(stop, self.quiet_seconds)
            held += self.quiet_seconds
            newer = await asyncio.to_thread(self.app.recorder.max_notification_id)
            if newer == head:
                return
            head = newer

    def read(self, position: int) -> tuple[int, list[Outgoing]]:
        """Messages for the notifications after `position`, and the last id
        read: up to the first whose messages need platform rows not yet written."""
        notifications = self.app.recorder.select_notifications(start=position + 1, limit=self.chunk)
        projected = self.app.store.projected_position() if self.after_projection else None
        messages: list[Outgoing] = []
        last = position
        self._ended.clear()
        self.held_for = 0
        for notification in notifications:
            recorded = self.app.mapper.to_domain_event(notification)
            if isinstance(recorded, DatingEvent.Event):
                event = self._states.after(recorded)
                found = messages_for(recorded, event, self.extensions)
                if projected is not None and notification.id > projected and READ_BACK & {m.command for m in found}:
                    self.held_for = notification.id  # read again once projected (the state is reloaded then)
                    break
                messages += found
                outcome = ENDINGS.get(type(recorded).__name__)
                if outcome:
                    self._ended.append(outcome)
            last = notification.id
        return last, messages
