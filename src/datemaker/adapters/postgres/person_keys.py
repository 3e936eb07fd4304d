"""The person keys on PostgreSQL (step 0012): looked up by the keyring, new
ones written with the events they first sealed, destroyed by an erase."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from eventsourcing.persistence import IntegrityError
from psycopg.sql import SQL, Identifier

from datemaker.adapters.privacy.keyring import NewKey


@lru_cache(maxsize=64)
def statement(template: str, schema: str) -> str:
    """The statement as text, made once: psycopg then reuses its parsed form
    (a composed one is converted again at every call, on every save)."""
    return SQL(template).format(s=Identifier(schema)).as_string(None)


class PostgresKeyStore:
    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore  # the library's PostgresDatastore
        self.schema = Identifier(datastore.schema)

    def master_checks(self) -> dict[bytes, bytes]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT kid, key_check FROM {s}.master_keys").format(s=self.schema))
            return {bytes(r["kid"]): bytes(r["key_check"]) for r in curs.fetchall()}

    def add_master_check(self, kid: bytes, check: bytes) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("INSERT INTO {s}.master_keys (kid, key_check) VALUES (%s, %s)"
                             " ON CONFLICT (kid) DO NOTHING").format(s=self.schema), (kid, check))

    def latest_keys(self, subjects: Sequence[str]) -> dict[str, tuple[int, bytes | None]]:
        with self.datastore.get_connection() as conn:  # one statement: no transaction's round trips
            curs = conn.execute(statement(
                "SELECT DISTINCT ON (subject) subject, generation, wrapped FROM {s}.person_keys"
                " WHERE subject = ANY(%s) ORDER BY subject, generation DESC", self.datastore.schema), (list(subjects),))
            return {r["subject"]: (r["generation"], _bytes(r["wrapped"])) for r in curs.fetchall()}

    def erased_generations(self, subjects: Sequence[str]) -> dict[str, int]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT subject, max(generation) AS generation FROM {s}.person_keys"
                             " WHERE subject = ANY(%s) AND wrapped IS NULL GROUP BY subject").format(s=self.schema),
                         (list(subjects),))
            return {r["subject"]: r["generation"] for r in curs.fetchall()}

    def wrapped_keys(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], bytes | None]:
        with self.datastore.get_connection() as conn:
            curs = conn.execute(statement(
                "SELECT k.subject, k.generation, k.wrapped FROM {s}.person_keys k"
                " JOIN unnest(%s::text[], %s::int[]) AS w (subject, generation) USING (subject, generation)",
                self.datastore.schema), ([s for s, _ in wanted], [g for _, g in wanted]))
            return {(r["subject"], r["generation"]): _bytes(r["wrapped"]) for r in curs.fetchall()}

    # --- `datemaker privacy rewrap` (adapters/privacy/rewrapping.py) ---------

    def wrapped_by_others(self, kid: bytes, after: tuple[str, int], limit: int) -> list[tuple[str, int, bytes]]:
        """Live keys after `after` that master key `kid` did not wrap."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL(
                "SELECT subject, generation, wrapped FROM {s}.person_keys WHERE wrapped IS NOT NULL"
                " AND substring(wrapped from 1 for %s) <> %s AND (subject, generation) > (%s, %s)"
                " ORDER BY subject, generation LIMIT %s").format(s=self.schema),
                (len(kid), kid, after[0], after[1], limit))
            return [(r["subject"], r["generation"], bytes(r["wrapped"])) for r in curs.fetchall()]

    def replace_wrapped(self, rows: Sequence[tuple[str, int, bytes, bytes]]) -> int:
        """(subject, generation, wrapped read, wrapped anew): keys not erased or changed since."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL(
                "UPDATE {s}.person_keys AS k SET wrapped = r.new"
                " FROM unnest(%s::text[], %s::int[], %s::bytea[], %s::bytea[]) AS r (subject, generation, old, new)"
                " WHERE k.subject = r.subject AND k.generation = r.generation AND k.wrapped = r.old"
            ).format(s=self.schema), tuple(list(column) for column in zip(*rows)))
            return int(curs.rowcount)

    def count_wrapped_by_others(self, kid: bytes) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT count(*) AS n FROM {s}.person_keys WHERE wrapped IS NOT NULL"
                             " AND substring(wrapped from 1 for %s) <> %s").format(s=self.schema), (len(kid), kid))
            return int(curs.fetchone()["n"])

    def forget_master_checks(self, keep: bytes) -> None:
        """Master keys that wrap nothing here any more: starting with one of them is the clear error."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {s}.master_keys WHERE kid <> %s").format(s=self.schema), (keep,))


