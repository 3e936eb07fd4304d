"""Each person's own key, made the first time something personal about them is
recorded, kept wrapped by the master key in `datemaker.person_keys`, and
destroyed when they are erased: what it sealed can then never be read again
(crypto-shredding), while the history around it stays whole.

A key has a subject (`user:<id>`, or `room:<event>` for names seen in an
event's rooms that belong to nobody known) and a generation: an erased person
who comes back gets the next generation, a new key, and is a new person.

A new key goes into the store in the same transaction as the first events it
sealed (the recorders take `take_new_keys()`), so no event is ever stored
with a key that is not; and a cached key that sealed something is checked in
that transaction to be still live (`take_used_keys()`), so nothing is sealed
with a key another instance's erase destroyed. Keys are cached for `ttl`
seconds: reads on this instance honour an erase elsewhere within that time."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from datemaker.adapters.privacy.randomness import random_bytes
from datemaker.adapters.privacy.master_key import KEY_BYTES, NONCE_BYTES, MasterKeyError, MasterKeys

CACHE_SECONDS = 60.0
CACHE_MAX = 200_000  # entries; past it the cache starts again
SEALS_KEPT = 8  # per key: the few versions of one person's fields

Marker = list[Any]  # [subject, generation, base64(nonce | AES-GCM ciphertext)]
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode  # one encoder: json.dumps makes one a call


@dataclass(frozen=True)
class NewKey:
    subject: str
    generation: int
    wrapped: bytes


class KeyStore(Protocol):
    def master_checks(self) -> dict[bytes, bytes]:
        """kid -> check blob of every master key that has wrapped keys here."""

    def add_master_check(self, kid: bytes, check: bytes) -> None: ...

    def latest_keys(self, subjects: Sequence[str]) -> dict[str, tuple[int, bytes | None]]:
        """Each subject's latest generation and its wrapped key (None: erased)."""

    def wrapped_keys(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], bytes | None]: ...

    def erased_generations(self, subjects: Sequence[str]) -> dict[str, int]:
        """Each subject's last destroyed generation, for those erased at least once."""


class SealedDataError(Exception):
    """A sealed field does not open with the key it names: the row was altered."""


@dataclass
class _Live:
    generation: int
    aead: AESGCM
    wrapped: bytes
    stored: bool
    at: float
    # plain -> what this very key sealed it to: gone with the key (dropped, erased, replaced)
    sealed: dict[str, str] = field(default_factory=dict)


def label(subject: str, generation: int) -> str:
    return f"{subject}#{generation}"


