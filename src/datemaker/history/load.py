"""One dating event's history from the store, whole or as it was at an
instant: the state of the last version recorded by then, and the timeline
up to that version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from datemaker.app.dating_events import DatingEvents
from datemaker.domain.dating_event import DatingEvent
from datemaker.history.timeline import Entry, build_timeline, until, version_at


class BeforeTheEvent(ValueError):
    """The instant asked for comes before the event's first recorded change."""


@dataclass(frozen=True)
class History:
    event: DatingEvent  # the state after the last entry
    entries: list[Entry]
    as_of: datetime | None  # the instant asked for (in the event's zone), None: now

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.event.timezone)

    @property
    def version(self) -> int:
        return self.entries[-1].version if self.entries else 0


def load_history(app: DatingEvents, wire_id: int, at: datetime | None = None) -> History:
    """Raises UnknownEvent for an unknown id, BeforeTheEvent when `at` comes
    before the event existed. An `at` without offset is read in the event's zone."""
    event = app.get_event(wire_id)
    zone = ZoneInfo(event.timezone)
    entries = build_timeline(app.history(wire_id), zone)
    if at is None:
        return History(event, entries, None)
    instant = (at.replace(tzinfo=zone) if at.tzinfo is None else at).astimezone(zone)
    version = version_at(entries, instant)
    if version is None:
        first = f" (first recorded {entries[0].at:%Y-%m-%d %H:%M:%S %z})" if entries else ""
        raise BeforeTheEvent(f"event {wire_id} did not exist yet at {instant:%Y-%m-%d %H:%M:%S %z}{first}")
    return History(app.get_event(wire_id, version=version), until(entries, version), instant)
