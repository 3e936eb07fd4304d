"""The person keys on the embedded store: PostgreSQL's tables (step 0012) in
SQLite's words. One process uses the store: its transaction is the lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError

from datemaker.adapters.privacy.keyring import NewKey

TABLES = (
    "CREATE TABLE IF NOT EXISTS person_keys (subject TEXT NOT NULL, generation INTEGER NOT NULL, wrapped BLOB,"
    " created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, erased_at TEXT, PRIMARY KEY (subject, generation))",
    "CREATE TABLE IF NOT EXISTS master_keys (kid BLOB PRIMARY KEY, key_check BLOB NOT NULL,"
    " added_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS person_events (user_id INTEGER NOT NULL, wire_id INTEGER NOT NULL,"
    " PRIMARY KEY (user_id, wire_id))",
    "CREATE TABLE IF NOT EXISTS erasures (user_id INTEGER NOT NULL, request_ref TEXT NOT NULL,"
    " requested_by TEXT NOT NULL, requested_at TEXT NOT NULL, erased_at TEXT, PRIMARY KEY (user_id, request_ref))",
)


def add_missing_columns(c: Any) -> None:
    """A store made before step 0012's columns existed."""
    c.execute("PRAGMA table_info(event_summary)")
    if "over_at" not in {row[1] for row in c.fetchall()}:
        c.execute("ALTER TABLE event_summary ADD COLUMN over_at TEXT")


class SqliteKeyStore:
    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore  # the library's SQLiteDatastore

    def master_checks(self) -> dict[bytes, bytes]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT kid, key_check FROM master_keys")
            return {bytes(r[0]): bytes(r[1]) for r in c.fetchall()}

    def add_master_check(self, kid: bytes, check: bytes) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("INSERT OR IGNORE INTO master_keys (kid, key_check) VALUES (?, ?)", (kid, check))

    def latest_keys(self, subjects: Sequence[str]) -> dict[str, tuple[int, bytes | None]]:
        found: dict[str, tuple[int, bytes | None]] = {}
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks(list(subjects)):
                c.execute("SELECT subject, generation, wrapped FROM person_keys WHERE subject IN"
                          f" ({','.join('?' * len(chunk))}) ORDER BY subject, generation", chunk)
                for subject, generation, wrapped in c.fetchall():
                    found[subject] = (generation, _bytes(wrapped))  # the last row is the latest
        return found

    def erased_generations(self, subjects: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks(list(subjects)):
                c.execute("SELECT subject, max(generation) FROM person_keys WHERE wrapped IS NULL AND subject IN"
                          f" ({','.join('?' * len(chunk))}) GROUP BY subject", chunk)
                found.update({subject: generation for subject, generation in c.fetchall()})
        return found

    def wrapped_keys(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], bytes | None]:
        found: dict[tuple[str, int], bytes | None] = {}
        with self.datastore.transaction(commit=False) as c:
            for subject, generation in wanted:
                c.execute("SELECT wrapped FROM person_keys WHERE subject = ? AND generation = ?", (subject, generation))
                row = c.fetchone()
                if row is not None:
                    found[(subject, generation)] = _bytes(row[0])
        return found

    # --- `datemaker privacy rewrap` (adapters/privacy/rewrapping.py) ---------

    def wrapped_by_others(self, kid: bytes, after: tuple[str, int], limit: int) -> list[tuple[str, int, bytes]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT subject, generation, wrapped FROM person_keys WHERE wrapped IS NOT NULL"
                      " AND substr(wrapped, 1, ?) <> ? AND (subject > ? OR (subject = ? AND generation > ?))"
                      " ORDER BY subject, generation LIMIT ?", (len(kid), kid, after[0], after[0], after[1], limit))
            return [(r[0], int(r[1]), bytes(r[2])) for r in c.fetchall()]

    def replace_wrapped(self, rows: Sequence[tuple[str, int, bytes, bytes]]) -> int:
        changed = 0
        with self.datastore.transaction(commit=True) as c:
            for subject, generation, old, new in rows:
                c.execute("UPDATE person_keys SET wrapped = ? WHERE subject = ? AND generation = ? AND wrapped = ?",
                          (new, subject, generation, old))
                c.execute("SELECT changes()")  # (the library's cursor has no rowcount)
                changed += int(c.fetchone()[0])
        return changed

    def count_wrapped_by_others(self, kid: bytes) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT count(*) FROM person_keys WHERE wrapped IS NOT NULL AND substr(wrapped, 1, ?) <> ?",
                      (len(kid), kid))
            return int(c.fetchone()[0])

    def forget_master_checks(self, keep: bytes) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM master_keys WHERE kid <> ?", (keep,))


def insert_new_keys(c: Any, keys: Sequence[NewKey]) -> None:
    for key in keys:
        c.execute("INSERT OR IGNORE INTO person_keys (subject, generation, wrapped) VALUES (?, ?, ?)",
                  (key.subject, key.generation, key.wrapped))
        c.execute("SELECT wrapped FROM person_keys WHERE subject = ? AND generation = ?", (key.subject, key.generation))
        if _bytes(c.fetchone()[0]) != key.wrapped:
            raise IntegrityError("another writer made a person key first")


def check_keys_live(c: Any, used: Sequence[tuple[str, int]]) -> list[str]:
    """The subjects of `used` whose key an erase (another process) destroyed since they were cached."""
    erased = []
    for subject, generation in used:
        c.execute("SELECT wrapped FROM person_keys WHERE subject = ? AND generation = ?", (subject, generation))
        row = c.fetchone()
        if row is not None and row[0] is None:
            erased.append(subject)
    return erased


def note_people(c: Any, people: Sequence[tuple[int, int]]) -> None:
    c.executemany("INSERT OR IGNORE INTO person_events (user_id, wire_id) VALUES (?, ?)", list(people))


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None
