"""`list_events` with a thousand upcoming events: the reply holds the ten
soonest the user can see, stays small, and only those events are loaded."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from datemaker.app.bot_commands import LISTED_EVENTS, BotCommand, BotCommandHandler

from ..support.bot_harness import START

pytestmark = pytest.mark.postgres

MAX_REPLY_BYTES = 16 * 1024


def listing(handler: BotCommandHandler, user_id: int) -> list[dict]:
    answer = handler.handle([BotCommand("list_events", user_id, None)])[0]
    assert len(answer.text.encode()) <= MAX_REPLY_BYTES
    return answer.body


def test_the_listing_holds_the_soonest_events_the_user_can_see_and_stays_small(env, monkeypatch):
    _, app, clock = env
    # Scheduled latest first, so the catalog's order is not the listing's.
    wire_ids = [app.schedule_event(start=START + timedelta(hours=1000 - i), timezone="Europe/Moscow")
                for i in range(1000)]
    soonest = wire_ids[::-1]
    closed = soonest[0]
    app.cancel_event(closed, "operator")
    mine = soonest[3]
    app.register(mine, 5, app.profiles([5])[5])

    loaded: list[int] = []
    get_event = app.get_event
    monkeypatch.setattr(app, "get_event", lambda wire_id: loaded.append(wire_id) or get_event(wire_id))
    handler = BotCommandHandler(app)
    shown = listing(handler, 5)

    assert LISTED_EVENTS == 10
    assert [int(next(iter(entry))) for entry in shown] == soonest[1 : 1 + LISTED_EVENTS]
    assert next(iter(shown[2].values()))["registered"] is True  # soonest[3]
    assert len(loaded) <= LISTED_EVENTS + 1, "only the events that may be listed are loaded"
    # A second user in the next batch finds them warm.
    loaded.clear()
    assert [int(next(iter(e))) for e in listing(handler, 6)] == soonest[1 : 1 + LISTED_EVENTS]
    assert loaded == []
    assert len(json.dumps(shown)) < 4 * 1024
