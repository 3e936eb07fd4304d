"""Rows about what happened in the rounds: datemaker.round_pairs (each date
with its room, attendance and both partners' reactions),
datemaker.round_sit_outs, the platform's public.likes / dislikes / reports,
and the no-show and match counts in datemaker.event_stats. The reaction
tables hold exactly one row per accepted reaction: the bot's own inserts are
diverted into datemaker's inbox (see the inbox migration), and this is the
only writer of the rows that stand."""

from __future__ import annotations

from typing import Any

from datemaker.domain.pairing import Plan
from datemaker.projections.changes import Change
from datemaker.projections.event_rows import replace_groups, utc

REACTION_TABLES = {"like": "public.likes", "dislike": "public.dislikes"}


def started(cur: Any, change: Change) -> None:
    """The plan that actually runs (re-paired for whoever came): its groups,
    every round's dates and sit-outs, and who did not show up."""
    e, event_id = change.recorded, change.event_id
    plan = Plan.from_record(change.plan)  # Started records it only when re-paired
    replace_groups(cur, event_id, plan)
    _rounds_from(cur, event_id, plan, 1)
    cur.execute(
        "UPDATE datemaker.event_stats SET no_shows = %s, participants = %s, rounds = %s WHERE event_id = %s",
        (len(e.no_shows), len(plan.placed_user_ids), plan.rounds_count, event_id),
    )
    if e.round_no:
        _round_began(cur, change, e.round_no, e.rooms)


def participant_left(cur: Any, change: Change) -> None:
    """Someone left while the rounds ran: the rounds still to come as
    re-paired without them; the rounds already started keep their rows."""
    if change.recorded.plan is None:
        return  # no rounds still to come for their group
    plan = Plan.from_record(change.recorded.plan)
    replace_groups(cur, change.event_id, plan)
    _rounds_from(cur, change.event_id, plan, change.recorded.from_round)


def _rounds_from(cur: Any, event_id: int, plan: Plan, first: int) -> None:
    """The dates and sit-outs of rounds `first`.. as the plan has them."""
    cur.execute("DELETE FROM datemaker.round_pairs WHERE event_id = %s AND round_no >= %s", (event_id, first))
    cur.execute("DELETE FROM datemaker.round_sit_outs WHERE event_id = %s AND round_no >= %s", (event_id, first))
    rounds = range(first, plan.rounds_count + 1)
    cur.executemany(
        "INSERT INTO datemaker.round_pairs (event_id, round_no, user_a, user_b, group_no, score)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        [(event_id, n, p.a, p.b, _group_no(plan, p.a), p.score) for n in rounds for p in plan.pairs_in_round(n)],
    )
    cur.executemany(
        "INSERT INTO datemaker.round_sit_outs (event_id, round_no, user_id, reason) VALUES (%s, %s, %s, %s)",
        [(event_id, n, s.user_id, s.reason) for n in rounds for s in plan.sit_outs(n)],
    )


def round_started(cur: Any, change: Change) -> None:
    _round_began(cur, change, change.recorded.round_no, change.recorded.rooms)


def round_ended(cur: Any, change: Change) -> None:
    cur.execute(
        "UPDATE datemaker.round_pairs SET ended_at = %s WHERE event_id = %s AND round_no = %s",
        (change.at, change.event_id, change.recorded.round_no),
    )


def attendance_recorded(cur: Any, change: Change) -> None:
    """Who joined each date's call; the final reading replaces the first."""
    e = change.recorded
    rows = []
    for date in e.dates:
        a, b = sorted(int(uid) for uid in date["pair"])
        people = {int(p["user_id"]): p for p in date.get("people", [])}
        seen_a, seen_b = people.get(a, {}), people.get(b, {})
        rows.append((
            seen_a.get("status", "unknown"), seen_a.get("seconds"), seen_b.get("status", "unknown"),
            seen_b.get("seconds"), bool(e.final), change.event_id, e.round_no, a, b,
        ))
    cur.executemany(
        "UPDATE datemaker.round_pairs SET a_attendance = %s, a_seconds = %s, b_attendance = %s, b_seconds = %s,"
        " attendance_final = %s WHERE event_id = %s AND round_no = %s AND user_a = %s AND user_b = %s",
        rows,
    )


def partner_rated(cur: Any, change: Change) -> None:
    """The latest like or dislike of a partner stands (as in the aggregate);
    every report is kept, under the notification id that recorded it."""
    e, event_id = change.recorded, change.event_id
    who = (e.user_id, e.partner_id, event_id)
    for table in REACTION_TABLES.values():
        cur.execute(f"DELETE FROM {table} WHERE source_user_id = %s AND target_user_id = %s AND event_id = %s", who)
    table = REACTION_TABLES.get(e.reaction) or ("public.reports" if e.reaction == "report" else None)
    if table is not None:
        cur.execute(
            f"INSERT INTO {table} (source_user_id, target_user_id, event_id, action_time) VALUES (%s, %s, %s, %s)",
            (*who, utc(change.at)),
        )
    a, b = sorted((e.user_id, e.partner_id))
    column = "a_reaction" if e.user_id == a else "b_reaction"
    cur.execute(
        f"UPDATE datemaker.round_pairs SET {column} = %s WHERE event_id = %s AND user_a = %s AND user_b = %s",
        (e.reaction, event_id, a, b),
    )


def finished(cur: Any, change: Change) -> None:
    matches = change.recorded.matches
    cur.execute(
        "UPDATE datemaker.event_stats SET matches = %s, matched = %s WHERE event_id = %s",
        (len(matches), len({uid for pair in matches for uid in pair}), change.event_id),
    )


def _round_began(cur: Any, change: Change, round_no: int, rooms: dict[str, dict[str, str]]) -> None:
    cur.execute(
        "UPDATE datemaker.round_pairs SET started_at = %s WHERE event_id = %s AND round_no = %s",
        (change.at, change.event_id, round_no),
    )
    rows = []
    for key, room in rooms.items():
        a, b = sorted(int(uid) for uid in key.split("-"))
        rows.append((room.get("uri"), change.event_id, round_no, a, b))
    cur.executemany(
        "UPDATE datemaker.round_pairs SET room_uri = %s WHERE event_id = %s AND round_no = %s AND user_a = %s AND user_b = %s",
        rows,
    )


def _group_no(plan: Plan, user_id: int) -> int | None:
    group = plan.group_of(user_id)
    return group.number if group else None
