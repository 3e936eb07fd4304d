"""Restarts of a real `datemaker serve` with messages in flight: kill -9
loses nothing and applies nothing twice; SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from ..support.bot_harness import START, WAIT, TestBot, run
from ..support.platform_users import add_users
from ..support.service_process import serve

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


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
