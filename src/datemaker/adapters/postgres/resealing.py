"""`datemaker privacy reseal` on PostgreSQL (adapters/privacy/resealing.py
says what and why). The rows' states are replaced under `SET LOCAL
datemaker.resealing = 'on'`, the one change step 0012's trigger lets through
(same row, same topic), and only while a row still holds what was read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

from datemaker.adapters.postgres.person_keys import insert_new_keys, note_people
from datemaker.adapters.privacy.keyring import NewKey


class PostgresResealing:
    def __init__(self, recorder: Any, snapshot_recorder: Any) -> None:
        self.datastore = recorder.datastore
        self.schema = Identifier(self.datastore.schema)
        self.events = Identifier(recorder.events_table_name)
        self.snapshots = Identifier(snapshot_recorder.events_table_name)

    def _sql(self, text: str) -> Any:
        return SQL(text).format(s=self.schema, events=self.events, snapshots=self.snapshots)

    def events_after(self, after: int, topics: Sequence[str], limit: int) -> list[tuple[int, StoredEvent]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM {s}.{events}"
                " WHERE notification_id > %s AND topic = ANY(%s) ORDER BY notification_id LIMIT %s"),
                (after, list(topics), limit))
            return [(r["notification_id"], _stored(r)) for r in curs.fetchall()]

    @contextmanager
    def writing(self) -> Iterator[_Writing]:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SET LOCAL datemaker.resealing = 'on'")
            yield _Writing(self, curs)

    def missing_people(self, people: Sequence[tuple[int, int]]) -> int:
        if not people:
            return 0
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql(
                "SELECT count(*) AS n FROM unnest(%s::bigint[], %s::bigint[]) AS p (user_id, wire_id)"
                " WHERE NOT EXISTS (SELECT 1 FROM {s}.person_events e"
                "   WHERE e.user_id = p.user_id AND e.wire_id = p.wire_id)"),
                ([u for u, _ in people], [w for _, w in people]))
            return int(curs.fetchone()["n"])

    def snapshots_after(self, after: tuple[str, int] | None, limit: int) -> list[StoredEvent]:
        oid, version = after if after is not None else ("00000000-0000-0000-0000-000000000000", -1)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql(
                "SELECT originator_id, originator_version, topic, state FROM {s}.{snapshots}"
                " WHERE (originator_id, originator_version) > (%s::uuid, %s)"
                " ORDER BY originator_id, originator_version LIMIT %s"), (oid, version, limit))
            return [_stored(r) for r in curs.fetchall()]

    def drop_snapshots(self, snapshots: Sequence[StoredEvent]) -> int:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._sql(
                "DELETE FROM {s}.{snapshots} AS s USING unnest(%s::uuid[], %s::bigint[], %s::bytea[]) AS d (id, v, old)"
                " WHERE s.originator_id = d.id AND s.originator_version = d.v AND s.state = d.old"),
                ([x.originator_id for x in snapshots], [x.originator_version for x in snapshots],
                 [x.state for x in snapshots]))
            return int(curs.rowcount)

    def first_events(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql(
                "SELECT originator_id, originator_version, topic, state FROM {s}.{events}"
                " WHERE originator_id = ANY(%s) AND originator_version = 1"), (list(originator_ids),))
            return [_stored(r) for r in curs.fetchall()]

    def last_over_events(self, topics: Sequence[str]) -> list[StoredEvent]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql(
                "SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, state FROM {s}.{events}"
                " WHERE topic = ANY(%s) ORDER BY originator_id, originator_version DESC"), (list(topics),))
            return [_stored(r) for r in curs.fetchall()]

    def over_at_missing(self, wire_ids: Sequence[int]) -> set[int]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql(
                "SELECT w.id FROM unnest(%s::bigint[]) AS w (id) WHERE NOT EXISTS"
                " (SELECT 1 FROM {s}.event_summary x WHERE x.wire_id = w.id AND x.over_at IS NOT NULL)"),
                (list(wire_ids),))
            return {int(r["id"]) for r in curs.fetchall()}

    def fill_over_at(self, rows: Sequence[tuple[int, int, datetime]]) -> int:
        """A summary row the event never got (recorded before summaries were) is made, over."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._sql(
                "INSERT INTO {s}.event_summary (wire_id, state, active_dates, over_at)"
                " SELECT w, st, 0, at FROM unnest(%s::bigint[], %s::smallint[], %s::timestamptz[]) AS r (w, st, at)"
                " ON CONFLICT (wire_id) DO UPDATE SET over_at = EXCLUDED.over_at"
                " WHERE {s}.event_summary.over_at IS NULL"),
                ([w for w, _, _ in rows], [st for _, st, _ in rows], [at for _, _, at in rows]))
            return int(curs.rowcount)


class _Writing:
    def __init__(self, owner: PostgresResealing, curs: Any) -> None:
        self.owner, self.curs = owner, curs

    def store_keys(self, keys: Sequence[NewKey]) -> None:
        insert_new_keys(self.curs, self.owner.datastore.schema, keys)

    def note_people(self, people: Sequence[tuple[int, int]]) -> int:
        if not people:
            return 0
        note_people(self.curs, self.owner.schema, people)  # one INSERT ... ON CONFLICT DO NOTHING
        return int(self.curs.rowcount)

    def replace_states(self, rows: Sequence[tuple[int, bytes, bytes]]) -> int:
        self.curs.execute(self.owner._sql(
            "UPDATE {s}.{events} AS e SET state = r.new FROM unnest(%s::bigint[], %s::bytea[], %s::bytea[])"
            " AS r (id, old, new) WHERE e.notification_id = r.id AND e.state = r.old"),
            ([i for i, _, _ in rows], [old for _, old, _ in rows], [new for _, _, new in rows]))
        return int(self.curs.rowcount)


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))
