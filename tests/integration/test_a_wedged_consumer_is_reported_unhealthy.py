"""/healthz answers 503 with the reason when the bot consumer holds messages
and settles none for the stall time (its clock is injected: the test moves
it instead of waiting), and 200 again once it settles; an idle consumer with
an empty queue stays healthy however long nothing happens."""

from __future__ import annotations

import asyncio
import threading

import pytest
from prometheus_client import CollectorRegistry

from datemaker.adapters.observability.checks import Verdict, run_checks
from datemaker.adapters.observability.http import HealthServer
from datemaker.adapters.rabbitmq.consumer import BotConsumer
from datemaker.app.bot_commands import Answer
from datemaker.app.ports import StoreUnavailable
from datemaker.runtime.health_checks import health_checks
from datemaker.settings import load_settings

from ..support.bot_harness import WAIT, TestBot, broker_settings, run
from ..support.clock import FakeMonotonic
from ..support.http_probe import get
from ..support.waiting import until

pytestmark = pytest.mark.rabbitmq

STALL_SECONDS = 60.0


def test_a_wedged_consumer_is_reported_unhealthy_and_an_idle_one_is_not():
    settings = broker_settings(load_settings(DATEMAKER_STORE="sqlite"))
    clock = FakeMonotonic()
    release = threading.Event()

    def stuck_handler(commands):  # the handling that never comes back (until released)
        release.wait(WAIT)
        return [Answer({"success": True}, "ok") for _ in commands]

    consumer = BotConsumer(settings, stuck_handler, clock=clock)
    health = HealthServer(CollectorRegistry(), lambda: Verdict(), port=0,
                          health=lambda: run_checks(health_checks(consumer, STALL_SECONDS)))
    health.start()

    async def scenario() -> None:
        bot = TestBot(settings)
        await bot.start()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            await asyncio.wait_for(consumer.ready.wait(), WAIT)
            clock.advance(3600)  # idle for an hour, nothing in the queue
            assert await asyncio.to_thread(get, health.port, "/healthz") == (200, "ok\n")

            await bot.send("list_events", user_id=1, chat_id=1, message_id=1)
            await until(lambda: consumer.unsettled == 1)
            clock.advance(STALL_SECONDS - 1)  # slow, not yet wedged
            assert (await asyncio.to_thread(get, health.port, "/healthz"))[0] == 200
            clock.advance(2)
            status, reason = await asyncio.to_thread(get, health.port, "/healthz")
            assert status == 503
            assert reason.startswith("unhealthy: consumer wedged: 1 messages held") and "61 s" in reason

            release.set()  # it settles: healthy again
            assert (await bot.reply()).body == {"success": True}
            await until(lambda: consumer.unsettled == 0)
            clock.advance(3600)
            assert await asyncio.to_thread(get, health.port, "/healthz") == (200, "ok\n")
        finally:
            release.set()
            stop.set()
            await asyncio.wait_for(task, WAIT)
            await bot.close()

    try:
        run(scenario)
    finally:
        health.stop()


def test_a_consumer_waiting_for_the_store_to_come_back_is_not_wedged():
    """A database restart is readiness's to report: restarting the process
    would not bring the database back, and the batch it holds is answered
    once the store is."""
    settings = broker_settings(load_settings(DATEMAKER_STORE="sqlite"))
    clock = FakeMonotonic()
    back = threading.Event()

    def store_away(commands):
        if not back.is_set():
            raise StoreUnavailable("connection refused")
        return [Answer({"success": True}, "ok") for _ in commands]

    consumer = BotConsumer(settings, store_away, clock=clock, store_outage_grace=3600.0)
    health = HealthServer(CollectorRegistry(), lambda: Verdict(), port=0,
                          health=lambda: run_checks(health_checks(consumer, STALL_SECONDS)))
    health.start()

    async def scenario() -> None:
        bot = TestBot(settings)
        await bot.start()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            await asyncio.wait_for(consumer.ready.wait(), WAIT)
            await bot.send("list_events", user_id=1, chat_id=1, message_id=1)
            await until(lambda: consumer.waiting_for_store)
            clock.advance(STALL_SECONDS * 2)
            assert await asyncio.to_thread(get, health.port, "/healthz") == (200, "ok\n")
            back.set()
            assert (await bot.reply()).body == {"success": True}
            await until(lambda: consumer.unsettled == 0 and not consumer.waiting_for_store)
        finally:
            back.set()
            stop.set()
            await asyncio.wait_for(task, WAIT)
            await bot.close()

    try:
        run(scenario)
    finally:
        health.stop()


def test_the_queue_depth_is_read_afresh_each_time():
    """The depth the wedge check and the gauge use follows the queue: it was
    once read a single time and kept (the library returned its cached queue)."""
    settings = broker_settings(load_settings(DATEMAKER_STORE="sqlite"))
    release = threading.Event()

    def stuck_handler(commands):
        release.wait(WAIT)
        return [Answer({"success": True}, "ok") for _ in commands]

    consumer = BotConsumer(settings, stuck_handler, prefetch=1, batch_size=1, queue_depth_every=0.05)

    async def scenario() -> None:
        bot = TestBot(settings)
        await bot.start()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            await asyncio.wait_for(consumer.ready.wait(), WAIT)
            await asyncio.sleep(0.2)  # the first readings: an empty queue
            for n in range(5):
                await bot.send("list_events", user_id=1, chat_id=1, message_id=n)
            await until(lambda: consumer.queue_depth >= 3)
            release.set()
            for _ in range(5):
                await bot.reply()
            await until(lambda: consumer.queue_depth == 0)
        finally:
            release.set()
            stop.set()
            await asyncio.wait_for(task, WAIT)
            await bot.close()

    run(scenario)
