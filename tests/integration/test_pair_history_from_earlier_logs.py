"""A log recorded before the pair history existed (the checked-in fixture)
fills it once: PostgreSQL's step 0009 and the embedded store's first start
take in the same dates (of events that are over) and last reactions that
saving those events makes."""

from __future__ import annotations

import base64
import json
import sqlite3
from importlib import resources
from pathlib import Path
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.app.ports import PairFact
from datemaker.domain.dating_event import DatingEvent

FIXTURE = Path(__file__).parent.parent / "fixtures" / "history_recorded_before_the_layout_change.json"
STEP = resources.files("datemaker").joinpath("adapters/postgres/migrations/0009_pair_history.sql")


def insert_fixture(app: DatingEvents) -> None:
    rows = json.loads(FIXTURE.read_text())["events"]
    app.recorder.insert_events([  # as an earlier datemaker saved them: no pair history
        StoredEvent(UUID(r["originator_id"]), r["originator_version"], r["topic"], base64.b64decode(r["state"]))
        for r in rows
    ])


def expected_facts(app: DatingEvents) -> tuple[set[PairFact], set[tuple[int, int, int]]]:
    """From the log itself: reports and dislikes (the last reaction), and the
    dates (each way) of events that are over."""
    wire, last, dates, over = {}, {}, set(), set()
    for notification in app.recorder.select_notifications(start=1, limit=10_000):
        change = app.mapper.to_domain_event(notification)
        if isinstance(change, DatingEvent.Scheduled):
            wire[change.originator_id] = change.wire_id
        elif isinstance(change, (DatingEvent.Finished, DatingEvent.Cancelled)):
            over.add(wire[change.originator_id])
        elif isinstance(change, (DatingEvent.Started, DatingEvent.RoundStarted)):
            for key in change.rooms:
                a, b = (int(x) for x in key.split("-"))
                dates |= {(a, wire[change.originator_id], b), (b, wire[change.originator_id], a)}
        elif isinstance(change, DatingEvent.PartnerRated):
            last[(change.user_id, change.partner_id, wire[change.originator_id])] = change.reaction
    reactions = {PairFact(r, e, u, p) for (u, p, e), r in last.items() if r in ("dislike", "report")}
    return reactions, {d for d in dates if d[1] in over}


def facts_in_store(app: DatingEvents) -> tuple[set[PairFact], set[tuple[int, int, int]]]:
    everyone = list(range(1, 100))
    facts = app.store.pair_history(everyone, 1000)
    return ({f for f in facts if f.kind != "met"}, {(f.user_id, f.event_id, f.partner_id) for f in facts if f.kind == "met"})


def test_step_0009_fills_the_pair_history_from_the_log_recorded_before_it(postgres_settings):
    app = DatingEvents(env=persistence_env(postgres_settings))
    try:
        insert_fixture(app)
        assert app.store.pair_history(list(range(1, 100)), 1000) == []
        reactions, dates = expected_facts(app)
        assert dates and {f.kind for f in reactions} == {"dislike", "report"}
        with psycopg.connect(host=postgres_settings.postgres_host, port=postgres_settings.postgres_port,
                             dbname=postgres_settings.postgres_db, user=postgres_settings.postgres_user) as conn:
            conn.execute(STEP.read_text())  # the step as it ran; it may run again
            conn.execute(STEP.read_text())
        assert facts_in_store(app) == (reactions, dates)
    finally:
        app.close()


def test_the_embedded_store_fills_the_pair_history_at_its_first_start_with_it(sqlite_settings):
    app = DatingEvents(env=persistence_env(sqlite_settings))
    insert_fixture(app)
    reactions, dates = expected_facts(app)
    app.close()
    with sqlite3.connect(sqlite_settings.sqlite_path) as conn:  # a file an earlier datemaker made
        conn.executescript("DROP TABLE pair_dates; DROP TABLE pair_reactions; DROP TABLE pair_history_filled;")
    for _ in range(2):  # taken in once; a later start changes nothing
        app = DatingEvents(env=persistence_env(sqlite_settings))
        try:
            assert facts_in_store(app) == (reactions, dates)
        finally:
            app.close()