def stored_master_checks(conn: Any, schema: str) -> dict[bytes, bytes]:
    """kid -> check of the master keys, on a connection of its own (the check
    `datemaker serve` makes before it starts anything); none before step 0012."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.master_keys",)).fetchone()
    if not row[0]:
        return {}
    rows = conn.execute(SQL("SELECT kid, key_check FROM {s}.master_keys").format(s=Identifier(schema))).fetchall()
    return {bytes(kid): bytes(check) for kid, check in rows}


def insert_new_keys(curs: Any, schema: str, keys: Sequence[NewKey],
                    people: Sequence[tuple[int, int]] = ()) -> None:
    """Inside the events' transaction, with the people it notes (note_people)
    in the same statement. A key another writer stored first for the same
    subject and generation fails the save (retried on fresh keys): no event
    is ever stored sealed with a key the store does not hold."""
    if not keys and not people:
        return
    curs.execute(statement(
        "WITH noted AS (INSERT INTO {s}.person_events (user_id, wire_id)"
        " SELECT * FROM unnest(%s::bigint[], %s::bigint[]) ON CONFLICT DO NOTHING)"
        " INSERT INTO {s}.person_keys (subject, generation, wrapped)"
        " SELECT * FROM unnest(%s::text[], %s::int[], %s::bytea[])"
        " ON CONFLICT (subject, generation) DO NOTHING RETURNING subject", schema),
        ([u for u, _ in people], [w for _, w in people],
         [k.subject for k in keys], [k.generation for k in keys], [k.wrapped for k in keys]))
    inserted = {r["subject"] for r in curs.fetchall()}
    rest = [k for k in keys if k.subject not in inserted]
    if rest:  # stored by an earlier save of ours, or made by another writer
        curs.execute(statement(
            "SELECT subject, generation, wrapped FROM {s}.person_keys"
            " JOIN unnest(%s::text[], %s::int[]) AS w (subject, generation) USING (subject, generation)", schema),
            ([k.subject for k in rest], [k.generation for k in rest]))
        stored = {(r["subject"], r["generation"]): _bytes(r["wrapped"]) for r in curs.fetchall()}
        if any(stored.get((k.subject, k.generation)) != k.wrapped for k in rest):
            raise IntegrityError("another writer made a person key first")


def check_keys_live(curs: Any, schema: str, used: Sequence[tuple[str, int]]) -> list[str]:
    """The subjects of `used` whose key an erase destroyed since they were cached
    (their rows locked, so an erase waits for this save or this save sees it)."""
    if not used:
        return []
    curs.execute(statement(
        "SELECT k.subject, k.wrapped IS NULL AS erased FROM {s}.person_keys k"
        " JOIN unnest(%s::text[], %s::int[]) AS w (subject, generation) USING (subject, generation)"
        " FOR SHARE OF k", schema), ([s for s, _ in used], [g for _, g in used]))
    return [r["subject"] for r in curs.fetchall() if r["erased"]]


def note_people(curs: Any, schema: Identifier, people: Sequence[tuple[int, int]]) -> None:
    """(user id, wire id) of the people whose data a save records."""
    if people:
        curs.execute(SQL(
            "INSERT INTO {s}.person_events (user_id, wire_id) SELECT * FROM unnest(%s::bigint[], %s::bigint[])"
            " ON CONFLICT DO NOTHING").format(s=schema), ([u for u, _ in people], [w for _, w in people]))


def _bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None
