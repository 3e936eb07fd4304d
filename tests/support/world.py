"""A whole event on a fake clock, in no time: the service's round clock and
outbox relay, and the bot's view of it (messages per user). Shared by the
tests that let an event run itself and then look at what it left."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from datemaker.app.dating_events import DatingEvents
from datemaker.domain.profile import Profile
from datemaker.app.outbox import OutboxRelay
from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.app.clock.round_clock import RoundClock

from .clock import FakeClock

MEN, WOMEN = [1, 2, 3], [11, 12, 13]
NEVER_CONFIRMS, NO_SHOW = 4, 13


class World:
    """The service's clock and relay, and the bot's view: messages per user."""

    def __init__(self, app: DatingEvents, clock: FakeClock, extensions=()):
        self.app, self.clock = app, clock
        self.rooms = FakeRooms(seed=1)
        self.round_clock = RoundClock(app, self.rooms, clock=clock)
        self.relay = OutboxRelay(app, publish=None, extensions=extensions)  # type: ignore[arg-type]
        self.position = 0
        self.inbox: dict[int, list[tuple[str, object]]] = defaultdict(list)
        self.message_ids: list[str] = []

    def deliver(self) -> None:
        self.position, messages = self.relay.read(self.position)
        for m in messages:
            self.inbox[m.user_id].append((m.command, m.data))
            self.message_ids.append(m.message_id)

    def run_until(self, instant) -> None:
        """Fire every deadline up to `instant`, delivering messages as they come."""
        while (due := self.app.next_due_at()) is not None and due <= instant:
            self.clock.now = max(self.clock.now, due)
            self.round_clock.fire_due()
            self.deliver()
        self.clock.now = max(self.clock.now, instant)

    def commands(self, user_id: int) -> list[str]:
        return [command for command, _ in self.inbox[user_id]]


def profile(uid: int) -> Profile:
    return Profile(sex="M" if uid < 10 else "F", birthday=date(1995, 1, 1), city="Kazan")
