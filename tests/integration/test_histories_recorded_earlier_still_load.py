"""A history recorded by an earlier datemaker (the checked-in fixture, saved
before the modules moved) loads, replays and renders the same: stored event
topics name their classes, so moving code must never break them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.app.live_states import LiveEvents
from datemaker.app.outbox import OutboxRelay
from datemaker.app.schedules import book
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.lifecycle import EventState
from datemaker.history.load import load_history
from datemaker.history.render_text import render_text

FIXTURE = Path(__file__).parent.parent / "fixtures" / "history_recorded_before_the_layout_change.json"


@pytest.fixture
def recorded(store_settings):
    document = json.loads(FIXTURE.read_text())
    app = DatingEvents(env=persistence_env(store_settings))
    app.recorder.insert_events([
        StoredEvent(UUID(row["originator_id"]), row["originator_version"], row["topic"], base64.b64decode(row["state"]))
        for row in document["events"]
    ])
    yield app, document["expected"]
    app.close()


def test_every_recorded_event_loads_into_the_state_it_had(recorded):
    app, expected = recorded
    finished = app.get_event(expected["finished"])
    assert finished.state is EventState.FINISHED and finished.matches == expected["matches"]
    assert app.get_event(expected["cancelled"]).state is EventState.CANCELLED
    assert app.catalog_wire_ids() == [expected["finished"], expected["cancelled"], *expected["from_schedule"]]
    for wire_id, version in expected["versions"].items():
        assert app.get_event(int(wire_id)).version == version
    rules = book(app)
    assert rules is not None and len(rules.rules) == 1


def test_the_recorded_log_replays_in_order_to_the_same_states(recorded):
    app, expected = recorded
    states = LiveEvents(app)
    last: dict[int, DatingEvent] = {}
    for notification in app.recorder.select_notifications(start=1, limit=1000):
        domain_event = app.mapper.to_domain_event(notification)
        if isinstance(domain_event, DatingEvent.Event):
            event = states.after(domain_event)
            last[event.wire_id] = event
    finished = last[expected["finished"]]
    assert finished.state is EventState.FINISHED and finished.matches == expected["matches"]
    assert finished.version == expected["versions"][str(expected["finished"])]


def test_the_history_of_a_recorded_event_renders_and_its_messages_derive(recorded):
    app, expected = recorded
    lines = render_text(load_history(app, expected["finished"]))
    assert any("Finished" in line for line in lines) and any("PartnerRated" in line for line in lines)
    last, messages = OutboxRelay(app, publish=None).read(0)  # type: ignore[arg-type]
    assert last == len(json.loads(FIXTURE.read_text())["events"])
    assert {"invite_to_meeting", "send_partner_profile", "send_event_cancelled"} & {m.command for m in messages}
