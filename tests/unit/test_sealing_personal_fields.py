"""The keyring and the walkers of personal fields, on a key store of our own
in memory (the KeyStore port): each personal topic and a dating event's
snapshot seal and open back to the same event; an erased key reads as the
erased values of domain/personal_data.py; a tampered ciphertext is refused;
records from before sealing pass through as they are; sealing twice keeps
one seal."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex
from hypothesis import given, settings
from hypothesis import strategies as st

from datemaker.adapters.privacy.keyring import Keyring, SealedDataError
from datemaker.adapters.privacy.master_key import MasterKey, MasterKeys
from datemaker.adapters.privacy.personal_fields import ATTENDANCE, CANCELLED, LEFT, REGISTERED, SEALED, Walk
from datemaker.adapters.privacy.sealing_mapper import SealingMapper
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.personal_data import ERASED
from datemaker.domain.profile import Profile

from ..support.dating_events import AT, new_event

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OID = uuid4()
PERSONAL = (b"Kazan", b"1995-04-02", b"anna@example.org", b"Guest Anna", b"Boris B", b"was rude")


class MemoryKeyStore:
    """The KeyStore port in memory; `commit` does what a save's transaction does."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, int], bytes | None] = {}
        self.checks: dict[bytes, bytes] = {}

    def master_checks(self) -> dict[bytes, bytes]:
        return dict(self.checks)

    def add_master_check(self, kid: bytes, check: bytes) -> None:
        self.checks.setdefault(kid, check)

    def latest_keys(self, subjects: Sequence[str]) -> dict[str, tuple[int, bytes | None]]:
        found: dict[str, tuple[int, bytes | None]] = {}
        for (subject, generation), wrapped in sorted(self.keys.items()):
            if subject in subjects:
                found[subject] = (generation, wrapped)
        return found

    def wrapped_keys(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], bytes | None]:
        return {w: self.keys[w] for w in wanted if w in self.keys}

    def commit(self, keyring: Keyring) -> None:
        for key in keyring.take_new_keys():
            self.keys[(key.subject, key.generation)] = key.wrapped
        keyring.confirm_new_keys()


def transcoder() -> JSONTranscoder:
    found = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        found.register(transcoding)
    return found


@pytest.fixture
def store() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def keyring(store) -> Keyring:
    ring = Keyring(store, MasterKeys(MasterKey(os.urandom(32), "a test key")))
    ring.check_master()
    return ring


@pytest.fixture
def mapper(keyring) -> SealingMapper:
    found = SealingMapper(transcoder())
    found.keyring = keyring
    return found


def recorded(cls: type, **state: Any) -> Any:
    domain_event = object.__new__(cls)
    object.__setattr__(domain_event, "__dict__", {"originator_id": OID, "originator_version": 2, "timestamp": T, **state})
    return domain_event


ANNA = {"sex": "F", "birthday": "1995-04-02", "city": "Kazan", "rating": 4.5, "manual_score": 3}
DATES = [{"pair": [1, 2], "space": "spaces/a",
          "people": [{"user_id": 1, "accounts": ["anna@example.org"], "seconds": 290, "status": "joined"},
                     {"user_id": 2, "accounts": [], "seconds": 0, "status": "no_show"}],
          "others": [{"user_id": None, "kind": "anonymous", "display_name": "Guest Anna", "seconds": 5},
                     {"user_id": 7, "kind": "known", "display_name": "Boris B", "seconds": 9}]}]
EVENTS = {
    REGISTERED: lambda: recorded(DatingEvent.Registered, user_id=1, profile=dict(ANNA), at=AT),
    CANCELLED: lambda: recorded(DatingEvent.RegistrationCancelled, user_id=1, at=AT, reason="removed", note="was rude"),
    LEFT: lambda: recorded(DatingEvent.ParticipantLeft, user_id=1, at=AT, reason="removed", note="was rude", round_no=1,
                           from_round=2, partner_id=None, plan=None),
    ATTENDANCE: lambda: recorded(DatingEvent.AttendanceRecorded, round_no=1, dates=[dict(d) for d in DATES], final=True),
}


