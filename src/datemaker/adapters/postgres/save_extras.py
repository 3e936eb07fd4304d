"""What else a save of events writes in its transaction, beside the events:
the platform inbox rows it took, the blocks table, and the refusal of a
blocked registrant (adapters/postgres/recorder.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.sql import SQL, Identifier

from datemaker.app.ports import BlockedRegistrants, BlockRow, PlatformWrite, Registering


def settle_platform_writes(curs: Any, taken: Sequence[tuple[PlatformWrite, str | None]]) -> None:
    """The inbox rows a save took go with it; refused ones are kept for review."""
    curs.execute("DELETE FROM datemaker.platform_inbox WHERE id = ANY(%s)", ([w.id for w, _ in taken],))
    refused = [(w.id, w.kind, w.event_id, w.user_id, w.partner_id, reason, w.written_at) for w, reason in taken if reason]
    if refused:
        curs.executemany(
            "INSERT INTO datemaker.platform_refusals (id, kind, event_id, user_id, partner_id, reason, written_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            refused,
        )


def save_blocks(curs: Any, schema: Identifier, rows: Sequence[BlockRow]) -> None:
    held = [r for r in rows if r.blocked]
    if held:
        curs.executemany(
            SQL(
                "INSERT INTO {schema}.user_blocks (user_id, blocked_until, reason) VALUES (%s, %s, %s)"
                " ON CONFLICT (user_id) DO UPDATE SET blocked_until = EXCLUDED.blocked_until, reason = EXCLUDED.reason"
            ).format(schema=schema),
            [(r.user_id, r.until, r.reason) for r in held],
        )
    lifted = [r.user_id for r in rows if not r.blocked]
    if lifted:
        curs.execute(SQL("DELETE FROM {schema}.user_blocks WHERE user_id = ANY(%s)").format(schema=schema), (lifted,))


def refuse_blocked(curs: Any, schema: Identifier, registering: Registering) -> None:
    curs.execute(
        SQL(
            "SELECT user_id FROM {schema}.user_blocks WHERE user_id = ANY(%s)"
            " AND (blocked_until IS NULL OR blocked_until > %s)"
        ).format(schema=schema),
        (list(registering.user_ids), registering.at),
    )
    found = frozenset(int(row["user_id"]) for row in curs.fetchall())
    if found:
        raise BlockedRegistrants(found)
