"""`datemaker privacy reseal`: a history recorded before sealing existed holds
personal fields in clear. Each such stored event's state is replaced by the
same event with those fields sealed (the app's own mapper, so what is written
is exactly what a save would write today); snapshots that hold them are
dropped (taken again as events are saved, and until then loading falls back
to the events). Along the way the people of those histories are noted in
`person_events`, and events already over get their `over_at`.

Resumable and idempotent: a batch is one transaction, a sealed row is
skipped, so a second run changes nothing. New saves are sealed already, and a
row is replaced only while it still holds what was read (the SQL modules), so
two runs, or a run beside the service, are harmless. A key is stored in the
same transaction as the rows it sealed; a key another writer made first fails
the batch, which is read and sealed again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Mapper, StoredEvent

from datemaker.adapters.privacy.keyring import Keyring, NewKey
from datemaker.adapters.privacy.personal_fields import AGGREGATE, PERSONAL_TOPICS, REGISTERED, SNAPSHOT, Walk, subjects_to_seal
from datemaker.adapters.privacy.sealing_mapper import SealingMapper

RESEALED_TOPICS = tuple(sorted(PERSONAL_TOPICS - {SNAPSHOT}))
OVER_TOPICS = tuple(f"{AGGREGATE}.{name}" for name in ("Finished", "Skipped", "Cancelled"))
SNAPSHOTS_AT_ONCE = 10  # a snapshot of a big event is megabytes
TRIES = 5  # batches that lost a key to another writer, read again

Row = tuple[int, StoredEvent]  # (notification id, the stored event)


class Writing(Protocol):
    """One batch's transaction (keys, then people, then rows: the order a save takes its locks in)."""

    def store_keys(self, keys: Sequence[NewKey]) -> None: ...

    def note_people(self, people: Sequence[tuple[int, int]]) -> int: ...

    def replace_states(self, rows: Sequence[tuple[int, bytes, bytes]]) -> int:
        """(notification id, state read, sealed state): rows still holding what was read."""


class ResealStore(Protocol):
    def events_after(self, after: int, topics: Sequence[str], limit: int) -> list[Row]: ...

    def writing(self) -> AbstractContextManager[Writing]: ...

    def missing_people(self, people: Sequence[tuple[int, int]]) -> int: ...

    def snapshots_after(self, after: tuple[str, int] | None, limit: int) -> list[StoredEvent]: ...

    def drop_snapshots(self, snapshots: Sequence[StoredEvent]) -> int:
        """Those still holding what was read."""

    def first_events(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]: ...

    def last_over_events(self, topics: Sequence[str]) -> list[StoredEvent]: ...

    def over_at_missing(self, wire_ids: Sequence[int]) -> set[int]: ...

    def fill_over_at(self, rows: Sequence[tuple[int, int, datetime]]) -> int:
        """(wire id, state, over at) where over_at is not set yet."""


@dataclass
class Counts:
    events: int = 0
    snapshots: int = 0
    people: int = 0
    over: int = 0

    def line(self, dry_run: bool) -> str:
        would = "would be " if dry_run else ""
        return (f"{self.events} events {would}resealed, {self.snapshots} snapshots {would}dropped,"
                f" {self.people} people {would}noted, {self.over} events' end {would}filled in")


def decoded(mapper: Mapper[Any], stored: StoredEvent) -> dict[str, Any]:
    """The recorded state as stored (sealed fields still sealed)."""
    state = stored.state
    if mapper.cipher:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor:
        state = mapper.compressor.decompress(state)
    found: dict[str, Any] = mapper.transcoder.decode(state)
    return found


def holds_plain(mapper: Mapper[Any], stored: StoredEvent) -> bool:
    return bool(subjects_to_seal(stored.topic, decoded(mapper, stored), stored.originator_id))


def erased_marker(subject: str, generation: int) -> list[Any]:
    """Reads as erased: it names a key that is destroyed (and holds nothing)."""
    return [subject, generation, ""]


