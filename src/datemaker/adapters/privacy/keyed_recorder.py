"""What a recorder does for the keyring: it stores the new person keys a save
sealed with in the save's own transaction, refuses a save that sealed with a
key an erase destroyed meanwhile, and tells the keyring how the save went."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent

from datemaker.adapters.privacy.keyring import Keyring, NewKey
from datemaker.adapters.privacy.personal_fields import PERSONAL_TOPICS


# A sealed group in a stored state (the transcoder's compact JSON): its subject and generation.
SEALED_MARKER = re.compile(rb'"sealed":\["([^"\\]+)",(\d+),')


class KeyedRecorder:
    keyring: Keyring | None = None  # given by the store's factory (wiring.py)

    def select_events(self, *args: Any, **kwargs: Any) -> Any:
        """An aggregate's events, with the keys they will be opened with looked up in one query."""
        found = super().select_events(*args, **kwargs)  # type: ignore[misc]
        self.prefetch_keys(found)
        return found

    def prefetch_keys(self, stored_events: Sequence[StoredEvent]) -> None:
        if self.keyring is None or not self.keyring.opens or len(stored_events) < 2:
            return
        wanted = {(subject.decode(), int(generation)) for stored in stored_events if stored.topic in PERSONAL_TOPICS
                  for subject, generation in SEALED_MARKER.findall(stored.state)}
        if wanted:
            self.keyring.prefetch(wanted)

    def take_new_keys(self) -> Sequence[NewKey]:
        return self.keyring.take_new_keys() if self.keyring is not None else ()

    def take_used_keys(self) -> Sequence[tuple[str, int]]:
        return self.keyring.take_used_keys() if self.keyring is not None else ()

    def refuse_erased_keys(self, erased: Sequence[str]) -> None:
        """A key this save sealed with was destroyed by an erase elsewhere: the
        save fails, and its retry seals with the person's next key."""
        if erased:
            for subject in erased:
                if self.keyring is not None:
                    self.keyring.forget(subject)
            raise IntegrityError("a person key was destroyed by an erase meanwhile")

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        try:
            ids = super().insert_events(stored_events, **kwargs)  # type: ignore[misc]
        except BaseException:
            if self.keyring is not None:
                self.keyring.drop_new_keys()
            raise
        if self.keyring is not None:
            self.keyring.confirm_new_keys()
        return ids
