"""Dating events have two ids: the positive integer the bot's buttons carry
(the wire id) and the UUID of the aggregate in the event store. The mapping is
a pure function, so any instance finds an event from its wire id alone."""

from __future__ import annotations

from uuid import UUID, uuid5

_NAMESPACE = UUID("6f1c8f39-2d4e-5b7a-9a53-0d2f5f1e7c11")

CATALOG_ID = uuid5(_NAMESPACE, "event-catalog")


def event_uuid(wire_id: int) -> UUID:
    if isinstance(wire_id, bool) or not isinstance(wire_id, int) or wire_id <= 0:
        raise ValueError("a dating event's wire id is a positive integer")
    return uuid5(_NAMESPACE, f"dating-event:{wire_id}")

SCHEDULE_BOOK_ID = uuid5(_NAMESPACE, "schedule-book")
