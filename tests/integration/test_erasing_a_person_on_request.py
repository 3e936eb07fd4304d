"""`users erase` as a request: the same one twice, a second one, one that
waits while an event needs the person's data, someone who comes back after
being erased, and two instances erasing the same person at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.app.leaving import Leaving
from datemaker.domain.timings import Timings
from datemaker.runtime.privacy import erasure, privacy_job

from ..support.clock import T0, FakeClock
from ..support.erasing import CITY, MEN, PERSON, WOMEN, profile_of
from ..support.retry import FAST_RETRY
from ..support.world import World


def rows(app, sql):
    if hasattr(app.recorder.datastore, "schema"):  # PostgreSQL: the tables are in datemaker's schema
        sql = sql.replace("FROM ", "FROM datemaker.")
    with app.recorder.datastore.transaction(commit=False) as c:
        c.execute(sql)
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in c.fetchall()]


def keys_of(app, subject="user:1"):
    return rows(app, f"SELECT generation, wrapped IS NULL AS gone, erased_at IS NULL AS live FROM person_keys"
                     f" WHERE subject = '{subject}' ORDER BY generation")


def requests(app):
    return rows(app, "SELECT user_id, request_ref, requested_by, erased_at IS NULL AS waits FROM erasures"
                     " ORDER BY requested_at, request_ref")


def cancelled_event(app, uid=PERSON, days=2):
    """An event the person registered for, then cancelled: over, with their profile."""
    wire_id = app.schedule_event(start=T0 + timedelta(days=days), timezone="Europe/Moscow")
    app.register(wire_id, uid, profile_of(uid))
    app.cancel_event(wire_id)
    return wire_id


def profile_in(settings, wire_id, uid=PERSON):
    fresh = DatingEvents(env=persistence_env(settings), clock=FakeClock())
    try:
        return fresh.get_event(wire_id).registrations[str(uid)]["profile"]
    finally:
        fresh.close()


def test_the_same_request_twice_changes_nothing_and_a_second_one_finds_nothing_left(app, store_settings):
    cancelled_event(app)
    first = erasure(app).erase(PERSON, ref="ticket-1", by="anna")
    assert first.outcome == "erased" and first.keys == 1
    keys, recorded = keys_of(app), requests(app)
    assert keys == [(1, True, False)] and recorded == [(PERSON, "ticket-1", "anna", False)]

    app.clock.advance(hours=1)
    again = erasure(app).erase(PERSON, ref="ticket-1", by="boris")
    assert again.outcome == "already" and again.at == first.at
    assert "carried out already at" in again.text() and "nothing changed" in again.text()
    assert keys_of(app) == keys and requests(app) == recorded

    other = erasure(app).erase(PERSON, ref="ticket-2", by="boris")
    assert other.outcome == "nothing_left" and "nothing of theirs was left" in other.text()
    assert keys_of(app) == keys
    assert requests(app) == [*recorded, (PERSON, "ticket-2", "boris", False)]


def test_an_erase_during_a_running_event_waits_for_its_end_and_the_job_carries_it_out(app, store_settings):
    world, timings, start = World(app, app.clock), Timings(), T0 + timedelta(days=2)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", users_limit=10, ready_check=False)
    for uid in [*MEN, *WOMEN]:
        app.register(wire_id, uid, profile_of(uid))
    world.run_until(timings.confirmation_opens_at(start))
    for uid in [*MEN, *WOMEN]:
        app.confirm_registration(wire_id, uid)
    world.run_until(timings.round_starts_at(start, 1) + timedelta(seconds=30))
    assert app.get_event(wire_id).state.name == "RUNNING"

    waiting = erasure(app).erase(PERSON, ref="ticket-9", by="anna")
    assert waiting.outcome == "waiting" and [(w.wire_id, w.state) for w in waiting.waiting_for] == [(wire_id, "RUNNING")]
    assert f"waits for event(s) {wire_id} (RUNNING)" in waiting.text()
    assert f"datemaker events remove {wire_id} {PERSON} --reason" in waiting.text()
    assert requests(app) == [(PERSON, "ticket-9", "anna", True)]
    assert privacy_job(app, 0).step() == 0  # still running: nothing yet

    world.run_until(start + timedelta(days=1))  # the event runs to its end with their data
    event = app.get_event(wire_id)
    assert event.state.name == "FINISHED" and event.round_no == event.planned.rounds_count
    assert profile_in(store_settings, wire_id)["city"] == CITY

    assert privacy_job(app, 0).step() == 1
    assert requests(app) == [(PERSON, "ticket-9", "anna", False)]
    assert profile_in(store_settings, wire_id)["erased"] is True
    assert profile_in(store_settings, wire_id, uid=2)["city"] == "Kazan"
    assert privacy_job(app, 0).step() == 0  # done once
    assert erasure(app).erase(PERSON, ref="ticket-9", by="anna").outcome == "already"


def test_taken_out_of_an_event_not_started_they_are_erased_at_once(app):
    wire_id = app.schedule_event(start=T0 + timedelta(days=5), timezone="Europe/Moscow")
    app.register(wire_id, PERSON, profile_of(PERSON))
    waiting = erasure(app).erase(PERSON, ref="ticket-3", by="anna")
    assert [(w.wire_id, w.state) for w in waiting.waiting_for] == [(wire_id, "NOT_STARTED")]
    Leaving(app).remove(wire_id, PERSON, reason="erasure")
    done = erasure(app).erase(PERSON, ref="ticket-3", by="anna")  # the same request, run again
    assert done.outcome == "erased" and done.rooms == ()  # they were never in its rooms
    assert app.get_event(wire_id).withdrawn_profiles[str(PERSON)]["erased"] is True


def test_an_erased_person_who_comes_back_is_a_new_person_with_a_new_key(app, store_settings):
    old = cancelled_event(app)
    erasure(app).erase(PERSON, ref="ticket-5", by="anna")
    new = app.schedule_event(start=T0 + timedelta(days=9), timezone="Europe/Moscow")
    app.register(new, PERSON, profile_of(PERSON))
    assert keys_of(app) == [(1, True, False), (2, False, True)]
    assert profile_in(store_settings, new)["city"] == CITY
    assert profile_in(store_settings, old)["erased"] is True
    assert profile_in(store_settings, old)["city"] is None


@pytest.mark.postgres
@pytest.mark.parametrize("refs", [("ticket-7", "ticket-7"), ("ticket-7", "ticket-8")])
def test_two_instances_erasing_the_same_person_at_once_erase_once(postgres_settings, refs):
    apps = [DatingEvents(env=persistence_env(postgres_settings), clock=FakeClock(), retry=FAST_RETRY)
            for _ in range(2)]
    try:
        cancelled_event(apps[0])
        cancelled_event(apps[0], days=3)
        together = threading.Barrier(2)
        outcomes, errors = [], []

        def erase(app, ref):
            use_case = erasure(app)
            together.wait()
            try:
                outcomes.append(use_case.erase(PERSON, ref=ref, by="anna").outcome)
            except Exception as exc:  # pragma: no cover - the test fails on it
                errors.append(exc)

        threads = [threading.Thread(target=erase, args=(a, r)) for a, r in zip(apps, refs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == []
        expected = ["already", "erased"] if refs[0] == refs[1] else ["erased", "nothing_left"]
        assert sorted(outcomes) == expected
        assert keys_of(apps[1]) == [(1, True, False)]
        assert len(requests(apps[1])) == len(set(refs))
        assert all(not waiting for *_, waiting in requests(apps[1]))
    finally:
        for a in apps:
            a.close()
