"""The eventsourcing library's recorders, extended to write the replies of
handled bot commands in the same transaction as the events those commands
recorded (`app.save(..., handled=[...])`), and to look them up again.

Chosen by topic in `adapters.event_store.persistence_env`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory
from psycopg.sql import SQL, Identifier


class Handled(NamedTuple):
    dedupe_key: str
    reply: str  # the exact body sent
    outcome: str


class PostgresRecorder(PostgresApplicationRecorder):
    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        handled: Sequence[Handled] = kwargs.get("handled") or ()
        if handled:
            curs.executemany(
                SQL(
                    "INSERT INTO {schema}.handled_commands (dedupe_key, reply, outcome)"
                    " VALUES (%s, %s, %s) ON CONFLICT (dedupe_key) DO UPDATE"
                    " SET reply = EXCLUDED.reply, outcome = EXCLUDED.outcome, handled_at = now()"
                ).format(schema=Identifier(self.datastore.schema)),
                [tuple(h) for h in handled],
            )
        super()._insert_events(curs, stored_events, **kwargs)

    def handled_replies(self, keys: Sequence[str]) -> dict[str, Handled]:
        if not keys:
            return {}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT dedupe_key, reply, outcome FROM {schema}.handled_commands"
                    " WHERE dedupe_key = ANY(%s)"
                ).format(schema=Identifier(self.datastore.schema)),
                (list(keys),),
            )
            return {row["dedupe_key"]: Handled(**row) for row in curs.fetchall()}

    def forget_handled_before(self, seconds: int) -> int:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "DELETE FROM {schema}.handled_commands"
                    " WHERE handled_at < now() - make_interval(secs => %s)"
                ).format(schema=Identifier(self.datastore.schema)),
                (seconds,),
            )
            return curs.rowcount


    def platform_users(self, user_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """(id, sex, birthday, city, rating, manual_score) of known users."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT id, sex, birthday, city, rating, manual_score FROM public.users WHERE id = ANY(%s)",
                (list(user_ids),),
            )
            return [tuple(row.values()) for row in curs.fetchall()]


class PostgresSnapshotRecorder(PostgresAggregateRecorder):
    """Snapshots of a big event are megabytes: send each as plain parameters,
    not through the library's composite-array insert, which psycopg escapes
    in Python (about 60 ms instead of 3 ms for 10,000 registrations)."""

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **_: Any) -> None:
        curs.executemany(
            SQL(
                "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
                " VALUES (%s, %s, %s, %s)"
            ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name)),
            [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored_events],
        )


class PostgresStore(PostgresFactory):
    application_recorder_class = PostgresRecorder
    aggregate_recorder_class = PostgresSnapshotRecorder


class SQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS handled_commands ("
            "dedupe_key TEXT PRIMARY KEY, reply TEXT NOT NULL, outcome TEXT NOT NULL,"
            " handled_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            # The platform's users, for a trial without PostgreSQL (PROTOCOL.md).
            "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, username TEXT NOT NULL,"
            " password_hash TEXT, bio TEXT, birthday TEXT, sex TEXT, name TEXT, city TEXT,"
            " rating REAL DEFAULT 0.0, manual_score INTEGER DEFAULT 2)",
        ]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        handled: Sequence[Handled] = kwargs.get("handled") or ()
        if handled:
            c.executemany(
                "INSERT OR REPLACE INTO handled_commands (dedupe_key, reply, outcome) VALUES (?, ?, ?)",
                [tuple(h) for h in handled],
            )
        return super()._insert_events(c, stored_events, **kwargs)

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


class SQLiteStore(SQLiteFactory):
    application_recorder_class = SQLiteRecorder
