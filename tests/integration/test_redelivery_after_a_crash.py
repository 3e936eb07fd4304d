"""A crash after the commit and before the reply: the restarted consumer
answers the redelivered messages once and applies nothing twice. The service
runs in-process; kill -9 and SIGTERM of a real process are in
tests/e2e/test_service_restarts_lose_nothing.py."""

from __future__ import annotations

import asyncio

import pytest

from datemaker.adapters.rabbitmq.consumer import BotConsumer
from datemaker.app.bot_commands import BotCommandHandler

from ..support.bot_harness import START, WAIT, TestBot, run, running_service

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


def test_a_crash_after_commit_before_the_reply_gives_the_reply_once_on_redelivery(env):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    real = BotCommandHandler(app)

    def commit_then_die(commands):
        real.handle(commands)  # effects and replies committed ...
        raise Crash  # ... and the process dies before any reply or ack

    async def main() -> None:
        bot = TestBot(settings)
        await bot.start()
        try:
            doomed = BotConsumer(settings, commit_then_die)
            stop = asyncio.Event()
            task = asyncio.create_task(doomed.run(stop))
            await asyncio.wait_for(doomed.ready.wait(), WAIT)
            for uid in (1, 2, 3):
                await bot.send("register_event", user_id=uid, chat_id=uid, message_id=10 + uid, event_id=wire_id)
            with pytest.raises(Crash):
                await asyncio.wait_for(task, WAIT)
            assert bot.replies.empty()
            async with running_service(settings, app):  # the restarted service
                replies = [await bot.reply() for _ in range(3)]
            assert sorted(r.headers["user_id"] for r in replies) == ["1", "2", "3"]
            assert all(r.body == {"user_registered": True} for r in replies)
        finally:
            await bot.close()

    run(main)
    event = app.get_event(wire_id)
    assert event.registered_user_ids == [1, 2, 3]
    assert event.version == 4  # Scheduled + three Registered, none twice
