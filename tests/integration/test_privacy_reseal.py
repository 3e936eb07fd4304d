"""`datemaker privacy reseal`: a history recorded before sealing existed (the
checked-in one, and events saved here with sealing off) ends up with no
birthday, city or name of anyone in the events or snapshots tables, replays
to the same states, decodes to the same events, and a second run changes
nothing; two runs at once, or a run beside new saves, are harmless."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.resealing import PostgresResealing
from datemaker.adapters.postgres.schema import connect
from datemaker.adapters.privacy.resealing import Counts, Resealer
from datemaker.adapters.sqlite.resealing import SqliteResealing
from datemaker.app.dating_events import DatingEvents
from datemaker.cli.main import main
from datemaker.domain.ids import event_uuid
from datemaker.domain.profile import Profile

FIXTURE = Path(__file__).parent.parent / "fixtures" / "history_recorded_before_the_layout_change.json"
PERSONAL = (b"Kazan", b"1995-01-01", b"user2", b"Tver", b"1990-07-07")  # cities, birthdays, a name seen in a room
START = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def open_app(settings) -> DatingEvents:
    return DatingEvents(env=persistence_env(settings))


def resealer(app: DatingEvents, settings, batch: int = 7) -> Resealer:
    kind = PostgresResealing if settings.uses_postgres else SqliteResealing
    return Resealer(app.mapper, kind(app.recorder, app.snapshots.recorder), batch=batch)


def raw_states(settings) -> list[bytes]:
    """Every stored state of the events and snapshots tables, as bytes."""
    if settings.uses_postgres:
        with connect(settings) as conn:
            rows = conn.execute("SELECT state FROM datemaker.datingevents_events"
                                " UNION ALL SELECT state FROM datemaker.datingevents_snapshots").fetchall()
    else:
        with sqlite3.connect(settings.sqlite_path) as conn:
            rows = conn.execute("SELECT state FROM stored_events UNION ALL SELECT state FROM stored_snapshots").fetchall()
    return [bytes(r[0]) for r in rows]


def personal_found(settings) -> set[bytes]:
    return {word for state in raw_states(settings) for word in PERSONAL if word in state}


def store_rows(settings, sql: str) -> list[tuple]:
    if settings.uses_postgres:
        with connect(settings) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
    with sqlite3.connect(settings.sqlite_path) as conn:
        return [tuple(r) for r in conn.execute(sql.replace("datemaker.", "")).fetchall()]


def decoded_log(app: DatingEvents) -> list[dict]:
    return [dict(vars(app.mapper.to_domain_event(n))) for n in app.recorder.select_notifications(start=1, limit=10_000)]


def states(app: DatingEvents, wire_ids) -> dict[int, dict]:
    return {w: dict(vars(app.get_event(w))) for w in wire_ids}


@pytest.fixture
def recorded(store_settings):
    document = json.loads(FIXTURE.read_text())
    app = open_app(store_settings)
    app.recorder.insert_events([
        StoredEvent(UUID(row["originator_id"]), row["originator_version"], row["topic"], base64.b64decode(row["state"]))
        for row in document["events"]])
    yield app, document
    app.close()


def test_the_earlier_history_is_sealed_replays_the_same_and_a_second_run_changes_nothing(recorded, store_settings):
    app, document = recorded
    wire_ids = [int(w) for w in document["expected"]["versions"]]
    before, log_before = states(app, wire_ids), decoded_log(app)
    assert personal_found(store_settings) == {b"Kazan", b"1995-01-01", b"user2"}
    plain = resealer(app, store_settings).run(dry_run=True)
    assert plain == Counts(events=11, snapshots=0, people=plain.people, over=2) and plain.people > 0
    assert personal_found(store_settings)  # a dry run changes nothing

    done = resealer(app, store_settings).run()

    assert done == plain  # 9 registrations and 2 rounds with a name seen in the room; 2 events over
    assert personal_found(store_settings) == set()
    fresh = open_app(store_settings)  # nothing cached: read back from the store
    try:
        assert states(fresh, wire_ids) == before
        assert decoded_log(fresh) == log_before  # each event decodes as it did, apart from sealing
    finally:
        fresh.close()
    registered = {(d["user_id"], str(d["originator_id"])) for d in log_before if "profile" in d and "user_id" in d}
    uuid_to_wire = {str(event_uuid(w)): w for w in wire_ids}
    assert set(store_rows(store_settings, "SELECT user_id, wire_id FROM datemaker.person_events")) == {
        (u, uuid_to_wire[oid]) for u, oid in registered}
    assert len(registered) == done.people
    over = dict(store_rows(store_settings, "SELECT wire_id, over_at FROM datemaker.event_summary"))
    assert set(over) == {document["expected"]["finished"], document["expected"]["cancelled"]}
    finished_at = over[document["expected"]["finished"]]
    assert str(finished_at).startswith("2026-12-03") and "12:29:00" in str(finished_at)  # Finished's own `at`
    assert resealer(app, store_settings).run() == Counts()
    assert resealer(app, store_settings).run(dry_run=True) == Counts()


def test_events_saved_plain_and_their_snapshot_are_sealed_and_dropped(app, store_settings, clock):
    keyring = app.mapper.keyring
    app.mapper.keyring = None  # as a datemaker before sealing wrote them
    try:
        wire_id = app.schedule_event(start=START, timezone="UTC", users_limit=10)
        for uid, (city, born) in enumerate([("Tver", date(1990, 7, 7)), ("Kazan", date(1995, 1, 1))] * 2, start=1):
            app.register(wire_id, uid, Profile(sex="MF"[uid % 2], birthday=born, city=city))
        app.cancel_registration(wire_id, 4)
        app.take_snapshot(event_uuid(wire_id))
    finally:
        app.mapper.keyring = keyring
    before = dict(vars(open_app(store_settings).get_event(wire_id)))
    assert personal_found(store_settings) == {b"Kazan", b"1995-01-01", b"Tver", b"1990-07-07"}

    done = resealer(app, store_settings, batch=2).run()

    assert (done.events, done.snapshots, done.people) == (4, 1, 0)  # (the saves noted their people)
    assert personal_found(store_settings) == set()
    fresh = open_app(store_settings)
    try:
        assert dict(vars(fresh.get_event(wire_id))) == before
        fresh.register(wire_id, 9, Profile(sex="M", birthday=date(1990, 7, 7), city="Tver"))  # saves go on, sealed
        assert fresh.get_event(wire_id).registrations["9"]["profile"]["city"] == "Tver"
    finally:
        fresh.close()
    assert personal_found(store_settings) == set()
    assert resealer(app, store_settings).run() == Counts()


def registered_plain(app) -> int:
    """An event with user 5 registered as before sealing existed (no keyring)."""
    keyring = app.mapper.keyring
    app.mapper.keyring = None
    try:
        wire_id = app.schedule_event(start=START, timezone="UTC")
        app.register(wire_id, 5, Profile(sex="F", birthday=date(1990, 7, 7), city="Tver"))
    finally:
        app.mapper.keyring = keyring
    return wire_id


def test_a_person_erased_since_is_written_as_erased_not_under_a_new_key(app, store_settings):
    old = registered_plain(app)
    later = app.schedule_event(start=START, timezone="UTC")
    app.register(later, 5, Profile(sex="F", birthday=date(1990, 7, 7), city="Tver"))  # sealed: makes user:5's key
    _erase_key(store_settings, "user:5")
    fresh = open_app(store_settings)
    try:
        assert resealer(fresh, store_settings).run().events == 1
        profile = fresh.get_event(old).registrations["5"]["profile"]
        assert profile["erased"] is True and profile["city"] is None and profile["birthday"] is None
        assert store_rows(store_settings, "SELECT count(*) FROM datemaker.person_keys WHERE subject = 'user:5'") == [(1,)]
    finally:
        fresh.close()
    assert personal_found(store_settings) == set()


def test_a_person_erased_and_back_since_has_their_plain_records_erased_not_sealed_under_the_new_key(
        app, store_settings):
    old = registered_plain(app)
    erased = app.schedule_event(start=START, timezone="UTC")
    app.register(erased, 5, Profile(sex="F", birthday=date(1990, 7, 7), city="Tver"))  # user:5's key, generation 1
    _erase_key(store_settings, "user:5")
    back = open_app(store_settings)
    try:
        again = back.schedule_event(start=START, timezone="UTC")
        back.register(again, 5, Profile(sex="F", birthday=date(1990, 7, 7), city="Torzhok"))  # generation 2
        assert resealer(back, store_settings).run().events == 1
        assert back.get_event(old).registrations["5"]["profile"]["erased"] is True
        assert back.get_event(again).registrations["5"]["profile"]["city"] == "Torzhok"
    finally:
        back.close()
    assert not any(b"Tver" in state for state in raw_states(store_settings))


def _erase_key(settings, subject: str) -> None:
    """What an erase leaves (adapters/*/erasures.py): the key destroyed."""
    if settings.uses_postgres:
        with connect(settings) as conn:
            conn.execute("UPDATE datemaker.person_keys SET wrapped = NULL WHERE subject = %s", (subject,))
    else:
        with sqlite3.connect(settings.sqlite_path) as conn:
            conn.execute("UPDATE person_keys SET wrapped = NULL WHERE subject = ?", (subject,))


def test_two_runs_at_once_and_a_save_meanwhile_are_harmless(recorded, store_settings):
    app, document = recorded
    wire_ids = [int(w) for w in document["expected"]["versions"]]
    before = states(app, wire_ids)
    other, saver = open_app(store_settings), open_app(store_settings)
    first = resealer(app, store_settings, batch=100)
    second = resealer(other, store_settings, batch=100)
    raced: list[Counts] = []
    writing = first.store.writing

    def after_the_other():  # the first run read and sealed its batch; the other run and a save land first
        if not raced:
            raced.append(second.run())
            saver.register(3, 77, Profile(sex="M", birthday=date(1990, 7, 7), city="Tver"))
        return writing()

    first.store.writing = after_the_other  # type: ignore[method-assign]
    try:
        done = first.run()
        assert raced[0].events == 11 and done.events == 0  # the first lost its keys' race, read again, found them sealed
        assert personal_found(store_settings) == set()
        fresh = open_app(store_settings)
        after = states(fresh, wire_ids)
        assert after[3]["registrations"].pop("77")["profile"]["city"] == "Tver"
        assert after[3].pop("_modified_on") and before[3].pop("_modified_on")
        assert after[3].pop("_version") == before[3].pop("_version") + 1
        assert after == before
        fresh.close()
    finally:
        other.close()
        saver.close()


def test_the_command_prints_one_line_and_a_second_run_reports_nothing(recorded, store_settings, env_for, capsys):
    env_for(store_settings)
    assert main(["privacy", "reseal", "--dry-run"]) in (None, 0)
    assert capsys.readouterr().out.startswith("11 events would be resealed, 0 snapshots would be dropped,")
    assert main(["privacy", "reseal", "--batch", "3"]) in (None, 0)
    out = capsys.readouterr().out
    assert out.startswith("11 events resealed, 0 snapshots dropped,") and out.count("\n") == 1
    assert main(["privacy", "reseal"]) in (None, 0)
    assert capsys.readouterr().out == "0 events resealed, 0 snapshots dropped, 0 people noted, 0 events' end filled in\n"


@pytest.mark.parametrize("change, resealing", [("state = state || '\\x00'::bytea", False),
                                               ("topic = topic || 'x'", True), ("originator_version = 99", True)])
def test_postgres_lets_through_only_resealings_change_of_a_state(postgres_settings, change, resealing):
    import psycopg

    app = open_app(postgres_settings)
    app.schedule_event(start=START, timezone="UTC")
    app.close()
    with connect(postgres_settings) as conn:
        if resealing:
            conn.execute("SET LOCAL datemaker.resealing = 'on'")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(f"UPDATE datemaker.datingevents_events SET {change}")
