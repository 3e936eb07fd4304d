"""The eventsourcing library's PostgreSQL recorders, extended to write, in the
same transaction as the events a save records, the replies of handled bot
commands (`app.save(..., handled=[...])`), each event's next deadline and its
summary row; and to answer the other operations of the store port
(`app/ports.py`). Chosen by topic in `adapters.event_store.persistence_env`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresFactory
from psycopg.sql import SQL, Identifier

from datemaker.adapters.postgres.lease_holder import LIVE_HOLDERS, LeaseHolder
from datemaker.adapters.postgres.pair_history import select_pair_history, write_pair_history
from datemaker.adapters.postgres.save_extras import refuse_blocked, save_blocks, settle_platform_writes
from datemaker.adapters.postgres.tls import ENV_NAMES
from datemaker.adapters.postgres.person_keys import PostgresKeyStore, check_keys_live, insert_new_keys
from datemaker.adapters.privacy.keyed_recorder import KeyedRecorder
from datemaker.adapters.privacy.wiring import SealingFactory, open_keyring
from datemaker.adapters.store_errors import translating
from datemaker.app.ports import (
    DatesHeld,
    Deadline,
    Handled,
    PairFact,
    PlatformWrite,
    ReactionGiven,
    Registering,
)


def seed_users_sql(table: str, on_conflict: str) -> str:
    return (f"INSERT INTO {table} (id, username, sex, birthday, city, rating, manual_score)"
            f" VALUES ({', '.join(['%s'] * 7)}) {on_conflict}")


POOL_RECONNECT_SECONDS = 2.0


@translating(psycopg.OperationalError, psycopg.InterfaceError)
class PostgresRecorder(KeyedRecorder, PostgresApplicationRecorder):
    lease_holder: LeaseHolder | None = None  # given by PostgresStore: who this process is on a lease

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
        # One statement per table, rows as column arrays: a batch of hundreds
        # of events costs one round trip each, not one per event.
        schema = Identifier(self.datastore.schema)
        deadlines: Sequence[Deadline] = kwargs.get("deadlines") or ()
        # (one row per event: an upsert may not touch a row twice)
        pending = list({d.wire_id: d for d in deadlines if d.due_at is not None}.values())
        if pending:
            curs.execute(
                SQL(
                    "INSERT INTO {schema}.deadlines (wire_id, due_at, action)"
                    " SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[])"
                    " ON CONFLICT (wire_id) DO UPDATE"
                    " SET due_at = EXCLUDED.due_at, action = EXCLUDED.action, leased_until = NULL"
                ).format(schema=schema),
                ([d.wire_id for d in pending], [d.due_at for d in pending], [d.action for d in pending]),
            )
        summaries = list({x.wire_id: x for x in kwargs.get("summaries") or ()}.values())
        if summaries:
            curs.execute(
                SQL(
                    "INSERT INTO {schema}.event_summary (wire_id, state, active_dates, over_at)"
                    " SELECT * FROM unnest(%s::bigint[], %s::smallint[], %s::integer[], %s::timestamptz[])"
                    " ON CONFLICT (wire_id) DO UPDATE"
                    " SET state = EXCLUDED.state, active_dates = EXCLUDED.active_dates,"
                    " over_at = coalesce({schema}.event_summary.over_at, EXCLUDED.over_at)"
                ).format(schema=schema),
                ([x.wire_id for x in summaries], [x.state for x in summaries], [x.active_dates for x in summaries],
                 [x.over_at for x in summaries]),
            )
        done = [d.wire_id for d in deadlines if d.due_at is None]
        if done:
            curs.execute(
                SQL("DELETE FROM {schema}.deadlines WHERE wire_id = ANY(%s)").format(
                    schema=Identifier(self.datastore.schema)
                ),
                (done,),
            )
        taken: Sequence[tuple[PlatformWrite, str | None]] = kwargs.get("platform_done") or ()
        if taken:
            settle_platform_writes(curs, taken)
        if kwargs.get("blocks"):
            save_blocks(curs, schema, kwargs["blocks"])
        registering: Registering | None = kwargs.get("registering")
        if registering is not None and registering.user_ids:
            # Under the write lock every save of events takes (the library's):
            # a block saved before it is seen here, one saved after it finds
            # this registration committed (and withdraws it).
            self._lock_table(curs)
            refuse_blocked(curs, schema, registering)
        write_pair_history(curs, schema, kwargs.get("dates_held") or (), kwargs.get("reactions") or ())
        insert_new_keys(curs, self.datastore.schema, self.take_new_keys(), kwargs.get("people") or ())
        self.refuse_erased_keys(check_keys_live(curs, self.datastore.schema, self.take_used_keys()))
        super()._insert_events(curs, stored_events, **kwargs)

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """As the library does (table lock for gap-free notification ids, then
        NOTIFY), but the rows go as one array per column: psycopg dumps those
        in C, where an array of the library's composite type is dumped as text
        in Python, which was a third of the round clock's time per event."""
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            SQL(
                "INSERT INTO {schema}.{events} (originator_id, originator_version, topic, state)"
                " SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], %s::text[], %s::bytea[])"
                " RETURNING notification_id"
            ).format(
                schema=Identifier(self.datastore.schema),
                events=Identifier(self.events_table_name),
                id_type=Identifier(self.datastore.originator_id_type),
            ),
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
        )

    def pair_history(self, user_ids: Sequence[int], remeet_events: int) -> list[PairFact]:
        with self.datastore.transaction(commit=False) as curs:
            return select_pair_history(curs, Identifier(self.datastore.schema), user_ids, remeet_events)

    def record_pair_history(self, dates: Sequence[DatesHeld], reactions: Sequence[ReactionGiven]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            write_pair_history(curs, Identifier(self.datastore.schema), dates, reactions)

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Deadline]:
        """Lease up to `limit` due deadlines that no live lease holds: a lease
        is live until its time runs out or its holder dies (lease_holder.py)."""
        holder = self.lease_holder.number() if self.lease_holder is not None else None
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "UPDATE {schema}.deadlines SET leased_until = %(lease_until)s, leased_by = %(holder)s"
                    " WHERE wire_id IN (SELECT wire_id FROM {schema}.deadlines"
                    "   WHERE due_at <= %(now)s AND (leased_until IS NULL OR leased_until <= %(now)s"
                    "     OR leased_by NOT IN (" + LIVE_HOLDERS + "))"
                    "   ORDER BY due_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                    " RETURNING wire_id, due_at, action"
                ).format(schema=Identifier(self.datastore.schema)),
                {"now": now, "lease_until": lease_until, "limit": limit, "holder": holder},
            )
            return sorted((Deadline(**row) for row in curs.fetchall()), key=lambda d: d.due_at)

    def select_events_after(self, known: Sequence[tuple[UUID, int]]) -> list[StoredEvent]:
        """What was stored after the given versions of several aggregates, in
        one query, by aggregate then version (the clock's cache catching up)."""
        if not known:
            return []
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {schema}.{events} e"
                    " JOIN unnest(%s::uuid[], %s::bigint[]) AS k(id, version)"
                    "   ON e.originator_id = k.id AND e.originator_version > k.version"
                    " ORDER BY e.originator_id, e.originator_version"
                ).format(schema=Identifier(self.datastore.schema), events=Identifier(self.events_table_name)),
                ([oid for oid, _ in known], [version for _, version in known]),
            )
            found = [
                StoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))
                for row in curs.fetchall()
            ]
        self.prefetch_keys(found)
        return found

    def overview(self) -> dict[str, Any]:
        """Numbers about all events, for gauges: counts by state, running
        dates, and how far the outbox lags behind the event log."""
        schema = Identifier(self.datastore.schema)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT state, count(*) AS n FROM {schema}.event_summary GROUP BY state").format(schema=schema))
            by_state = {int(row["state"]): int(row["n"]) for row in curs.fetchall()}
            curs.execute(SQL("SELECT coalesce(sum(active_dates), 0) AS n FROM {schema}.event_summary").format(schema=schema))
            active = int(curs.fetchone()["n"])
            curs.execute(
                SQL(
                    "SELECT (SELECT coalesce(max(notification_id), 0) FROM {schema}.{events}) AS head,"
                    " (SELECT coalesce(max(position), 0) FROM {schema}.outbox_position) AS position,"
                    " (SELECT coalesce(max(notification_id), 0) FROM {schema}.projection_tracking) AS projected"
                ).format(schema=schema, events=Identifier(self.events_table_name))
            )
            row = curs.fetchone()
        return {"by_state": by_state, "active_dates": active, "head": int(row["head"]),
                "position": int(row["position"]), "projected": int(row["projected"])}

    def next_due_at(self) -> datetime | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT min(due_at) AS due FROM {schema}.deadlines").format(schema=Identifier(self.datastore.schema)))
            row = curs.fetchone()
            return row["due"] if row else None

    def outbox_position(self, name: str) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT position FROM {schema}.outbox_position WHERE name = %s").format(
                    schema=Identifier(self.datastore.schema)
                ),
                (name,),
            )
            row = curs.fetchone()
            return int(row["position"]) if row else 0

    def set_outbox_position(self, name: str, position: int) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {schema}.outbox_position (name, position) VALUES (%s, %s)"
                    " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position"
                ).format(schema=Identifier(self.datastore.schema)),
                (name, position),
            )

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

    def seed_platform_users(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Simulated users for the demo (the platform's bot owns this table)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.executemany(
                seed_users_sql("public.users", "ON CONFLICT (id) DO UPDATE SET sex = EXCLUDED.sex,"
                               " birthday = EXCLUDED.birthday, city = EXCLUDED.city"),
                list(rows),
            )

    def claim_platform_writes(self, now: datetime, lease_until: datetime, limit: int) -> list[PlatformWrite]:
        holder = self.lease_holder.number() if self.lease_holder is not None else None
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "UPDATE datemaker.platform_inbox SET leased_until = %(lease_until)s, leased_by = %(holder)s"
                " WHERE id IN (SELECT id FROM datemaker.platform_inbox"
                "   WHERE leased_until IS NULL OR leased_until <= %(now)s OR leased_by NOT IN (" + LIVE_HOLDERS + ")"
                "   ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                " RETURNING id, kind, event_id, user_id, partner_id, start_dttm, users_limit, written_at",
                {"now": now, "lease_until": lease_until, "limit": limit, "holder": holder},
            )
            rows = curs.fetchall()
        return sorted((PlatformWrite(r["id"], r["kind"], r["event_id"], r["user_id"], r["partner_id"], r["start_dttm"],
                                     r["users_limit"], r["written_at"]) for r in rows), key=lambda w: w.id)

    def platform_registrations(self, event_id: int) -> list[tuple[int, datetime]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT DISTINCT ON (user_id) user_id, registered_on_dttm AT TIME ZONE 'UTC' AS at"
                " FROM public.dating_registrations WHERE event_id = %s AND user_id IS NOT NULL"
                " ORDER BY user_id, registered_on_dttm",
                (event_id,),
            )
            return [(int(r["user_id"]), r["at"]) for r in curs.fetchall()]

    def next_event_id(self) -> int | None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT nextval(pg_get_serial_sequence('public.dating_events', 'id')) AS id")
            return int(curs.fetchone()["id"])

    def projected_position(self) -> int | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT coalesce(max(notification_id), 0) AS n FROM {schema}.projection_tracking").format(
                    schema=Identifier(self.datastore.schema)
                )
            )
            return int(curs.fetchone()["n"])

    def platform_names(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT id, name, username FROM public.users WHERE id = ANY(%s)", (sorted(set(user_ids)),))
            return {int(r["id"]): [n for n in (r["name"], r["username"]) if n] for r in curs.fetchall()}


@translating(psycopg.OperationalError, psycopg.InterfaceError)
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




class PostgresStore(SealingFactory, PostgresFactory):
    application_recorder_class = PostgresRecorder
    aggregate_recorder_class = PostgresSnapshotRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # TLS (adapters/postgres/tls.py), which the library's own variables do not cover:
        # its pool opens no connection before the first use, so each one gets them.
        for name, env_name in ENV_NAMES.items():
            if value := self.env.get(env_name):
                self.datastore.pool.kwargs[name] = value  # type: ignore[index]
        # The pool makes a lost connection again with a backoff (1 s, doubling) for 5 minutes,
        # and requests wait for it: 8 s more after a 10 s outage. Given up on sooner, the
        # next request starts a fresh attempt at once.
        self.datastore.pool.reconnect_timeout = POOL_RECONNECT_SECONDS
        # Connects only when a lease is first taken (the followers and the CLI never do).
        self.lease_holder = LeaseHolder(self.datastore.pool.kwargs)

    def application_recorder(self) -> Any:
        recorder = super().application_recorder()
        recorder.lease_holder = self.lease_holder
        open_keyring(self.env, self.sealing_mapper, recorder, PostgresKeyStore(self.datastore))
        return recorder

    def close(self) -> None:
        self.lease_holder.close()
        super().close()