class Keyring:
    def __init__(self, store: KeyStore, masters: MasterKeys, *, ttl: float = CACHE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store, self.masters, self.ttl, self._now = store, masters, ttl, monotonic
        self._live: dict[str, _Live] = {}
        self._opened: dict[tuple[str, int], tuple[AESGCM | None, float]] = {}
        self._making = threading.Lock()
        self._local = threading.local()
        # False for a reader that never needs anyone's personal fields (the
        # outbox relay, the analytics follower): what is sealed stays sealed in
        # its states, and its snapshots carry the seals over as they are, with
        # no key looked up, opened or used.
        self.opens = True

    # --- at start -----------------------------------------------------------

    def check_master(self) -> None:
        """The one clear error when the configured master key is not the one
        this store's keys were made with; a first start records its check."""
        checks = self.store.master_checks()
        self.masters.check(checks)
        if self.masters.current.kid not in checks:
            self.store.add_master_check(self.masters.current.kid, self.masters.current.make_check())

    # --- sealing ------------------------------------------------------------

    def prepare(self, subjects: Iterable[str]) -> None:
        """Look up, in one query, the keys about to seal these subjects."""
        now = self._now()
        missing = sorted({s for s in subjects if not self._fresh_live(s, now)})
        if not missing:
            return
        found = self.store.latest_keys(missing)
        with self._making:
            for subject in missing:
                latest = found.get(subject)
                if latest is not None and latest[1] is not None:
                    generation, wrapped = latest
                    self._live[subject] = _Live(generation, self._unwrap(subject, generation, wrapped),
                                                wrapped, True, now)
                else:
                    self._make(subject, (latest[0] if latest else 0) + 1, now)

    def seal(self, subject: str, values: dict[str, Any]) -> Marker:
        now = self._now()
        while (live := self._live.get(subject)) is None or not self._fresh_live(subject, now):
            self.prepare([subject])  # again if another thread's failed save dropped it meanwhile
        which = (subject, live.generation)
        if not live.stored:
            new = self._new_keys()
            if which not in new:
                new[which] = NewKey(subject, live.generation, live.wrapped)
        else:  # cached: checked in the save's transaction that no erase destroyed it since
            self._used_keys().add(which)
        plain = _encode(values)
        text = live.sealed.get(plain)
        if text is None:  # the same values sealed again (a snapshot of a registration): the same ciphertext
            nonce = random_bytes(NONCE_BYTES)
            sealed = live.aead.encrypt(nonce, plain.encode(), label(subject, live.generation).encode())
            text = base64.b64encode(nonce + sealed).decode()
            if len(live.sealed) >= SEALS_KEPT:
                live.sealed.clear()
            live.sealed[plain] = text
        return [subject, live.generation, text]

    def take_new_keys(self) -> list[NewKey]:
        """This thread's keys that sealed something and may not be stored yet."""
        return list(self._new_keys().values())

    def take_used_keys(self) -> list[tuple[str, int]]:
        """This thread's stored keys that sealed something: still live, or the save fails."""
        return sorted(self._used_keys())

    def confirm_new_keys(self) -> None:
        """The save that carried them committed: they are stored."""
        for key in self._new_keys().values():
            live = self._live.get(key.subject)
            if live is not None and live.generation == key.generation:
                live.stored = True
        self._local.new, self._local.used = {}, set()

    def drop_new_keys(self) -> None:
        """The save failed and another writer may have made the key first: look again."""
        for key in self._new_keys().values():
            self._live.pop(key.subject, None)
        self._local.new, self._local.used = {}, set()

    # --- opening ------------------------------------------------------------

    def open(self, marker: Marker) -> dict[str, Any] | None:
        """The sealed values, or None once the key is destroyed (erased)."""
        subject, generation, text = marker[0], int(marker[1]), marker[2]
        aead = self._key_for(subject, generation)
        if aead is None:
            return None
        blob = base64.b64decode(text)
        try:
            plain = aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], label(subject, generation).encode())
        except InvalidTag:
            raise SealedDataError(f"a sealed field of {subject} does not open with its key") from None
        values: dict[str, Any] = json.loads(plain)
        return values

    def prefetch(self, wanted: Iterable[tuple[str, int]]) -> None:
        """Look up, in one query, the keys these markers will need."""
        now = self._now()
        missing = sorted({w for w in wanted if not self._fresh_opened(w, now)})
        if missing:
            self._remember(self.store.wrapped_keys(missing), missing, now)

    def forget(self, subject: str) -> None:
        """This instance destroyed the subject's key: stop using it at once."""
        self._live.pop(subject, None)
        for wanted in [w for w in self._opened if w[0] == subject]:
            self._opened.pop(wanted, None)

    # --- internals ----------------------------------------------------------

    def _key_for(self, subject: str, generation: int) -> AESGCM | None:
        live = self._live.get(subject)
        if live is not None and live.generation == generation and self._now() - live.at < self.ttl:
            return live.aead
        wanted = (subject, generation)
        if not self._fresh_opened(wanted, self._now()):
            self.prefetch([wanted])
        return self._opened[wanted][0]

    def _remember(self, found: dict[tuple[str, int], bytes | None], wanted: Sequence[tuple[str, int]],
                  now: float) -> None:
        if len(self._opened) > CACHE_MAX:
            self._opened.clear()
        for subject, generation in wanted:
            wrapped = found.get((subject, generation))
            aead = self._unwrap(subject, generation, wrapped) if wrapped is not None else None
            self._opened[(subject, generation)] = (aead, now)

    def _make(self, subject: str, generation: int, now: float) -> None:
        secret = random_bytes(KEY_BYTES)
        wrapped = self.masters.current.wrap(secret, label(subject, generation))
        if len(self._live) > CACHE_MAX:
            self._live.clear()
        self._live[subject] = _Live(generation, AESGCM(secret), wrapped, False, now)

    def _unwrap(self, subject: str, generation: int, wrapped: bytes) -> AESGCM:
        master = self.masters.for_blob(wrapped)
        if master is None:
            raise MasterKeyError(f"the key of {label(subject, generation)} was wrapped by master key"
                                 f" {bytes(wrapped[:4]).hex()}, which is not configured (README, Privacy)")
        try:
            return AESGCM(master.unwrap(bytes(wrapped), label(subject, generation)))
        except InvalidTag:
            raise MasterKeyError(f"the key of {label(subject, generation)} does not open with"
                                 f" {master.where}") from None

    def _fresh_live(self, subject: str, now: float) -> bool:
        live = self._live.get(subject)
        return live is not None and (not live.stored or now - live.at < self.ttl)

    def _fresh_opened(self, wanted: tuple[str, int], now: float) -> bool:
        hit = self._opened.get(wanted)
        return hit is not None and now - hit[1] < self.ttl

    def _used_keys(self) -> set[tuple[str, int]]:
        used: set[tuple[str, int]] | None = getattr(self._local, "used", None)
        if used is None:
            used = self._local.used = set()
        return used

    def _new_keys(self) -> dict[tuple[str, int], NewKey]:
        new: dict[tuple[str, int], NewKey] | None = getattr(self._local, "new", None)
        if new is None:
            new = self._local.new = {}
        return new
