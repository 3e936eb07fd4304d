"""Rows about a dating event and its registrations, in the platform's own
columns (PLATFORM.md): public.dating_events, public.dating_registrations,
public.dating_event_groups; and the counts in datemaker.event_stats. The
platform's timestamps without time zone hold UTC.

Each handler writes what one recorded change means, inside the follower's
transaction. Counts that can be read off the tables are recounted once per
batch (`refresh_stats`), so they always agree with the rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from datemaker.domain.pairing import Plan
from datemaker.projections.changes import Change


REG_CONFIRM = 1  # state id: registered users are asked to confirm


def utc(instant: datetime) -> datetime:
    """For the platform's TIMESTAMP (without time zone) columns: UTC."""
    return instant.astimezone(UTC).replace(tzinfo=None)


def scheduled(cur: Any, change: Change) -> None:
    # An event an operator inserted by hand keeps its row: it is brought up to date.
    e = change.recorded
    cur.execute(
        "INSERT INTO public.dating_events (id, start_dttm, users_limit, state_id, timezone, capacity, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET start_dttm = EXCLUDED.start_dttm,"
        " users_limit = EXCLUDED.users_limit, state_id = EXCLUDED.state_id, timezone = EXCLUDED.timezone,"
        " capacity = EXCLUDED.capacity, created_at = EXCLUDED.created_at",
        (change.event_id, e.start, e.users_limit, change.state_id, e.timezone, e.capacity, change.at),
    )
    cur.execute(
        "INSERT INTO datemaker.event_stats (event_id, state, start_time, updated_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (event_id) DO NOTHING",
        (change.event_id, change.state_id, e.start, change.at),
    )


def registered(cur: Any, change: Change) -> None:
    # Registering again after withdrawing starts a fresh registration; one
    # made while confirmation is open is asked to confirm at once.
    who = (change.event_id, change.recorded.user_id)
    cur.execute("DELETE FROM public.dating_registrations WHERE event_id = %s AND user_id = %s", who)
    cur.execute(
        "INSERT INTO public.dating_registrations (user_id, event_id, registered_on_dttm, confirmed_on_dttm,"
        " is_ready, confirmation_event_sent) VALUES (%s, %s, %s, NULL, false, %s)",
        (change.recorded.user_id, change.event_id, utc(change.at), change.state_id == REG_CONFIRM),
    )


def confirmation_opened(cur: Any, change: Change) -> None:
    cur.execute(
        "UPDATE public.dating_registrations SET confirmation_event_sent = true WHERE event_id = %s",
        (change.event_id,),
    )


def registration_cancelled(cur: Any, change: Change) -> None:
    cur.execute(
        "DELETE FROM public.dating_registrations WHERE event_id = %s AND user_id = %s",
        (change.event_id, change.recorded.user_id),
    )
    # A counter, not a recount: exactly-once tracking is what keeps it right.
    # (Taken out by a moderator's block is no withdrawal of the user's own.)
    if getattr(change.recorded, "reason", None) is None:
        cur.execute("UPDATE datemaker.event_stats SET withdrawn = withdrawn + 1 WHERE event_id = %s", (change.event_id,))


def registration_confirmed(cur: Any, change: Change) -> None:
    cur.execute(
        "UPDATE public.dating_registrations SET confirmed_on_dttm = %s WHERE event_id = %s AND user_id = %s",
        (utc(change.at), change.event_id, change.recorded.user_id),
    )


def marked_ready(cur: Any, change: Change) -> None:
    cur.execute(
        "UPDATE public.dating_registrations SET is_ready = true WHERE event_id = %s AND user_id = %s",
        (change.event_id, change.recorded.user_id),
    )


def confirmation_closed(cur: Any, change: Change) -> None:
    """GroupsFormed or Skipped: the groups as fixed, who got a place, and who
    never confirmed (declined) by the deadline."""
    plan = Plan.from_record(change.recorded.plan)
    replace_groups(cur, change.event_id, plan)
    cur.execute(
        "UPDATE datemaker.event_stats SET placed = %s, unplaced = %s, end_reason = %s,"
        " declined = (SELECT count(*) FROM public.dating_registrations WHERE event_id = %s"
        "   AND confirmed_on_dttm IS NULL)"
        " WHERE event_id = %s",
        (len(plan.placed_user_ids), len(plan.unplaced), getattr(change.recorded, "reason", None),
         change.event_id, change.event_id),
    )


def replanned(cur: Any, change: Change) -> None:
    """The plan made again without a blocked user (READY): its dates replace
    the groups (the counts stay those of when confirmation closed)."""
    replace_groups(cur, change.event_id, Plan.from_record(change.recorded.plan))


def cancelled(cur: Any, change: Change) -> None:
    cur.execute(
        "UPDATE datemaker.event_stats SET end_reason = %s WHERE event_id = %s",
        (change.recorded.reason, change.event_id),
    )


def replace_groups(cur: Any, event_id: int, plan: Plan) -> None:
    """One row per date of the plan: its group, its place among the group's
    dates of that round (`pair_no`, 0-based) and the round (`turn_no`, 0-based)."""
    cur.execute("DELETE FROM public.dating_event_groups WHERE event_id = %s", (event_id,))
    rows = []
    for round_no in range(1, plan.rounds_count + 1):
        placed: dict[int | None, int] = {}
        for pair in plan.pairs_in_round(round_no):
            group = plan.group_of(pair.a)
            group_no = group.number if group else None
            pair_no = placed[group_no] = placed.get(group_no, -1) + 1
            rows.append((event_id, group_no, pair_no, round_no - 1, pair.a, pair.b))
    cur.executemany(
        "INSERT INTO public.dating_event_groups (event_id, group_no, pair_no, turn_no, user_1_id, user_2_id)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        rows,
    )


def refresh_stats(cur: Any, event_id: int, state_id: int, at: datetime) -> None:
    """The event's state and every count that the tables hold, after a batch."""
    cur.execute("UPDATE public.dating_events SET state_id = %s WHERE id = %s", (state_id, event_id))
    cur.execute(
        "UPDATE datemaker.event_stats s SET state = %(state)s, updated_at = %(at)s,"
        " registered = r.registered, confirmed = r.confirmed, ready = r.ready,"
        " likes = (SELECT count(*) FROM public.likes WHERE event_id = %(id)s),"
        " dislikes = (SELECT count(*) FROM public.dislikes WHERE event_id = %(id)s),"
        " reports = (SELECT count(*) FROM public.reports WHERE event_id = %(id)s)"
        " FROM (SELECT count(*) AS registered, count(*) FILTER (WHERE confirmed_on_dttm IS NOT NULL) AS confirmed,"
        "       count(*) FILTER (WHERE is_ready) AS ready"
        "       FROM public.dating_registrations WHERE event_id = %(id)s) r"
        " WHERE s.event_id = %(id)s",
        {"state": state_id, "at": at, "id": event_id},
    )
