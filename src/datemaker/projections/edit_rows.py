"""An operator's edit in the platform's rows (PLATFORM.md): the event's
public.dating_events row takes the new start, group size, zone and capacity
(the bot lists and shows the event from it), and confirmations reset by a
move are cleared from public.dating_registrations.

Written inside the follower's transaction, as datemaker (`datemaker.writer`):
the inbox's trigger on dating_events takes only inserts, and lets
datemaker's own writes through, so an edit never comes back as an
operator's event to adopt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from datemaker.projections.changes import Change

# Edited field -> the column of public.dating_events that shows it.
COLUMNS = {"start": "start_dttm", "users_limit": "users_limit", "timezone": "timezone", "capacity": "capacity"}


def edited(cur: Any, change: Change) -> None:
    changes = change.recorded.changes
    new = {name: values[1] for name, values in changes.items() if name in COLUMNS}
    if "start" in new:
        new["start"] = datetime.fromisoformat(new["start"])
        cur.execute(
            "UPDATE datemaker.event_stats SET start_time = %s WHERE event_id = %s", (new["start"], change.event_id)
        )
    if new:
        # Column names come from COLUMNS alone, never from the record.
        sets = ", ".join(f"{COLUMNS[name]} = %s" for name in new)
        cur.execute(f"UPDATE public.dating_events SET {sets} WHERE id = %s", (*new.values(), change.event_id))


def confirmations_reset(cur: Any, change: Change) -> None:
    """Nobody counts as confirmed any more; everyone was asked again."""
    cur.execute(
        "UPDATE public.dating_registrations SET confirmed_on_dttm = NULL, confirmation_event_sent = true"
        " WHERE event_id = %s",
        (change.event_id,),
    )
