"""The pair history behind the "never again" rules (step 0009): written with
the events of a save, and asked for the people of events about to be planned."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.sql import SQL, Identifier

from datemaker.app.ports import DatesHeld, PairFact, ReactionGiven


def select_pair_history(curs: Any, schema: Identifier, user_ids: Sequence[int], remeet_events: int) -> list[PairFact]:
    """Reports and dislikes among `user_ids`, and the dates of each one's last
    `remeet_events` events with a date (one query)."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    sql = SQL(
        "SELECT CASE reaction WHEN 'report' THEN 'report' ELSE 'dislike' END AS kind, event_id, user_id, partner_id"
        " FROM {schema}.pair_reactions"
        " WHERE user_id = ANY(%(ids)s) AND partner_id = ANY(%(ids)s) AND reaction IN ('dislike', 'report')"
    ).format(schema=schema)
    if remeet_events > 0:
        sql += SQL(
            " UNION ALL SELECT 'met', r.event_id, r.user_id, partner FROM (SELECT user_id, event_id, partners,"
            "   row_number() OVER (PARTITION BY user_id ORDER BY started_at DESC, event_id DESC) AS n"
            "   FROM {schema}.pair_dates WHERE user_id = ANY(%(ids)s)) r, unnest(r.partners) AS partner"
            " WHERE r.n <= %(n)s AND partner = ANY(%(ids)s)"
        ).format(schema=schema)
    curs.execute(sql, {"ids": ids, "n": remeet_events})
    return [PairFact(r["kind"], r["event_id"], r["user_id"], r["partner_id"]) for r in curs.fetchall()]


def write_pair_history(curs: Any, schema: Identifier, dates: Sequence[DatesHeld],
                       reactions: Sequence[ReactionGiven]) -> None:
    """One row of dates per person and event; a reaction replaces the earlier
    one (the last of a batch wins: an upsert may not touch a row twice)."""
    if dates:
        curs.execute(
            SQL(
                "INSERT INTO {schema}.pair_dates (user_id, event_id, partners, started_at)"
                " SELECT u, e, p::bigint[], s FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[])"
                "   AS x(u, e, p, s)"
                " ON CONFLICT DO NOTHING"
            ).format(schema=schema),
            ([d.user_id for d in dates], [d.event_id for d in dates],
             ["{" + ",".join(map(str, d.partners)) + "}" for d in dates], [d.started_at for d in dates]),
        )
    latest = list({(r.user_id, r.partner_id, r.event_id): r for r in reactions}.values())
    if latest:
        curs.execute(
            SQL(
                "INSERT INTO {schema}.pair_reactions (user_id, partner_id, event_id, reaction, at)"
                " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[])"
                " ON CONFLICT (user_id, partner_id, event_id) DO UPDATE"
                " SET reaction = EXCLUDED.reaction, at = EXCLUDED.at"
            ).format(schema=schema),
            ([r.user_id for r in latest], [r.partner_id for r in latest], [r.event_id for r in latest],
             [r.reaction for r in latest], [r.at for r in latest]),
        )
