"""Reading the notification log as changes to dating events.

Recorded events carry only what changed, not which event (wire id) they
belong to, so each dating event's state is rebuilt alongside as the log is
read, as the outbox relay does (`outbox.py`). A change keeps the few values
it needs from that state at that moment: the state object itself is mutated
by the next event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.utils import TopicError

from datemaker.app.dating_events import DatingEvents
from datemaker.domain.dating_event import DatingEvent
from datemaker.app.live_states import LiveEvents
from datemaker.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Change:
    """One recorded event of one dating event, with its context."""

    notification_id: int
    event_id: int  # the wire id
    kind: str  # the recorded event's class name: "Registered", "Started", ...
    recorded: Any  # the domain event
    state_id: int  # the dating event's state right after it
    plan: Any  # the event's plan record right after it (None before groups are formed)
    at: datetime  # when it happened: its `at` when it has one, else its timestamp


@dataclass(frozen=True)
class Batch:
    """Changes read from the log after `after`, up to and including `last`
    (which may be past the last change: other aggregates' notifications)."""

    after: int
    last: int
    changes: tuple[Change, ...]


class ChangeReader:
    def __init__(self, app: DatingEvents, *, states_kept: int = 10_000, takes_snapshots: bool = False) -> None:
        self.app = app
        self._states = LiveEvents(app, states_kept)
        self.takes_snapshots = takes_snapshots  # each state is at hand right after its event

    def read(self, after: int, limit: int) -> Batch:
        notifications = self.app.recorder.select_notifications(start=after + 1, limit=limit)
        changes: list[Change] = []
        last = after
        for notification in notifications:
            last = notification.id
            try:
                recorded = self.app.mapper.to_domain_event(notification)
                if not isinstance(recorded, DatingEvent.Event):
                    continue  # the catalog and other aggregates
                state = self._states.after(recorded)
                if self.takes_snapshots:
                    self.app.snapshot_if_due(state)
            except TopicError:
                # Written by a newer datemaker: this event, and the later ones
                # of its dating event (whose state cannot be rebuilt), are
                # passed over rather than stopping the follower for good.
                log.warning("unknown event type skipped", topic=notification.topic, notification_id=last)
                continue
            changes.append(
                Change(
                    notification_id=notification.id,
                    event_id=state.wire_id,
                    kind=type(recorded).__name__,
                    recorded=recorded,
                    state_id=state.state_id,
                    plan=state.plan,
                    at=getattr(recorded, "at", None) or recorded.timestamp,
                )
            )
        return Batch(after=after, last=last, changes=tuple(changes))
