"""Erase requests and the destruction of person keys on PostgreSQL (step
0012's tables; app/privacy_ports.py). Several instances may erase the same
person at once: the request's primary key and row lock make one of them
record it, and a key's row lock makes one of them destroy it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.sql import SQL, Identifier

from datemaker.app.privacy_ports import ErasureRow, PersonEvent, Recorded, RetentionDue
from datemaker.domain.ids import event_uuid

ROW = "user_id, request_ref, requested_by, requested_at, erased_at"


class PostgresErasures:
    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore  # the library's PostgresDatastore
        self.schema = Identifier(datastore.schema)

    def seen(self, user_id: int) -> bool:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL(
                "SELECT EXISTS (SELECT FROM {s}.person_keys WHERE subject = %(subject)s)"
                " OR EXISTS (SELECT FROM {s}.person_events WHERE user_id = %(user)s)"
                " OR EXISTS (SELECT FROM {s}.erasures WHERE user_id = %(user)s) AS seen").format(s=self.schema),
                {"subject": f"user:{user_id}", "user": user_id})
            return bool(curs.fetchone()["seen"])

    def events_of(self, user_id: int) -> list[PersonEvent]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL(
                "SELECT p.wire_id, s.state, s.over_at FROM {s}.person_events p"
                " LEFT JOIN {s}.event_summary s USING (wire_id) WHERE p.user_id = %s ORDER BY p.wire_id"
            ).format(s=self.schema), (user_id,))
            return [PersonEvent(r["wire_id"], r["state"], r["over_at"]) for r in curs.fetchall()]

    def record(self, request: ErasureRow, subjects: Sequence[str] | None, now: datetime) -> Recorded:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL(
                "INSERT INTO {s}.erasures (user_id, request_ref, requested_by, requested_at)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (user_id, request_ref) DO NOTHING RETURNING user_id"
            ).format(s=self.schema), request[:4])
            new = curs.fetchone() is not None
            curs.execute(SQL("SELECT " + ROW + " FROM {s}.erasures WHERE user_id = %s AND request_ref = %s"
                             " FOR UPDATE").format(s=self.schema), (request.user_id, request.request_ref))
            row = ErasureRow(**curs.fetchone())
            if row.erased_at is not None:
                return Recorded(row, new, True, ())
            if subjects is None:
                return Recorded(row, new, False, ())
            destroyed = destroy_keys(curs, self.schema, subjects, now)
            curs.execute(SQL("UPDATE {s}.erasures SET erased_at = %s WHERE user_id = %s AND request_ref = %s")
                         .format(s=self.schema), (now, request.user_id, request.request_ref))
            return Recorded(row._replace(erased_at=now), new, False, destroyed)

    def waiting(self) -> list[ErasureRow]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT " + ROW + " FROM {s}.erasures WHERE erased_at IS NULL"
                             " ORDER BY requested_at, user_id").format(s=self.schema))
            return [ErasureRow(**r) for r in curs.fetchall()]

    def retention_due(self, cutoff: datetime) -> list[RetentionDue]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL(
                "SELECT p.user_id, (array_agg(p.wire_id ORDER BY s.over_at DESC, p.wire_id DESC))[1] AS last_event,"
                " max(s.over_at) AS over_at"
                " FROM {s}.person_events p LEFT JOIN {s}.event_summary s USING (wire_id)"
                " WHERE EXISTS (SELECT FROM {s}.person_keys k"
                "   WHERE k.subject = 'user:' || p.user_id AND k.wrapped IS NOT NULL)"
                " GROUP BY p.user_id"
                " HAVING bool_and(s.over_at IS NOT NULL) AND max(s.over_at) <= %s ORDER BY p.user_id"
            ).format(s=self.schema), (cutoff,))
            return [RetentionDue(r["user_id"], r["last_event"], r["over_at"]) for r in curs.fetchall()]

    def rooms_due(self, cutoff: datetime) -> list[int]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT DISTINCT subject FROM {s}.person_keys"
                             " WHERE subject LIKE 'room:%%' AND wrapped IS NOT NULL").format(s=self.schema))
            live = {r["subject"] for r in curs.fetchall()}
            if not live:
                return []
            curs.execute(SQL("SELECT wire_id FROM {s}.event_summary WHERE over_at <= %s").format(s=self.schema),
                         (cutoff,))
            return sorted(r["wire_id"] for r in curs.fetchall() if f"room:{event_uuid(r['wire_id'])}" in live)

    def destroy(self, subjects: Sequence[str], at: datetime) -> tuple[str, ...]:
        if not subjects:
            return ()
        with self.datastore.transaction(commit=True) as curs:
            return destroy_keys(curs, self.schema, subjects, at)


def destroy_keys(curs: Any, schema: Identifier, subjects: Sequence[str], at: datetime) -> tuple[str, ...]:
    """Every live generation of these subjects: the wrapped key goes for good.
    A row another transaction destroyed first is waited for and then skipped."""
    curs.execute(SQL(
        "UPDATE {s}.person_keys SET wrapped = NULL, erased_at = %s"
        " WHERE subject = ANY(%s) AND wrapped IS NOT NULL RETURNING subject").format(s=schema), (at, list(subjects)))
    return tuple(sorted(r["subject"] for r in curs.fetchall()))
