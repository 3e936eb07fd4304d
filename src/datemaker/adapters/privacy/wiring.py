"""Puts the keyring between the event store's mapper and its recorder: the
store factories (PostgreSQL and embedded) make a SealingMapper, and once the
recorder is open, the keyring it reads keys from and writes new keys with."""

from __future__ import annotations

from typing import Any

from datemaker.adapters.privacy.keyring import Keyring, KeyStore
from datemaker.adapters.privacy.master_key import ENV_CREATE, ENV_FILE, ENV_KEY, ENV_PREVIOUS, load_master_keys
from datemaker.adapters.privacy.sealing_mapper import SealingMapper


def open_keyring(env: Any, mapper: Any, recorder: Any, store: KeyStore) -> Keyring:
    """The keyring of this store; a missing or wrong master key raises MasterKeyError here, at start."""
    names = (ENV_KEY, ENV_FILE, ENV_PREVIOUS, ENV_CREATE)
    masters = load_master_keys({name: env.get(name) or "" for name in names},
                               sealed_with=lambda: sorted(kid.hex() for kid in store.master_checks()))
    keyring = Keyring(store, masters)
    keyring.check_master()
    if isinstance(mapper, SealingMapper):
        mapper.keyring = keyring
    recorder.keyring = keyring  # a KeyedRecorder
    return keyring


class SealingFactory:
    """Mixed into the store factories: their mapper seals personal fields."""

    sealing_mapper: SealingMapper | None = None

    def mapper(self, transcoder: Any = None, mapper_class: Any = None) -> Any:
        mapper = super().mapper(transcoder=transcoder, mapper_class=mapper_class or SealingMapper)  # type: ignore[misc]
        self.sealing_mapper = mapper
        return mapper
