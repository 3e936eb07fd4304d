"""Which handler writes what for each kind of recorded change, applied in
log order inside one transaction. Kinds without a handler (rooms made ahead,
the rules reminder, kinds added later) change nothing but the event's state
and its `updated_at`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from datemaker.projections import edit_rows, event_rows, round_rows
from datemaker.projections.changes import Change

Handler = Callable[[Any, Change], None]

HANDLERS: dict[str, Handler] = {
    "Scheduled": event_rows.scheduled,
    "Registered": event_rows.registered,
    "ConfirmationOpened": event_rows.confirmation_opened,
    "RegistrationCancelled": event_rows.registration_cancelled,
    "RegistrationConfirmed": event_rows.registration_confirmed,
    "MarkedReady": event_rows.marked_ready,
    "GroupsFormed": event_rows.confirmation_closed,
    "Skipped": event_rows.confirmation_closed,
    "Replanned": event_rows.replanned,
    "ParticipantLeft": round_rows.participant_left,
    "Cancelled": event_rows.cancelled,
    "Edited": edit_rows.edited,
    "ConfirmationsReset": edit_rows.confirmations_reset,
    "Started": round_rows.started,
    "RoundStarted": round_rows.round_started,
    "RoundEnded": round_rows.round_ended,
    "AttendanceRecorded": round_rows.attendance_recorded,
    "PartnerRated": round_rows.partner_rated,
    "Finished": round_rows.finished,
}

# Kinds that only move the event's state (refreshed after every batch) or
# concern nobody's analytics; listed so a new kind is a decision, not an accident.
STATE_ONLY = frozenset({"RulesAnnounced", "RoomsReserved", "StepFailed", "StepsResumed", "ConfirmationReminded"})


def apply_changes(cur: Any, changes: Iterable[Change]) -> None:
    latest: dict[int, Change] = {}
    for change in changes:
        handler = HANDLERS.get(change.kind)
        if handler is not None:
            handler(cur, change)
        latest[change.event_id] = change
    for event_id, change in sorted(latest.items()):
        event_rows.refresh_stats(cur, event_id, change.state_id, change.at)
