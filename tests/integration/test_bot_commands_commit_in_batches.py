"""The batch handler on real PostgreSQL: group commit, warm events, retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from eventsourcing.persistence import IntegrityError

from datemaker.app.bot_commands import BotCommand, BotCommandHandler
from datemaker.app.ports import StoreUnavailable

from ..support.bot_harness import START

pytestmark = pytest.mark.postgres


def register(user_id: int, wire_id: int, key: str | None = None) -> BotCommand:
    return BotCommand("register_event", user_id, wire_id, dedupe_key=key or f"k-{user_id}-{wire_id}")


def test_a_batch_is_one_transaction_with_every_reply(env):
    _, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", capacity=3)
    answers = BotCommandHandler(app).handle([register(uid, wire_id) for uid in (1, 2, 3, 4, 1)])
    assert [a.body for a in answers] == [{"user_registered": True}] * 3 + [
        {"user_registered": False, "reason": "event_full"},
        {"user_registered": False, "reason": "already_registered"},
    ]
    assert app.get_event(wire_id).version == 4
    stored = app.handled_replies(["k-4-1", "k-1-1"])
    assert stored["k-4-1"].outcome == "refused" and stored["k-1-1"].outcome == "refused"


def test_a_warm_event_sees_what_other_writers_saved(env):
    _, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    handler = BotCommandHandler(app)
    handler.handle([register(1, wire_id)])
    app.register(wire_id, 2, app.profiles([2])[2])  # another instance, say
    assert handler.handle([register(2, wire_id, "again")])[0].body == {"user_registered": False, "reason": "already_registered"}
    assert handler.handle([register(3, wire_id)])[0].body == {"user_registered": True}
    assert app.get_event(wire_id).registered_user_ids == [1, 2, 3]


def test_a_lost_race_redoes_the_batch_on_fresh_state_and_keeps_nothing_unsaved(env, monkeypatch):
    _, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    handler = BotCommandHandler(app, sleep=lambda _: None)
    handler.handle([register(1, wire_id)])
    real_save = app.save_logged
    calls = []

    def lose_the_first_race(*aggregates, **kwargs):
        calls.append(len(aggregates))
        if len(calls) == 1:
            raise IntegrityError("another writer saved first")
        return real_save(*aggregates, **kwargs)

    monkeypatch.setattr(app, "save_logged", lose_the_first_race)
    assert handler.handle([register(2, wire_id)])[0].body == {"user_registered": True}
    assert calls == [1, 1]
    event = app.get_event(wire_id)
    assert event.version == 3 and event.registered_user_ids == [1, 2]
    monkeypatch.setattr(app, "save_logged", real_save)
    assert handler.handle([register(3, wire_id)])[0].body == {"user_registered": True}
    assert app.get_event(wire_id).version == 4


@pytest.mark.parametrize("lost", [StoreUnavailable("connection lost during COMMIT"),
                                  IntegrityError("the library inserted again and met its own rows")],
                         ids=["connection-lost", "inserted-again"])
def test_a_batch_whose_commit_went_through_unanswered_is_answered_as_committed_and_done_once(env, monkeypatch, lost):
    _, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    handler = BotCommandHandler(app, sleep=lambda _: None)
    real_save = app.save_logged
    calls = []

    def commit_then_lose_the_answer(*aggregates, **kwargs):
        calls.append(len(aggregates))
        real_save(*aggregates, **kwargs)
        if len(calls) == 1:
            raise lost

    monkeypatch.setattr(app, "save_logged", commit_then_lose_the_answer)
    answers = handler.handle([register(1, wire_id, "a"), register(2, wire_id, "b")])
    assert [a.body for a in answers] == [{"user_registered": True}] * 2  # not "already registered"
    assert calls == [1]  # looked for, found, not done again
    kinds = [type(e).__name__ for e in app.history(wire_id)]
    assert kinds.count("Registered") == 2
    assert handler.handle([register(3, wire_id)])[0].body == {"user_registered": True}


def test_a_redelivered_command_gets_its_stored_reply_without_a_change(env):
    _, app, clock = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    handler = BotCommandHandler(app)
    first = handler.handle([register(1, wire_id, "same")])
    clock.advance(minutes=1)
    again = handler.handle([BotCommand("register_event", 1, wire_id, dedupe_key="same", seen_before=True)])
    assert again[0].body == first[0].body == {"user_registered": True} and again[0].duplicate
    assert app.get_event(wire_id).version == 2
    assert app.get_event(wire_id).start - clock.now > timedelta(days=2)


def test_a_store_that_keeps_failing_makes_the_batch_unavailable_after_bounded_retries(env, monkeypatch):
    import psycopg

    from datemaker.app.ports import StoreUnavailable

    _, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    pauses: list[float] = []
    handler = BotCommandHandler(app, store_attempts=3, sleep=pauses.append)

    def unreachable(*args, **kwargs):
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    # The driver fails under the store adapter, which makes it StoreUnavailable.
    monkeypatch.setattr(app.recorder.datastore, "transaction", unreachable)
    with pytest.raises(StoreUnavailable):
        handler.handle([register(1, wire_id)])
    assert len(pauses) == 3  # bounded, with a pause between attempts
    assert app.get_event(wire_id).version == 1