def snapshot() -> Any:
    event = new_event()
    event.register(1, Profile(sex="F", birthday=date(1995, 4, 2), city="Kazan"), AT)
    event.register(2, Profile(sex="M", birthday=date(1993, 1, 9), city="Kazan"), AT)
    event.cancel_registration(2, AT)  # a withdrawn profile too
    event.attendance = {"1": {"dates": [dict(d) for d in DATES], "final": True}}
    return Snapshot.take(event)


def stored_and_back(mapper: SealingMapper, store: MemoryKeyStore, domain_event: Any) -> tuple[bytes, Any]:
    stored = mapper.to_stored_event(domain_event)
    store.commit(mapper.keyring)  # type: ignore[arg-type]
    return stored.state, mapper.to_domain_event(stored)


@pytest.mark.parametrize("topic", list(EVENTS))
def test_each_personal_topic_seals_and_opens_to_the_same_event(mapper, store, topic):
    domain_event = EVENTS[topic]()
    state, back = stored_and_back(mapper, store, domain_event)
    assert not [word for word in PERSONAL if word in state]
    assert SEALED.encode() in state
    assert vars(back) == vars(domain_event)


def test_a_snapshot_of_a_dating_event_seals_and_opens_to_the_same_state(mapper, store):
    taken = snapshot()
    state, back = stored_and_back(mapper, store, taken)
    assert not [word for word in PERSONAL if word in state]
    assert vars(back) == vars(taken)
    assert back.mutate(None).registrations["1"]["profile"]["city"] == "Kazan"


def test_an_erased_key_reads_as_the_erased_values(mapper, store, keyring):
    sealed = {topic: mapper.to_stored_event(make()) for topic, make in EVENTS.items()}
    sealed["snapshot"] = mapper.to_stored_event(snapshot())
    store.commit(keyring)
    for subject in ("user:1", f"room:{OID}"):
        store.keys[(subject, 1)] = None  # destroyed
        keyring.forget(subject)

    profile = vars(mapper.to_domain_event(sealed[REGISTERED]))["profile"]
    assert profile == {"sex": None, "birthday": None, "city": None, "rating": 4.5, "manual_score": 3, ERASED: True}
    assert vars(mapper.to_domain_event(sealed[CANCELLED]))["note"] is None
    assert vars(mapper.to_domain_event(sealed[LEFT]))["note"] is None
    date_ = vars(mapper.to_domain_event(sealed[ATTENDANCE]))["dates"][0]
    assert date_["people"][0] == {"user_id": 1, "accounts": [], "seconds": 290, "status": "joined", ERASED: True}
    assert date_["people"][1] == DATES[0]["people"][1]  # user 2: nothing was sealed (no accounts)
    assert date_["others"][0]["display_name"] is None and date_["others"][0][ERASED]
    assert date_["others"][1]["display_name"] == "Boris B"  # user 7's key is whole
    aggregate = mapper.to_domain_event(sealed["snapshot"]).mutate(None)
    assert aggregate.registrations["1"]["profile"][ERASED] and aggregate.registrations["1"]["profile"]["city"] is None
    assert aggregate.withdrawn_profiles["2"]["city"] == "Kazan"


def test_a_tampered_ciphertext_is_refused(mapper, store, keyring):
    stored = mapper.to_stored_event(EVENTS[REGISTERED]())
    store.commit(keyring)
    marker = keyring.seal("user:1", {"city": "Kazan"})
    blob = bytearray(base64.b64decode(marker[2]))
    blob[-1] ^= 1
    with pytest.raises(SealedDataError):
        keyring.open([marker[0], marker[1], base64.b64encode(bytes(blob)).decode()])
    state = mapper.transcoder.decode(stored.state)
    text = state["profile"][SEALED][2]
    swapped = text[:20] + ("A" if text[20] != "A" else "B") + text[21:]
    forged = stored.state.replace(text.encode(), swapped.encode())
    with pytest.raises(SealedDataError):
        mapper.to_domain_event(type(stored)(stored.originator_id, stored.originator_version, stored.topic, forged))


