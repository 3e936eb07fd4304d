"""`datemaker privacy reseal` on the embedded store: PostgreSQL's statements
(adapters/postgres/resealing.py) in SQLite's words. No trigger guards the
history here; a row is still replaced only while it holds what was read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from datemaker.adapters.privacy.keyring import NewKey
from datemaker.adapters.sqlite.person_keys import insert_new_keys


class SqliteResealing:
    def __init__(self, recorder: Any, snapshot_recorder: Any) -> None:
        self.datastore = recorder.datastore
        self.events = recorder.events_table_name
        self.snapshots = snapshot_recorder.events_table_name

    def events_after(self, after: int, topics: Sequence[str], limit: int) -> list[tuple[int, StoredEvent]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events}"
                      f" WHERE rowid > ? AND topic IN ({_marks(topics)}) ORDER BY rowid LIMIT ?",
                      (after, *topics, limit))
            return [(int(r[0]), _stored(r[1:])) for r in c.fetchall()]

    @contextmanager
    def writing(self) -> Iterator[_Writing]:
        with self.datastore.transaction(commit=True) as c:
            yield _Writing(self, c)

    def missing_people(self, people: Sequence[tuple[int, int]]) -> int:
        missing = 0
        with self.datastore.transaction(commit=False) as c:
            for user_id, wire_id in people:
                c.execute("SELECT 1 FROM person_events WHERE user_id = ? AND wire_id = ?", (user_id, wire_id))
                missing += c.fetchone() is None
        return missing

    def snapshots_after(self, after: tuple[str, int] | None, limit: int) -> list[StoredEvent]:
        oid, version = (UUID(after[0]).hex, after[1]) if after is not None else ("", -1)
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_id, originator_version, topic, state FROM {self.snapshots}"
                      " WHERE originator_id > ? OR (originator_id = ? AND originator_version > ?)"
                      " ORDER BY originator_id, originator_version LIMIT ?", (oid, oid, version, limit))
            return [_stored(r) for r in c.fetchall()]

    def drop_snapshots(self, snapshots: Sequence[StoredEvent]) -> int:
        dropped = 0
        with self.datastore.transaction(commit=True) as c:
            for x in snapshots:
                c.execute(f"DELETE FROM {self.snapshots} WHERE originator_id = ? AND originator_version = ?"
                          " AND state = ?", (_hex(x.originator_id), x.originator_version, x.state))
                dropped += _changed(c)
        return dropped

    def first_events(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        found = []
        with self.datastore.transaction(commit=False) as c:
            for oid in originator_ids:
                c.execute(f"SELECT originator_id, originator_version, topic, state FROM {self.events}"
                          " WHERE originator_id = ? AND originator_version = 1", (_hex(oid),))
                found += [_stored(r) for r in c.fetchall()]
        return found

    def last_over_events(self, topics: Sequence[str]) -> list[StoredEvent]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_id, originator_version, topic, state FROM {self.events} AS e"
                      f" WHERE topic IN ({_marks(topics)}) AND originator_version = (SELECT max(originator_version)"
                      f"   FROM {self.events} AS l WHERE l.originator_id = e.originator_id"
                      f"   AND l.topic IN ({_marks(topics)}))", (*topics, *topics))
            return [_stored(r) for r in c.fetchall()]

    def over_at_missing(self, wire_ids: Sequence[int]) -> set[int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT wire_id FROM event_summary WHERE over_at IS NOT NULL")
            done = {int(r[0]) for r in c.fetchall()}
        return set(wire_ids) - done

    def fill_over_at(self, rows: Sequence[tuple[int, int, datetime]]) -> int:
        filled = 0
        with self.datastore.transaction(commit=True) as c:
            for wire_id, state, at in rows:
                c.execute("INSERT INTO event_summary (wire_id, state, active_dates, over_at) VALUES (?, ?, 0, ?)"
                          " ON CONFLICT (wire_id) DO UPDATE SET over_at = excluded.over_at"
                          " WHERE event_summary.over_at IS NULL", (wire_id, state, _utc_text(at)))
                filled += _changed(c)
        return filled


class _Writing:
    def __init__(self, owner: SqliteResealing, c: Any) -> None:
        self.owner, self.c = owner, c

    def store_keys(self, keys: Sequence[NewKey]) -> None:
        insert_new_keys(self.c, keys)

    def note_people(self, people: Sequence[tuple[int, int]]) -> int:
        noted = 0
        for row in people:
            self.c.execute("INSERT OR IGNORE INTO person_events (user_id, wire_id) VALUES (?, ?)", row)
            noted += _changed(self.c)
        return noted

    def replace_states(self, rows: Sequence[tuple[int, bytes, bytes]]) -> int:
        changed = 0
        for rowid, old, new in rows:
            self.c.execute(f"UPDATE {self.owner.events} SET state = ? WHERE rowid = ? AND state = ?", (new, rowid, old))
            changed += _changed(self.c)
        return changed


def _changed(c: Any) -> int:
    """Rows the last statement changed (the library's cursor has no rowcount)."""
    c.execute("SELECT changes()")
    return int(c.fetchone()[0])


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


def _hex(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else UUID(originator_id).hex


def _stored(row: Sequence[Any]) -> StoredEvent:
    return StoredEvent(UUID(row[0]), int(row[1]), row[2], bytes(row[3]))


def _utc_text(instant: datetime) -> str:
    """As the recorder writes times (adapters/sqlite/recorder.py)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
