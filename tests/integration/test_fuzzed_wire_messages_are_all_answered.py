"""Generated wire messages, mostly bad, thrown at the real consumer (real
RabbitMQ, real PostgreSQL with the platform's schema): every valid command
is answered, every bad message dead-lettered (and answered with an error
when it has a usable chat_id), no two replies share an id unless they answer
copies of one command, the queue ends empty and the service still answers.
A small profile; `python bench/fuzz.py` throws 10,000."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datemaker.adapters.rabbitmq.topology import dead_letter_queue_name

from ..support.bot_harness import START, TestBot, run, running_service
from ..support.raw_amqp import RawPublisher
from ..support.wire_fuzz import FuzzMessage, Outcome, World, every_kind, number_of, problems, summary, wire_message

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.slow]

T = TypeVar("T")
SETTLE_SECONDS = 30.0
numbers = itertools.count()  # fuzz numbers, unique across examples


class HypothesisPick:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def choice(self, options: Sequence[T]) -> T:
        return self.data.draw(st.sampled_from(options))

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def binary(self, size: int) -> bytes:
        return self.data.draw(st.binary(min_size=size, max_size=size))


async def collect(bot: TestBot, messages: list[FuzzMessage]) -> Outcome:
    """Replies and dead letters, until every message is settled (or the deadline)."""
    outcome = Outcome()
    dead_queue = await bot.channel.get_queue(dead_letter_queue_name(bot.settings))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while not all(outcome.settled(m) for m in messages) and loop.time() < deadline:
        while not bot.replies.empty():
            reply = bot.replies.get_nowait()
            outcome.reply(number_of(reply.headers, None), reply.body, reply.message_id)
        while (dead := await dead_queue.get(fail=False, no_ack=True)) is not None:
            outcome.dead_letter(number_of(dead.headers, dead.message_id))
        await asyncio.sleep(0.05)
    return outcome


async def queue_depth_reaches_zero(bot: TestBot) -> int:
    """Acks follow the replies: the depth, once it is 0 or the deadline passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        queue = await bot.channel.declare_queue(bot.settings.rabbitmq_queue, passive=True)
        depth = queue.declaration_result.message_count
        if depth == 0 or loop.time() > deadline:
            return depth
        await asyncio.sleep(0.05)


@settings(max_examples=5, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_fuzzed_message_is_answered_or_dead_lettered_and_the_service_still_answers(env, data):
    settings_, app, _ = env
    world = World(users=list(range(1, 21)), unknown_user=999_999,
                  event_id=app.schedule_event(start=START, timezone="Europe/Moscow"))
    pick = HypothesisPick(data)
    messages = every_kind(world, _reserve(30))
    messages += [wire_message(pick, world, next(numbers)) for _ in range(data.draw(st.integers(10, 40)))]

    async def scenario() -> None:
        bot = TestBot(settings_)
        await bot.start()
        publisher = RawPublisher(settings_.rabbitmq_host, settings_.rabbitmq_port)
        await publisher.start()
        try:
            async with running_service(settings_, app):
                await publisher.publish(settings_.rabbitmq_exchange, settings_.inbound_routing_key,
                                        [m.message for m in messages])
                outcome = await collect(bot, messages)
                assert problems(messages, outcome) == [], summary(messages)
                assert await queue_depth_reaches_zero(bot) == 0
                listed = await final_listing(bot)
                assert isinstance(listed, list) and any(str(world.event_id) in item for item in listed)
        finally:
            await publisher.close()
            await bot.close()

    run(scenario)


async def final_listing(bot: TestBot) -> object:
    """A list_events sent last; its reply is told from a late one (a message's
    reply may arrive after its dead letter, which settled it) by its header."""
    await bot.send("list_events", user_id=3, chat_id=3, message_id=987_654_321)
    while (reply := await bot.reply()).headers.get("message_id") != "987654321":
        continue
    return reply.body


def _reserve(count: int) -> int:
    """The first of `count` consecutive fuzz numbers."""
    first = next(numbers)
    for _ in range(count - 1):
        next(numbers)
    return first
