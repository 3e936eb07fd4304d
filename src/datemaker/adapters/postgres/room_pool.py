"""The pool of Meet rooms on PostgreSQL (step 0011): one row per room made.
Taking rooms is one UPDATE over rows locked with SKIP LOCKED, so two
instances taking at once get different rooms and neither waits for the
other; `taken_for` is set once and never cleared, so a room can never be
handed to a second event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.sql import SQL, Identifier

from datemaker.domain.rooms import Room


class PostgresRoomPool:
    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore  # eventsourcing's PostgresDatastore: pooled, reconnecting
        self.schema = Identifier(datastore.schema)

    def add(self, rooms: Sequence[Room], made_at: datetime, taken_for: int | None = None) -> None:
        if not rooms:
            return
        with self.datastore.transaction(commit=True) as curs:
            curs.executemany(
                SQL(
                    "INSERT INTO {schema}.meet_rooms (space, uri, account, made_at, taken_for, taken_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (space) DO NOTHING"
                ).format(schema=self.schema),
                [(r.space, r.uri, r.account, made_at, taken_for, made_at if taken_for is not None else None)
                 for r in rooms],
            )

    def take(self, event_id: int, count: int, at: datetime) -> list[Room]:
        if count <= 0:
            return []
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "SELECT space, uri, account FROM {schema}.meet_rooms"
                    " WHERE taken_for = %s AND NOT settled ORDER BY taken_at, space LIMIT %s"
                ).format(schema=self.schema),
                (event_id, count),
            )
            rooms = [Room(r["space"], r["uri"], r["account"]) for r in curs.fetchall()]
            if len(rooms) < count:
                curs.execute(
                    SQL(
                        "UPDATE {schema}.meet_rooms SET taken_for = %s, taken_at = %s WHERE space IN ("
                        " SELECT space FROM {schema}.meet_rooms WHERE taken_for IS NULL"
                        " ORDER BY made_at, space LIMIT %s FOR UPDATE SKIP LOCKED)"
                        " RETURNING space, uri, account, made_at"
                    ).format(schema=self.schema),
                    (event_id, at, count - len(rooms)),
                )
                fresh = sorted(curs.fetchall(), key=lambda r: (r["made_at"], r["space"]))
                rooms += [Room(r["space"], r["uri"], r["account"]) for r in fresh]
        return rooms

    def settle(self, event_id: int, spaces: Sequence[str]) -> None:
        if not spaces:
            return
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("UPDATE {schema}.meet_rooms SET settled = TRUE WHERE taken_for = %s AND space = ANY(%s)")
                .format(schema=self.schema),
                (event_id, list(spaces)),
            )

    def free(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT count(*) AS n FROM {schema}.meet_rooms WHERE taken_for IS NULL")
                         .format(schema=self.schema))
            return int(curs.fetchone()["n"])

    def set_account(self, name: str, usable: bool, reason: str, at: datetime) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {schema}.meet_accounts AS a (name, usable, reason, since) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (name) DO UPDATE SET usable = EXCLUDED.usable, reason = EXCLUDED.reason,"
                    " since = EXCLUDED.since WHERE a.usable IS DISTINCT FROM EXCLUDED.usable"
                    " OR a.reason IS DISTINCT FROM EXCLUDED.reason"
                ).format(schema=self.schema),
                (name, usable, reason, at),
            )

    def accounts(self) -> dict[str, tuple[bool, str, datetime]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT name, usable, reason, since FROM {schema}.meet_accounts").format(schema=self.schema))
            return {r["name"]: (r["usable"], r["reason"], r["since"]) for r in curs.fetchall()}
