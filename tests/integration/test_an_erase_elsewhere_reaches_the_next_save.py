"""An instance that still holds a person's key in its cache when another
instance erases them never seals anything new with that destroyed key: the
save finds it gone in its own transaction, fails, and its retry seals with
the person's next key, so what they register with next stays readable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.runtime.privacy import erasure

from ..support.clock import T0, FakeClock
from ..support.erasing import CITY, PERSON, profile_of
from ..support.retry import FAST_RETRY


@pytest.mark.postgres
def test_a_registration_after_an_erase_on_another_instance_is_sealed_with_a_new_key(postgres_settings):
    here, there = (DatingEvents(env=persistence_env(postgres_settings), clock=FakeClock(), retry=FAST_RETRY)
                   for _ in range(2))
    try:
        old = here.schedule_event(start=T0 + timedelta(days=2), timezone="Europe/Moscow")
        here.register(old, PERSON, profile_of(PERSON))  # `here` now holds the person's key, stored
        here.cancel_event(old)
        assert erasure(there).erase(PERSON, ref="ticket-9", by="anna").outcome == "erased"

        new = here.schedule_event(start=T0 + timedelta(days=9), timezone="Europe/Moscow")
        here.register(new, PERSON, profile_of(PERSON))  # sealed first with the cached key, refused, retried

        fresh = DatingEvents(env=persistence_env(postgres_settings), clock=FakeClock())
        try:
            assert fresh.get_event(new).registrations[str(PERSON)]["profile"]["city"] == CITY
            assert fresh.get_event(old).registrations[str(PERSON)]["profile"]["erased"] is True
        finally:
            fresh.close()
    finally:
        here.close()
        there.close()
