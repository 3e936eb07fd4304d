"""`datemaker privacy rewrap`: after a master key rotation, every live person
key is wrapped again by the current master key. Until then the keys the
previous one wrapped open with it (DATEMAKER_PREVIOUS_MASTER_KEY_FILE, read by
the keyring). A key is replaced only while it holds what was read (an erase
meanwhile wins), in batches, so a second run changes nothing. Once no key is
wrapped by another master key, the others' checks are forgotten: starting with
the retired key is then the one clear error, not unreadable rows later."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag

from datemaker.adapters.privacy.keyring import Keyring, label
from datemaker.adapters.privacy.master_key import MasterKeyError


class RewrapStore(Protocol):
    def wrapped_by_others(self, kid: bytes, after: tuple[str, int], limit: int) -> list[tuple[str, int, bytes]]: ...

    def replace_wrapped(self, rows: Sequence[tuple[str, int, bytes, bytes]]) -> int: ...

    def count_wrapped_by_others(self, kid: bytes) -> int: ...

    def forget_master_checks(self, keep: bytes) -> None: ...


@dataclass(frozen=True)
class Rewrapped:
    rewrapped: int
    left: int  # still wrapped by another master key (0: done)

    def line(self, current: str) -> str:
        done = "done" if not self.left else "run it again once the master key they name is configured"
        return (f"{self.rewrapped} person keys wrapped anew by master key {current};"
                f" {self.left} still wrapped by another ({done})")


def rewrap(keyring: Keyring, store: RewrapStore, batch: int = 500) -> Rewrapped:
    current = keyring.masters.current
    after, rewrapped = ("", 0), 0
    while rows := store.wrapped_by_others(current.kid, after, batch):
        after = (rows[-1][0], rows[-1][1])
        anew = []
        for subject, generation, wrapped in rows:
            master = keyring.masters.for_blob(wrapped)
            if master is None:
                continue  # wrapped by a key that is not configured: counted as left
            try:
                secret = master.unwrap(wrapped, label(subject, generation))
            except InvalidTag:
                raise MasterKeyError(f"the key of {label(subject, generation)} does not open with {master.where}") from None
            anew.append((subject, generation, wrapped, current.wrap(secret, label(subject, generation))))
        if anew:
            rewrapped += store.replace_wrapped(anew)
    left = store.count_wrapped_by_others(current.kid)
    if not left:
        store.forget_master_checks(current.kid)
    return Rewrapped(rewrapped, left)
