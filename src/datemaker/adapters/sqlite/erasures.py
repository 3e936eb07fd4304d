"""Erase requests and the destruction of person keys on the embedded store
(app/privacy_ports.py), in SQLite's words. One process uses the store: its
write transaction is the lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from datemaker.app.privacy_ports import ErasureRow, PersonEvent, Recorded, RetentionDue
from datemaker.domain.ids import event_uuid

ROW = "user_id, request_ref, requested_by, requested_at, erased_at"


class SqliteErasures:
    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore  # the library's SQLiteDatastore

    def seen(self, user_id: int) -> bool:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT EXISTS (SELECT 1 FROM person_keys WHERE subject = ?)"
                      " OR EXISTS (SELECT 1 FROM person_events WHERE user_id = ?)"
                      " OR EXISTS (SELECT 1 FROM erasures WHERE user_id = ?)", (f"user:{user_id}", user_id, user_id))
            return bool(c.fetchone()[0])

    def events_of(self, user_id: int) -> list[PersonEvent]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT p.wire_id, s.state, s.over_at FROM person_events p"
                      " LEFT JOIN event_summary s ON s.wire_id = p.wire_id WHERE p.user_id = ? ORDER BY p.wire_id",
                      (user_id,))
            return [PersonEvent(w, state, _instant(over)) for w, state, over in c.fetchall()]

    def record(self, request: ErasureRow, subjects: Sequence[str] | None, now: datetime) -> Recorded:
        with self.datastore.transaction(commit=True) as c:
            c.execute("INSERT OR IGNORE INTO erasures (user_id, request_ref, requested_by, requested_at)"
                      " VALUES (?, ?, ?, ?)",
                      (request.user_id, request.request_ref, request.requested_by, _text(request.requested_at)))
            c.execute("SELECT changes()")
            new = c.fetchone()[0] == 1
            c.execute(f"SELECT {ROW} FROM erasures WHERE user_id = ? AND request_ref = ?",
                      (request.user_id, request.request_ref))
            row = _row(c.fetchone())
            if row.erased_at is not None:
                return Recorded(row, new, True, ())
            if subjects is None:
                return Recorded(row, new, False, ())
            destroyed = _destroy(c, subjects, now)
            c.execute("UPDATE erasures SET erased_at = ? WHERE user_id = ? AND request_ref = ?",
                      (_text(now), request.user_id, request.request_ref))
            return Recorded(row._replace(erased_at=now), new, False, destroyed)

    def waiting(self) -> list[ErasureRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT {ROW} FROM erasures WHERE erased_at IS NULL ORDER BY requested_at, user_id")
            return [_row(r) for r in c.fetchall()]

    def retention_due(self, cutoff: datetime) -> list[RetentionDue]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT p.user_id, p.wire_id, s.over_at FROM person_events p"
                " LEFT JOIN event_summary s ON s.wire_id = p.wire_id"
                " WHERE EXISTS (SELECT 1 FROM person_keys k"
                "   WHERE k.subject = 'user:' || p.user_id AND k.wrapped IS NOT NULL)"
                " ORDER BY p.user_id, s.over_at, p.wire_id")
            rows = c.fetchall()
        last: dict[int, tuple[int, str | None]] = {}
        open_: set[int] = set()
        for user_id, wire_id, over_at in rows:
            if over_at is None:
                open_.add(user_id)
            else:
                last[user_id] = (wire_id, over_at)  # ordered: the latest comes last
        cut = _text(cutoff)
        return [RetentionDue(uid, wire_id, _instant(over)) for uid, (wire_id, over) in sorted(last.items())  # type: ignore[misc]
                if uid not in open_ and over is not None and over <= cut]

    def rooms_due(self, cutoff: datetime) -> list[int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT DISTINCT subject FROM person_keys WHERE subject LIKE 'room:%' AND wrapped IS NOT NULL")
            live = {r[0] for r in c.fetchall()}
            if not live:
                return []
            c.execute("SELECT wire_id FROM event_summary WHERE over_at <= ?", (_text(cutoff),))
            return sorted(r[0] for r in c.fetchall() if f"room:{event_uuid(r[0])}" in live)

    def destroy(self, subjects: Sequence[str], at: datetime) -> tuple[str, ...]:
        if not subjects:
            return ()
        with self.datastore.transaction(commit=True) as c:
            return _destroy(c, subjects, at)


def _destroy(c: Any, subjects: Sequence[str], at: datetime) -> tuple[str, ...]:
    found: list[str] = []
    for subject in subjects:
        c.execute("SELECT subject FROM person_keys WHERE subject = ? AND wrapped IS NOT NULL", (subject,))
        found += [r[0] for r in c.fetchall()]
        c.execute("UPDATE person_keys SET wrapped = NULL, erased_at = ? WHERE subject = ? AND wrapped IS NOT NULL",
                  (_text(at), subject))
    return tuple(sorted(found))


def _row(r: Any) -> ErasureRow:
    return ErasureRow(r[0], r[1], r[2], _instant(r[3]), _instant(r[4]))  # type: ignore[arg-type]


def _text(instant: datetime) -> str:
    """As the embedded recorder writes instants: ISO 8601 in UTC, fixed width."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
