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


def standing_uuid(user_id: int) -> UUID:
    """A user's standing with the moderators: one aggregate per platform user."""
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
        raise ValueError("a platform user id is a positive integer")
    return uuid5(_NAMESPACE, f"user-standing:{user_id}")


def report_id(event_id: int, reporter: int, reported: int) -> str:
    """A report's stable id: there is at most one per reporter, partner and event."""
    return f"{event_id}-{reporter}-{reported}"


def parse_report_id(text: str) -> tuple[int, int, int]:
    """(event id, reporter, reported); ValueError when `text` is not a report id."""
    parts = text.strip().split("-")
    if len(parts) != 3 or not all(p.isdigit() and p[0] != "0" for p in parts):
        raise ValueError(f"{text!r} is not a report id such as 17-42-43 (event-reporter-reported)")
    event_id, reporter, reported = (int(p) for p in parts)
    if reporter == reported:
        raise ValueError(f"{text!r} is not a report id: one cannot report oneself")
    return event_id, reporter, reported
