"""Crashes and restarts with messages in flight: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from datemaker.adapters.rabbitmq.consumer import BotConsumer
from datemaker.app.bot_commands import BotCommandHandler

from .bot_harness import WAIT, TestBot, run, running_service
from .conftest import add_users
from .service_process import serve
from .test_bot_protocol import START

pytestmark = pytest.mark.postgres


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


def test_kill_9_with_messages_in_flight_loses_nothing_and_applies_nothing_twice(env):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")

    users = range(1000, 1300)
    add_users(settings, {uid: "MF"[uid % 2] for uid in users})

    async def main() -> None:
        bot = TestBot(settings)
        await bot.start()
        first = serve(settings)
        try:
            for uid in users:
                await bot.send("register_event", user_id=uid, chat_id=uid, message_id=1, event_id=wire_id)
            try:
                early = await bot.reply()  # it is working through them now
            except TimeoutError:
                first.kill()
                raise AssertionError(first.stderr.read().decode()[-3000:]) from None
            first.kill()  # SIGKILL: no chance to ack, reply or flush
            first.wait(WAIT)
            second = serve(settings)
            try:
                seen: dict[str, object] = {early.headers["user_id"]: early.body}
                deadline = time.monotonic() + 60
                while len(seen) < len(users) and time.monotonic() < deadline:
                    reply = await asyncio.wait_for(bot.replies.get(), 60)
                    seen[reply.headers["user_id"]] = reply.body
                assert len(seen) == len(users)
                assert all(body == {"user_registered": True} for body in seen.values())
            finally:
                second.send_signal(signal.SIGTERM)
                assert second.wait(WAIT) == 0  # graceful stop
        finally:
            if first.poll() is None:
                first.kill()
            await bot.close()

    run(main)
    event = app.get_event(wire_id)
    assert event.registered_user_ids == list(users)
    assert event.version == 1 + len(users)


def test_sigterm_stops_the_service_cleanly(env):
    settings, _, _ = env

    async def main() -> None:
        bot = TestBot(settings)
        await bot.start()
        process = serve(settings)
        try:
            assert await bot.command("list_events", 1) == []
            process.send_signal(signal.SIGTERM)
            assert process.wait(WAIT) == 0
            assert b"Traceback" not in process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()
            await bot.close()

    run(main)
