"""`leave_event` over real RabbitMQ and PostgreSQL, as PROTOCOL.md's other
commands: true for someone in the running event, false with the reason for
someone not in it, a second time, or with the rounds over; a redelivered
command answered the same and recorded once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ..support.bot_harness import START, TestBot
from .test_bot_is_answered_as_the_protocol_says import with_bot

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


def running_event(app, clock, people=(1, 2, 3, 4)) -> int:
    """Four people (user 1 and 3 are women, 2 and 4 men), round 1 under way."""
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", ready_check=False)
    for uid in people:
        app.register(wire_id, uid, app.profiles([uid])[uid])
    app.open_confirmation(wire_id)
    for uid in people:
        app.confirm_registration(wire_id, uid)
    app.close_confirmation(wire_id, seed=1)
    clock.now = app.get_event(wire_id).timings.round_starts_at(START, 1)
    app.change(wire_id, lambda e: e.begin(clock.now, seed=1))
    return wire_id


def test_leave_event_is_true_once_and_refused_for_someone_not_in_the_event(env):
    settings, app, clock = env
    wire_id = running_event(app, clock)
    app.register(other := app.schedule_event(start=START + timedelta(days=1), timezone="Europe/Moscow"), 5,
                 app.profiles([5])[5])

    async def scenario(bot: TestBot) -> None:
        assert await bot.command("leave_event", 6, event_id=wire_id) == {"left_event": False, "reason": "not_registered"}
        assert await bot.command("leave_event", 2, event_id=999) == {"left_event": False, "reason": "unknown_event"}
        for _ in range(2):  # one press, delivered twice
            await bot.send("leave_event", amqp_message_id="bot-leave-1", user_id=2, chat_id=2, event_id=wire_id)
        first, second = await bot.reply(), await bot.reply()
        assert first.body == second.body == {"left_event": True}
        assert await bot.command("leave_event", 2, event_id=wire_id) == {"left_event": False, "reason": "already_left"}
        assert await bot.command("leave_event", 5, event_id=other) == {"left_event": True}  # before the start
        assert await bot.command("leave_event", 5, event_id=other) == {"left_event": False, "reason": "not_registered"}

    with_bot(settings, app, scenario)
    event = app.get_event(wire_id)
    assert event.left == [2] and [type(e).__name__ for e in app.history(wire_id)].count("ParticipantLeft") == 1
    assert not app.get_event(other).is_registered(5)


def test_leave_event_is_refused_once_the_last_round_is_over(env):
    settings, app, clock = env
    wire_id = running_event(app, clock, people=(1, 2))
    clock.now = app.get_event(wire_id).timings.round_ends_at(START, 1)
    app.change(wire_id, lambda e: e.end_round(clock.now))
    assert app.get_event(wire_id).phase == "final"

    async def scenario(bot: TestBot) -> None:
        assert await bot.command("leave_event", 1, event_id=wire_id) == {"left_event": False, "reason": "rounds_over"}
        await bot.send("leave_event", user_id=1, chat_id=1, event_id=0)
        assert (await bot.reply()).body == {"success": False, "error": "header event_id must be a positive integer"}

    with_bot(settings, app, scenario)
    assert app.get_event(wire_id).left == ()
