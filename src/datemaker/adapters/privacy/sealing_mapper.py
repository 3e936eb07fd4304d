"""The library's mapper, with each person's fields sealed by their own key on
the way into the store and opened on the way out (personal_fields.py). It
seals before the library's transcoder runs, so what is stored is the
library's JSON with a few ciphertexts in it: ids, states, times, pairs and
reactions stay queryable in SQL, and a history recorded before sealing
existed loads as it always did."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from datemaker.adapters.privacy.keyring import Keyring
from datemaker.adapters.privacy.personal_fields import (
    ATTENDANCE,
    PERSONAL_TOPICS,
    REGISTERED,
    SNAPSHOT,
    Walk,
    markers_in,
    subjects_to_seal,
    user,
)


class SealingMapper(Mapper[Any]):
    keyring: Keyring | None = None  # given once the store is open (wiring.py)

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        topic = get_topic(type(domain_event))
        if topic not in PERSONAL_TOPICS or self.keyring is None:
            return super().to_stored_event(domain_event)
        state = vars(domain_event)
        if topic in (SNAPSHOT, ATTENDANCE):  # many people: their keys in one query
            self.keyring.prepare(subjects_to_seal(topic, state, state["originator_id"]))
        sealed = Walk(seal=self.keyring.seal).event(topic, state, state["originator_id"])
        copy = object.__new__(type(domain_event))
        object.__setattr__(copy, "__dict__", sealed)
        return super().to_stored_event(copy)

    def prepare(self, domain_events: Any) -> None:
        """Look up the keys a batch of events is about to be sealed with, in one query."""
        if self.keyring is None:
            return
        subjects: set[str] = set()
        for domain_event in domain_events:
            topic = get_topic(type(domain_event))
            if topic == REGISTERED:  # most of a batch: its one subject, without a walk
                subjects.add(user(domain_event.user_id))
            elif topic in PERSONAL_TOPICS and topic != SNAPSHOT:
                state = vars(domain_event)
                subjects |= subjects_to_seal(topic, state, state["originator_id"])
        if subjects:
            self.keyring.prepare(subjects)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        if stored_event.topic not in PERSONAL_TOPICS or self.keyring is None or not self.keyring.opens:
            return domain_event
        state = vars(domain_event)
        originator_id = state["originator_id"]
        if stored_event.topic in (SNAPSHOT, ATTENDANCE):  # many people: their keys in one query
            self.keyring.prefetch(markers_in(stored_event.topic, state, originator_id))
        object.__setattr__(domain_event, "__dict__",
                           Walk(open_=self.keyring.open).event(stored_event.topic, state, originator_id))
        return domain_event
