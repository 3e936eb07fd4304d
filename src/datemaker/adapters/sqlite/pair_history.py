"""The pair history of the embedded store (the "never again" rules): the
same two tables and the same query as PostgreSQL's (step 0009), in SQLite's
words. Ids go in as one JSON array, so an event of 10,000 people needs no
10,000 placeholders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from datemaker.app.ports import DatesHeld, PairFact, ReactionGiven

PAIR_HISTORY_TABLES = (
    "CREATE TABLE IF NOT EXISTS pair_dates (user_id INTEGER NOT NULL, event_id INTEGER NOT NULL,"
    " partners TEXT NOT NULL, started_at TEXT NOT NULL, PRIMARY KEY (user_id, event_id))",  # partners: a JSON list
    "CREATE TABLE IF NOT EXISTS pair_reactions (user_id INTEGER NOT NULL, partner_id INTEGER NOT NULL,"
    " event_id INTEGER NOT NULL, reaction TEXT NOT NULL, at TEXT NOT NULL,"
    " PRIMARY KEY (user_id, partner_id, event_id))",
    "CREATE INDEX IF NOT EXISTS pair_reactions_partner_idx ON pair_reactions (partner_id)",
    # One row once the log recorded before these tables was taken in.
    "CREATE TABLE IF NOT EXISTS pair_history_filled (filled INTEGER NOT NULL)",
)

_TOPIC = "datemaker.domain.dating_event:DatingEvent."
_AT = "%Y-%m-%dT%H:%M:%f"  # UTC, sortable: what both paths store


def fill_pair_history(events_table: str) -> tuple[str, str, str]:
    """What a log recorded before the pair history existed holds, taken in
    once (from then on the saves keep it complete). Dates come from the rooms
    given at a round's start, of events that are over; reactions from the
    last rating per person, partner and event."""
    body = "CAST(e.state AS TEXT)"
    wire = (f"SELECT originator_id, json_extract(CAST(state AS TEXT), '$.wire_id') AS event_id,"
            f" strftime('{_AT}', json_extract(CAST(state AS TEXT), '$.start._data_')) AS started_at"
            f" FROM {events_table} WHERE topic = '{_TOPIC}Scheduled'")
    over = (f"SELECT originator_id FROM {events_table}"
            f" WHERE topic IN ('{_TOPIC}Finished', '{_TOPIC}Cancelled')")
    first = "CAST(substr(room.key, 1, instr(room.key, '-') - 1) AS INTEGER)"
    second = "CAST(substr(room.key, instr(room.key, '-') + 1) AS INTEGER)"
    rooms = (f"FROM {events_table} e JOIN ({wire}) w USING (originator_id), json_each({body}, '$.rooms') AS room"
             f" WHERE e.topic IN ('{_TOPIC}Started', '{_TOPIC}RoundStarted') AND e.originator_id IN ({over})")
    only_while_empty = " AND NOT EXISTS (SELECT 1 FROM pair_history_filled)"
    return (
        "INSERT OR IGNORE INTO pair_dates (user_id, event_id, partners, started_at)"
        " SELECT user_id, event_id, json_group_array(DISTINCT partner_id), started_at FROM ("
        f"   SELECT {first} AS user_id, w.event_id, {second} AS partner_id, w.started_at {rooms}{only_while_empty}"
        f"   UNION ALL SELECT {second}, w.event_id, {first}, w.started_at {rooms}{only_while_empty}"
        " ) GROUP BY user_id, event_id",
        "INSERT OR REPLACE INTO pair_reactions (user_id, partner_id, event_id, reaction, at)"
        f" SELECT json_extract({body}, '$.user_id'), json_extract({body}, '$.partner_id'),"
        f"   w.event_id, json_extract({body}, '$.reaction'), strftime('{_AT}', json_extract({body}, '$.at._data_'))"
        f" FROM {events_table} e JOIN ({wire}) w USING (originator_id)"
        f" WHERE e.topic = '{_TOPIC}PartnerRated'{only_while_empty}"
        " ORDER BY e.rowid",  # the last rating replaces the earlier ones
        "INSERT INTO pair_history_filled SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM pair_history_filled)",
    )


def write_pair_history(c: Any, dates: Sequence[DatesHeld], reactions: Sequence[ReactionGiven]) -> None:
    if dates:
        c.executemany(
            f"INSERT OR IGNORE INTO pair_dates (user_id, event_id, partners, started_at) VALUES (?, ?, ?, strftime('{_AT}', ?))",
            [(d.user_id, d.event_id, json.dumps(list(d.partners)), d.started_at.isoformat()) for d in dates],
        )
    if reactions:
        c.executemany(
            "INSERT OR REPLACE INTO pair_reactions (user_id, partner_id, event_id, reaction, at)"
            f" VALUES (?, ?, ?, ?, strftime('{_AT}', ?))",
            [(r.user_id, r.partner_id, r.event_id, r.reaction, r.at.isoformat()) for r in reactions],
        )


def select_pair_history(c: Any, user_ids: Sequence[int], remeet_events: int) -> list[PairFact]:
    ids = json.dumps(sorted({int(uid) for uid in user_ids}))
    sql = (
        "WITH ids AS (SELECT value AS id FROM json_each(:ids))"
        " SELECT CASE reaction WHEN 'report' THEN 'report' ELSE 'dislike' END, event_id, user_id, partner_id"
        " FROM pair_reactions WHERE user_id IN ids AND partner_id IN ids AND reaction IN ('dislike', 'report')"
    )
    if remeet_events > 0:
        sql += (
            " UNION ALL SELECT 'met', r.event_id, r.user_id, partner.value FROM (SELECT user_id, event_id, partners,"
            "   row_number() OVER (PARTITION BY user_id ORDER BY started_at DESC, event_id DESC) AS n"
            "   FROM pair_dates WHERE user_id IN ids) r, json_each(r.partners) AS partner"
            " WHERE r.n <= :n AND partner.value IN ids"
        )
    c.execute(sql, {"ids": ids, "n": remeet_events})
    return [PairFact(str(kind), int(event_id), int(user), int(partner)) for kind, event_id, user, partner in c.fetchall()]

