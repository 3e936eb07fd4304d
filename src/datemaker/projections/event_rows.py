"""Rows about a dating event and its registrations: public.dating_events,
public.dating_registrations, public.dating_event_groups and the counts in
datemaker.event_stats.

Each handler writes what one recorded change means, inside the follower's
transaction. Counts that can be read off the tables are recounted once per
batch (`refresh_stats`), so they always agree with the rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from datemaker.domain.pairing import Plan
from datemaker.projections.changes import Change


def scheduled(cur: Any, change: Change) -> None:
    e = change.recorded
    cur.execute(
        "INSERT INTO public.dating_events (id, start_time, users_limit, state, timezone, capacity, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET start_time = EXCLUDED.start_time,"
        " users_limit = EXCLUDED.users_limit, state = EXCLUDED.state, timezone = EXCLUDED.timezone,"
        " capacity = EXCLUDED.capacity, created_at = EXCLUDED.created_at",
        (change.event_id, e.start, e.users_limit, change.state_id, e.timezone, e.capacity, change.at),
    )
    cur.execute(
        "INSERT INTO datemaker.event_stats (event_id, state, start_time, updated_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (event_id) DO NOTHING",
        (change.event_id, change.state_id, e.start, change.at),
    )


def registered(cur: Any, change: Change) -> None:
    # Registering again after withdrawing starts a fresh registration.
    cur.execute(
        "INSERT INTO public.dating_registrations (event_id, user_id, registered_at) VALUES (%s, %s, %s)"
        " ON CONFLICT (event_id, user_id) DO UPDATE SET registered_at = EXCLUDED.registered_at,"
        " confirmed = false, confirmed_at = NULL, ready = false, ready_at = NULL, no_show = false",
        (change.event_id, change.recorded.user_id, change.at),
    )


def registration_cancelled(cur: Any, change: Change) -> None:
    cur.execute(
        "DELETE FROM public.dating_registrations WHERE event_id = %s AND user_id = %s",
        (change.event_id, change.recorded.user_id),
    )
    # A counter, not a recount: exactly-once tracking is what keeps it right.
    cur.execute("UPDATE datemaker.event_stats SET withdrawn = withdrawn + 1 WHERE event_id = %s", (change.event_id,))


def registration_confirmed(cur: Any, change: Change) -> None:
    cur.execute(
        "UPDATE public.dating_registrations SET confirmed = true, confirmed_at = %s WHERE event_id = %s AND user_id = %s",
        (change.at, change.event_id, change.recorded.user_id),
    )


def marked_ready(cur: Any, change: Change) -> None:
    cur.execute(
        "UPDATE public.dating_registrations SET ready = true, ready_at = %s WHERE event_id = %s AND user_id = %s",
        (change.at, change.event_id, change.recorded.user_id),
    )


def confirmation_closed(cur: Any, change: Change) -> None:
    """GroupsFormed or Skipped: the groups as fixed, who got a place, and who
    never confirmed (declined) by the deadline."""
    plan = Plan.from_record(change.recorded.plan)
    replace_groups(cur, change.event_id, plan)
    cur.execute(
        "UPDATE datemaker.event_stats SET placed = %s, unplaced = %s, end_reason = %s,"
        " declined = (SELECT count(*) FROM public.dating_registrations WHERE event_id = %s AND NOT confirmed)"
        " WHERE event_id = %s",
        (len(plan.placed_user_ids), len(plan.unplaced), getattr(change.recorded, "reason", None),
         change.event_id, change.event_id),
    )


def cancelled(cur: Any, change: Change) -> None:
    cur.execute(
        "UPDATE datemaker.event_stats SET end_reason = %s WHERE event_id = %s",
        (change.recorded.reason, change.event_id),
    )


def replace_groups(cur: Any, event_id: int, plan: Plan) -> None:
    cur.execute("DELETE FROM public.dating_event_groups WHERE event_id = %s", (event_id,))
    cur.executemany(
        "INSERT INTO public.dating_event_groups (event_id, group_no, user_id) VALUES (%s, %s, %s)",
        [(event_id, group.number, uid) for group in plan.groups for uid in group.user_ids],
    )


def refresh_stats(cur: Any, event_id: int, state_id: int, at: datetime) -> None:
    """The event's state and every count that the tables hold, after a batch."""
    cur.execute("UPDATE public.dating_events SET state = %s WHERE id = %s", (state_id, event_id))
    cur.execute(
        "UPDATE datemaker.event_stats s SET state = %(state)s, updated_at = %(at)s,"
        " registered = r.registered, confirmed = r.confirmed, ready = r.ready,"
        " likes = (SELECT count(*) FROM public.likes WHERE event_id = %(id)s),"
        " dislikes = (SELECT count(*) FROM public.dislikes WHERE event_id = %(id)s),"
        " reports = (SELECT count(*) FROM public.reports WHERE event_id = %(id)s)"
        " FROM (SELECT count(*) AS registered, count(*) FILTER (WHERE confirmed) AS confirmed,"
        "       count(*) FILTER (WHERE ready) AS ready"
        "       FROM public.dating_registrations WHERE event_id = %(id)s) r"
        " WHERE s.event_id = %(id)s",
        {"state": state_id, "at": at, "id": event_id},
    )
