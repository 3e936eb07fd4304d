"""The read-model tables the follower writes, and its tracking table.

Everything listed in READ_MODELS is derived from the event log alone: a
rebuild empties these tables and replays the log into them. The platform's
own tables are the platform's: what its bot writes into them is diverted
into datemaker's inbox (and becomes a command), and public.dating_events
keeps the rows operators inserted by hand (a rebuild brings datemaker's
events up to date and leaves the others alone)."""

from __future__ import annotations

from typing import Any

TRACKING = ("datemaker", "projection_tracking")

# Children before parents is irrelevant (no foreign keys), but keep a fixed
# order so clearing and snapshotting are deterministic.
READ_MODELS: tuple[tuple[str, str], ...] = (
    ("public", "dating_events"),
    ("public", "dating_registrations"),
    ("public", "dating_event_groups"),
    ("public", "likes"),
    ("public", "dislikes"),
    ("public", "reports"),
    ("datemaker", "event_stats"),
    ("datemaker", "round_pairs"),
    ("datemaker", "round_sit_outs"),
)

# Brought up to date by a rebuild, never emptied.
KEPT_ON_REBUILD = frozenset({("public", "dating_events")})

# What `datemaker serve` needs to find (see adapters/postgres/schema.REQUIRED_TABLES).
REQUIRED = (*READ_MODELS, TRACKING)

# Set for the length of each write transaction: the platform tables'
# triggers let datemaker's own writes through and divert everybody else's.
WRITER_SETTING = "datemaker.writer"

# The follower reads as the upstream application's name, as the
# eventsourcing library's own tracking records do.
APPLICATION_NAME = "DatingEvents"

# Held for the length of each write transaction (a batch, a whole rebuild),
# so a rebuild and live followers never interleave their writes.
WRITE_LOCK_KEY = 0x646D5F70726A77  # "dm_prjw"


def qualified(table: tuple[str, str]) -> str:
    schema, name = table
    return f"{schema}.{name}"


def clear_read_models(cur: Any) -> None:
    """Empty every read model and forget the position, inside the caller's
    transaction. DELETE, not TRUNCATE: readers keep seeing the old rows
    until the rebuild commits instead of waiting on an exclusive lock."""
    for table in READ_MODELS:
        if table not in KEPT_ON_REBUILD:
            cur.execute(f"DELETE FROM {qualified(table)}")
    cur.execute(f"DELETE FROM {qualified(TRACKING)} WHERE application_name = %s", (APPLICATION_NAME,))


def lock_writers(cur: Any) -> None:
    """Start a write transaction: one writer at a time, known as datemaker."""
    cur.execute("SELECT pg_advisory_xact_lock(%s), set_config(%s, 'projection', true)",
                (WRITE_LOCK_KEY, WRITER_SETTING))


def stored_position(cur: Any) -> int:
    cur.execute(
        f"SELECT coalesce(max(notification_id), 0) FROM {qualified(TRACKING)} WHERE application_name = %s",
        (APPLICATION_NAME,),
    )
    return int(cur.fetchone()[0])


def advance_tracking(cur: Any, last: int) -> None:
    """Record `last` as processed. The primary key (application_name,
    notification_id) refuses the same notification twice; older rows go, so
    the table holds one row per application."""
    cur.execute(
        f"INSERT INTO {qualified(TRACKING)} (application_name, notification_id) VALUES (%s, %s)",
        (APPLICATION_NAME, last),
    )
    cur.execute(
        f"DELETE FROM {qualified(TRACKING)} WHERE application_name = %s AND notification_id < %s",
        (APPLICATION_NAME, last),
    )
