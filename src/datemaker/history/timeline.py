"""A dating event's recorded domain events as timeline entries: one per
version, with its time in the event's own zone and every recorded field as a
JSON-safe value. Nothing here knows the event types, so a type added later
still shows up, with all of its fields."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

# Bookkeeping the library puts on every event; the entry carries it otherwise.
_LIBRARY_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
# Keys of an entry's own; a recorded field with one of these names is kept
# under "field_<name>" so it never overwrites them.
RESERVED_KEYS = ("version", "at", "recorded_at", "type")


@dataclass(frozen=True)
class Entry:
    version: int
    at: datetime  # business time: the event's own `at` when it has one, else when it was stored
    recorded_at: datetime  # when the library created the event (wall clock)
    type: str  # the event's class name, e.g. "Registered"
    fields: dict[str, Any]  # JSON-safe: str, int, float, bool, None, lists, dicts

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape: {version, at, recorded_at, type, ...fields}."""
        head = {
            "version": self.version,
            "at": self.at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "type": self.type,
        }
        return {**head, **self.fields}

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


def jsonable(value: Any, zone: ZoneInfo) -> Any:
    """A recorded value as plain JSON data; instants shown in `zone`."""
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value, zone)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, zone) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, zone) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _recorded_fields(recorded: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(recorded):
        names = [f.name for f in dataclasses.fields(recorded)]
    else:  # not expected from the library, but never lose data over it
        names = [n for n in vars(recorded) if not n.startswith("_")]
    # A field added later is missing from events recorded before it.
    return {n: getattr(recorded, n) for n in names if n not in _LIBRARY_FIELDS and hasattr(recorded, n)}


def to_entry(recorded: Any, zone: ZoneInfo) -> Entry:
    raw = _recorded_fields(recorded)
    stamp: datetime = recorded.timestamp
    at = raw.pop("at", None)
    when = at if isinstance(at, datetime) and at.tzinfo else stamp
    fields = {}
    for name, value in raw.items():
        key = f"field_{name}" if name in RESERVED_KEYS else name
        fields[key] = jsonable(value, zone)
    return Entry(
        version=int(recorded.originator_version),
        at=when.astimezone(zone),
        recorded_at=stamp.astimezone(zone),
        type=type(recorded).__name__,
        fields=fields,
    )


def build_timeline(recorded: Iterable[Any], zone: ZoneInfo) -> list[Entry]:
    """Entries oldest version first."""
    return sorted((to_entry(r, zone) for r in recorded), key=lambda e: e.version)


def version_at(entries: Sequence[Entry], instant: datetime) -> int | None:
    """The last version whose time is at or before `instant` (None: the event
    did not exist yet). Times are business times, which different writers'
    clocks may leave slightly out of order; the state of that version still
    includes every earlier version, so those are shown with it."""
    found = [e.version for e in entries if e.at <= instant]
    return max(found) if found else None


def until(entries: Sequence[Entry], version: int) -> list[Entry]:
    return [e for e in entries if e.version <= version]
