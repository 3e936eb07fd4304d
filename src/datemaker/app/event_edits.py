"""An operator edits a dating event (`datemaker events edit`): the event
records what changed, by whom and when (`DatingEvent.edit`), and a new
start moves the event in the catalog's index of starts in the same
transaction, so `list_events` shows the new time at once. Retried on fresh
state when another writer saved the event (or the catalog) first.

Everything else follows from the recorded change: the round clock's next
deadline is stored with the save, the outbox asks everyone again when
confirmations were reset, and the analytics follower brings the platform's
`public.dating_events` row up to date (its own write: no operator's insert
to adopt)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventsourcing.domain import Aggregate

from datemaker.app.dating_events import DatingEvents


def edit_event(app: DatingEvents, wire_id: int, requested: Mapping[str, Any], by: str) -> dict[str, list[Any]]:
    """Apply `requested` ({field: new value}) to the event; returns what
    changed as {field: [old, new]} (empty: nothing did, nothing recorded).
    A refusal raises the event's DomainError and records nothing."""

    def attempt() -> dict[str, list[Any]]:
        event = app.get_event(wire_id)
        changes = event.edit(requested, by, app.clock())
        if not changes:
            return {}
        saved: list[Aggregate] = [event]
        catalog = app.catalog() if "start" in changes else None
        if catalog is not None and catalog.has(wire_id):
            catalog.move(wire_id, event.start)
            saved.append(catalog)
        app.save_logged(*saved)  # one transaction
        return changes

    return app.with_retries(attempt)