class Resealer:
    def __init__(self, mapper: SealingMapper, store: ResealStore, *, batch: int = 500) -> None:
        if mapper.keyring is None:
            raise ValueError("resealing needs the store's keyring")
        self.mapper, self.keyring, self.store, self.batch = mapper, mapper.keyring, store, batch
        self._wire_ids: dict[UUID, int] = {}

    def run(self, dry_run: bool = False) -> Counts:
        counts = Counts()
        self._events(counts, dry_run)
        self._snapshots(counts, dry_run)
        self._over(counts, dry_run)
        return counts

    def sealed(self, stored: StoredEvent, erased: dict[str, int]) -> StoredEvent:
        """The same event with its plain personal fields sealed; those of a
        person erased since are written as erased, never under a new key (not
        even the key of their coming back after the erase)."""
        domain_event = self.mapper.to_domain_event(stored)
        state = vars(domain_event)
        keyring: Keyring = self.keyring

        def seal(subject: str, values: dict[str, Any]) -> list[Any]:
            if subject in erased:
                return erased_marker(subject, erased[subject])
            return keyring.seal(subject, values)

        copy = object.__new__(type(domain_event))
        object.__setattr__(copy, "__dict__", Walk(seal=seal).event(stored.topic, state, state["originator_id"]))
        return Mapper.to_stored_event(self.mapper, copy)

    # --- the steps ----------------------------------------------------------

    def _events(self, counts: Counts, dry_run: bool) -> None:
        after, seen = 0, set()  # (a dry run notes nobody: each person once across batches)
        while rows := self.store.events_after(after, RESEALED_TOPICS, self.batch):
            after = rows[-1][0]
            people = self._people([stored for _, stored in rows])
            if dry_run:
                counts.events += sum(1 for _, stored in rows if holds_plain(self.mapper, stored))
                counts.people += self.store.missing_people([p for p in people if p not in seen])
                seen.update(people)
                continue
            resealed, noted = self._retrying(lambda: self._write([r for r in rows if holds_plain(self.mapper, r[1])],
                                                                people))
            counts.events += resealed
            counts.people += noted

    def _write(self, rows: Sequence[Row], people: Sequence[tuple[int, int]]) -> tuple[int, int]:
        erased = self._erased(rows)
        try:
            replaced = [(nid, stored.state, self.sealed(stored, erased).state) for nid, stored in rows]
            with self.store.writing() as tx:
                tx.store_keys(self.keyring.take_new_keys())
                noted = tx.note_people(people)
                changed = tx.replace_states(replaced) if replaced else 0
        except BaseException:
            self.keyring.drop_new_keys()
            raise
        self.keyring.confirm_new_keys()
        return changed, noted

    def _retrying(self, write: Callable[[], tuple[int, int]]) -> tuple[int, int]:
        for attempt in range(TRIES):
            try:
                return write()
            except IntegrityError:  # another writer made one of the keys first: seal again with it
                if attempt == TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _snapshots(self, counts: Counts, dry_run: bool) -> None:
        after: tuple[str, int] | None = None
        while snapshots := self.store.snapshots_after(after, SNAPSHOTS_AT_ONCE):
            last = snapshots[-1]
            after = (str(last.originator_id), last.originator_version)
            plain = [s for s in snapshots if holds_plain(self.mapper, s)]
            counts.snapshots += len(plain) if dry_run or not plain else self.store.drop_snapshots(plain)

    def _over(self, counts: Counts, dry_run: bool) -> None:
        ends: dict[int, tuple[int, datetime]] = {}
        last = self.store.last_over_events(OVER_TOPICS)
        wire_ids = self._wire_id_of([stored.originator_id for stored in last])  # type: ignore[misc]
        for stored in last:
            state = decoded(self.mapper, stored)
            ends[wire_ids[stored.originator_id]] = (int(state["state"]), state.get("at") or state["timestamp"])  # type: ignore[index]
        if not ends:
            return
        missing = self.store.over_at_missing(sorted(ends))
        if dry_run:
            counts.over += len(missing)
        elif missing:
            counts.over += self.store.fill_over_at([(w, *ends[w]) for w in sorted(missing)])

    # --- helpers ------------------------------------------------------------

    def _people(self, events: Sequence[StoredEvent]) -> list[tuple[int, int]]:
        registered = [s for s in events if s.topic == REGISTERED]
        wire_ids = self._wire_id_of([s.originator_id for s in registered])  # type: ignore[misc]
        return sorted({(int(decoded(self.mapper, s)["user_id"]), wire_ids[s.originator_id])  # type: ignore[index]
                       for s in registered})

    def _wire_id_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The aggregate's wire id, from its first recorded event."""
        unknown = sorted({oid for oid in originator_ids if oid not in self._wire_ids}, key=str)
        if unknown:
            for first in self.store.first_events(unknown):
                self._wire_ids[first.originator_id] = int(decoded(self.mapper, first)["wire_id"])  # type: ignore[index]
        return self._wire_ids

    def _erased(self, rows: Sequence[Row]) -> dict[str, int]:
        subjects: set[str] = set()
        for _, stored in rows:
            subjects |= subjects_to_seal(stored.topic, decoded(self.mapper, stored), stored.originator_id)
        # A plain record predates sealing, so every erase of its person came after
        # it and covers it: erased, even when they came back with a new key since.
        erased = self.keyring.store.erased_generations(sorted(subjects)) if subjects else {}
        self.keyring.prepare(subjects - erased.keys())  # the others' keys in one query
        return erased

