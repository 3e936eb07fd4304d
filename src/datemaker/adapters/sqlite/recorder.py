"""The eventsourcing library's SQLite recorder (the embedded store of a trial
without PostgreSQL), extended as the PostgreSQL one is: replies, deadlines,
summaries and the pair history saved with the events, and the other operations of the store
port (`app/ports.py`). One process uses it: its transaction is the lock."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory

from datemaker.adapters.privacy.keyed_recorder import KeyedRecorder
from datemaker.adapters.privacy.wiring import SealingFactory, open_keyring
from datemaker.adapters.sqlite.person_keys import TABLES as PERSON_KEY_TABLES
from datemaker.adapters.sqlite.person_keys import SqliteKeyStore, add_missing_columns, check_keys_live, insert_new_keys, note_people
from datemaker.adapters.store_errors import translating
from datemaker.adapters.sqlite.pair_history import (
    PAIR_HISTORY_TABLES,
    fill_pair_history,
    select_pair_history,
    write_pair_history,
)
from datemaker.app.ports import BlockedRegistrants, DatesHeld, Deadline, Handled, PairFact, PlatformWrite, ReactionGiven, Registering


@translating(sqlite3.OperationalError, sqlite3.InterfaceError)
class SQLiteRecorder(KeyedRecorder, SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS handled_commands ("
            "dedupe_key TEXT PRIMARY KEY, reply TEXT NOT NULL, outcome TEXT NOT NULL,"
            " handled_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            # The platform's users, for a trial without PostgreSQL (PROTOCOL.md).
            "CREATE TABLE IF NOT EXISTS deadlines (wire_id INTEGER PRIMARY KEY, due_at TEXT NOT NULL,"
            " action TEXT NOT NULL, leased_until TEXT)",
            "CREATE TABLE IF NOT EXISTS outbox_position (name TEXT PRIMARY KEY, position INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS event_summary (wire_id INTEGER PRIMARY KEY, state INTEGER NOT NULL,"
            " active_dates INTEGER NOT NULL DEFAULT 0)",
            "CREATE TABLE IF NOT EXISTS user_blocks (user_id INTEGER PRIMARY KEY, blocked_until TEXT, reason TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, username TEXT NOT NULL,"
            " password_hash TEXT, bio TEXT, birthday TEXT, sex TEXT, name TEXT, city TEXT,"
            " rating REAL DEFAULT 0.0, manual_score INTEGER DEFAULT 2)",
            *PAIR_HISTORY_TABLES,
            *PERSON_KEY_TABLES,
            *fill_pair_history(self.events_table_name),
        ]

    def _create_table(self, c: Any) -> None:
        super()._create_table(c)
        add_missing_columns(c)
        # One process uses the embedded store: the leases found when it opens
        # were taken by a predecessor that is gone (a crash), and are void;
        # waiting for them to run out would hold up what is due.
        c.execute("UPDATE deadlines SET leased_until = NULL WHERE leased_until IS NOT NULL")

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        handled: Sequence[Handled] = kwargs.get("handled") or ()
        if handled:
            c.executemany(
                "INSERT OR REPLACE INTO handled_commands (dedupe_key, reply, outcome) VALUES (?, ?, ?)",
                [tuple(h) for h in handled],
            )
        for x in kwargs.get("summaries") or ():
            c.execute("INSERT INTO event_summary (wire_id, state, active_dates, over_at) VALUES (?, ?, ?, ?)"
                      " ON CONFLICT (wire_id) DO UPDATE SET state = excluded.state, active_dates = excluded.active_dates,"
                      " over_at = coalesce(event_summary.over_at, excluded.over_at)",
                      (x.wire_id, x.state, x.active_dates, _utc_text(x.over_at) if x.over_at else None))
        for d in kwargs.get("deadlines") or ():
            if d.due_at is None:
                c.execute("DELETE FROM deadlines WHERE wire_id = ?", (d.wire_id,))
            else:
                c.execute(
                    "INSERT OR REPLACE INTO deadlines (wire_id, due_at, action, leased_until) VALUES (?, ?, ?, NULL)",
                    (d.wire_id, _utc_text(d.due_at), d.action),
                )
        for b in kwargs.get("blocks") or ():
            if b.blocked:
                c.execute("INSERT OR REPLACE INTO user_blocks (user_id, blocked_until, reason) VALUES (?, ?, ?)",
                          (b.user_id, _utc_text(b.until) if b.until else None, b.reason))
            else:
                c.execute("DELETE FROM user_blocks WHERE user_id = ?", (b.user_id,))
        registering: Registering | None = kwargs.get("registering")
        if registering is not None and registering.user_ids:  # after this save's first write: the lock is held
            ids = list(registering.user_ids)
            c.execute(
                f"SELECT user_id FROM user_blocks WHERE user_id IN ({','.join('?' * len(ids))})"
                " AND (blocked_until IS NULL OR blocked_until > ?)",
                [*ids, _utc_text(registering.at)],
            )
            found = frozenset(int(row[0]) for row in c.fetchall())
            if found:
                raise BlockedRegistrants(found)
        write_pair_history(c, kwargs.get("dates_held") or (), kwargs.get("reactions") or ())
        insert_new_keys(c, self.take_new_keys())
        self.refuse_erased_keys(check_keys_live(c, self.take_used_keys()))
        note_people(c, kwargs.get("people") or ())
        return super()._insert_events(c, stored_events, **kwargs)

    def pair_history(self, user_ids: Sequence[int], remeet_events: int) -> list[PairFact]:
        with self.datastore.transaction(commit=False) as c:
            return select_pair_history(c, user_ids, remeet_events)

    def record_pair_history(self, dates: Sequence[DatesHeld], reactions: Sequence[ReactionGiven]) -> None:
        with self.datastore.transaction(commit=True) as c:
            write_pair_history(c, dates, reactions)

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Deadline]:
        # One writer at a time in SQLite: the transaction itself is the lock.
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "SELECT wire_id, due_at, action FROM deadlines WHERE due_at <= ?"
                " AND (leased_until IS NULL OR leased_until <= ?) ORDER BY due_at LIMIT ?",
                (_utc_text(now), _utc_text(now), limit),
            )
            rows = c.fetchall()
            c.executemany(
                "UPDATE deadlines SET leased_until = ? WHERE wire_id = ?",
                [(_utc_text(lease_until), row[0]) for row in rows],
            )
            return [Deadline(row[0], datetime.fromisoformat(row[1]), row[2]) for row in rows]

    def select_events_after(self, known: Sequence[tuple[UUID, int]]) -> list[StoredEvent]:
        return [stored for oid, version in known for stored in self.select_events(oid, gt=version)]

    def overview(self) -> dict[str, Any]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT state, count(*) FROM event_summary GROUP BY state")
            by_state = {int(state): int(n) for state, n in c.fetchall()}
            c.execute("SELECT coalesce(sum(active_dates), 0) FROM event_summary")
            active = int(c.fetchone()[0])
            c.execute(f"SELECT coalesce(max(rowid), 0) FROM {self.events_table_name}")
            head = int(c.fetchone()[0])
            c.execute("SELECT coalesce(max(position), 0) FROM outbox_position")
            position = int(c.fetchone()[0])
        return {"by_state": by_state, "active_dates": active, "head": head, "position": position}

    def next_due_at(self) -> datetime | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT min(due_at) FROM deadlines")
            row = c.fetchone()
            return datetime.fromisoformat(row[0]) if row and row[0] else None

    def outbox_position(self, name: str) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT position FROM outbox_position WHERE name = ?", (name,))
            row = c.fetchone()
            return int(row[0]) if row else 0

    def set_outbox_position(self, name: str, position: int) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("INSERT OR REPLACE INTO outbox_position (name, position) VALUES (?, ?)", (name, position))

    def handled_replies(self, keys: Sequence[str]) -> dict[str, Handled]:
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT dedupe_key, reply, outcome FROM handled_commands WHERE dedupe_key IN ({marks})",
                list(keys),
            )
            return {row[0]: Handled(row[0], row[1], row[2]) for row in c.fetchall()}

    def forget_handled_before(self, seconds: int) -> int:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "DELETE FROM handled_commands WHERE handled_at < datetime('now', ?)",
                (f"-{int(seconds)} seconds",),
            )
            return c.rowcount

    def platform_users(self, user_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        if not user_ids:
            return []
        marks = ",".join("?" * len(user_ids))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT id, sex, birthday, city, rating, manual_score FROM users"
                f" WHERE id IN ({marks})",
                list(user_ids),
            )
            return [tuple(row) for row in c.fetchall()]

    def seed_platform_users(self, rows: Sequence[tuple[Any, ...]]) -> None:
        sql = ("INSERT OR REPLACE INTO users (id, username, sex, birthday, city, rating, manual_score)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)")
        with self.datastore.transaction(commit=True) as c:
            c.executemany(sql, list(rows))

    # The embedded store has no platform tables: nothing is written there but
    # through the bot's commands, and ids come from the catalog.
    def claim_platform_writes(self, now: datetime, lease_until: datetime, limit: int) -> list[PlatformWrite]:
        return []

    def platform_registrations(self, event_id: int) -> list[tuple[int, datetime]]:
        return []

    def next_event_id(self) -> int | None:
        return None

    def projected_position(self) -> int | None:
        return None

    def platform_names(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT id, name, username FROM users WHERE id IN ({','.join('?' * len(ids))})", ids)
            return {int(uid): [n for n in (name, username) if n] for uid, name, username in c.fetchall()}


def _utc_text(instant: datetime) -> str:
    """Sortable text for SQLite: ISO 8601 in UTC, fixed width."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class SQLiteStore(SealingFactory, SQLiteFactory):
    application_recorder_class = SQLiteRecorder

    def application_recorder(self) -> Any:
        recorder = super().application_recorder()
        open_keyring(self.env, self.sealing_mapper, recorder, SqliteKeyStore(self.datastore))
        return recorder
