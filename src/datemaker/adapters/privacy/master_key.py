"""The master key: it wraps every person's key, and nothing else. It comes from
DATEMAKER_MASTER_KEY (base64 text) or the file DATEMAKER_MASTER_KEY_FILE
names; the embedded store makes that file on first use. During a rotation
DATEMAKER_PREVIOUS_MASTER_KEY_FILE names the key being retired, so keys it
wrapped still open until `datemaker privacy rewrap` has wrapped them anew."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from datemaker.adapters.privacy.randomness import random_bytes
from datemaker.logs import get_logger
from datemaker.settings import SettingsError

log = get_logger(__name__)

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
KID_BYTES = 4  # which master key wrapped a blob: the start of its SHA-256
CHECK_TEXT = b"datemaker master key check"

# The names the event store's env carries them under (adapters/event_store.py).
ENV_KEY, ENV_FILE, ENV_PREVIOUS, ENV_CREATE = (
    "DATEMAKER_MASTER_KEY", "DATEMAKER_MASTER_KEY_FILE", "DATEMAKER_PREVIOUS_MASTER_KEY_FILE",
    "DATEMAKER_MASTER_KEY_CREATE")


class MasterKeyError(SettingsError):
    """No master key, an unreadable one, or not the one this store's keys were made with."""


@dataclass(frozen=True)
class MasterKey:
    key: bytes
    where: str  # the variable or the file it came from, for messages (never the key)

    @cached_property
    def kid(self) -> bytes:
        return hashlib.sha256(self.key).digest()[:KID_BYTES]

    @property
    def name(self) -> str:
        return self.kid.hex()

    @cached_property
    def _aead(self) -> AESGCM:  # made once: each new person key is wrapped with it
        return AESGCM(self.key)

    def wrap(self, secret: bytes, label: str) -> bytes:
        """kid | nonce | AES-GCM(secret), bound to `label` (the subject and generation)."""
        nonce = random_bytes(NONCE_BYTES)
        return self.kid + nonce + self._aead.encrypt(nonce, secret, label.encode())

    def unwrap(self, blob: bytes, label: str) -> bytes:
        nonce, sealed = blob[KID_BYTES:KID_BYTES + NONCE_BYTES], blob[KID_BYTES + NONCE_BYTES:]
        return self._aead.decrypt(nonce, sealed, label.encode())

    def opens_check(self, check: bytes) -> bool:
        try:
            return self.unwrap(check, "check") == CHECK_TEXT
        except InvalidTag:
            return False

    def make_check(self) -> bytes:
        return self.wrap(CHECK_TEXT, "check")


@dataclass(frozen=True)
class MasterKeys:
    current: MasterKey
    previous: MasterKey | None = None

    def for_blob(self, blob: bytes) -> MasterKey | None:
        kid = bytes(blob[:KID_BYTES])
        for key in (self.current, self.previous):
            if key is not None and key.kid == kid:
                return key
        return None


    def check(self, checks: Mapping[bytes, bytes]) -> None:
        """The one clear error when these keys are not the ones a store's keys
        were made with (`checks`: kid -> check blob, from `master_keys`)."""
        known = [key for key in (self.current, self.previous) if key is not None]
        for key in known:
            check = checks.get(key.kid)
            if check is not None and not key.opens_check(check):
                raise MasterKeyError(f"{key.where} does not open its own check: the key was altered")
        if checks and not any(key.kid in checks for key in known):
            raise MasterKeyError(
                f"the master key from {self.current.where} is not the one this store's personal data"
                f" was sealed with (it was made with {', '.join(sorted(k.hex() for k in checks))});"
                " without that key it cannot be read: restore it (README, Privacy)")


def new_key_text() -> str:
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def parse_key(text: str, where: str) -> MasterKey:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"{where} is not base64 text (a master key is 32 random bytes in base64)") from None
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"{where} holds {len(key)} bytes; a master key is {KEY_BYTES}")
    return MasterKey(key, where)


def read_key_file(path: Path, where: str) -> MasterKey:
    try:
        text = path.read_text()
    except OSError as exc:
        raise MasterKeyError(f"{where}: cannot read the master key file {path} ({exc.strerror})") from None
    return parse_key(text, f"{where} ({path})")


def write_key_file(path: Path) -> MasterKey:
    """A new master key in a file only its owner can read."""
    text = new_key_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
    return parse_key(text, str(path))


def load_master_keys(env: Mapping[str, str], sealed_with: Callable[[], list[str]] = list) -> MasterKeys:
    """The keys the env names. With ENV_CREATE (the embedded store) a missing
    file is made, and the log says where: lose it and the personal data it
    wraps cannot be read again. So it is made only while `sealed_with()`
    (the master keys the store's keys were wrapped by) is empty: a store that
    has keys gets the clear error, never a new master key that opens none."""
    text, file, create = env.get(ENV_KEY) or "", env.get(ENV_FILE) or "", env.get(ENV_CREATE) == "true"
    if text:
        current = parse_key(text, ENV_KEY)
    elif file and Path(file).exists():
        current = read_key_file(Path(file), ENV_FILE if not create else "the embedded store's master key file")
    elif file and create and (made_with := sealed_with()):
        raise MasterKeyError(
            f"the master key file {file} is missing, and this store's personal data was sealed with master key"
            f" {', '.join(made_with)}: restore that file from its copy (README, Privacy); without it the data"
            " cannot be read")
    elif file and create:
        current = write_key_file(Path(file))
        log.warning("made a new master key for personal data; keep this file, and a copy somewhere safe",
                    path=str(Path(file).resolve()))
    elif file:
        raise MasterKeyError(f"{ENV_FILE}: the master key file {file} does not exist")
    else:
        raise MasterKeyError(f"no master key: set {ENV_KEY} or {ENV_FILE} (README, Privacy)")
    previous_file = env.get(ENV_PREVIOUS) or ""
    previous = read_key_file(Path(previous_file), ENV_PREVIOUS) if previous_file else None
    return MasterKeys(current, previous)