def test_a_sealed_field_moved_to_another_person_is_refused(mapper, store, keyring):
    marker = keyring.seal("user:1", {"city": "Kazan"})
    store.commit(keyring)
    keyring.seal("user:2", {"city": "Tver"})
    store.commit(keyring)
    with pytest.raises(SealedDataError):
        keyring.open(["user:2", 1, marker[2]])  # the label binds a ciphertext to its person


@pytest.mark.parametrize("topic", list(EVENTS))
def test_records_from_before_sealing_pass_through_as_they_are(mapper, topic):
    domain_event = EVENTS[topic]()
    plain = Mapper.to_stored_event(mapper, domain_event)  # as an earlier datemaker wrote it
    assert b"Kazan" in plain.state or b"was rude" in plain.state or b"Guest Anna" in plain.state
    assert vars(mapper.to_domain_event(plain)) == vars(domain_event)
    state = vars(domain_event)
    assert Walk(open_=mapper.keyring.open).event(topic, state, OID) == state  # type: ignore[union-attr]


@pytest.mark.parametrize("topic", list(EVENTS))
def test_sealing_twice_keeps_one_seal(keyring, topic):
    state = vars(EVENTS[topic]())
    once = Walk(seal=keyring.seal).event(topic, state, OID)
    assert once != state
    assert Walk(seal=keyring.seal).event(topic, once, OID) == once


def test_a_taken_snapshot_sealed_twice_keeps_one_seal(keyring):
    state = vars(snapshot())
    once = Walk(seal=keyring.seal).event("eventsourcing.domain:Snapshot", state, OID)
    assert Walk(seal=keyring.seal).event("eventsourcing.domain:Snapshot", once, OID) == once


profiles = st.fixed_dictionaries({
    "sex": st.sampled_from(["M", "F", None]),
    "birthday": st.one_of(st.none(), st.dates(date(1930, 1, 1), date(2010, 12, 31)).map(date.isoformat)),
    "city": st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=40)),
    "rating": st.floats(0, 5, allow_nan=False),
    "manual_score": st.integers(0, 5),
})


@settings(max_examples=60, deadline=None)
@given(profile=profiles, user_id=st.integers(1, 2**53))
def test_any_profile_seals_and_opens_to_itself(profile, user_id):
    store = MemoryKeyStore()
    keyring = Keyring(store, MasterKeys(MasterKey(os.urandom(32), "a test key")))
    mapper = SealingMapper(transcoder())
    mapper.keyring = keyring
    domain_event = recorded(DatingEvent.Registered, user_id=user_id, profile=dict(profile), at=AT)
    stored = mapper.to_stored_event(domain_event)
    store.commit(keyring)
    kept = mapper.transcoder.decode(stored.state)["profile"]
    assert not [field for field in ("sex", "birthday", "city") if profile[field] not in (None, "") and field in kept]
    assert vars(mapper.to_domain_event(stored)) == vars(domain_event)


def test_random_bytes_never_repeat_across_pages_threads_and_a_forked_child():
    import os
    import threading

    from datemaker.adapters.privacy.randomness import PAGE, random_bytes

    drawn = [random_bytes(12) for _ in range(3 * PAGE // 12)]  # past several pages
    other: list[bytes] = []
    thread = threading.Thread(target=lambda: other.extend(random_bytes(12) for _ in range(100)))
    thread.start()
    thread.join()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it draws next goes to the parent
        os.write(write, b"".join(random_bytes(12) for _ in range(100)))
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 1200)
    forked = [child[i:i + 12] for i in range(0, len(child), 12)]
    after = [random_bytes(12) for _ in range(100)]  # what the parent draws after the fork
    everything = drawn + other + forked + after
    assert len(forked) == 100 and len(set(everything)) == len(everything)


def test_after_a_failed_save_the_same_fields_are_sealed_again_with_the_key_that_is_then_stored(keyring, store):
    values = {"sex": "F", "birthday": "1990-07-07", "city": "Tver"}
    keyring.seal("user:5", values)  # a new key: the save that carries it fails (a blocked registrant)
    keyring.drop_new_keys()
    marker = keyring.seal("user:5", values)  # the retry makes the key again, and this save commits
    store.commit(keyring)
    fresh = Keyring(store, keyring.masters)
    assert fresh.open(marker) == values
