"""The pool of Meet rooms on the embedded store: PostgreSQL's two tables
(step 0011) in SQLite's words. One process uses the store, and its
transaction is the lock, so taking rooms needs no SKIP LOCKED."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from datemaker.domain.rooms import Room

TABLES = (
    "CREATE TABLE IF NOT EXISTS meet_rooms (space TEXT PRIMARY KEY, uri TEXT NOT NULL, account TEXT NOT NULL,"
    " made_at TEXT NOT NULL, taken_for INTEGER, taken_at TEXT, settled INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS meet_rooms_free_idx ON meet_rooms (made_at) WHERE taken_for IS NULL",
    "CREATE TABLE IF NOT EXISTS meet_accounts (name TEXT PRIMARY KEY, usable INTEGER NOT NULL,"
    " reason TEXT NOT NULL, since TEXT NOT NULL)",
)


def _text(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class SqliteRoomPool:
    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore  # eventsourcing's SQLiteDatastore
        with self.datastore.transaction(commit=True) as c:
            for statement in TABLES:
                c.execute(statement)

    def add(self, rooms: Sequence[Room], made_at: datetime, taken_for: int | None = None) -> None:
        taken_at = _text(made_at) if taken_for is not None else None
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                "INSERT OR IGNORE INTO meet_rooms (space, uri, account, made_at, taken_for, taken_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(r.space, r.uri, r.account, _text(made_at), taken_for, taken_at) for r in rooms],
            )

    def take(self, event_id: int, count: int, at: datetime) -> list[Room]:
        if count <= 0:
            return []
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT space, uri, account FROM meet_rooms WHERE taken_for = ? AND settled = 0"
                      " ORDER BY taken_at, space LIMIT ?", (event_id, count))
            rooms = [Room(*row) for row in c.fetchall()]
            c.execute("SELECT space, uri, account FROM meet_rooms WHERE taken_for IS NULL"
                      " ORDER BY made_at, space LIMIT ?", (count - len(rooms),))
            fresh = [Room(*row) for row in c.fetchall()]
            c.executemany("UPDATE meet_rooms SET taken_for = ?, taken_at = ? WHERE space = ?",
                          [(event_id, _text(at), r.space) for r in fresh])
        return rooms + fresh

    def settle(self, event_id: int, spaces: Sequence[str]) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.executemany("UPDATE meet_rooms SET settled = 1 WHERE taken_for = ? AND space = ?",
                          [(event_id, space) for space in spaces])

    def free(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT count(*) FROM meet_rooms WHERE taken_for IS NULL")
            return int(c.fetchone()[0])

    def set_account(self, name: str, usable: bool, reason: str, at: datetime) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT usable, reason FROM meet_accounts WHERE name = ?", (name,))
            if tuple(c.fetchone() or ()) != (int(usable), reason):
                c.execute("INSERT OR REPLACE INTO meet_accounts (name, usable, reason, since) VALUES (?, ?, ?, ?)",
                          (name, int(usable), reason, _text(at)))

    def accounts(self) -> dict[str, tuple[bool, str, datetime]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT name, usable, reason, since FROM meet_accounts")
            return {row[0]: (bool(row[1]), row[2], datetime.fromisoformat(row[3])) for row in c.fetchall()}
